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

/// The components of `path` as matched against a table: its canonical form when it
/// exists (so that `./a.mp4` still shows the folders above it), else as given.
fn components(path: &Path) -> Vec<String> {
    std::fs::canonicalize(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .components()
        .map(|c| c.as_os_str().to_string_lossy().to_string())
        .collect()
}

/// True when the components `have` (see [`components`]) are the table's video `rel`
/// (`a/b/c.mp4`) of dataset `dataset`: they end with `rel`'s components, and the folder
/// above those is named `dataset` (any folder when the entry names no dataset), so that
/// two datasets holding the same relative path are told apart.
fn matches_components(have: &[String], dataset: &str, rel: &str) -> bool {
    let want: Vec<&str> = rel
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    if want.is_empty() || have.len() < want.len() {
        return false;
    }
    let tail = have.len() - want.len();
    have[tail..].iter().zip(&want).all(|(a, b)| a == b)
        && (dataset.is_empty() || (tail > 0 && have[tail - 1] == dataset))
}

/// True when `path` is the table's video `rel` of dataset `dataset`.
pub fn matches(path: &Path, dataset: &str, rel: &str) -> bool {
    matches_components(&components(path), dataset, rel)
}

/// Splits `videos` by the table's flagged and suggested entries (dismissed ones are
/// ignored): whole-video entries skip the video, frame ranges are trimmed.
pub fn apply(table: &Table, videos: &[PathBuf]) -> Exclusion {
    let mut x = Exclusion::default();
    let comps: Vec<Vec<String>> = videos.iter().map(|v| components(v)).collect();
    let hit = |c: &[String], e: &super::table::Entry| matches_components(c, &e.dataset, &e.video);
    for (v, c) in videos.iter().zip(&comps) {
        let entries: Vec<_> = table
            .entries
            .iter()
            .filter(|e| e.excludes() && hit(c, e))
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
        .filter(|e| e.excludes() && !comps.iter().any(|c| hit(c, e)))
        .count();
    x
}

/// True when `frame` falls in one of `ranges` (inclusive).
pub fn trimmed(ranges: &[(u64, u64)], frame: u64) -> bool {
    ranges.iter().any(|&(a, b)| (a..=b).contains(&frame))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::review::table::{Entry, Label, Reason, Status};

    fn flag(dataset: &str, video: &str) -> Entry {
        Entry {
            dataset: dataset.into(),
            video: video.into(),
            label: Label::Fake,
            frames: None,
            reason: Reason::Corrupt,
            status: Status::Flagged,
            note: String::new(),
            annotator: "a".into(),
            time: String::new(),
        }
    }

    #[test]
    fn an_entry_excludes_its_own_datasets_video_only() {
        let mut t = Table::default();
        t.entries.push(flag("ffpp", "x/v.mp4"));
        let videos = [
            PathBuf::from("/data/ffpp/x/v.mp4"),
            PathBuf::from("/data/celeb/x/v.mp4"),
            PathBuf::from("/data/ffpp/y/v.mp4"),
        ];
        let x = apply(&t, &videos);
        assert_eq!(x.skipped, vec![videos[0].clone()]);
        assert_eq!(x.keep, videos[1..].to_vec());
        assert_eq!(x.unmatched, 0);
        // An entry that names no dataset matches by its path alone.
        let mut t = Table::default();
        t.entries.push(flag("", "x/v.mp4"));
        assert_eq!(apply(&t, &videos).skipped.len(), 2);
        // One of another dataset matches nothing and is counted.
        let mut t = Table::default();
        t.entries.push(flag("dfdc", "x/v.mp4"));
        let x = apply(&t, &videos);
        assert!(x.skipped.is_empty());
        assert_eq!(x.unmatched, 1);
    }
}
