//! Identity changes: the mean identity over a window before each time point against
//! the mean over a window after it.

#[allow(unused_imports)]
use super::*;
use serde::{Deserialize, Serialize};

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
