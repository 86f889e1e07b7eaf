//! `--exclude TABLE` of `extract` and `train`: leave out what a review table flags
//! (or suggests; dismissed entries are ignored) and say how much was left out.

use anyhow::Result;
use std::path::{Path, PathBuf};
use ti2net::classifier::dataset::IdSet;
use ti2net::review::{exclude, Table};

/// The videos `extract` keeps, and the frame ranges to trim from them.
pub fn for_extract(
    table: &Path,
    videos: Vec<PathBuf>,
) -> Result<(Vec<PathBuf>, ti2net::extract::Trims)> {
    let t = Table::read(table)?;
    let x = exclude::apply(&t, &videos);
    let ranges: usize = x.trim.values().map(|r| r.len()).sum();
    eprintln!(
        "--exclude {}: skipped {} of {} videos, trimming {} frame ranges from {} videos",
        table.display(),
        x.skipped.len(),
        videos.len(),
        ranges,
        x.trim.len()
    );
    warn_unmatched(table, x.unmatched);
    Ok((x.keep, x.trim))
}

/// Says when entries of the table name none of the videos (a table of another
/// dataset, or of another folder than the one given).
fn warn_unmatched(table: &Path, n: usize) {
    if n > 0 {
        eprintln!(
            "note: {}: {n} flagged entries name none of these videos (another folder's, or paths relative to another folder)",
            table.display()
        );
    }
}

/// The extraction table beside an identity file: `PREFIX_videos.csv` for
/// `PREFIX_ids.npy`.
fn videos_table(ids: &Path) -> PathBuf {
    let s = ids.to_string_lossy();
    let prefix = s
        .strip_suffix("_ids.npy")
        .unwrap_or(s.trim_end_matches(".npy"));
    PathBuf::from(format!("{prefix}_videos.csv"))
}

/// The videos of an identity file, in its order (the included rows of its extraction
/// table).
fn videos_of(ids: &Path) -> Result<Vec<PathBuf>> {
    let csv_path = videos_table(ids);
    let bytes = std::fs::read(&csv_path).map_err(|e| ti2net::Error::io(&csv_path, e))?;
    let mut r = csv::Reader::from_reader(bytes.as_slice());
    let bad =
        |e: String| ti2net::Error::data(&csv_path, format!("is not an extraction table ({e})"));
    let h = r.headers().map_err(|e| bad(e.to_string()))?.clone();
    let col = |name: &str| {
        h.iter()
            .position(|c| c == name)
            .ok_or_else(|| bad(format!("no {name:?} column")))
    };
    let (vc, ic) = (col("video")?, col("included")?);
    let mut out = Vec::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| bad(e.to_string()))?;
        if rec.get(ic) == Some("true") {
            out.push(PathBuf::from(rec.get(vc).unwrap_or("")));
        }
    }
    Ok(out)
}

/// Leaves out of `set` (and of its groups) the videos the table flags as a whole,
/// matched through the extraction table beside the identity file.
pub fn for_train(
    table: &Table,
    table_path: &Path,
    set: IdSet,
    groups: Option<Vec<i64>>,
) -> Result<(IdSet, Option<Vec<i64>>)> {
    let videos = videos_of(&set.ids_path)?;
    if videos.len() != set.videos.len() {
        anyhow::bail!(
            "{}: lists {} included videos, {} holds {}; was it made by another extraction?",
            videos_table(&set.ids_path).display(),
            videos.len(),
            set.ids_path.display(),
            set.videos.len()
        );
    }
    let x = exclude::apply(table, &videos);
    let ranges: usize = x.trim.values().map(|r| r.len()).sum();
    let IdSet {
        ids_path,
        videos: all,
        ids_sha256,
        lens_sha256,
        provenance,
    } = set;
    let mut kept = IdSet {
        ids_path,
        videos: Vec::new(),
        ids_sha256,
        lens_sha256,
        provenance,
    };
    let mut kept_groups = groups.as_ref().map(|_| Vec::new());
    for (v, path) in all.into_iter().zip(&videos) {
        if x.skipped.contains(path) {
            continue;
        }
        if let (Some(k), Some(g)) = (kept_groups.as_mut(), groups.as_ref()) {
            k.push(g[v.index]);
        }
        kept.videos.push(ti2net::classifier::dataset::IdVideo {
            index: kept.videos.len(),
            ..v
        });
    }
    eprintln!(
        "--exclude {}: skipped {} of {} videos of {}{}",
        table_path.display(),
        x.skipped.len(),
        videos.len(),
        kept.ids_path.display(),
        if ranges > 0 {
            format!(
                "; {ranges} flagged frame ranges cannot be trimmed from an identity file (extract again with --exclude to trim them)"
            )
        } else {
            String::new()
        }
    );
    Ok((kept, kept_groups))
}
