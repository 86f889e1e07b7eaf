//! The Review tab's state (annotators): a dataset's videos as a queue, the table of
//! bad examples bound to its file, and a [`Worker`] that analyses the current video
//! and prepares the next one in the background. Analyses are cached in memory and on
//! disk beside the table (`<table>.analyses/<key>.json` and `.png`), so coming back to
//! a video is instant.

use super::review_worker::{load_cached, save_cached, texture, work, CacheKey};
pub use super::review_worker::{Cached, ReviewMsg, ReviewSpec, CROP_SIDE, MAX_CROPS};
use super::worker::Worker;
use crate::report::Report;
use crate::review::{self, suggest, Action, Annotator, Dataset, Frames, Reason, TableFile};
use eframe::egui;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

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
