//! Stage 5: identity over time.
//!
//! For the subject's face frames: similarity to the clip's reference identity (the
//! element-wise median of the unit vectors, robust to a minority of odd frames), to
//! the previous analysed frame, the full frame-by-frame similarity matrix (Figure 1
//! of the paper), and identity changes.
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

/// Element-wise median of the unit vectors: the clip's reference identity.
pub fn reference(vectors: &[Vec<f32>]) -> Option<Vec<f32>> {
    let first = vectors.first()?;
    let units: Vec<Vec<f32>> = vectors.iter().map(|v| unit(v)).collect();
    let mut col = Vec::with_capacity(units.len());
    Some(
        (0..first.len())
            .map(|d| {
                col.clear();
                col.extend(units.iter().map(|u| u[d]));
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

/// The frame-by-frame cosine similarity matrix, row-major `n x n`.
pub fn similarity_matrix<V: AsRef<[f32]>>(vectors: &[V]) -> Vec<f32> {
    let units: Vec<Vec<f32>> = vectors.iter().map(|v| unit(v.as_ref())).collect();
    let n = units.len();
    let mut m = vec![0f32; n * n];
    for i in 0..n {
        m[i * n + i] = 1.0;
        for j in i + 1..n {
            let s = dot(&units[i], &units[j]);
            m[i * n + j] = s;
            m[j * n + i] = s;
        }
    }
    m
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
pub fn window_similarity(
    times: &[f64],
    vectors: &[Vec<f32>],
    p: &ChangeParams,
) -> Vec<Option<f32>> {
    let n = times.len();
    if n < 2 {
        return vec![None; n];
    }
    let dim = vectors[0].len();
    // prefix[i] = sum of unit vectors 0..i
    let mut prefix = vec![vec![0f32; dim]; n + 1];
    for i in 0..n {
        let u = unit(&vectors[i]);
        let (head, tail) = prefix.split_at_mut(i + 1);
        for d in 0..dim {
            tail[0][d] = head[i][d] + u[d];
        }
    }
    // Frames a full window holds, from the median spacing of the face frames.
    let mut gaps: Vec<f64> = times
        .windows(2)
        .map(|w| w[1] - w[0])
        .filter(|g| *g > 0.0)
        .collect();
    gaps.sort_by(f64::total_cmp);
    let spacing = gaps.get(gaps.len() / 2).copied().unwrap_or(1.0).max(1e-6);
    let need = ((p.window_s / spacing) * p.min_fill).ceil().max(2.0) as usize;
    let (mut lo, mut hi) = (0usize, 0usize);
    (0..n)
        .map(|i| {
            while times[lo] < times[i] - p.window_s - 1e-9 {
                lo += 1;
            }
            if hi < i {
                hi = i;
            }
            while hi < n && times[hi] < times[i] + p.window_s - 1e-9 {
                hi += 1;
            }
            let (nb, na) = (i - lo, hi - i);
            if nb < need || na < need {
                return None;
            }
            let before: Vec<f32> = (0..dim).map(|d| prefix[i][d] - prefix[lo][d]).collect();
            let after: Vec<f32> = (0..dim).map(|d| prefix[hi][d] - prefix[i][d]).collect();
            Some(cosine(&before, &after))
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
}
