//! TI2Net checkpoints: the original's `.pth` state dicts and ti2net's own
//! safetensors, which carry their provenance in the metadata (encoder, hidden size,
//! training data hashes, hyper-parameters, validation metrics).

use super::model::{Ti2Net, KEYS};
use crate::error::{Error, Result};
use crate::fsutil::{sha256_file, write_atomic};
use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

pub const FORMAT: &str = "ti2net.classifier/1";

/// What a trained checkpoint says about itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// Identity encoder the training features came from (`mobilefacenet`, ...).
    pub encoder: Option<String>,
    pub hidden: usize,
    /// sha256 of the training identity files, by role.
    pub data: HashMap<String, String>,
    pub hyper_parameters: serde_json::Value,
    pub metrics: serde_json::Value,
    pub epoch: Option<usize>,
    /// For the demo detector: its model card's figures (see `demo`).
    #[serde(default)]
    pub demo: Option<serde_json::Value>,
    /// The decision threshold calibrated when the checkpoint was made (metadata
    /// `threshold`), used for verdicts unless the user gives one.
    #[serde(default)]
    pub threshold: Option<f32>,
}

/// A loaded classifier checkpoint.
pub struct Checkpoint {
    pub model: Ti2Net,
    pub provenance: Provenance,
    /// False for checkpoints without ti2net metadata (the original's `.pth`).
    pub has_provenance: bool,
    pub sha256: String,
}

fn is_safetensors(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()) == Some("safetensors")
}

/// Removes whatever prefix (`module.`, `model.`) stands before the original's keys.
fn strip_prefix(t: Vec<(String, Tensor)>) -> HashMap<String, Tensor> {
    let prefix = t
        .iter()
        .find_map(|(k, _)| k.strip_suffix("rnn.weight_ih_l0").map(str::to_string))
        .unwrap_or_default();
    t.into_iter()
        .filter_map(|(k, v)| k.strip_prefix(&prefix).map(|s| (s.to_string(), v)))
        .collect()
}

pub fn load(path: &Path, device: &Device) -> Result<Checkpoint> {
    if !path.exists() {
        return Err(Error::Missing(path.to_path_buf()));
    }
    let bad = |e: String| Error::weights(path, e);
    let (tensors, meta) = if is_safetensors(path) {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let (_, header) = safetensors::SafeTensors::read_metadata(&bytes)
            .map_err(|e| bad(format!("not a safetensors file ({e})")))?;
        let meta = header.metadata().clone().unwrap_or_default();
        let t = candle_core::safetensors::load_buffer(&bytes, device)
            .map_err(|e| bad(format!("not a safetensors file ({e})")))?;
        (t.into_iter().collect::<Vec<_>>(), meta)
    } else {
        let t = candle_core::pickle::read_all(path).map_err(|e| {
            let legacy = std::fs::File::open(path)
                .ok()
                .and_then(|f| zip::ZipArchive::new(f).err())
                .is_some();
            if legacy {
                bad("a PyTorch checkpoint in the legacy (non-zip) format; convert it once with: \
                     python -c \"import torch; torch.save(torch.load('IN', map_location='cpu'), 'OUT.pth')\""
                    .to_string())
            } else {
                bad(format!("not a readable PyTorch state dict ({e})"))
            }
        })?;
        let t = t
            .into_iter()
            .map(|(k, v)| v.to_device(device).map(|v| (k, v)))
            .collect::<candle_core::Result<Vec<_>>>()?;
        (t, HashMap::new())
    };
    let tensors = strip_prefix(tensors);
    if !KEYS.iter().all(|k| tensors.contains_key(*k)) {
        let missing: Vec<&str> = KEYS
            .iter()
            .copied()
            .filter(|k| !tensors.contains_key(*k))
            .collect();
        return Err(bad(format!(
            "not a TI2Net checkpoint (missing {})",
            missing.join(", ")
        )));
    }
    let tensors: HashMap<String, Tensor> = tensors
        .into_iter()
        .map(|(k, v)| v.to_dtype(candle_core::DType::F32).map(|v| (k, v)))
        .collect::<candle_core::Result<_>>()?;
    let model =
        Ti2Net::from_tensors(&tensors).map_err(|e| bad(format!("does not fit TI2Net: {e}")))?;
    let has_provenance = meta.get("format").map(|f| f == FORMAT).unwrap_or(false);
    let provenance = if has_provenance {
        let json = |k: &str| {
            meta.get(k)
                .and_then(|s| serde_json::from_str(s).ok())
                .unwrap_or(serde_json::Value::Null)
        };
        Provenance {
            encoder: meta.get("encoder").cloned(),
            hidden: model.hidden,
            data: meta
                .get("data")
                .and_then(|s| serde_json::from_str(s).ok())
                .unwrap_or_default(),
            hyper_parameters: json("hyper_parameters"),
            metrics: json("metrics"),
            epoch: meta.get("epoch").and_then(|s| s.parse().ok()),
            demo: meta.get("demo").and_then(|s| serde_json::from_str(s).ok()),
            threshold: meta
                .get("threshold")
                .and_then(|s| s.parse::<f32>().ok())
                .filter(|t| t.is_finite() && *t > 0.0 && *t < 1.0),
        }
    } else {
        Provenance {
            hidden: model.hidden,
            ..Default::default()
        }
    };
    Ok(Checkpoint {
        model,
        provenance,
        has_provenance,
        sha256: sha256_file(path)?,
    })
}

impl Checkpoint {
    /// Refuses features from another encoder than the one the checkpoint was trained on.
    pub fn check_encoder(&self, path: &Path, encoder: &str) -> Result<()> {
        match &self.provenance.encoder {
            Some(e) if e != encoder => Err(Error::weights(
                path,
                format!("this checkpoint was trained on {e} identity vectors and cannot score {encoder} vectors; use --encoder {e} or a checkpoint trained on {encoder}"),
            )),
            _ => Ok(()),
        }
    }
}

/// Serialises named tensors plus provenance (and extra metadata) to safetensors bytes.
pub fn to_bytes(
    tensors: &[(String, Tensor)],
    prov: &Provenance,
    extra: &HashMap<String, String>,
) -> Result<Vec<u8>> {
    let mut named = HashMap::new();
    for (k, t) in tensors {
        let shape = t.dims().to_vec();
        let data = t
            .flatten_all()?
            .to_dtype(candle_core::DType::F32)?
            .to_vec1::<f32>()?;
        named.insert(k.clone(), (shape, data));
    }
    let mut meta: HashMap<String, String> = extra.clone();
    meta.insert("format".into(), FORMAT.into());
    if let Some(e) = &prov.encoder {
        meta.insert("encoder".into(), e.clone());
    }
    meta.insert("hidden".into(), prov.hidden.to_string());
    meta.insert(
        "data".into(),
        serde_json::to_string(&prov.data).unwrap_or_default(),
    );
    meta.insert("hyper_parameters".into(), prov.hyper_parameters.to_string());
    meta.insert("metrics".into(), prov.metrics.to_string());
    if let Some(e) = prov.epoch {
        meta.insert("epoch".into(), e.to_string());
    }
    if let Some(t) = prov.threshold {
        meta.insert("threshold".into(), t.to_string());
    }
    crate::fsutil::f32_safetensors(&named, meta)
}

/// Writes a checkpoint atomically.
pub fn save(
    path: &Path,
    tensors: &[(String, Tensor)],
    prov: &Provenance,
    overwrite: bool,
) -> Result<()> {
    write_atomic(path, &to_bytes(tensors, prov, &HashMap::new())?, overwrite)
}

/// Copies the safetensors checkpoint `src` to `dst` with `extra` added to its metadata
/// (tensors unchanged), atomically.
pub fn copy_with_metadata(
    src: &Path,
    dst: &Path,
    extra: &HashMap<String, String>,
    overwrite: bool,
) -> Result<()> {
    let bytes = std::fs::read(src).map_err(|e| Error::io(src, e))?;
    let bad = |e: String| Error::weights(src, e);
    let st = safetensors::SafeTensors::deserialize(&bytes)
        .map_err(|e| bad(format!("not a safetensors file ({e})")))?;
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes)
        .map_err(|e| bad(format!("not a safetensors file ({e})")))?;
    let mut meta = header.metadata().clone().unwrap_or_default();
    meta.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
    let mut named = HashMap::new();
    for (k, v) in st.tensors() {
        if v.dtype() != safetensors::Dtype::F32 {
            return Err(bad(format!("tensor {k} is not float32")));
        }
        let data: Vec<f32> = v
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        named.insert(k, (v.shape().to_vec(), data));
    }
    write_atomic(
        dst,
        &crate::fsutil::f32_safetensors(&named, meta)?,
        overwrite,
    )
}
