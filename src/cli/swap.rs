//! The face-swap commands: `swap` and `demo build`.

use super::bar;
use anyhow::{bail, Result};
use clap::Args;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use ti2net::encoder::{self, EncoderKind};

#[derive(Args)]
pub struct SwapArgs {
    /// The face to put in: a video (time-aligned with the target; a shorter one plays
    /// back and forth) or a still image.
    #[arg(long)]
    source: PathBuf,
    /// The video whose subject gets the source's face.
    #[arg(long)]
    target: PathBuf,
    /// The swap (H.264; the container follows the extension, e.g. .mp4). Its provenance
    /// goes to OUT.swap.json.
    #[arg(long)]
    out: PathBuf,
    /// Part of the target to swap (seconds).
    #[arg(long, value_parser = super::parse::non_negative)]
    start: Option<f64>,
    #[arg(long, value_parser = super::parse::non_negative)]
    end: Option<f64>,
    /// Burn "SYNTHETIC" into a corner (for classrooms).
    #[arg(long)]
    label: bool,
    /// Detect faces without upsampling (faster; misses faces under ~80 px).
    #[arg(long)]
    no_upsample: bool,
    /// Landmarks averaged over this many frames on each side.
    #[arg(long, default_value_t = 2)]
    smooth: usize,
    /// Width of the mask's soft edge, as a fraction of the face width.
    #[arg(long, default_value_t = ti2net::swap::BlendParams::default().feather, value_parser = super::parse::unit)]
    feather: f32,
    /// How far above the brows the swapped region reaches (a fraction of the brows'
    /// distance from the nose tip).
    #[arg(long, default_value_t = ti2net::swap::warp::FOREHEAD, value_parser = super::parse::unit)]
    forehead: f32,
    /// x264 constant rate factor (quality; lower is better).
    #[arg(long, default_value_t = 18, value_parser = clap::value_parser!(u32).range(0..=51))]
    crf: u32,
    /// dlib 68-landmark model (default: Debian's libdlib-data file).
    #[arg(long)]
    landmarks: Option<PathBuf>,
    /// Replace OUT and its sidecar if they exist.
    #[arg(long)]
    force: bool,
}

pub fn swap(a: SwapArgs) -> Result<i32> {
    use ti2net::swap::{self, SwapOptions};
    for (name, v) in [("--start", a.start), ("--end", a.end)] {
        if v.is_some_and(|v| !(v >= 0.0 && v.is_finite())) {
            bail!("{name} must be a number of seconds, 0 or more");
        }
    }
    if let (Some(s), Some(e)) = (a.start, a.end) {
        if e <= s {
            bail!("--end ({e} s) must come after --start ({s} s)");
        }
    }
    let lm = a
        .landmarks
        .clone()
        .unwrap_or_else(ti2net::models::landmarks_model);
    let faces = ti2net::faces::FaceAnalyzer::new(&lm, !a.no_upsample)?;
    // The encoder only serves the same-person warning: a swap works without it.
    let enc = ti2net::encoder::Encoder::load(
        EncoderKind::Mobilefacenet,
        &ti2net::models::mobilefacenet_weights(),
        &encoder::device(false)?,
    )
    .ok();
    let opts = SwapOptions {
        start_s: a.start,
        end_s: a.end,
        label: a.label,
        upsample: !a.no_upsample,
        smooth_radius: a.smooth,
        crf: a.crf,
        blend: ti2net::swap::BlendParams {
            feather: a.feather,
            forehead: a.forehead,
            ..Default::default()
        },
        ..Default::default()
    };
    let b = bar(
        0,
        "{spinner} swap [{bar:40}] {pos}/{len} frames ({per_sec}, {eta})",
    );
    let t = std::time::Instant::now();
    let s = swap::swap(
        &a.source,
        &a.target,
        &a.out,
        &faces,
        enc.as_ref(),
        &opts,
        a.force,
        &mut |done, total| {
            b.set_length(total);
            b.set_position(done);
        },
        &AtomicBool::new(false),
    )?;
    b.finish_and_clear();
    let secs = t.elapsed().as_secs_f64();
    for w in &s.warnings {
        eprintln!("warning: {w}");
    }
    eprintln!(
        "{}: {} frames ({} swapped, {} without a face, copied), {:.1} frames/s; provenance in {}",
        a.out.display(),
        s.frames,
        s.frames_swapped,
        s.frames_without_face,
        s.frames as f64 / secs.max(1e-9),
        swap::sidecar_path(&a.out).display()
    );
    Ok(0)
}

#[derive(clap::Subcommand)]
pub enum DemoCommand {
    /// Build (or confirm up to date) the demo detector and its model card.
    Build(DemoBuildArgs),
}

#[derive(Args)]
pub struct DemoBuildArgs {
    /// The corpus manifest.
    #[arg(long, default_value = "assets/corpus.tsv")]
    corpus: PathBuf,
    /// Folder holding the corpus's videos.
    #[arg(long, default_value = "assets/media")]
    media: PathBuf,
    /// Work folder for the clips, swaps and identity vectors (kept between runs).
    #[arg(long)]
    work: Option<PathBuf>,
    /// The checkpoint (default: weights/ti2net-demo.safetensors, the shipped copy that
    /// the next build of the program compiles in; run it from the clone).
    #[arg(long, default_value = ti2net::models::SHIPPED_DETECTOR_FILE)]
    out: PathBuf,
    /// The model card (default: weights/ti2net-demo.md).
    #[arg(long, default_value = ti2net::models::SHIPPED_CARD_FILE)]
    card: PathBuf,
    /// People kept out of training (comma-separated ids of the corpus).
    #[arg(long, value_delimiter = ',')]
    test_people: Option<Vec<String>>,
    #[arg(long, value_parser = super::parse::count)]
    epochs: Option<usize>,
    /// At most this many clips cut from each person's video (default 6).
    #[arg(long, value_parser = super::parse::count)]
    max_segments: Option<usize>,
    #[arg(long)]
    seed: Option<u64>,
    /// Build again even when the checkpoint records the same inputs.
    #[arg(long)]
    force: bool,
    /// dlib 68-landmark model (default: Debian's libdlib-data file).
    #[arg(long)]
    landmarks: Option<PathBuf>,
}

fn cache_dir() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("ti2net")
}

pub fn demo(cmd: DemoCommand) -> Result<i32> {
    use ti2net::demo;
    let DemoCommand::Build(a) = cmd;
    let people = demo::read_corpus(&a.corpus)?;
    let mut cfg = demo::DemoConfig::default();
    if let Some(t) = a.test_people {
        cfg.test_people = t;
    }
    if let Some(e) = a.epochs {
        cfg.train.epochs = e;
    }
    if let Some(s) = a.seed {
        cfg.train.seed = s;
    }
    if let Some(m) = a.max_segments {
        cfg.max_segments = m;
    }
    cfg.threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let (out, card) = (a.out, a.card);
    let enc = ti2net::encoder::Encoder::load(
        EncoderKind::Mobilefacenet,
        &ti2net::models::mobilefacenet_weights(),
        &encoder::device(false)?,
    )?;
    let inputs = demo::inputs_hash(&people, &cfg, &enc);
    if !a.force && out.exists() && demo::recorded_inputs(&out).as_deref() == Some(inputs.as_str()) {
        let wrote = demo::write_card(&people, &cfg, &out, &card)?;
        eprintln!(
            "{}: up to date (built from the same corpus, settings and weights){}",
            out.display(),
            if wrote {
                format!("; model card {} written from its metadata", card.display())
            } else {
                String::new()
            }
        );
        return Ok(0);
    }
    let work = a.work.unwrap_or_else(|| cache_dir().join("demo"));
    let lm = a
        .landmarks
        .clone()
        .unwrap_or_else(ti2net::models::landmarks_model);
    let t = std::time::Instant::now();
    let c = demo::build(
        &people,
        &a.media,
        &work,
        &out,
        &card,
        &lm,
        &enc,
        &cfg,
        &|m| eprintln!("demo: {m}"),
    )?;
    let f = |x: Option<f64>| x.map(|v| format!("{v:.3}")).unwrap_or_else(|| "n/a".into());
    eprintln!(
        "{}: on {} unseen people ({} real, {} fake clips): video AUC {}, clip AUC {}, video accuracy {}; {:.0} s; model card {}",
        out.display(),
        c.test_people.len(),
        c.test_real,
        c.test_fake,
        f(c.test_video_auc),
        f(c.test_clip_auc),
        f(c.test_video_accuracy),
        t.elapsed().as_secs_f64(),
        card.display()
    );
    Ok(0)
}
