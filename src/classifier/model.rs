//! TI2Net (Liu et al., "TI2Net: Temporal Identity Inconsistency Network for Deepfake
//! Detection", WACV 2023): a bidirectional GRU over the temporal differences of a
//! clip's identity vectors.
//!
//! Input: (B, 63, 1024), the differences of 64 identity vectors. Output: the latent
//! (B, 2H) - the last time step of both directions - and the logits (B, 2), class 1 =
//! fake. The checkpoint keys are the original's (`rnn.weight_ih_l0`, ...,
//! `rnn.*_reverse`, `linear_1.*`, `linear_2.*`); the hidden size H is read from them.

use crate::error::{Error, Result};
use candle_core::{DType, Device, Tensor, Var, D};
use rand::Rng;
use std::collections::HashMap;

/// Names of the parameters, in a fixed order.
pub const KEYS: [&str; 12] = [
    "rnn.weight_ih_l0",
    "rnn.weight_hh_l0",
    "rnn.bias_ih_l0",
    "rnn.bias_hh_l0",
    "rnn.weight_ih_l0_reverse",
    "rnn.weight_hh_l0_reverse",
    "rnn.bias_ih_l0_reverse",
    "rnn.bias_hh_l0_reverse",
    "linear_1.weight",
    "linear_1.bias",
    "linear_2.weight",
    "linear_2.bias",
];

/// Input width (identity vector) and the head's width.
pub const INPUT: usize = 1024;
pub const HEAD: usize = 128;
/// LandmarkDropout and head dropout probabilities of the original.
pub const LANDMARK_DROPOUT: f32 = 0.5;
pub const HEAD_DROPOUT: f32 = 0.7;

/// The expected shape of each parameter for hidden size `h`.
pub fn shapes(h: usize) -> Vec<(&'static str, Vec<usize>)> {
    let g = 3 * h;
    let s = [
        vec![g, INPUT],
        vec![g, h],
        vec![g],
        vec![g],
        vec![g, INPUT],
        vec![g, h],
        vec![g],
        vec![g],
        vec![HEAD, 2 * h],
        vec![HEAD],
        vec![2, HEAD],
        vec![2],
    ];
    KEYS.iter().copied().zip(s).collect()
}

/// One GRU direction (PyTorch's gate order r, z, n).
#[derive(Clone)]
struct GruDir {
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor,
    b_hh: Tensor,
}

impl GruDir {
    /// One step given the input projection `gi` (B, 3H) and the state `h` (B, H).
    fn step(&self, gi: &Tensor, h: &Tensor, hidden: usize) -> candle_core::Result<Tensor> {
        let gh = h.matmul(&self.w_hh.t()?)?.broadcast_add(&self.b_hh)?;
        let chunk = |t: &Tensor, k: usize| t.narrow(1, k * hidden, hidden);
        let r = candle_nn::ops::sigmoid(&(chunk(gi, 0)? + chunk(&gh, 0)?)?)?;
        let z = candle_nn::ops::sigmoid(&(chunk(gi, 1)? + chunk(&gh, 1)?)?)?;
        let n = (chunk(gi, 2)? + (r * chunk(&gh, 2)?)?)?.tanh()?;
        // h' = (1 - z) n + z h = n + z (h - n)
        &n + (z * (h - &n)?)?
    }
}

/// The network with its parameters.
#[derive(Clone)]
pub struct Ti2Net {
    pub hidden: usize,
    fwd: GruDir,
    bwd: GruDir,
    l1_w: Tensor,
    l1_b: Tensor,
    l2_w: Tensor,
    l2_b: Tensor,
}

/// Masks for training-time dropout, drawn from the caller's seeded generator.
pub struct DropoutMasks {
    /// (B, 1, 1024): the same feature pair (i, i + 512) dropped at every time step.
    pub landmark: Tensor,
    /// (B, 2H) on the latent.
    pub head: Tensor,
}

impl DropoutMasks {
    pub fn draw(
        rng: &mut impl Rng,
        batch: usize,
        hidden: usize,
        device: &Device,
    ) -> candle_core::Result<Self> {
        let keep_l = 1.0 - LANDMARK_DROPOUT;
        let mut lm = Vec::with_capacity(batch * INPUT);
        for _ in 0..batch {
            let half: Vec<f32> = (0..INPUT / 2)
                .map(|_| {
                    if rng.random::<f32>() < keep_l {
                        1.0 / keep_l
                    } else {
                        0.0
                    }
                })
                .collect();
            lm.extend_from_slice(&half);
            lm.extend_from_slice(&half);
        }
        let keep_h = 1.0 - HEAD_DROPOUT;
        let head: Vec<f32> = (0..batch * 2 * hidden)
            .map(|_| {
                if rng.random::<f32>() < keep_h {
                    1.0 / keep_h
                } else {
                    0.0
                }
            })
            .collect();
        Ok(Self {
            landmark: Tensor::from_vec(lm, (batch, 1, INPUT), device)?,
            head: Tensor::from_vec(head, (batch, 2 * hidden), device)?,
        })
    }
}

impl Ti2Net {
    /// Builds the network from named tensors (checking every shape).
    pub fn from_tensors(t: &HashMap<String, Tensor>) -> Result<Self> {
        let get = |k: &str| {
            t.get(k)
                .cloned()
                .ok_or_else(|| Error::Model(format!("tensor {k} missing")))
        };
        let w_hh = get("rnn.weight_hh_l0")?;
        let hidden = w_hh.dim(1).map_err(Error::from)?;
        for (k, shape) in shapes(hidden) {
            let have = get(k)?.dims().to_vec();
            if have != shape {
                return Err(Error::Model(format!(
                    "tensor {k} has shape {have:?}, expected {shape:?} (hidden size {hidden})"
                )));
            }
        }
        Ok(Self {
            hidden,
            fwd: GruDir {
                w_ih: get("rnn.weight_ih_l0")?,
                w_hh,
                b_ih: get("rnn.bias_ih_l0")?,
                b_hh: get("rnn.bias_hh_l0")?,
            },
            bwd: GruDir {
                w_ih: get("rnn.weight_ih_l0_reverse")?,
                w_hh: get("rnn.weight_hh_l0_reverse")?,
                b_ih: get("rnn.bias_ih_l0_reverse")?,
                b_hh: get("rnn.bias_hh_l0_reverse")?,
            },
            l1_w: get("linear_1.weight")?,
            l1_b: get("linear_1.bias")?,
            l2_w: get("linear_2.weight")?,
            l2_b: get("linear_2.bias")?,
        })
    }

    /// The original's initialisation: GRU weights N(0, 0.1), biases 0, linear layers
    /// Xavier-uniform with bias 0. Returned as trainable variables.
    pub fn init_vars(
        hidden: usize,
        rng: &mut impl Rng,
        device: &Device,
    ) -> Result<Vec<(String, Var)>> {
        let mut out = Vec::new();
        for (k, shape) in shapes(hidden) {
            let n: usize = shape.iter().product();
            let data: Vec<f32> = if k.contains(".bias") || k.starts_with("rnn.bias") {
                vec![0.0; n]
            } else if k.starts_with("rnn.") {
                (0..n).map(|_| 0.1 * normal(rng)).collect()
            } else {
                let a = (6.0 / (shape[0] + shape[1]) as f32).sqrt();
                (0..n).map(|_| rng.random_range(-a..a)).collect()
            };
            let t = Tensor::from_vec(data, shape, device)?;
            out.push((k.to_string(), Var::from_tensor(&t)?));
        }
        Ok(out)
    }

    /// The same network with its weights on `device` (e.g. a checkpoint loaded on the
    /// CPU, run on a GPU).
    pub fn to_device(&self, device: &Device) -> Result<Self> {
        let dir = |g: &GruDir| -> candle_core::Result<GruDir> {
            Ok(GruDir {
                w_ih: g.w_ih.to_device(device)?,
                w_hh: g.w_hh.to_device(device)?,
                b_ih: g.b_ih.to_device(device)?,
                b_hh: g.b_hh.to_device(device)?,
            })
        };
        Ok(Self {
            hidden: self.hidden,
            fwd: dir(&self.fwd)?,
            bwd: dir(&self.bwd)?,
            l1_w: self.l1_w.to_device(device)?,
            l1_b: self.l1_b.to_device(device)?,
            l2_w: self.l2_w.to_device(device)?,
            l2_b: self.l2_b.to_device(device)?,
        })
    }

    pub fn from_vars(vars: &[(String, Var)]) -> Result<Self> {
        let t: HashMap<String, Tensor> = vars
            .iter()
            .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
            .collect();
        Self::from_tensors(&t)
    }

    /// `x`: (B, T, 1024) identity differences. Returns (latent (B, 2H), logits (B, 2)).
    /// `masks` switches training-time dropout on.
    pub fn forward(
        &self,
        x: &Tensor,
        masks: Option<&DropoutMasks>,
    ) -> candle_core::Result<(Tensor, Tensor)> {
        let (b, t, d) = x.dims3()?;
        let x = match masks {
            Some(m) => x.broadcast_mul(&m.landmark)?,
            None => x.clone(),
        };
        let h = self.hidden;
        let flat = x.reshape((b * t, d))?;
        let gi = flat
            .matmul(&self.fwd.w_ih.t()?)?
            .broadcast_add(&self.fwd.b_ih)?
            .reshape((b, t, 3 * h))?;
        let mut state = Tensor::zeros((b, h), x.dtype(), x.device())?;
        for step in 0..t {
            let g = gi.narrow(1, step, 1)?.squeeze(1)?;
            state = self.fwd.step(&g, &state, h)?;
        }
        // The backward direction's output at the last time step has seen that step only.
        let last = x.narrow(1, t - 1, 1)?.squeeze(1)?;
        let gb = last
            .matmul(&self.bwd.w_ih.t()?)?
            .broadcast_add(&self.bwd.b_ih)?;
        let back = self
            .bwd
            .step(&gb, &Tensor::zeros((b, h), x.dtype(), x.device())?, h)?;
        let latent = Tensor::cat(&[&state, &back], D::Minus1)?;
        let y = match masks {
            Some(m) => latent.mul(&m.head)?,
            None => latent.clone(),
        };
        let y = y
            .matmul(&self.l1_w.t()?)?
            .broadcast_add(&self.l1_b)?
            .relu()?;
        let logits = y.matmul(&self.l2_w.t()?)?.broadcast_add(&self.l2_b)?;
        Ok((latent, logits))
    }

    /// Fake probabilities of a batch of clips (B, T, 1024).
    pub fn p_fake(&self, x: &Tensor) -> Result<Vec<f32>> {
        let (_, logits) = self.forward(x, None)?;
        let p = candle_nn::ops::softmax_last_dim(&logits)?;
        Ok(p.narrow(1, 1, 1)?
            .squeeze(1)?
            .to_dtype(DType::F32)?
            .to_vec1::<f32>()?)
    }
}

/// A standard normal draw (Box-Muller).
pub fn normal(rng: &mut impl Rng) -> f32 {
    let u1: f32 = rng.random::<f32>().max(1e-12);
    let u2: f32 = rng.random::<f32>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f32::consts::PI * u2).cos()
}
