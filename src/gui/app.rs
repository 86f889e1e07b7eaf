//! The application state and its panels. UI code collects [`Cmd`]s; they are applied
//! in one place at the end of each frame.

use super::job::{Job, JobMsg, JobSpec};
use super::training::{ExtractMsg, ExtractSpec, ExtractWorker, TrainForm, TrainJob, TrainMsg};
use crate::classifier::metrics::RocPoint;
use crate::classifier::train::EpochRecord;
use crate::encoder::EncoderKind;
use crate::pipeline::{AnalyzeOptions, Progress};
use crate::report::Report;
use crate::video::FrameSelection;
use eframe::egui;
use egui::{Color32, ColorImage, Pos2, Rect, Stroke, TextureHandle, TextureOptions, Vec2};
use egui_plot::{HLine, Line, Plot, PlotPoints, VLine};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Settings remembered between runs (eframe storage).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Settings {
    pub encoder: EncoderKind,
    pub weights: String,
    pub landmarks: String,
    pub checkpoint: String,
    pub cuda: bool,
    pub every: u32,
    pub upsample: bool,
    pub stride: usize,
    pub threshold: f32,
    pub recent: Vec<String>,
    pub train: TrainForm,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            encoder: EncoderKind::Mobilefacenet,
            weights: crate::models::mobilefacenet_weights().display().to_string(),
            landmarks: crate::models::landmarks_model().display().to_string(),
            checkpoint: String::new(),
            cuda: false,
            every: 1,
            upsample: true,
            stride: crate::classifier::clips::DEFAULT_STRIDE,
            threshold: crate::classifier::DEFAULT_THRESHOLD,
            recent: Vec::new(),
            train: TrainForm::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Analysis,
    Training,
    Settings,
}

/// Commands from the UI, applied by [`App::apply`].
#[derive(Debug, Clone)]
pub enum Cmd {
    Open(PathBuf),
    Cancel,
    Seek(u64),
    SeekTime(f64),
    Step(i64),
    TogglePlay,
    ShowPair(usize, usize),
    ExportReport,
    ExportHeatmap,
    ExportCurves,
    ExportCrops,
    StartTraining {
        resume: bool,
    },
    /// Identity files from the real (false) or fake (true) folder of videos.
    Extract {
        fake: bool,
    },
    UseCheckpoint(PathBuf),
}

struct FrameThumb {
    index: u64,
    time_s: f64,
    texture: TextureHandle,
}

/// The app.
pub struct App {
    pub settings: Settings,
    pub tab: Tab,
    path_input: String,
    job: Option<Job>,
    pub stage: String,
    pub progress: Option<Progress>,
    frames: Vec<FrameThumb>,
    crops: BTreeMap<u64, TextureHandle>,
    crop_images: BTreeMap<u64, image::RgbImage>,
    pub report: Option<Report>,
    vectors: Vec<Option<Vec<f32>>>,
    /// The similarity matrix: texture, face frame indices, values (row-major).
    matrix: Option<(TextureHandle, Vec<u64>, Vec<f32>)>,
    pub current: u64,
    playing: bool,
    last_tick: Instant,
    pair: Option<(u64, u64, f32)>,
    pub messages: Vec<String>,
    train_job: Option<TrainJob>,
    extract_job: Option<ExtractWorker>,
    extract_progress: (usize, usize),
    pub train_history: Vec<EpochRecord>,
    pub train_losses: Vec<(f64, f64)>,
    train_roc: Vec<RocPoint>,
    train_steps: usize,
    pub train_status: String,
    pending: Vec<Cmd>,
    /// Seconds each UI pass took, the last 240 (for the frame-time readout).
    pub frame_times: std::collections::VecDeque<f32>,
    /// Where the identity curves were drawn last frame (screen <-> plot coordinates).
    pub curves_transform: Option<egui_plot::PlotTransform>,
    /// Start of the previous UI pass, and the intervals between passes.
    last_pass: Option<Instant>,
    /// Scroll the face strip to the current frame at the next pass.
    strip_follow: bool,
    /// Show the newest frame while analysing, until the user navigates.
    follow_live: bool,
    pub frame_intervals: std::collections::VecDeque<f32>,
    stats_printed: Instant,
}

impl App {
    pub fn new(cc: &eframe::CreationContext<'_>, video: Option<PathBuf>) -> Self {
        Self::with_checkpoint(cc, video, None)
    }

    /// Like [`App::new`], with a TI2Net checkpoint to use as the detector.
    pub fn with_checkpoint(
        cc: &eframe::CreationContext<'_>,
        video: Option<PathBuf>,
        checkpoint: Option<PathBuf>,
    ) -> Self {
        let mut settings: Settings = cc
            .storage
            .and_then(|s| eframe::get_value(s, eframe::APP_KEY))
            .unwrap_or_default();
        if let Some(c) = checkpoint {
            settings.checkpoint = c.display().to_string();
        }
        let mut app = Self {
            path_input: video
                .as_ref()
                .map(|v| v.display().to_string())
                .unwrap_or_default(),
            settings,
            tab: Tab::Analysis,
            job: None,
            stage: String::new(),
            progress: None,
            frames: Vec::new(),
            crops: BTreeMap::new(),
            crop_images: BTreeMap::new(),
            report: None,
            vectors: Vec::new(),
            matrix: None,
            current: 0,
            playing: false,
            last_tick: Instant::now(),
            pair: None,
            messages: Vec::new(),
            train_job: None,
            extract_job: None,
            extract_progress: (0, 0),
            train_history: Vec::new(),
            train_losses: Vec::new(),
            train_roc: Vec::new(),
            train_steps: 0,
            train_status: String::new(),
            pending: Vec::new(),
            frame_times: Default::default(),
            curves_transform: None,
            last_pass: None,
            strip_follow: false,
            follow_live: true,
            frame_intervals: Default::default(),
            stats_printed: Instant::now(),
        };
        if let Some(v) = video {
            app.open(&cc.egui_ctx, v);
        }
        app
    }

    /// True while an analysis runs.
    pub fn busy(&self) -> bool {
        self.job.is_some()
    }

    /// Face crops received so far.
    pub fn crop_count(&self) -> usize {
        self.crops.len()
    }

    /// Frames received so far.
    pub fn frame_count(&self) -> usize {
        self.frames.len()
    }

    /// Time of the current frame, in seconds.
    pub fn current_time(&self) -> f64 {
        self.time_of(self.current)
    }

    /// UI pass durations and intervals over the last 240 passes.
    pub fn frame_stats(&self) -> String {
        let q = |v: &std::collections::VecDeque<f32>, p: f32| {
            let mut s: Vec<f32> = v.iter().copied().collect();
            s.sort_by(f32::total_cmp);
            s.get(((s.len() as f32 - 1.0) * p).round().max(0.0) as usize)
                .copied()
                .unwrap_or(0.0)
                * 1000.0
        };
        format!(
            "ui pass: median {:.1} ms, p95 {:.1} ms, max {:.1} ms; between passes: median {:.1} ms, p95 {:.1} ms ({} passes, analysis {})",
            q(&self.frame_times, 0.5),
            q(&self.frame_times, 0.95),
            q(&self.frame_times, 1.0),
            q(&self.frame_intervals, 0.5),
            q(&self.frame_intervals, 0.95),
            self.frame_times.len(),
            if self.busy() { "running" } else { "idle" }
        )
    }

    /// True while training runs.
    pub fn training(&self) -> bool {
        self.train_job.is_some()
    }

    pub fn send(&mut self, cmd: Cmd) {
        self.pending.push(cmd);
    }

    fn opt(s: &str) -> Option<PathBuf> {
        let t = s.trim();
        (!t.is_empty()).then(|| PathBuf::from(t))
    }

    fn open(&mut self, ctx: &egui::Context, video: PathBuf) {
        self.job = None; // cancels a running job
        self.frames.clear();
        self.crops.clear();
        self.crop_images.clear();
        self.report = None;
        self.vectors.clear();
        self.matrix = None;
        self.pair = None;
        self.current = 0;
        self.playing = false;
        self.follow_live = true;
        self.progress = None;
        let v = video.display().to_string();
        self.path_input = v.clone();
        self.settings.recent.retain(|r| r != &v);
        self.settings.recent.insert(0, v);
        self.settings.recent.truncate(10);
        let s = &self.settings;
        let spec = JobSpec {
            video,
            encoder: s.encoder,
            weights: PathBuf::from(&s.weights),
            landmarks: PathBuf::from(&s.landmarks),
            checkpoint: Self::opt(&s.checkpoint),
            cuda: s.cuda,
            opts: AnalyzeOptions {
                selection: FrameSelection {
                    every: s.every.max(1),
                    ..Default::default()
                },
                upsample: s.upsample,
                ..Default::default()
            },
            stride: s.stride.max(1),
            threshold: s.threshold,
        };
        let c = ctx.clone();
        // Progress repaints at most 4 times a second: enough to watch, and the analysis
        // keeps the cores. Input still repaints at once.
        let last = std::sync::Mutex::new(Instant::now() - Duration::from_secs(1));
        let throttled = move || {
            if let Ok(mut t) = last.lock() {
                if t.elapsed() >= Duration::from_millis(250) {
                    *t = Instant::now();
                    c.request_repaint();
                } else {
                    c.request_repaint_after(Duration::from_millis(250));
                }
            }
        };
        match Job::start(spec, throttled) {
            Ok(j) => {
                self.stage = "starting".into();
                self.job = Some(j);
            }
            Err(e) => self
                .messages
                .push(format!("cannot start the analysis: {e}")),
        }
    }

    fn poll(&mut self, ctx: &egui::Context) {
        let mut finished = false;
        if let Some(job) = &self.job {
            while let Ok(m) = job.rx.try_recv() {
                match m {
                    JobMsg::Stage(s) => self.stage = s,
                    JobMsg::Progress(p) => self.progress = Some(p),
                    JobMsg::Frame {
                        index,
                        time_s,
                        image,
                    } => {
                        let ci = ColorImage::from_rgb(
                            [image.width() as usize, image.height() as usize],
                            image.as_raw(),
                        );
                        let texture =
                            ctx.load_texture(format!("frame-{index}"), ci, TextureOptions::LINEAR);
                        if self.follow_live {
                            self.current = index;
                        }
                        self.frames.push(FrameThumb {
                            index,
                            time_s,
                            texture,
                        });
                    }
                    JobMsg::Crop { index, crop } => {
                        let ci = ColorImage::from_rgb(
                            [crop.width() as usize, crop.height() as usize],
                            crop.as_raw(),
                        );
                        self.crops.insert(
                            index,
                            ctx.load_texture(format!("crop-{index}"), ci, TextureOptions::LINEAR),
                        );
                        self.crop_images.insert(index, crop);
                    }
                    JobMsg::Done(report, vectors) => {
                        self.stage = "done".into();
                        for w in &report.warnings {
                            self.messages
                                .push(format!("{}: {w}", report.video.path.display()));
                        }
                        self.vectors = vectors;
                        self.report = Some(*report);
                        // Back to the start once the whole clip is in, unless the user navigated.
                        if self.follow_live {
                            if let Some(f) = self.frames.first() {
                                self.current = f.index;
                            }
                        }
                        finished = true;
                    }
                    JobMsg::Failed(e) => {
                        self.stage = "failed".into();
                        self.messages.push(e);
                        finished = true;
                    }
                    JobMsg::Cancelled => {
                        self.stage = "cancelled".into();
                        finished = true;
                    }
                }
            }
        }
        if finished {
            self.job = None;
            if self.report.is_some() && self.matrix.is_none() {
                self.build_matrix(ctx);
            }
        }
        let mut train_done = false;
        if let Some(tj) = &self.train_job {
            while let Ok(m) = tj.rx.try_recv() {
                match m {
                    TrainMsg::Started {
                        steps,
                        resumed_from,
                    } => {
                        self.train_steps = steps.max(1);
                        if resumed_from == 0 {
                            self.train_history.clear();
                            self.train_losses.clear();
                        }
                        self.train_status = format!("training: {steps} batches per epoch");
                    }
                    TrainMsg::Batch { epoch, step, loss } => {
                        let x = (epoch - 1) as f64 + step as f64 / self.train_steps as f64;
                        self.train_losses.push((x, loss));
                        self.train_status =
                            format!("epoch {epoch}, batch {step}/{}", self.train_steps);
                    }
                    TrainMsg::Epoch(r) => {
                        if r.best {
                            self.train_status = format!("epoch {}: best so far, saved", r.epoch);
                        }
                        self.train_history.push(r);
                    }
                    TrainMsg::Roc { epoch, roc } => {
                        let better = self
                            .train_history
                            .iter()
                            .filter(|r| r.best)
                            .all(|r| r.epoch < epoch);
                        if self.train_roc.is_empty() || better {
                            self.train_roc = roc;
                        }
                    }
                    TrainMsg::Done {
                        best_epoch,
                        checkpoint,
                        stopped,
                    } => {
                        self.train_status = format!(
                            "{} - best epoch {} saved to {}",
                            if stopped { "stopped" } else { "finished" },
                            best_epoch
                                .map(|e| e.to_string())
                                .unwrap_or_else(|| "-".into()),
                            checkpoint.display()
                        );
                        train_done = true;
                    }
                    TrainMsg::Failed(e) => {
                        self.train_status = "failed".into();
                        self.messages.push(e);
                        train_done = true;
                    }
                }
            }
        }
        if train_done {
            self.train_job = None;
        }
        let mut extract_done = false;
        if let Some(x) = &self.extract_job {
            let fake = x.fake;
            while let Ok(m) = x.rx.try_recv() {
                match m {
                    ExtractMsg::Progress { done, total } => self.extract_progress = (done, total),
                    ExtractMsg::Done {
                        ids,
                        lens,
                        videos,
                        problems,
                    } => {
                        let f = &mut self.settings.train;
                        let (i, l) = if fake {
                            (&mut f.fake_ids, &mut f.fake_lens)
                        } else {
                            (&mut f.real_ids, &mut f.real_lens)
                        };
                        *i = ids.display().to_string();
                        *l = lens.display().to_string();
                        self.train_status = format!(
                            "extracted {videos} videos into {}{}",
                            ids.display(),
                            if problems > 0 {
                                format!(" ({problems} with problems: see the _videos.csv table)")
                            } else {
                                String::new()
                            }
                        );
                        extract_done = true;
                    }
                    ExtractMsg::Failed(e) => {
                        self.messages.push(e);
                        extract_done = true;
                    }
                }
            }
        }
        if extract_done {
            self.extract_job = None;
        }
    }

    /// The similarity matrix of the face frames as a texture (at most 400 x 400).
    fn build_matrix(&mut self, ctx: &egui::Context) {
        let Some(r) = &self.report else { return };
        let faces: Vec<(u64, &Vec<f32>)> = r
            .frames
            .iter()
            .zip(&self.vectors)
            .filter_map(|(f, v)| v.as_ref().map(|v| (f.index, v)))
            .collect();
        if faces.len() < 2 {
            return;
        }
        let step = faces.len().div_ceil(400);
        let (ids, vecs): (Vec<u64>, Vec<&Vec<f32>>) = faces.into_iter().step_by(step).unzip();
        let m = crate::identity::similarity_matrix(&vecs);
        let n = vecs.len();
        let img = crate::plots::matrix_image(&m, n);
        let ci = ColorImage::from_rgb([n, n], img.as_raw());
        let tex = ctx.load_texture("similarity-matrix", ci, TextureOptions::NEAREST);
        self.matrix = Some((tex, ids, m));
    }

    fn frame_pos(&self) -> Option<usize> {
        if self.frames.is_empty() {
            return None;
        }
        Some(
            match self.frames.binary_search_by_key(&self.current, |f| f.index) {
                Ok(i) => i,
                Err(i) => i.saturating_sub(1).min(self.frames.len() - 1),
            },
        )
    }

    fn time_of(&self, index: u64) -> f64 {
        self.report
            .as_ref()
            .and_then(|r| r.frames.iter().find(|f| f.index == index).map(|f| f.time_s))
            .or_else(|| {
                self.frames
                    .iter()
                    .find(|f| f.index == index)
                    .map(|f| f.time_s)
            })
            .unwrap_or(0.0)
    }

    fn apply(&mut self, ctx: &egui::Context) {
        let before = self.current;
        let had_commands = !self.pending.is_empty();
        self.apply_commands(ctx);
        if had_commands && self.current != before {
            self.strip_follow = true;
        }
    }

    fn apply_commands(&mut self, ctx: &egui::Context) {
        for cmd in std::mem::take(&mut self.pending) {
            if matches!(
                cmd,
                Cmd::Seek(_) | Cmd::SeekTime(_) | Cmd::Step(_) | Cmd::TogglePlay
            ) {
                self.follow_live = false;
            }
            match cmd {
                Cmd::Open(p) => self.open(ctx, p),
                Cmd::Cancel => {
                    if let Some(j) = &self.job {
                        j.cancel();
                    }
                }
                Cmd::Seek(i) => self.current = i,
                Cmd::SeekTime(t) => {
                    if let Some(f) = self
                        .frames
                        .iter()
                        .min_by(|a, b| (a.time_s - t).abs().total_cmp(&(b.time_s - t).abs()))
                    {
                        self.current = f.index;
                    }
                }
                Cmd::Step(d) => {
                    if let Some(p) = self.frame_pos() {
                        let q = (p as i64 + d).clamp(0, self.frames.len() as i64 - 1) as usize;
                        self.current = self.frames[q].index;
                    }
                }
                Cmd::TogglePlay => {
                    self.playing = !self.playing;
                    self.last_tick = Instant::now();
                }
                Cmd::ShowPair(i, j) => {
                    if let Some((_, ids, m)) = &self.matrix {
                        let n = ids.len();
                        if i < n && j < n {
                            self.pair = Some((ids[i], ids[j], m[i * n + j]));
                        }
                    }
                }
                Cmd::ExportReport => self.export(ExportKind::Report),
                Cmd::ExportHeatmap => self.export(ExportKind::Heatmap),
                Cmd::ExportCurves => self.export(ExportKind::Curves),
                Cmd::ExportCrops => self.export(ExportKind::Crops),
                Cmd::StartTraining { resume } => {
                    let c = ctx.clone();
                    match TrainJob::start(self.settings.train.clone(), resume, move || {
                        c.request_repaint()
                    }) {
                        Ok(j) => {
                            self.train_status = "starting".into();
                            self.train_job = Some(j);
                        }
                        Err(e) => self.messages.push(format!("cannot start training: {e}")),
                    }
                }
                Cmd::Extract { fake } => {
                    let s = &self.settings;
                    let folder = PathBuf::from(if fake {
                        s.train.fake_folder.trim()
                    } else {
                        s.train.real_folder.trim()
                    });
                    let prefix = PathBuf::from(format!(
                        "{}_ti2net",
                        folder.display().to_string().trim_end_matches('/')
                    ));
                    let spec = ExtractSpec {
                        folder,
                        prefix,
                        encoder: s.encoder,
                        weights: PathBuf::from(&s.weights),
                        landmarks: PathBuf::from(&s.landmarks),
                        every: s.every,
                        upsample: s.upsample,
                    };
                    let c = ctx.clone();
                    match ExtractWorker::start(spec, fake, move || {
                        c.request_repaint_after(Duration::from_millis(200))
                    }) {
                        Ok(x) => {
                            self.extract_progress = (0, 0);
                            self.extract_job = Some(x);
                        }
                        Err(e) => self
                            .messages
                            .push(format!("cannot start the extraction: {e}")),
                    }
                }
                Cmd::UseCheckpoint(p) => {
                    self.settings.checkpoint = p.display().to_string();
                    if let Some(r) = &self.report {
                        let v = r.video.path.clone();
                        self.open(ctx, v);
                    }
                    self.tab = Tab::Analysis;
                }
            }
        }
    }

    fn export(&mut self, kind: ExportKind) {
        let Some(r) = &self.report else {
            self.messages
                .push("nothing to export yet: open a video first".into());
            return;
        };
        let stem = r
            .video
            .path
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_else(|| "video".into());
        let dialog = rfd::FileDialog::new()
            .set_directory(r.video.path.parent().unwrap_or(std::path::Path::new(".")));
        let result: crate::Result<Option<PathBuf>> = match kind {
            ExportKind::Report => match dialog
                .set_file_name(format!("{stem}.ti2net.json"))
                .save_file()
            {
                Some(p) => serde_json::to_vec_pretty(r)
                    .map_err(|e| crate::Error::Other(e.to_string()))
                    .and_then(|b| crate::fsutil::write_atomic(&p, &b, true))
                    .map(|_| Some(p)),
                None => Ok(None),
            },
            ExportKind::Curves => match dialog
                .clone()
                .set_file_name(format!("{stem}.curves.png"))
                .save_file()
            {
                Some(p) => crate::plots::curves_png(r, &p).map(|_| Some(p)),
                None => Ok(None),
            },
            ExportKind::Heatmap => match (
                &self.matrix,
                dialog
                    .clone()
                    .set_file_name(format!("{stem}.similarity.png"))
                    .save_file(),
            ) {
                (Some((_, ids, m)), Some(p)) => {
                    crate::plots::matrix_png(m, ids.len(), 512, &p).map(|_| Some(p))
                }
                _ => Ok(None),
            },
            ExportKind::Crops => match dialog.pick_folder() {
                Some(dir) => {
                    let mut res = Ok(Some(dir.clone()));
                    for (i, c) in &self.crop_images {
                        let p = dir.join(format!("{stem}_{i:06}.png"));
                        if let Err(e) = c.save(&p) {
                            res = Err(crate::Error::Other(format!("{}: {e}", p.display())));
                            break;
                        }
                    }
                    res
                }
                None => Ok(None),
            },
        };
        match result {
            Ok(Some(p)) => self.messages.push(format!("exported {}", p.display())),
            Ok(None) => self.messages.push(
                "no file dialog is available here (or it was closed); nothing exported".into(),
            ),
            Err(e) => self.messages.push(e.to_string()),
        }
    }
}

enum ExportKind {
    Report,
    Curves,
    Heatmap,
    Crops,
}

impl eframe::App for App {
    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, eframe::APP_KEY, &self.settings);
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let t0 = Instant::now();
        let ctx = ui.ctx().clone();
        self.poll(&ctx);
        // Drag and drop.
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        });
        if let Some(p) = dropped.into_iter().next() {
            self.send(Cmd::Open(p));
        }
        // Keyboard: arrows step, space plays.
        if !ctx.egui_wants_keyboard_input() {
            ctx.input(|i| {
                if i.key_pressed(egui::Key::ArrowRight) {
                    self.pending.push(Cmd::Step(1));
                }
                if i.key_pressed(egui::Key::ArrowLeft) {
                    self.pending.push(Cmd::Step(-1));
                }
                if i.key_pressed(egui::Key::Space) {
                    self.pending.push(Cmd::TogglePlay);
                }
            });
        }
        if self.playing {
            let fps = self
                .report
                .as_ref()
                .map(|r| r.video.fps / r.settings.every.max(1) as f64)
                .unwrap_or(25.0);
            let dt = Duration::from_secs_f64(1.0 / fps.max(1.0));
            if self.last_tick.elapsed() >= dt {
                self.last_tick = Instant::now();
                let at_end = self
                    .frame_pos()
                    .map(|p| p + 1 >= self.frames.len())
                    .unwrap_or(true);
                if at_end {
                    self.playing = false;
                } else {
                    self.pending.push(Cmd::Step(1));
                }
            }
            ctx.request_repaint_after(dt);
        }

        egui::Panel::top("top").show(ui, |ui| self.top_ui(ui));
        if !self.messages.is_empty() {
            egui::Panel::bottom("messages").show(ui, |ui| self.messages_ui(ui));
        }
        egui::CentralPanel::default().show(ui, |ui| match self.tab {
            Tab::Analysis => self.analysis_ui(ui),
            Tab::Training => self.training_ui(ui),
            Tab::Settings => self.settings_ui(ui),
        });
        self.pair_window(&ctx);
        self.apply(&ctx);
        if self.frame_times.len() >= 240 {
            self.frame_times.pop_front();
        }
        self.frame_times.push_back(t0.elapsed().as_secs_f32());
        if let Some(prev) = self.last_pass {
            if self.frame_intervals.len() >= 240 {
                self.frame_intervals.pop_front();
            }
            self.frame_intervals
                .push_back(t0.duration_since(prev).as_secs_f32());
        }
        self.last_pass = Some(t0);
        if std::env::var_os("TI2NET_FRAME_STATS").is_some()
            && self.stats_printed.elapsed() > Duration::from_secs(2)
        {
            self.stats_printed = Instant::now();
            eprintln!("{}", self.frame_stats());
        }
    }
}

impl App {
    fn top_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.heading("ti2net");
            ui.separator();
            ui.selectable_value(&mut self.tab, Tab::Analysis, "Analysis");
            ui.selectable_value(&mut self.tab, Tab::Training, "Training");
            ui.selectable_value(&mut self.tab, Tab::Settings, "Settings");
            ui.separator();
            if ui.button("Open...").clicked() {
                match rfd::FileDialog::new().add_filter("video", crate::extract::VIDEO_EXTENSIONS).pick_file() {
                    Some(p) => self.send(Cmd::Open(p)),
                    None => self.messages.push("no file dialog is available (or it was closed): type the video's path and press Analyse".into()),
                }
            }
            ui.add(egui::TextEdit::singleline(&mut self.path_input).hint_text("video path").desired_width(260.0));
            if ui.button("Analyse").clicked() && !self.path_input.trim().is_empty() {
                self.send(Cmd::Open(PathBuf::from(self.path_input.trim())));
            }
            ui.menu_button("Recent", |ui| {
                if self.settings.recent.is_empty() {
                    ui.label("no recent videos");
                }
                for r in self.settings.recent.clone() {
                    if ui.button(&r).clicked() {
                        self.send(Cmd::Open(PathBuf::from(r)));
                        ui.close();
                    }
                }
            });
            ui.menu_button("Export", |ui| {
                if ui.button("Report (JSON)").clicked() {
                    self.send(Cmd::ExportReport);
                    ui.close();
                }
                if ui.button("Identity curves (PNG)").clicked() {
                    self.send(Cmd::ExportCurves);
                    ui.close();
                }
                if ui.button("Similarity matrix (PNG)").clicked() {
                    self.send(Cmd::ExportHeatmap);
                    ui.close();
                }
                if ui.button("Face crops (PNG folder)").clicked() {
                    self.send(Cmd::ExportCrops);
                    ui.close();
                }
            });
            if let Some(job) = &self.job {
                ui.separator();
                let (done, total) = self.progress.map(|p| (p.done, p.total.max(1))).unwrap_or((0, 1));
                ui.add(egui::ProgressBar::new(done as f32 / total as f32).desired_width(180.0).text(format!("{}: {done}/{total} frames", self.stage)));
                if ui.button("Cancel").clicked() {
                    job.cancel();
                }
            } else if !self.stage.is_empty() {
                ui.label(format!("analysis {}", self.stage));
            }
        });
    }

    fn messages_ui(&mut self, ui: &mut egui::Ui) {
        let mut clear = false;
        ui.horizontal(|ui| {
            ui.colored_label(Color32::from_rgb(230, 120, 60), "Attention");
            ui.vertical(|ui| {
                for m in self.messages.iter().rev().take(3) {
                    ui.label(m);
                }
            });
            if ui.button("Dismiss").clicked() {
                clear = true;
            }
        });
        if clear {
            self.messages.clear();
        }
    }

    fn analysis_ui(&mut self, ui: &mut egui::Ui) {
        if self.frames.is_empty() && self.report.is_none() {
            ui.centered_and_justified(|ui| {
                ui.label(if self.job.is_some() { "Analysing..." } else { "Open a video (button, drag and drop, or a typed path) to see its identity over time." });
            });
            return;
        }
        egui::Panel::bottom("strip")
            .exact_size(118.0)
            .show(ui, |ui| self.strip_ui(ui));
        egui::Panel::right("side")
            .default_size(520.0)
            .resizable(true)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| {
                    self.verdict_ui(ui);
                    ui.separator();
                    self.curves_ui(ui);
                    ui.separator();
                    self.matrix_ui(ui);
                });
            });
        self.frame_ui(ui);
    }

    fn frame_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            if ui
                .button(if self.playing { "Pause" } else { "Play" })
                .clicked()
            {
                self.send(Cmd::TogglePlay);
            }
            if ui
                .button("<")
                .on_hover_text("previous frame (Left)")
                .clicked()
            {
                self.send(Cmd::Step(-1));
            }
            if ui.button(">").on_hover_text("next frame (Right)").clicked() {
                self.send(Cmd::Step(1));
            }
            if let Some(p) = self.frame_pos() {
                let mut q = p;
                let n = self.frames.len();
                if ui
                    .add(egui::Slider::new(&mut q, 0..=n - 1).show_value(false))
                    .changed()
                {
                    self.send(Cmd::Seek(self.frames[q].index));
                }
                let f = &self.frames[p];
                ui.label(format!("frame {}  {:.2} s", f.index, f.time_s));
            }
        });
        let Some(p) = self.frame_pos() else { return };
        let f = &self.frames[p];
        let tex_size = f.texture.size_vec2();
        let avail = ui.available_size();
        let scale = (avail.x / tex_size.x).min(avail.y / tex_size.y).max(0.1);
        let size = tex_size * scale;
        let (rect, _) = ui.allocate_exact_size(size, egui::Sense::hover());
        ui.painter().image(
            f.texture.id(),
            rect,
            Rect::from_min_max(Pos2::ZERO, Pos2::new(1.0, 1.0)),
            Color32::WHITE,
        );
        // Boxes and landmarks, in video pixels scaled to the shown frame.
        if let Some(r) = &self.report {
            if let Some(rec) = r.frames.iter().find(|x| x.index == f.index) {
                let sx = rect.width() / r.video.width as f32;
                let sy = rect.height() / r.video.height as f32;
                let to = |x: f32, y: f32| Pos2::new(rect.min.x + x * sx, rect.min.y + y * sy);
                for b in &rec.others {
                    ui.painter().rect_stroke(
                        Rect::from_min_max(to(b[0], b[1]), to(b[0] + b[2], b[1] + b[3])),
                        0.0,
                        Stroke::new(1.5, Color32::from_rgb(240, 160, 40)),
                        egui::StrokeKind::Outside,
                    );
                }
                if let Some(face) = &rec.face {
                    let b = face.bbox;
                    ui.painter().rect_stroke(
                        Rect::from_min_max(to(b[0], b[1]), to(b[0] + b[2], b[1] + b[3])),
                        0.0,
                        Stroke::new(2.0, Color32::from_rgb(80, 220, 120)),
                        egui::StrokeKind::Outside,
                    );
                    for l in &face.landmarks {
                        ui.painter().circle_filled(
                            to(l[0], l[1]),
                            1.5,
                            Color32::from_rgb(120, 200, 255),
                        );
                    }
                }
            }
        }
    }

    fn strip_ui(&mut self, ui: &mut egui::Ui) {
        ui.label("Face strip: the subject's aligned crop in each analysed frame (gaps: no face). Click to seek.");
        let current = self.current;
        let mut seek = None;
        egui::ScrollArea::horizontal()
            .id_salt("strip-scroll")
            .show(ui, |ui| {
                ui.horizontal(|ui| {
                    let records: Vec<(u64, f64, Option<f32>)> = match &self.report {
                        Some(r) => r
                            .frames
                            .iter()
                            .map(|f| (f.index, f.time_s, f.sim_reference))
                            .collect(),
                        None => self
                            .frames
                            .iter()
                            .map(|f| (f.index, f.time_s, None))
                            .collect(),
                    };
                    for (index, time_s, sim) in records {
                        let size = Vec2::splat(72.0);
                        let (rect, resp) = ui.allocate_exact_size(size, egui::Sense::click());
                        if index == current && self.strip_follow {
                            // No animation: an animated scroll repaints for a while, which
                            // would take the cores from the analysis.
                            ui.scroll_to_rect_animation(
                                rect,
                                None,
                                egui::style::ScrollAnimation::none(),
                            );
                            self.strip_follow = false;
                        }
                        if !ui.is_rect_visible(rect) {
                            continue;
                        }
                        match self.crops.get(&index) {
                            Some(t) => {
                                ui.painter().image(
                                    t.id(),
                                    rect,
                                    Rect::from_min_max(Pos2::ZERO, Pos2::new(1.0, 1.0)),
                                    Color32::WHITE,
                                );
                            }
                            None => {
                                ui.painter().rect_filled(rect, 2.0, Color32::from_gray(40));
                                ui.painter().text(
                                    rect.center(),
                                    egui::Align2::CENTER_CENTER,
                                    "no face",
                                    egui::FontId::proportional(10.0),
                                    Color32::GRAY,
                                );
                            }
                        }
                        if index == current {
                            ui.painter().rect_stroke(
                                rect,
                                0.0,
                                Stroke::new(3.0, Color32::YELLOW),
                                egui::StrokeKind::Inside,
                            );
                        }
                        let resp = resp.on_hover_text(format!(
                            "frame {index}, {time_s:.2} s, similarity to the reference {}",
                            sim.map(|s| format!("{s:.3}")).unwrap_or_else(|| "-".into())
                        ));
                        if resp.clicked() {
                            seek = Some(index);
                        }
                    }
                });
            });
        if let Some(i) = seek {
            self.send(Cmd::Seek(i));
        }
    }

    fn verdict_ui(&mut self, ui: &mut egui::Ui) {
        ui.heading("Verdict");
        let Some(r) = &self.report else {
            ui.label("waiting for the analysis to finish");
            return;
        };
        ui.label(format!(
            "encoder {} (weights sha256 {}...)",
            r.encoder.name,
            &r.encoder.weights_sha256[..12.min(r.encoder.weights_sha256.len())]
        ));
        match &r.verdict {
            None => {
                ui.colored_label(Color32::from_rgb(230, 170, 60), "No detector loaded.");
                ui.label("Load a TI2Net checkpoint in Settings, or train one in the Training tab; the identity curves below work without it.");
            }
            Some(v) => {
                let (text, color) = match v.label.as_str() {
                    "fake" => ("FAKE", Color32::from_rgb(230, 80, 70)),
                    "real" => ("REAL", Color32::from_rgb(90, 200, 120)),
                    _ => ("UNDETERMINED", Color32::GRAY),
                };
                ui.horizontal(|ui| {
                    ui.label(egui::RichText::new(text).size(22.0).strong().color(color));
                    if let Some(p) = v.p_fake {
                        ui.label(format!(
                            "fake probability {p:.3} (threshold {:.2}); majority of windows: {}",
                            v.threshold,
                            v.majority_label.as_deref().unwrap_or("-")
                        ));
                    }
                });
                ui.label(format!("method: {}", v.method));
                ui.label(format!(
                    "checkpoint {} (sha256 {}...), trained on {}",
                    v.checkpoint.display(),
                    &v.checkpoint_sha256[..12.min(v.checkpoint_sha256.len())],
                    v.checkpoint_encoder.as_deref().unwrap_or("unknown vectors")
                ));
                if let Some(n) = &v.note {
                    ui.label(n);
                }
            }
        }
    }

    fn curves_ui(&mut self, ui: &mut egui::Ui) {
        ui.heading("Identity over time")
            .on_hover_text("Click the plot to seek; hover to see the crop at that time.");
        let Some(r) = &self.report else {
            ui.label("the curves appear when the analysis is done");
            return;
        };
        let refs: Vec<[f64; 2]> = r
            .frames
            .iter()
            .filter_map(|f| f.sim_reference.map(|s| [f.time_s, s as f64]))
            .collect();
        let prev: Vec<[f64; 2]> = r
            .frames
            .iter()
            .filter_map(|f| f.sim_previous.map(|s| [f.time_s, s as f64]))
            .collect();
        let changes: Vec<f64> = r.identity_changes.iter().map(|c| c.time_s).collect();
        let cursor = self.time_of(self.current);
        let threshold = r
            .verdict
            .as_ref()
            .map(|v| v.threshold as f64)
            .unwrap_or(0.5);
        let windows: Vec<(f64, f64, f64)> = r
            .verdict
            .as_ref()
            .map(|v| {
                v.windows
                    .iter()
                    .map(|w| (w.start_s, w.end_s, w.p_fake as f64))
                    .collect()
            })
            .unwrap_or_default();
        let resp = Plot::new("identity-curves")
            .height(170.0)
            .include_y(0.0)
            .include_y(1.0)
            .x_axis_label("time (s)")
            .include_y(-0.2)
            .legend(egui_plot::Legend::default().position(egui_plot::Corner::RightBottom))
            .allow_drag(false)
            .allow_scroll(false)
            .show(ui, move |p| {
                p.line(
                    Line::new("similarity to the reference", PlotPoints::from(refs))
                        .color(Color32::from_rgb(90, 160, 255))
                        .width(1.5),
                );
                p.line(
                    Line::new("similarity to the previous frame", PlotPoints::from(prev))
                        .color(Color32::from_rgb(200, 200, 200))
                        .width(1.0),
                );
                for (k, c) in changes.iter().enumerate() {
                    p.vline(
                        VLine::new(
                            if k == 0 {
                                "identity change"
                            } else {
                                "identity change "
                            },
                            *c,
                        )
                        .color(Color32::from_rgb(230, 80, 70))
                        .width(2.0),
                    );
                }
                p.vline(VLine::new("now", cursor).color(Color32::YELLOW));
                p.pointer_coordinate()
            });
        self.curves_transform = Some(resp.transform);
        if resp.response.clicked() {
            if let Some(pt) = resp.inner {
                self.send(Cmd::SeekTime(pt.x));
            }
        }
        if let Some(pt) = resp.inner {
            if resp.response.hovered() {
                if let Some(f) = self
                    .frames
                    .iter()
                    .min_by(|a, b| (a.time_s - pt.x).abs().total_cmp(&(b.time_s - pt.x).abs()))
                {
                    if let Some(t) = self.crops.get(&f.index) {
                        let id = t.id();
                        let label = format!("frame {} at {:.2} s", f.index, f.time_s);
                        resp.response.on_hover_ui_at_pointer(|ui| {
                            ui.image((id, Vec2::splat(96.0)));
                            ui.label(label);
                        });
                    }
                }
            }
        }
        if !windows.is_empty() {
            ui.label("TI2Net fake probability per window (each window spans 127 face frames)");
            Plot::new("verdict-band")
                .height(64.0)
                .include_y(0.0)
                .include_y(1.0)
                .allow_drag(false)
                .allow_scroll(false)
                .show(ui, move |p| {
                    for (k, (a, b, pf)) in windows.iter().enumerate() {
                        let c = if *pf >= threshold {
                            Color32::from_rgb(230, 80, 70)
                        } else {
                            Color32::from_rgb(90, 200, 120)
                        };
                        p.line(
                            Line::new(
                                format!("window {k}"),
                                PlotPoints::from(vec![[*a, *pf], [*b, *pf]]),
                            )
                            .color(c)
                            .width(3.0),
                        );
                    }
                    p.hline(HLine::new("threshold", threshold).color(Color32::GRAY));
                    p.vline(VLine::new("now", cursor).color(Color32::YELLOW));
                });
        }
    }

    fn matrix_ui(&mut self, ui: &mut egui::Ui) {
        ui.heading("Frame-by-frame similarity").on_hover_text(
            "Each cell is the cosine similarity of two face frames' identities (dark: another person, yellow: the same). Click a cell to see its two crops side by side.",
        );
        let Some((tex, ids, _)) = &self.matrix else {
            ui.label("needs at least two face frames");
            return;
        };
        let n = ids.len();
        // Fit the rest of the panel.
        let side = ui
            .available_width()
            .min(360.0)
            .min((ui.clip_rect().bottom() - ui.cursor().top() - 8.0).max(160.0));
        let (rect, resp) = ui.allocate_exact_size(Vec2::splat(side), egui::Sense::click());
        ui.painter().image(
            tex.id(),
            rect,
            Rect::from_min_max(Pos2::ZERO, Pos2::new(1.0, 1.0)),
            Color32::WHITE,
        );
        // The current time on both axes.
        if let Some(k) = ids.iter().position(|&i| i >= self.current) {
            let x = rect.min.x + (k as f32 + 0.5) / n as f32 * side;
            let y = rect.min.y + (k as f32 + 0.5) / n as f32 * side;
            ui.painter().line_segment(
                [Pos2::new(x, rect.min.y), Pos2::new(x, rect.max.y)],
                Stroke::new(1.0, Color32::WHITE),
            );
            ui.painter().line_segment(
                [Pos2::new(rect.min.x, y), Pos2::new(rect.max.x, y)],
                Stroke::new(1.0, Color32::WHITE),
            );
        }
        let cell = |p: Pos2| {
            (
                ((p.x - rect.min.x) / side * n as f32) as usize,
                ((p.y - rect.min.y) / side * n as f32) as usize,
            )
        };
        if let Some(p) = resp.hover_pos() {
            let (i, j) = cell(p);
            if i < n && j < n {
                let (a, b) = (ids[j], ids[i]);
                resp.clone()
                    .on_hover_text(format!("frames {a} and {b}: click to compare"));
            }
        }
        if resp.clicked() {
            if let Some(p) = resp.interact_pointer_pos() {
                let (i, j) = cell(p);
                self.send(Cmd::ShowPair(j, i));
            }
        }
    }

    fn pair_window(&mut self, ctx: &egui::Context) {
        let Some((a, b, s)) = self.pair else { return };
        let mut open = true;
        egui::Window::new("Two frames compared")
            .open(&mut open)
            .resizable(false)
            .show(ctx, |ui| {
                ui.horizontal(|ui| {
                    for i in [a, b] {
                        ui.vertical(|ui| {
                            if let Some(t) = self.crops.get(&i) {
                                ui.image((t.id(), Vec2::splat(160.0)));
                            }
                            ui.label(format!("frame {i} ({:.2} s)", self.time_of(i)));
                        });
                    }
                });
                ui.label(egui::RichText::new(format!("identity similarity {s:.3}")).size(18.0));
            });
        if !open {
            self.pair = None;
        }
    }

    fn settings_ui(&mut self, ui: &mut egui::Ui) {
        let s = &mut self.settings;
        egui::Grid::new("settings")
            .num_columns(2)
            .spacing([12.0, 8.0])
            .show(ui, |ui| {
                ui.label("Encoder");
                egui::ComboBox::from_id_salt("encoder")
                    .selected_text(s.encoder.name())
                    .show_ui(ui, |ui| {
                        ui.selectable_value(
                            &mut s.encoder,
                            EncoderKind::Mobilefacenet,
                            "mobilefacenet",
                        );
                        ui.selectable_value(&mut s.encoder, EncoderKind::ArcfaceR18, "arcface-r18");
                    });
                ui.end_row();
                ui.label("Encoder weights");
                ui.add(egui::TextEdit::singleline(&mut s.weights).desired_width(420.0));
                ui.end_row();
                ui.label("Landmark model");
                ui.add(egui::TextEdit::singleline(&mut s.landmarks).desired_width(420.0));
                ui.end_row();
                ui.label("TI2Net checkpoint");
                ui.add(
                    egui::TextEdit::singleline(&mut s.checkpoint)
                        .hint_text("none: curves only")
                        .desired_width(420.0),
                );
                ui.end_row();
                ui.label("Device");
                ui.horizontal(|ui| {
                    ui.selectable_value(&mut s.cuda, false, "CPU");
                    let cuda_ok = cfg!(feature = "cuda");
                    ui.add_enabled_ui(cuda_ok, |ui| ui.selectable_value(&mut s.cuda, true, "CUDA"))
                        .response
                        .on_disabled_hover_text(
                            "this build has no CUDA support (cargo build --features cuda)",
                        );
                });
                ui.end_row();
                ui.label("Analyse every N-th frame");
                ui.add(egui::DragValue::new(&mut s.every).range(1..=100));
                ui.end_row();
                ui.label("Upsample before detection");
                ui.checkbox(&mut s.upsample, "finds small faces, 4x slower");
                ui.end_row();
                ui.label("Window stride (face frames)");
                ui.add(egui::DragValue::new(&mut s.stride).range(1..=127));
                ui.end_row();
                ui.label("Decision threshold");
                ui.add(egui::Slider::new(&mut s.threshold, 0.05..=0.95));
                ui.end_row();
            });
        ui.label("Settings apply to the next analysis and are remembered between runs.");
        ui.separator();
        ui.label(self.frame_stats());
    }

    fn training_ui(&mut self, ui: &mut egui::Ui) {
        let running = self.train_job.is_some();
        egui::Panel::left("train-form")
            .default_size(440.0)
            .min_size(400.0)
            .show(ui, |ui| {
                let extracting = self.extract_job.is_some();
                ui.label("Identity files from folders of videos (optional)");
                egui::Grid::new("extract-grid")
                    .num_columns(3)
                    .spacing([10.0, 6.0])
                    .show(ui, |ui| {
                        for (label, fake) in
                            [("Real videos folder", false), ("Fake videos folder", true)]
                        {
                            ui.label(label);
                            let f = &mut self.settings.train;
                            let v = if fake {
                                &mut f.fake_folder
                            } else {
                                &mut f.real_folder
                            };
                            ui.add_sized(
                                [220.0, 20.0],
                                egui::TextEdit::singleline(v).hint_text("a folder of videos"),
                            );
                            let ok = !v.trim().is_empty() && !extracting && !running;
                            if ui.add_enabled(ok, egui::Button::new("Extract")).clicked() {
                                self.pending.push(Cmd::Extract { fake });
                            }
                            ui.end_row();
                        }
                    });
                if let Some(x) = &self.extract_job {
                    ui.horizontal(|ui| {
                        let (d, t) = self.extract_progress;
                        let frac = if t > 0 { d as f32 / t as f32 } else { 0.0 };
                        ui.add(
                            egui::ProgressBar::new(frac)
                                .desired_width(220.0)
                                .text(format!("extracting: {d}/{t} videos")),
                        );
                        if ui.button("Cancel extraction").clicked() {
                            x.cancel();
                        }
                    });
                }
                ui.separator();
                let f = &mut self.settings.train;
                ui.add_enabled_ui(!running, |ui| {
                    egui::Grid::new("train-grid")
                        .num_columns(2)
                        .spacing([10.0, 6.0])
                        .show(ui, |ui| {
                            for (label, v) in [
                                ("Real identities (.npy)", &mut f.real_ids),
                                ("Real lengths (.npy)", &mut f.real_lens),
                                ("Fake identities (.npy)", &mut f.fake_ids),
                                ("Fake lengths (.npy)", &mut f.fake_lens),
                                ("Checkpoint to write", &mut f.out),
                            ] {
                                ui.label(label);
                                ui.add(egui::TextEdit::singleline(v).desired_width(240.0));
                                ui.end_row();
                            }
                            ui.label("Epochs");
                            ui.add(egui::DragValue::new(&mut f.cfg.epochs).range(1..=10000));
                            ui.end_row();
                            ui.label("Learning rate");
                            ui.add(
                                egui::DragValue::new(&mut f.cfg.lr)
                                    .speed(1e-6)
                                    .range(1e-7..=1e-1),
                            );
                            ui.end_row();
                            ui.label("Triplets per batch");
                            ui.add(egui::DragValue::new(&mut f.cfg.batch).range(1..=256));
                            ui.end_row();
                            ui.label("GRU hidden size");
                            ui.add(egui::DragValue::new(&mut f.cfg.hidden).range(8..=2048));
                            ui.end_row();
                            ui.label("Seed");
                            ui.add(egui::DragValue::new(&mut f.cfg.seed));
                            ui.end_row();
                            ui.label("Triplet margin / weight");
                            ui.horizontal(|ui| {
                                ui.add(egui::DragValue::new(&mut f.cfg.margin).speed(0.01));
                                ui.add(egui::DragValue::new(&mut f.cfg.triplet_weight).speed(0.01));
                            });
                            ui.end_row();
                        });
                });
                ui.horizontal(|ui| {
                    if !running {
                        if ui.button("Start training").clicked() {
                            self.pending.push(Cmd::StartTraining { resume: false });
                        }
                        if ui
                            .button("Resume")
                            .on_hover_text("continue from the checkpoint's saved state")
                            .clicked()
                        {
                            self.pending.push(Cmd::StartTraining { resume: true });
                        }
                    } else if let Some(j) = &self.train_job {
                        let paused = j.paused();
                        if ui
                            .button(if paused { "Continue" } else { "Pause" })
                            .clicked()
                        {
                            j.set_paused(!paused);
                        }
                        if ui.button("Stop").clicked() {
                            j.stop();
                        }
                    }
                    let out = PathBuf::from(self.settings.train.out.trim());
                    if ui
                        .add_enabled(
                            !running && out.exists(),
                            egui::Button::new("Use as detector"),
                        )
                        .clicked()
                    {
                        self.pending.push(Cmd::UseCheckpoint(out));
                    }
                });
                ui.label(&self.train_status);
            });
        let losses: Vec<[f64; 2]> = self.train_losses.iter().map(|&(x, y)| [x, y]).collect();
        let auc: Vec<[f64; 2]> = self
            .train_history
            .iter()
            .filter_map(|r| r.val_auc.map(|a| [r.epoch as f64, a]))
            .collect();
        let acc: Vec<[f64; 2]> = self
            .train_history
            .iter()
            .filter_map(|r| r.val_acc.map(|a| [r.epoch as f64, a]))
            .collect();
        let vauc: Vec<[f64; 2]> = self
            .train_history
            .iter()
            .filter_map(|r| r.val_video_auc.map(|a| [r.epoch as f64, a]))
            .collect();
        let roc: Vec<[f64; 2]> = self.train_roc.iter().map(|p| [p.fpr, p.tpr]).collect();
        ui.label("Training loss per batch");
        Plot::new("train-loss")
            .height(160.0)
            .x_axis_label("epoch")
            .show(ui, move |p| {
                p.line(
                    Line::new("loss", PlotPoints::from(losses))
                        .color(Color32::from_rgb(240, 160, 40)),
                );
            });
        ui.label("Validation per epoch");
        Plot::new("train-val")
            .height(160.0)
            .include_y(0.0)
            .include_y(1.0)
            .x_axis_label("epoch")
            .legend(egui_plot::Legend::default())
            .show(ui, move |p| {
                p.line(
                    Line::new("clip AUC", PlotPoints::from(auc))
                        .color(Color32::from_rgb(90, 160, 255)),
                );
                p.line(
                    Line::new("clip accuracy", PlotPoints::from(acc))
                        .color(Color32::from_rgb(90, 200, 120)),
                );
                p.line(
                    Line::new("video AUC", PlotPoints::from(vauc))
                        .color(Color32::from_rgb(200, 120, 220)),
                );
            });
        ui.label("ROC of the best epoch (validation clips)");
        Plot::new("train-roc")
            .height(200.0)
            .width(220.0)
            .data_aspect(1.0)
            .include_x(0.0)
            .include_x(1.0)
            .include_y(0.0)
            .include_y(1.0)
            .x_axis_label("false positive rate")
            .show(ui, move |p| {
                p.line(
                    Line::new("ROC", PlotPoints::from(roc)).color(Color32::from_rgb(90, 160, 255)),
                );
                p.line(
                    Line::new("chance", PlotPoints::from(vec![[0.0, 0.0], [1.0, 1.0]]))
                        .color(Color32::GRAY),
                );
            });
    }
}
