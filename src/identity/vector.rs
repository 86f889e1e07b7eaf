//! Vector maths on identity vectors, and the reference identity of a track.

#[allow(unused_imports)]
use super::*;
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
