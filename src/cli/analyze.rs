//! `ti2net analyze` and `ti2net report`: one video, or many as a batch
//! (`--out-dir`), with the verdict and the claimed person.

use super::batch_cli;
use anyhow::{bail, Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use ti2net::align::FaceCrops;
use ti2net::batch::Shard;
use ti2net::encoder;
use ti2net::fsutil::{sha256_file, write_output};
use ti2net::pipeline::{self, Analysis, AnalyzeOptions, Stage};
use ti2net::session::{DetectorChoice, Session, SessionSpec};
use ti2net::video::FrameSelection;
use ti2net::{evidence, identity, npy};

/// What every analysis of a run shares: encoder, frames, identity changes, detector,
/// claimed person.
#[derive(Args, Clone)]
pub struct AnalysisArgs {
    #[command(flatten)]
    pub enc: crate::EncoderArgs,
    /// Analyse every N-th frame.
    #[arg(long, default_value = "1", value_parser = super::parse::step)]
    every: std::num::NonZeroU32,
    /// Start of the analysed range, in seconds.
    #[arg(long, value_parser = super::parse::non_negative)]
    start: Option<f64>,
    /// End of the analysed range, in seconds.
    #[arg(long, value_parser = super::parse::non_negative)]
    end: Option<f64>,
    /// Do not upsample before detection (4x faster, misses faces under about 80 px).
    #[arg(long)]
    no_upsample: bool,
    /// Search faces in the whole of every frame (slower); by default, once the subject
    /// is tracked, only a region around it, with the whole frame searched on scene cuts,
    /// when the subject is lost and every half second.
    #[arg(long)]
    full_frame_detection: bool,
    /// Window before and after each time point for identity changes, in seconds.
    #[arg(long, default_value_t = 1.0, value_parser = super::parse::positive)]
    change_window: f64,
    /// Similarity of the two windows under which an identity change is reported.
    #[arg(long, default_value_t = 0.5, value_parser = super::parse::unit)]
    change_threshold: f32,
    /// TI2Net checkpoint: adds a verdict with per-window evidence to the report
    /// (default: the demo detector, ti2net-demo.safetensors in the models folder, when it is there
    /// and the encoder is mobilefacenet).
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// No verdict, not even the demo detector's.
    #[arg(long, conflicts_with = "checkpoint")]
    no_detector: bool,
    /// Face frames between the starts of two scored windows.
    #[arg(long, default_value_t = ti2net::classifier::clips::DEFAULT_STRIDE, value_parser = super::parse::count)]
    stride: usize,
    /// Decision threshold on the mean fake probability (default: the one calibrated
    /// into the checkpoint, as the demo detector's is; else 0.5).
    #[arg(long, value_parser = super::parse::unit)]
    threshold: Option<f32>,
    /// Genuine photos or videos of the person the video claims to show: every face
    /// frame gets its similarity to them (`sim_claimed`) and the report says whether
    /// the subject is that person (give them after the video).
    #[arg(long, num_args = 1..)]
    reference: Vec<PathBuf>,
}

impl AnalysisArgs {
    /// The session these arguments describe.
    pub fn spec(&self) -> SessionSpec {
        SessionSpec {
            encoder: self.enc.encoder,
            weights: self.enc.weights.clone(),
            landmarks: self.enc.landmarks.clone(),
            cuda: self.enc.cuda,
            detector: match (&self.checkpoint, self.no_detector) {
                (Some(c), _) => DetectorChoice::File(c.clone()),
                (None, true) => DetectorChoice::None,
                (None, false) => DetectorChoice::Shipped,
            },
            threshold: self.threshold,
            stride: self.stride,
            references: self.reference.clone(),
            opts: AnalyzeOptions {
                selection: FrameSelection {
                    every: self.every,
                    start_s: self.start,
                    end_s: self.end,
                },
                upsample: !self.no_upsample,
                roi: !self.full_frame_detection,
                change: identity::ChangeParams {
                    window_s: self.change_window,
                    threshold: self.change_threshold,
                    ..Default::default()
                },
                ..Default::default()
            },
        }
    }

    /// Loads the session's models (saying so when a claimed person is read).
    pub fn load(&self) -> Result<Session> {
        self.enc.check()?;
        if !self.reference.is_empty() {
            eprintln!(
                "reading the claimed person from {} file(s)",
                self.reference.len()
            );
        }
        Ok(Session::load(self.spec())?)
    }
}

#[derive(Args)]
pub struct AnalyzeArgs {
    /// A video; or, with --out-dir, videos and folders of videos (a batch).
    #[arg(required = true)]
    videos: Vec<PathBuf>,
    /// Report (JSON); `-` for standard output.
    #[arg(long, required_unless_present = "out_dir")]
    json: Option<PathBuf>,
    /// Per-frame table (CSV); `-` for standard output.
    #[arg(long)]
    csv: Option<PathBuf>,
    /// Folder for the subject's crops (aligned 112 RGB and square 128 grey PNGs).
    #[arg(long)]
    crops: Option<PathBuf>,
    /// Identity vectors of the face frames (.npy, float32 N x 1024, the original's format).
    #[arg(long)]
    vectors: Option<PathBuf>,
    /// Frame-by-frame similarity matrix of the face frames (.npy, float32 N x N; above
    /// 2048 face frames, 2048 x 2048 or fewer cells, each the mean similarity between two
    /// blocks of consecutive frames, the block length noted on standard error).
    #[arg(long)]
    matrix: Option<PathBuf>,
    /// Folder for pictures: STEM_curves.png (identity curves, verdict windows) and
    /// STEM_similarity.png (the similarity matrix).
    #[arg(long)]
    plots: Option<PathBuf>,
    #[command(flatten)]
    an: AnalysisArgs,
    #[command(flatten)]
    batch: batch_cli::BatchArgs,
    /// Replace output files that exist.
    #[arg(long)]
    force: bool,
}

#[derive(Args)]
pub struct ReportArgs {
    /// A video, or videos and folders of videos (a batch).
    #[arg(required = true)]
    videos: Vec<PathBuf>,
    /// Output folder: STEM.report.html and STEM.report.json for one video; for a
    /// batch, reports/KEY.html and reports/KEY.json plus the summary.
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    an: AnalysisArgs,
    /// Parallel analyses in a batch (default: one per two cores).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    jobs: Option<u32>,
    /// Take only the I-th of N stable shares of the videos (I from 0 to N-1).
    #[arg(long)]
    shard: Option<Shard>,
    /// Replace reports that exist (one video).
    #[arg(long)]
    force: bool,
}

pub(crate) fn check_outputs(paths: &[&Option<PathBuf>], force: bool) -> Result<()> {
    for p in paths.iter().filter_map(|p| p.as_ref()) {
        if p.as_os_str() != "-" && p.exists() && !force {
            return Err(ti2net::Error::Exists(p.clone()).into());
        }
    }
    Ok(())
}

pub(crate) fn crops_dir(dir: &Option<PathBuf>, force: bool) -> Result<()> {
    if let Some(d) = dir {
        if d.exists()
            && !force
            && std::fs::read_dir(d)
                .map(|mut r| r.next().is_some())
                .unwrap_or(false)
        {
            bail!(
                "{}: the crops folder is not empty; pass --force to add to it",
                d.display()
            );
        }
        std::fs::create_dir_all(d)
            .with_context(|| format!("{}: cannot create the folder", d.display()))?;
    }
    Ok(())
}

/// Writes both crops atomically; an existing crop is replaced only with `--force`.
pub(crate) fn save_crops(dir: &Path, stem: &str, c: &FaceCrops, force: bool) -> ti2net::Result<()> {
    use ti2net::fsutil::write_png;
    write_png(&dir.join(format!("{stem}_aligned.png")), &c.aligned, force)?;
    write_png(&dir.join(format!("{stem}_square.png")), &c.square, force)
}

/// A frame-progress bar on standard error.
pub(crate) fn frames_bar() -> ProgressBar {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} frames {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar
}

pub(crate) fn stage_name(s: Stage) -> &'static str {
    match s {
        Stage::Hashing => "hashing",
        Stage::Frames => "analysing",
        Stage::Similarity => "similarity",
        Stage::Done => "done",
    }
}

fn is_batch(videos: &[PathBuf], out_dir: bool) -> bool {
    out_dir || videos.len() > 1 || videos.first().map(|v| v.is_dir()).unwrap_or(false)
}

pub fn analyze(a: AnalyzeArgs) -> Result<i32> {
    if is_batch(&a.videos, a.batch.out_dir.is_some()) {
        let Some(out) = a.batch.out_dir.clone() else {
            bail!("several videos or a folder make a batch: give --out-dir for its reports and summary");
        };
        if a.json.is_some()
            || a.csv.is_some()
            || a.crops.is_some()
            || a.vectors.is_some()
            || a.matrix.is_some()
            || a.plots.is_some()
        {
            bail!("a batch (--out-dir) writes each video's report and frame table into OUT/reports; --json, --csv, --crops, --vectors, --matrix and --plots are for one video");
        }
        return batch_cli::run_batch(&a.videos, &out, &a.an, &a.batch, false);
    }
    let video = a.videos[0].clone();
    let json = a.json.clone().context("--json is needed for one video")?;
    check_outputs(
        &[&Some(json.clone()), &a.csv, &a.vectors, &a.matrix],
        a.force,
    )?;
    let plot_paths = a.plots.as_ref().map(|dir| {
        let stem = video
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_else(|| "video".into());
        (
            dir.join(format!("{stem}_curves.png")),
            dir.join(format!("{stem}_similarity.png")),
        )
    });
    if let Some((c, s)) = &plot_paths {
        check_outputs(&[&Some(c.clone()), &Some(s.clone())], a.force)?;
    }
    let session = a.an.load()?;
    let faces = session.faces()?;
    crops_dir(&a.crops, a.force)?;
    let bar = frames_bar();
    let mut on_progress = |p: pipeline::Progress| {
        bar.set_length(p.total);
        bar.set_position(p.done);
        bar.set_message(stage_name(p.stage));
    };
    let crops = a.crops.clone();
    let mut on_crop = |frame: &ti2net::video::Frame, c: Option<&FaceCrops>| match (&crops, c) {
        (Some(d), Some(c)) => save_crops(d, &format!("{:06}", frame.index), c, a.force),
        _ => Ok(()),
    };
    let analysis = session.analyse(
        &video,
        &faces,
        &mut on_progress,
        &mut on_crop,
        &AtomicBool::new(false),
    )?;
    bar.finish_and_clear();
    let report = &analysis.report;
    write_output(&json, &serde_json::to_vec_pretty(report)?, a.force)?;
    if let Some(csv) = &a.csv {
        write_output(csv, frames_csv(report).as_bytes(), a.force)?;
    }
    let vecs = analysis.face_vectors();
    if let Some(p) = &a.vectors {
        let flat: Vec<f32> = vecs.iter().flat_map(|v| v.iter().copied()).collect();
        write_output(
            p,
            &npy::f32_matrix_bytes(vecs.len(), encoder::ID_DIM, &flat)?,
            a.force,
        )?;
        if p.as_os_str() != "-" {
            // What made the vectors, for `blend` and `train`.
            let prov = ti2net::extract::provenance(&session.encoder, &session.spec.opts);
            ti2net::provenance::write(p, &prov)?;
        }
    }
    // The similarity matrix, computed once for --matrix and --plots, at a bounded
    // resolution: at most MAX_MATRIX_CELLS cells a side, each the mean over a block of
    // consecutive face frames (exact n x n up to that many face frames).
    let matrix = (a.matrix.is_some() || plot_paths.is_some())
        .then(|| identity::block_similarity(&vecs, identity::MAX_MATRIX_CELLS));
    if let Some((_, cells, per)) = &matrix {
        if *per > 1 {
            eprintln!(
                "note: the similarity matrix has {cells} x {cells} cells: each is the mean similarity between two blocks of {per} consecutive face frames ({} face frames)",
                vecs.len()
            );
        }
    }
    if let (Some(p), Some((m, cells, _))) = (&a.matrix, &matrix) {
        write_output(p, &npy::f32_matrix_bytes(*cells, *cells, m)?, a.force)?;
    }
    if let Some((curves, sim)) = &plot_paths {
        ti2net::plots::curves_png(report, curves)?;
        if let (Some((m, cells, _)), true) = (&matrix, vecs.len() >= 2) {
            ti2net::plots::matrix_png(m, *cells, (*cells).clamp(256, 1024) as u32, sim)?;
        }
    }
    print_summary(&video, &analysis);
    Ok(exit_code(&analysis))
}

pub(crate) fn exit_code(a: &Analysis) -> i32 {
    if a.report.summary.frames_with_face == 0 || a.truncated() {
        3
    } else {
        0
    }
}

fn print_summary(video: &Path, analysis: &Analysis) {
    let report = &analysis.report;
    let s = &report.summary;
    eprintln!(
        "{}: {} frames analysed, {} with the subject's face, mean similarity to the reference {}, {} identity change(s){}",
        video.display(),
        s.frames_analysed,
        s.frames_with_face,
        s.mean_sim_reference.map(|v| format!("{v:.3}")).unwrap_or_else(|| "-".into()),
        s.identity_changes,
        report
            .identity_changes
            .iter()
            .map(|c| format!(" at {:.2} s (score {:.2})", c.time_s, c.score))
            .collect::<String>()
    );
    if let Some(v) = &report.verdict {
        match v.p_fake {
            Some(p) => eprintln!(
                "verdict: {} (mean fake probability {p:.3} over {} windows, threshold {:.2}; majority vote: {})",
                v.label,
                v.windows.len(),
                v.threshold,
                v.majority_label.as_deref().unwrap_or("-")
            ),
            None => eprintln!("verdict: {}", v.note.as_deref().unwrap_or("undetermined")),
        }
    }
    if let Some(c) = &report.claimed {
        eprintln!("claimed person: {}", c.statement);
    }
    for w in &report.warnings {
        eprintln!("warning: {}: {w}", video.display());
    }
}

/// `ti2net report`.
pub fn report(a: ReportArgs) -> Result<i32> {
    if is_batch(&a.videos, false) {
        let batch = batch_cli::BatchArgs {
            out_dir: Some(a.out.clone()),
            jobs: a.jobs,
            shard: a.shard,
        };
        return batch_cli::run_batch(&a.videos, &a.out, &a.an, &batch, true);
    }
    let video = &a.videos[0];
    let stem = video
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "video".into());
    let html_path = a.out.join(format!("{stem}.report.html"));
    let json_path = a.out.join(format!("{stem}.report.json"));
    check_outputs(
        &[&Some(html_path.clone()), &Some(json_path.clone())],
        a.force,
    )?;
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("{}: cannot create the folder", a.out.display()))?;
    let session = a.an.load()?;
    let faces = session.faces()?;
    let bar = frames_bar();
    let mut on_progress = |p: pipeline::Progress| {
        bar.set_length(p.total);
        bar.set_position(p.done);
        bar.set_message(stage_name(p.stage));
    };
    let mut thumbs = evidence::Thumbs::default();
    let mut on_frame = |f: &ti2net::video::Frame, c: Option<&FaceCrops>| {
        if let Some(c) = c {
            thumbs.offer(f.index, &c.aligned);
        }
        Ok(())
    };
    let analysis = session.analyse(
        video,
        &faces,
        &mut on_progress,
        &mut on_frame,
        &AtomicBool::new(false),
    )?;
    bar.finish_and_clear();
    let rep = session.evidence(&analysis, &thumbs)?;
    write_output(&json_path, &rep.json()?, a.force)?;
    write_output(&html_path, rep.html().as_bytes(), a.force)?;
    print_summary(video, &analysis);
    eprintln!(
        "report: {} and {} (input sha256 {})",
        html_path.display(),
        json_path.display(),
        sha256_file(video).unwrap_or_default()
    );
    Ok(exit_code(&analysis))
}

fn opt(v: Option<f32>) -> String {
    v.map(|x| format!("{x:.6}")).unwrap_or_default()
}

pub(crate) fn frames_csv(r: &ti2net::report::Report) -> String {
    let rows = r.frames.iter().map(|f| {
        let b = f.face.as_ref().map(|f| f.bbox);
        let bx = |i: usize| b.map(|b| format!("{:.1}", b[i])).unwrap_or_default();
        vec![
            f.index.to_string(),
            format!("{:.4}", f.time_s),
            f.faces.to_string(),
            serde_json::to_value(f.status)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default(),
            f.scene_cut.to_string(),
            bx(0),
            bx(1),
            bx(2),
            bx(3),
            opt(f.sim_reference),
            opt(f.sim_previous),
            opt(f.sim_window),
            opt(f.sim_claimed),
        ]
    });
    let bytes = ti2net::fsutil::csv_bytes(
        &[
            "index",
            "time_s",
            "faces",
            "status",
            "scene_cut",
            "x",
            "y",
            "w",
            "h",
            "sim_reference",
            "sim_previous",
            "sim_window",
            "sim_claimed",
        ],
        rows,
    );
    String::from_utf8_lossy(&bytes).into_owned()
}
