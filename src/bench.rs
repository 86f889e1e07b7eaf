//! Stage timings on a real video (`ti2net bench`, `cargo bench`).

use crate::align::FaceCrops;
use crate::encoder::{cpu, Encoder, EncoderKind};
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
    /// The same with the subject followed by its landmarks between region searches
    /// (the pipeline's default).
    pub detect_tracked_fps: f64,
    pub align_fps: f64,
    pub embed_fps: f64,
    /// The whole pipeline (decode, detect, align, embed in parallel, similarity).
    pub pipeline_fps: f64,
    pub threads: usize,
    /// SGEMM floor of this machine, measured in the same run.
    pub floor: Floor,
    /// The encoder's embedding (crop + mirror, batches of 16 faces).
    pub encoder: EncoderTiming,
    /// resnet_face18 on the same crops (random fixture weights, for timing) when the
    /// encoder is MobileFaceNet and the fixture is there.
    pub r18: Option<EncoderTiming>,
}

/// GFLOP/s of independent single-threaded sgemms, one per thread, as the encoders
/// run them.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Floor {
    /// (m, n, k) of each sgemm.
    pub shape: (usize, usize, usize),
    pub gflops_1_thread: f64,
    pub gflops_all_threads: f64,
}

/// Embedding speed of one encoder on the bench's crops.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EncoderTiming {
    pub name: String,
    pub faces: usize,
    /// GFLOP of one identity vector (crop + mirror).
    pub gflop_per_face: f64,
    /// Milliseconds a face (crop + mirror), all threads.
    pub ms_per_face: f64,
    /// The same on one thread.
    pub ms_per_face_1_thread: f64,
}

impl EncoderTiming {
    fn gflops(&self, ms: f64) -> f64 {
        self.gflop_per_face / (ms / 1000.0)
    }

    fn line(&self, floor: &Floor) -> String {
        let (g, g1) = (
            self.gflops(self.ms_per_face),
            self.gflops(self.ms_per_face_1_thread),
        );
        format!(
            "{:<14} {:>8.2} ms/face {:>7.1} GFLOP/s {:>5.0} % of floor | 1 thread {:>8.2} ms/face {:>7.1} GFLOP/s {:>5.0} %  ({} faces, {:.3} GFLOP/face)",
            self.name,
            self.ms_per_face,
            g,
            100.0 * g / floor.gflops_all_threads,
            self.ms_per_face_1_thread,
            g1,
            100.0 * g1 / floor.gflops_1_thread,
            self.faces,
            self.gflop_per_face,
        )
    }
}

impl BenchResult {
    pub fn table(&self) -> String {
        format!(
            "stage      frames/s   ms/frame   ({} frames, {} faces, {} threads)\n\
             decode   {:>10.1} {:>10.2}\n\
             detect   {:>10.1} {:>10.2}   (whole frames)\n\
             detect   {:>10.1} {:>10.2}   (region around the subject every frame, whole frame every 0.5 s)\n\
             detect   {:>10.1} {:>10.2}   (landmark tracking, region search every {}rd frame: the pipeline's)\n\
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
            self.detect_tracked_fps,
            1000.0 / self.detect_tracked_fps,
            crate::faces::HOG_EVERY,
            self.align_fps,
            1000.0 / self.align_fps,
            self.embed_fps,
            1000.0 / self.embed_fps,
            self.pipeline_fps,
            1000.0 / self.pipeline_fps,
        ) + &format!(
            "\nsgemm floor (best of {} shapes: {} x {} x {}, one sgemm per thread): {:.1} GFLOP/s on 1 thread, {:.1} on {}\n\
             embedding (crop + mirror):\n{}{}",
            FLOOR_SHAPES.len(),
            self.floor.shape.0,
            self.floor.shape.1,
            self.floor.shape.2,
            self.floor.gflops_1_thread,
            self.floor.gflops_all_threads,
            self.threads,
            self.encoder.line(&self.floor),
            self.r18
                .as_ref()
                .map(|r| format!("\n{}", r.line(&self.floor)))
                .unwrap_or_default(),
        )
    }
}

/// Shapes (m, n, k) tried for the floor: a square one and two of the encoders'
/// (MobileFaceNet's 14 x 14 expansion, a resnet_face18 3x3 convolution).
const FLOOR_SHAPES: [(usize, usize, usize); 3] =
    [(512, 512, 512), (784, 256, 128), (1024, 128, 576)];

/// Measures the sgemm floor on 1 and on all threads: the fastest of [`FLOOR_SHAPES`].
pub fn floor() -> Floor {
    let threads = rayon::current_num_threads();
    let mut best = (0.0, FLOOR_SHAPES[0]);
    for shape in FLOOR_SHAPES {
        let g = cpu::sgemm_floor(shape.0, shape.1, shape.2, 1, 0.3);
        if g > best.0 {
            best = (g, shape);
        }
    }
    let (m, n, k) = best.1;
    Floor {
        shape: best.1,
        gflops_1_thread: best.0,
        gflops_all_threads: cpu::sgemm_floor(m, n, k, threads, 0.5),
    }
}

/// Milliseconds per face of `encoder` on `crops` (batches of 16), best of `reps`.
fn embed_ms(encoder: &Encoder, crops: &[FaceCrops], reps: usize) -> Result<f64> {
    let mut best = f64::INFINITY;
    for _ in 0..reps.max(1) {
        let t = Instant::now();
        for chunk in crops.chunks(16) {
            let refs: Vec<&FaceCrops> = chunk.iter().collect();
            encoder.embed(&refs)?;
        }
        best = best.min(t.elapsed().as_secs_f64());
    }
    Ok(1000.0 * best / crops.len().max(1) as f64)
}

/// Embedding speed of `encoder` on all threads and on one.
pub fn time_encoder(encoder: &Encoder, crops: &[FaceCrops], reps: usize) -> Result<EncoderTiming> {
    let ms = embed_ms(encoder, crops, reps)?;
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .map_err(|e| crate::error::Error::Other(format!("thread pool: {e}")))?;
    let ms1 = one.install(|| embed_ms(encoder, crops, reps))?;
    Ok(EncoderTiming {
        name: encoder.kind().name().to_string(),
        faces: crops.len(),
        gflop_per_face: 2.0 * encoder.flops_per_input() / 1e9,
        ms_per_face: ms,
        ms_per_face_1_thread: ms1,
    })
}

/// The r18 fixture of the tests (run from the clone), for timing resnet_face18
/// without a checkpoint; nothing depends on where the binary was built.
fn r18_fixture() -> Option<Encoder> {
    let p = Path::new("tests/fixtures/r18_module.pth");
    if !p.exists() {
        return None;
    }
    Encoder::load(EncoderKind::ArcfaceR18, p, &candle_core::Device::Cpu).ok()
}

fn fps(n: usize, secs: f64) -> f64 {
    if secs > 0.0 {
        n as f64 / secs
    } else {
        f64::INFINITY
    }
}

/// Runs the whole pipeline on the first `frames` frames of `video`: the frames
/// analysed and the seconds it took.
pub fn time_pipeline(
    video: &Path,
    encoder: &Encoder,
    faces: &FaceAnalyzer,
    frames: usize,
) -> Result<(usize, f64)> {
    let fps = VideoReader::open(video, FrameSelection::default())?
        .info()
        .fps;
    let opts = AnalyzeOptions {
        selection: FrameSelection {
            every: std::num::NonZeroU32::MIN,
            start_s: None,
            end_s: Some((frames as f64 - 0.5) / fps),
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
    Ok((a.report.frames.len(), t.elapsed().as_secs_f64()))
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
    let search_time = |hog_every: u32| {
        let t = Instant::now();
        let mut tracker = SubjectTracker::new((0.5 * fps_video).ceil() as u32);
        let mut search = FaceSearch::new(true, (pipeline::FULL_SEARCH_S * fps_video).ceil() as u32);
        search.hog_every = hog_every;
        for im in &images {
            let cut = tracker.scene_cut(im);
            let found = search.find(faces, im, &tracker, cut);
            let (chosen, _) = tracker.update(&found.dets, cut);
            search.chosen(&found, chosen);
        }
        t.elapsed().as_secs_f64()
    };
    let detect_region = search_time(1);
    let detect_tracked = search_time(crate::faces::HOG_EVERY);

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

    let floor = floor();
    let enc_timing = time_encoder(encoder, &crops, 2)?;
    let r18 = match encoder.kind() {
        EncoderKind::Mobilefacenet => match r18_fixture() {
            // resnet_face18 is ten times slower: 32 faces are enough.
            Some(r) => Some(time_encoder(&r, &crops[..crops.len().min(32)], 1)?),
            None => None,
        },
        EncoderKind::ArcfaceR18 => None,
    };

    // The same frames through the whole pipeline.
    let (analysed, whole) = time_pipeline(video, encoder, faces, n)?;
    Ok(BenchResult {
        frames: n,
        faces: crops.len(),
        decode_fps: fps(n, decode),
        detect_fps: fps(n, detect),
        detect_region_fps: fps(n, detect_region),
        detect_tracked_fps: fps(n, detect_tracked),
        align_fps: fps(crops.len(), align),
        embed_fps: fps(crops.len(), embed),
        pipeline_fps: fps(analysed, whole),
        threads: rayon::current_num_threads(),
        floor,
        encoder: enc_timing,
        r18,
    })
}
