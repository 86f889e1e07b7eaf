//! The frame-by-frame similarity matrix, at a bounded resolution for long videos.

#[allow(unused_imports)]
use super::*;

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
