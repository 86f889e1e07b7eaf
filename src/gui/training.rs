//! The training panel's workers: the library's `train` on a named thread, with pause,
//! stop and resume, reporting epochs through a channel; and the extraction of identity
//! files from a folder of videos. Both are [`Worker`]s.

use super::worker::Worker;
use crate::classifier::dataset;
use crate::classifier::metrics::RocPoint;
use crate::classifier::train::{
    self, EpochRecord, TrainConfig, TrainControl, TrainData, TrainEvent, TrainFiles,
};
use std::path::PathBuf;
use std::sync::atomic::Ordering;

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
            cfg: TrainConfig {
                epochs: 30,
                lr: 1e-4,
                ..Default::default()
            },
        }
    }
}

/// A running training: its control pauses and stops it.
pub type TrainJob = Worker<TrainMsg, TrainControl>;

fn opt_path(s: &str) -> Option<PathBuf> {
    let t = s.trim();
    (!t.is_empty()).then(|| PathBuf::from(t))
}

/// The checkpoint and saved state of an earlier training that starting afresh with
/// `form` would replace.
pub fn existing_outputs(form: &TrainForm) -> Vec<PathBuf> {
    let out = PathBuf::from(form.out.trim());
    [out.clone(), train::state_path(&out)]
        .into_iter()
        .filter(|p| p.exists())
        .collect()
}

/// Starts training (or resumes it from the checkpoint's saved state) on a worker.
/// Afresh, it replaces the checkpoint and state at `form.out` (the panel asks first).
pub fn start_training(
    form: TrainForm,
    resume: bool,
    repaint: impl Fn() + Send + Sync + 'static,
) -> std::io::Result<TrainJob> {
    Worker::spawn("ti2net-training", repaint, move |control, out| {
        let send = |m: TrainMsg| out.send(m);
        let result = (|| -> crate::Result<train::TrainSummary> {
            let real = dataset::load(
                &PathBuf::from(form.real_ids.trim()),
                opt_path(&form.real_lens).as_deref(),
            )?;
            let fake = dataset::load(
                &PathBuf::from(form.fake_ids.trim()),
                opt_path(&form.fake_lens).as_deref(),
            )?;
            // The encoder is the one that made the vectors, from their sidecars.
            let encoder = dataset::encoder_of(&[&real, &fake], None)?;
            let data = TrainData {
                real,
                fake,
                real_groups: None,
                fake_groups: None,
                encoder: Some(encoder),
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
                control,
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
    })
}

/// True while the training is paused.
pub fn paused(job: &TrainJob) -> bool {
    job.control().pause.load(Ordering::Relaxed)
}

/// Pauses or continues the training.
pub fn set_paused(job: &TrainJob, paused: bool) {
    job.control().pause.store(paused, Ordering::Relaxed);
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
pub type ExtractWorker = Worker<ExtractMsg>;

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

/// Starts the extraction of identity files from `spec.folder` on a worker.
pub fn start_extraction(
    spec: ExtractSpec,
    repaint: impl Fn() + Send + Sync + 'static,
) -> std::io::Result<ExtractWorker> {
    Worker::spawn("ti2net-extract-ui", repaint, move |cancel, out| {
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
                        every: std::num::NonZeroU32::new(spec.every)
                            .unwrap_or(std::num::NonZeroU32::MIN),
                        ..Default::default()
                    },
                    upsample: spec.upsample,
                    ..Default::default()
                },
                threads: std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(1),
                trim: Default::default(),
            };
            let rows = crate::extract::extract_parts(
                &job,
                &enc,
                &|p: crate::extract::ExtractProgress| {
                    out.send(ExtractMsg::Progress {
                        done: p.videos_done,
                        total: p.videos_total,
                    })
                },
                cancel,
            )?;
            let prov = crate::extract::provenance(&enc, &job.opts);
            crate::extract::assemble(&rows, &job.parts, &ids, &lens, &prov, false)?;
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
        out.send(match result {
            Ok(m) => m,
            Err(e) => ExtractMsg::Failed(e.to_string()),
        });
    })
}
