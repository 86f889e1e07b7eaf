//! `--exclude TABLE` for `extract` and `train`: which videos to leave out and which
//! frame ranges to trim, matching the table's relative paths to the files given.

use super::table::{Frames, Table};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What a table asks to leave out of a list of videos.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Exclusion {
    /// Videos kept, in their order.
    pub keep: Vec<PathBuf>,
    /// Videos skipped (flagged as a whole).
    pub skipped: Vec<PathBuf>,
    /// Frame ranges to trim from kept videos.
    pub trim: BTreeMap<PathBuf, Vec<(u64, u64)>>,
    /// Flagged or suggested entries that name none of the videos (another dataset,
    /// or paths relative to another folder).
    pub unmatched: usize,
}

/// True when `path` ends with the components of `rel` (`a/b/c.mp4`).
pub fn matches(path: &Path, rel: &str) -> bool {
    let want: Vec<&str> = rel
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    let have: Vec<String> = path
        .components()
        .map(|c| c.as_os_str().to_string_lossy().to_string())
        .collect();
    !want.is_empty()
        && have.len() >= want.len()
        && have[have.len() - want.len()..]
            .iter()
            .zip(&want)
            .all(|(a, b)| a == b)
}

/// Splits `videos` by the table's flagged and suggested entries (dismissed ones are
/// ignored): whole-video entries skip the video, frame ranges are trimmed.
pub fn apply(table: &Table, videos: &[PathBuf]) -> Exclusion {
    let mut x = Exclusion::default();
    for v in videos {
        let entries: Vec<_> = table
            .entries
            .iter()
            .filter(|e| e.excludes() && matches(v, &e.video))
            .collect();
        if entries.iter().any(|e| e.frames.is_none()) {
            x.skipped.push(v.clone());
            continue;
        }
        let ranges: Vec<(u64, u64)> = entries
            .iter()
            .filter_map(|e| e.frames.map(|Frames { first, last }| (first, last)))
            .collect();
        if !ranges.is_empty() {
            x.trim.insert(v.clone(), ranges);
        }
        x.keep.push(v.clone());
    }
    x.unmatched = table
        .entries
        .iter()
        .filter(|e| e.excludes() && !videos.iter().any(|v| matches(v, &e.video)))
        .count();
    x
}

/// True when `frame` falls in one of `ranges` (inclusive).
pub fn trimmed(ranges: &[(u64, u64)], frame: u64) -> bool {
    ranges.iter().any(|&(a, b)| (a..=b).contains(&frame))
}
