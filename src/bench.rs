//! Stage timings on a real video (`ti2net bench`, `cargo bench`).

use crate::align::FaceCrops;
use crate::encoder::Encoder;
use crate::error::Result;
use crate::faces::{FaceAnalyzer, FaceSearch, SubjectTracker};
use crate::pipeline::{self, AnalyzeOptions};
use crate::video::{FrameSelection, VideoReader};
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

/// Frames per second of each stage, measured on the same frames.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BenchResult {
    pub frames: usize,
    pub faces: usize,
    pub decode_fps: f64,
    /// Whole-frame face search and landmarks on every frame.
    pub detect_fps: f64,
    /// The pipeline's face search: a region around the tracked subject, the whole
    /// frame on cuts, when the subject is lost and every half second (and scene cuts).
    pub detect_region_fps: f64,
    pub align_fps: f64,
    pub embed_fps: f64,
    /// The whole pipeline (decode, detect, align, embed in parallel, similarity).
    pub pipeline_fps: f64,
    pub threads: usize,
}

impl BenchResult {
    pub fn table(&self) -> String {
        format!(
            "stage      frames/s   ms/frame   ({} frames, {} faces, {} threads)\n\
             decode   {:>10.1} {:>10.2}\n\
             detect   {:>10.1} {:>10.2}   (whole frames)\n\
             detect   {:>10.1} {:>10.2}   (region around the subject)\n\
             align    {:>10.1} {:>10.2}\n\
             embed    {:>10.1} {:>10.2}\n\
             pipeline {:>10.1} {:>10.2}",
            self.frames,
            self.faces,
            self.threads,
            self.decode_fps,
            1000.0 / self.decode_fps,
            self.detect_fps,
            1000.0 / self.detect_fps,
            self.detect_region_fps,
            1000.0 / self.detect_region_fps,
            self.align_fps,
            1000.0 / self.align_fps,
            self.embed_fps,
            1000.0 / self.embed_fps,
            self.pipeline_fps,
            1000.0 / self.pipeline_fps,
        )
    }
}

fn fps(n: usize, secs: f64) -> f64 {
    if secs > 0.0 {
        n as f64 / secs
    } else {
        f64::INFINITY
    }
}

/// Times each stage on the first `frames` frames of `video`.
pub fn run(
    video: &Path,
    encoder: &Encoder,
    faces: &FaceAnalyzer,
    frames: usize,
) -> Result<BenchResult> {
    let t = Instant::now();
    let mut reader = VideoReader::open(video, FrameSelection::default())?;
    let mut images = Vec::new();
    while images.len() < frames {
        match reader.next_frame()? {
            Some(f) => images.push(f.image),
            None => break,
        }
    }
    let decode = t.elapsed().as_secs_f64();
    let n = images.len();

    let t = Instant::now();
    let dets: Vec<_> = images.iter().map(|im| faces.detect(im)).collect();
    let detect = t.elapsed().as_secs_f64();

    let fps_video = reader.info().fps;
    let t = Instant::now();
    let mut tracker = SubjectTracker::new((0.5 * fps_video).ceil() as u32);
    let mut search = FaceSearch::new(true, (pipeline::FULL_SEARCH_S * fps_video).ceil() as u32);
    for im in &images {
        let cut = tracker.scene_cut(im);
        let found = search.find(faces, im, &tracker, cut);
        let (chosen, _) = tracker.update(&found.dets, cut);
        search.chosen(&found, chosen);
    }
    let detect_region = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let crops: Vec<FaceCrops> = images
        .iter()
        .zip(&dets)
        .filter_map(|(im, d)| {
            d.iter()
                .max_by(|a, b| a.area().total_cmp(&b.area()))
                .map(|d| FaceCrops::from_detection(im, d))
        })
        .collect();
    let align = t.elapsed().as_secs_f64();

    let t = Instant::now();
    for chunk in crops.chunks(16) {
        let refs: Vec<&FaceCrops> = chunk.iter().collect();
        encoder.embed(&refs)?;
    }
    let embed = t.elapsed().as_secs_f64();

    let end = {
        // The same frames through the whole pipeline.
        let info = VideoReader::open(video, FrameSelection::default())?
            .info()
            .clone();
        (n as f64 - 0.5) / info.fps
    };
    let opts = AnalyzeOptions {
        selection: FrameSelection {
            every: 1,
            start_s: None,
            end_s: Some(end),
        },
        upsample: faces.upsample,
        ..Default::default()
    };
    let t = Instant::now();
    let a = pipeline::analyze(
        video,
        encoder,
        faces,
        &opts,
        &mut |_| {},
        &mut |_, _| Ok(()),
        &AtomicBool::new(false),
    )?;
    let whole = t.elapsed().as_secs_f64();
    Ok(BenchResult {
        frames: n,
        faces: crops.len(),
        decode_fps: fps(n, decode),
        detect_fps: fps(n, detect),
        detect_region_fps: fps(n, detect_region),
        align_fps: fps(crops.len(), align),
        embed_fps: fps(crops.len(), embed),
        pipeline_fps: fps(a.report.frames.len(), whole),
        threads: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
    })
}
