//! The analysis job: runs the library's pipeline on a named worker thread and reports
//! to the UI through a channel ([`Worker`]). Cancelling sets a flag the pipeline checks
//! between frames; a dropped job cancels itself.

use super::worker::Worker;
use crate::align::FaceCrops;
use crate::pipeline::Progress;
use crate::report::Report;
use crate::session::{Session, SessionSpec};
use image::RgbImage;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

/// Longest side of the frames the UI keeps (a memory budget for long videos).
pub const FRAME_SIDE: u32 = 480;
/// Frames kept at most (about 0.7 MB each as a texture); beyond it every n-th
/// analysed frame is kept.
pub const MAX_FRAMES: usize = 600;
/// Face-strip tiles (and crops, 50 KB each as image and texture) kept at most;
/// beyond it the strip shows every n-th analysed frame, so memory stays flat however
/// long the video.
pub const MAX_CROPS: usize = 2000;

/// Everything a job needs: the video and the session (models, detector, options).
#[derive(Debug, Clone)]
pub struct JobSpec {
    pub video: PathBuf,
    pub session: SessionSpec,
    /// Files of the Settings replaced by the installed defaults, in words: recorded in
    /// the report's warnings.
    pub notes: Vec<String>,
}

/// What the worker sends.
pub enum JobMsg {
    Stage(String),
    Progress(Progress),
    Frame {
        index: u64,
        time_s: f64,
        image: RgbImage,
    },
    /// A face-strip tile: an analysed frame and the subject's crop in it (if any).
    Tile {
        index: u64,
        time_s: f64,
        crop: Option<RgbImage>,
    },
    /// New points of the previous-frame and windowed similarity curves.
    Live(crate::identity::LivePoints),
    Done(Box<Report>, Vec<Option<Vec<f32>>>),
    Failed(String),
    Cancelled,
}

/// A running analysis.
pub type Job = Worker<JobMsg>;

/// Starts the analysis on a worker thread; `repaint` wakes the UI after each message.
pub fn start(spec: JobSpec, repaint: impl Fn() + Send + Sync + 'static) -> std::io::Result<Job> {
    Worker::spawn("ti2net-analysis", repaint, move |cancel, out| {
        match run(&spec, cancel, &|m: JobMsg| out.send(m)) {
            Ok(()) => {}
            Err(crate::Error::Cancelled) => out.send(JobMsg::Cancelled),
            // Cancelled during a step that cannot stop (a model loading) which then
            // failed: the user asked to stop, so that is what they are told.
            Err(_) if cancel.load(std::sync::atomic::Ordering::Relaxed) => {
                out.send(JobMsg::Cancelled)
            }
            Err(e) => out.send(JobMsg::Failed(e.to_string())),
        }
    })
}

fn run(s: &JobSpec, cancel: &AtomicBool, send: &dyn Fn(JobMsg)) -> crate::Result<()> {
    // Cancelled (another video opened, or Cancel) between each slow step of loading.
    let go_on = || {
        if cancel.load(std::sync::atomic::Ordering::Relaxed) {
            Err(crate::Error::Cancelled)
        } else {
            Ok(())
        }
    };
    let session = Session::load_with(
        s.session.clone(),
        &|stage| send(JobMsg::Stage(stage.into())),
        cancel,
    )?;
    go_on()?;
    let faces = session.faces()?;
    go_on()?;
    let opts = &s.session.opts;
    let info = crate::video::VideoReader::open(&s.video, opts.selection)?
        .info()
        .clone();
    let expected = info.frame_count as usize / opts.selection.every.get() as usize;
    let keep_every = expected.div_ceil(MAX_FRAMES).max(1);
    let tile_every = expected.div_ceil(MAX_CROPS).max(1);
    let mut n = 0usize;
    let mut last_progress = std::time::Instant::now();
    send(JobMsg::Stage("analysing".into()));
    let mut on_progress = |p: Progress| {
        if last_progress.elapsed().as_millis() > 50 || p.done == p.total {
            last_progress = std::time::Instant::now();
            send(JobMsg::Progress(p));
        }
    };
    let mut on_frame = |f: &crate::video::Frame, c: Option<&FaceCrops>| {
        if n.is_multiple_of(keep_every) {
            let (w, h) = (f.image.width(), f.image.height());
            let scale = (FRAME_SIDE as f32 / w.max(h) as f32).min(1.0);
            let image = if scale < 1.0 {
                image::imageops::resize(
                    &f.image,
                    (w as f32 * scale) as u32,
                    (h as f32 * scale) as u32,
                    image::imageops::FilterType::Triangle,
                )
            } else {
                f.image.clone()
            };
            send(JobMsg::Frame {
                index: f.index,
                time_s: f.time_s,
                image,
            });
        }
        if n.is_multiple_of(tile_every) {
            send(JobMsg::Tile {
                index: f.index,
                time_s: f.time_s,
                crop: c.map(|c| c.aligned.clone()),
            });
        }
        n += 1;
        Ok(())
    };
    let mut live = crate::identity::LiveCurves::new(opts.change);
    let mut on_vector = |pos: usize, _index: u64, time: f64, v: &[f32]| {
        let pts = live.push(pos, time, v);
        if pts.previous.is_some() || !pts.window.is_empty() {
            send(JobMsg::Live(pts));
        }
    };
    let mut analysis = session.analyse_live(
        &s.video,
        &faces,
        &mut on_progress,
        &mut on_frame,
        Some(&mut on_vector),
        cancel,
    )?;
    analysis.report.warnings.extend(s.notes.iter().cloned());
    send(JobMsg::Done(Box::new(analysis.report), analysis.vectors));
    Ok(())
}
