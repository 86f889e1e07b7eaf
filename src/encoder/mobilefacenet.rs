//! MobileFaceNet (Chen et al., "MobileFaceNets: Efficient CNNs for Accurate Real-Time
//! Face Verification on Mobile Devices", 2018), as shipped in the npm package
//! `faceplugin-face-recognition-js@0.0.1` (`fr_feature.onnx`, batch norm folded into
//! the convolutions).
//!
//! Input: 112 x 112 five-point aligned face (ArcFace template), BGR channel order,
//! scaled `(x - 127) / 128`, NCHW. Output: 512-d identity, not normalised.
//!
//! The weights are converted once from the ONNX file by `ti2net models import`
//! ([`import_onnx`]) into safetensors with the layer names of [`layer_specs`].

use super::onnx::OnnxGraph;
use crate::error::{Error, Result};
use candle_core::{DType, Device, Module, Tensor, D};
use candle_nn::VarBuilder;
use std::collections::HashMap;
use std::path::Path;

/// One convolution of the network (batch norm folded in, so it has a bias).
#[derive(Debug, Clone, PartialEq)]
pub struct ConvSpec {
    pub name: String,
    pub cin: usize,
    pub cout: usize,
    pub k: usize,
    pub stride: usize,
    pub pad: usize,
    pub groups: usize,
    pub prelu: bool,
}

fn spec(
    name: &str,
    cin: usize,
    cout: usize,
    k: usize,
    s: usize,
    groups: usize,
    prelu: bool,
) -> ConvSpec {
    ConvSpec {
        name: name.to_string(),
        cin,
        cout,
        k,
        stride: s,
        pad: if k == 3 { 1 } else { 0 },
        groups,
        prelu,
    }
}

/// A depthwise-separable bottleneck: 1x1 expand, 3x3 depthwise, 1x1 linear project.
fn bottleneck(v: &mut Vec<ConvSpec>, name: &str, cin: usize, cout: usize, width: usize, s: usize) {
    v.push(spec(&format!("{name}.expand"), cin, width, 1, 1, 1, true));
    v.push(spec(&format!("{name}.dw"), width, width, 3, s, width, true));
    v.push(spec(
        &format!("{name}.project"),
        width,
        cout,
        1,
        1,
        1,
        false,
    ));
}

/// Residual stages: (name, blocks, channels, expanded width).
const STAGES: [(&str, usize, usize, usize); 3] = [
    ("conv_3", 4, 64, 128),
    ("conv_4", 6, 128, 256),
    ("conv_5", 2, 128, 256),
];

/// Every convolution in execution order.
pub fn layer_specs() -> Vec<ConvSpec> {
    let mut v = vec![
        spec("conv1", 3, 64, 3, 2, 1, true),
        spec("conv2_dw", 64, 64, 3, 1, 64, true),
    ];
    bottleneck(&mut v, "conv_23", 64, 64, 128, 2);
    for (b, (stage, n, c, w)) in STAGES.iter().enumerate() {
        for i in 0..*n {
            bottleneck(&mut v, &format!("{stage}.{i}"), *c, *c, *w, 1);
        }
        match b {
            0 => bottleneck(&mut v, "conv_34", 64, 128, 256, 2),
            1 => bottleneck(&mut v, "conv_45", 128, 128, 512, 2),
            _ => {}
        }
    }
    v.push(spec("conv_6_sep", 128, 512, 1, 1, 1, true));
    let mut dw7 = spec("conv_6_dw", 512, 512, 7, 1, 512, false);
    dw7.pad = 0;
    v.push(dw7);
    v.push(spec("linear", 512, 512, 1, 1, 1, false));
    v
}

enum ConvKind {
    Dense(candle_nn::Conv2d),
    /// Per-channel convolution done as k*k shifted multiply-adds: candle runs a
    /// grouped convolution as one convolution per group, far slower here.
    Depthwise {
        weight: Tensor,
        bias: Tensor,
    },
}

struct ConvLayer {
    spec: ConvSpec,
    kind: ConvKind,
    prelu: Option<candle_nn::PReLU>,
}

impl ConvLayer {
    fn new(spec: &ConvSpec, vb: &VarBuilder) -> candle_core::Result<Self> {
        let vb = vb.pp(&spec.name);
        let kind = if spec.groups == 1 {
            let cfg = candle_nn::Conv2dConfig {
                padding: spec.pad,
                stride: spec.stride,
                dilation: 1,
                groups: 1,
                cudnn_fwd_algo: None,
            };
            ConvKind::Dense(candle_nn::conv2d(
                spec.cin,
                spec.cout,
                spec.k,
                cfg,
                vb.clone(),
            )?)
        } else {
            let weight = vb.get((spec.cout, 1, spec.k, spec.k), "weight")?;
            let bias = vb.get(spec.cout, "bias")?.reshape((1, spec.cout, 1, 1))?;
            ConvKind::Depthwise { weight, bias }
        };
        let prelu = if spec.prelu {
            Some(candle_nn::prelu(Some(spec.cout), vb.pp("prelu"))?)
        } else {
            None
        };
        Ok(Self {
            spec: spec.clone(),
            kind,
            prelu,
        })
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let y = match &self.kind {
            ConvKind::Dense(c) => c.forward(x)?,
            ConvKind::Depthwise { weight, bias } => {
                depthwise(x, weight, self.spec.k, self.spec.stride, self.spec.pad)?
                    .broadcast_add(bias)?
            }
        };
        match &self.prelu {
            Some(p) => p.forward(&y),
            None => Ok(y),
        }
    }
}

/// A weight of the loaded layers by its safetensors name (`conv1.weight`,
/// `conv1.bias`, `conv1.prelu.weight`).
fn layer_tensor(layers: &HashMap<String, ConvLayer>, name: &str) -> candle_core::Result<Tensor> {
    let (layer, what) = match name.strip_suffix(".prelu.weight") {
        Some(l) => (l, "prelu"),
        None => name
            .rsplit_once('.')
            .ok_or_else(|| candle_core::Error::msg("bad name"))?,
    };
    let l = layers
        .get(layer)
        .ok_or_else(|| candle_core::Error::msg("no such layer"))?;
    let t = match (&l.kind, what) {
        (ConvKind::Dense(c), "weight") => c.weight().clone(),
        (ConvKind::Dense(c), "bias") => c
            .bias()
            .cloned()
            .ok_or_else(|| candle_core::Error::msg("no bias"))?,
        (ConvKind::Depthwise { weight, .. }, "weight") => weight.clone(),
        (ConvKind::Depthwise { bias, .. }, "bias") => bias.clone(),
        (_, "prelu") => l
            .prelu
            .as_ref()
            .ok_or_else(|| candle_core::Error::msg("no PReLU"))?
            .weight()
            .clone(),
        _ => candle_core::bail!("unknown tensor"),
    };
    Ok(t)
}

/// Depthwise convolution on the CPU as a direct loop (one pass over the output).
fn depthwise_cpu(
    x: &Tensor,
    w: &Tensor,
    k: usize,
    stride: usize,
    pad: usize,
) -> candle_core::Result<Tensor> {
    let (n, c, h, wd) = x.dims4()?;
    let xv = x.flatten_all()?.to_vec1::<f32>()?;
    let wv = w.flatten_all()?.to_vec1::<f32>()?;
    let ho = (h + 2 * pad - k) / stride + 1;
    let wo = (wd + 2 * pad - k) / stride + 1;
    let mut out = vec![0f32; n * c * ho * wo];
    for (plane, o) in out.chunks_mut(ho * wo).enumerate() {
        let xin = &xv[plane * h * wd..(plane + 1) * h * wd];
        let ch = plane % c;
        let wk = &wv[ch * k * k..(ch + 1) * k * k];
        for oi in 0..ho {
            for oj in 0..wo {
                let mut acc = 0f32;
                for ki in 0..k {
                    let ii = (oi * stride + ki) as isize - pad as isize;
                    if ii < 0 || ii >= h as isize {
                        continue;
                    }
                    let row = &xin[ii as usize * wd..(ii as usize + 1) * wd];
                    for kj in 0..k {
                        let jj = (oj * stride + kj) as isize - pad as isize;
                        if jj >= 0 && jj < wd as isize {
                            acc += row[jj as usize] * wk[ki * k + kj];
                        }
                    }
                }
                o[oi * wo + oj] = acc;
            }
        }
    }
    Tensor::from_vec(out, (n, c, ho, wo), x.device())
}

/// Depthwise convolution of `x` (N, C, H, W) with `w` (C, 1, k, k): a direct loop on
/// the CPU, shifted multiply-adds of whole tensors on other devices.
fn depthwise(
    x: &Tensor,
    w: &Tensor,
    k: usize,
    stride: usize,
    pad: usize,
) -> candle_core::Result<Tensor> {
    if x.device().is_cpu() && x.dtype() == candle_core::DType::F32 {
        return depthwise_cpu(x, w, k, stride, pad);
    }
    depthwise_tensor(x, w, k, stride, pad)
}

fn depthwise_tensor(
    x: &Tensor,
    w: &Tensor,
    k: usize,
    stride: usize,
    pad: usize,
) -> candle_core::Result<Tensor> {
    let (n, c, h, wd) = x.dims4()?;
    let x = if pad > 0 {
        x.pad_with_zeros(2, pad, pad)?.pad_with_zeros(3, pad, pad)?
    } else {
        x.clone()
    };
    let ho = (h + 2 * pad - k) / stride + 1;
    let wo = (wd + 2 * pad - k) / stride + 1;
    if ho == 1 && wo == 1 && h + 2 * pad == k && wd + 2 * pad == k {
        // Global depthwise (7x7 on 7x7): a weighted sum over the whole plane.
        let w = w.reshape((1, c, k, k))?;
        return x.broadcast_mul(&w)?.sum_keepdim(3)?.sum_keepdim(2);
    }
    let mut acc: Option<Tensor> = None;
    for i in 0..k {
        for j in 0..k {
            let patch = if stride == 1 {
                x.narrow(2, i, ho)?.narrow(3, j, wo)?
            } else {
                // Rows i, i+s, ...: take s*ho rows, fold them into (ho, s), keep the first.
                let hp = x.dim(2)?;
                let wp = x.dim(3)?;
                let rows = (stride * ho).min(hp - i);
                let cols = (stride * wo).min(wp - j);
                let p = x.narrow(2, i, rows)?.narrow(3, j, cols)?;
                let p = p.pad_with_zeros(2, 0, stride * ho - rows)?.pad_with_zeros(
                    3,
                    0,
                    stride * wo - cols,
                )?;
                p.reshape((n, c, ho, stride, wo, stride))?
                    .narrow(3, 0, 1)?
                    .narrow(5, 0, 1)?
                    .reshape((n, c, ho, wo))?
            };
            let wij = w.narrow(2, i, 1)?.narrow(3, j, 1)?.reshape((1, c, 1, 1))?;
            let term = patch.broadcast_mul(&wij)?;
            acc = Some(match acc {
                None => term,
                Some(a) => (a + term)?,
            });
        }
    }
    match acc {
        Some(a) => Ok(a),
        None => candle_core::bail!("empty depthwise kernel"),
    }
}

/// The network.
pub struct MobileFaceNet {
    layers: HashMap<String, ConvLayer>,
    /// The fast path, when the weights are on the CPU.
    cpu: Option<super::cpu::MobileFaceNetCpu>,
}

impl MobileFaceNet {
    pub fn new(vb: VarBuilder) -> candle_core::Result<Self> {
        let layers: HashMap<String, ConvLayer> = layer_specs()
            .iter()
            .map(|s| Ok((s.name.clone(), ConvLayer::new(s, &vb)?)))
            .collect::<candle_core::Result<_>>()?;
        let cpu = if vb.device().is_cpu() {
            let get = |name: &str| -> std::result::Result<Vec<f32>, String> {
                layer_tensor(&layers, name)
                    .and_then(|t| t.flatten_all()?.to_dtype(DType::F32)?.to_vec1::<f32>())
                    .map_err(|e| format!("{name}: {e}"))
            };
            Some(super::cpu::MobileFaceNetCpu::new(&get).map_err(candle_core::Error::msg)?)
        } else {
            None
        };
        Ok(Self { layers, cpu })
    }

    /// The CPU fast path ([`super::cpu`]), present when the weights are on the CPU.
    pub fn cpu(&self) -> Option<&super::cpu::MobileFaceNetCpu> {
        self.cpu.as_ref()
    }

    /// Loads converted weights (see [`import_onnx`]).
    pub fn load(path: &Path, device: &Device) -> Result<Self> {
        // SAFETY: the file is memory-mapped read-only and not modified while in use.
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[path], DType::F32, device) }
            .map_err(|e| Error::weights(path, format!("not a safetensors file ({e})")))?;
        Self::new(vb).map_err(|e| {
            Error::weights(
                path,
                format!("not MobileFaceNet weights as `ti2net models import` writes them ({e})"),
            )
        })
    }

    fn run(&self, name: &str, x: &Tensor) -> candle_core::Result<Tensor> {
        match self.layers.get(name) {
            Some(l) => l.forward(x),
            None => candle_core::bail!("layer {name} missing"),
        }
    }

    fn block(&self, name: &str, x: &Tensor) -> candle_core::Result<Tensor> {
        let y = self.run(&format!("{name}.expand"), x)?;
        let y = self.run(&format!("{name}.dw"), &y)?;
        self.run(&format!("{name}.project"), &y)
    }

    /// `x`: (N, 3, 112, 112) normalised BGR. Returns (N, 512).
    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let mut x = self.run("conv1", x)?;
        x = self.run("conv2_dw", &x)?;
        x = self.block("conv_23", &x)?;
        for (b, (stage, n, _, _)) in STAGES.iter().enumerate() {
            for i in 0..*n {
                x = (&x + self.block(&format!("{stage}.{i}"), &x)?)?;
            }
            match b {
                0 => x = self.block("conv_34", &x)?,
                1 => x = self.block("conv_45", &x)?,
                _ => {}
            }
        }
        x = self.run("conv_6_sep", &x)?;
        x = self.run("conv_6_dw", &x)?;
        x = self.run("linear", &x)?;
        x.flatten_from(1)
    }
}

/// Pixels of an aligned RGB crop as the network's input: BGR, `(x - 127) / 128`.
pub fn input_values(crop: &image::RgbImage, mirror: bool) -> Vec<f32> {
    let (w, h) = (crop.width() as usize, crop.height() as usize);
    let mut out = vec![0f32; 3 * w * h];
    for y in 0..h {
        for x in 0..w {
            let sx = if mirror { w - 1 - x } else { x };
            let p = crop.get_pixel(sx as u32, y as u32);
            for (c, ch) in [2usize, 1, 0].into_iter().enumerate() {
                out[c * w * h + y * w + x] = (p[ch] as f32 - 127.0) / 128.0;
            }
        }
    }
    out
}

/// Named float tensors: name -> (shape, values).
pub type NamedTensors = HashMap<String, (Vec<usize>, Vec<f32>)>;

/// Converts `fr_feature.onnx` into the safetensors layout of [`layer_specs`],
/// checking every layer's operator, attributes and shape on the way.
pub fn import_onnx(onnx: &Path) -> Result<NamedTensors> {
    let g = OnnxGraph::read(onnx)?;
    let specs = layer_specs();
    let bad = |m: String| Error::weights(onnx, format!("not the expected MobileFaceNet: {m}"));
    let init = |name: &str| {
        g.initializers
            .get(name)
            .ok_or_else(|| bad(format!("initializer {name} missing")))
    };
    let mut out = HashMap::new();
    let mut ci = 0usize;
    let mut adds = 0usize;
    let mut want_prelu: Option<&ConvSpec> = None;
    for node in &g.nodes {
        match node.op.as_str() {
            "Conv" => {
                if let Some(s) = want_prelu {
                    return Err(bad(format!("{} should be followed by PRelu", s.name)));
                }
                let s = specs
                    .get(ci)
                    .ok_or_else(|| bad("more convolutions than expected".into()))?;
                let w = init(node.inputs.get(1).map(String::as_str).unwrap_or(""))?;
                let b = init(node.inputs.get(2).map(String::as_str).unwrap_or(""))?;
                let want = vec![s.cout, s.cin / s.groups, s.k, s.k];
                let attr = |k: &str, d: i64| {
                    node.ints
                        .get(k)
                        .and_then(|v| v.first().copied())
                        .unwrap_or(d)
                };
                if w.dims != want
                    || b.dims != vec![s.cout]
                    || attr("group", 1) as usize != s.groups
                    || attr("strides", 1) as usize != s.stride
                    || attr("pads", 0) as usize != s.pad
                {
                    return Err(bad(format!(
                        "convolution {ci} ({}) has weight {:?}, expected {:?}",
                        s.name, w.dims, want
                    )));
                }
                out.insert(
                    format!("{}.weight", s.name),
                    (w.dims.clone(), w.data.clone()),
                );
                out.insert(format!("{}.bias", s.name), (b.dims.clone(), b.data.clone()));
                if s.prelu {
                    want_prelu = Some(s);
                }
                ci += 1;
            }
            "PRelu" => {
                let s = want_prelu
                    .take()
                    .ok_or_else(|| bad("a PRelu where none was expected".into()))?;
                let p = init(node.inputs.get(1).map(String::as_str).unwrap_or(""))?;
                if p.data.len() != s.cout {
                    return Err(bad(format!(
                        "PRelu after {} has {} slopes",
                        s.name,
                        p.data.len()
                    )));
                }
                out.insert(
                    format!("{}.prelu.weight", s.name),
                    (vec![s.cout], p.data.clone()),
                );
            }
            "Add" => adds += 1,
            "Reshape" | "Flatten" => {}
            other => return Err(bad(format!("unsupported operator {other}"))),
        }
    }
    let residuals: usize = STAGES.iter().map(|s| s.1).sum();
    if ci != specs.len() || adds != residuals || want_prelu.is_some() {
        return Err(bad(format!(
            "found {ci} convolutions and {adds} residual additions, expected {} and {residuals}",
            specs.len()
        )));
    }
    Ok(out)
}

/// Sum of squares over the last dimension, for tests and normalisation.
pub fn l2_norm(x: &Tensor) -> candle_core::Result<Tensor> {
    x.sqr()?.sum_keepdim(D::Minus1)?.sqrt()
}
