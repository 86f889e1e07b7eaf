//! MobileFaceNet on the CPU fast path (channels-last, sgemm 1x1, SIMD depthwise).

use super::*;

/// A depthwise-separable bottleneck: 1x1 expand, 3x3 depthwise, 1x1 project.
struct Bottleneck {
    expand: GemmConv,
    dw: Depthwise,
    project: GemmConv,
    /// The output is added to the block input.
    residual: bool,
}

/// MobileFaceNet on the CPU (see the module documentation).
pub struct MobileFaceNetCpu {
    conv1: GemmConv,
    conv2_dw: Depthwise,
    blocks: Vec<Bottleneck>,
    sep: GemmConv,
    dw7: Depthwise,
    linear: GemmConv,
}

/// Input side of MobileFaceNet.
pub const MFN_SIZE: usize = 112;

impl MobileFaceNetCpu {
    /// From the layers of [`crate::encoder::mobilefacenet::layer_specs`], weights by name.
    pub fn new(get: &Getter) -> Result<Self, String> {
        use crate::encoder::mobilefacenet::layer_specs;
        let mut conv1 = None;
        let mut conv2_dw = None;
        let mut sep = None;
        let mut dw7 = None;
        let mut linear = None;
        let mut blocks = Vec::new();
        let mut expand = None;
        let mut dw = None;
        for s in &layer_specs() {
            let w = get(&format!("{}.weight", s.name))?;
            let b = get(&format!("{}.bias", s.name))?;
            let slope = opt_slope(get, &s.name, s.prelu)?;
            let bad = || format!("unsupported layer {}", s.name);
            let pointwise = || {
                if s.k != 1 || s.stride != 1 || s.groups != 1 {
                    return Err(bad());
                }
                Ok(GemmConv::new(
                    &w,
                    s.cout,
                    s.cin,
                    1,
                    true,
                    b.clone(),
                    slope.clone(),
                ))
            };
            let depthwise = || {
                if s.k != 3 || s.pad != 1 || s.groups != s.cin || s.cin != s.cout {
                    return Err(bad());
                }
                Ok(Depthwise::new(
                    &w,
                    s.cout,
                    3,
                    s.stride,
                    b.clone(),
                    slope.clone(),
                ))
            };
            match s.name.as_str() {
                "conv1" => {
                    if (s.cin, s.k, s.stride, s.pad, s.groups) != (3, 3, 2, 1, 1) {
                        return Err(bad());
                    }
                    conv1 = Some(GemmConv::new(&w, s.cout, s.cin, 3, false, b, slope));
                }
                "conv2_dw" => conv2_dw = Some(depthwise()?),
                "conv_6_sep" => sep = Some(pointwise()?),
                "conv_6_dw" => {
                    if s.groups != s.cin || s.cin != s.cout || s.pad != 0 {
                        return Err(bad());
                    }
                    dw7 = Some(Depthwise::new(&w, s.cout, s.k, 1, b, slope));
                }
                "linear" => linear = Some(pointwise()?),
                n if n.ends_with(".expand") => expand = Some(pointwise()?),
                n if n.ends_with(".dw") => dw = Some(depthwise()?),
                n if n.ends_with(".project") => {
                    let (Some(expand), Some(dw)) = (expand.take(), dw.take()) else {
                        return Err(bad());
                    };
                    // `conv_3.0` etc. are residual; the transitions (`conv_23`,
                    // `conv_34`, `conv_45`) change the shape and are not.
                    let residual = n.trim_end_matches(".project").contains('.');
                    if residual && (s.cin != expand.cout || s.cout != expand.k || dw.stride != 1) {
                        return Err(bad());
                    }
                    blocks.push(Bottleneck {
                        expand,
                        dw,
                        project: pointwise()?,
                        residual,
                    });
                }
                _ => return Err(bad()),
            }
        }
        match (conv1, conv2_dw, sep, dw7, linear) {
            (Some(conv1), Some(conv2_dw), Some(sep), Some(dw7), Some(linear)) => Ok(Self {
                conv1,
                conv2_dw,
                blocks,
                sep,
                dw7,
                linear,
            }),
            _ => Err("a MobileFaceNet layer is missing".into()),
        }
    }

    /// Floating-point operations (two per multiply-add) of one image.
    pub fn flops_per_image() -> f64 {
        use crate::encoder::mobilefacenet::layer_specs;
        let mut hw = MFN_SIZE;
        let mut total = 0.0;
        for s in layer_specs() {
            hw = (hw + 2 * s.pad - s.k) / s.stride + 1;
            total += 2.0 * (hw * hw * s.cout * (s.cin / s.groups) * s.k * s.k) as f64;
        }
        total
    }

    /// `x`: N images (3, 112, 112) normalised BGR, NCHW, flattened. Returns N x 512.
    pub fn forward(&self, x: &[f32], n: usize) -> Vec<f32> {
        let per = 3 * MFN_SIZE * MFN_SIZE;
        assert_eq!(x.len(), n * per);
        let dim = self.linear.cout;
        let mut out = vec![0f32; n * dim];
        par_images(x, per, &mut out, dim, mfn_group(), |img, o, ws| {
            self.forward_group(img, o, ws)
        });
        out
    }

    /// A group of images: the 1x1 convolutions run on all of them at once.
    fn forward_group(&self, x: &[f32], out: &mut [f32], ws: &mut Vec<Vec<f32>>) {
        let s = MFN_SIZE;
        let g = x.len() / (3 * s * s);
        ws.resize_with(3, Vec::new);
        let [cur, e, d] = &mut ws[..] else {
            unreachable!()
        };
        // The largest activation: 56 x 56 x 128 (the first expansion).
        for b in [&mut *cur, &mut *e, &mut *d] {
            grow(b, g * 56 * 56 * 128);
        }
        // conv1: 3x3 stride 2 pad 1 from NCHW, im2col in (c, ky, kx) order, into `e`.
        let (mut h, mut w) = ((s - 1) / 2 + 1, (s - 1) / 2 + 1);
        let col = &mut e[..g * h * w * 27];
        col.fill(0.0);
        for (img, col) in x
            .chunks_exact(3 * s * s)
            .zip(col.chunks_exact_mut(h * w * 27))
        {
            for oy in 0..h {
                for ox in 0..w {
                    let row = &mut col[(oy * w + ox) * 27..][..27];
                    for c in 0..3 {
                        for ky in 0..3 {
                            let iy = (2 * oy + ky) as isize - 1;
                            if iy < 0 || iy >= s as isize {
                                continue;
                            }
                            for kx in 0..3 {
                                let ix = (2 * ox + kx) as isize - 1;
                                if ix >= 0 && ix < s as isize {
                                    row[c * 9 + ky * 3 + kx] =
                                        img[(c * s + iy as usize) * s + ix as usize];
                                }
                            }
                        }
                    }
                }
            }
        }
        self.conv1.run(col, 27, g * h * w, d, false);
        let mut c = self.conv1.cout;
        (h, w) = self.conv2_dw.run_batch(d, g, h, w, cur);
        for b in &self.blocks {
            b.expand.run(cur, c, g * h * w, e, false);
            (h, w) = b.dw.run_batch(e, g, h, w, d);
            b.project.run(d, b.dw.c, g * h * w, cur, b.residual);
            c = b.project.cout;
        }
        self.sep.run(cur, c, g * h * w, e, false);
        if (h, w) != (self.dw7.k, self.dw7.k) {
            panic!("MobileFaceNet: {h} x {w} before the global depthwise convolution");
        }
        let dc = self.dw7.c;
        for i in 0..g {
            self.dw7
                .run_global(&e[i * h * w * dc..], &mut d[i * dc..(i + 1) * dc]);
        }
        self.linear.run(d, self.linear.k, g, out, false);
    }
}

/// Images per group in MobileFaceNet (`TI2NET_MFN_GROUP`, default 4).
fn mfn_group() -> usize {
    std::env::var("TI2NET_MFN_GROUP")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4)
        .max(1)
}
