//! `resnet_face18` of ronghuaiyang's arcface-pytorch, the identity network of the
//! TI2Net paper: `ResNetFace(IRBlock, [2, 2, 2, 2], use_se)`.
//!
//! Input: 128 x 128 grey crop scaled `(x - 127.5) / 127.5`, (N, 1, 128, 128).
//! Output: 512-d identity (after `bn5`), not normalised.
//!
//! Loads the PyTorch state dict keys unchanged (`layer1.0.conv1.weight`,
//! `layer1.0.downsample.1.running_mean`, ...); a `module.` prefix left by
//! `DataParallel` is removed at the root; `use_se` is read from the keys present.

use super::cpu;
use crate::error::{Error, Result};
use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{BatchNorm, Conv2d, Linear, PReLU, VarBuilder};
use std::path::Path;

fn conv(
    cin: usize,
    cout: usize,
    k: usize,
    stride: usize,
    vb: VarBuilder,
) -> candle_core::Result<Conv2d> {
    let cfg = candle_nn::Conv2dConfig {
        padding: if k == 3 { 1 } else { 0 },
        stride,
        dilation: 1,
        groups: 1,
        cudnn_fwd_algo: None,
    };
    candle_nn::conv2d_no_bias(cin, cout, k, cfg, vb)
}

fn bn(c: usize, vb: VarBuilder) -> candle_core::Result<BatchNorm> {
    candle_nn::batch_norm(c, candle_nn::BatchNormConfig::default(), vb)
}

struct Se {
    fc0: Linear,
    prelu: PReLU,
    fc2: Linear,
}

impl Se {
    fn new(c: usize, vb: VarBuilder) -> candle_core::Result<Self> {
        let vb = vb.pp("fc");
        Ok(Self {
            fc0: candle_nn::linear(c, c / 16, vb.pp(0))?,
            prelu: candle_nn::prelu(None, vb.pp(1))?,
            fc2: candle_nn::linear(c / 16, c, vb.pp(2))?,
        })
    }
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let (n, c, _, _) = x.dims4()?;
        let y = x.mean_keepdim(3)?.mean_keepdim(2)?.reshape((n, c))?;
        let y = self
            .fc2
            .forward(&self.prelu.forward(&self.fc0.forward(&y)?)?)?;
        let y = candle_nn::ops::sigmoid(&y)?.reshape((n, c, 1, 1))?;
        x.broadcast_mul(&y)
    }
}

struct IrBlock {
    bn0: BatchNorm,
    conv1: Conv2d,
    bn1: BatchNorm,
    prelu: PReLU,
    conv2: Conv2d,
    bn2: BatchNorm,
    se: Option<Se>,
    downsample: Option<(Conv2d, BatchNorm)>,
}

impl IrBlock {
    fn new(
        cin: usize,
        planes: usize,
        stride: usize,
        use_se: bool,
        vb: VarBuilder,
    ) -> candle_core::Result<Self> {
        let downsample = if stride != 1 || cin != planes {
            Some((
                conv(cin, planes, 1, stride, vb.pp("downsample").pp(0))?,
                bn(planes, vb.pp("downsample").pp(1))?,
            ))
        } else {
            None
        };
        Ok(Self {
            bn0: bn(cin, vb.pp("bn0"))?,
            conv1: conv(cin, cin, 3, 1, vb.pp("conv1"))?,
            bn1: bn(cin, vb.pp("bn1"))?,
            prelu: candle_nn::prelu(None, vb.pp("prelu"))?,
            conv2: conv(cin, planes, 3, stride, vb.pp("conv2"))?,
            bn2: bn(planes, vb.pp("bn2"))?,
            se: if use_se {
                Some(Se::new(planes, vb.pp("se"))?)
            } else {
                None
            },
            downsample,
        })
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let mut y = x.apply_t(&self.bn0, false)?;
        y = self.conv1.forward(&y)?.apply_t(&self.bn1, false)?;
        y = self.prelu.forward(&y)?;
        y = self.conv2.forward(&y)?.apply_t(&self.bn2, false)?;
        if let Some(se) = &self.se {
            y = se.forward(&y)?;
        }
        let residual = match &self.downsample {
            Some((c, b)) => c.forward(x)?.apply_t(b, false)?,
            None => x.clone(),
        };
        // The block's single PReLU is applied a second time, as in the original.
        self.prelu.forward(&(y + residual)?)
    }
}

/// The network.
pub struct ResNetFace {
    conv1: Conv2d,
    bn1: BatchNorm,
    prelu: PReLU,
    layers: Vec<IrBlock>,
    bn4: BatchNorm,
    fc5: Linear,
    bn5: BatchNorm,
    pub use_se: bool,
    /// The fast path, when the weights are on the CPU.
    cpu: Option<cpu::ResNetFaceCpu>,
}

fn values(t: &Tensor) -> candle_core::Result<Vec<f32>> {
    t.flatten_all()?.to_dtype(DType::F32)?.to_vec1::<f32>()
}

fn affine(b: &BatchNorm) -> candle_core::Result<cpu::Affine> {
    let (w, bias) = b
        .weight_and_bias()
        .ok_or_else(|| candle_core::Error::msg("batch norm without affine parameters"))?;
    Ok(cpu::Affine::batch_norm(
        &values(b.running_mean())?,
        &values(b.running_var())?,
        &values(w)?,
        &values(bias)?,
        b.eps(),
    ))
}

fn slope(p: &PReLU) -> candle_core::Result<f32> {
    match values(p.weight())?.as_slice() {
        [a] => Ok(*a),
        v => candle_core::bail!("a PReLU with {} slopes, expected one", v.len()),
    }
}

fn linear_values(l: &Linear) -> candle_core::Result<(Vec<f32>, Vec<f32>)> {
    let b = l
        .bias()
        .ok_or_else(|| candle_core::Error::msg("linear layer without bias"))?;
    Ok((values(l.weight())?, values(b)?))
}

impl ResNetFace {
    /// `resnet_face18` from a state dict (keys without the `module.` prefix).
    pub fn new(vb: VarBuilder, use_se: bool) -> candle_core::Result<Self> {
        let mut layers = Vec::new();
        let mut cin = 64;
        for (li, (planes, stride)) in [(64, 1), (128, 2), (256, 2), (512, 2)]
            .into_iter()
            .enumerate()
        {
            let lvb = vb.pp(format!("layer{}", li + 1));
            for b in 0..2 {
                let s = if b == 0 { stride } else { 1 };
                layers.push(IrBlock::new(cin, planes, s, use_se, lvb.pp(b))?);
                cin = planes;
            }
        }
        let mut net = Self {
            conv1: conv(1, 64, 3, 1, vb.pp("conv1"))?,
            bn1: bn(64, vb.pp("bn1"))?,
            prelu: candle_nn::prelu(None, vb.pp("prelu"))?,
            layers,
            bn4: bn(512, vb.pp("bn4"))?,
            fc5: candle_nn::linear(512 * 8 * 8, 512, vb.pp("fc5"))?,
            bn5: bn(512, vb.pp("bn5"))?,
            use_se,
            cpu: None,
        };
        if vb.device().is_cpu() {
            net.cpu =
                Some(cpu::ResNetFaceCpu::new(net.cpu_weights()?).map_err(candle_core::Error::msg)?);
        }
        Ok(net)
    }

    /// The CPU fast path ([`cpu`]), present when the weights are on the CPU.
    pub fn cpu(&self) -> Option<&cpu::ResNetFaceCpu> {
        self.cpu.as_ref()
    }

    /// The weights with the batch norms as affine maps, for [`cpu::ResNetFaceCpu`].
    fn cpu_weights(&self) -> candle_core::Result<cpu::ResNetFaceWeights> {
        let mut blocks = Vec::new();
        for l in &self.layers {
            let (planes, cin, _, _) = l.conv2.weight().dims4()?;
            let stride = l.conv2.config().stride;
            let se = match &l.se {
                Some(se) => {
                    let (fc0_w, fc0_b) = linear_values(&se.fc0)?;
                    let (fc2_w, fc2_b) = linear_values(&se.fc2)?;
                    Some(cpu::SeWeights {
                        fc0_w,
                        fc0_b,
                        prelu: slope(&se.prelu)?,
                        fc2_w,
                        fc2_b,
                    })
                }
                None => None,
            };
            let downsample = match &l.downsample {
                Some((c, b)) => {
                    if c.config().stride != stride {
                        candle_core::bail!("downsample stride differs from conv2's");
                    }
                    Some((values(c.weight())?, affine(b)?))
                }
                None => None,
            };
            blocks.push(cpu::IrBlockWeights {
                cin,
                planes,
                stride,
                bn0: affine(&l.bn0)?,
                conv1: values(l.conv1.weight())?,
                bn1: affine(&l.bn1)?,
                prelu: slope(&l.prelu)?,
                conv2: values(l.conv2.weight())?,
                bn2: affine(&l.bn2)?,
                se,
                downsample,
            });
        }
        let (fc5_w, fc5_b) = linear_values(&self.fc5)?;
        Ok(cpu::ResNetFaceWeights {
            conv1: values(self.conv1.weight())?,
            bn1: affine(&self.bn1)?,
            prelu: slope(&self.prelu)?,
            blocks,
            bn4: affine(&self.bn4)?,
            fc5_w,
            fc5_b,
            bn5: affine(&self.bn5)?,
        })
    }

    /// Loads a `.pth` (zip format) or `.safetensors` checkpoint.
    pub fn load(path: &Path, device: &Device) -> Result<Self> {
        if !path.exists() {
            return Err(Error::Missing(path.to_path_buf()));
        }
        let names = tensor_names(path)?;
        let prefixed = names.iter().any(|n| n.starts_with("module."));
        let has = |k: &str| {
            names
                .iter()
                .any(|n| n == k || n.strip_prefix("module.") == Some(k))
        };
        if !has("fc5.weight") || !has("layer1.0.bn0.weight") {
            return Err(Error::weights(
                path,
                "not a resnet_face18 checkpoint (no fc5.weight or layer1.0.bn0.weight tensor)",
            ));
        }
        let use_se = has("layer1.0.se.fc.0.weight");
        let vb = if is_safetensors(path) {
            // SAFETY: the file is memory-mapped read-only and not modified while in use.
            unsafe { VarBuilder::from_mmaped_safetensors(&[path], DType::F32, device) }
                .map_err(|e| Error::weights(path, format!("not a safetensors file ({e})")))?
        } else {
            VarBuilder::from_pth(path, DType::F32, device).map_err(|e| pth_error(path, e))?
        };
        let vb = if prefixed { vb.pp("module") } else { vb };
        Self::new(vb, use_se).map_err(|e| {
            Error::weights(
                path,
                format!("does not fit resnet_face18 (use_se={use_se}): {e}"),
            )
        })
    }

    /// `x`: (N, 1, 128, 128) scaled to [-1, 1]. Returns (N, 512).
    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let mut y = self.conv1.forward(x)?.apply_t(&self.bn1, false)?;
        y = self.prelu.forward(&y)?;
        y = y.max_pool2d(2)?;
        for l in &self.layers {
            y = l.forward(&y)?;
        }
        y = y.apply_t(&self.bn4, false)?;
        let y = self.fc5.forward(&y.flatten_from(1)?)?;
        y.apply_t(&self.bn5, false)
    }
}

fn is_safetensors(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()) == Some("safetensors")
}

fn pth_error(path: &Path, e: impl std::fmt::Display) -> Error {
    let legacy = std::fs::File::open(path)
        .ok()
        .and_then(|f| zip::ZipArchive::new(f).err())
        .is_some();
    if legacy {
        Error::weights(
            path,
            format!(
                "a PyTorch checkpoint in the legacy (pre-1.6, non-zip) format, which cannot be read \
                 without Python; convert it once with: python -c \"import torch; \
                 torch.save(torch.load('{0}', map_location='cpu'), '{0}.zip.pth')\" and pass the new file",
                path.display()
            ),
        )
    } else {
        Error::weights(path, format!("not a readable PyTorch state dict ({e})"))
    }
}

/// Names of the tensors in a `.pth` or `.safetensors` checkpoint.
pub fn tensor_names(path: &Path) -> Result<Vec<String>> {
    if is_safetensors(path) {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let st = safetensors::SafeTensors::deserialize(&bytes)
            .map_err(|e| Error::weights(path, format!("not a safetensors file ({e})")))?;
        Ok(st.names().into_iter().map(|s| s.to_string()).collect())
    } else {
        let list = candle_core::pickle::read_pth_tensor_info(path, false, None)
            .map_err(|e| pth_error(path, e))?;
        Ok(list.into_iter().map(|t| t.name).collect())
    }
}

/// Pixels of a 128 x 128 grey crop as the network's input: `(x - 127.5) / 127.5`.
pub fn input_values(crop: &image::GrayImage, mirror: bool) -> Vec<f32> {
    let (w, h) = (crop.width() as usize, crop.height() as usize);
    let mut out = vec![0f32; w * h];
    for y in 0..h {
        for x in 0..w {
            let sx = if mirror { w - 1 - x } else { x };
            out[y * w + x] = (crop.get_pixel(sx as u32, y as u32)[0] as f32 - 127.5) / 127.5;
        }
    }
    out
}
