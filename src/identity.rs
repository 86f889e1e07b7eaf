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

use serde::{Deserialize, Serialize};

pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

pub fn norm(a: &[f32]) -> f32 {
    dot(a, a).sqrt()
}

/// Cosine similarity; 0 when either vector is zero.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let d = norm(a) * norm(b);
    if d > 0.0 {
        dot(a, b) / d
    } else {
        0.0
    }
}

/// `a / |a|` (unchanged when zero).
pub fn unit(a: &[f32]) -> Vec<f32> {
    let n = norm(a);
    if n > 0.0 {
        a.iter().map(|x| x / n).collect()
    } else {
        a.to_vec()
    }
}

/// The stretch of the subject's face frames the reference identity comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferenceStretch {
    pub start_frame: u64,
    pub end_frame: u64,
    pub start_s: f64,
    pub end_s: f64,
    pub face_frames: usize,
    pub method: String,
}

/// The reference identity: the mean unit identity of the longest stretch of face
/// frames between identity changes (the whole track when there is none), so that a
/// video showing two people is compared with one of them, not with a blend.
/// `frames` are the face frames' video indices, `changes` the frames where the
/// identity changes. Returns the reference and the stretch `[lo, hi)` (indices into
/// `vectors`).
pub fn stretch_reference<V: AsRef<[f32]>>(
    vectors: &[V],
    frames: &[u64],
    changes: &[u64],
) -> Option<(Vec<f32>, usize, usize)> {
    let n = vectors.len().min(frames.len());
    if n == 0 {
        return None;
    }
    let mut cuts: Vec<usize> = changes
        .iter()
        .map(|&c| frames[..n].partition_point(|&f| f < c))
        .filter(|&k| k > 0 && k < n)
        .collect();
    cuts.sort_unstable();
    cuts.dedup();
    let mut bounds = vec![0];
    bounds.extend(cuts);
    bounds.push(n);
    let (lo, hi) = bounds
        .windows(2)
        .map(|w| (w[0], w[1]))
        .max_by_key(|&(a, b)| (b - a, std::cmp::Reverse(a)))?;
    let dim = vectors[lo].as_ref().len();
    let mut mean = vec![0f64; dim];
    for v in &vectors[lo..hi] {
        let v = v.as_ref();
        let nv = norm(v);
        let inv = if nv > 0.0 { 1.0 / nv as f64 } else { 0.0 };
        for (m, x) in mean.iter_mut().zip(v) {
            *m += *x as f64 * inv;
        }
    }
    let mean: Vec<f32> = mean.iter().map(|&x| x as f32).collect();
    Some((unit(&mean), lo, hi))
}

/// Element-wise median of the unit vectors: the clip's reference identity.
///
/// Needs memory for one column of `n` values, not a copy of the vectors.
pub fn reference<V: AsRef<[f32]>>(vectors: &[V]) -> Option<Vec<f32>> {
    let first = vectors.first()?.as_ref();
    let inv: Vec<f32> = vectors
        .iter()
        .map(|v| {
            let n = norm(v.as_ref());
            if n > 0.0 {
                1.0 / n
            } else {
                1.0
            }
        })
        .collect();
    let mut col = Vec::with_capacity(vectors.len());
    Some(
        (0..first.len())
            .map(|d| {
                col.clear();
                col.extend(vectors.iter().zip(&inv).map(|(v, s)| v.as_ref()[d] * s));
                col.sort_by(f32::total_cmp);
                let m = col.len() / 2;
                if col.len() % 2 == 1 {
                    col[m]
                } else {
                    0.5 * (col[m - 1] + col[m])
                }
            })
            .collect(),
    )
}

/// Most cells per side of the similarity matrix ([`block_similarity`]).
pub const MAX_MATRIX_CELLS: usize = 2048;

/// Dot product with eight accumulators (vectorises; the order of the sum differs
/// from [`dot`] only in rounding).
fn dot8(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// The frame-by-frame cosine similarity matrix at a bounded resolution.
///
/// Returns `(matrix, cells, frames_per_cell)`: the frames are cut, in order, into
/// blocks of `frames_per_cell` consecutive frames (the last block may be shorter) so
/// that there are at most `max_cells` blocks; cell `(a, b)` of the row-major
/// `cells x cells` matrix is the mean cosine similarity over every pair of frames
/// (i in block a, j in block b), i.e. exactly the mean of the corresponding block of
/// the `n x n` matrix. With `n <= max_cells` it is the `n x n` matrix itself.
///
/// The mean of cosines over a block pair is `dot(sum of the unit vectors of a, sum of
/// those of b) / (|a| |b|)`, so the `n x n` matrix is never built: time
/// `O(n d + cells^2 d)`, memory `O(cells d + cells^2)`.
pub fn block_similarity<V: AsRef<[f32]> + Sync>(
    vectors: &[V],
    max_cells: usize,
) -> (Vec<f32>, usize, usize) {
    use rayon::prelude::*;
    let n = vectors.len();
    if n == 0 {
        return (Vec::new(), 0, 1);
    }
    let per = n.div_ceil(max_cells.max(1));
    let cells = n.div_ceil(per);
    let dim = vectors[0].as_ref().len();
    let mut sums = vec![0f32; cells * dim];
    for (k, v) in vectors.iter().enumerate() {
        let v = v.as_ref();
        let nv = norm(v);
        let s = if nv > 0.0 { 1.0 / nv } else { 1.0 };
        let row = &mut sums[(k / per) * dim..(k / per + 1) * dim];
        for (r, x) in row.iter_mut().zip(v) {
            *r += x * s;
        }
    }
    let count = |a: usize| (per.min(n - a * per)) as f32;
    let mut m = vec![0f32; cells * cells];
    m.par_chunks_mut(cells).enumerate().for_each(|(a, row)| {
        let sa = &sums[a * dim..(a + 1) * dim];
        let ca = count(a);
        for (b, cell) in row.iter_mut().enumerate() {
            *cell = if per == 1 && a == b {
                1.0
            } else {
                dot8(sa, &sums[b * dim..(b + 1) * dim]) / (ca * count(b))
            };
        }
    });
    // Exactly symmetric (the two triangles are computed separately).
    for a in 0..cells {
        for b in a + 1..cells {
            m[b * cells + a] = m[a * cells + b];
        }
    }
    (m, cells, per)
}

/// The frame-by-frame cosine similarity matrix, row-major `n x n` (for a few
/// thousand frames at most: long videos need [`block_similarity`]).
pub fn similarity_matrix<V: AsRef<[f32]> + Sync>(vectors: &[V]) -> Vec<f32> {
    block_similarity(vectors, vectors.len().max(1)).0
}

/// Settings of the change detector.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ChangeParams {
    /// Length of the windows before and after each time point, in seconds.
    pub window_s: f64,
    /// A change is reported where the before/after similarity falls below this.
    pub threshold: f32,
    /// Each window needs at least this share of the frames a full window holds.
    pub min_fill: f64,
}

impl Default for ChangeParams {
    fn default() -> Self {
        Self {
            window_s: 1.0,
            threshold: 0.5,
            min_fill: 0.4,
        }
    }
}

/// A time point where the identity switches to another person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdentityChange {
    /// Frame index (in the video) of the first frame after the change.
    pub frame: u64,
    pub time_s: f64,
    /// `1 - cosine` between the mean identities before and after (0 to 2).
    pub score: f32,
}

/// Similarity of the mean unit identity over `window_s` before each face frame to
/// the mean over `window_s` from it on; `None` where a window is too empty.
///
/// The two window sums slide along the frames (in f64), so memory stays `O(d)`
/// beyond the vectors.
pub fn window_similarity<V: AsRef<[f32]>>(
    times: &[f64],
    vectors: &[V],
    p: &ChangeParams,
) -> Vec<Option<f32>> {
    let n = times.len();
    // A window that is not a positive duration has no frames (the CLI refuses it).
    if n < 2 || vectors.len() != n || !(p.window_s.is_finite() && p.window_s > 0.0) {
        return vec![None; n];
    }
    let dim = vectors[0].as_ref().len();
    let inv: Vec<f64> = vectors
        .iter()
        .map(|v| {
            let n = norm(v.as_ref());
            if n > 0.0 {
                1.0 / n as f64
            } else {
                1.0
            }
        })
        .collect();
    let add = |acc: &mut [f64], k: usize, sign: f64| {
        let s = sign * inv[k];
        for (a, x) in acc.iter_mut().zip(vectors[k].as_ref()) {
            *a += *x as f64 * s;
        }
    };
    // Frames a full window holds, from the median spacing of the face frames.
    let mut gaps: Vec<f64> = times
        .windows(2)
        .map(|w| w[1] - w[0])
        .filter(|g| *g > 0.0)
        .collect();
    gaps.sort_by(f64::total_cmp);
    let spacing = gaps.get(gaps.len() / 2).copied().unwrap_or(1.0).max(1e-6);
    let need = ((p.window_s / spacing) * p.min_fill).ceil().max(2.0) as usize;
    // before = sum of the unit vectors lo..i, after = sum over i..hi.
    let mut before = vec![0f64; dim];
    let mut after = vec![0f64; dim];
    let (mut lo, mut hi) = (0usize, 0usize);
    (0..n)
        .map(|i| {
            if i > 0 {
                add(&mut before, i - 1, 1.0);
                if hi > i - 1 {
                    add(&mut after, i - 1, -1.0);
                } else {
                    hi = i;
                }
            }
            while times[lo] < times[i] - p.window_s - 1e-9 {
                add(&mut before, lo, -1.0);
                lo += 1;
            }
            while hi < n && times[hi] < times[i] + p.window_s - 1e-9 {
                add(&mut after, hi, 1.0);
                hi += 1;
            }
            let (nb, na) = (i - lo, hi - i);
            if nb < need || na < need {
                return None;
            }
            let (mut ab, mut aa, mut bb) = (0f64, 0f64, 0f64);
            for (x, y) in before.iter().zip(&after) {
                ab += x * y;
                aa += x * x;
                bb += y * y;
            }
            let d = (aa * bb).sqrt();
            Some(if d > 0.0 { (ab / d) as f32 } else { 0.0 })
        })
        .collect()
}

/// Identity changes: local minima of the window similarity below the threshold,
/// at least one window apart. `frames[i]` is the video frame index of face frame i.
pub fn identity_changes(
    frames: &[u64],
    times: &[f64],
    window_sim: &[Option<f32>],
    p: &ChangeParams,
) -> Vec<IdentityChange> {
    let mut cands: Vec<(usize, f32)> = window_sim
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.filter(|s| *s < p.threshold).map(|s| (i, s)))
        .collect();
    cands.sort_by(|a, b| a.1.total_cmp(&b.1));
    let mut chosen: Vec<usize> = Vec::new();
    for (i, _) in cands {
        if chosen
            .iter()
            .all(|&j| (times[j] - times[i]).abs() >= p.window_s)
        {
            chosen.push(i);
        }
    }
    chosen.sort_unstable();
    chosen
        .into_iter()
        .map(|i| IdentityChange {
            frame: frames[i],
            time_s: times[i],
            score: 1.0 - window_sim[i].unwrap_or(1.0),
        })
        .collect()
}

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

/// The previous-frame and windowed similarity curves computed as identity vectors
/// arrive in time order (the workbench draws them while the analysis runs; the final
/// report computes them again over the whole track). Memory: the vectors of two
/// windows.
pub struct LiveCurves {
    params: ChangeParams,
    /// (analysed-frame position, time, unit vector) of the last two windows.
    buf: std::collections::VecDeque<(usize, f64, Vec<f32>)>,
    /// Time of the next window centre to compute (the first frame not yet done).
    next_centre: usize,
    last: Option<(usize, Vec<f32>)>,
}

/// What one new vector adds to the live curves.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LivePoints {
    /// (time, similarity to the previous analysed frame), when that frame had a face.
    pub previous: Option<(f64, f32)>,
    /// (time, window similarity) of the frames whose after-window is now complete.
    pub window: Vec<(f64, f32)>,
}

impl LiveCurves {
    pub fn new(params: ChangeParams) -> Self {
        Self {
            params,
            buf: Default::default(),
            next_centre: 0,
            last: None,
        }
    }

    /// Adds the vector of analysed frame `pos` (0, 1, 2, ... over the analysed
    /// frames) at `time`.
    pub fn push(&mut self, pos: usize, time: f64, v: &[f32]) -> LivePoints {
        let u = unit(v);
        let mut out = LivePoints::default();
        if let Some((p, prev)) = &self.last {
            if *p + 1 == pos {
                out.previous = Some((time, dot(prev, &u)));
            }
        }
        self.last = Some((pos, u.clone()));
        self.buf.push_back((pos, time, u));
        let w = self.params.window_s;
        // Frames a full window holds, from the mean spacing in the buffer.
        let span = self.buf.back().map(|b| b.1).unwrap_or(0.0)
            - self.buf.front().map(|b| b.1).unwrap_or(0.0);
        let spacing = if self.buf.len() > 1 {
            (span / (self.buf.len() - 1) as f64).max(1e-6)
        } else {
            1.0
        };
        let need = ((w / spacing) * self.params.min_fill).ceil().max(2.0) as usize;
        // Every centre whose after-window [c, c + w) is complete (a vector at or past
        // c + w has arrived).
        while self.next_centre < self.buf.len() {
            let c = self.buf[self.next_centre].1;
            if time < c + w - 1e-9 {
                break;
            }
            let mut before = vec![0f32; u_len(&self.buf)];
            let mut after = before.clone();
            let (mut nb, mut na) = (0usize, 0usize);
            for (_, t, x) in &self.buf {
                let acc = if *t < c && *t >= c - w - 1e-9 {
                    nb += 1;
                    &mut before
                } else if *t >= c && *t < c + w - 1e-9 {
                    na += 1;
                    &mut after
                } else {
                    continue;
                };
                for (a, b) in acc.iter_mut().zip(x) {
                    *a += b;
                }
            }
            if nb >= need && na >= need {
                out.window.push((c, cosine(&before, &after)));
            }
            self.next_centre += 1;
        }
        // Forget what no future window needs.
        while let (Some(f), true) = (self.buf.front(), self.next_centre > 0) {
            let c = self.buf[self.next_centre.min(self.buf.len() - 1)].1;
            if f.1 < c - w - 1e-9 {
                self.buf.pop_front();
                self.next_centre -= 1;
            } else {
                break;
            }
        }
        out
    }
}

fn u_len(buf: &std::collections::VecDeque<(usize, f64, Vec<f32>)>) -> usize {
    buf.front().map(|b| b.2.len()).unwrap_or(0)
}

#[cfg(test)]
mod live_tests {
    use super::*;

    #[test]
    fn live_curves_match_the_final_ones() {
        // Two identities: 0..50 one, 50..100 another (with a little noise), 25 fps.
        let dim = 16;
        let mut rng = 12345u64;
        let mut noise = || {
            rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1);
            ((rng >> 33) as f32 / (1u64 << 31) as f32 - 0.5) * 0.2
        };
        let vecs: Vec<Vec<f32>> = (0..100)
            .map(|i| {
                (0..dim)
                    .map(|k| {
                        let base = if (i < 50) == (k < dim / 2) { 1.0 } else { 0.0 };
                        base + noise()
                    })
                    .collect()
            })
            .collect();
        let times: Vec<f64> = (0..100).map(|i| i as f64 / 25.0).collect();
        let p = ChangeParams::default();
        let fin = window_similarity(&times, &vecs, &p);
        let mut live = LiveCurves::new(p);
        let mut got = Vec::new();
        let mut prevs = 0;
        for (i, v) in vecs.iter().enumerate() {
            let pts = live.push(i, times[i], v);
            prevs += pts.previous.is_some() as usize;
            got.extend(pts.window);
        }
        assert_eq!(prevs, 99);
        assert!(!got.is_empty());
        for (t, s) in &got {
            let i = (t * 25.0).round() as usize;
            let f = fin[i].expect("the final curve has this point");
            assert!((f - s).abs() < 1e-4, "at {t}: live {s} final {f}");
        }
        // The dip at the change is there live.
        let low = got.iter().map(|g| g.1).fold(f32::MAX, f32::min);
        assert!(low < 0.3, "{low}");
    }
}
