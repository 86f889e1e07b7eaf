//! The GPU check (`ti2net bench --cuda --batches ...`, run by scripts/gpu-bench.sh):
//! CPU/GPU parity of both encoders on real face crops and of TI2Net on real identity
//! vectors, the encoders' crops/s on the GPU by batch size, and whole-pipeline
//! frames/s on each device.
//!
//! The CPU side is what a CPU user gets (the fast path of [`crate::encoder::cpu`]); the
//! GPU side is the candle graph on a CUDA device. A crop is one network input: an
//! identity vector takes two (the face and its mirror).

use crate::align::FaceCrops;
use crate::classifier::clips::{clip_input, CLIP_SPAN, CLIP_STEPS};
use crate::classifier::model::Ti2Net;
use crate::encoder::{mobilefacenet, resnet_face, Encoder, EncoderKind, ID_DIM};
use crate::error::{Error, Result};
use crate::faces::FaceAnalyzer;

use crate::video::{FrameSelection, VideoReader};
use candle_core::{Device, Tensor};
use rand::SeedableRng;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Smallest cosine between a CPU and a GPU vector that passes.
pub const MIN_COSINE: f64 = 0.999;
/// Largest difference of a fake probability between CPU and GPU that passes.
pub const MAX_P_DIFF: f64 = 1e-3;

/// What to run.
#[derive(Debug, Clone)]
pub struct GpuBenchOptions {
    /// Frames of the video to detect faces in (their crops are the inputs).
    pub frames: usize,
    /// Batch sizes (crops) to time on the GPU.
    pub batches: Vec<usize>,
    /// Seconds each batch size is timed for (at least one batch after a warm-up).
    pub seconds: f64,
    /// The encoders: (kind, weights, note).
    pub encoders: Vec<(EncoderKind, PathBuf, String)>,
    /// TI2Net weights (a checkpoint), or None for the original's random initialisation.
    pub checkpoint: Option<PathBuf>,
}

/// CPU against GPU on the same inputs.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Parity {
    pub what: String,
    /// Vectors (or clips) compared.
    pub n: usize,
    /// Smallest cosine between a CPU vector and its GPU twin.
    pub min_cosine: f64,
    /// Largest absolute difference of one value, and the largest CPU value.
    pub max_abs_diff: f64,
    pub max_abs: f64,
    /// For TI2Net: the largest difference of a fake probability.
    pub max_p_diff: Option<f64>,
    pub pass: bool,
}

/// One encoder's speed at one batch size.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Throughput {
    pub encoder: String,
    pub device: String,
    pub batch: usize,
    pub crops_per_s: f64,
}

/// Whole-pipeline speed of one encoder on one device.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PipelineSpeed {
    pub encoder: String,
    pub device: String,
    pub frames: usize,
    pub frames_per_s: f64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct GpuBenchResult {
    pub frames: usize,
    pub faces: usize,
    pub parity: Vec<Parity>,
    pub throughput: Vec<Throughput>,
    pub pipeline: Vec<PipelineSpeed>,
}

impl GpuBenchResult {
    pub fn passed(&self) -> bool {
        self.parity.iter().all(|p| p.pass)
    }

    pub fn table(&self) -> String {
        let mut s = format!(
            "CPU/GPU parity ({} frames, {} faces; pass: cosine >= {MIN_COSINE}, p_fake within {MAX_P_DIFF})\n",
            self.frames, self.faces
        );
        for p in &self.parity {
            s += &format!(
                "  {:<28} {:>5} vectors  min cosine {:.6}  max |diff| {:.2e} (max |value| {:.2e}){}  {}\n",
                p.what,
                p.n,
                p.min_cosine,
                p.max_abs_diff,
                p.max_abs,
                p.max_p_diff
                    .map(|d| format!("  max p_fake diff {d:.2e}"))
                    .unwrap_or_default(),
                if p.pass { "ok" } else { "FAILED" },
            );
        }
        s += "encoder throughput (crops/s; a face is 2 crops: it and its mirror; host to device and back included)\n";
        let mut names: Vec<(&str, &str)> = Vec::new();
        for t in &self.throughput {
            if !names.contains(&(t.encoder.as_str(), t.device.as_str())) {
                names.push((&t.encoder, &t.device));
            }
        }
        for (enc, dev) in names {
            let row: Vec<String> = self
                .throughput
                .iter()
                .filter(|t| t.encoder == enc && t.device == dev)
                .map(|t| format!("{}: {:.0}", t.batch, t.crops_per_s))
                .collect();
            s += &format!("  {enc:<14} {dev:<5} batch {}\n", row.join("  "));
        }
        s += "whole pipeline (decode, detect, align, embed, similarity)\n";
        for p in &self.pipeline {
            s += &format!(
                "  {:<14} {:<5} {:>8.1} frames/s  ({} frames)\n",
                p.encoder, p.device, p.frames_per_s, p.frames
            );
        }
        s.trim_end().to_string()
    }
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
    for (&x, &y) in a.iter().zip(b) {
        ab += x as f64 * y as f64;
        aa += x as f64 * x as f64;
        bb += y as f64 * y as f64;
    }
    if aa == 0.0 && bb == 0.0 {
        1.0
    } else {
        ab / (aa.sqrt() * bb.sqrt()).max(f64::MIN_POSITIVE)
    }
}

/// Compares row vectors computed on the CPU (`cpu`) and on the GPU (`gpu`).
pub fn compare(what: &str, cpu: &[Vec<f32>], gpu: &[Vec<f32>]) -> Parity {
    let mut same_shape = cpu.len() == gpu.len();
    let mut finite = true;
    let mut min_cosine = 1.0f64;
    let (mut max_abs_diff, mut max_abs) = (0.0f64, 0.0f64);
    for (a, b) in cpu.iter().zip(gpu) {
        same_shape &= a.len() == b.len();
        min_cosine = min_cosine.min(cosine(a, b));
        for (&x, &y) in a.iter().zip(b) {
            finite &= x.is_finite() && y.is_finite();
            max_abs_diff = max_abs_diff.max((x - y).abs() as f64);
            max_abs = max_abs.max(x.abs() as f64);
        }
    }
    Parity {
        what: what.to_string(),
        n: cpu.len(),
        min_cosine,
        max_abs_diff,
        max_abs,
        max_p_diff: None,
        pass: same_shape && finite && min_cosine >= MIN_COSINE,
    }
}

/// Network inputs (crop and mirror of each face), flattened, and their count.
fn inputs(kind: EncoderKind, crops: &[FaceCrops]) -> (Vec<f32>, usize) {
    let mut v = Vec::new();
    for c in crops {
        for mirror in [false, true] {
            v.extend(match kind {
                EncoderKind::Mobilefacenet => mobilefacenet::input_values(&c.aligned, mirror),
                EncoderKind::ArcfaceR18 => resnet_face::input_values(&c.square, mirror),
            });
        }
    }
    (v, 2 * crops.len())
}

/// Crops/s of `enc` at `batch` crops: inputs uploaded, run, outputs read back, for
/// `seconds` (at least one batch) after one warm-up batch.
pub fn crops_per_s(
    enc: &Encoder,
    values: &[f32],
    n: usize,
    batch: usize,
    seconds: f64,
) -> Result<f64> {
    let per = values.len() / n.max(1);
    // `batch` inputs, cycling through the crops.
    let x: Vec<f32> = (0..batch)
        .flat_map(|i| values[(i % n) * per..(i % n + 1) * per].iter().copied())
        .collect();
    let run = || -> Result<()> {
        let out = enc.forward_slice(&x, batch)?;
        debug_assert_eq!(out.len(), batch);
        Ok(())
    };
    run()?;
    let t = Instant::now();
    let mut done = 0usize;
    while done == 0 || t.elapsed().as_secs_f64() < seconds {
        run()?;
        done += batch;
    }
    Ok(done as f64 / t.elapsed().as_secs_f64())
}

/// TI2Net on the CPU: the checkpoint's, or the original's initialisation (seeded).
fn ti2net_on_cpu(checkpoint: Option<&Path>) -> Result<Ti2Net> {
    match checkpoint {
        Some(p) => Ok(crate::classifier::checkpoint::load(p, &Device::Cpu)?.model),
        None => {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(10);
            Ti2Net::from_vars(&Ti2Net::init_vars(512, &mut rng, &Device::Cpu)?)
        }
    }
}

/// TI2Net on the CPU and on `gpu`: fake probabilities and latents of clips of
/// `vectors` (row-major n x 1024; cycled when shorter than a few clips).
pub fn ti2net_parity(
    checkpoint: Option<&Path>,
    vectors: &[Vec<f32>],
    gpu: &Device,
) -> Result<Parity> {
    if vectors.is_empty() {
        return Err(Error::Other(
            "no identity vectors for the TI2Net check".into(),
        ));
    }
    let n = (CLIP_SPAN + 31).max(vectors.len());
    let flat: Vec<f32> = (0..n)
        .flat_map(|i| vectors[i % vectors.len()].clone())
        .collect();
    let starts: Vec<usize> = (0..=n - CLIP_SPAN)
        .step_by(((n - CLIP_SPAN) / 31).max(1))
        .take(32)
        .collect();
    let mut x = Vec::with_capacity(starts.len() * CLIP_STEPS * ID_DIM);
    for &s in &starts {
        x.extend(clip_input(&flat, ID_DIM, s));
    }
    let on_cpu = ti2net_on_cpu(checkpoint)?;
    let run = |dev: &Device| -> Result<(Vec<Vec<f32>>, Vec<f32>)> {
        let net = on_cpu.to_device(dev)?;
        let input = Tensor::from_slice(&x, (starts.len(), CLIP_STEPS, ID_DIM), dev)?;
        let (latent, _) = net.forward(&input, None)?;
        let latent = latent.to_device(&Device::Cpu)?.to_vec2::<f32>()?;
        Ok((latent, net.p_fake(&input)?))
    };
    let (lc, pc) = run(&Device::Cpu)?;
    let (lg, pg) = run(gpu)?;
    let mut p = compare(
        match checkpoint {
            Some(_) => "ti2net (checkpoint) latent",
            None => "ti2net (random init) latent",
        },
        &lc,
        &lg,
    );
    let d = pc
        .iter()
        .zip(&pg)
        .map(|(a, b)| (a - b).abs() as f64)
        .fold(0.0, f64::max);
    p.max_p_diff = Some(d);
    p.pass = p.pass
        && d <= MAX_P_DIFF
        && pc.len() == pg.len()
        && pc.iter().chain(&pg).all(|v| v.is_finite());
    Ok(p)
}

/// Largest face of each of the first `frames` frames of `video`, aligned.
fn crops_of(video: &Path, faces: &FaceAnalyzer, frames: usize) -> Result<(usize, Vec<FaceCrops>)> {
    let mut reader = VideoReader::open(video, FrameSelection::default())?;
    let mut n = 0;
    let mut crops = Vec::new();
    while n < frames {
        let Some(f) = reader.next_frame()? else { break };
        n += 1;
        if let Some(d) = faces
            .detect(&f.image)
            .iter()
            .max_by(|a, b| a.area().total_cmp(&b.area()))
        {
            crops.push(FaceCrops::from_detection(&f.image, d));
        }
    }
    Ok((n, crops))
}

fn pipeline_speed(
    video: &Path,
    enc: &Encoder,
    faces: &FaceAnalyzer,
    frames: usize,
    device: &str,
) -> Result<PipelineSpeed> {
    let (frames, secs) = crate::bench::time_pipeline(video, enc, faces, frames)?;
    Ok(PipelineSpeed {
        encoder: enc.kind().name().to_string(),
        device: device.to_string(),
        frames,
        frames_per_s: frames as f64 / secs.max(1e-9),
    })
}

/// The whole check on `video` with `gpu` (a CUDA device). `log` gets progress lines.
pub fn run(
    video: &Path,
    faces: &FaceAnalyzer,
    gpu: &Device,
    opts: &GpuBenchOptions,
    log: &mut dyn FnMut(&str),
) -> Result<GpuBenchResult> {
    // (Any device will do: on the CPU the check runs against itself, as the tests do.)
    let gpu_name = if gpu.is_cuda() { "cuda" } else { "cpu" };
    log(&format!(
        "detecting faces in the first {} frames of {}",
        opts.frames,
        video.display()
    ));
    let (frames, crops) = crops_of(video, faces, opts.frames)?;
    if crops.is_empty() {
        return Err(Error::Other(format!(
            "{}: no face in the first {frames} frames",
            video.display()
        )));
    }
    let mut parity = Vec::new();
    let mut throughput = Vec::new();
    let mut pipeline = Vec::new();
    let mut ids: Option<Vec<Vec<f32>>> = None;
    for (kind, weights, note) in &opts.encoders {
        let label = format!("{kind} ({note})");
        log(&format!("{label}: CPU/GPU parity on {} faces", crops.len()));
        let on_cpu = Encoder::load(*kind, weights, &Device::Cpu)?;
        let on_gpu = Encoder::load(*kind, weights, gpu)?;
        let mut vc = Vec::new();
        let mut vg = Vec::new();
        for chunk in crops.chunks(64) {
            let refs: Vec<&FaceCrops> = chunk.iter().collect();
            vc.extend(on_cpu.embed(&refs)?);
            vg.extend(on_gpu.embed(&refs)?);
        }
        parity.push(compare(&label, &vc, &vg));
        if ids.is_none() && *kind == EncoderKind::Mobilefacenet {
            ids = Some(vc);
        }
        let (values, n) = inputs(*kind, &crops);
        for &b in &opts.batches {
            log(&format!("{label}: GPU batch {b}"));
            throughput.push(Throughput {
                encoder: kind.name().into(),
                device: gpu_name.into(),
                batch: b,
                crops_per_s: crops_per_s(&on_gpu, &values, n, b, opts.seconds)?,
            });
        }
        let cpu_batch = opts.batches.iter().copied().max().unwrap_or(64).min(64);
        log(&format!("{label}: CPU batch {cpu_batch} (for comparison)"));
        throughput.push(Throughput {
            encoder: kind.name().into(),
            device: "cpu".into(),
            batch: cpu_batch,
            crops_per_s: crops_per_s(&on_cpu, &values, n, cpu_batch, opts.seconds)?,
        });
        for (dev, enc) in [("cpu", &on_cpu), (gpu_name, &on_gpu)] {
            log(&format!("{label}: whole pipeline on {dev}"));
            pipeline.push(pipeline_speed(video, enc, faces, frames, dev)?);
        }
    }
    let ids = match ids {
        Some(v) => v,
        None => {
            // No MobileFaceNet in the list: the first encoder's vectors.
            let (kind, weights, _) = opts
                .encoders
                .first()
                .ok_or_else(|| Error::Other("no encoder to check".into()))?;
            let e = Encoder::load(*kind, weights, &Device::Cpu)?;
            let refs: Vec<&FaceCrops> = crops.iter().collect();
            e.embed(&refs)?
        }
    };
    log("ti2net: CPU/GPU parity");
    parity.push(ti2net_parity(opts.checkpoint.as_deref(), &ids, gpu)?);
    Ok(GpuBenchResult {
        frames,
        faces: crops.len(),
        parity,
        throughput,
        pipeline,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compare_flags_differences() {
        let a = vec![vec![1.0, 2.0, 3.0], vec![0.5, -1.0, 2.0]];
        let same = compare("same", &a, &a);
        assert!(same.pass && (same.min_cosine - 1.0).abs() < 1e-12 && same.max_abs_diff == 0.0);
        let b = vec![vec![1.0, 2.0, 3.0], vec![-0.5, 1.0, 2.0]];
        let off = compare("off", &a, &b);
        assert!(!off.pass, "{off:?}");
        let nan = vec![vec![1.0, 2.0, 3.0], vec![0.5, f32::NAN, 2.0]];
        assert!(!compare("nan", &a, &nan).pass);
        assert!(!compare("short", &a, &a[..1]).pass);
    }

    /// The whole check with the CPU standing in for the GPU, on a few frames of the
    /// sample clip: every step runs and parity holds.
    #[test]
    fn whole_check_on_cpu() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let video = root.join("assets/media/cut.mp4");
        let mfn = crate::models::mobilefacenet_weights();
        let r18 = root.join("tests/fixtures/r18_module.pth");
        let lm = crate::models::landmarks_model();
        if !(video.exists() && mfn.exists() && lm.exists()) {
            eprintln!("skipped: sample media or models not installed");
            return;
        }
        let faces = FaceAnalyzer::new(&lm, false).unwrap();
        let opts = GpuBenchOptions {
            frames: 6,
            batches: vec![1, 3],
            seconds: 0.0,
            encoders: vec![
                (EncoderKind::Mobilefacenet, mfn, "installed".into()),
                (EncoderKind::ArcfaceR18, r18, "fixture".into()),
            ],
            checkpoint: None,
        };
        let r = run(&video, &faces, &Device::Cpu, &opts, &mut |_| {}).unwrap();
        eprintln!("{}", r.table());
        assert!(r.passed(), "{}", r.table());
        assert_eq!(r.parity.len(), 3);
        assert_eq!(r.throughput.len(), 2 * 3);
        assert!(r.throughput.iter().all(|t| t.crops_per_s > 0.0));
        assert_eq!(r.pipeline.len(), 4);
        assert!(r.table().contains("batch 1: "));
    }

    /// On the CPU against itself the TI2Net check runs and passes (the GPU run
    /// is the same code on a CUDA device).
    #[test]
    fn ti2net_parity_on_cpu_is_exact() {
        let v: Vec<Vec<f32>> = (0..40)
            .map(|i| {
                (0..ID_DIM)
                    .map(|d| ((i * 7 + d) as f32 * 0.01).sin())
                    .collect()
            })
            .collect();
        let p = ti2net_parity(None, &v, &Device::Cpu).unwrap();
        assert!(p.pass, "{p:?}");
        assert_eq!(p.n, 32);
        assert_eq!(p.max_p_diff, Some(0.0));
    }
}
