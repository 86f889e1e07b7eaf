//! Clips: 64 identity vectors of the subject taken every 2nd face frame, fed to the
//! network as their 63 differences. Clip k starts at face frame k x stride.

/// Identity vectors per clip, and the step between them (in face frames).
pub const CLIP_VECTORS: usize = 64;
pub const CLIP_STEP: usize = 2;
/// Face frames one clip spans: s, s + 2, ..., s + 126.
pub const CLIP_SPAN: usize = (CLIP_VECTORS - 1) * CLIP_STEP + 1;
/// Time steps the network sees.
pub const CLIP_STEPS: usize = CLIP_VECTORS - 1;
pub const DEFAULT_STRIDE: usize = 16;

/// Starts of the clips that fit in `n` face frames.
pub fn clip_starts(n: usize, stride: usize) -> Vec<usize> {
    if n < CLIP_SPAN {
        return Vec::new();
    }
    (0..=n - CLIP_SPAN).step_by(stride.max(1)).collect()
}

/// The network input of the clip starting at face frame `start` of `frames`
/// (row-major `n x dim`): 63 x dim differences, flattened.
pub fn clip_input(frames: &[f32], dim: usize, start: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(CLIP_STEPS * dim);
    for k in 0..CLIP_STEPS {
        let a = (start + k * CLIP_STEP) * dim;
        let b = (start + (k + 1) * CLIP_STEP) * dim;
        out.extend((0..dim).map(|d| frames[b + d] - frames[a + d]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clips_fit_and_step() {
        assert_eq!(CLIP_SPAN, 127);
        assert!(clip_starts(126, 16).is_empty());
        assert_eq!(clip_starts(127, 16), vec![0]);
        assert_eq!(clip_starts(160, 16), vec![0, 16, 32]);
    }

    #[test]
    fn input_is_every_second_frame_differenced() {
        // frame f has value f in every dimension
        let dim = 3;
        let frames: Vec<f32> = (0..130).flat_map(|f| vec![f as f32; dim]).collect();
        let x = clip_input(&frames, dim, 1);
        assert_eq!(x.len(), 63 * dim);
        assert!(x.iter().all(|&v| v == 2.0));
    }
}
