//! The command bus: panels push [`Cmd`]s while they draw; [`apply`] carries them out
//! in one place at the end of the pass. Everything that starts, stops or changes a
//! worker, or changes the analysis data, is a command.

mod review;

use super::export::{self, ExportKind};
use super::job::{self, JobSpec};
use super::settings::Settings;
use super::state::Tab;
use super::state::{State, View};
use super::training::{self, ExtractSpec};
use eframe::egui;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Commands from the UI, applied by [`apply`].
#[derive(Debug, Clone)]
pub enum Cmd {
    /// Analyse a video (cancels a running analysis).
    Open(PathBuf),
    /// Cancel the running analysis.
    Cancel,
    Seek(u64),
    SeekTime(f64),
    Step(i64),
    TogglePlay,
    /// Compare two cells of the similarity matrix (row and column).
    ShowPair(usize, usize),
    ExportReport,
    /// The forensic report (HTML + JSON) into a folder the user picks.
    ExportForensic,
    /// The forensic report into this folder (written in the background).
    ExportForensicTo(PathBuf),
    ExportHeatmap,
    ExportCurves,
    ExportCrops,
    /// Start training afresh (`resume`: from the checkpoint's saved state). Afresh,
    /// an existing checkpoint or state is replaced only with `replace`; else the
    /// training panel asks first.
    StartTraining {
        resume: bool,
        replace: bool,
    },
    /// Forget the question whether to replace an existing checkpoint.
    KeepCheckpoint,
    /// Pause (true) or continue (false) the running training.
    PauseTraining(bool),
    /// Stop the running training (it saves what it has).
    StopTraining,
    /// Identity files from the real (false) or fake (true) folder of videos.
    Extract {
        fake: bool,
    },
    CancelExtraction,
    UseCheckpoint(PathBuf),
    /// The detector ti2net ships (the Settings' checkpoint emptied), and analyse again.
    UseShippedDetector,
    /// Pick a checkpoint in a file dialog, and analyse again.
    ChooseCheckpoint,
    /// No verdict (identity curves only), and analyse again.
    NoDetector,
    /// All settings back to their defaults.
    ResetSettings,
    /// Preview the swap bench's choice on one frame.
    SwapPreview,
    /// Make the swap bench's swap and compare it with the real video.
    MakeSwap,
    CancelSwap,
    /// Write the swap bench's comparison as PNG.
    ExportComparison,
    /// The Review tab's commands.
    Review(super::review::ReviewCmd),
    /// A notice for the user (in the messages bar).
    Message(String),
    DismissMessages,
}

impl Cmd {
    /// Commands that move through the video: they stop following the live analysis.
    fn navigates(&self) -> bool {
        matches!(
            self,
            Cmd::Seek(_) | Cmd::SeekTime(_) | Cmd::Step(_) | Cmd::TogglePlay
        )
    }
}

/// What the commands act on.
pub(crate) struct Target<'a> {
    pub ctx: &'a egui::Context,
    pub settings: &'a mut Settings,
    pub state: &'a mut State,
    pub view: &'a mut View,
}

/// Carries out `cmds` in order.
pub(crate) fn apply(cmds: Vec<Cmd>, t: &mut Target<'_>) {
    let before = t.view.current;
    let had_commands = !cmds.is_empty();
    for cmd in cmds {
        apply_one(cmd, t);
    }
    if had_commands && t.view.current != before {
        t.view.strip_follow = true;
    }
}

fn apply_one(cmd: Cmd, t: &mut Target<'_>) {
    if cmd.navigates() {
        t.view.follow_live = false;
    }
    let a = &mut t.state.analysis;
    match cmd {
        Cmd::Open(p) => open(t, p),
        Cmd::Cancel => {
            if let Some(j) = &a.job {
                j.cancel();
            }
        }
        Cmd::Seek(i) => t.view.current = i,
        Cmd::SeekTime(time) => {
            if let Some(f) = a
                .frames
                .iter()
                .min_by(|x, y| (x.time_s - time).abs().total_cmp(&(y.time_s - time).abs()))
            {
                t.view.current = f.index;
            }
        }
        Cmd::Step(d) => {
            if let Some(p) = a.frame_pos(t.view.current) {
                let q = (p as i64 + d).clamp(0, a.frames.len() as i64 - 1) as usize;
                t.view.current = a.frames[q].index;
            }
        }
        Cmd::TogglePlay => {
            t.view.playing = !t.view.playing;
            t.view.last_tick = Instant::now();
        }
        Cmd::ShowPair(i, j) => {
            if let Some(m) = &a.matrix {
                let n = m.ids.len();
                if i < n && j < n {
                    t.view.pair = Some((m.ids[i], m.ids[j], m.values[i * n + j]));
                }
            }
        }
        Cmd::ExportReport => export::export(ExportKind::Report, t.state),
        Cmd::ExportForensic => export::export_forensic(t.ctx, t.state, t.settings),
        Cmd::ExportForensicTo(dir) => export::export_forensic_to(t.ctx, t.state, t.settings, &dir),
        Cmd::ExportHeatmap => export::export(ExportKind::Heatmap, t.state),
        Cmd::ExportCurves => export::export(ExportKind::Curves, t.state),
        Cmd::ExportCrops => export::export(ExportKind::Crops, t.state),
        Cmd::KeepCheckpoint => t.state.training.confirm_replace = None,
        Cmd::StartTraining { resume, replace } => {
            let c = t.ctx.clone();
            let tr = &mut t.state.training;
            tr.confirm_replace = None;
            if !resume && !replace {
                let existing = training::existing_outputs(&t.settings.train);
                if !existing.is_empty() {
                    tr.confirm_replace = Some(existing);
                    return;
                }
            }
            match training::start_training(t.settings.train.clone(), resume, move || {
                c.request_repaint()
            }) {
                Ok(j) => {
                    tr.status = "starting".into();
                    tr.job = Some(j);
                }
                Err(e) => t.state.messages.push(format!("cannot start training: {e}")),
            }
        }
        Cmd::PauseTraining(paused) => {
            if let Some(j) = &t.state.training.job {
                training::set_paused(j, paused);
            }
        }
        Cmd::StopTraining => {
            if let Some(j) = &t.state.training.job {
                j.cancel();
            }
        }
        Cmd::Extract { fake } => extract(t, fake),
        Cmd::CancelExtraction => {
            if let Some(x) = &t.state.training.extract {
                x.cancel();
            }
        }
        Cmd::UseShippedDetector => {
            t.settings.checkpoint.clear();
            t.settings.no_detector = false;
            reopen(t);
        }
        Cmd::NoDetector => {
            t.settings.no_detector = true;
            reopen(t);
        }
        Cmd::ChooseCheckpoint => {
            match rfd::FileDialog::new()
                .add_filter("TI2Net checkpoint", &["safetensors", "pth", "pt"])
                .pick_file()
            {
                Some(p) => {
                    t.settings.checkpoint = p.display().to_string();
                    t.settings.no_detector = false;
                    reopen(t);
                }
                None => t.state.messages.push(
                    "no file dialog is available here (or it was closed): type the checkpoint's path in Settings".into(),
                ),
            }
        }
        Cmd::ResetSettings => {
            *t.settings = Settings::default();
            t.state
                .messages
                .push("the settings are back to their defaults".into());
        }
        Cmd::UseCheckpoint(p) => {
            t.settings.checkpoint = p.display().to_string();
            if let Some(r) = &a.report {
                let v = r.video.path.clone();
                open(t, v);
            }
            t.view.tab = Tab::Analysis;
        }
        Cmd::SwapPreview => start_swap(t, true),
        Cmd::MakeSwap => start_swap(t, false),
        Cmd::CancelSwap => {
            if let Some(j) = &t.state.swap.job {
                j.cancel();
            }
        }
        Cmd::ExportComparison => match t.state.swap.export() {
            Ok(p) => t
                .state
                .messages
                .push(format!("comparison written to {}", p.display())),
            Err(e) => t.state.messages.push(e.to_string()),
        },
        Cmd::Review(c) => review::apply(c, t),
        Cmd::Message(m) => t.state.messages.push(m),
        Cmd::DismissMessages => t.state.messages.clear(),
    }
}

/// Analyses the video on screen again (after a change of detector).
fn reopen(t: &mut Target<'_>) {
    let v = t.view.path_input.trim().to_string();
    if !v.is_empty() {
        open(t, PathBuf::from(v));
    }
}

/// Starts the analysis of `video`, forgetting the previous one.
fn open(t: &mut Target<'_>, video: PathBuf) {
    t.state.analysis.clear(); // cancels a running job
    let v = &mut t.view;
    v.pair = None;
    v.current = 0;
    v.playing = false;
    v.follow_live = true;
    v.path_input = video.display().to_string();
    t.settings.add_recent(video.display().to_string());
    let (session, files) = t.settings.session_spec();
    let spec = JobSpec {
        video,
        session,
        notes: files.fallbacks.clone(),
    };
    t.state.analysis.files = files;
    let c = t.ctx.clone();
    // Progress repaints at most 4 times a second: enough to watch, and the analysis
    // keeps the cores. Input still repaints at once.
    let last = std::sync::Mutex::new(Instant::now() - Duration::from_secs(1));
    let throttled = move || {
        if let Ok(mut at) = last.lock() {
            if at.elapsed() >= Duration::from_millis(250) {
                *at = Instant::now();
                c.request_repaint();
            } else {
                c.request_repaint_after(Duration::from_millis(250));
            }
        }
    };
    match job::start(spec, throttled) {
        Ok(j) => {
            t.state.analysis.stage = super::worker::Stage::Step("starting".into());
            t.state.analysis.job = Some(j);
        }
        Err(e) => t
            .state
            .messages
            .push(format!("cannot start the analysis: {e}")),
    }
}

/// Starts the swap bench's job: a preview of one frame, or the swap and its comparison.
fn start_swap(t: &mut Target<'_>, preview: bool) {
    let s = &t.settings;
    let f = &s.swap;
    let (source, target) = (
        PathBuf::from(f.source.trim()),
        PathBuf::from(f.target.trim()),
    );
    let stem = |p: &PathBuf| {
        p.file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_else(|| "video".into())
    };
    let out = super::swap_bench::swaps_dir().join(format!(
        "{}_on_{}_{:.0}-{:.0}s.mp4",
        stem(&source),
        stem(&target),
        f.start,
        f.start + f.length
    ));
    let spec = super::swap_bench::SwapSpec {
        source,
        target,
        start: f.start,
        end: f.start + f.length.max(0.5),
        label: f.label,
        out,
        session: {
            let (spec, files) = s.session_spec();
            t.state.messages.extend(files.fallbacks);
            if let Some(c) = files.missing_checkpoint {
                t.state.messages.push(format!(
                    "the detector {} does not exist: the swap bench gives no verdict (Settings: choose another, or empty for the shipped one)",
                    c.display()
                ));
            }
            spec
        },
        preview_at: preview.then_some(f.start + f.preview_at),
    };
    if let Err(e) = t.state.swap.start(spec, t.ctx) {
        t.state.messages.push(format!("cannot start the swap: {e}"));
    }
}

/// Starts extracting identity files from the real or fake folder of the training form.
fn extract(t: &mut Target<'_>, fake: bool) {
    let s = &t.settings;
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
    let c = t.ctx.clone();
    let tr = &mut t.state.training;
    match training::start_extraction(spec, move || {
        c.request_repaint_after(Duration::from_millis(200))
    }) {
        Ok(x) => {
            tr.extract_progress = (0, 0);
            tr.extract_fake = fake;
            tr.extract = Some(x);
        }
        Err(e) => t
            .state
            .messages
            .push(format!("cannot start the extraction: {e}")),
    }
}
