//! Batches: many videos analysed in parallel into one output folder, resumable, with
//! one summary; `--shard I/N` takes a stable share of the videos so a cluster
//! scheduler can spread a dataset over machines, and [`merge`] joins the shards'
//! summaries into the one an unsharded run gives.
//!
//! Output folder layout:
//! - `reports/<key>.json`: each video's report (and whatever else the job writes
//!   under the same key, such as `reports/<key>.html`);
//! - `rows/<key>.json`: each video's summary row, written last: a video with an `ok`
//!   row is finished and is not redone; a failed one is tried again;
//! - `summary.json`, `summary.csv`: the rows of every video of the run (or shard).
//!
//! A key is the video's path relative to the folder it was found in (its file name for
//! a file given directly), with `/` written as `__`.

use crate::error::{Error, Result};
use crate::fsutil::{sha256_bytes, write_atomic};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

pub const SUMMARY_SCHEMA: &str = "ti2net.batch/1";

/// One video of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub video: PathBuf,
    pub key: String,
}

/// `--shard I/N`: the I-th of N shares (I from 0 to N-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let bad = || format!("`{s}` is not a shard: write I/N with 0 <= I < N, e.g. 0/4");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u32 = i.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Self { index, count })
    }
}

impl Shard {
    /// Whether `key` belongs to this shard: a hash of the key, so the share does not
    /// depend on the order or the number of videos, nor on the machine.
    pub fn holds(&self, key: &str) -> bool {
        let h = sha256_bytes(key.as_bytes());
        let v = u64::from_str_radix(&h[..16], 16).unwrap_or(0);
        v % self.count as u64 == self.index as u64
    }
}

/// The videos under `inputs` (files, or folders searched recursively), each with its
/// key. Two videos with the same key (the same relative path under two folders) are
/// an error naming both.
pub fn collect(inputs: &[PathBuf]) -> Result<Vec<Item>> {
    let mut items: Vec<Item> = Vec::new();
    for input in inputs {
        let videos = crate::extract::find_videos(std::slice::from_ref(input))?;
        for v in videos {
            let rel = if input.is_dir() {
                v.strip_prefix(input).unwrap_or(&v).to_path_buf()
            } else {
                PathBuf::from(v.file_name().unwrap_or(v.as_os_str()))
            };
            let key = key_of(&rel);
            if let Some(other) = items.iter().find(|i| i.key == key) {
                return Err(Error::Other(format!(
                    "{} and {} have the same name in the batch ({key}); give them in separate runs or rename one",
                    other.video.display(),
                    v.display()
                )));
            }
            items.push(Item { video: v, key });
        }
    }
    items.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(items)
}

/// The longest key kept whole (file names are at most 255 bytes, and a key's files add
/// an extension such as `.report.json`).
pub const MAX_KEY_BYTES: usize = 200;

/// The key of a video at `rel` (its path relative to the input folder): the components
/// joined by `__`. A name that is not UTF-8 or a key over [`MAX_KEY_BYTES`] is cut and
/// ends in a hash of the path's bytes, so every video keeps a key of its own that the
/// file system accepts.
pub fn key_of(rel: &Path) -> String {
    let key = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().to_string())
        .collect::<Vec<_>>()
        .join("__");
    let lossless = rel.to_str().is_some();
    if lossless && key.len() <= MAX_KEY_BYTES {
        return key;
    }
    #[cfg(unix)]
    let raw = {
        use std::os::unix::ffi::OsStrExt;
        rel.as_os_str().as_bytes().to_vec()
    };
    #[cfg(not(unix))]
    let raw = key.as_bytes().to_vec();
    let hash = &sha256_bytes(&raw)[..16];
    // Keep the extension, so that the key still says what kind of file it was.
    let ext = rel
        .extension()
        .map(|e| e.to_string_lossy().to_string())
        .filter(|e| e.len() <= 8)
        .unwrap_or_default();
    let mut cut = MAX_KEY_BYTES - hash.len() - ext.len() - 3;
    while !key.is_char_boundary(cut.min(key.len())) {
        cut -= 1;
    }
    let head = &key[..cut.min(key.len())];
    if ext.is_empty() {
        format!("{head}~{hash}")
    } else {
        format!("{head}~{hash}.{ext}")
    }
}

/// One line of the summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// The video's key (its path relative to the input folder).
    pub video: String,
    /// The path it was read from.
    #[serde(serialize_with = "crate::fsutil::lossy_path")]
    pub path: PathBuf,
    /// `ok` or `failed`.
    pub status: String,
    pub sha256: Option<String>,
    pub frames: Option<usize>,
    pub face_frames: Option<usize>,
    pub identity_changes: Option<usize>,
    pub p_fake: Option<f32>,
    pub label: Option<String>,
    /// Median similarity to the claimed person, when one was given.
    #[serde(default)]
    pub sim_claimed: Option<f32>,
    /// Warnings, or the error of a failed video.
    pub problems: Vec<String>,
    /// An analysis that ran but is incomplete as a single `analyze` counts it (exit
    /// status 3): no face was found, or the video could not be decoded to its end.
    #[serde(default)]
    pub incomplete: bool,
}

impl Row {
    pub fn failed(item: &Item, why: String) -> Self {
        Self {
            video: item.key.clone(),
            path: item.video.clone(),
            status: "failed".into(),
            sha256: None,
            frames: None,
            face_frames: None,
            identity_changes: None,
            p_fake: None,
            label: None,
            sim_claimed: None,
            problems: vec![why],
            incomplete: false,
        }
    }

    pub fn ok(&self) -> bool {
        self.status == "ok"
    }
}

/// `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub schema: String,
    pub tool_version: String,
    /// What every video was analysed with (the same for every shard of a run).
    pub settings: serde_json::Value,
    /// The shard this summary covers (`I/N`), or null for a whole run or a merge.
    pub shard: Option<String>,
    pub videos: usize,
    pub failed: usize,
    pub rows: Vec<Row>,
}

impl Summary {
    pub fn new(settings: serde_json::Value, shard: Option<Shard>, mut rows: Vec<Row>) -> Self {
        rows.sort_by(|a, b| a.video.cmp(&b.video));
        Self {
            schema: SUMMARY_SCHEMA.into(),
            tool_version: env!("CARGO_PKG_VERSION").into(),
            settings,
            shard: shard.map(|s| format!("{}/{}", s.index, s.count)),
            videos: rows.len(),
            failed: rows.iter().filter(|r| !r.ok()).count(),
            rows,
        }
    }

    pub fn csv(&self) -> String {
        use crate::fsutil::spreadsheet_cell as text;
        let num = |v: Option<usize>| v.map(|v| v.to_string()).unwrap_or_default();
        let f = |v: Option<f32>| v.map(|v| format!("{v:.6}")).unwrap_or_default();
        let rows = self.rows.iter().map(|r| {
            vec![
                text(&r.video).into_owned(),
                r.status.clone(),
                r.sha256.clone().unwrap_or_default(),
                num(r.frames),
                num(r.face_frames),
                num(r.identity_changes),
                f(r.p_fake),
                text(r.label.as_deref().unwrap_or_default()).into_owned(),
                f(r.sim_claimed),
                text(&r.problems.join("; ")).into_owned(),
            ]
        });
        let bytes = crate::fsutil::csv_bytes(
            &[
                "video",
                "status",
                "sha256",
                "frames",
                "face_frames",
                "identity_changes",
                "p_fake",
                "label",
                "sim_claimed",
                "problems",
            ],
            rows,
        );
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Writes `summary.json` and `summary.csv` into `dir` (replacing the previous ones:
    /// they are rebuilt from the rows).
    pub fn write(&self, dir: &Path) -> Result<()> {
        let json = serde_json::to_vec_pretty(self)
            .map_err(|e| Error::Other(format!("cannot encode the summary: {e}")))?;
        write_atomic(&dir.join("summary.json"), &json, true)?;
        write_atomic(&dir.join("summary.csv"), self.csv().as_bytes(), true)
    }

    pub fn read(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let s: Summary = serde_json::from_slice(&bytes)
            .map_err(|e| Error::Other(format!("{}: not a batch summary ({e})", path.display())))?;
        if s.schema != SUMMARY_SCHEMA {
            return Err(Error::Other(format!(
                "{}: a summary of schema {}, this version reads {SUMMARY_SCHEMA}",
                path.display(),
                s.schema
            )));
        }
        Ok(s)
    }
}

/// Joins the summaries of the shards of one run (the `summary.json` files of their
/// output folders, or the files themselves). Their settings must agree and no video
/// may appear twice with different results.
pub fn merge(inputs: &[PathBuf]) -> Result<Summary> {
    let mut settings: Option<(PathBuf, serde_json::Value)> = None;
    let mut rows: Vec<Row> = Vec::new();
    for p in inputs {
        let file = if p.is_dir() {
            p.join("summary.json")
        } else {
            p.clone()
        };
        let s = Summary::read(&file)?;
        match &settings {
            Some((first, v)) if *v != s.settings => {
                return Err(Error::Other(format!(
                    "{}: analysed with other settings than {}; shards of one run must share them",
                    file.display(),
                    first.display()
                )))
            }
            Some(_) => {}
            None => settings = Some((file.clone(), s.settings.clone())),
        }
        for r in s.rows {
            match rows.iter().find(|x| x.video == r.video) {
                Some(x) if *x != r => {
                    return Err(Error::Other(format!(
                        "{}: video {} is also in another shard with a different result",
                        file.display(),
                        r.video
                    )))
                }
                Some(_) => {}
                None => rows.push(r),
            }
        }
    }
    let settings = settings.map(|s| s.1).unwrap_or(serde_json::Value::Null);
    Ok(Summary::new(settings, None, rows))
}

/// Where a key's files go.
pub fn report_path(out: &Path, key: &str, ext: &str) -> PathBuf {
    out.join("reports").join(format!("{key}.{ext}"))
}

fn row_path(out: &Path, key: &str) -> PathBuf {
    out.join("rows").join(format!("{key}.json"))
}

/// The row of a video finished by an earlier run, when it still holds: an `ok` row for
/// the same path, whose recorded sha256 is the file's now (a video replaced under the
/// same name is analysed again), and whose report (`reports/<key>.json`) reads back as
/// JSON (a report cut short is written again).
fn finished_row(out: &Path, item: &Item) -> Option<Row> {
    let row = std::fs::read(row_path(out, &item.key))
        .ok()
        .and_then(|b| serde_json::from_slice::<Row>(&b).ok())
        .filter(|r| r.ok() && r.path == item.video)?;
    let recorded = row.sha256.as_deref()?;
    if crate::fsutil::sha256_file(&item.video).ok().as_deref() != Some(recorded) {
        return None;
    }
    let report = std::fs::read(report_path(out, &item.key, "json")).ok()?;
    serde_json::from_slice::<serde_json::Value>(&report).ok()?;
    Some(row)
}

/// The message of a panic caught in a batch worker.
fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".into())
}

/// Progress of a batch.
#[derive(Debug, Clone)]
pub enum Event {
    /// A worker started a video.
    Started { worker: usize, key: String },
    /// Frames of a worker's current video.
    Frames {
        worker: usize,
        done: u64,
        total: u64,
    },
    /// A video is finished (or was already, `resumed`).
    Finished {
        worker: usize,
        row: Row,
        resumed: bool,
    },
}

/// What a batch did.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub summary: Summary,
    /// Videos found finished by an earlier run.
    pub resumed: usize,
}

/// Runs `work` on every item not finished yet, with `jobs` workers. `work(worker,
/// item, on_frames)` analyses one video and writes its files (under
/// [`report_path`]), returning its summary row; an error becomes a failed row and the
/// batch goes on. `init(worker)` builds a worker's own state (a face detector) once.
#[allow(clippy::too_many_arguments)]
pub fn run<S, I, W>(
    items: &[Item],
    out: &Path,
    jobs: usize,
    settings: serde_json::Value,
    shard: Option<Shard>,
    init: I,
    work: W,
    on_event: &(dyn Fn(Event) + Sync),
    cancel: &AtomicBool,
) -> Result<Outcome>
where
    I: Fn(usize) -> Result<S> + Sync,
    W: Fn(&mut S, &Item, &mut dyn FnMut(u64, u64)) -> Result<Row> + Sync,
{
    for d in [out.to_path_buf(), out.join("reports"), out.join("rows")] {
        std::fs::create_dir_all(&d).map_err(|e| Error::io(&d, e))?;
    }
    let settings_path = out.join("settings.json");
    match std::fs::read(&settings_path) {
        Ok(b) => {
            let before: serde_json::Value = serde_json::from_slice(&b).unwrap_or_default();
            if before != settings {
                return Err(Error::Other(format!(
                    "{}: this folder holds a batch made with other settings; use another --out-dir or the same settings",
                    out.display()
                )));
            }
        }
        Err(_) => write_atomic(
            &settings_path,
            &serde_json::to_vec_pretty(&settings).unwrap_or_default(),
            true,
        )?,
    }
    let next = AtomicUsize::new(0);
    let resumed = AtomicUsize::new(0);
    let rows: Mutex<Vec<Option<Row>>> = Mutex::new(vec![None; items.len()]);
    let fatal: Mutex<Option<Error>> = Mutex::new(None);
    std::thread::scope(|s| {
        for w in 0..jobs.max(1) {
            let (next, resumed, rows, fatal, init, work) =
                (&next, &resumed, &rows, &fatal, &init, &work);
            let spawned = std::thread::Builder::new()
                .name(format!("ti2net-batch-{w}"))
                .spawn_scoped(s, move || {
                    let mut state = None;
                    loop {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        if i >= items.len() || cancel.load(Ordering::Relaxed) {
                            break;
                        }
                        let item = &items[i];
                        let rp = row_path(out, &item.key);
                        if let Some(row) = finished_row(out, item) {
                            resumed.fetch_add(1, Ordering::SeqCst);
                            on_event(Event::Finished {
                                worker: w,
                                row: row.clone(),
                                resumed: true,
                            });
                            if let Ok(mut g) = rows.lock() {
                                g[i] = Some(row);
                            }
                            continue;
                        }
                        if state.is_none() {
                            match init(w) {
                                Ok(st) => state = Some(st),
                                Err(e) => {
                                    if let Ok(mut g) = fatal.lock() {
                                        g.get_or_insert(e);
                                    }
                                    break;
                                }
                            }
                        }
                        let Some(st) = state.as_mut() else { break };
                        on_event(Event::Started {
                            worker: w,
                            key: item.key.clone(),
                        });
                        let mut on_frames = |done, total| {
                            on_event(Event::Frames {
                                worker: w,
                                done,
                                total,
                            })
                        };
                        // A panic in one video's analysis (a defect, or a library
                        // meeting a crafted file) fails that video, not the batch;
                        // the worker's state is built anew for the next one.
                        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            work(st, item, &mut on_frames)
                        }));
                        let row = match result {
                            Ok(Ok(r)) => r,
                            Ok(Err(Error::Cancelled)) => break,
                            Ok(Err(e)) => Row::failed(item, e.to_string()),
                            Err(p) => {
                                state = None;
                                Row::failed(
                                    item,
                                    format!(
                                        "{}: the analysis stopped on an internal error ({})",
                                        item.video.display(),
                                        panic_message(p.as_ref())
                                    ),
                                )
                            }
                        };
                        let bytes = serde_json::to_vec_pretty(&row).unwrap_or_default();
                        if let Err(e) = write_atomic(&rp, &bytes, true) {
                            if let Ok(mut g) = fatal.lock() {
                                g.get_or_insert(e);
                            }
                            break;
                        }
                        on_event(Event::Finished {
                            worker: w,
                            row: row.clone(),
                            resumed: false,
                        });
                        if let Ok(mut g) = rows.lock() {
                            g[i] = Some(row);
                        }
                    }
                });
            if let Err(e) = spawned {
                if let Ok(mut g) = fatal.lock() {
                    g.get_or_insert(Error::Other(format!("cannot start a worker thread: {e}")));
                }
            }
        }
    });
    if let Some(e) = fatal.into_inner().ok().flatten() {
        return Err(e);
    }
    if cancel.load(Ordering::Relaxed) {
        return Err(Error::Cancelled);
    }
    let rows: Vec<Row> = rows
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect();
    let summary = Summary::new(settings, shard, rows);
    summary.write(out)?;
    Ok(Outcome {
        summary,
        resumed: resumed.into_inner(),
    })
}

/// Parallel analyses that suit this machine: one per two cores (an analysis keeps
/// about two busy: decoding and detection, then embedding), at least one.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get().div_ceil(2))
        .unwrap_or(1)
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_keys() {
        let keys: Vec<String> = (0..200).map(|i| format!("dir__video{i}.mp4")).collect();
        let shards: Vec<Shard> = (0..3).map(|i| format!("{i}/3").parse().unwrap()).collect();
        let mut counts = [0; 3];
        for k in &keys {
            let holders: Vec<usize> = (0..3).filter(|&i| shards[i].holds(k)).collect();
            assert_eq!(holders.len(), 1, "{k} is in shards {holders:?}");
            counts[holders[0]] += 1;
        }
        assert!(counts.iter().all(|&c| c > 40), "unbalanced: {counts:?}");
    }

    #[test]
    fn shard_syntax() {
        assert!("3/3".parse::<Shard>().is_err());
        assert!("1/0".parse::<Shard>().is_err());
        assert!("a/2".parse::<Shard>().is_err());
        assert_eq!(
            "1/2".parse::<Shard>().unwrap(),
            Shard { index: 1, count: 2 }
        );
    }

    #[test]
    fn the_summary_csv_quotes_and_defuses_formulas() {
        let item = Item {
            video: PathBuf::from("x/=HYPERLINK(1).mp4"),
            key: "=HYPERLINK(\"http://a\",\"b\").mp4".into(),
        };
        let s = Summary::new(
            serde_json::Value::Null,
            None,
            vec![Row::failed(&item, "a, b".into())],
        );
        let csv = s.csv();
        let mut r = csv::Reader::from_reader(csv.as_bytes());
        let rec = r.records().next().unwrap().unwrap();
        assert_eq!(&rec[0], "'=HYPERLINK(\"http://a\",\"b\").mp4");
        assert_eq!(&rec[9], "a, b");
    }
}
