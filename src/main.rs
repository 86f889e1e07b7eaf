//! The `ti2net` command line, a thin client of the library.

use anyhow::{bail, Result};
use clap::{Args, Parser, Subcommand};
use std::path::{Path, PathBuf};
use ti2net::align::FaceCrops;
use ti2net::encoder::{self, Encoder, EncoderKind};
use ti2net::faces::FaceAnalyzer;
use ti2net::fsutil::write_output;
use ti2net::models;
use ti2net::pipeline;

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
    Analyze(cli::analyze::AnalyzeArgs),
    /// A forensic report: one self-contained HTML page and the same content as JSON
    /// (input hash and metadata, models' hashes, parameters, verdict, curves, crops).
    Report(cli::analyze::ReportArgs),
    /// Join the summaries of a batch's shards (`analyze --out-dir ... --shard I/N`).
    Merge(cli::batch_cli::MergeArgs),
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
        /// Start from the default settings, not the remembered ones (which are then
        /// replaced when the window closes).
        #[arg(long)]
        reset_settings: bool,
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
    /// Review a dataset for bad examples: the window's review mode, suspects proposed
    /// from the analysis (--suggest), tables merged and exported.
    Review(cli::ReviewArgs),
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
    /// The session of these arguments (no detector, default frame options).
    pub fn spec(&self) -> ti2net::session::SessionSpec {
        ti2net::session::SessionSpec {
            encoder: self.encoder,
            weights: self.weights.clone(),
            landmarks: self.landmarks.clone(),
            cuda: self.cuda,
            ..Default::default()
        }
    }

    /// Refuses arguments that name no weights where the encoder needs some.
    pub fn check(&self) -> Result<()> {
        if self.weights.is_none() && self.encoder == EncoderKind::ArcfaceR18 {
            bail!("the arcface-r18 encoder needs --weights (the original's resnet18_110.pth or a .safetensors of it)");
        }
        Ok(())
    }

    pub fn load(&self) -> Result<Encoder> {
        self.check()?;
        let spec = self.spec();
        let device = encoder::device(self.cuda)?;
        Ok(Encoder::load(spec.encoder, &spec.weights_path()?, &device)?)
    }

    fn faces(&self, upsample: bool) -> Result<FaceAnalyzer> {
        Ok(FaceAnalyzer::new(&self.spec().landmarks_path(), upsample)?)
    }
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
    /// The GPU check instead of the stage timings (needs --cuda): CPU/GPU parity of
    /// both encoders and TI2Net, and crops/s on the GPU at these batch sizes, e.g.
    /// 1,8,64,256,1024 (scripts/gpu-bench.sh).
    #[arg(long, value_delimiter = ',', value_parser = clap::value_parser!(u32).range(1..))]
    batches: Vec<u32>,
    /// For the GPU check: resnet_face18 weights (default: the tests' random-weight
    /// fixture, enough for parity and speed).
    #[arg(long)]
    r18_weights: Option<PathBuf>,
    /// For the GPU check: TI2Net checkpoint (default: the demo detector if installed,
    /// else the original's random initialisation).
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// For the GPU check: seconds each batch size is timed for.
    #[arg(long, default_value_t = 2.0)]
    seconds: f64,
}

fn main() {
    let cli = Cli::parse();
    // A model named by the environment that has gone away falls back to the installed
    // one; the user is told once.
    if let Some(note) = models::landmarks_env_note() {
        eprintln!("{note}");
    }
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
fn gui(video: Option<PathBuf>, checkpoint: Option<PathBuf>, reset: bool) -> Result<i32> {
    ti2net::gui::run(video, checkpoint, reset)?;
    Ok(0)
}

/// This build has no workbench: says so.
#[cfg(not(feature = "gui"))]
fn gui(_video: Option<PathBuf>, _checkpoint: Option<PathBuf>, _reset: bool) -> Result<i32> {
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
        None if cfg!(feature = "gui") => gui(None, None, false),
        None => {
            // Without the workbench, no command is a request for help.
            use clap::CommandFactory;
            Cli::command().print_help()?;
            Ok(2)
        }
        Some(Command::Gui {
            video,
            checkpoint,
            reset_settings,
        }) => gui(video, checkpoint, reset_settings),
        Some(Command::Analyze(a)) => cli::analyze::analyze(a),
        Some(Command::Report(a)) => cli::analyze::report(a),
        Some(Command::Merge(a)) => cli::batch_cli::merge(a),
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
        Some(Command::Review(a)) => cli::review(a),
    }
}

fn embed(a: EmbedArgs) -> Result<i32> {
    use cli::analyze::{check_outputs, crops_dir, save_crops};
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
            if ti2net::encoder::onnx::import_mobilefacenet(&onnx, &out, force, any_hash)? {
                eprintln!("imported {} -> {}", onnx.display(), out.display());
            } else {
                eprintln!("{} is already imported from this source", out.display());
            }
            Ok(0)
        }
    }
}

fn bench(b: BenchArgs) -> Result<i32> {
    if !b.batches.is_empty() {
        return gpu_bench(b);
    }
    let enc = b.enc.load()?;
    let faces = b.enc.faces(!b.no_upsample)?;
    let r = ti2net::bench::run(&b.video, &enc, &faces, b.frames)?;
    println!("{}", r.table());
    Ok(0)
}

/// `ti2net bench --cuda --batches ...`: the GPU check of [`ti2net::gpu_bench`].
fn gpu_bench(b: BenchArgs) -> Result<i32> {
    if !b.enc.cuda {
        bail!("--batches runs the GPU check: add --cuda");
    }
    let gpu = encoder::device(true)?;
    let faces = b.enc.faces(!b.no_upsample)?;
    let mfn = match (&b.enc.weights, b.enc.encoder) {
        (Some(w), EncoderKind::Mobilefacenet) => w.clone(),
        _ => models::mobilefacenet_weights(),
    };
    let (r18, note) = match (&b.r18_weights, &b.enc.weights, b.enc.encoder) {
        (Some(w), _, _) | (None, Some(w), EncoderKind::ArcfaceR18) => (w.clone(), "given weights"),
        _ => (
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/r18_module.pth"),
            "random-weight fixture",
        ),
    };
    let checkpoint = b
        .checkpoint
        .clone()
        .or_else(|| Some(models::demo_checkpoint()).filter(|p| p.exists()));
    let opts = ti2net::gpu_bench::GpuBenchOptions {
        frames: b.frames,
        batches: b.batches.iter().map(|&n| n as usize).collect(),
        seconds: b.seconds,
        encoders: vec![
            (EncoderKind::Mobilefacenet, mfn, "installed weights".into()),
            (EncoderKind::ArcfaceR18, r18, note.into()),
        ],
        checkpoint,
    };
    let r = ti2net::gpu_bench::run(&b.video, &faces, &gpu, &opts, &mut |l| eprintln!("{l}"))?;
    println!("{}", r.table());
    if r.passed() {
        Ok(0)
    } else {
        eprintln!("error: the GPU results differ from the CPU's (see FAILED above)");
        Ok(1)
    }
}
