//! What the app knows, apart from how it is shown: the analysis and its results, the
//! training and its history, the running workers, and the messages for the user
//! ([`State`]); and the view state the panels may change directly ([`View`]).
//!
//! Workers report through channels; [`State::poll`] applies their messages once per
//! UI pass.

use super::job::{Job, JobMsg};
use super::training::{self, ExtractMsg, ExtractWorker, TrainForm, TrainJob, TrainMsg};
use super::worker::{drain, Stage};
use crate::classifier::metrics::RocPoint;
use crate::classifier::train::EpochRecord;
use crate::pipeline::Progress;
use crate::report::Report;
use eframe::egui;
use egui::{ColorImage, TextureHandle, TextureOptions};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

/// The tabs of the workbench. A new tab: a variant here, its label, and a panel file
/// whose `ui` `App::tab_ui` calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Analysis,
    Swap,
    Review,
    Training,
    Settings,
}

impl Tab {
    /// The tabs in the order of the top bar.
    pub const ALL: [Tab; 5] = [
        Tab::Analysis,
        Tab::Swap,
        Tab::Review,
        Tab::Training,
        Tab::Settings,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Tab::Analysis => "Analysis",
            Tab::Swap => "Swap",
            Tab::Review => "Review",
            Tab::Training => "Training",
            Tab::Settings => "Settings",
        }
    }
}

/// Everything the app knows.
#[derive(Default)]
pub struct State {
    pub analysis: AnalysisState,
    pub training: TrainingState,
    /// The swap bench: its worker and its comparison.
    pub swap: super::swap_bench::SwapBench,
    /// The Review tab: the dataset, its table and the analyses.
    pub review: super::review::ReviewState,
    /// The people of the corpus (`assets/corpus.tsv`), offered by the swap bench.
    pub people: Vec<crate::demo::Person>,
    /// Errors and notices for the user, shown at the bottom until dismissed.
    pub messages: Vec<String>,
    /// A forensic report being written (Export > Forensic report).
    pub forensic: Option<super::worker::Worker<Result<PathBuf, String>>>,
}

/// A frame kept for display.
pub struct FrameThumb {
    pub index: u64,
    pub time_s: f64,
    pub texture: TextureHandle,
}

/// The frame-by-frame similarity matrix of the face frames.
pub struct Matrix {
    /// At most 400 x 400 cells.
    pub texture: TextureHandle,
    /// Frame index of each row and column.
    pub ids: Vec<u64>,
    /// Row-major values.
    pub values: Vec<f32>,
}

/// The analysis of one video: its worker while it runs, then its results.
#[derive(Default)]
pub struct AnalysisState {
    pub(crate) job: Option<Job>,
    /// "starting", "loading models", "analysing", ..., "done", "failed", "cancelled".
    pub stage: super::worker::Stage,
    pub progress: Option<Progress>,
    pub frames: Vec<FrameThumb>,
    /// The face strip's tiles: (frame index, time); every analysed frame, or every
    /// n-th one beyond [`super::job::MAX_CROPS`].
    pub tiles: Vec<(u64, f64)>,
    pub crops: BTreeMap<u64, TextureHandle>,
    /// The previous-frame and windowed similarity curves while the analysis runs
    /// (time, similarity); the report's replace them at the end.
    pub live_previous: Vec<[f64; 2]>,
    pub live_window: Vec<[f64; 2]>,
    pub crop_images: BTreeMap<u64, image::RgbImage>,
    pub report: Option<Report>,
    /// Shared with a forensic export running in the background.
    pub vectors: std::sync::Arc<Vec<Option<Vec<f32>>>>,
    pub matrix: Option<Matrix>,
    /// What checking the remembered files found when this analysis started.
    pub files: super::settings::FileCheck,
}

/// Training and extraction of identity files: their workers and what they reported.
#[derive(Default)]
pub struct TrainingState {
    pub(crate) job: Option<TrainJob>,
    pub(crate) extract: Option<ExtractWorker>,
    /// Which side the running extraction is for (`true`: fake).
    pub extract_fake: bool,
    /// Videos done and in all.
    pub extract_progress: (usize, usize),
    pub history: Vec<EpochRecord>,
    /// (epoch as a fraction, loss) per batch.
    pub losses: Vec<(f64, f64)>,
    pub roc: Vec<RocPoint>,
    pub steps: usize,
    pub status: String,
    /// Files of an earlier training that Start would replace: the panel asks first.
    pub confirm_replace: Option<Vec<std::path::PathBuf>>,
}

/// View state: what is shown and where. Panels change it directly; changes to the
/// data or the workers go through commands.
pub struct View {
    pub tab: Tab,
    /// The frame shown (its index in the video).
    pub current: u64,
    pub playing: bool,
    pub last_tick: Instant,
    /// Show the newest frame while analysing, until the user navigates.
    pub follow_live: bool,
    /// Scroll the face strip to the current frame at the next pass.
    pub strip_follow: bool,
    /// The two frames compared in the pair window, and their similarity.
    pub pair: Option<(u64, u64, f32)>,
    /// The video path typed in the top bar.
    pub path_input: String,
    /// Where the identity curves were drawn last pass (screen <-> plot coordinates).
    pub curves_transform: Option<egui_plot::PlotTransform>,
    /// The Review tab's reason, note and frame selection.
    pub review: super::review::ReviewView,
}

impl Default for View {
    fn default() -> Self {
        Self {
            tab: Tab::Analysis,
            current: 0,
            playing: false,
            last_tick: Instant::now(),
            follow_live: true,
            strip_follow: false,
            pair: None,
            path_input: String::new(),
            curves_transform: None,
            review: Default::default(),
        }
    }
}

impl State {
    /// Applies what the workers sent since the last pass.
    /// Extracted identity files fill in `form`.
    pub fn poll(&mut self, ctx: &egui::Context, view: &mut View, form: &mut TrainForm) {
        self.analysis.poll(ctx, view, &mut self.messages);
        self.training.poll(form, &mut self.messages);
        self.swap.poll(ctx, &mut self.messages);
        if let Some(r) = &mut self.review.session {
            r.poll(ctx, &mut self.messages);
        }
        let mut forensic = self.forensic.take();
        drain(&mut forensic, |done| {
            self.messages.push(match done {
                Ok(p) => format!("forensic report written: {}", p.display()),
                Err(e) => e,
            });
            true
        });
        self.forensic = forensic;
    }
}

fn texture(ctx: &egui::Context, name: String, image: &image::RgbImage) -> TextureHandle {
    let ci = ColorImage::from_rgb(
        [image.width() as usize, image.height() as usize],
        image.as_raw(),
    );
    ctx.load_texture(name, ci, TextureOptions::LINEAR)
}

impl AnalysisState {
    /// True while an analysis runs.
    pub fn busy(&self) -> bool {
        self.job.is_some()
    }

    /// Position in `frames` of the frame shown at `current` (the last one before it).
    pub fn frame_pos(&self, current: u64) -> Option<usize> {
        if self.frames.is_empty() {
            return None;
        }
        Some(
            match self.frames.binary_search_by_key(&current, |f| f.index) {
                Ok(i) => i,
                Err(i) => i.saturating_sub(1).min(self.frames.len() - 1),
            },
        )
    }

    /// Time of a frame, in seconds (0 when unknown).
    pub fn time_of(&self, index: u64) -> f64 {
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

    /// Forgets the previous video (and cancels its analysis, waiting for the worker).
    pub fn clear(&mut self) {
        *self = Self::default();
    }

    fn poll(&mut self, ctx: &egui::Context, view: &mut View, messages: &mut Vec<String>) {
        let mut job = self.job.take();
        let finished = drain(&mut job, |m| {
            let mut finished = false;
            match m {
                JobMsg::Stage(s) => self.stage = Stage::Step(s),
                JobMsg::Progress(p) => self.progress = Some(p),
                JobMsg::Frame {
                    index,
                    time_s,
                    image,
                } => {
                    let texture = texture(ctx, format!("frame-{index}"), &image);
                    if view.follow_live {
                        view.current = index;
                    }
                    self.frames.push(FrameThumb {
                        index,
                        time_s,
                        texture,
                    });
                }
                JobMsg::Tile {
                    index,
                    time_s,
                    crop,
                } => {
                    self.tiles.push((index, time_s));
                    if let Some(crop) = crop {
                        self.crops
                            .insert(index, texture(ctx, format!("crop-{index}"), &crop));
                        self.crop_images.insert(index, crop);
                    }
                }
                JobMsg::Live(pts) => {
                    if let Some((t, s)) = pts.previous {
                        self.live_previous.push([t, s as f64]);
                    }
                    self.live_window
                        .extend(pts.window.iter().map(|&(t, s)| [t, s as f64]));
                }
                JobMsg::Done(report, vectors) => {
                    self.stage = Stage::Done;
                    for w in &report.warnings {
                        messages.push(format!("{}: {w}", report.video.path.display()));
                    }
                    self.vectors = std::sync::Arc::new(vectors);
                    self.report = Some(*report);
                    // Back to the start once the whole clip is in, unless the user navigated.
                    if view.follow_live {
                        if let Some(f) = self.frames.first() {
                            view.current = f.index;
                        }
                    }
                    finished = true;
                }
                JobMsg::Failed(e) => {
                    self.stage = Stage::Failed;
                    messages.push(e);
                    finished = true;
                }
                JobMsg::Cancelled => {
                    self.stage = Stage::Cancelled;
                    finished = true;
                }
            }
            finished
        });
        self.job = job;
        if finished && self.report.is_some() && self.matrix.is_none() {
            self.build_matrix(ctx);
        }
    }

    /// The similarity matrix of the face frames as a texture (at most 400 x 400).
    fn build_matrix(&mut self, ctx: &egui::Context) {
        let Some(r) = &self.report else { return };
        let faces: Vec<(u64, &Vec<f32>)> = r
            .frames
            .iter()
            .zip(self.vectors.iter())
            .filter_map(|(f, v)| v.as_ref().map(|v| (f.index, v)))
            .collect();
        if faces.len() < 2 {
            return;
        }
        let step = faces.len().div_ceil(400);
        let (ids, vecs): (Vec<u64>, Vec<&Vec<f32>>) = faces.into_iter().step_by(step).unzip();
        let values = crate::identity::similarity_matrix(&vecs);
        let n = vecs.len();
        let img = crate::plots::matrix_image(&values, n);
        let ci = ColorImage::from_rgb([n, n], img.as_raw());
        let texture = ctx.load_texture("similarity-matrix", ci, TextureOptions::NEAREST);
        self.matrix = Some(Matrix {
            texture,
            ids,
            values,
        });
    }
}

impl TrainingState {
    /// True while training runs.
    pub fn running(&self) -> bool {
        self.job.is_some()
    }

    /// True while training runs and is paused.
    pub fn paused(&self) -> bool {
        self.job.as_ref().is_some_and(training::paused)
    }

    /// True while identity files are being extracted.
    pub fn extracting(&self) -> bool {
        self.extract.is_some()
    }

    fn poll(&mut self, form: &mut TrainForm, messages: &mut Vec<String>) {
        let mut job = self.job.take();
        drain(&mut job, |m| self.on_train(m, messages));
        self.job = job;
        let mut extract = self.extract.take();
        drain(&mut extract, |m| self.on_extract(m, form, messages));
        self.extract = extract;
    }

    /// Applies one training message; true when the training ended.
    fn on_train(&mut self, m: TrainMsg, messages: &mut Vec<String>) -> bool {
        match m {
            TrainMsg::Started {
                steps,
                resumed_from,
            } => {
                self.steps = steps.max(1);
                if resumed_from == 0 {
                    self.history.clear();
                    self.losses.clear();
                }
                self.status = format!("training: {steps} batches per epoch");
            }
            TrainMsg::Batch { epoch, step, loss } => {
                let x = (epoch - 1) as f64 + step as f64 / self.steps as f64;
                self.losses.push((x, loss));
                self.status = format!("epoch {epoch}, batch {step}/{}", self.steps);
            }
            TrainMsg::Epoch(r) => {
                if r.best {
                    self.status = format!("epoch {}: best so far, saved", r.epoch);
                }
                self.history.push(r);
            }
            TrainMsg::Roc { epoch, roc } => {
                let better = self
                    .history
                    .iter()
                    .filter(|r| r.best)
                    .all(|r| r.epoch < epoch);
                if self.roc.is_empty() || better {
                    self.roc = roc;
                }
            }
            TrainMsg::Done {
                best_epoch,
                checkpoint,
                stopped,
            } => {
                self.status = format!(
                    "{} - best epoch {} saved to {}",
                    if stopped { "stopped" } else { "finished" },
                    best_epoch
                        .map(|e| e.to_string())
                        .unwrap_or_else(|| "-".into()),
                    checkpoint.display()
                );
                return true;
            }
            TrainMsg::Failed(e) => {
                self.status = "failed".into();
                messages.push(e);
                return true;
            }
        }
        false
    }

    /// Applies one extraction message; true when the extraction ended. The files it
    /// made go into the training form.
    fn on_extract(
        &mut self,
        m: ExtractMsg,
        form: &mut TrainForm,
        messages: &mut Vec<String>,
    ) -> bool {
        match m {
            ExtractMsg::Progress { done, total } => {
                self.extract_progress = (done, total);
                false
            }
            ExtractMsg::Done {
                ids,
                lens,
                videos,
                problems,
            } => {
                self.status = format!(
                    "extracted {videos} videos into {}{}",
                    ids.display(),
                    if problems > 0 {
                        format!(" ({problems} with problems: see the _videos.csv table)")
                    } else {
                        String::new()
                    }
                );
                let (i, l) = if self.extract_fake {
                    (&mut form.fake_ids, &mut form.fake_lens)
                } else {
                    (&mut form.real_ids, &mut form.real_lens)
                };
                *i = ids.display().to_string();
                *l = lens.display().to_string();
                true
            }
            ExtractMsg::Failed(e) => {
                messages.push(e);
                true
            }
        }
    }
}
