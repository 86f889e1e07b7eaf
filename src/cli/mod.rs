//! The command line's subcommands: analyze, report and batches, classify, extract,
//! train, eval, swap, demo.

pub mod analyze;
pub mod batch_cli;

use anyhow::{bail, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use ti2net::classifier::train::{TrainConfig, TrainControl, TrainData, TrainEvent};
use ti2net::classifier::{clips, dataset, train as tr, DEFAULT_THRESHOLD};
use ti2net::encoder::{self, EncoderKind};
use ti2net::fsutil::write_output;
use ti2net::pipeline::AnalyzeOptions;
use ti2net::video::FrameSelection;

pub mod parse;

fn bar(len: u64, template: &str) -> ProgressBar {
    let b = ProgressBar::new(len);
    b.set_style(
        ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    b
}

#[derive(Args)]
pub struct ClassifyArgs {
    /// Identity file (float32 N x 1024 .npy, every face frame of every video stacked).
    ids: PathBuf,
    /// Per-video lengths (int64 or int32 .npy); without it the file is one video.
    #[arg(long)]
    lens: Option<PathBuf>,
    #[arg(long)]
    checkpoint: PathBuf,
    /// Output (JSON); `-` for standard output.
    #[arg(long)]
    json: PathBuf,
    #[arg(long, default_value_t = clips::DEFAULT_STRIDE, value_parser = parse::count)]
    stride: usize,
    /// Decision threshold (default: the checkpoint's calibrated one, else 0.5).
    #[arg(long, value_parser = parse::unit)]
    threshold: Option<f32>,
    /// Encoder the vectors came from (checked against the checkpoint's).
    #[arg(long, value_enum)]
    encoder: Option<EncoderKind>,
    #[arg(long)]
    cuda: bool,
    #[arg(long)]
    force: bool,
}

pub fn classify(a: ClassifyArgs) -> Result<i32> {
    let det = ti2net::session::load_detector(
        &a.checkpoint,
        &encoder::device(a.cuda)?,
        a.encoder.map(|e| e.name()),
    )?;
    let threshold = a.threshold.unwrap_or_else(|| det.threshold());
    let set = dataset::load(&a.ids, a.lens.as_deref())?;
    let mut clip_rows = Vec::new();
    let mut videos = Vec::new();
    for v in &set.videos {
        let scores = det.score_video(&v.vectors, a.stride.max(1))?;
        for &(s, p) in &scores {
            clip_rows.push(serde_json::json!({"video": v.index, "start_frame": s, "p_fake": p}));
        }
        let mean = if scores.is_empty() {
            None
        } else {
            Some(scores.iter().map(|s| s.1).sum::<f32>() / scores.len() as f32)
        };
        videos.push(serde_json::json!({
            "video": v.index,
            "frames": v.len,
            "clips": scores.len(),
            "p_fake_mean": mean,
            "label": match mean { Some(m) if m >= threshold => "fake", Some(_) => "real", None => "undetermined" },
        }));
    }
    let out = serde_json::json!({
        "ids": a.ids, "ids_sha256": set.ids_sha256, "lens_sha256": set.lens_sha256,
        "checkpoint": a.checkpoint, "checkpoint_sha256": det.checkpoint.sha256,
        "stride": a.stride, "threshold": threshold,
        "clips": clip_rows, "videos": videos,
    });
    write_output(&a.json, &serde_json::to_vec_pretty(&out)?, a.force)?;
    eprintln!(
        "{} clips of {} videos scored",
        clip_rows.len(),
        set.videos.len()
    );
    Ok(0)
}

#[derive(Args)]
pub struct ExtractArgs {
    /// Videos or folders of videos (searched recursively; e.g. an FF++ or Celeb-DF folder).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Output prefix: writes PREFIX_ids.npy, PREFIX_lens.npy, PREFIX_videos.csv and
    /// keeps per-video parts in PREFIX.parts/ (a rerun resumes from them).
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    enc: crate::EncoderArgs,
    #[arg(long, default_value = "1", value_parser = parse::step)]
    every: std::num::NonZeroU32,
    #[arg(long)]
    no_upsample: bool,
    /// Parallel workers (default: the number of cores).
    #[arg(long, value_parser = parse::count)]
    threads: Option<usize>,
    /// A review table: skip the videos it flags, trim the frame ranges it flags.
    #[arg(long, value_name = "TABLE")]
    exclude: Option<PathBuf>,
    #[arg(long)]
    force: bool,
}

pub fn extract(a: ExtractArgs) -> Result<i32> {
    let videos = ti2net::extract::find_videos(&a.inputs)?;
    let (videos, trim) = match &a.exclude {
        Some(t) => exclude::for_extract(t, videos)?,
        None => (videos, Default::default()),
    };
    if videos.is_empty() {
        bail!(
            "no video files found under {}",
            a.inputs
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let prefix = a.out.to_string_lossy().to_string();
    let ids = PathBuf::from(format!("{prefix}_ids.npy"));
    let lens = PathBuf::from(format!("{prefix}_lens.npy"));
    let table = PathBuf::from(format!("{prefix}_videos.csv"));
    let parts = PathBuf::from(format!("{prefix}.parts"));
    for p in [&ids, &lens, &table] {
        if p.exists() && !a.force {
            return Err(ti2net::Error::Exists(p.clone()).into());
        }
    }
    let enc = a.enc.load()?;
    let landmarks = a
        .enc
        .landmarks
        .clone()
        .unwrap_or_else(ti2net::models::landmarks_model);
    let opts = AnalyzeOptions {
        selection: FrameSelection {
            every: a.every,
            ..Default::default()
        },
        upsample: !a.no_upsample,
        ..Default::default()
    };
    let threads = a.threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let pb = bar(
        videos.len() as u64,
        "extract [{bar:40}] {pos}/{len} videos eta {eta} {msg}",
    );
    let cancel = AtomicBool::new(false);
    let redone = std::sync::atomic::AtomicUsize::new(0);
    let job = ti2net::extract::ExtractJob {
        videos: videos.clone(),
        parts: parts.clone(),
        landmarks,
        opts,
        threads,
        trim,
    };
    let rows = ti2net::extract::extract_parts(
        &job,
        &enc,
        &|p| {
            redone.fetch_max(p.redone, std::sync::atomic::Ordering::Relaxed);
            pb.set_position(p.videos_done as u64);
            if p.skipped > 0 {
                pb.set_message(format!("({} resumed)", p.skipped));
            }
        },
        &cancel,
    )?;
    pb.finish_and_clear();
    let redone = redone.load(std::sync::atomic::Ordering::Relaxed);
    if redone > 0 {
        eprintln!(
            "note: {redone} video(s) in {} had been extracted with other settings and were redone ({})",
            parts.display(),
            ti2net::extract::provenance(&enc, &job.opts).describe()
        );
    }
    let prov = ti2net::extract::provenance(&enc, &job.opts);
    ti2net::extract::assemble(&rows, &parts, &ids, &lens, &prov, a.force)?;
    ti2net::fsutil::write_atomic(
        &table,
        ti2net::extract::table_csv(&rows).as_bytes(),
        a.force,
    )?;
    eprintln!("{:<48} {:>7} {:>7}  problem", "video", "frames", "faces");
    for r in &rows {
        eprintln!(
            "{:<48} {:>7} {:>7}  {}",
            r.video.display(),
            r.frames,
            r.faces,
            r.problem.as_deref().unwrap_or("")
        );
    }
    let included = rows.iter().filter(|r| r.included).count();
    eprintln!(
        "{included} of {} videos in {} and {}",
        rows.len(),
        ids.display(),
        lens.display()
    );
    Ok(if included == rows.len() { 0 } else { 3 })
}

#[derive(Args)]
pub struct DataArgs {
    #[arg(long)]
    real_ids: PathBuf,
    #[arg(long)]
    real_lens: Option<PathBuf>,
    #[arg(long)]
    fake_ids: PathBuf,
    #[arg(long)]
    fake_lens: Option<PathBuf>,
}

impl DataArgs {
    fn load(&self) -> Result<(dataset::IdSet, dataset::IdSet)> {
        Ok((
            dataset::load(&self.real_ids, self.real_lens.as_deref())?,
            dataset::load(&self.fake_ids, self.fake_lens.as_deref())?,
        ))
    }
}

#[derive(Args)]
pub struct TrainArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Identity group of each real video (int .npy): no group on two sides of the split.
    #[arg(long, requires = "fake_groups")]
    real_groups: Option<PathBuf>,
    #[arg(long, requires = "real_groups")]
    fake_groups: Option<PathBuf>,
    /// Encoder the vectors came from (recorded in the checkpoint). Read from the
    /// identity files' provenance sidecars; needed only for files without one.
    #[arg(long, value_enum)]
    encoder: Option<EncoderKind>,
    #[arg(long, default_value_t = 100, value_parser = parse::count)]
    epochs: usize,
    #[arg(long, default_value_t = 1e-5, value_parser = parse::positive)]
    lr: f64,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Triplets per batch.
    #[arg(long, default_value_t = 8, value_parser = parse::count)]
    batch: usize,
    #[arg(long, default_value_t = 512, value_parser = parse::count)]
    hidden: usize,
    /// Triplet margin.
    #[arg(long, default_value_t = 0.0, value_parser = parse::non_negative_f32)]
    margin: f32,
    #[arg(long, default_value_t = 0.1, value_parser = parse::non_negative_f32)]
    triplet_weight: f32,
    #[arg(long, default_value_t = 0.15, value_parser = parse::fraction)]
    val_fraction: f64,
    #[arg(long, default_value_t = 0.15, value_parser = parse::fraction)]
    test_fraction: f64,
    #[arg(long, default_value_t = clips::DEFAULT_STRIDE, value_parser = parse::count)]
    stride: usize,
    /// The best checkpoint by validation AUC (safetensors).
    #[arg(long)]
    out: PathBuf,
    /// Per-epoch records (JSON).
    #[arg(long)]
    metrics: Option<PathBuf>,
    /// Continue from OUT's saved state (OUT.state.safetensors).
    #[arg(long)]
    resume: bool,
    /// A review table: leave out the videos it flags (matched through the
    /// PREFIX_videos.csv table beside each identity file).
    #[arg(long, value_name = "TABLE")]
    exclude: Option<PathBuf>,
    #[arg(long)]
    cuda: bool,
    #[arg(long)]
    force: bool,
}

fn f(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.4}")).unwrap_or_else(|| "-".into())
}

pub fn train(a: TrainArgs) -> Result<i32> {
    let (real, fake) = a.data.load()?;
    let groups = |p: &Option<PathBuf>, n: usize| -> Result<Option<Vec<i64>>> {
        match p {
            None => Ok(None),
            Some(p) => {
                let g = ti2net::npy::read_i64(p)?;
                if g.len() != n {
                    bail!("{}: holds {} groups for {n} videos", p.display(), g.len());
                }
                Ok(Some(g))
            }
        }
    };
    let encoder = dataset::encoder_of(&[&real, &fake], a.encoder.map(|e| e.name()))?;
    let (real_groups, fake_groups) = (
        groups(&a.real_groups, real.videos.len())?,
        groups(&a.fake_groups, fake.videos.len())?,
    );
    let (real, real_groups, fake, fake_groups) = match &a.exclude {
        Some(t) => {
            let table = ti2net::review::Table::read(t)?;
            let (r, rg) = exclude::for_train(&table, t, real, real_groups)?;
            let (f, fg) = exclude::for_train(&table, t, fake, fake_groups)?;
            (r, rg, f, fg)
        }
        None => (real, real_groups, fake, fake_groups),
    };
    let data = TrainData {
        real_groups,
        fake_groups,
        real,
        fake,
        encoder: Some(encoder),
    };
    let cfg = TrainConfig {
        epochs: a.epochs,
        lr: a.lr,
        seed: a.seed,
        batch: a.batch.max(1),
        hidden: a.hidden.max(1),
        margin: a.margin,
        triplet_weight: a.triplet_weight,
        val_fraction: a.val_fraction,
        test_fraction: a.test_fraction,
        stride: a.stride.max(1),
        threshold: DEFAULT_THRESHOLD,
    };
    let device = encoder::device(a.cuda)?;
    let pb = bar(
        0,
        "epoch {prefix} [{bar:30}] {pos}/{len} batches loss {msg} eta {eta}",
    );
    let mut on_event = |e: &TrainEvent| match e {
        TrainEvent::Started {
            epochs,
            steps_per_epoch,
            split,
            resumed_from,
        } => {
            eprintln!(
                "split: train {} real / {} fake, validation {} / {}, test {} / {} videos ({} real and {} fake too short); {} batches per epoch{}",
                split.train_real.len(), split.train_fake.len(), split.val_real.len(), split.val_fake.len(),
                split.test_real.len(), split.test_fake.len(), split.too_short_real.len(), split.too_short_fake.len(),
                steps_per_epoch,
                if *resumed_from > 0 { format!(", resuming after epoch {resumed_from} of {epochs}") } else { String::new() }
            );
            pb.set_length(*steps_per_epoch as u64);
        }
        TrainEvent::Batch {
            epoch, step, loss, ..
        } => {
            pb.set_prefix(epoch.to_string());
            pb.set_position(*step as u64);
            pb.set_message(format!("{loss:.4}"));
        }
        TrainEvent::Epoch(r) => {
            pb.suspend(|| {
                eprintln!(
                    "epoch {:>3}: loss {:.4}  val clip acc {} auc {}  video acc {} auc {}  {:.1} s{}",
                    r.epoch, r.train_loss, f(r.val_acc), f(r.val_auc), f(r.val_video_acc), f(r.val_video_auc), r.seconds,
                    if r.best { "  (best, saved)" } else { "" }
                )
            });
            pb.reset();
        }
        TrainEvent::Validation { .. } => {}
        TrainEvent::Finished(_) => pb.finish_and_clear(),
    };
    let control = TrainControl::default();
    let files = tr::TrainFiles {
        out: a.out.clone(),
        metrics: a.metrics.clone(),
        resume: a.resume,
        force: a.force,
    };
    let s = tr::train(&data, &cfg, &files, &device, &mut on_event, &control)?;
    eprintln!(
        "best epoch {} (validation clip AUC {}) -> {}",
        s.best_epoch
            .map(|e| e.to_string())
            .unwrap_or_else(|| "-".into()),
        f(s.best_val_auc),
        s.checkpoint.display()
    );
    if let Some(t) = &s.test {
        eprintln!(
            "test: clip acc {} auc {} eer {}; video acc {} auc {}",
            f(t.clip.accuracy),
            f(t.clip.auc),
            f(t.clip.eer),
            f(t.video_mean.accuracy),
            f(t.video_mean.auc)
        );
    }
    Ok(0)
}

#[derive(Args)]
pub struct EvalArgs {
    #[command(flatten)]
    data: DataArgs,
    #[arg(long)]
    checkpoint: PathBuf,
    /// Output (JSON); `-` for standard output.
    #[arg(long)]
    json: Option<PathBuf>,
    #[arg(long, default_value_t = clips::DEFAULT_STRIDE, value_parser = parse::count)]
    stride: usize,
    /// Decision threshold for the accuracies (default: the checkpoint's calibrated
    /// one, else 0.5).
    #[arg(long, value_parser = parse::unit)]
    threshold: Option<f32>,
    #[arg(long)]
    cuda: bool,
    #[arg(long)]
    force: bool,
}

pub fn eval(a: EvalArgs) -> Result<i32> {
    let det = ti2net::session::load_detector(&a.checkpoint, &encoder::device(a.cuda)?, None)?;
    let threshold = a.threshold.unwrap_or_else(|| det.threshold());
    let (real, fake) = a.data.load()?;
    let e = tr::evaluate_checkpoint(&det, &real, &fake, a.stride.max(1), threshold)?;
    println!(
        "{:<14} {:>6} {:>9} {:>8} {:>8}",
        "level", "n", "accuracy", "AUC", "EER"
    );
    for (name, s) in [("clip", &e.clip), ("video (mean)", &e.video_mean)] {
        println!(
            "{:<14} {:>6} {:>9} {:>8} {:>8}",
            name,
            s.n,
            f(s.accuracy),
            f(s.auc),
            f(s.eer)
        );
    }
    println!(
        "{:<14} {:>6} {:>9}",
        "video (vote)",
        e.video_mean.n,
        f(e.video_vote_accuracy)
    );
    if let Some(j) = &a.json {
        let out = serde_json::json!({
            "checkpoint": a.checkpoint, "checkpoint_sha256": det.checkpoint.sha256,
            "real_ids_sha256": real.ids_sha256, "fake_ids_sha256": fake.ids_sha256,
            "stride": a.stride, "threshold": threshold,
            "clip": e.clip, "video_mean": e.video_mean, "video_vote_accuracy": e.video_vote_accuracy,
            "roc_clip": e.roc_clip, "roc_video": e.roc_video,
        });
        write_output(j, &serde_json::to_vec_pretty(&out)?, a.force)?;
    }
    Ok(0)
}

#[derive(Args)]
pub struct BlendArgs {
    /// Identity vectors of one person per file (float32 N x 1024 .npy, e.g. from
    /// `ti2net analyze --vectors`); at least two people.
    #[arg(required = true, num_args = 2..)]
    tracks: Vec<PathBuf>,
    /// Output prefix: PREFIX_real_ids.npy, PREFIX_real_lens.npy, PREFIX_fake_ids.npy, PREFIX_fake_lens.npy.
    #[arg(long)]
    out: PathBuf,
    #[arg(long, default_value_t = 40, value_parser = parse::count)]
    videos: usize,
    #[arg(long, default_value_t = 160, value_parser = parse::count)]
    len: usize,
    #[arg(long, default_value_t = 0.3, value_parser = parse::unit)]
    leak: f32,
    #[arg(long, default_value_t = 0.15, value_parser = parse::unit)]
    drift: f32,
    #[arg(long, default_value_t = 0.08, value_parser = parse::non_negative_f32)]
    jitter: f32,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[arg(long)]
    force: bool,
}

pub fn blend(a: BlendArgs) -> Result<i32> {
    let mut tracks = Vec::new();
    let mut sets = Vec::new();
    for t in &a.tracks {
        let s = dataset::load(t, None)?;
        sets.push(s.clone());
        if s.videos[0].len < a.len {
            bail!(
                "{}: holds {} vectors, fewer than --len {}",
                t.display(),
                s.videos[0].len,
                a.len
            );
        }
        tracks.push(s.videos[0].vectors.clone());
    }
    let p = ti2net::classifier::synth::BlendParams {
        videos: a.videos,
        len: a.len,
        leak: a.leak,
        drift: a.drift,
        jitter: a.jitter,
        seed: a.seed,
    };
    let Some(((real, rl), (fake, fl))) = ti2net::classifier::synth::blend(&tracks, &p) else {
        bail!("blending needs at least two tracks of --len vectors");
    };
    // The blends keep their tracks' provenance when all of them have the same one.
    let provs: Vec<_> = sets.iter().map(|s| s.provenance.clone()).collect();
    let prov = match provs.first() {
        Some(Some(p0))
            if provs
                .iter()
                .all(|p| p.as_ref().is_some_and(|p| p.same_settings(p0))) =>
        {
            Some(p0.clone())
        }
        _ => None,
    };
    let prefix = a.out.to_string_lossy().to_string();
    let n = |v: &Vec<i64>| v.iter().sum::<i64>() as usize;
    for (name, data, lens) in [("real", &real, &rl), ("fake", &fake, &fl)] {
        let ids = PathBuf::from(format!("{prefix}_{name}_ids.npy"));
        let lp = PathBuf::from(format!("{prefix}_{name}_lens.npy"));
        ti2net::fsutil::write_atomic(
            &ids,
            &ti2net::npy::f32_matrix_bytes(n(lens), ti2net::encoder::ID_DIM, data)?,
            a.force,
        )?;
        ti2net::fsutil::write_atomic(&lp, &ti2net::npy::i64_vector_bytes(lens)?, a.force)?;
        if let Some(p) = &prov {
            ti2net::provenance::write(&ids, p)?;
        }
    }
    eprintln!(
        "{} real and {} fake videos of {} frames written under {prefix}_*",
        rl.len(),
        fl.len(),
        a.len
    );
    Ok(0)
}

mod swap;
pub use swap::{demo, swap, DemoCommand, SwapArgs};
mod review;
pub use review::{review, ReviewArgs};
mod exclude;
