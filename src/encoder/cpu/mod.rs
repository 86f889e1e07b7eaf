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

mod mobilefacenet;
mod resnet;

use gemm::Parallelism;
pub use mobilefacenet::*;
pub use resnet::*;

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

fn grow(v: &mut Vec<f32>, n: usize) {
    if v.len() < n {
        v.resize(n, 0.0);
    }
}

#[cfg(test)]
mod tests;
