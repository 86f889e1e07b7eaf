//! The `ti2net` command line, a thin client of the library.

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use ti2net::align::FaceCrops;
use ti2net::encoder::{self, Encoder, EncoderKind};
use ti2net::faces::FaceAnalyzer;
use ti2net::fsutil::write_output;
use ti2net::pipeline::{self, AnalyzeOptions, Stage};
use ti2net::video::FrameSelection;
use ti2net::{identity, models, npy};

mod cli;

#[derive(Parser)]
#[command(
    name = "ti2net",
    version,
    about = "Tell real face videos from face swaps by temporal identity inconsistency"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Analyse a video: faces, identity vectors, similarity over time, identity changes.
    Analyze(AnalyzeArgs),
    /// Identity vectors of still images.
    Embed(EmbedArgs),
    /// Installed models.
    #[command(subcommand)]
    Models(ModelsCommand),
    /// Open the desktop workbench (the default without a command; needs the `gui`
    /// feature, on by default).
    Gui {
        /// A video to analyse at once.
        video: Option<PathBuf>,
        /// TI2Net checkpoint to load as the detector (remembered in the settings).
        #[arg(long)]
        checkpoint: Option<PathBuf>,
    },
    /// Time each stage of the pipeline on a video, in frames per second.
    Bench(BenchArgs),
    /// Score every clip of every video of an identity file with a TI2Net checkpoint.
    Classify(cli::ClassifyArgs),
    /// Identity files (the original's format) from folders of videos, resumable.
    Extract(cli::ExtractArgs),
    /// Train TI2Net on real and fake identity files.
    Train(cli::TrainArgs),
    /// Clip- and video-level accuracy, AUC, EER and ROC of a checkpoint.
    Eval(cli::EvalArgs),
    /// Face-swap-like identity files from real tracks of two or more people (time-varying
    /// leak of a second identity with jitter), to demonstrate and test training.
    Blend(cli::BlendArgs),
    /// The demo detector: swaps between the corpus's people, trained and measured on
    /// people it never saw (run by scripts/setup.sh; cached).
    #[command(subcommand)]
    Demo(cli::DemoCommand),
    /// Make a graphics face swap (FaceForensics++'s FaceSwap family): the source's face
    /// on the target video's subject, H.264 with the target's audio and a provenance file.
    Swap(cli::SwapArgs),
}

#[derive(Args, Clone)]
pub struct EncoderArgs {
    /// Identity network.
    #[arg(long, value_enum, default_value_t = EncoderKind::Mobilefacenet)]
    encoder: EncoderKind,
    /// Weights file (default for mobilefacenet: mobilefacenet.safetensors in the models
    /// folder, `ti2net models list` says where;
    /// required for arcface-r18: the original's resnet18 .pth or a .safetensors).
    #[arg(long)]
    weights: Option<PathBuf>,
    /// Run the encoder on the GPU (needs a build with `--features cuda`).
    #[arg(long)]
    cuda: bool,
    /// dlib 68-landmark model (default: Debian's libdlib-data file).
    #[arg(long)]
    pub landmarks: Option<PathBuf>,
}

impl EncoderArgs {
    pub fn load(&self) -> Result<Encoder> {
        let weights = match (&self.weights, self.encoder) {
            (Some(w), _) => w.clone(),
            (None, EncoderKind::Mobilefacenet) => models::mobilefacenet_weights(),
            (None, EncoderKind::ArcfaceR18) => bail!(
                "the arcface-r18 encoder needs --weights (the original's resnet18_110.pth or a .safetensors of it)"
            ),
        };
        let device = encoder::device(self.cuda)?;
        Ok(Encoder::load(self.encoder, &weights, &device)?)
    }

    fn faces(&self, upsample: bool) -> Result<FaceAnalyzer> {
        let lm = self
            .landmarks
            .clone()
            .unwrap_or_else(models::landmarks_model);
        Ok(FaceAnalyzer::new(&lm, upsample)?)
    }
}

#[derive(Args)]
struct AnalyzeArgs {
    video: PathBuf,
    /// Report (JSON); `-` for standard output.
    #[arg(long)]
    json: PathBuf,
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
    enc: EncoderArgs,
    /// Analyse every N-th frame.
    #[arg(long, default_value_t = 1, value_parser = cli::parse::step)]
    every: u32,
    /// Start of the analysed range, in seconds.
    #[arg(long, value_parser = cli::parse::non_negative)]
    start: Option<f64>,
    /// End of the analysed range, in seconds.
    #[arg(long, value_parser = cli::parse::non_negative)]
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
    #[arg(long, default_value_t = 1.0, value_parser = cli::parse::positive)]
    change_window: f64,
    /// Similarity of the two windows under which an identity change is reported.
    #[arg(long, default_value_t = 0.5, value_parser = cli::parse::unit)]
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
    #[arg(long, default_value_t = ti2net::classifier::clips::DEFAULT_STRIDE, value_parser = cli::parse::count)]
    stride: usize,
    /// Decision threshold on the mean fake probability.
    #[arg(long, default_value_t = ti2net::classifier::DEFAULT_THRESHOLD, value_parser = cli::parse::unit)]
    threshold: f32,
    /// Replace output files that exist.
    #[arg(long)]
    force: bool,
}

#[derive(Args)]
struct EmbedArgs {
    #[arg(required = true)]
    images: Vec<PathBuf>,
    /// Output (JSON); `-` for standard output.
    #[arg(long)]
    json: PathBuf,
    /// Take the whole image as the face crop (no detection).
    #[arg(long)]
    no_detect: bool,
    /// Folder for the crops.
    #[arg(long)]
    crops: Option<PathBuf>,
    #[command(flatten)]
    enc: EncoderArgs,
    #[arg(long)]
    force: bool,
}

#[derive(Subcommand)]
enum ModelsCommand {
    /// Print the models folder ($TI2NET_HOME/models, else the user's data folder).
    Dir,
    /// What is installed, from which package, with its hash.
    List {
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// Convert MobileFaceNet's ONNX file into mobilefacenet.safetensors in the models folder.
    Import {
        /// The ONNX file (default: sources/fr_feature.onnx in the models folder).
        #[arg(long)]
        onnx: Option<PathBuf>,
        /// Output (default: mobilefacenet.safetensors in the models folder).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Import a file whose hash differs from the pinned one.
        #[arg(long)]
        any_hash: bool,
        #[arg(long)]
        force: bool,
    },
}

#[derive(Args)]
struct BenchArgs {
    video: PathBuf,
    /// Frames to time.
    #[arg(long, default_value_t = 100, value_parser = cli::parse::count)]
    frames: usize,
    #[command(flatten)]
    enc: EncoderArgs,
    #[arg(long)]
    no_upsample: bool,
}

fn main() {
    let cli = Cli::parse();
    let code = match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", one_sentence(&e));
            1
        }
    };
    std::process::exit(code);
}

/// Opens the desktop workbench.
#[cfg(feature = "gui")]
fn gui(video: Option<PathBuf>, checkpoint: Option<PathBuf>) -> Result<i32> {
    ti2net::gui::run(video, checkpoint)?;
    Ok(0)
}

/// This build has no workbench: says so.
#[cfg(not(feature = "gui"))]
fn gui(_video: Option<PathBuf>, _checkpoint: Option<PathBuf>) -> Result<i32> {
    bail!("this build of ti2net has no GUI (it was built without the `gui` feature); the other commands work, see `ti2net --help`")
}

/// The error and its causes as one line.
fn one_sentence(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for c in e.chain() {
        let s = c.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    parts.join(": ")
}

fn run(cli: Cli) -> Result<i32> {
    match cli.command {
        None if cfg!(feature = "gui") => gui(None, None),
        None => {
            // Without the workbench, no command is a request for help.
            use clap::CommandFactory;
            Cli::command().print_help()?;
            Ok(2)
        }
        Some(Command::Gui { video, checkpoint }) => gui(video, checkpoint),
        Some(Command::Analyze(a)) => analyze(a),
        Some(Command::Embed(a)) => embed(a),
        Some(Command::Models(m)) => models_cmd(m),
        Some(Command::Bench(b)) => bench(b),
        Some(Command::Classify(a)) => cli::classify(a),
        Some(Command::Extract(a)) => cli::extract(a),
        Some(Command::Train(a)) => cli::train(a),
        Some(Command::Eval(a)) => cli::eval(a),
        Some(Command::Blend(a)) => cli::blend(a),
        Some(Command::Swap(a)) => cli::swap(a),
        Some(Command::Demo(d)) => cli::demo(d),
    }
}

fn check_outputs(paths: &[&Option<PathBuf>], force: bool) -> Result<()> {
    for p in paths.iter().filter_map(|p| p.as_ref()) {
        if p.as_os_str() != "-" && p.exists() && !force {
            return Err(ti2net::Error::Exists(p.clone()).into());
        }
    }
    Ok(())
}

fn crops_dir(dir: &Option<PathBuf>, force: bool) -> Result<()> {
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
fn save_crops(dir: &Path, stem: &str, c: &FaceCrops, force: bool) -> ti2net::Result<()> {
    use ti2net::fsutil::write_png;
    write_png(&dir.join(format!("{stem}_aligned.png")), &c.aligned, force)?;
    write_png(&dir.join(format!("{stem}_square.png")), &c.square, force)
}

fn analyze(a: AnalyzeArgs) -> Result<i32> {
    check_outputs(
        &[&Some(a.json.clone()), &a.csv, &a.vectors, &a.matrix],
        a.force,
    )?;
    let plot_paths = a.plots.as_ref().map(|dir| {
        let stem = a
            .video
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
    let enc = a.enc.load()?;
    let faces = a.enc.faces(!a.no_upsample)?;
    let demo = models::demo_checkpoint();
    let checkpoint = match &a.checkpoint {
        Some(c) => Some(c.clone()),
        None if !a.no_detector && enc.kind() == EncoderKind::Mobilefacenet && demo.exists() => {
            Some(demo)
        }
        None => None,
    };
    let detector = match &checkpoint {
        Some(c) => {
            let d = ti2net::classifier::Detector::load(c, &encoder::device(a.enc.cuda)?)?;
            d.checkpoint.check_encoder(c, enc.kind().name())?;
            Some(d)
        }
        None => None,
    };
    crops_dir(&a.crops, a.force)?;
    let opts = AnalyzeOptions {
        selection: FrameSelection {
            every: a.every,
            start_s: a.start,
            end_s: a.end,
        },
        upsample: !a.no_upsample,
        roi: !a.full_frame_detection,
        change: identity::ChangeParams {
            window_s: a.change_window,
            threshold: a.change_threshold,
            ..Default::default()
        },
        ..Default::default()
    };
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} frames {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let mut on_progress = |p: pipeline::Progress| {
        bar.set_length(p.total);
        bar.set_position(p.done);
        bar.set_message(match p.stage {
            Stage::Hashing => "hashing",
            Stage::Frames => "analysing",
            Stage::Similarity => "similarity",
            Stage::Done => "done",
        });
    };
    let crops = a.crops.clone();
    let mut on_crop = |frame: &ti2net::video::Frame, c: Option<&FaceCrops>| match (&crops, c) {
        (Some(d), Some(c)) => save_crops(d, &format!("{:06}", frame.index), c, a.force),
        _ => Ok(()),
    };
    let cancel = AtomicBool::new(false);
    let mut analysis = pipeline::analyze(
        &a.video,
        &enc,
        &faces,
        &opts,
        &mut on_progress,
        &mut on_crop,
        &cancel,
    )?;
    bar.finish_and_clear();
    if let Some(d) = &detector {
        analysis.add_verdict(d, a.stride, a.threshold)?;
    }
    let report = &analysis.report;
    write_output(&a.json, &serde_json::to_vec_pretty(report)?, a.force)?;
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
            let prov = ti2net::extract::provenance(&enc, &opts);
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
    let s = &report.summary;
    eprintln!(
        "{}: {} frames analysed, {} with the subject's face, mean similarity to the reference {}, {} identity change(s){}",
        a.video.display(),
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
    for w in &report.warnings {
        eprintln!("warning: {}: {w}", a.video.display());
    }
    Ok(if s.frames_with_face == 0 || analysis.truncated() {
        3
    } else {
        0
    })
}

fn opt(v: Option<f32>) -> String {
    v.map(|x| format!("{x:.6}")).unwrap_or_default()
}

fn frames_csv(r: &ti2net::report::Report) -> String {
    let mut s = String::from(
        "index,time_s,faces,status,scene_cut,x,y,w,h,sim_reference,sim_previous,sim_window\n",
    );
    for f in &r.frames {
        let b = f.face.as_ref().map(|f| f.bbox);
        let bx = |i: usize| b.map(|b| format!("{:.1}", b[i])).unwrap_or_default();
        s.push_str(&format!(
            "{},{:.4},{},{},{},{},{},{},{},{},{},{}\n",
            f.index,
            f.time_s,
            f.faces,
            serde_json::to_value(f.status)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default(),
            f.scene_cut,
            bx(0),
            bx(1),
            bx(2),
            bx(3),
            opt(f.sim_reference),
            opt(f.sim_previous),
            opt(f.sim_window)
        ));
    }
    s
}

fn embed(a: EmbedArgs) -> Result<i32> {
    check_outputs(&[&Some(a.json.clone())], a.force)?;
    let enc = a.enc.load()?;
    let faces = if a.no_detect {
        None
    } else {
        Some(a.enc.faces(true)?)
    };
    crops_dir(&a.crops, a.force)?;
    let crops = a.crops.clone();
    let paths = a.images.clone();
    let mut on_crop = |k: usize, c: &FaceCrops| match &crops {
        Some(d) => {
            let stem = paths[k]
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default();
            save_crops(d, &format!("{k:03}_{stem}"), c, a.force)
        }
        None => Ok(()),
    };
    let out = pipeline::embed_images(&a.images, &enc, faces.as_ref(), &mut on_crop)?;
    write_output(&a.json, &serde_json::to_vec_pretty(&out)?, a.force)?;
    let missing: Vec<String> = out
        .iter()
        .filter(|e| e.vector.is_none())
        .map(|e| e.path.display().to_string())
        .collect();
    for m in &missing {
        eprintln!("warning: {m}: no face was found in the image");
    }
    Ok(if missing.is_empty() { 0 } else { 3 })
}

fn models_cmd(m: ModelsCommand) -> Result<i32> {
    match m {
        ModelsCommand::Dir => {
            println!("{}", models::models_dir().display());
            Ok(0)
        }
        ModelsCommand::List { json } => {
            let st = models::status();
            if json {
                println!("{}", serde_json::to_string_pretty(&st)?);
            } else {
                println!(
                    "models folder: {} (TI2NET_HOME moves it)",
                    models::models_dir().display()
                );
                for s in &st {
                    println!(
                        "{:<24} {:<14} {}",
                        s.entry.name,
                        s.state,
                        s.entry.path.display()
                    );
                    println!(
                        "{:<24} package: {} ({})",
                        "", s.entry.package, s.entry.file_in_package
                    );
                    println!("{:<24} sha256:  {}", "", s.sha256.as_deref().unwrap_or("-"));
                }
            }
            Ok(if st.iter().all(|s| s.state == "ok") {
                0
            } else {
                3
            })
        }
        ModelsCommand::Import {
            onnx,
            out,
            any_hash,
            force,
        } => {
            let onnx = onnx.unwrap_or_else(models::mobilefacenet_onnx);
            let out = out.unwrap_or_else(models::mobilefacenet_weights);
            if models::import_mobilefacenet(&onnx, &out, force, any_hash)? {
                eprintln!("imported {} -> {}", onnx.display(), out.display());
            } else {
                eprintln!("{} is already imported from this source", out.display());
            }
            Ok(0)
        }
    }
}

fn bench(b: BenchArgs) -> Result<i32> {
    let enc = b.enc.load()?;
    let faces = b.enc.faces(!b.no_upsample)?;
    let r = ti2net::bench::run(&b.video, &enc, &faces, b.frames)?;
    println!("{}", r.table());
    Ok(0)
}
