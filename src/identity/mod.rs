//! Stage 5: identity over time.
//!
//! For the subject's face frames: similarity to the clip's reference identity (the
//! element-wise median of the unit vectors, robust to a minority of odd frames), to
//! the previous analysed frame, the frame-by-frame similarity matrix (Figure 1 of the
//! paper, at a bounded resolution for long videos), and identity changes.
//!
//! Frame-to-frame similarity is noisy: one blurred face looks like a change. A
//! change is therefore found by comparing the mean identity over a window before
//! each time point with the mean over a window after it: a switch to another person
//! drops that similarity to about 0, while one person's noise stays high.
//!
//! Split by what it does: [`vector`] (vector maths and the reference identity),
//! [`matrix`] (the similarity matrix), [`change`] (identity changes) and [`live`] (the
//! curves drawn while an analysis runs).

pub mod change;
pub mod live;
pub mod matrix;
pub mod vector;

pub use change::*;
pub use live::*;
pub use matrix::*;
pub use vector::*;

#[cfg(test)]
mod tests {
    use super::*;

    fn person(seed: usize, noise: f32, k: usize) -> Vec<f32> {
        (0..16)
            .map(|d| {
                let base = if d % 4 == seed { 1.0 } else { 0.0 };
                base + noise * (((k * 7 + d * 13) % 11) as f32 / 11.0 - 0.5)
            })
            .collect()
    }

    #[test]
    fn cosine_basics() {
        assert!((cosine(&[1.0, 0.0], &[2.0, 0.0]) - 1.0).abs() < 1e-6);
        assert!(cosine(&[1.0, 0.0], &[0.0, 3.0]).abs() < 1e-6);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 0.0]), 0.0);
    }

    #[test]
    fn median_reference_ignores_a_minority() {
        let mut v: Vec<Vec<f32>> = (0..9).map(|k| person(0, 0.1, k)).collect();
        v.push(person(1, 0.0, 0));
        let r = reference(&v).unwrap();
        assert!(cosine(&r, &person(0, 0.0, 0)) > 0.95);
        assert!(cosine(&r, &person(1, 0.0, 0)) < 0.2);
    }

    #[test]
    fn one_change_at_the_switch_and_none_without() {
        let fps = 25.0;
        let times: Vec<f64> = (0..200).map(|i| i as f64 / fps).collect();
        let frames: Vec<u64> = (0..200).collect();
        let two: Vec<Vec<f32>> = (0..200)
            .map(|k| person(if k < 120 { 0 } else { 2 }, 0.4, k))
            .collect();
        let p = ChangeParams::default();
        let ws = window_similarity(&times, &two, &p);
        let ch = identity_changes(&frames, &times, &ws, &p);
        assert_eq!(ch.len(), 1, "{ch:?}");
        assert_eq!(ch[0].frame, 120);
        assert!(ch[0].score > 0.5);
        let one: Vec<Vec<f32>> = (0..200).map(|k| person(0, 0.4, k)).collect();
        let ws = window_similarity(&times, &one, &p);
        assert!(identity_changes(&frames, &times, &ws, &p).is_empty());
    }

    #[test]
    fn matrix_is_symmetric_with_unit_diagonal() {
        let v: Vec<Vec<f32>> = (0..5).map(|k| person(k % 2, 0.3, k)).collect();
        let m = similarity_matrix(&v);
        for i in 0..5 {
            assert!((m[i * 5 + i] - 1.0).abs() < 1e-6);
            for j in 0..5 {
                assert_eq!(m[i * 5 + j], m[j * 5 + i]);
            }
        }
    }

    /// The n x n matrix the straightforward way, for comparison.
    fn full_matrix(v: &[Vec<f32>]) -> Vec<f32> {
        let n = v.len();
        let mut m = vec![0f32; n * n];
        for i in 0..n {
            for j in 0..n {
                m[i * n + j] = if i == j { 1.0 } else { cosine(&v[i], &v[j]) };
            }
        }
        m
    }

    #[test]
    fn block_matrix_is_the_mean_of_the_full_matrix_over_blocks() {
        let n = 23;
        let v: Vec<Vec<f32>> = (0..n).map(|k| person(k % 3, 0.5, k)).collect();
        let full = full_matrix(&v);
        // Small enough: the exact matrix.
        let (m, cells, per) = block_similarity(&v, 64);
        assert_eq!((cells, per), (n, 1));
        for (a, b) in m.iter().zip(&full) {
            assert!((a - b).abs() < 1e-5);
        }
        // 23 frames in at most 5 cells: blocks of 5 (the last of 3).
        let (m, cells, per) = block_similarity(&v, 5);
        assert_eq!((cells, per), (5, 5));
        for a in 0..cells {
            for b in 0..cells {
                let (ra, rb) = (
                    a * per..((a + 1) * per).min(n),
                    b * per..((b + 1) * per).min(n),
                );
                let mut s = 0.0;
                for i in ra.clone() {
                    for j in rb.clone() {
                        s += full[i * n + j];
                    }
                }
                let mean = s / (ra.len() * rb.len()) as f32;
                assert!((m[a * cells + b] - mean).abs() < 1e-5, "{a},{b}");
                assert_eq!(m[a * cells + b], m[b * cells + a]);
            }
        }
        // A long track stays within the bound.
        let long: Vec<Vec<f32>> = (0..5000).map(|k| person(k / 2500, 0.3, k)).collect();
        let (m, cells, per) = block_similarity(&long, 2048);
        assert_eq!((cells, per), (1667, 3));
        assert_eq!(m.len(), cells * cells);
        assert!(m[0] > 0.8 && m[cells - 1] < 0.3);
    }

    #[test]
    fn sliding_windows_match_prefix_sums() {
        let fps = 25.0;
        let n = 300;
        let times: Vec<f64> = (0..n)
            .filter(|i| i % 7 != 3)
            .map(|i| i as f64 / fps)
            .collect();
        let v: Vec<Vec<f32>> = (0..times.len())
            .map(|k| person(if k < 150 { 0 } else { 2 }, 0.6, k))
            .collect();
        let p = ChangeParams::default();
        let got = window_similarity(&times, &v, &p);
        // Reference: prefix sums of the unit vectors.
        let dim = v[0].len();
        let mut prefix = vec![vec![0f32; dim]; v.len() + 1];
        for i in 0..v.len() {
            let u = unit(&v[i]);
            for d in 0..dim {
                prefix[i + 1][d] = prefix[i][d] + u[d];
            }
        }
        let mut some = 0;
        for i in 0..times.len() {
            let lo = times
                .iter()
                .position(|&t| t >= times[i] - p.window_s - 1e-9)
                .unwrap();
            let hi = times
                .iter()
                .position(|&t| t >= times[i] + p.window_s - 1e-9)
                .unwrap_or(times.len());
            if let Some(s) = got[i] {
                some += 1;
                let b: Vec<f32> = (0..dim).map(|d| prefix[i][d] - prefix[lo][d]).collect();
                let a: Vec<f32> = (0..dim).map(|d| prefix[hi][d] - prefix[i][d]).collect();
                assert!((s - cosine(&b, &a)).abs() < 1e-4, "{i}: {s}");
            }
        }
        assert!(some > 150);
    }

    #[test]
    fn a_window_that_is_not_positive_finds_nothing_and_does_not_panic() {
        let times: Vec<f64> = (0..50).map(|i| i as f64 * 0.04).collect();
        let v: Vec<Vec<f32>> = (0..50).map(|i| vec![1.0, i as f32]).collect();
        for w in [-1.0, 0.0, f64::NAN, f64::INFINITY] {
            let p = ChangeParams {
                window_s: w,
                ..Default::default()
            };
            assert!(window_similarity(&times, &v, &p)
                .iter()
                .all(|s| s.is_none()));
        }
    }

    #[test]
    fn reference_is_the_longest_stretch_between_changes() {
        // 3 frames of identity A, then 6 of identity B: the reference is B.
        let a = vec![1.0f32, 0.0, 0.0];
        let b = vec![0.0f32, 2.0, 0.0];
        let vs: Vec<Vec<f32>> = (0..9)
            .map(|i| if i < 3 { a.clone() } else { b.clone() })
            .collect();
        let frames: Vec<u64> = (0..9).map(|i| 10 + i).collect();
        let (r, lo, hi) = stretch_reference(&vs, &frames, &[13]).unwrap();
        assert_eq!((lo, hi), (3, 9));
        assert!((cosine(&r, &b) - 1.0).abs() < 1e-6);
        // No change: the whole track.
        let (_, lo, hi) = stretch_reference(&vs, &frames, &[]).unwrap();
        assert_eq!((lo, hi), (0, 9));
        assert!(stretch_reference::<Vec<f32>>(&[], &[], &[]).is_none());
    }
}
