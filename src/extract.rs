//! Identity files from folders of videos (the original's format), in parallel and
//! resumable: each video's vectors are written to a part file as soon as it is done,
//! so an interrupted run redoes no finished video and leaves nothing half-written.
//! Each part records the settings that made it ([`IdProvenance`]): a rerun with other
//! settings redoes the parts made otherwise, and the identity file gets a sidecar.

use crate::encoder::{Encoder, ID_DIM};
use crate::error::{Error, Result};
use crate::faces::FaceAnalyzer;
use crate::fsutil::{sha256_bytes, write_atomic};
use crate::pipeline::{self, AnalyzeOptions};
pub use crate::provenance::IdProvenance;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

pub use crate::video::{is_video, VIDEO_EXTENSIONS};

/// One row of the extraction table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExtractRow {
    #[serde(serialize_with = "crate::fsutil::lossy_path")]
    pub video: PathBuf,
    pub frames: usize,
    pub faces: usize,
    /// Null when the video was extracted; else why not, or a warning.
    pub problem: Option<String>,
    /// Whether its vectors are in the identity file.
    pub included: bool,
    /// Part file holding its vectors (inside the parts folder).
    pub part: String,
    /// The settings that made the part (absent in parts of earlier versions).
    #[serde(default)]
    pub settings: Option<IdProvenance>,
}

/// The provenance of vectors made by `encoder` with `opts`.
pub fn provenance(encoder: &Encoder, opts: &AnalyzeOptions) -> IdProvenance {
    IdProvenance::new(
        encoder.kind().name(),
        encoder.weights_sha256(),
        opts.selection.every.get(),
        opts.upsample,
    )
}

/// Video files under the given paths (files or folders, searched recursively and
/// following symbolic links; a link back to a folder above it is an error), sorted.
pub fn find_videos(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if !p.exists() {
            return Err(Error::Missing(p.clone()));
        }
        if p.is_file() {
            out.push(p.clone());
            continue;
        }
        for entry in walkdir::WalkDir::new(p).follow_links(true) {
            let e = entry.map_err(|e| {
                let path = e.path().unwrap_or(p).to_path_buf();
                if let Some(up) = e.loop_ancestor() {
                    Error::data(
                        &path,
                        format!(
                            "is a symbolic link to {}, a folder that contains it (a loop)",
                            up.display()
                        ),
                    )
                } else {
                    match e.into_io_error() {
                        Some(io) => Error::io(&path, io),
                        None => Error::data(&path, "cannot be read"),
                    }
                }
            })?;
            if e.file_type().is_file() && is_video(e.path()) {
                out.push(e.into_path());
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The part file's name: a hash of the path (and of the trimmed ranges, when any).
fn part_name(video: &Path, trim: &[(u64, u64)]) -> String {
    let mut key = video.to_string_lossy().to_string();
    if !trim.is_empty() {
        key.push_str(&format!(" trim {trim:?}"));
    }
    let stem = video
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let safe: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{}-{}", &sha256_bytes(key.as_bytes())[..12], safe)
}

/// Progress of an extraction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExtractProgress {
    pub videos_done: usize,
    pub videos_total: usize,
    /// Videos found already done (resumed).
    pub skipped: usize,
    /// Videos whose part was made with other settings, and so redone.
    pub redone: usize,
}

/// Frame ranges (first, last, inclusive) to leave out of each video (`--exclude`).
pub type Trims = std::collections::BTreeMap<PathBuf, Vec<(u64, u64)>>;

/// What to extract, and how.
#[derive(Debug, Clone)]
pub struct ExtractJob {
    pub videos: Vec<PathBuf>,
    /// Folder of the per-video part files.
    pub parts: PathBuf,
    /// dlib 68-landmark model.
    pub landmarks: PathBuf,
    pub opts: AnalyzeOptions,
    /// Parallel workers.
    pub threads: usize,
    /// Frames left out of some videos.
    pub trim: Trims,
}

/// Extracts every video into `parts` (one `.npy` and one `.json` per video), with
/// `threads` workers. Videos already done are skipped.
pub fn extract_parts(
    job: &ExtractJob,
    encoder: &Encoder,
    on_progress: &(dyn Fn(ExtractProgress) + Sync),
    cancel: &AtomicBool,
) -> Result<Vec<ExtractRow>> {
    let ExtractJob {
        videos,
        parts,
        landmarks,
        opts,
        threads,
        trim,
    } = job;
    let (videos, parts, landmarks, opts, threads) = (
        videos.as_slice(),
        parts.as_path(),
        landmarks.as_path(),
        opts,
        *threads,
    );
    std::fs::create_dir_all(parts).map_err(|e| Error::io(parts, e))?;
    let prov = provenance(encoder, opts);
    let redone = AtomicUsize::new(0);
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let skipped = AtomicUsize::new(0);
    let rows: Mutex<Vec<Option<ExtractRow>>> = Mutex::new(vec![None; videos.len()]);
    let first_error: Mutex<Option<Error>> = Mutex::new(None);
    let total = videos.len();
    std::thread::scope(|s| {
        for w in 0..threads.max(1) {
            let (next, done, skipped, redone, rows, first_error, prov) =
                (&next, &done, &skipped, &redone, &rows, &first_error, &prov);
            let _ = std::thread::Builder::new()
                .name(format!("ti2net-extract-{w}"))
                .spawn_scoped(s, move || {
                    let faces = match FaceAnalyzer::new(landmarks, opts.upsample) {
                        Ok(f) => f,
                        Err(e) => {
                            if let Ok(mut g) = first_error.lock() {
                                g.get_or_insert(e);
                            }
                            return;
                        }
                    };
                    loop {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        if i >= total || cancel.load(Ordering::Relaxed) {
                            break;
                        }
                        let video = &videos[i];
                        let cut = trim.get(video).map(Vec::as_slice).unwrap_or(&[]);
                        let name = part_name(video, cut);
                        let row_path = parts.join(format!("{name}.json"));
                        let existing = std::fs::read(&row_path)
                            .ok()
                            .and_then(|b| serde_json::from_slice::<ExtractRow>(&b).ok());
                        let same = |r: &ExtractRow| {
                            r.settings.as_ref().is_some_and(|s| s.same_settings(prov))
                        };
                        let row = match existing {
                            Some(r) if r.video == *video && same(&r) => {
                                skipped.fetch_add(1, Ordering::SeqCst);
                                Ok(r)
                            }
                            Some(r) => {
                                if r.video == *video {
                                    redone.fetch_add(1, Ordering::SeqCst);
                                }
                                extract_one(
                                    video, cut, &name, parts, encoder, &faces, opts, prov, cancel,
                                )
                            }
                            None => extract_one(
                                video, cut, &name, parts, encoder, &faces, opts, prov, cancel,
                            ),
                        };
                        match row {
                            Ok(r) => {
                                if let Ok(mut g) = rows.lock() {
                                    g[i] = Some(r);
                                }
                            }
                            Err(Error::Cancelled) => break,
                            Err(e) => {
                                if let Ok(mut g) = first_error.lock() {
                                    g.get_or_insert(e);
                                }
                                break;
                            }
                        }
                        let d = done.fetch_add(1, Ordering::SeqCst) + 1;
                        on_progress(ExtractProgress {
                            videos_done: d,
                            videos_total: total,
                            skipped: skipped.load(Ordering::SeqCst),
                            redone: redone.load(Ordering::SeqCst),
                        });
                    }
                });
        }
    });
    if let Some(e) = first_error.into_inner().ok().flatten() {
        return Err(e);
    }
    if cancel.load(Ordering::Relaxed) {
        return Err(Error::Cancelled);
    }
    Ok(rows
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect())
}

#[allow(clippy::too_many_arguments)]
fn extract_one(
    video: &Path,
    trim: &[(u64, u64)],
    name: &str,
    parts: &Path,
    encoder: &Encoder,
    faces: &FaceAnalyzer,
    opts: &AnalyzeOptions,
    prov: &IdProvenance,
    cancel: &AtomicBool,
) -> Result<ExtractRow> {
    let mut row = ExtractRow {
        video: video.to_path_buf(),
        frames: 0,
        faces: 0,
        problem: None,
        included: false,
        part: format!("{name}.npy"),
        settings: Some(prov.clone()),
    };
    match pipeline::analyze(
        video,
        encoder,
        faces,
        opts,
        &mut |_| {},
        &mut |_, _| Ok(()),
        cancel,
    ) {
        Ok(a) => {
            let vecs: Vec<&Vec<f32>> = a
                .report
                .frames
                .iter()
                .zip(&a.vectors)
                .filter(|(f, _)| !trim.iter().any(|&(s, e)| (s..=e).contains(&f.index)))
                .filter_map(|(_, v)| v.as_ref())
                .collect();
            row.frames = a.report.frames.len();
            row.faces = vecs.len();
            if !a.report.warnings.is_empty() {
                row.problem = Some(a.report.warnings.join("; "));
            }
            let flat: Vec<f32> = vecs.iter().flat_map(|v| v.iter().copied()).collect();
            write_atomic(
                &parts.join(&row.part),
                &crate::npy::f32_matrix_bytes(vecs.len(), ID_DIM, &flat)?,
                true,
            )?;
            row.included = true;
        }
        Err(Error::Cancelled) => return Err(Error::Cancelled),
        Err(e) => row.problem = Some(e.to_string()),
    }
    write_atomic(
        &parts.join(format!("{name}.json")),
        &serde_json::to_vec_pretty(&row).unwrap_or_default(),
        true,
    )?;
    Ok(row)
}

/// Stacks the parts of the included videos, in the table's order, into the identity
/// file, its lengths file and its provenance sidecar. Every part must have been made
/// with `prov`'s settings.
pub fn assemble(
    rows: &[ExtractRow],
    parts: &Path,
    ids: &Path,
    lens: &Path,
    prov: &IdProvenance,
    overwrite: bool,
) -> Result<()> {
    let mut flat = Vec::new();
    let mut lengths = Vec::new();
    for r in rows.iter().filter(|r| r.included) {
        if !r.settings.as_ref().is_some_and(|s| s.same_settings(prov)) {
            return Err(Error::data(
                parts.join(&r.part),
                format!("was not made with {}", prov.describe()),
            ));
        }
        let p = parts.join(&r.part);
        let (shape, data) = crate::npy::read_f32(&p)?;
        let n = shape.first().copied().unwrap_or(0);
        flat.extend(data);
        lengths.push(n as i64);
    }
    let n: i64 = lengths.iter().sum();
    write_atomic(
        ids,
        &crate::npy::f32_matrix_bytes(n as usize, ID_DIM, &flat)?,
        overwrite,
    )?;
    write_atomic(lens, &crate::npy::i64_vector_bytes(&lengths)?, overwrite)?;
    crate::provenance::write(ids, prov)?;
    Ok(())
}

/// The table as CSV.
pub fn table_csv(rows: &[ExtractRow]) -> String {
    use crate::fsutil::spreadsheet_cell as text;
    let rows = rows.iter().map(|r| {
        vec![
            text(&r.video.to_string_lossy()).into_owned(),
            r.frames.to_string(),
            r.faces.to_string(),
            r.included.to_string(),
            text(r.problem.as_deref().unwrap_or("")).into_owned(),
        ]
    });
    let bytes =
        crate::fsutil::csv_bytes(&["video", "frames", "faces", "included", "problem"], rows);
    String::from_utf8_lossy(&bytes).into_owned()
}
