//! `ti2net review`: the annotators' table of bad examples from the command line:
//! suspects proposed without the window (`--suggest`), tables merged and exported,
//! a scripted annotation mode (`--script`), and the window's review mode.

use super::bar;
use anyhow::{bail, Context, Result};
use clap::Args;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use ti2net::pipeline::AnalyzeOptions;
use ti2net::report::Report;
use ti2net::review::{self, dataset, suggest, Action, Annotator, Table, TableFile};
use ti2net::session::{DetectorChoice, Session};
use ti2net::video::FrameSelection;

#[derive(Args)]
pub struct ReviewArgs {
    /// A folder of videos or a dataset (FaceForensics++, Celeb-DF v2); labels come
    /// from its layout.
    dir: Option<PathBuf>,
    /// The table of bad examples (JSON, or CSV by its extension); created when
    /// missing, saved after every action. Default: `<dataset>.review.json` here.
    #[arg(long)]
    table: Option<PathBuf>,
    /// Your name in the table (default: $USER).
    #[arg(long)]
    annotator: Option<String>,
    /// Propose suspects without the window and write them to OUT (the table's own
    /// format, CSV or JSON by the extension, status `suggested`).
    #[arg(long, value_name = "OUT")]
    suggest: Option<PathBuf>,
    /// With --suggest: the output folder of `ti2net analyze DIR --out-dir`; a video's
    /// report is read from `reports/<key>.json` there instead of analysing it again.
    #[arg(long, value_name = "BATCH_OUT_DIR")]
    analyses: Option<PathBuf>,
    /// Write the table (or the merged tables) to OUT (CSV or JSON by the extension).
    #[arg(long, value_name = "OUT")]
    export: Option<PathBuf>,
    /// Merge these tables into --table (or into the --export output).
    #[arg(long, num_args = 1.., value_name = "TABLE")]
    merge: Vec<PathBuf>,
    /// Scripted annotation: apply the actions of FILE (`-`: standard input) one line
    /// at a time, saving after each (`flag VIDEO REASON [FIRST-LAST] [NOTE]`,
    /// `accept N`, `dismiss N`, `remove N`, `note N TEXT`, `reviewed VIDEO`).
    #[arg(long, value_name = "FILE")]
    script: Option<PathBuf>,
    /// Analyse every N-th frame (--suggest).
    #[arg(long, default_value = "2", value_parser = super::parse::step)]
    every: std::num::NonZeroU32,
    /// Detect faces without upsampling (--suggest; faster, misses faces under ~80 px).
    #[arg(long)]
    no_upsample: bool,
    #[command(flatten)]
    enc: crate::EncoderArgs,
    /// Replace an existing --suggest or --export output.
    #[arg(long)]
    force: bool,
}

fn annotator(a: &ReviewArgs) -> String {
    a.annotator
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "annotator".into())
}

/// The default table of a dataset: `<name>.review.json` in the current folder.
pub fn default_table(ds: &dataset::Dataset) -> PathBuf {
    PathBuf::from(format!("{}.review.json", ds.name))
}

pub fn review(a: ReviewArgs) -> Result<i32> {
    if !a.merge.is_empty() || (a.export.is_some() && a.suggest.is_none() && a.script.is_none()) {
        return merge_export(&a);
    }
    let Some(dir) = &a.dir else {
        bail!("review needs a folder of videos or a dataset (ti2net review DIR)");
    };
    let ds = dataset::open(dir)?;
    for w in &ds.warnings {
        eprintln!("warning: {w}");
    }
    if ds.videos.is_empty() {
        bail!(
            "{}: no videos found ({} layout)",
            dir.display(),
            ds.layout.name()
        );
    }
    eprintln!(
        "{}: {} ({} videos: {} real, {} fake, {} unlabelled)",
        dir.display(),
        ds.layout.name(),
        ds.videos.len(),
        ds.videos
            .iter()
            .filter(|v| v.label == review::Label::Real)
            .count(),
        ds.videos
            .iter()
            .filter(|v| v.label == review::Label::Fake)
            .count(),
        ds.videos
            .iter()
            .filter(|v| v.label == review::Label::Unknown)
            .count(),
    );
    if let Some(out) = &a.suggest {
        return suggest_cmd(&a, &ds, out);
    }
    let table = a.table.clone().unwrap_or_else(|| default_table(&ds));
    if let Some(script) = &a.script {
        return script_cmd(&ds, &table, &annotator(&a), script);
    }
    open_window(ds, table, annotator(&a))
}

#[cfg(feature = "gui")]
fn open_window(ds: dataset::Dataset, table: PathBuf, annotator: String) -> Result<i32> {
    // Read the table first: a broken one is an error here, not in the window.
    TableFile::open(&table)?;
    ti2net::gui::run_review(ds, table, annotator)?;
    Ok(0)
}

#[cfg(not(feature = "gui"))]
fn open_window(_ds: dataset::Dataset, _table: PathBuf, _annotator: String) -> Result<i32> {
    bail!("this build of ti2net has no GUI (built without the `gui` feature): use `review --suggest` or `review --script`")
}

fn merge_export(a: &ReviewArgs) -> Result<i32> {
    let mut merged = match &a.table {
        Some(t) if t.exists() => Table::read(t)?,
        _ => Table::default(),
    };
    for m in &a.merge {
        merged.merge(&Table::read(m)?);
    }
    match (&a.export, &a.table) {
        (Some(out), _) => {
            ti2net::fsutil::write_output(out, &merged.bytes_for(out), a.force)?;
            eprintln!(
                "{} entries written to {}",
                merged.entries.len(),
                out.display()
            );
        }
        (None, Some(t)) => {
            let mut f = TableFile::open(t)?;
            f.update(|x| *x = merged)?;
            eprintln!("{} entries in {}", f.table.entries.len(), t.display());
        }
        (None, None) => bail!("--merge needs --table (to merge into) or --export (to write to)"),
    }
    Ok(0)
}

/// The batch analysis' report key of a video: its relative path, `/` as `__`.
pub fn report_key(rel: &str) -> String {
    rel.replace('/', "__")
}

fn suggest_cmd(a: &ReviewArgs, ds: &dataset::Dataset, out: &Path) -> Result<i32> {
    if out.as_os_str() != "-" && out.exists() && !a.force {
        return Err(ti2net::Error::Exists(out.to_path_buf()).into());
    }
    let params = suggest::SuggestParams::default();
    let mut models = None;
    let cancel = AtomicBool::new(false);
    let pb = bar(
        ds.videos.len() as u64,
        "suggest [{bar:40}] {pos}/{len} videos eta {eta} {msg}",
    );
    let mut table = Table::default();
    let (mut reused, mut analysed) = (0, 0);
    for v in &ds.videos {
        pb.set_message(v.rel.clone());
        let cached = a
            .analyses
            .as_ref()
            .map(|d| {
                d.join("reports")
                    .join(format!("{}.json", report_key(&v.rel)))
            })
            .filter(|p| p.exists());
        // A batch's report that cannot be read back (cut short, or of another version)
        // is not trusted: the video is analysed again.
        let reread = cached.and_then(|p| {
            std::fs::read(&p)
                .ok()
                .and_then(|b| serde_json::from_slice::<Report>(&b).ok())
        });
        let report: std::result::Result<Report, String> = match reread {
            Some(r) => {
                reused += 1;
                Ok(r)
            }
            None => {
                analysed += 1;
                if models.is_none() {
                    let mut spec = a.enc.spec();
                    spec.detector = DetectorChoice::None;
                    spec.opts = AnalyzeOptions {
                        selection: FrameSelection {
                            every: a.every,
                            ..Default::default()
                        },
                        upsample: !a.no_upsample,
                        ..Default::default()
                    };
                    a.enc.check()?;
                    let session = Session::load(spec)?;
                    let faces = session.faces()?;
                    models = Some((session, faces));
                }
                let Some((session, faces)) = &models else {
                    unreachable!()
                };
                session
                    .analyse(&v.path, faces, &mut |_| {}, &mut |_, _| Ok(()), &cancel)
                    .map(|x| x.report)
                    .map_err(|e| e.to_string())
            }
        };
        let entries = match report {
            Ok(r) => suggest::from_report(&ds.name, v, &r, &params),
            Err(e) => vec![suggest::unreadable(&ds.name, v, &e)],
        };
        table.entries.extend(entries);
        pb.inc(1);
    }
    pb.finish_and_clear();
    ti2net::fsutil::write_output(out, &table.bytes_for(out), a.force)?;
    let videos: std::collections::BTreeSet<&str> =
        table.entries.iter().map(|e| e.video.as_str()).collect();
    eprintln!(
        "{} suspects in {} of {} videos written to {} ({analysed} analysed, {reused} from {})",
        table.entries.len(),
        videos.len(),
        ds.videos.len(),
        out.display(),
        a.analyses
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "no batch analysis".into()),
    );
    Ok(0)
}

/// Applies the script's actions one line at a time, saving after each and printing
/// `ok N` (N the number of entries) once it is on disk.
fn script_cmd(ds: &dataset::Dataset, table: &Path, name: &str, script: &Path) -> Result<i32> {
    let mut file = TableFile::open(table)?;
    let input: Box<dyn BufRead> = if script.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        let f = std::fs::File::open(script).map_err(|e| ti2net::Error::io(script, e))?;
        Box::new(std::io::BufReader::new(f))
    };
    let who = Annotator { name, dataset: ds };
    let mut out = std::io::stdout().lock();
    let mut rejected = 0;
    for (n, line) in input.lines().enumerate() {
        let line = line.with_context(|| format!("{}: cannot be read", script.display()))?;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let result = Action::parse(line)
            .map_err(|e| e.to_string())
            .and_then(|action| review::act(&mut file, &who, &action).map_err(|e| e.to_string()));
        match result {
            Ok(()) => {
                writeln!(out, "ok {}", file.table.entries.len())?;
                out.flush()?;
            }
            Err(e) => {
                rejected += 1;
                eprintln!("warning: {} line {}: {e}", script.display(), n + 1);
            }
        }
    }
    eprintln!(
        "{} entries in {}",
        file.table.entries.len(),
        table.display()
    );
    Ok(if rejected > 0 { 3 } else { 0 })
}
