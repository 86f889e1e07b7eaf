//! Face-swap-like identity tracks made from real ones, for demonstrations and tests
//! of training: a fake keeps the target's track and leaks a second person's identity
//! with a weight that drifts over time, plus per-frame jitter, as a face swap leaks
//! its source identity unevenly from frame to frame.

use super::model::normal;
use crate::encoder::ID_DIM;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// An identity file in memory: row-major vectors and per-video lengths.
pub type IdFile = (Vec<f32>, Vec<i64>);

/// Settings of [`blend`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlendParams {
    /// Videos of each class.
    pub videos: usize,
    /// Face frames per video.
    pub len: usize,
    /// Mean weight of the leaked identity.
    pub leak: f32,
    /// Amplitude of its slow drift.
    pub drift: f32,
    /// Standard deviation of its per-frame jitter.
    pub jitter: f32,
    pub seed: u64,
}

impl Default for BlendParams {
    fn default() -> Self {
        Self {
            videos: 40,
            len: 160,
            leak: 0.3,
            drift: 0.15,
            jitter: 0.08,
            seed: 0,
        }
    }
}

/// Real and fake identity files (row-major vectors, lengths) from the tracks of at
/// least two people (each row-major `n x 1024`, at least `len` frames).
pub fn blend(tracks: &[Vec<f32>], p: &BlendParams) -> Option<(IdFile, IdFile)> {
    let lens: Vec<usize> = tracks.iter().map(|t| t.len() / ID_DIM).collect();
    if tracks.len() < 2 || lens.iter().any(|&n| n < p.len) {
        return None;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(p.seed);
    let window = |rng: &mut ChaCha8Rng, k: usize| {
        let s = rng.random_range(0..=lens[k] - p.len);
        &tracks[k][s * ID_DIM..(s + p.len) * ID_DIM]
    };
    let (mut real, mut fake) = (Vec::new(), Vec::new());
    for i in 0..p.videos {
        let target = i % tracks.len();
        real.extend_from_slice(window(&mut rng, target));
        let t = window(&mut rng, target).to_vec();
        let mut source_id = rng.random_range(0..tracks.len() - 1);
        if source_id >= target {
            source_id += 1;
        }
        let s = window(&mut rng, source_id);
        let period = rng.random_range(20.0..80.0f32);
        let phase = rng.random_range(0.0..std::f32::consts::TAU);
        for f in 0..p.len {
            let w = (p.leak
                + p.drift * (std::f32::consts::TAU * f as f32 / period + phase).sin()
                + p.jitter * normal(&mut rng))
            .clamp(0.0, 1.0);
            let a = &t[f * ID_DIM..(f + 1) * ID_DIM];
            let b = &s[f * ID_DIM..(f + 1) * ID_DIM];
            fake.extend(a.iter().zip(b).map(|(x, y)| (1.0 - w) * x + w * y));
        }
    }
    let lens = vec![p.len as i64; p.videos];
    Some(((real, lens.clone()), (fake, lens)))
}
