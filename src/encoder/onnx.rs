//! The small part of the ONNX format that weight import needs: the graph's nodes
//! (operator, inputs, attributes) and its float initialisers. Decoded with `prost`
//! from the field numbers of `onnx.proto`.

use crate::error::{Error, Result};
use crate::fsutil::{sha256_file, write_atomic};
use crate::models::FR_FEATURE_SHA256;
use std::collections::HashMap;
use std::path::Path;

#[derive(Clone, PartialEq, prost::Message)]
pub struct ModelProto {
    #[prost(message, optional, tag = "7")]
    pub graph: Option<GraphProto>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct GraphProto {
    #[prost(message, repeated, tag = "1")]
    pub node: Vec<NodeProto>,
    #[prost(message, repeated, tag = "5")]
    pub initializer: Vec<TensorProto>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct NodeProto {
    #[prost(string, repeated, tag = "1")]
    pub input: Vec<String>,
    #[prost(string, repeated, tag = "2")]
    pub output: Vec<String>,
    #[prost(string, optional, tag = "4")]
    pub op_type: Option<String>,
    #[prost(message, repeated, tag = "5")]
    pub attribute: Vec<AttributeProto>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct AttributeProto {
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    #[prost(int64, optional, tag = "3")]
    pub i: Option<i64>,
    #[prost(int64, repeated, tag = "8")]
    pub ints: Vec<i64>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorProto {
    #[prost(int64, repeated, tag = "1")]
    pub dims: Vec<i64>,
    #[prost(int32, optional, tag = "2")]
    pub data_type: Option<i32>,
    #[prost(float, repeated, tag = "4")]
    pub float_data: Vec<f32>,
    #[prost(string, optional, tag = "8")]
    pub name: Option<String>,
    #[prost(bytes = "vec", optional, tag = "9")]
    pub raw_data: Option<Vec<u8>>,
}

/// A float tensor from the graph.
#[derive(Debug, Clone)]
pub struct FloatTensor {
    pub dims: Vec<usize>,
    pub data: Vec<f32>,
}

/// One operator of the graph with its integer attributes.
#[derive(Debug, Clone)]
pub struct Node {
    pub op: String,
    pub inputs: Vec<String>,
    pub ints: HashMap<String, Vec<i64>>,
}

/// An ONNX graph reduced to operators and float initialisers.
pub struct OnnxGraph {
    pub nodes: Vec<Node>,
    pub initializers: HashMap<String, FloatTensor>,
}

const FLOAT: i32 = 1;

impl OnnxGraph {
    pub fn read(path: &Path) -> Result<Self> {
        use prost::Message;
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let model = ModelProto::decode(bytes.as_slice())
            .map_err(|e| Error::weights(path, format!("not an ONNX model ({e})")))?;
        let graph = model
            .graph
            .ok_or_else(|| Error::weights(path, "the ONNX model has no graph"))?;
        let mut initializers = HashMap::new();
        for t in graph.initializer {
            if t.data_type.unwrap_or(0) != FLOAT {
                continue;
            }
            let data = match &t.raw_data {
                Some(raw) if !raw.is_empty() => raw
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect(),
                _ => t.float_data.clone(),
            };
            let dims: Vec<usize> = t.dims.iter().map(|&d| d.max(0) as usize).collect();
            if crate::npy::checked_len(&dims) != Some(data.len()) {
                return Err(Error::weights(
                    path,
                    format!(
                        "initializer {} holds {} values for shape {:?}",
                        t.name.unwrap_or_default(),
                        data.len(),
                        dims
                    ),
                ));
            }
            initializers.insert(t.name.unwrap_or_default(), FloatTensor { dims, data });
        }
        let nodes = graph
            .node
            .into_iter()
            .map(|n| Node {
                op: n.op_type.unwrap_or_default(),
                inputs: n.input,
                ints: n
                    .attribute
                    .into_iter()
                    .map(|a| {
                        let v = if a.ints.is_empty() {
                            a.i.into_iter().collect()
                        } else {
                            a.ints
                        };
                        (a.name.unwrap_or_default(), v)
                    })
                    .collect(),
            })
            .collect();
        Ok(Self {
            nodes,
            initializers,
        })
    }
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
    let tensors = super::mobilefacenet::import_onnx(onnx)?;
    let bytes = crate::fsutil::f32_safetensors(
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
