//! The original's resnet_face18 on the CPU fast path (channels-last, 3x3 convolutions
//! as sgemms over the padded input, batch norms folded).

use super::*;

/// A batch norm in inference: `x * scale + shift` per channel.
#[derive(Debug, Clone)]
pub struct Affine {
    pub scale: Vec<f32>,
    pub shift: Vec<f32>,
}

impl Affine {
    /// From running statistics and the affine parameters.
    pub fn batch_norm(mean: &[f32], var: &[f32], weight: &[f32], bias: &[f32], eps: f64) -> Self {
        let scale: Vec<f32> = var
            .iter()
            .zip(weight)
            .map(|(v, w)| (*w as f64 / (*v as f64 + eps).sqrt()) as f32)
            .collect();
        let shift = bias
            .iter()
            .zip(mean)
            .zip(&scale)
            .map(|((b, m), s)| b - m * s)
            .collect();
        Self { scale, shift }
    }
}

/// Weights of one `IRBlock` of resnet_face18 (OIHW convolutions, no bias).
pub struct IrBlockWeights {
    pub cin: usize,
    pub planes: usize,
    pub stride: usize,
    pub bn0: Affine,
    pub conv1: Vec<f32>,
    pub bn1: Affine,
    /// The block's single PReLU slope (used twice).
    pub prelu: f32,
    pub conv2: Vec<f32>,
    pub bn2: Affine,
    pub se: Option<SeWeights>,
    /// 1x1 convolution (stride `stride`) and its batch norm.
    pub downsample: Option<(Vec<f32>, Affine)>,
}

/// Squeeze-and-excitation: fc (c -> c/16), PReLU, fc (c/16 -> c), sigmoid.
pub struct SeWeights {
    pub fc0_w: Vec<f32>,
    pub fc0_b: Vec<f32>,
    pub prelu: f32,
    pub fc2_w: Vec<f32>,
    pub fc2_b: Vec<f32>,
}

/// Weights of resnet_face18 as the candle model holds them.
pub struct ResNetFaceWeights {
    pub conv1: Vec<f32>,
    pub bn1: Affine,
    pub prelu: f32,
    pub blocks: Vec<IrBlockWeights>,
    pub bn4: Affine,
    /// (512, 512 * 8 * 8), inputs in NCHW flattening order.
    pub fc5_w: Vec<f32>,
    pub fc5_b: Vec<f32>,
    pub bn5: Affine,
}

/// Input side of resnet_face18.
pub const R18_SIZE: usize = 128;

/// Scales output channel `o` of an OIHW weight by `s[o]`.
fn scale_out(w: &[f32], s: &[f32]) -> Vec<f32> {
    let per = w.len() / s.len();
    w.chunks_exact(per)
        .zip(s)
        .flat_map(|(row, s)| row.iter().map(move |v| v * s))
        .collect()
}

struct IrBlockCpu {
    cin: usize,
    planes: usize,
    stride: usize,
    bn0: Affine,
    /// conv1 + bn1 + PReLU.
    conv1: GemmConv,
    /// conv2 + bn2.
    conv2: GemmConv,
    prelu: f32,
    se: Option<SeWeights>,
    downsample: Option<GemmConv>,
}

/// resnet_face18 on the CPU (see the module documentation).
pub struct ResNetFaceCpu {
    conv1: GemmConv,
    blocks: Vec<IrBlockCpu>,
    /// bn4, fc5 and bn5 folded into one (512 * 8 * 8, 512) matrix, NHWC input order.
    fc5: GemmConv,
    feat_hw: usize,
}

impl ResNetFaceCpu {
    pub fn new(w: ResNetFaceWeights) -> Result<Self, String> {
        let c1 = w.bn1.scale.len();
        if w.conv1.len() != c1 * 9 {
            return Err("conv1 is not 1 -> 64 3x3".into());
        }
        let conv1 = GemmConv::new(
            &scale_out(&w.conv1, &w.bn1.scale),
            c1,
            1,
            3,
            true,
            w.bn1.shift.clone(),
            Some(vec![w.prelu; c1]),
        );
        let mut blocks = Vec::new();
        let mut hw = R18_SIZE / 2;
        for b in w.blocks {
            let (cin, planes) = (b.cin, b.planes);
            if b.conv1.len() != cin * cin * 9 || b.conv2.len() != planes * cin * 9 {
                return Err("a block's convolutions have unexpected shapes".into());
            }
            let conv1 = GemmConv::new(
                &scale_out(&b.conv1, &b.bn1.scale),
                cin,
                cin,
                3,
                true,
                b.bn1.shift.clone(),
                Some(vec![b.prelu; cin]),
            );
            let conv2 = GemmConv::new(
                &scale_out(&b.conv2, &b.bn2.scale),
                planes,
                cin,
                3,
                true,
                b.bn2.shift.clone(),
                None,
            );
            let downsample = match b.downsample {
                Some((dw, dbn)) => {
                    if dw.len() != planes * cin {
                        return Err("a downsample has an unexpected shape".into());
                    }
                    Some(GemmConv::new(
                        &scale_out(&dw, &dbn.scale),
                        planes,
                        cin,
                        1,
                        true,
                        dbn.shift.clone(),
                        None,
                    ))
                }
                None => {
                    if b.stride != 1 || cin != planes {
                        return Err("a block changes shape without a downsample".into());
                    }
                    None
                }
            };
            hw = (hw - 1) / b.stride + 1;
            blocks.push(IrBlockCpu {
                cin,
                planes,
                stride: b.stride,
                bn0: b.bn0,
                conv1,
                conv2,
                prelu: b.prelu,
                se: b.se,
                downsample,
            });
        }
        // fc5 on bn4(x) then bn5: z = s5 * (W (s4 x + t4) + b) + t5.
        let c = w.bn4.scale.len();
        let p = hw * hw;
        let out = w.fc5_b.len();
        if w.fc5_w.len() != out * c * p {
            return Err(format!("fc5 does not take {c} x {hw} x {hw} features"));
        }
        let mut fw = vec![0f32; c * p * out];
        let mut fb = vec![0f32; out];
        for (o, b) in fb.iter_mut().enumerate() {
            let s5 = w.bn5.scale[o];
            let mut acc = w.fc5_b[o] as f64;
            for (ch, (s4, t4)) in w.bn4.scale.iter().zip(&w.bn4.shift).enumerate() {
                for q in 0..p {
                    let wv = w.fc5_w[o * c * p + ch * p + q];
                    acc += wv as f64 * *t4 as f64;
                    fw[(q * c + ch) * out + o] = wv * s4 * s5;
                }
            }
            *b = acc as f32 * s5 + w.bn5.shift[o];
        }
        let fc5 = GemmConv {
            k: c * p,
            cout: out,
            w: fw,
            bias: fb,
            slope: None,
        };
        Ok(Self {
            conv1,
            blocks,
            fc5,
            feat_hw: hw,
        })
    }

    /// Floating-point operations (two per multiply-add) of one image.
    pub fn flops_per_image(&self) -> f64 {
        let blocks: Vec<_> = self
            .blocks
            .iter()
            .map(|b| (b.cin, b.planes, b.stride))
            .collect();
        Self::flops_per_image_of(&blocks)
    }

    /// The same from the blocks' (input channels, output channels, stride) of a
    /// network with 64 channels after conv1 and a 512-d output.
    pub fn flops_per_image_of(blocks: &[(usize, usize, usize)]) -> f64 {
        let mut hw = R18_SIZE;
        let mut t = 2.0 * (hw * hw * 64 * 9) as f64;
        hw /= 2;
        let mut c = 64;
        for &(cin, planes, stride) in blocks {
            t += 2.0 * (hw * hw * cin * cin * 9) as f64;
            hw = (hw - 1) / stride + 1;
            t += 2.0 * (hw * hw * planes * cin * 9) as f64;
            if stride != 1 || cin != planes {
                t += 2.0 * (hw * hw * planes * cin) as f64;
            }
            c = planes;
        }
        t + 2.0 * (c * hw * hw * 512) as f64
    }

    /// `x`: N images (1, 128, 128) scaled to [-1, 1], flattened. Returns N x 512.
    pub fn forward(&self, x: &[f32], n: usize) -> Vec<f32> {
        let per = R18_SIZE * R18_SIZE;
        assert_eq!(x.len(), n * per);
        if n == 0 {
            return Vec::new();
        }
        let k = self.fc5.k;
        let mut feats = vec![0f32; n * k];
        par_images(x, per, &mut feats, k, 1, |img, o, ws| {
            self.features(img, o, ws)
        });
        // fc5 over the whole batch: its 64 MiB of weights are read once.
        let dim = self.fc5.cout;
        let mut out = vec![0f32; n * dim];
        fill_bias(&mut out, n, &self.fc5.bias);
        let threads = rayon::current_num_threads();
        // SAFETY: sizes as in `sgemm`; out (n x dim), feats (n x k), w (k x dim).
        unsafe {
            gemm::gemm(
                n,
                dim,
                k,
                out.as_mut_ptr(),
                1,
                dim as isize,
                true,
                feats.as_ptr(),
                1,
                k as isize,
                self.fc5.w.as_ptr(),
                1,
                dim as isize,
                1.0,
                1.0,
                false,
                false,
                false,
                if threads > 1 {
                    Parallelism::Rayon(threads)
                } else {
                    Parallelism::None
                },
            )
        }
        out
    }

    /// The NHWC features before bn4 / fc5 of one image.
    fn features(&self, x: &[f32], out: &mut [f32], ws: &mut Vec<Vec<f32>>) {
        ws.resize_with(6, Vec::new);
        let [cur, p, p2, r, col, ds] = &mut ws[..] else {
            unreachable!()
        };
        let s = R18_SIZE;
        // conv1 + bn1 + PReLU: im2col (K = 9) and one sgemm, then 2x2 max pooling.
        let c = self.conv1.cout;
        im2col3x3_nhwc(x, s, s, 1, 1, None, col);
        grow(r, s * s * c);
        self.conv1.run(col, 9, s * s, r, false);
        let (mut h, mut w) = (s / 2, s / 2);
        grow(cur, h * w * c);
        for y in 0..h {
            for xx in 0..w {
                let o = &mut cur[(y * w + xx) * c..][..c];
                let a = &r[((2 * y) * s + 2 * xx) * c..][..c];
                let b = &r[((2 * y) * s + 2 * xx + 1) * c..][..c];
                let d = &r[((2 * y + 1) * s + 2 * xx) * c..][..c];
                let e = &r[((2 * y + 1) * s + 2 * xx + 1) * c..][..c];
                for (i, o) in o.iter_mut().enumerate() {
                    *o = a[i].max(b[i]).max(d[i].max(e[i]));
                }
            }
        }
        for b in &self.blocks {
            (h, w) = b.forward(cur, h, w, p, p2, r, col, ds);
        }
        debug_assert_eq!((h, w), (self.feat_hw, self.feat_hw));
        out.copy_from_slice(&cur[..out.len()]);
    }
}

impl GemmConv {
    /// 3x3 stride-1 convolution of a zero-padded NHWC input `p` ((h + 2) x (w + 2)
    /// pixels and two spare zero pixels): three sgemms (one per kernel row, K = 3 cin)
    /// read in place. Output row `y * (w + 2) + x` is pixel (y, x); columns `x >= w`
    /// are garbage.
    pub(in crate::encoder::cpu) fn run_3x3_padded(
        &self,
        p: &[f32],
        h: usize,
        w: usize,
        out: &mut [f32],
    ) {
        let cin = self.k / 9;
        let wp = w + 2;
        let rows = h * wp;
        assert!(p.len() >= ((h + 2) * wp + 2) * cin);
        for ky in 0..3 {
            sgemm(
                rows,
                self.cout,
                3 * cin,
                out,
                self.cout,
                ky > 0,
                &p[ky * wp * cin..],
                cin,
                &self.w[ky * 3 * cin * self.cout..],
                self.cout,
            );
        }
        epilogue(
            &mut out[..rows * self.cout],
            &self.bias,
            self.slope.as_deref(),
        );
    }
}

impl IrBlockCpu {
    /// `x` (h, w, cin) NHWC in place -> (ho, wo, planes).
    #[allow(clippy::too_many_arguments)]
    fn forward(
        &self,
        x: &mut Vec<f32>,
        h: usize,
        w: usize,
        p: &mut Vec<f32>,
        p2: &mut Vec<f32>,
        r: &mut Vec<f32>,
        col: &mut Vec<f32>,
        ds: &mut Vec<f32>,
    ) -> (usize, usize) {
        let (cin, planes) = (self.cin, self.planes);
        let wp = w + 2;
        let padded = ((h + 2) * wp + 2) * cin;
        // bn0 into a zero-padded buffer.
        p.clear();
        p.resize(padded, 0.0);
        let (s0, t0) = (&self.bn0.scale, &self.bn0.shift);
        for y in 0..h {
            for xx in 0..w {
                let src = &x[(y * w + xx) * cin..][..cin];
                let dst = &mut p[((y + 1) * wp + xx + 1) * cin..][..cin];
                affine_into(dst, src, s0, t0);
            }
        }
        // conv1 + bn1 + PReLU, written straight into the next padded buffer: output
        // row r lands on padded pixel r + w + 3, its garbage columns on the padding,
        // which is cleared afterwards.
        p2.clear();
        p2.resize(padded, 0.0);
        let off = (wp + 1) * cin;
        self.conv1
            .run_3x3_padded(p, h, w, &mut p2[off..off + h * wp * cin]);
        for y in 0..h {
            p2[((y + 1) * wp + w + 1) * cin..][..cin].fill(0.0);
            p2[((y + 2) * wp) * cin..][..cin].fill(0.0);
        }
        // conv2 + bn2: rows `y * rs + x`.
        let (ho, wo, rs) = if self.stride == 1 {
            grow(r, h * wp * planes);
            self.conv2.run_3x3_padded(p2, h, w, r);
            (h, w, wp)
        } else {
            let s = self.stride;
            let (ho, wo) = ((h - 1) / s + 1, (w - 1) / s + 1);
            let k = 9 * cin;
            col.clear();
            col.resize(ho * wo * k, 0.0);
            for oy in 0..ho {
                for ox in 0..wo {
                    let row = &mut col[(oy * wo + ox) * k..][..k];
                    for ky in 0..3 {
                        let src = &p2[((oy * s + ky) * wp + ox * s) * cin..][..3 * cin];
                        row[ky * 3 * cin..][..3 * cin].copy_from_slice(src);
                    }
                }
            }
            grow(r, ho * wo * planes);
            self.conv2.run(col, k, ho * wo, r, false);
            (ho, wo, wo)
        };
        // Squeeze-and-excitation scale.
        let mut se = vec![1f32; planes];
        if let Some(sw) = &self.se {
            let mut mean = vec![0f64; planes];
            for y in 0..ho {
                for xx in 0..wo {
                    for (m, v) in mean.iter_mut().zip(&r[(y * rs + xx) * planes..][..planes]) {
                        *m += *v as f64;
                    }
                }
            }
            let mean: Vec<f32> = mean.iter().map(|m| (m / (ho * wo) as f64) as f32).collect();
            let hid = sw.fc0_b.len();
            let z: Vec<f32> = (0..hid)
                .map(|j| {
                    let v = sw.fc0_b[j]
                        + sw.fc0_w[j * planes..][..planes]
                            .iter()
                            .zip(&mean)
                            .map(|(a, b)| a * b)
                            .sum::<f32>();
                    if v < 0.0 {
                        v * sw.prelu
                    } else {
                        v
                    }
                })
                .collect();
            for (o, s) in se.iter_mut().enumerate() {
                let v = sw.fc2_b[o]
                    + sw.fc2_w[o * hid..][..hid]
                        .iter()
                        .zip(&z)
                        .map(|(a, b)| a * b)
                        .sum::<f32>();
                *s = 1.0 / (1.0 + (-v).exp());
            }
        }
        // Residual: x itself or the downsample of x.
        let residual: &[f32] = match &self.downsample {
            None => &x[..],
            Some(d) => {
                let s = self.stride;
                let src: &[f32] = if s == 1 {
                    &x[..]
                } else {
                    col.clear();
                    col.resize(ho * wo * cin, 0.0);
                    for oy in 0..ho {
                        for ox in 0..wo {
                            col[(oy * wo + ox) * cin..][..cin]
                                .copy_from_slice(&x[(oy * s * w + ox * s) * cin..][..cin]);
                        }
                    }
                    &col[..]
                };
                grow(ds, ho * wo * planes);
                d.run(src, cin, ho * wo, ds, false);
                &ds[..]
            }
        };
        // out = PReLU(conv2 * se + residual), compact, into `p` then swapped into `x`.
        p.clear();
        p.resize(ho * wo * planes, 0.0);
        let a = self.prelu;
        for y in 0..ho {
            for xx in 0..wo {
                let o = &mut p[(y * wo + xx) * planes..][..planes];
                let rv = &r[(y * rs + xx) * planes..][..planes];
                let res = &residual[(y * wo + xx) * planes..][..planes];
                for (((o, rv), se), res) in o.iter_mut().zip(rv).zip(&se).zip(res) {
                    let v = rv * se + res;
                    *o = if v < 0.0 { v * a } else { v };
                }
            }
        }
        std::mem::swap(x, p);
        (ho, wo)
    }
}
