//! The CPU fast paths against plain reference loops and candle.

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
