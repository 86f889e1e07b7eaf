//! Installed models: where they live, which registry package they come from, and
//! their pinned hashes. Nothing is downloaded here: `scripts/setup.sh` fetches the
//! packages with their ordinary clients and `ti2net models import` converts.

use crate::encoder::mobilefacenet;
use crate::error::{Error, Result};
use crate::fsutil::{sha256_file, write_atomic};
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// One model file the program uses.
#[derive(Debug, Clone, Serialize)]
pub struct ModelEntry {
    pub name: &'static str,
    pub package: &'static str,
    pub file_in_package: &'static str,
    /// Pinned sha256 of the file as shipped (None for files this program writes).
    pub pinned_sha256: Option<&'static str>,
    pub path: PathBuf,
}

/// The state of a model file on this machine.
#[derive(Debug, Clone, Serialize)]
pub struct ModelStatus {
    #[serde(flatten)]
    pub entry: ModelEntry,
    pub installed: bool,
    pub sha256: Option<String>,
    /// `ok`, `missing` or `hash mismatch`.
    pub state: String,
}

pub const FR_FEATURE_SHA256: &str =
    "87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581";
pub const DLIB_68_SHA256: &str = "fbdc2cb80eb9aa7a758672cbfdda32ba6300efe9b6e6c7a299ff7e736b11b92f";

/// The folder holding weights: `$TI2NET_WEIGHTS`, else `./weights` when it exists,
/// else the project's own `weights/`.
pub fn weights_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("TI2NET_WEIGHTS") {
        return PathBuf::from(d);
    }
    let local = PathBuf::from("weights");
    if local.join("mobilefacenet.safetensors").exists() {
        return local;
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("weights")
}

pub fn mobilefacenet_onnx() -> PathBuf {
    weights_dir().join("sources").join("fr_feature.onnx")
}

pub fn mobilefacenet_weights() -> PathBuf {
    weights_dir().join("mobilefacenet.safetensors")
}

/// The demo detector built by `ti2net demo build` (run by setup), and its model card.
pub fn demo_checkpoint() -> PathBuf {
    weights_dir().join("ti2net-demo.safetensors")
}

pub fn demo_card() -> PathBuf {
    weights_dir().join("ti2net-demo.md")
}

/// The 68-landmark model: `$TI2NET_LANDMARKS`, else Debian's `libdlib-data` file.
pub fn landmarks_model() -> PathBuf {
    std::env::var_os("TI2NET_LANDMARKS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(crate::faces::DEBIAN_LANDMARKS))
}

pub fn catalogue() -> Vec<ModelEntry> {
    vec![
        ModelEntry {
            name: "mobilefacenet (source)",
            package: "npm faceplugin-face-recognition-js@0.0.1",
            file_in_package: "package/model/fr_feature.onnx",
            pinned_sha256: Some(FR_FEATURE_SHA256),
            path: mobilefacenet_onnx(),
        },
        ModelEntry {
            name: "mobilefacenet",
            package: "converted from fr_feature.onnx by `ti2net models import`",
            file_in_package: "-",
            pinned_sha256: None,
            path: mobilefacenet_weights(),
        },
        ModelEntry {
            name: "dlib 68 landmarks",
            package: "Debian libdlib-data",
            file_in_package: "/usr/share/dlib/shape_predictor_68_face_landmarks.dat",
            pinned_sha256: Some(DLIB_68_SHA256),
            path: landmarks_model(),
        },
    ]
}

pub fn status() -> Vec<ModelStatus> {
    catalogue()
        .into_iter()
        .map(|entry| {
            let installed = entry.path.is_file();
            let sha256 = if installed {
                sha256_file(&entry.path).ok()
            } else {
                None
            };
            let state = match (&sha256, entry.pinned_sha256) {
                (None, _) => "missing",
                (Some(h), Some(p)) if h != p => "hash mismatch",
                _ => "ok",
            }
            .to_string();
            ModelStatus {
                entry,
                installed,
                sha256,
                state,
            }
        })
        .collect()
}

/// Converts MobileFaceNet's ONNX file into safetensors. Returns false when `out`
/// already holds the conversion of this very source.
pub fn import_mobilefacenet(onnx: &Path, out: &Path, force: bool, any_hash: bool) -> Result<bool> {
    let source_sha = sha256_file(onnx)?;
    if !any_hash && source_sha != FR_FEATURE_SHA256 {
        return Err(Error::weights(
            onnx,
            format!(
                "sha256 {source_sha} differs from the pinned {FR_FEATURE_SHA256} \
                 (pass --any-hash to import it anyway)"
            ),
        ));
    }
    if out.exists() && !force {
        if let Ok(bytes) = std::fs::read(out) {
            if let Ok((_, meta)) = safetensors::SafeTensors::read_metadata(&bytes) {
                let same = meta
                    .metadata()
                    .as_ref()
                    .and_then(|m| m.get("source_sha256"))
                    .map(|s| s == &source_sha)
                    .unwrap_or(false);
                if same {
                    return Ok(false);
                }
            }
        }
        return Err(Error::Exists(out.to_path_buf()));
    }
    let tensors = mobilefacenet::import_onnx(onnx)?;
    let bytes = to_safetensors(
        &tensors,
        HashMap::from([
            ("format".to_string(), "ti2net.mobilefacenet/1".to_string()),
            (
                "source".to_string(),
                "npm faceplugin-face-recognition-js@0.0.1 package/model/fr_feature.onnx"
                    .to_string(),
            ),
            ("source_sha256".to_string(), source_sha),
        ]),
    )?;
    write_atomic(out, &bytes, true)?;
    Ok(true)
}

/// Serialises named f32 tensors with metadata.
pub fn to_safetensors(
    tensors: &mobilefacenet::NamedTensors,
    metadata: HashMap<String, String>,
) -> Result<Vec<u8>> {
    let raw: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(k, (shape, data))| {
            let bytes = data.iter().flat_map(|v| v.to_le_bytes()).collect();
            (k.clone(), shape.clone(), bytes)
        })
        .collect();
    let views = raw
        .iter()
        .map(|(k, shape, bytes)| {
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), bytes)
                .map(|v| (k.clone(), v))
        })
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::Other(format!("cannot build safetensors: {e}")))?;
    safetensors::tensor::serialize(views, Some(metadata))
        .map_err(|e| Error::Other(format!("cannot write safetensors: {e}")))
}
