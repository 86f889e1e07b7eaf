//! The training panel's worker: the library's `train` on a named thread, with pause,
//! stop and resume, reporting epochs through a channel.

use crate::classifier::dataset;
use crate::classifier::metrics::RocPoint;
use crate::classifier::train::{
    self, EpochRecord, TrainConfig, TrainControl, TrainData, TrainEvent, TrainFiles,
};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{channel, Receiver};
use std::sync::Arc;

pub enum TrainMsg {
    Started {
        steps: usize,
        resumed_from: usize,
    },
    Batch {
        epoch: usize,
        step: usize,
        loss: f64,
    },
    Epoch(EpochRecord),
    Roc {
        epoch: usize,
        roc: Vec<RocPoint>,
    },
    Done {
        best_epoch: Option<usize>,
        checkpoint: PathBuf,
        stopped: bool,
    },
    Failed(String),
}

/// Inputs of a training run, as the panel holds them.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct TrainForm {
    /// Folders of videos to extract identity files from.
    pub real_folder: String,
    pub fake_folder: String,
    pub real_ids: String,
    pub real_lens: String,
    pub fake_ids: String,
    pub fake_lens: String,
    pub out: String,
    pub encoder: String,
    pub cfg: TrainConfig,
}

impl Default for TrainForm {
    fn default() -> Self {
        Self {
            real_folder: String::new(),
            fake_folder: String::new(),
            real_ids: String::new(),
            real_lens: String::new(),
            fake_ids: String::new(),
            fake_lens: String::new(),
            out: "ti2net-model.safetensors".into(),
            encoder: "mobilefacenet".into(),
            cfg: TrainConfig {
                epochs: 30,
                lr: 1e-4,
                ..Default::default()
            },
        }
    }
}

pub struct TrainJob {
    pub rx: Receiver<TrainMsg>,
    pub control: Arc<TrainControl>,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn opt_path(s: &str) -> Option<PathBuf> {
    let t = s.trim();
    (!t.is_empty()).then(|| PathBuf::from(t))
}

impl TrainJob {
    pub fn start(
        form: TrainForm,
        resume: bool,
        repaint: impl Fn() + Send + 'static,
    ) -> std::io::Result<Self> {
        let (tx, rx) = channel();
        let control = Arc::new(TrainControl::default());
        let c = control.clone();
        let thread = std::thread::Builder::new()
            .name("ti2net-training".into())
            .spawn(move || {
                let send = |m: TrainMsg| {
                    let _ = tx.send(m);
                    repaint();
                };
                super::lower_priority();
                let result = (|| -> crate::Result<train::TrainSummary> {
                    let real = dataset::load(
                        &PathBuf::from(form.real_ids.trim()),
                        opt_path(&form.real_lens).as_deref(),
                    )?;
                    let fake = dataset::load(
                        &PathBuf::from(form.fake_ids.trim()),
                        opt_path(&form.fake_lens).as_deref(),
                    )?;
                    let data = TrainData {
                        real,
                        fake,
                        real_groups: None,
                        fake_groups: None,
                        encoder: Some(form.encoder.clone()),
                    };
                    let files = TrainFiles {
                        out: PathBuf::from(form.out.trim()),
                        metrics: None,
                        resume,
                        force: !resume,
                    };
                    let mut on_event = |e: &TrainEvent| match e {
                        TrainEvent::Started {
                            steps_per_epoch,
                            resumed_from,
                            ..
                        } => send(TrainMsg::Started {
                            steps: *steps_per_epoch,
                            resumed_from: *resumed_from,
                        }),
                        TrainEvent::Batch {
                            epoch, step, loss, ..
                        } => send(TrainMsg::Batch {
                            epoch: *epoch,
                            step: *step,
                            loss: *loss,
                        }),
                        TrainEvent::Epoch(r) => send(TrainMsg::Epoch(r.clone())),
                        TrainEvent::Validation { epoch, roc } => send(TrainMsg::Roc {
                            epoch: *epoch,
                            roc: roc.clone(),
                        }),
                        TrainEvent::Finished(_) => {}
                    };
                    train::train(
                        &data,
                        &form.cfg,
                        &files,
                        &candle_core::Device::Cpu,
                        &mut on_event,
                        &c,
                    )
                })();
                match result {
                    Ok(s) => send(TrainMsg::Done {
                        best_epoch: s.best_epoch,
                        checkpoint: s.checkpoint,
                        stopped: s.stopped,
                    }),
                    Err(e) => send(TrainMsg::Failed(e.to_string())),
                }
            })?;
        Ok(Self {
            rx,
            control,
            thread: Some(thread),
        })
    }

    pub fn set_paused(&self, paused: bool) {
        self.control.pause.store(paused, Ordering::Relaxed);
    }

    pub fn stop(&self) {
        self.control.stop.store(true, Ordering::Relaxed);
    }

    pub fn paused(&self) -> bool {
        self.control.pause.load(Ordering::Relaxed)
    }
}

impl Drop for TrainJob {
    /// Stops and waits for the worker (it stops within one batch).
    fn drop(&mut self) {
        self.stop();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// What the extraction worker sends.
pub enum ExtractMsg {
    Progress {
        done: usize,
        total: usize,
    },
    Done {
        ids: PathBuf,
        lens: PathBuf,
        videos: usize,
        problems: usize,
    },
    Failed(String),
}

/// Identity files from a folder of videos, on a worker (the library's `extract`).
pub struct ExtractWorker {
    pub rx: Receiver<ExtractMsg>,
    /// Which side of the training data the files are for (`true`: fake).
    pub fake: bool,
    cancel: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Settings an extraction needs from the app.
#[derive(Debug, Clone)]
pub struct ExtractSpec {
    pub folder: PathBuf,
    /// Output prefix: PREFIX_ids.npy, PREFIX_lens.npy, PREFIX_videos.csv, PREFIX.parts/.
    pub prefix: PathBuf,
    pub encoder: crate::encoder::EncoderKind,
    pub weights: PathBuf,
    pub landmarks: PathBuf,
    pub every: u32,
    pub upsample: bool,
}

impl ExtractWorker {
    pub fn start(
        spec: ExtractSpec,
        fake: bool,
        repaint: impl Fn() + Send + Sync + 'static,
    ) -> std::io::Result<Self> {
        let (tx, rx) = channel();
        let cancel = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let c = cancel.clone();
        let thread = std::thread::Builder::new()
            .name("ti2net-extract-ui".into())
            .spawn(move || {
                super::lower_priority();
                let tx2 = std::sync::Mutex::new(tx.clone());
                let result = (|| -> crate::Result<ExtractMsg> {
                    let prefix = spec.prefix.to_string_lossy().to_string();
                    let ids = PathBuf::from(format!("{prefix}_ids.npy"));
                    let lens = PathBuf::from(format!("{prefix}_lens.npy"));
                    let table = PathBuf::from(format!("{prefix}_videos.csv"));
                    for p in [&ids, &lens, &table] {
                        if p.exists() {
                            return Err(crate::Error::Exists(p.clone()));
                        }
                    }
                    let videos = crate::extract::find_videos(std::slice::from_ref(&spec.folder))?;
                    if videos.is_empty() {
                        return Err(crate::Error::data(&spec.folder, "holds no video files"));
                    }
                    let enc = crate::encoder::Encoder::load(
                        spec.encoder,
                        &spec.weights,
                        &candle_core::Device::Cpu,
                    )?;
                    let job = crate::extract::ExtractJob {
                        videos,
                        parts: PathBuf::from(format!("{prefix}.parts")),
                        landmarks: spec.landmarks.clone(),
                        opts: crate::pipeline::AnalyzeOptions {
                            selection: crate::video::FrameSelection {
                                every: spec.every.max(1),
                                ..Default::default()
                            },
                            upsample: spec.upsample,
                            ..Default::default()
                        },
                        threads: std::thread::available_parallelism()
                            .map(|n| n.get())
                            .unwrap_or(1),
                    };
                    let rows = crate::extract::extract_parts(
                        &job,
                        &enc,
                        &|p| {
                            if let Ok(t) = tx2.lock() {
                                let _ = t.send(ExtractMsg::Progress {
                                    done: p.videos_done,
                                    total: p.videos_total,
                                });
                            }
                            repaint();
                        },
                        &c,
                    )?;
                    crate::extract::assemble(&rows, &job.parts, &ids, &lens, false)?;
                    crate::fsutil::write_atomic(
                        &table,
                        crate::extract::table_csv(&rows).as_bytes(),
                        false,
                    )?;
                    Ok(ExtractMsg::Done {
                        ids,
                        lens,
                        videos: rows.iter().filter(|r| r.included).count(),
                        problems: rows.iter().filter(|r| r.problem.is_some()).count(),
                    })
                })();
                let _ = tx.send(match result {
                    Ok(m) => m,
                    Err(e) => ExtractMsg::Failed(e.to_string()),
                });
            })?;
        Ok(Self {
            rx,
            fake,
            cancel,
            thread: Some(thread),
        })
    }

    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
}

impl Drop for ExtractWorker {
    fn drop(&mut self) {
        self.cancel();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
