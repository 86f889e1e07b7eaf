//! Small copies of the subject's aligned crops kept during an analysis, for the
//! report's contact sheet, in bounded memory: every face frame while there are few,
//! then every 2nd, 4th, ... so at most [`MAX_THUMBS`] are alive whatever the length.

use image::RgbImage;

/// Thumbnails kept at most (64 x 64 RGB: 12 KB each, 24 MB in all).
pub const MAX_THUMBS: usize = 2048;
pub const THUMB_SIZE: u32 = 64;

struct Kept {
    /// Face-frame counter (0, 1, 2, ... over the face frames).
    k: u64,
    /// Video frame index.
    frame: u64,
    image: RgbImage,
}

pub struct Thumbs {
    kept: Vec<Kept>,
    seen: u64,
    /// One face frame in `step` is kept.
    step: u64,
    max: usize,
}

impl Default for Thumbs {
    fn default() -> Self {
        Self::with_capacity(MAX_THUMBS)
    }
}

impl Thumbs {
    pub fn with_capacity(max: usize) -> Self {
        Self {
            kept: Vec::new(),
            seen: 0,
            step: 1,
            max: max.max(2),
        }
    }

    /// Offers the aligned crop of the face frame at video frame `frame`.
    pub fn offer(&mut self, frame: u64, aligned: &RgbImage) {
        let k = self.seen;
        self.seen += 1;
        if !k.is_multiple_of(self.step) {
            return;
        }
        let image = image::imageops::thumbnail(aligned, THUMB_SIZE, THUMB_SIZE);
        self.kept.push(Kept { k, frame, image });
        if self.kept.len() > self.max {
            self.step *= 2;
            let step = self.step;
            self.kept.retain(|t| t.k.is_multiple_of(step));
        }
    }

    pub fn len(&self) -> usize {
        self.kept.len()
    }

    pub fn is_empty(&self) -> bool {
        self.kept.is_empty()
    }

    /// The kept thumbnail nearest to video frame `frame`: (its frame, the image).
    pub fn nearest(&self, frame: u64) -> Option<(u64, &RgbImage)> {
        let i = self.kept.partition_point(|t| t.frame < frame);
        let cands = [i.checked_sub(1), Some(i)];
        cands
            .iter()
            .flatten()
            .filter_map(|&j| self.kept.get(j))
            .min_by_key(|t| t.frame.abs_diff(frame))
            .map(|t| (t.frame, &t.image))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_is_bounded_and_nearest_finds_a_close_frame() {
        let img = RgbImage::new(112, 112);
        let mut t = Thumbs::with_capacity(16);
        for f in 0..1000u64 {
            t.offer(f * 2, &img);
        }
        assert!(t.len() <= 16 && t.len() >= 8, "{}", t.len());
        let (f, im) = t.nearest(1000).unwrap();
        assert_eq!(im.width(), THUMB_SIZE);
        // Kept frames are spaced by at most 2 * 1000 / 8 video frames.
        assert!(f.abs_diff(1000) <= 250, "{f}");
        assert_eq!(t.nearest(0).unwrap().0, 0);
    }
}
