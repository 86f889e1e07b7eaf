//! Stage 4: identity vectors.
//!
//! Both encoders give the 1024-d vector of the TI2Net paper: the network's 512-d
//! embedding of the face crop followed by that of its horizontal mirror, not
//! normalised.

pub mod cpu;
pub mod mobilefacenet;
pub mod onnx;
pub mod resnet_face;

use crate::align::FaceCrops;
use crate::error::{Error, Result};
use crate::fsutil::sha256_file;
use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// resnet_face18's blocks: (input channels, output channels, stride).
const R18_BLOCKS: [(usize, usize, usize); 8] = [
    (64, 64, 1),
    (64, 64, 1),
    (64, 128, 2),
    (128, 128, 1),
    (128, 256, 2),
    (256, 256, 1),
    (256, 512, 2),
    (512, 512, 1),
];

/// Length of an identity vector (original ++ mirror).
pub const ID_DIM: usize = 1024;

/// Which identity network to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum, Default)]
#[serde(rename_all = "kebab-case")]
pub enum EncoderKind {
    /// MobileFaceNet on the 5-point aligned 112 x 112 RGB crop (real weights from
    /// the registry package, converted by `ti2net models import`).
    #[default]
    Mobilefacenet,
    /// The original's resnet_face18 on the 128 x 128 grey crop (your checkpoint).
    ArcfaceR18,
}

impl EncoderKind {
    pub fn name(self) -> &'static str {
        match self {
            EncoderKind::Mobilefacenet => "mobilefacenet",
            EncoderKind::ArcfaceR18 => "arcface-r18",
        }
    }
}

impl std::fmt::Display for EncoderKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

enum Net {
    Mobile(Box<mobilefacenet::MobileFaceNet>),
    R18(Box<resnet_face::ResNetFace>),
}

/// A loaded identity encoder.
pub struct Encoder {
    kind: EncoderKind,
    net: Net,
    device: Device,
    weights: PathBuf,
    weights_sha256: String,
}

/// `TI2NET_CANDLE_CPU=1`: run the candle models on the CPU instead of the fast path
/// (for comparisons).
fn candle_on_cpu() -> bool {
    std::env::var_os("TI2NET_CANDLE_CPU").is_some_and(|v| v == "1")
}

/// The compute device: CUDA when built with the `cuda` feature and asked for.
/// Without a usable GPU this is an error of one sentence (no fallback: asking for the
/// GPU and getting the CPU would make timings and reports lie).
pub fn device(cuda: bool) -> Result<Device> {
    if !cuda {
        return Ok(Device::Cpu);
    }
    if !cfg!(feature = "cuda") {
        return Err(Error::Model(
            "this build has no CUDA support: build it with `cargo build --release --features cuda` (see the README's GPU section)".into(),
        ));
    }
    Device::new_cuda(0).map_err(|e| {
        let e = e.to_string();
        let why = if e.contains("CUDA_ERROR_NO_DEVICE") {
            "the NVIDIA driver finds no GPU".to_string()
        } else if e.contains("CUDA_ERROR_STUB_LIBRARY") {
            "no NVIDIA driver here (the toolkit's stub libcuda was loaded instead)".to_string()
        } else if e.contains("CUDA_ERROR_INSUFFICIENT_DRIVER") {
            "the NVIDIA driver is too old for this build's CUDA 13 (580 or newer is needed)"
                .to_string()
        } else {
            e.lines().next().unwrap_or_default().trim().to_string()
        };
        Error::Model(format!("no usable CUDA GPU (device 0): {why}"))
    })
}

impl Encoder {
    pub fn load(kind: EncoderKind, weights: &Path, device: &Device) -> Result<Self> {
        if !weights.exists() {
            return Err(match kind {
                EncoderKind::Mobilefacenet => Error::weights(
                    weights,
                    format!(
                        "the MobileFaceNet weights are not installed in the models folder {} \
                         ({}; TI2NET_HOME moves the folder)",
                        crate::models::models_dir().display(),
                        crate::models::SETUP_HINT
                    ),
                ),
                EncoderKind::ArcfaceR18 => Error::Missing(weights.to_path_buf()),
            });
        }
        let net = match kind {
            EncoderKind::Mobilefacenet => Net::Mobile(Box::new(
                mobilefacenet::MobileFaceNet::load(weights, device)?,
            )),
            EncoderKind::ArcfaceR18 => {
                Net::R18(Box::new(resnet_face::ResNetFace::load(weights, device)?))
            }
        };
        Ok(Self {
            kind,
            net,
            device: device.clone(),
            weights: weights.to_path_buf(),
            weights_sha256: sha256_file(weights)?,
        })
    }

    pub fn kind(&self) -> EncoderKind {
        self.kind
    }
    pub fn weights_path(&self) -> &Path {
        &self.weights
    }
    pub fn weights_sha256(&self) -> &str {
        &self.weights_sha256
    }

    /// Floating-point operations (two per multiply-add) of one network input; an
    /// identity vector takes two (crop and mirror).
    pub fn flops_per_input(&self) -> f64 {
        match &self.net {
            Net::Mobile(_) => cpu::MobileFaceNetCpu::flops_per_image(),
            Net::R18(_) => cpu::ResNetFaceCpu::flops_per_image_of(&R18_BLOCKS),
        }
    }

    /// Runs the network on raw input values, (N, C, S, S) flattened. Returns N x 512.
    /// On the CPU this is the fast path of [`cpu`] unless `TI2NET_CANDLE_CPU=1`.
    pub fn forward_values(&self, values: Vec<f32>, n: usize) -> Result<Vec<Vec<f32>>> {
        let per = match self.kind {
            EncoderKind::Mobilefacenet => 3 * cpu::MFN_SIZE * cpu::MFN_SIZE,
            EncoderKind::ArcfaceR18 => cpu::R18_SIZE * cpu::R18_SIZE,
        };
        // (A wrong length goes to candle, which reports it as an error.)
        if !candle_on_cpu() && values.len() == n * per {
            let fast = match &self.net {
                Net::Mobile(m) => m.cpu().map(|c| c.forward(&values, n)),
                Net::R18(r) => r.cpu().map(|c| c.forward(&values, n)),
            };
            if let Some(out) = fast {
                if n == 0 {
                    return Ok(Vec::new());
                }
                return Ok(out
                    .chunks_exact(out.len() / n)
                    .map(<[f32]>::to_vec)
                    .collect());
            }
        }
        self.forward_values_candle(values, n)
    }

    /// [`Self::forward_values`] on borrowed values: the fast path on the CPU, else the
    /// candle model on the encoder's device (inputs copied there, outputs back).
    pub fn forward_slice(&self, values: &[f32], n: usize) -> Result<Vec<Vec<f32>>> {
        let per = match self.kind {
            EncoderKind::Mobilefacenet => 3 * cpu::MFN_SIZE * cpu::MFN_SIZE,
            EncoderKind::ArcfaceR18 => cpu::R18_SIZE * cpu::R18_SIZE,
        };
        if n > 0 && !candle_on_cpu() && values.len() == n * per {
            let fast = match &self.net {
                Net::Mobile(m) => m.cpu().map(|c| c.forward(values, n)),
                Net::R18(r) => r.cpu().map(|c| c.forward(values, n)),
            };
            if let Some(out) = fast {
                return Ok(out
                    .chunks_exact(out.len() / n)
                    .map(<[f32]>::to_vec)
                    .collect());
            }
        }
        let x = match self.kind {
            EncoderKind::Mobilefacenet => {
                Tensor::from_slice(values, (n, 3, 112, 112), &self.device)?
            }
            EncoderKind::ArcfaceR18 => Tensor::from_slice(values, (n, 1, 128, 128), &self.device)?,
        };
        self.forward_tensor(&x)
    }

    /// The candle model on a batch already on the encoder's device; N x 512 on the CPU.
    fn forward_tensor(&self, x: &Tensor) -> Result<Vec<Vec<f32>>> {
        let t = match &self.net {
            Net::Mobile(m) => m.forward(x)?,
            Net::R18(r) => r.forward(x)?,
        };
        Ok(t.to_device(&Device::Cpu)?.to_vec2::<f32>()?)
    }

    /// [`Self::forward_values`] through the candle model (the reference path).
    pub fn forward_values_candle(&self, values: Vec<f32>, n: usize) -> Result<Vec<Vec<f32>>> {
        let x = match &self.net {
            Net::Mobile(_) => Tensor::from_vec(values, (n, 3, 112, 112), &self.device)?,
            Net::R18(_) => Tensor::from_vec(values, (n, 1, 128, 128), &self.device)?,
        };
        self.forward_tensor(&x)
    }

    /// Identity vectors (1024-d: crop ++ mirror) of a batch of faces.
    pub fn embed(&self, crops: &[&FaceCrops]) -> Result<Vec<Vec<f32>>> {
        if crops.is_empty() {
            return Ok(Vec::new());
        }
        let mut values = Vec::new();
        for c in crops {
            for mirror in [false, true] {
                values.extend(match self.kind {
                    EncoderKind::Mobilefacenet => mobilefacenet::input_values(&c.aligned, mirror),
                    EncoderKind::ArcfaceR18 => resnet_face::input_values(&c.square, mirror),
                });
            }
        }
        let out = self.forward_values(values, 2 * crops.len())?;
        Ok(out
            .chunks(2)
            .map(|pair| {
                let mut v = pair[0].clone();
                v.extend_from_slice(&pair[1]);
                v
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel_l2(a: &[f32], b: &[f32]) -> f32 {
        let num: f32 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
        let den: f32 = b.iter().map(|y| y * y).sum();
        (num / den).sqrt()
    }

    /// The CPU fast path against the candle model on the same weights and inputs.
    fn fast_matches_candle(kind: EncoderKind, weights: &Path, side: usize, channels: usize) {
        let enc = Encoder::load(kind, weights, &Device::Cpu).unwrap();
        let n = 3;
        let values: Vec<f32> = (0..n * channels * side * side)
            .map(|i| ((i as f64 * 0.37).sin() * 0.9) as f32)
            .collect();
        let fast = enc.forward_values(values.clone(), n).unwrap();
        let reference = enc.forward_values_candle(values, n).unwrap();
        for (f, r) in fast.iter().zip(&reference) {
            assert_eq!(f.len(), 512);
            let e = rel_l2(f, r);
            assert!(e < 1e-4, "{kind}: relative L2 {e}");
        }
    }

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name)
    }

    #[test]
    fn resnet_face18_fast_path_matches_candle() {
        fast_matches_candle(EncoderKind::ArcfaceR18, &fixture("r18_module.pth"), 128, 1);
        fast_matches_candle(
            EncoderKind::ArcfaceR18,
            &fixture("r18se_module.pth"),
            128,
            1,
        );
    }

    #[test]
    fn mobilefacenet_fast_path_matches_candle() {
        let w = crate::models::mobilefacenet_weights();
        if !w.exists() {
            eprintln!("skipped: {} is not installed", w.display());
            return;
        }
        fast_matches_candle(EncoderKind::Mobilefacenet, &w, 112, 3);
    }

    #[test]
    fn flops_per_input() {
        // MobileFaceNet: 0.22 GMAC; resnet_face18 on 128 x 128: 2.24 GMAC.
        let m = cpu::MobileFaceNetCpu::flops_per_image();
        assert!((m / 1e9 - 0.442).abs() < 0.01, "{m}");
        let r = cpu::ResNetFaceCpu::flops_per_image_of(&R18_BLOCKS);
        assert!((r / 1e9 - 4.48).abs() < 0.05, "{r}");
    }
}
