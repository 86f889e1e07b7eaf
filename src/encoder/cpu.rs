//! CPU fast paths of both encoders.
//!
//! candle runs a grouped convolution group by group and a dense one as a direct loop,
//! far from what the CPU can do. Here activations are channels-last (NHWC) and:
//! - a 1x1 convolution is one sgemm ((H*W, Cin) x (Cin, Cout), the `gemm` crate);
//! - a stride-1 3x3 convolution is three sgemms with K = 3 * Cin read in place from a
//!   zero-padded input (the three pixels of a kernel row are contiguous in NHWC), no
//!   im2col; a strided one goes through im2col and one sgemm;
//! - a depthwise 3x3 convolution is a loop over output pixels with the channels in
//!   SIMD registers (AVX2 + FMA when the CPU has them);
//! - bias (batch norm folded in), PReLU and residual additions are fused in;
//! - buffers are reused within a batch, and the images of a batch are spread over the
//!   rayon threads (one sgemm per thread, no synchronisation inside a network).
//!
//! The candle models stay the reference (and the path on other devices); the parity
//! tests compare these paths with onnxruntime and PyTorch, and the unit tests of
//! `encoder` with candle. `TI2NET_CANDLE_CPU=1` runs candle on the CPU instead (to
//! compare speeds: `ti2net bench` prints the sgemm floor and each encoder's GFLOP/s);
//! `TI2NET_MFN_GROUP=N` runs MobileFaceNet's 1x1 convolutions on N images at once.

use gemm::Parallelism;

/// `dst (m x n, row stride dst_rs) [+]= lhs (m x k) * rhs (k x n)`; strides in floats.
/// `lhs` rows may overlap (row stride smaller than k).
#[allow(clippy::too_many_arguments)]
fn sgemm(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [f32],
    dst_rs: usize,
    accumulate: bool,
    lhs: &[f32],
    lhs_rs: usize,
    rhs: &[f32],
    rhs_rs: usize,
) {
    if m == 0 || n == 0 {
        return;
    }
    assert!(dst.len() >= (m - 1) * dst_rs + n);
    assert!(k == 0 || lhs.len() >= (m - 1) * lhs_rs + k);
    assert!(k == 0 || rhs.len() >= (k - 1) * rhs_rs + n);
    // SAFETY: the asserts above keep every access of the three matrices in bounds,
    // and `dst` does not alias `lhs` or `rhs` (distinct borrows).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            dst_rs as isize,
            accumulate,
            lhs.as_ptr(),
            1,
            lhs_rs as isize,
            rhs.as_ptr(),
            1,
            rhs_rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            Parallelism::None,
        )
    }
}

/// Floating-point operations of a sgemm.
pub fn gemm_flops(m: usize, n: usize, k: usize) -> f64 {
    2.0 * m as f64 * n as f64 * k as f64
}

/// Times `(m x k) * (k x n)` sgemms on `threads` threads (one independent sgemm per
/// thread at a time, as the encoders run) for about `secs` seconds, best of three;
/// returns GFLOP/s over all threads (wall clock).
pub fn sgemm_floor(m: usize, n: usize, k: usize, threads: usize, secs: f64) -> f64 {
    use rayon::prelude::*;
    let threads = threads.max(1);
    let mut bufs: Vec<(Vec<f32>, Vec<f32>, Vec<f32>)> = (0..threads)
        .map(|t| {
            (
                (0..m * k).map(|i| ((i + t) % 7) as f32 * 0.1).collect(),
                (0..k * n).map(|i| (i % 5) as f32 * 0.1).collect(),
                vec![0f32; m * n],
            )
        })
        .collect();
    let mut run = |reps: usize| {
        let t0 = std::time::Instant::now();
        bufs.par_iter_mut().with_max_len(1).for_each(|(a, b, c)| {
            for _ in 0..reps {
                sgemm(m, n, k, c, n, false, a, k, b, n);
            }
        });
        t0.elapsed().as_secs_f64()
    };
    let one = run(1).max(1e-6);
    let reps = ((secs / 3.0 / one) as usize).clamp(1, 10_000);
    let best = (0..3).map(|_| run(reps)).fold(f64::INFINITY, f64::min);
    gemm_flops(m, n, k) * (reps * threads) as f64 / best / 1e9
}

/// `x <- x + bias[c]`, then PReLU with `slope[c]` if given, channels last.
#[inline(always)]
fn epilogue_impl(x: &mut [f32], bias: &[f32], slope: Option<&[f32]>) {
    match slope {
        Some(slope) => {
            for row in x.chunks_exact_mut(bias.len()) {
                for ((v, b), s) in row.iter_mut().zip(bias).zip(slope) {
                    let a = *v + b;
                    *v = if a < 0.0 { a * s } else { a };
                }
            }
        }
        None => {
            for row in x.chunks_exact_mut(bias.len()) {
                for (v, b) in row.iter_mut().zip(bias) {
                    *v += b;
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn epilogue_avx2(x: &mut [f32], bias: &[f32], slope: Option<&[f32]>) {
    epilogue_impl(x, bias, slope)
}

/// Bias, then PReLU if `slope` is given, in place on rows of `bias.len()` channels.
fn epilogue(x: &mut [f32], bias: &[f32], slope: Option<&[f32]>) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        // SAFETY: the CPU has AVX2 and FMA (checked above).
        return unsafe { epilogue_avx2(x, bias, slope) };
    }
    epilogue_impl(x, bias, slope)
}

/// In place PReLU, channels last.
fn prelu(x: &mut [f32], slope: &[f32]) {
    for row in x.chunks_exact_mut(slope.len()) {
        for (v, s) in row.iter_mut().zip(slope) {
            let a = *v;
            *v = if a < 0.0 { a * s } else { a };
        }
    }
}

/// `dst = src * scale + shift`, element by element.
fn affine_into(dst: &mut [f32], src: &[f32], scale: &[f32], shift: &[f32]) {
    for (((d, x), s), t) in dst.iter_mut().zip(src).zip(scale).zip(shift) {
        *d = x * s + t;
    }
}

/// Fills `rows` rows of `c` channels with `bias`.
fn fill_bias(dst: &mut [f32], rows: usize, bias: &[f32]) {
    for row in dst[..rows * bias.len()].chunks_exact_mut(bias.len()) {
        row.copy_from_slice(bias);
    }
}

#[cfg(target_arch = "x86_64")]
fn has_avx2_fma() -> bool {
    std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
}

/// Channel block of the depthwise kernel (four AVX registers).
const CB: usize = 32;

/// Depthwise 3x3, pad 1, NHWC; `w` is (9, C) (taps first), `c` a multiple of [`CB`].
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn dw3x3_impl(
    x: &[f32],
    h: usize,
    wd: usize,
    c: usize,
    stride: usize,
    w: &[f32],
    bias: &[f32],
    slope: Option<&[f32]>,
    out: &mut [f32],
) {
    let ho = (h - 1) / stride + 1;
    let wo = (wd - 1) / stride + 1;
    for oy in 0..ho {
        let iy0 = (oy * stride) as isize - 1;
        let ky0 = if iy0 < 0 { 1 } else { 0 };
        let ky1 = 3.min(h as isize - iy0) as usize;
        for ox in 0..wo {
            let ix0 = (ox * stride) as isize - 1;
            let kx0 = if ix0 < 0 { 1 } else { 0 };
            let kx1 = 3.min(wd as isize - ix0) as usize;
            let o = &mut out[(oy * wo + ox) * c..(oy * wo + ox + 1) * c];
            for cb in (0..c).step_by(CB) {
                let mut acc = [0f32; CB];
                acc.copy_from_slice(&bias[cb..cb + CB]);
                for ky in ky0..ky1 {
                    let iy = (iy0 + ky as isize) as usize;
                    for kx in kx0..kx1 {
                        let ix = (ix0 + kx as isize) as usize;
                        let xs = &x[(iy * wd + ix) * c + cb..][..CB];
                        let ws = &w[(ky * 3 + kx) * c + cb..][..CB];
                        for ((a, xv), wv) in acc.iter_mut().zip(xs).zip(ws) {
                            *a += xv * wv;
                        }
                    }
                }
                if let Some(s) = slope {
                    for (a, s) in acc.iter_mut().zip(&s[cb..cb + CB]) {
                        *a = if *a < 0.0 { *a * s } else { *a };
                    }
                }
                o[cb..cb + CB].copy_from_slice(&acc);
            }
        }
    }
}

/// [`dw3x3_impl`] with AVX2 and FMA intrinsics: 32 channels of one output pixel, or
/// of two neighbours sharing the weight loads, in registers through the taps; PReLU
/// as a blend.
#[cfg(target_arch = "x86_64")]
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx2,fma")]
unsafe fn dw3x3_avx2(
    x: &[f32],
    h: usize,
    wd: usize,
    c: usize,
    stride: usize,
    w: &[f32],
    bias: &[f32],
    slope: Option<&[f32]>,
    out: &mut [f32],
) {
    let ho = (h - 1) / stride + 1;
    let wo = (wd - 1) / stride + 1;
    assert!(out.len() >= ho * wo * c);
    let (xp, wp, op) = (x.as_ptr(), w.as_ptr(), out.as_mut_ptr());
    for oy in 0..ho {
        let iy0 = (oy * stride) as isize - 1;
        let ky0 = if iy0 < 0 { 1 } else { 0 };
        let ky1 = 3.min(h as isize - iy0) as usize;
        let mut ox = 0;
        while ox < wo {
            let ix0 = (ox * stride) as isize - 1;
            // Two pixels whose taps are all inside the row.
            let pair = ox + 1 < wo && ix0 >= 0 && ix0 as usize + stride + 2 < wd;
            let kx0 = if ix0 < 0 { 1 } else { 0 };
            let kx1 = 3.min(wd as isize - ix0) as usize;
            for cb in (0..c).step_by(CB) {
                // SAFETY (both calls): taps (iy0 + ky, ix0 + kx) are inside the image
                // for ky in ky0..ky1, kx in kx0..kx1 (and the pair's second pixel
                // `stride` further, checked above); channels cb..cb + 32 <= c.
                let base =
                    xp.wrapping_offset(((iy0 * wd as isize) + ix0) * c as isize + cb as isize);
                let o = op.add((oy * wo + ox) * c + cb);
                if pair {
                    dw_pixels::<2>(
                        base,
                        wd * c,
                        stride * c,
                        wp.add(cb),
                        c,
                        (ky0, ky1, 0, 3),
                        &bias[cb..cb + CB],
                        slope.map(|s| &s[cb..cb + CB]),
                        o,
                        c,
                    );
                } else {
                    dw_pixels::<1>(
                        base,
                        wd * c,
                        stride * c,
                        wp.add(cb),
                        c,
                        (ky0, ky1, kx0, kx1),
                        &bias[cb..cb + CB],
                        slope.map(|s| &s[cb..cb + CB]),
                        o,
                        c,
                    );
                }
            }
            ox += if pair { 2 } else { 1 };
        }
    }
}

/// `P` neighbouring output pixels of a depthwise 3x3, 32 channels: `base` points at
/// tap (0, 0) of the first pixel (possibly outside the image, for taps skipped by
/// `taps`), `row` and `next` are the strides of an input row and of the next pixel,
/// `w` at channel 0 of tap 0 (taps `c` apart).
#[cfg(target_arch = "x86_64")]
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn dw_pixels<const P: usize>(
    base: *const f32,
    row: usize,
    next: usize,
    w: *const f32,
    c: usize,
    taps: (usize, usize, usize, usize),
    bias: &[f32],
    slope: Option<&[f32]>,
    out: *mut f32,
    out_next: usize,
) {
    use std::arch::x86_64::*;
    let mut acc = [[_mm256_setzero_ps(); 4]; P];
    for a in acc.iter_mut() {
        for (j, v) in a.iter_mut().enumerate() {
            *v = _mm256_loadu_ps(bias.as_ptr().add(8 * j));
        }
    }
    let (ky0, ky1, kx0, kx1) = taps;
    for ky in ky0..ky1 {
        for kx in kx0..kx1 {
            let ws = w.add((ky * 3 + kx) * c);
            let wv = [
                _mm256_loadu_ps(ws),
                _mm256_loadu_ps(ws.add(8)),
                _mm256_loadu_ps(ws.add(16)),
                _mm256_loadu_ps(ws.add(24)),
            ];
            let xs = base.wrapping_add(ky * row + kx * c);
            for (p, a) in acc.iter_mut().enumerate() {
                let xp = xs.wrapping_add(p * next);
                for (j, v) in a.iter_mut().enumerate() {
                    *v = _mm256_fmadd_ps(_mm256_loadu_ps(xp.add(8 * j)), wv[j], *v);
                }
            }
        }
    }
    let zero = _mm256_setzero_ps();
    for (p, a) in acc.iter_mut().enumerate() {
        for (j, v) in a.iter_mut().enumerate() {
            if let Some(s) = slope {
                let neg = _mm256_cmp_ps::<_CMP_LT_OQ>(*v, zero);
                let sv = _mm256_loadu_ps(s.as_ptr().add(8 * j));
                *v = _mm256_blendv_ps(*v, _mm256_mul_ps(*v, sv), neg);
            }
            _mm256_storeu_ps(out.add(p * out_next + 8 * j), *v);
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn dw3x3(
    x: &[f32],
    h: usize,
    wd: usize,
    c: usize,
    stride: usize,
    w: &[f32],
    bias: &[f32],
    slope: Option<&[f32]>,
    out: &mut [f32],
) {
    assert!(c.is_multiple_of(CB) && w.len() == 9 * c && bias.len() == c);
    assert!(x.len() >= h * wd * c && slope.is_none_or(|s| s.len() == c));
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        // SAFETY: the CPU has AVX2 and FMA (checked above); the asserts above and in
        // `dw3x3_avx2` bound every pointer access (c a multiple of 32, taps inside
        // the input, outputs inside `out`).
        return unsafe { dw3x3_avx2(x, h, wd, c, stride, w, bias, slope, out) };
    }
    dw3x3_impl(x, h, wd, c, stride, w, bias, slope, out)
}

/// im2col of a 3x3 pad-1 convolution of NHWC `x` (rows: output pixels; columns:
/// (ky, kx, c)); with `affine`, `x * scale[c] + shift[c]` is taken (zero padding
/// stays zero).
#[allow(clippy::too_many_arguments)]
fn im2col3x3_nhwc(
    x: &[f32],
    h: usize,
    wd: usize,
    c: usize,
    stride: usize,
    affine: Option<(&[f32], &[f32])>,
    col: &mut Vec<f32>,
) -> (usize, usize) {
    let ho = (h - 1) / stride + 1;
    let wo = (wd - 1) / stride + 1;
    let k = 9 * c;
    col.clear();
    col.resize(ho * wo * k, 0.0);
    for oy in 0..ho {
        for ox in 0..wo {
            let row = &mut col[(oy * wo + ox) * k..(oy * wo + ox + 1) * k];
            for ky in 0..3 {
                let iy = (oy * stride + ky) as isize - 1;
                if iy < 0 || iy >= h as isize {
                    continue;
                }
                for kx in 0..3 {
                    let ix = (ox * stride + kx) as isize - 1;
                    if ix < 0 || ix >= wd as isize {
                        continue;
                    }
                    let src = &x[(iy as usize * wd + ix as usize) * c..][..c];
                    let dst = &mut row[(ky * 3 + kx) * c..][..c];
                    match affine {
                        None => dst.copy_from_slice(src),
                        Some((s, t)) => {
                            affine_into(dst, src, s, t);
                        }
                    }
                }
            }
        }
    }
    (ho, wo)
}

/// A convolution with its weights laid out for sgemm: (K, Cout) row-major, K in
/// (ky, kx, cin) order (or the caller's order for the first layer).
struct GemmConv {
    k: usize,
    cout: usize,
    w: Vec<f32>,
    bias: Vec<f32>,
    slope: Option<Vec<f32>>,
}

impl GemmConv {
    /// From an OIHW weight; `taps_first` orders K as (ky, kx, cin) (NHWC im2col),
    /// otherwise as (cin, ky, kx) (NCHW im2col).
    fn new(
        w_oihw: &[f32],
        cout: usize,
        cin: usize,
        ks: usize,
        taps_first: bool,
        bias: Vec<f32>,
        slope: Option<Vec<f32>>,
    ) -> Self {
        let k = cin * ks * ks;
        assert_eq!(w_oihw.len(), cout * k);
        let mut w = vec![0f32; k * cout];
        for o in 0..cout {
            for i in 0..cin {
                for t in 0..ks * ks {
                    let kk = if taps_first {
                        t * cin + i
                    } else {
                        i * ks * ks + t
                    };
                    w[kk * cout + o] = w_oihw[(o * cin + i) * ks * ks + t];
                }
            }
        }
        Self {
            k,
            cout,
            w,
            bias,
            slope,
        }
    }

    /// `out` (rows x cout) = lhs (rows x K, row stride lhs_rs) * W + bias [+ out], PReLU.
    fn run(&self, lhs: &[f32], lhs_rs: usize, rows: usize, out: &mut [f32], residual: bool) {
        sgemm(
            rows, self.cout, self.k, out, self.cout, residual, lhs, lhs_rs, &self.w, self.cout,
        );
        epilogue(
            &mut out[..rows * self.cout],
            &self.bias,
            self.slope.as_deref(),
        );
    }
}

/// A depthwise 3x3 (or global k x k) convolution, weights (k*k, C).
struct Depthwise {
    c: usize,
    k: usize,
    stride: usize,
    w: Vec<f32>,
    bias: Vec<f32>,
    slope: Option<Vec<f32>>,
}

impl Depthwise {
    fn new(
        w_c1kk: &[f32],
        c: usize,
        k: usize,
        stride: usize,
        bias: Vec<f32>,
        slope: Option<Vec<f32>>,
    ) -> Self {
        assert_eq!(w_c1kk.len(), c * k * k);
        let mut w = vec![0f32; k * k * c];
        for ch in 0..c {
            for t in 0..k * k {
                w[t * c + ch] = w_c1kk[ch * k * k + t];
            }
        }
        Self {
            c,
            k,
            stride,
            w,
            bias,
            slope,
        }
    }

    /// 3x3 pad 1 on `g` images: returns the output size.
    fn run_batch(
        &self,
        x: &[f32],
        g: usize,
        h: usize,
        wd: usize,
        out: &mut [f32],
    ) -> (usize, usize) {
        let (ho, wo) = ((h - 1) / self.stride + 1, (wd - 1) / self.stride + 1);
        for i in 0..g {
            self.run(
                &x[i * h * wd * self.c..],
                h,
                wd,
                &mut out[i * ho * wo * self.c..],
            );
        }
        (ho, wo)
    }

    /// 3x3 pad 1: returns the output size.
    fn run(&self, x: &[f32], h: usize, wd: usize, out: &mut [f32]) -> (usize, usize) {
        let ho = (h - 1) / self.stride + 1;
        let wo = (wd - 1) / self.stride + 1;
        dw3x3(
            x,
            h,
            wd,
            self.c,
            self.stride,
            &self.w,
            &self.bias,
            self.slope.as_deref(),
            &mut out[..ho * wo * self.c],
        );
        (ho, wo)
    }

    /// k x k over a k x k input, no padding: one value per channel.
    fn run_global(&self, x: &[f32], out: &mut [f32]) {
        let c = self.c;
        let o = &mut out[..c];
        o.copy_from_slice(&self.bias);
        for t in 0..self.k * self.k {
            for ((v, xs), ws) in o
                .iter_mut()
                .zip(&x[t * c..(t + 1) * c])
                .zip(&self.w[t * c..])
            {
                *v += xs * ws;
            }
        }
        if let Some(s) = &self.slope {
            prelu(o, s);
        }
    }
}

/// Weights by name, as the candle models name them.
pub type Getter<'a> = dyn Fn(&str) -> Result<Vec<f32>, String> + 'a;

fn opt_slope(get: &Getter, name: &str, prelu: bool) -> Result<Option<Vec<f32>>, String> {
    if prelu {
        get(&format!("{name}.prelu.weight")).map(Some)
    } else {
        Ok(None)
    }
}

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
    /// From the layers of [`super::mobilefacenet::layer_specs`], weights by name.
    pub fn new(get: &Getter) -> Result<Self, String> {
        use super::mobilefacenet::layer_specs;
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
        use super::mobilefacenet::layer_specs;
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

thread_local! {
    /// Each thread's buffers, kept between batches (a few MiB).
    static WORKSPACE: std::cell::RefCell<Vec<Vec<f32>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `f` on groups of up to `group` images of `x` (`per` floats each), each
/// writing `dim` floats of `out` per image; the images are split evenly over the
/// rayon threads, with one workspace per thread.
fn par_images<F>(x: &[f32], per: usize, out: &mut [f32], dim: usize, group: usize, f: F)
where
    F: Fn(&[f32], &mut [f32], &mut Vec<Vec<f32>>) + Sync,
{
    use rayon::prelude::*;
    let n = out.len() / dim;
    let threads = rayon::current_num_threads().clamp(1, n.max(1));
    let per_thread = n.div_ceil(threads).max(1);
    x.par_chunks(per * per_thread)
        .zip(out.par_chunks_mut(dim * per_thread))
        .for_each(|(xs, os)| {
            WORKSPACE.with(|ws| {
                let mut ws = ws.borrow_mut();
                for (img, o) in xs.chunks(per * group).zip(os.chunks_mut(dim * group)) {
                    f(img, o, &mut ws);
                }
            })
        });
}

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

fn grow(v: &mut Vec<f32>, n: usize) {
    if v.len() < n {
        v.resize(n, 0.0);
    }
}

impl GemmConv {
    /// 3x3 stride-1 convolution of a zero-padded NHWC input `p` ((h + 2) x (w + 2)
    /// pixels and two spare zero pixels): three sgemms (one per kernel row, K = 3 cin)
    /// read in place. Output row `y * (w + 2) + x` is pixel (y, x); columns `x >= w`
    /// are garbage.
    fn run_3x3_padded(&self, p: &[f32], h: usize, w: usize, out: &mut [f32]) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize, seed: usize) -> Vec<f32> {
        (0..n)
            .map(|i| (((i * 7919 + seed * 104729) % 1000) as f32 / 500.0) - 1.0)
            .collect()
    }

    /// Plain NHWC convolution with an OIHW weight (groups = 1 or depthwise).
    #[allow(clippy::too_many_arguments)]
    fn naive(
        x: &[f32],
        h: usize,
        w: usize,
        cin: usize,
        wt: &[f32],
        cout: usize,
        k: usize,
        stride: usize,
        pad: usize,
        depthwise: bool,
        bias: &[f32],
    ) -> (Vec<f32>, usize, usize) {
        let ho = (h + 2 * pad - k) / stride + 1;
        let wo = (w + 2 * pad - k) / stride + 1;
        let mut out = vec![0f32; ho * wo * cout];
        for oy in 0..ho {
            for ox in 0..wo {
                for o in 0..cout {
                    let mut acc = bias[o] as f64;
                    let ins: Vec<usize> = if depthwise {
                        vec![o]
                    } else {
                        (0..cin).collect()
                    };
                    for (ii, &i) in ins.iter().enumerate() {
                        let wi = if depthwise { 0 } else { ii };
                        let per = if depthwise { 1 } else { cin };
                        for ky in 0..k {
                            for kx in 0..k {
                                let iy = (oy * stride + ky) as isize - pad as isize;
                                let ix = (ox * stride + kx) as isize - pad as isize;
                                if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                                    continue;
                                }
                                let xv = x[(iy as usize * w + ix as usize) * cin + i];
                                acc += xv as f64 * wt[((o * per + wi) * k + ky) * k + kx] as f64;
                            }
                        }
                    }
                    out[(oy * wo + ox) * cout + o] = acc as f32;
                }
            }
        }
        (out, ho, wo)
    }

    fn close(a: &[f32], b: &[f32]) {
        assert_eq!(a.len(), b.len());
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!((x - y).abs() < 1e-4 * (1.0 + y.abs()), "{i}: {x} vs {y}");
        }
    }

    #[test]
    fn depthwise_matches_a_plain_convolution() {
        for (h, w, stride) in [(7, 9, 1), (8, 8, 2), (9, 5, 2), (1, 1, 1)] {
            let c = 64;
            let x = values(h * w * c, 1);
            let wt = values(c * 9, 2);
            let bias = values(c, 3);
            let (want, ho, wo) = naive(&x, h, w, c, &wt, c, 3, stride, 1, true, &bias);
            let d = Depthwise::new(&wt, c, 3, stride, bias, None);
            let mut out = vec![0f32; ho * wo * c];
            assert_eq!(d.run(&x, h, w, &mut out), (ho, wo));
            close(&out, &want);
            // The portable kernel too (the SIMD one runs above where the CPU has it).
            let mut out = vec![0f32; ho * wo * c];
            dw3x3_impl(&x, h, w, c, stride, &d.w, &d.bias, None, &mut out);
            close(&out, &want);
        }
    }

    #[test]
    fn padded_3x3_and_im2col_match_a_plain_convolution() {
        let (h, w, cin, cout) = (6, 5, 8, 16);
        let x = values(h * w * cin, 4);
        let wt = values(cout * cin * 9, 5);
        let bias = values(cout, 6);
        let conv = GemmConv::new(&wt, cout, cin, 3, true, bias.clone(), None);
        let (want, _, _) = naive(&x, h, w, cin, &wt, cout, 3, 1, 1, false, &bias);
        let wp = w + 2;
        let mut p = vec![0f32; ((h + 2) * wp + 2) * cin];
        for y in 0..h {
            for xx in 0..w {
                p[((y + 1) * wp + xx + 1) * cin..][..cin]
                    .copy_from_slice(&x[(y * w + xx) * cin..][..cin]);
            }
        }
        let mut out = vec![0f32; h * wp * cout];
        conv.run_3x3_padded(&p, h, w, &mut out);
        let got: Vec<f32> = (0..h)
            .flat_map(|y| out[y * wp * cout..][..w * cout].to_vec())
            .collect();
        close(&got, &want);

        let (want, ho, wo) = naive(&x, h, w, cin, &wt, cout, 3, 2, 1, false, &bias);
        let mut col = Vec::new();
        assert_eq!(im2col3x3_nhwc(&x, h, w, cin, 2, None, &mut col), (ho, wo));
        let mut out = vec![0f32; ho * wo * cout];
        conv.run(&col, 9 * cin, ho * wo, &mut out, false);
        close(&out, &want);
    }

    #[test]
    fn sgemm_floor_is_positive() {
        assert!(sgemm_floor(64, 64, 64, 1, 0.01) > 0.0);
    }
}
