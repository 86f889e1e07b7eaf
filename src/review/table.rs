//! The table of bad examples: one entry per flagged video or frame range, with the
//! reason, the annotator and the time. Stored as versioned JSON (or as CSV with the
//! same columns), saved atomically after every action, merged across annotators.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub use crate::fsutil::{utc_now, utc_text};

/// Bumped whenever a field changes meaning or disappears.
pub const SCHEMA: &str = "ti2net.review-table/1";

/// The columns of the CSV form, in order.
pub const CSV_COLUMNS: [&str; 9] = [
    "dataset",
    "video",
    "label",
    "frames",
    "reason",
    "status",
    "note",
    "annotator",
    "time",
];

/// The label a video has in its dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Label {
    Real,
    Fake,
    Unknown,
}

impl Label {
    pub fn name(self) -> &'static str {
        match self {
            Label::Real => "real",
            Label::Fake => "fake",
            Label::Unknown => "unknown",
        }
    }
}

/// Why an example is bad. The digit keys 1 to 8 of the review tab follow [`Reason::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    NoFace,
    WrongPerson,
    SeveralFaces,
    BadCrops,
    IdentityChange,
    NoManipulation,
    Mislabelled,
    Corrupt,
}

impl Reason {
    pub const ALL: [Reason; 8] = [
        Reason::NoFace,
        Reason::WrongPerson,
        Reason::SeveralFaces,
        Reason::BadCrops,
        Reason::IdentityChange,
        Reason::NoManipulation,
        Reason::Mislabelled,
        Reason::Corrupt,
    ];

    /// The name in the table (snake case).
    pub fn code(self) -> &'static str {
        match self {
            Reason::NoFace => "no_face",
            Reason::WrongPerson => "wrong_person",
            Reason::SeveralFaces => "several_faces",
            Reason::BadCrops => "bad_crops",
            Reason::IdentityChange => "identity_change",
            Reason::NoManipulation => "no_manipulation",
            Reason::Mislabelled => "mislabelled",
            Reason::Corrupt => "corrupt",
        }
    }

    /// Words for the window.
    pub fn describe(self) -> &'static str {
        match self {
            Reason::NoFace => "no face",
            Reason::WrongPerson => "wrong person tracked",
            Reason::SeveralFaces => "several faces",
            Reason::BadCrops => "bad crops",
            Reason::IdentityChange => "identity change in a real video",
            Reason::NoManipulation => "no manipulation visible",
            Reason::Mislabelled => "mislabelled",
            Reason::Corrupt => "corrupt",
        }
    }

    pub fn from_code(s: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.code() == s)
    }
}

/// Where an entry stands: flagged by a person, suggested by the analysis, or a
/// suggestion a person dismissed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Flagged,
    Suggested,
    Dismissed,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Flagged => "flagged",
            Status::Suggested => "suggested",
            Status::Dismissed => "dismissed",
        }
    }
}

/// Video frames `first..=last` (indices in the video, from 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Frames {
    pub first: u64,
    pub last: u64,
}

impl Frames {
    /// A range from two ends in any order.
    pub fn new(a: u64, b: u64) -> Self {
        Self {
            first: a.min(b),
            last: a.max(b),
        }
    }

    pub fn contains(&self, frame: u64) -> bool {
        (self.first..=self.last).contains(&frame)
    }

    /// `first-last`.
    pub fn text(&self) -> String {
        format!("{}-{}", self.first, self.last)
    }

    /// Reads `first-last` (or one frame number).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let (a, b) = s.split_once('-').unwrap_or((s, s));
        Some(Frames::new(a.trim().parse().ok()?, b.trim().parse().ok()?))
    }
}

/// One bad example: a whole video (`frames` null) or a range of its frames.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The dataset's name (the name of its folder).
    pub dataset: String,
    /// The video's path relative to the dataset's folder, with `/` separators.
    pub video: String,
    pub label: Label,
    pub frames: Option<Frames>,
    pub reason: Reason,
    pub status: Status,
    #[serde(default)]
    pub note: String,
    pub annotator: String,
    /// UTC, RFC 3339 (`2026-11-27T09:30:00Z`).
    pub time: String,
}

impl Entry {
    /// What makes two entries the same flag (the time, the status and the note aside).
    fn key(&self) -> (&str, &str, Option<Frames>, Reason, &str) {
        (
            &self.dataset,
            &self.video,
            self.frames,
            self.reason,
            &self.annotator,
        )
    }

    /// True for an entry that asks to leave its video or frames out (flagged or suggested).
    pub fn excludes(&self) -> bool {
        self.status != Status::Dismissed
    }
}

/// A video an annotator has looked at (flagged or not).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reviewed {
    pub dataset: String,
    pub video: String,
    pub annotator: String,
    pub time: String,
}

/// The whole table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    pub schema: String,
    pub entries: Vec<Entry>,
    /// Videos looked at (kept in the JSON form only).
    #[serde(default)]
    pub reviewed: Vec<Reviewed>,
}

impl Default for Table {
    fn default() -> Self {
        Self {
            schema: SCHEMA.into(),
            entries: Vec::new(),
            reviewed: Vec::new(),
        }
    }
}

/// True when `path` names a CSV table (by its extension).
pub fn is_csv(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
}

impl Table {
    /// Reads a table (JSON, or CSV when the name ends in `.csv`); a broken one is an
    /// error naming the file and the problem.
    pub fn read(path: &Path) -> Result<Table> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_bytes(path, &bytes)
    }

    /// Parses the bytes of the table at `path` (named in errors).
    pub fn from_bytes(path: &Path, bytes: &[u8]) -> Result<Table> {
        let t = if is_csv(path) {
            Self::from_csv(path, bytes)?
        } else {
            let t: Table = serde_json::from_slice(bytes)
                .map_err(|e| Error::data(path, format!("is not a valid review table ({e})")))?;
            if t.schema != SCHEMA {
                return Err(Error::data(
                    path,
                    format!(
                        "is a table of schema {:?}, this ti2net reads {SCHEMA:?}",
                        t.schema
                    ),
                ));
            }
            t
        };
        for (i, e) in t.entries.iter().enumerate() {
            if e.video.trim().is_empty() {
                return Err(Error::data(path, format!("entry {} names no video", i + 1)));
            }
        }
        Ok(t)
    }

    fn from_csv(path: &Path, bytes: &[u8]) -> Result<Table> {
        let mut r = csv::ReaderBuilder::new().from_reader(bytes);
        let bad = |what: String| Error::data(path, format!("is not a valid review table ({what})"));
        let header = r.headers().map_err(|e| bad(e.to_string()))?.clone();
        if header.iter().collect::<Vec<_>>() != CSV_COLUMNS {
            return Err(bad(format!(
                "its columns are {:?}, expected {:?}",
                header.iter().collect::<Vec<_>>(),
                CSV_COLUMNS
            )));
        }
        let mut t = Table::default();
        for (n, rec) in r.records().enumerate() {
            let row = n + 2;
            let rec = rec.map_err(|e| bad(format!("line {row}: {e}")))?;
            let f = |i: usize| {
                crate::fsutil::from_spreadsheet_cell(rec.get(i).unwrap_or("")).to_string()
            };
            let label = match f(2).as_str() {
                "real" => Label::Real,
                "fake" => Label::Fake,
                "unknown" | "" => Label::Unknown,
                o => return Err(bad(format!("line {row}: unknown label {o:?}"))),
            };
            let frames =
                match f(3).trim() {
                    "" => None,
                    s => Some(Frames::parse(s).ok_or_else(|| {
                        bad(format!("line {row}: frames {s:?} are not FIRST-LAST"))
                    })?),
                };
            let reason = Reason::from_code(f(4).trim())
                .ok_or_else(|| bad(format!("line {row}: unknown reason {:?}", f(4))))?;
            let status = match f(5).trim() {
                "flagged" => Status::Flagged,
                "suggested" => Status::Suggested,
                "dismissed" => Status::Dismissed,
                o => return Err(bad(format!("line {row}: unknown status {o:?}"))),
            };
            t.entries.push(Entry {
                dataset: f(0),
                video: f(1),
                label,
                frames,
                reason,
                status,
                note: f(6),
                annotator: f(7),
                time: f(8),
            });
        }
        Ok(t)
    }

    /// The table as JSON.
    pub fn to_json(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).unwrap_or_default();
        v.push(b'\n');
        v
    }

    /// The entries as CSV ([`CSV_COLUMNS`]).
    pub fn to_csv(&self) -> Vec<u8> {
        use crate::fsutil::spreadsheet_cell as text;
        let rows = self.entries.iter().map(|e| {
            vec![
                text(&e.dataset).into_owned(),
                text(&e.video).into_owned(),
                e.label.name().to_string(),
                e.frames.map(|f| f.text()).unwrap_or_default(),
                e.reason.code().to_string(),
                e.status.name().to_string(),
                text(&e.note).into_owned(),
                text(&e.annotator).into_owned(),
                e.time.clone(),
            ]
        });
        crate::fsutil::csv_bytes(&CSV_COLUMNS, rows)
    }

    /// The bytes of the form `path` asks for (CSV or JSON).
    pub fn bytes_for(&self, path: &Path) -> Vec<u8> {
        if is_csv(path) {
            self.to_csv()
        } else {
            self.to_json()
        }
    }

    /// Adds the entries and review marks of `other`: an entry already here (same
    /// dataset, video, frames, reason and annotator) keeps the newer of the two;
    /// different annotators' entries are all kept.
    pub fn merge(&mut self, other: &Table) {
        for e in &other.entries {
            match self.entries.iter_mut().find(|x| x.key() == e.key()) {
                Some(x) => {
                    if e.time > x.time {
                        *x = e.clone();
                    }
                }
                None => self.entries.push(e.clone()),
            }
        }
        for r in &other.reviewed {
            if !self
                .reviewed
                .iter()
                .any(|x| x.dataset == r.dataset && x.video == r.video && x.annotator == r.annotator)
            {
                self.reviewed.push(r.clone());
            }
        }
    }

    /// Entries of one video, with their positions.
    pub fn of_video<'a>(&'a self, video: &'a str) -> impl Iterator<Item = (usize, &'a Entry)> + 'a {
        self.entries
            .iter()
            .enumerate()
            .filter(move |(_, e)| e.video == video)
    }

    pub fn is_reviewed(&self, video: &str) -> bool {
        self.reviewed.iter().any(|r| r.video == video)
    }
}

/// A table bound to its file: every change is saved at once, atomically, and a file
/// changed by someone else since it was read is never overwritten.
#[derive(Debug)]
pub struct TableFile {
    pub path: PathBuf,
    pub table: Table,
    /// The bytes last read or written (what must still be on disk when saving).
    on_disk: Option<Vec<u8>>,
}

impl TableFile {
    /// Opens the table at `path`, or starts an empty one there (written on the first
    /// change).
    pub fn open(path: &Path) -> Result<TableFile> {
        match std::fs::read(path) {
            Ok(bytes) => Ok(TableFile {
                path: path.to_path_buf(),
                table: Table::from_bytes(path, &bytes)?,
                on_disk: Some(bytes),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(TableFile {
                path: path.to_path_buf(),
                table: Table::default(),
                on_disk: None,
            }),
            Err(e) => Err(Error::io(path, e)),
        }
    }

    /// Applies `change` and saves; when the save fails the change is undone.
    pub fn update<R>(&mut self, change: impl FnOnce(&mut Table) -> R) -> Result<R> {
        let before = self.table.clone();
        let r = change(&mut self.table);
        if let Err(e) = self.save() {
            self.table = before;
            return Err(e);
        }
        Ok(r)
    }

    /// Writes the table (atomically: a temporary file, fsync, rename, fsync of the
    /// folder). Refuses when the file changed on disk since it was read or written.
    pub fn save(&mut self) -> Result<()> {
        // Read, compare and rename under an advisory lock, so that two annotators
        // saving at once cannot both pass the comparison and lose one's entries.
        let _lock = lock_beside(&self.path)?;
        let current = match std::fs::read(&self.path) {
            Ok(b) => Some(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::io(&self.path, e)),
        };
        if current != self.on_disk {
            return Err(Error::data(
                &self.path,
                "changed on disk since it was opened (another annotator or program?); \
                 not overwritten: reopen it, or merge the two tables with `ti2net review --merge`",
            ));
        }
        let bytes = self.table.bytes_for(&self.path);
        crate::fsutil::write_atomic(&self.path, &bytes, true)?;
        sync_parent(&self.path);
        self.on_disk = Some(bytes);
        Ok(())
    }
}

/// An exclusive advisory lock on `.NAME.lock` beside `path` (the table itself is
/// replaced by each save, so it cannot carry the lock), released when the file closes.
fn lock_beside(path: &Path) -> Result<std::fs::File> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "table".into());
    let lock = path.with_file_name(format!(".{name}.lock"));
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock)
        .map_err(|e| Error::io(&lock, e))?;
    f.lock().map_err(|e| Error::io(&lock, e))?;
    Ok(f)
}

/// Makes the rename durable (best effort).
fn sync_parent(path: &Path) {
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
}
