//! Batches on the command line: `analyze DIR --out-dir OUT`, `report DIR --out OUT`,
//! `--shard I/N`, and `ti2net merge`.

use super::analyze::{frames_csv, AnalysisArgs};
use anyhow::{bail, Result};
use clap::Args;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use ti2net::batch::{self, Event, Item, Row, Shard};
use ti2net::evidence;
use ti2net::fsutil::write_atomic;

#[derive(Args, Clone, Default)]
pub struct BatchArgs {
    /// Batch output folder: OUT/reports/KEY.json (each video's report) and KEY.csv,
    /// OUT/summary.json and OUT/summary.csv; a rerun skips the videos already done.
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
    /// Parallel analyses (default: one per two cores).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub jobs: Option<u32>,
    /// Take only the I-th of N stable shares of the videos (I from 0 to N-1), e.g.
    /// `--shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT`; join the shards'
    /// summaries with `ti2net merge`.
    #[arg(long)]
    pub shard: Option<Shard>,
}

#[derive(Args)]
pub struct MergeArgs {
    /// The shards' output folders (or their summary.json files).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Folder for the joined summary.json and summary.csv.
    #[arg(long)]
    out_dir: PathBuf,
    /// Replace a summary that exists there.
    #[arg(long)]
    force: bool,
}

fn row_of(item: &Item, a: &ti2net::pipeline::Analysis) -> Row {
    let r = &a.report;
    let mut problems = r.warnings.clone();
    if r.summary.frames_with_face == 0 {
        problems.push("no face was found".into());
    }
    Row {
        video: item.key.clone(),
        path: item.video.clone(),
        status: "ok".into(),
        sha256: Some(r.video.sha256.clone()),
        frames: Some(r.summary.frames_analysed),
        face_frames: Some(r.summary.frames_with_face),
        identity_changes: Some(r.summary.identity_changes),
        p_fake: r.verdict.as_ref().and_then(|v| v.p_fake),
        label: r.verdict.as_ref().map(|v| v.label.clone()),
        sim_claimed: r.claimed.as_ref().and_then(|c| c.median),
        problems,
        incomplete: super::analyze::exit_code(a) != 0,
    }
}

fn json_err(e: serde_json::Error) -> ti2net::Error {
    ti2net::Error::Other(format!("cannot encode the report: {e}"))
}

/// Runs a batch; `forensic`: HTML and JSON forensic reports instead of analysis reports.
pub fn run_batch(
    inputs: &[PathBuf],
    out: &Path,
    an: &AnalysisArgs,
    b: &BatchArgs,
    forensic: bool,
) -> Result<i32> {
    let all = batch::collect(inputs)?;
    if all.is_empty() {
        bail!("no video was found in {}", display_list(inputs));
    }
    let items: Vec<Item> = match b.shard {
        Some(s) => all.into_iter().filter(|i| s.holds(&i.key)).collect(),
        None => all,
    };
    let session = an.load()?;
    let mut settings = session.settings();
    if let Some(o) = settings.as_object_mut() {
        o.insert(
            "kind".into(),
            serde_json::json!(if forensic { "report" } else { "analyze" }),
        );
    }
    let jobs = b
        .jobs
        .map(|j| j as usize)
        .unwrap_or_else(batch::default_jobs)
        .min(items.len().max(1));
    eprintln!(
        "{} video(s){} with {jobs} parallel analyses into {}",
        items.len(),
        b.shard
            .map(|s| format!(" in shard {}/{}", s.index, s.count))
            .unwrap_or_default(),
        out.display()
    );
    let multi = MultiProgress::new();
    let overall = multi.add(ProgressBar::new(items.len() as u64));
    overall.set_style(
        ProgressStyle::with_template("videos [{bar:40}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let worker_bars: Vec<ProgressBar> = (0..jobs)
        .map(|_| {
            let bar = multi.add(ProgressBar::new(0));
            bar.set_style(
                ProgressStyle::with_template("  {msg:30!} [{bar:30}] {pos}/{len} frames {per_sec}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar
        })
        .collect();
    let on_event = |e: Event| match e {
        Event::Started { worker, key } => {
            if let Some(b) = worker_bars.get(worker) {
                b.set_message(key);
                b.set_position(0);
            }
        }
        Event::Frames {
            worker,
            done,
            total,
        } => {
            if let Some(b) = worker_bars.get(worker) {
                b.set_length(total);
                b.set_position(done);
            }
        }
        Event::Finished { row, resumed, .. } => {
            overall.inc(1);
            if resumed {
                overall.set_message(format!("{} already done", row.video));
            } else if !row.ok() {
                let _ = multi.println(format!("failed: {}", row.problems.join("; ")));
            }
        }
    };
    let init = |_w: usize| session.faces();
    let work = |faces: &mut ti2net::faces::FaceAnalyzer,
                item: &Item,
                on_frames: &mut dyn FnMut(u64, u64)|
     -> ti2net::Result<Row> {
        let mut on_progress = |p: ti2net::pipeline::Progress| on_frames(p.done, p.total);
        let mut thumbs = evidence::Thumbs::default();
        let mut on_frame = |f: &ti2net::video::Frame, c: Option<&ti2net::align::FaceCrops>| {
            if let (true, Some(c)) = (forensic, c) {
                thumbs.offer(f.index, &c.aligned);
            }
            Ok(())
        };
        let cancel = AtomicBool::new(false);
        let a = session.analyse(&item.video, faces, &mut on_progress, &mut on_frame, &cancel)?;
        if forensic {
            let rep = session.evidence(&a, &thumbs)?;
            write_atomic(
                &batch::report_path(out, &item.key, "html"),
                rep.html().as_bytes(),
                true,
            )?;
            write_atomic(
                &batch::report_path(out, &item.key, "json"),
                &rep.json()?,
                true,
            )?;
        } else {
            write_atomic(
                &batch::report_path(out, &item.key, "json"),
                &serde_json::to_vec_pretty(&a.report).map_err(json_err)?,
                true,
            )?;
            write_atomic(
                &batch::report_path(out, &item.key, "csv"),
                frames_csv(&a.report).as_bytes(),
                true,
            )?;
        }
        Ok(row_of(item, &a))
    };
    let outcome = batch::run(
        &items,
        out,
        jobs,
        settings,
        b.shard,
        init,
        work,
        &on_event,
        &AtomicBool::new(false),
    )?;
    for bar in &worker_bars {
        bar.finish_and_clear();
    }
    overall.finish_and_clear();
    let s = &outcome.summary;
    eprintln!(
        "{} video(s): {} done now, {} already done, {} failed; summary: {}",
        s.videos,
        s.videos - outcome.resumed - s.failed,
        outcome.resumed,
        s.failed,
        out.join("summary.csv").display()
    );
    for r in s.rows.iter().filter(|r| !r.ok()) {
        eprintln!("failed: {}", r.problems.join("; "));
    }
    drop(session);
    Ok(batch_exit_code(s))
}

/// A batch exits as its worst video would alone: 3 when a video failed, had no face or
/// could not be decoded to its end.
fn batch_exit_code(s: &batch::Summary) -> i32 {
    if s.failed > 0 || s.rows.iter().any(|r| r.incomplete) {
        3
    } else {
        0
    }
}

fn display_list(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `ti2net merge`.
pub fn merge(a: MergeArgs) -> Result<i32> {
    let json = a.out_dir.join("summary.json");
    if json.exists() && !a.force {
        return Err(ti2net::Error::Exists(json).into());
    }
    let s = batch::merge(&a.inputs)?;
    std::fs::create_dir_all(&a.out_dir).map_err(|e| ti2net::Error::io(&a.out_dir, e))?;
    s.write(&a.out_dir)?;
    eprintln!(
        "{} video(s) from {} summaries ({} failed) -> {}",
        s.videos,
        a.inputs.len(),
        s.failed,
        a.out_dir.join("summary.csv").display()
    );
    Ok(batch_exit_code(&s))
}
