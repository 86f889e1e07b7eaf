//! Identity files in the original's format: one float32 `.npy` of every face frame's
//! identity vector of every video stacked (sum of lengths x 1024) and one integer
//! `.npy` of the per-video lengths.

use crate::encoder::ID_DIM;
use crate::error::{Error, Result};
use crate::fsutil::sha256_file;
use std::path::{Path, PathBuf};

/// The face frames' identity vectors of one video.
#[derive(Debug, Clone)]
pub struct IdVideo {
    /// Position in its identity file.
    pub index: usize,
    /// Row-major `len x 1024`.
    pub vectors: Vec<f32>,
    pub len: usize,
}

/// The videos of one identity file.
#[derive(Debug, Clone)]
pub struct IdSet {
    pub ids_path: PathBuf,
    pub videos: Vec<IdVideo>,
    pub ids_sha256: String,
    pub lens_sha256: Option<String>,
    /// What made it (its sidecar), when known.
    pub provenance: Option<crate::provenance::IdProvenance>,
}

/// Loads an identity file; without `lens`, the whole file is one video.
pub fn load(ids: &Path, lens: Option<&Path>) -> Result<IdSet> {
    let (shape, data) = crate::npy::read_f32(ids)?;
    if shape.len() != 2 || shape[1] != ID_DIM {
        return Err(Error::data(
            ids,
            format!("has shape {shape:?}, expected (frames, {ID_DIM}) identity vectors"),
        ));
    }
    let rows = shape[0];
    if rows == 0 {
        return Err(Error::data(ids, "holds no identity vectors"));
    }
    if let Some(i) = data.iter().position(|v| !v.is_finite()) {
        return Err(Error::data(
            ids,
            format!("row {} holds a NaN or infinite value", i / ID_DIM),
        ));
    }
    let lengths: Vec<usize> = match lens {
        Some(lp) => {
            let l = crate::npy::read_i64(lp)?;
            if l.is_empty() {
                return Err(Error::data(lp, "holds no video lengths"));
            }
            if let Some(bad) = l.iter().find(|&&v| v < 0) {
                return Err(Error::data(lp, format!("holds a negative length ({bad})")));
            }
            // Summed with checks: crafted lengths must not wrap around to `rows`.
            let sum = l
                .iter()
                .try_fold(0usize, |s, &v| s.checked_add(usize::try_from(v).ok()?));
            let Some(sum) = sum else {
                return Err(Error::data(lp, "holds lengths whose sum overflows"));
            };
            if sum != rows {
                return Err(Error::data(
                    lp,
                    format!(
                        "lengths sum to {sum} but {} holds {rows} rows",
                        ids.file_name()
                            .map(|n| n.to_string_lossy().to_string())
                            .unwrap_or_default()
                    ),
                ));
            }
            l.into_iter().map(|v| v as usize).collect()
        }
        None => vec![rows],
    };
    let mut videos = Vec::with_capacity(lengths.len());
    let mut at = 0;
    for (index, len) in lengths.into_iter().enumerate() {
        videos.push(IdVideo {
            index,
            vectors: data[at * ID_DIM..(at + len) * ID_DIM].to_vec(),
            len,
        });
        at += len;
    }
    Ok(IdSet {
        ids_path: ids.to_path_buf(),
        videos,
        ids_sha256: sha256_file(ids)?,
        lens_sha256: lens.map(sha256_file).transpose()?,
        provenance: crate::provenance::read(ids)?,
    })
}

/// The encoder that made `sets`, from their provenance sidecars (which must agree),
/// else `flag` (the user's `--encoder`); see [`crate::provenance::resolve_encoder`].
pub fn encoder_of(sets: &[&IdSet], flag: Option<&str>) -> Result<String> {
    let v: Vec<(&Path, Option<&crate::provenance::IdProvenance>)> = sets
        .iter()
        .map(|s| (s.ids_path.as_path(), s.provenance.as_ref()))
        .collect();
    crate::provenance::resolve_encoder(&v, flag)
}
