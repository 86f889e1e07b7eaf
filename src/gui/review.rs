//! The Review tab's state (annotators): a dataset's videos as a queue, the table of
//! bad examples bound to its file, and a [`Worker`] that analyses the current video
//! and prepares the next one in the background. Analyses are cached in memory and on
//! disk beside the table (`<table>.analyses/<key>.json` and `.png`), so coming back to
//! a video is instant.

use super::review_worker::{load_cached, save_cached, texture, work, CacheKey};
use super::worker::Worker;
use crate::report::Report;
use crate::review::{self, suggest, Action, Annotator, Dataset, Frames, Reason, TableFile};
use eframe::egui::{self, TextureHandle};
use image::RgbImage;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Side of a crop in the strip (pixels).
pub const CROP_SIDE: u32 = 56;
/// Crops kept per video at most.
pub const MAX_CROPS: usize = 240;

/// What the tab is asked (remembered between runs).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct ReviewForm {
    /// The dataset's folder.
    pub dir: String,
    /// The table; empty: `<dataset>.review.json` in the current folder.
    pub table: String,
    pub annotator: String,
    /// Analyse every N-th frame.
    pub every: u32,
}

impl Default for ReviewForm {
    fn default() -> Self {
        Self {
            dir: String::new(),
            table: String::new(),
            annotator: std::env::var("USER").unwrap_or_else(|_| "annotator".into()),
            every: 2,
        }
    }
}

/// What the annotator is choosing (view state, changed by the panel directly).
#[derive(Clone)]
pub struct ReviewView {
    pub reason: Reason,
    pub note: String,
    /// The frame range dragged on the curves or the strip.
    pub selection: Option<Frames>,
    /// Where the drag started (a frame index).
    pub anchor: Option<u64>,
    /// Where the curves were drawn last pass (screen <-> plot coordinates).
    pub curves_transform: Option<egui_plot::PlotTransform>,
    /// The note being edited: the entry's position in the table and the text.
    pub editing_note: Option<(usize, String)>,
}

impl Default for ReviewView {
    fn default() -> Self {
        Self {
            reason: Reason::NoFace,
            note: String::new(),
            selection: None,
            anchor: None,
            curves_transform: None,
            editing_note: None,
        }
    }
}

/// A video's analysis as the tab shows it.
pub struct Cached {
    pub report: Report,
    /// (frame index, crop) of at most [`MAX_CROPS`] face frames.
    pub crops: Vec<(u64, TextureHandle)>,
}

/// What the analysis worker sends.
pub enum ReviewMsg {
    Started(String),
    /// Frames analysed and expected, of the video being analysed.
    Progress(u64, u64),
    Done {
        key: String,
        report: Box<Report>,
        crops: Vec<(u64, RgbImage)>,
    },
    Failed {
        key: String,
        error: String,
    },
}

/// An open review: the dataset, its table, the queue position and the analyses.
pub struct ReviewSession {
    pub dataset: Dataset,
    pub file: TableFile,
    pub annotator: String,
    /// The current video (position in `dataset.videos`).
    pub pos: usize,
    pub cache: HashMap<String, Cached>,
    /// Why a video could not be analysed.
    pub failed: HashMap<String, String>,
    /// The video being analysed now, and its frames done and expected.
    pub analysing: Option<String>,
    pub progress: (u64, u64),
    /// Videos the worker should analyse, most wanted first (relative paths).
    wanted: Arc<Mutex<Vec<String>>>,
    /// Started when an analysis is wanted; none after Cancel.
    worker: Option<Worker<ReviewMsg>>,
    spec: ReviewSpec,
    cache_dir: PathBuf,
}

/// The Review tab's state.
#[derive(Default)]
pub struct ReviewState {
    pub session: Option<ReviewSession>,
}

/// Everything the worker needs to analyse: the Settings tab's session, without a
/// detector or a claimed person (the review reads the identity curves).
pub type ReviewSpec = crate::session::SessionSpec;

impl ReviewSession {
    /// Opens `dir` with the table at `table`, starting the analysis worker.
    pub fn open(
        dir: &Path,
        table: &Path,
        annotator: &str,
        spec: ReviewSpec,
        ctx: &egui::Context,
    ) -> crate::Result<ReviewSession> {
        let dataset = review::dataset::open(dir)?;
        if dataset.videos.is_empty() {
            return Err(crate::Error::data(dir, "holds no videos"));
        }
        let file = TableFile::open(table)?;
        let cache_dir = PathBuf::from(format!("{}.analyses", table.display()));
        let wanted = Arc::new(Mutex::new(Vec::new()));
        // Start at the first video nobody reviewed yet.
        let pos = dataset
            .videos
            .iter()
            .position(|v| !file.table.is_reviewed(&v.rel))
            .unwrap_or(0);
        let mut s = ReviewSession {
            dataset,
            file,
            annotator: annotator.to_string(),
            pos,
            cache: HashMap::new(),
            failed: HashMap::new(),
            analysing: None,
            progress: (0, 0),
            wanted,
            worker: None,
            spec,
            cache_dir,
        };
        s.go_to(pos, ctx);
        Ok(s)
    }

    /// Starts the analysis worker unless it runs.
    fn ensure_worker(&mut self, ctx: &egui::Context) -> crate::Result<()> {
        if self.worker.is_some() {
            return Ok(());
        }
        let videos: HashMap<String, PathBuf> = self
            .dataset
            .videos
            .iter()
            .map(|v| (v.rel.clone(), v.path.clone()))
            .collect();
        let (w, spec, c) = (self.wanted.clone(), self.spec.clone(), ctx.clone());
        let worker: Worker<ReviewMsg> = Worker::spawn(
            "ti2net-review",
            move || c.request_repaint(),
            move |cancel, out| work(&spec, &videos, &w, cancel, &|m| out.send(m)),
        )
        .map_err(|e| crate::Error::Other(format!("cannot start the review worker: {e}")))?;
        self.worker = Some(worker);
        Ok(())
    }

    /// Stops the running analysis (the worker stops within a frame); the video is
    /// marked cancelled until [`ReviewSession::retry`].
    pub fn cancel(&mut self) {
        if let Ok(mut w) = self.wanted.lock() {
            w.clear();
        }
        self.worker = None; // cancels and joins
        if let Some(k) = self.analysing.take() {
            self.failed.insert(k, "cancelled".into());
        }
    }

    /// Analyses the current video again after a failure or a cancel.
    pub fn retry(&mut self, ctx: &egui::Context) {
        let key = self.current().rel.clone();
        self.failed.remove(&key);
        self.go_to(self.pos, ctx);
    }

    pub fn current(&self) -> &review::DatasetVideo {
        &self.dataset.videos[self.pos]
    }

    /// Videos reviewed (by anyone) and in all.
    pub fn reviewed(&self) -> (usize, usize) {
        let seen: BTreeSet<&str> = self
            .file
            .table
            .reviewed
            .iter()
            .map(|r| r.video.as_str())
            .collect();
        let n = self
            .dataset
            .videos
            .iter()
            .filter(|v| seen.contains(v.rel.as_str()))
            .count();
        (n, self.dataset.videos.len())
    }

    /// Moves to video `pos`: its analysis from the cache (memory, then disk), else
    /// asked of the worker, with the next video prepared after it.
    pub fn go_to(&mut self, pos: usize, ctx: &egui::Context) {
        self.pos = pos.min(self.dataset.videos.len() - 1);
        let mut want = Vec::new();
        for p in [self.pos, self.pos + 1] {
            let Some(v) = self.dataset.videos.get(p) else {
                continue;
            };
            let key = v.rel.clone();
            if !self.cache.contains_key(&key) && !self.failed.contains_key(&key) {
                let ck = CacheKey {
                    key: &key,
                    video: &v.path,
                    spec: &self.spec,
                };
                match load_cached(&self.cache_dir, &ck, ctx) {
                    Some(c) => {
                        self.cache.insert(key, c);
                    }
                    None => want.push(key),
                }
            }
        }
        let first = want.first().cloned();
        if let Ok(mut w) = self.wanted.lock() {
            *w = want;
        }
        if let Some(k) = first {
            if let Err(e) = self.ensure_worker(ctx) {
                self.failed.insert(k, e.to_string());
            }
        }
    }

    /// Applies an annotator's action and saves the table.
    pub fn act(&mut self, action: &Action) -> crate::Result<()> {
        let who = Annotator {
            name: &self.annotator,
            dataset: &self.dataset,
        };
        review::act(&mut self.file, &who, action)
    }

    /// Applies the worker's messages; errors for the user go to `messages`.
    pub fn poll(&mut self, ctx: &egui::Context, messages: &mut Vec<String>) {
        let Some(w) = &self.worker else { return };
        for m in w.messages().collect::<Vec<_>>() {
            match m {
                ReviewMsg::Started(key) => {
                    self.analysing = Some(key);
                    self.progress = (0, 0);
                }
                ReviewMsg::Progress(d, t) => self.progress = (d, t),
                ReviewMsg::Done { key, report, crops } => {
                    self.analysing = None;
                    let saved = match self.dataset.videos.iter().find(|v| v.rel == key) {
                        Some(v) => {
                            let ck = CacheKey {
                                key: &key,
                                video: &v.path,
                                spec: &self.spec,
                            };
                            save_cached(&self.cache_dir, &ck, &report, &crops)
                        }
                        None => Err(crate::Error::Other("not in the dataset".into())),
                    };
                    if let Err(e) = saved {
                        messages.push(format!("the analysis of {key} is not cached: {e}"));
                    }
                    let crops = crops
                        .iter()
                        .map(|(i, c)| (*i, texture(ctx, format!("review-{key}-{i}"), c)))
                        .collect();
                    self.add_suggestions(&key, &report, messages);
                    self.cache.insert(
                        key,
                        Cached {
                            report: *report,
                            crops,
                        },
                    );
                }
                ReviewMsg::Failed { key, error } => {
                    self.analysing = None;
                    if let Some(v) = self.dataset.videos.iter().find(|v| v.rel == key).cloned() {
                        let e = suggest::unreadable(&self.dataset.name, &v, &error);
                        self.suggest(vec![e], messages);
                    }
                    self.failed.insert(key, error);
                }
            }
        }
    }

    fn add_suggestions(&mut self, key: &str, report: &Report, messages: &mut Vec<String>) {
        let Some(v) = self.dataset.videos.iter().find(|v| v.rel == key).cloned() else {
            return;
        };
        let found = suggest::from_report(&self.dataset.name, &v, report, &Default::default());
        self.suggest(found, messages);
    }

    /// Adds suggestions the table does not hold yet (by video, frames and reason).
    fn suggest(&mut self, found: Vec<review::Entry>, messages: &mut Vec<String>) {
        let t = &self.file.table;
        let new: Vec<_> = found
            .into_iter()
            .filter(|e| {
                !t.entries
                    .iter()
                    .any(|x| x.video == e.video && x.frames == e.frames && x.reason == e.reason)
            })
            .collect();
        if new.is_empty() {
            return;
        }
        if let Err(e) = self.file.update(|t| t.entries.extend(new)) {
            messages.push(e.to_string());
        }
    }
}

/// The Review tab's commands (inside [`Cmd::Review`](super::commands::Cmd::Review)).
#[derive(Debug, Clone)]
pub enum ReviewCmd {
    /// Open the form's dataset and table.
    Open,
    /// Go to the video at this position of the queue.
    Go(usize),
    /// Mark the current video reviewed and go to the next one.
    Next,
    Prev,
    /// Flag the current video as a whole with the chosen reason and note.
    FlagVideo,
    /// Flag the selected frame range.
    FlagRange,
    /// Accept (true) or dismiss (false) the current video's first pending suggestion.
    Decide(bool),
    /// An action on the table (accept, dismiss or remove an entry).
    Act(Action),
    /// Write the table as CSV and JSON beside it (under new names).
    Export,
    /// Stop the running analysis.
    Cancel,
    /// Analyse the current video again (after a failure or a cancel).
    Retry,
}

/// Carries out a Review command.
pub(crate) fn apply(cmd: ReviewCmd, t: &mut super::commands::Target<'_>) {
    let form = t.settings.review.clone();
    let rv = &mut t.view.review;
    let messages = &mut t.state.messages;
    if let ReviewCmd::Open = cmd {
        let dir = PathBuf::from(form.dir.trim());
        let table = if form.table.trim().is_empty() {
            PathBuf::from(format!(
                "{}.review.json",
                review::dataset::dataset_name(&dir)
            ))
        } else {
            PathBuf::from(form.table.trim())
        };
        let s = &t.settings;
        let mut spec = s.session_spec();
        spec.detector = crate::session::DetectorChoice::None;
        spec.references.clear();
        spec.opts.selection.every = form.every.max(1);
        t.state.review.session = None; // cancels the previous worker
        match ReviewSession::open(&dir, &table, form.annotator.trim(), spec, t.ctx) {
            Ok(s) => {
                messages.extend(s.dataset.warnings.iter().cloned());
                t.settings.review.table = table.display().to_string();
                t.state.review.session = Some(s);
                *rv = ReviewView::default();
            }
            Err(e) => messages.push(format!("cannot open the review: {e}")),
        }
        return;
    }
    let Some(s) = t.state.review.session.as_mut() else {
        return;
    };
    let video = s.current().rel.clone();
    let result = match cmd {
        ReviewCmd::Open => Ok(()),
        ReviewCmd::Go(i) => {
            rv.selection = None;
            s.go_to(i, t.ctx);
            Ok(())
        }
        ReviewCmd::Next | ReviewCmd::Prev => {
            let r = if matches!(cmd, ReviewCmd::Next) {
                s.act(&Action::Reviewed(video))
            } else {
                Ok(())
            };
            let p = if matches!(cmd, ReviewCmd::Next) {
                s.pos + 1
            } else {
                s.pos.saturating_sub(1)
            };
            rv.selection = None;
            s.go_to(p, t.ctx);
            r
        }
        ReviewCmd::FlagVideo | ReviewCmd::FlagRange => {
            let frames = if matches!(cmd, ReviewCmd::FlagRange) {
                match rv.selection {
                    Some(f) => Some(f),
                    None => {
                        messages
                            .push("select frames first: drag on the curves or the strip".into());
                        return;
                    }
                }
            } else {
                None
            };
            let a = Action::Flag {
                video,
                frames,
                reason: rv.reason,
                note: rv.note.trim().to_string(),
            };
            let r = s.act(&a);
            if r.is_ok() {
                rv.note.clear();
                rv.selection = None;
            }
            r
        }
        ReviewCmd::Decide(accept) => {
            let pending = s
                .file
                .table
                .of_video(&video)
                .find(|(_, e)| e.status == review::Status::Suggested)
                .map(|(i, _)| i);
            match pending {
                Some(i) => s.act(&if accept {
                    Action::Accept(i)
                } else {
                    Action::Dismiss(i)
                }),
                None => Ok(()),
            }
        }
        ReviewCmd::Act(a) => s.act(&a),
        ReviewCmd::Cancel => {
            s.cancel();
            Ok(())
        }
        ReviewCmd::Retry => {
            s.retry(t.ctx);
            Ok(())
        }
        ReviewCmd::Export => export(&s.file).map(|(c, j)| {
            messages.push(format!(
                "table exported to {} and {}",
                c.display(),
                j.display()
            ))
        }),
    };
    if let Err(e) = result {
        messages.push(e.to_string());
    }
}

/// Writes the table as `<stem>-export-N.csv` and `.json` beside it, N the first free.
pub fn export(file: &TableFile) -> crate::Result<(PathBuf, PathBuf)> {
    let stem = file.path.with_extension("");
    for n in 1..1000 {
        let csv = PathBuf::from(format!("{}-export-{n}.csv", stem.display()));
        let json = csv.with_extension("json");
        if csv.exists() || json.exists() {
            continue;
        }
        crate::fsutil::write_atomic(&csv, &file.table.to_csv(), false)?;
        crate::fsutil::write_atomic(&json, &file.table.to_json(), false)?;
        return Ok((csv, json));
    }
    Err(crate::Error::Exists(stem))
}
