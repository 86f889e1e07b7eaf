//! What made an identity file: the encoder and its weights' hash, the frame step, the
//! face detector's upsampling and the tool version, in a sidecar beside it
//! (`PREFIX_ids.npy` -> `PREFIX_ids.provenance.json`). `extract` writes it (and keeps
//! the same record in each per-video part, so that a rerun resumes only parts made the
//! same way); `train` reads it to label the checkpoint with the encoder.

use crate::error::{Error, Result};
use crate::fsutil::write_atomic;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const SCHEMA: &str = "ti2net.ids-provenance/1";

/// How an identity file (or one video's part of it) was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdProvenance {
    pub schema: String,
    /// Identity encoder (`mobilefacenet`, `arcface-r18`).
    pub encoder: String,
    /// sha256 of the encoder's weights file.
    pub weights_sha256: String,
    /// Frame step (every n-th frame).
    pub every: u32,
    /// Whether the face detector upsampled the frames.
    pub upsample: bool,
    /// ti2net's version.
    pub tool_version: String,
}

impl IdProvenance {
    pub fn new(encoder: &str, weights_sha256: &str, every: u32, upsample: bool) -> Self {
        Self {
            schema: SCHEMA.into(),
            encoder: encoder.into(),
            weights_sha256: weights_sha256.into(),
            every,
            upsample,
            tool_version: env!("CARGO_PKG_VERSION").into(),
        }
    }

    /// Whether vectors made with `other` are interchangeable with these (the tool
    /// version aside).
    pub fn same_settings(&self, other: &IdProvenance) -> bool {
        self.encoder == other.encoder
            && self.weights_sha256 == other.weights_sha256
            && self.every == other.every
            && self.upsample == other.upsample
    }

    /// The settings in words, for messages.
    pub fn describe(&self) -> String {
        format!(
            "encoder {} (weights {}), every {} frame(s), upsampling {}",
            self.encoder,
            &self.weights_sha256[..12.min(self.weights_sha256.len())],
            self.every,
            if self.upsample { "on" } else { "off" }
        )
    }
}

/// The sidecar of an identity file: `X.npy` -> `X.provenance.json`.
pub fn sidecar_path(ids: &Path) -> PathBuf {
    let stem = ids
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    ids.with_file_name(format!("{stem}.provenance.json"))
}

/// Reads the sidecar of `ids`; `None` when there is none.
pub fn read(ids: &Path) -> Result<Option<IdProvenance>> {
    let p = sidecar_path(ids);
    let bytes = match std::fs::read(&p) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(&p, e)),
    };
    let prov: IdProvenance = serde_json::from_slice(&bytes)
        .map_err(|e| Error::data(&p, format!("is not a provenance record ({e})")))?;
    if prov.schema != SCHEMA {
        return Err(Error::data(
            &p,
            format!("has schema {:?}, expected {SCHEMA:?}", prov.schema),
        ));
    }
    Ok(Some(prov))
}

/// Writes the sidecar of `ids` atomically, right after `ids` itself was written:
/// whatever sidecar was there described an older file, and is replaced.
pub fn write(ids: &Path, prov: &IdProvenance) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(prov)
        .map_err(|e| Error::Other(format!("cannot write provenance: {e}")))?;
    write_atomic(&sidecar_path(ids), &bytes, true)
}

/// The encoder that made the identity files `sets` (each with its sidecar, if any):
/// from the sidecars, which must agree with each other and with `flag` (the user's
/// `--encoder`), else `flag`. Without either, an error asks for `--encoder`.
pub fn resolve_encoder(
    sets: &[(&Path, Option<&IdProvenance>)],
    flag: Option<&str>,
) -> Result<String> {
    let mut known: Option<(&Path, &IdProvenance)> = None;
    for (path, prov) in sets {
        let Some(prov) = prov else { continue };
        if let Some((first, p0)) = known {
            if p0.encoder != prov.encoder || p0.weights_sha256 != prov.weights_sha256 {
                return Err(Error::data(
                    path,
                    format!(
                        "was made by {} but {} by {}: train on identity files of one encoder",
                        prov.describe(),
                        first.display(),
                        p0.describe()
                    ),
                ));
            }
        } else {
            known = Some((path, prov));
        }
    }
    match (known, flag) {
        (Some((path, p)), Some(f)) if f != p.encoder => Err(Error::data(
            path,
            format!(
                "was made by the {} encoder (its {}), not {f}: drop --encoder or pass --encoder {}",
                p.encoder,
                sidecar_path(path)
                    .file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default(),
                p.encoder
            ),
        )),
        (Some((_, p)), _) => Ok(p.encoder.clone()),
        (None, Some(f)) => Ok(f.to_string()),
        (None, None) => {
            let first = sets.first().map(|(p, _)| *p).unwrap_or(Path::new("?"));
            Err(Error::data(
                first,
                format!(
                    "has no provenance record ({}), so the encoder that made it is unknown: \
                     pass --encoder, or extract it again with `ti2net extract`",
                    sidecar_path(first)
                        .file_name()
                        .map(|n| n.to_string_lossy().to_string())
                        .unwrap_or_default()
                ),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sidecar_names() {
        assert_eq!(
            sidecar_path(Path::new("/d/real_ids.npy")),
            PathBuf::from("/d/real_ids.provenance.json")
        );
    }

    #[test]
    fn the_encoder_comes_from_the_sidecars_and_conflicts_are_refused() {
        let m = IdProvenance::new("mobilefacenet", "aa", 1, true);
        let r = IdProvenance::new("arcface-r18", "bb", 1, true);
        let (a, b) = (Path::new("a_ids.npy"), Path::new("b_ids.npy"));
        assert_eq!(
            resolve_encoder(&[(a, Some(&r)), (b, Some(&r))], None).unwrap(),
            "arcface-r18"
        );
        assert_eq!(
            resolve_encoder(&[(a, Some(&r)), (b, None)], Some("arcface-r18")).unwrap(),
            "arcface-r18"
        );
        let e = resolve_encoder(&[(a, Some(&r)), (b, Some(&m))], None).unwrap_err();
        assert!(e.to_string().contains("one encoder"), "{e}");
        let e =
            resolve_encoder(&[(a, Some(&r)), (b, Some(&r))], Some("mobilefacenet")).unwrap_err();
        assert!(e.to_string().contains("not mobilefacenet"), "{e}");
        assert_eq!(
            resolve_encoder(&[(a, None), (b, None)], Some("mobilefacenet")).unwrap(),
            "mobilefacenet"
        );
        let e = resolve_encoder(&[(a, None), (b, None)], None).unwrap_err();
        assert!(e.to_string().contains("--encoder"), "{e}");
    }
}
