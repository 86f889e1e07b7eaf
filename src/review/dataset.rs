//! The videos to review and their labels, read from the folder's layout:
//! FaceForensics++ (`original_sequences/<source>/<raw|c23|c40>/videos` real,
//! `manipulated_sequences/<method>/<raw|c23|c40>/videos` fake), Celeb-DF v2
//! (`Celeb-real` and `YouTube-real` real, `Celeb-synthesis` fake, with
//! `List_of_testing_videos.txt`), or a plain folder (labels from a `real` or `fake`
//! folder on the way, else unknown).

use super::table::Label;
use crate::error::{Error, Result};
use crate::video::is_video;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// How the folder is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    FaceForensics,
    CelebDf,
    Folder,
}

impl Layout {
    pub fn name(self) -> &'static str {
        match self {
            Layout::FaceForensics => "FaceForensics++",
            Layout::CelebDf => "Celeb-DF v2",
            Layout::Folder => "folder of videos",
        }
    }
}

/// One video of the dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetVideo {
    pub path: PathBuf,
    /// Relative to the dataset's folder, `/` separators (the table's `video`).
    pub rel: String,
    pub label: Label,
    /// The manipulation method (FaceForensics++), or the source folder.
    pub group: String,
    /// In Celeb-DF's list of testing videos.
    pub test: bool,
}

/// A dataset: its folder, layout and videos (sorted by relative path).
#[derive(Debug, Clone)]
pub struct Dataset {
    pub root: PathBuf,
    /// The folder's name (the table's `dataset`).
    pub name: String,
    pub layout: Layout,
    pub videos: Vec<DatasetVideo>,
    /// Things a user should know (a test list naming missing videos, labels that
    /// disagree).
    pub warnings: Vec<String>,
}

/// The name a dataset at `root` has in tables.
pub fn dataset_name(root: &Path) -> String {
    let r = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    r.file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "dataset".into())
}

/// `path` relative to `root` with `/` separators.
pub fn rel_path(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().to_string())
        .collect::<Vec<_>>()
        .join("/")
}

/// Reads the dataset at `root` (a folder; a single video is a dataset of one).
pub fn open(root: &Path) -> Result<Dataset> {
    if !root.exists() {
        return Err(Error::Missing(root.to_path_buf()));
    }
    if root.is_file() {
        let dir = root.parent().unwrap_or(Path::new(".")).to_path_buf();
        return Ok(Dataset {
            name: dataset_name(&dir),
            layout: Layout::Folder,
            videos: vec![DatasetVideo {
                path: root.to_path_buf(),
                rel: rel_path(&dir, root),
                label: Label::Unknown,
                group: String::new(),
                test: false,
            }],
            root: dir,
            warnings: Vec::new(),
        });
    }
    let layout = if root.join("original_sequences").is_dir()
        || root.join("manipulated_sequences").is_dir()
    {
        Layout::FaceForensics
    } else if ["Celeb-real", "Celeb-synthesis", "YouTube-real"]
        .iter()
        .any(|d| root.join(d).is_dir())
    {
        Layout::CelebDf
    } else {
        Layout::Folder
    };
    let mut files = Vec::new();
    for e in walkdir::WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
    {
        let e = e.map_err(|e| {
            let p = e.path().unwrap_or(root).to_path_buf();
            Error::data(p, format!("cannot be read ({e})"))
        })?;
        if e.file_type().is_file() && is_video(e.path()) {
            files.push(e.path().to_path_buf());
        }
    }
    let mut ds = Dataset {
        root: root.to_path_buf(),
        name: dataset_name(root),
        layout,
        videos: Vec::new(),
        warnings: Vec::new(),
    };
    for path in files {
        let rel = rel_path(root, &path);
        let parts: Vec<&str> = rel.split('/').collect();
        let v = match layout {
            Layout::FaceForensics => ff_video(&parts),
            Layout::CelebDf => celeb_video(&parts),
            Layout::Folder => Some(folder_video(&parts)),
        };
        if let Some((label, group)) = v {
            ds.videos.push(DatasetVideo {
                path,
                rel,
                label,
                group,
                test: false,
            });
        }
    }
    if layout == Layout::CelebDf {
        read_celeb_test_list(&mut ds)?;
    }
    Ok(ds)
}

/// `original_sequences/<src>/<comp>/videos/x.mp4` or
/// `manipulated_sequences/<method>/<comp>/videos/x.mp4` (masks are left out).
fn ff_video(parts: &[&str]) -> Option<(Label, String)> {
    let [top, group, comp, "videos", _file] = parts else {
        return None;
    };
    if !["raw", "c23", "c40"].contains(comp) {
        return None;
    }
    match *top {
        "original_sequences" => Some((Label::Real, group.to_string())),
        "manipulated_sequences" => Some((Label::Fake, group.to_string())),
        _ => None,
    }
}

fn celeb_video(parts: &[&str]) -> Option<(Label, String)> {
    let [dir, _file] = parts else { return None };
    match *dir {
        "Celeb-real" | "YouTube-real" => Some((Label::Real, dir.to_string())),
        "Celeb-synthesis" => Some((Label::Fake, dir.to_string())),
        _ => None,
    }
}

fn folder_video(parts: &[&str]) -> (Label, String) {
    let dirs = &parts[..parts.len().saturating_sub(1)];
    let label = dirs
        .iter()
        .rev()
        .find_map(|d| match d.to_ascii_lowercase().as_str() {
            "real" | "original" | "pristine" => Some(Label::Real),
            "fake" | "fakes" | "manipulated" | "synthesis" => Some(Label::Fake),
            _ => None,
        })
        .unwrap_or(Label::Unknown);
    (label, dirs.join("/"))
}

/// Celeb-DF's `List_of_testing_videos.txt`: lines `LABEL PATH`, 1 real, 0 fake.
fn read_celeb_test_list(ds: &mut Dataset) -> Result<()> {
    let list = ds.root.join("List_of_testing_videos.txt");
    let text = match std::fs::read_to_string(&list) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(&list, e)),
    };
    let index: BTreeMap<String, usize> = ds
        .videos
        .iter()
        .enumerate()
        .map(|(i, v)| (v.rel.clone(), i))
        .collect();
    let mut missing = 0;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (l, p) = line.split_once(char::is_whitespace).ok_or_else(|| {
            Error::data(
                &list,
                format!("line {}: expected \"LABEL PATH\", found {line:?}", n + 1),
            )
        })?;
        let label = match l {
            "1" => Label::Real,
            "0" => Label::Fake,
            o => {
                return Err(Error::data(
                    &list,
                    format!(
                        "line {}: label {o:?} is neither 1 (real) nor 0 (fake)",
                        n + 1
                    ),
                ))
            }
        };
        match index.get(p.trim()) {
            Some(&i) => {
                let v = &mut ds.videos[i];
                v.test = true;
                if v.label != label {
                    ds.warnings.push(format!(
                        "{}: line {} labels {} {}, its folder says {}",
                        list.display(),
                        n + 1,
                        v.rel,
                        label.name(),
                        v.label.name()
                    ));
                }
            }
            None => missing += 1,
        }
    }
    if missing > 0 {
        ds.warnings.push(format!(
            "{}: {missing} listed videos are not in the folder",
            list.display()
        ));
    }
    Ok(())
}
