//! Stage 2: face detection (dlib HOG, upsampled once as the original), 68 landmarks,
//! and the subject track.
//!
//! Once the subject is tracked, HOG searches only a region around it ([`FaceSearch`]),
//! with the whole frame searched on cuts, when the subject is lost and every half
//! second; landmarks are always predicted on the whole frame.
//!
//! The subject is the largest face when the track starts; it is then followed by
//! position (box overlap and motion), so a second person in the frame cannot take
//! it over. After a scene cut, or when the track has been lost for a while, the
//! largest face is taken again. Identity is never used to keep or drop the subject's
//! frames: identity drift is the evidence this tool exists to show.

use crate::error::{Error, Result};
use dlib_face_recognition::{
    FaceDetector, FaceDetectorTrait, ImageMatrix, LandmarkPredictor, LandmarkPredictorTrait,
    Rectangle,
};
use image::RgbImage;
use serde::{Deserialize, Serialize};
use std::path::Path;

mod search;
mod tracker;
pub use search::*;
pub use tracker::*;

/// A face box as `[x, y, width, height]` in frame pixels.
pub type BBox = [f32; 4];

/// One detected face.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    #[serde(rename = "box")]
    pub bbox: BBox,
    /// The 68 dlib landmarks (iBUG 300-W order), in frame pixels.
    pub landmarks: Vec<[f32; 2]>,
}

impl Detection {
    pub fn area(&self) -> f32 {
        self.bbox[2] * self.bbox[3]
    }
    pub fn center(&self) -> [f32; 2] {
        [
            self.bbox[0] + self.bbox[2] / 2.0,
            self.bbox[1] + self.bbox[3] / 2.0,
        ]
    }
}

/// Intersection over union of two boxes.
pub fn iou(a: &BBox, b: &BBox) -> f32 {
    let x0 = a[0].max(b[0]);
    let y0 = a[1].max(b[1]);
    let x1 = (a[0] + a[2]).min(b[0] + b[2]);
    let y1 = (a[1] + a[3]).min(b[1] + b[3]);
    let inter = (x1 - x0).max(0.0) * (y1 - y0).max(0.0);
    let union = a[2] * a[3] + b[2] * b[3] - inter;
    if union <= 0.0 {
        0.0
    } else {
        inter / union
    }
}

/// dlib's HOG detector plus the 68-point shape predictor.
pub struct FaceAnalyzer {
    hog: FaceDetector,
    shapes: LandmarkPredictor,
    /// Upsample the image once (x2) before detection, as the original does; finds
    /// faces down to about 40 px at four times the cost. Frames whose longer side
    /// exceeds [`UPSAMPLE_MAX_SIDE`] are not upsampled (their faces are large enough).
    pub upsample: bool,
}

// SAFETY: the dlib objects hold no thread-affine state; each analyzer is used by one
// thread at a time (`&mut`-free calls are read-only on the models).
unsafe impl Send for FaceAnalyzer {}

/// Longest frame side that is still upsampled before detection.
pub const UPSAMPLE_MAX_SIDE: usize = 1280;

pub use crate::models::DEBIAN_LANDMARKS;

/// Seconds of video between two whole-frame face searches while the subject is
/// tracked in a region around it.
pub const FULL_SEARCH_S: f64 = 0.5;

impl FaceAnalyzer {
    pub fn new(landmarks_model: &Path, upsample: bool) -> Result<Self> {
        if !landmarks_model.exists() {
            return Err(Error::weights(
                landmarks_model,
                "the 68-landmark model is missing (run scripts/setup.sh or install libdlib-data)",
            ));
        }
        let shapes = LandmarkPredictor::open(landmarks_model).map_err(|e| {
            Error::weights(
                landmarks_model,
                format!("not a dlib shape predictor model ({e})"),
            )
        })?;
        Ok(Self {
            hog: FaceDetector::new(),
            shapes,
            upsample,
        })
    }

    /// Scale of the whole-frame search: x2 when upsampling applies to this frame size.
    pub fn base_scale(&self, w: usize, h: usize) -> f32 {
        if self.upsample && w.max(h) <= UPSAMPLE_MAX_SIDE {
            2.0
        } else {
            1.0
        }
    }

    /// Detects every face in an RGB image, with landmarks.
    pub fn detect(&self, img: &RgbImage) -> Vec<Detection> {
        let (w, h) = (img.width() as usize, img.height() as usize);
        if w < 8 || h < 8 {
            return Vec::new();
        }
        let matrix = frame_matrix(img);
        let scale = self.base_scale(w, h);
        let rects = if scale > 1.0 {
            let up = matrix.resize(w * 2, h * 2);
            self.hog.face_locations(&up).to_vec()
        } else {
            self.hog.face_locations(&matrix).to_vec()
        };
        self.with_landmarks(&matrix, &rects, [0.0, 0.0], [1.0 / scale, 1.0 / scale])
    }

    /// Detects the faces inside `region` (`[x0, y0, x1, y1]`, frame pixels) only,
    /// searching the region resized by `scale` (see [`roi_scale`]); boxes and
    /// landmarks (on the whole frame) in frame pixels. `None` when the region is too
    /// small to search.
    pub fn detect_in(
        &self,
        img: &RgbImage,
        region: [u32; 4],
        scale: f32,
    ) -> Option<Vec<Detection>> {
        let (w, h) = (img.width(), img.height());
        let [x0, y0, x1, y1] = [
            region[0].min(w),
            region[1].min(h),
            region[2].min(w),
            region[3].min(h),
        ];
        let (cw, ch) = (x1.saturating_sub(x0), y1.saturating_sub(y0));
        let (sw, sh) = (
            (cw as f32 * scale).round() as usize,
            (ch as f32 * scale).round() as usize,
        );
        // dlib's window is 80 x 80 pixels.
        if cw < 8 || ch < 8 || sw < 80 || sh < 80 {
            return None;
        }
        let crop = image::imageops::crop_imm(img, x0, y0, cw, ch).to_image();
        let small = frame_matrix(&crop);
        let rects = if (sw, sh) == (cw as usize, ch as usize) {
            self.hog.face_locations(&small).to_vec()
        } else {
            self.hog.face_locations(&small.resize(sw, sh)).to_vec()
        };
        let matrix = frame_matrix(img);
        Some(self.with_landmarks(
            &matrix,
            &rects,
            [x0 as f32, y0 as f32],
            [cw as f32 / sw as f32, ch as f32 / sh as f32],
        ))
    }

    /// Follows the subject without the detector: the 68 landmarks predicted in its box
    /// moved to `pred` (the tracker's prediction), then again in the box those
    /// landmarks give, so the box follows the face as dlib would place it. `None` when
    /// the landmarks moved or scaled too much for a face that merely moved on (the
    /// caller then searches with the detector).
    pub fn track(&self, img: &RgbImage, last: &Detection, pred: BBox) -> Option<Detection> {
        if last.landmarks.len() != 68 {
            return None;
        }
        let matrix = frame_matrix(img);
        let predict = |b: BBox| -> Vec<[f32; 2]> {
            let rect = Rectangle {
                left: b[0].round() as _,
                top: b[1].round() as _,
                right: (b[0] + b[2] - 1.0).round() as _,
                bottom: (b[1] + b[3] - 1.0).round() as _,
            };
            self.shapes
                .face_landmarks(&matrix, &rect)
                .iter()
                .map(|p| [p.x() as f32, p.y() as f32])
                .collect()
        };
        let stats = |lm: &[[f32; 2]]| {
            let n = lm.len().max(1) as f32;
            let (cx, cy) = lm.iter().fold((0.0, 0.0), |a, p| (a.0 + p[0], a.1 + p[1]));
            let (cx, cy) = (cx / n, cy / n);
            let spread = (lm
                .iter()
                .map(|p| (p[0] - cx).powi(2) + (p[1] - cy).powi(2))
                .sum::<f32>()
                / n)
                .sqrt();
            (cx, cy, spread)
        };
        let (lx, ly, ls) = stats(&last.landmarks);
        let side = last.bbox[2].max(last.bbox[3]);
        let moved = |lm: &[[f32; 2]]| -> Option<BBox> {
            let (cx, cy, s) = stats(lm);
            let scale = s / ls.max(1e-3);
            let shift = ((cx - lx).powi(2) + (cy - ly).powi(2)).sqrt();
            if !(TRACK_MAX_SCALE.recip()..=TRACK_MAX_SCALE).contains(&scale)
                || shift > TRACK_MAX_SHIFT * side
            {
                return None;
            }
            let (w, h) = (last.bbox[2] * scale, last.bbox[3] * scale);
            // The box keeps its place relative to the landmarks.
            let bx = cx + (last.bbox[0] - lx) * scale;
            let by = cy + (last.bbox[1] - ly) * scale;
            Some([bx, by, w, h])
        };
        let first = predict(pred);
        let bbox = moved(&first)?;
        let landmarks = predict(bbox);
        let bbox = moved(&landmarks)?;
        let (w, h) = (img.width() as f32, img.height() as f32);
        if bbox[0] + bbox[2] < 0.0 || bbox[1] + bbox[3] < 0.0 || bbox[0] > w || bbox[1] > h {
            return None;
        }
        Some(Detection { bbox, landmarks })
    }

    /// Maps detector rectangles to frame pixels (`origin + r * scale`) and adds the
    /// landmarks, predicted on the whole frame.
    fn with_landmarks(
        &self,
        matrix: &ImageMatrix,
        rects: &[Rectangle],
        origin: [f32; 2],
        scale: [f32; 2],
    ) -> Vec<Detection> {
        rects
            .iter()
            .map(|r| {
                let rect = Rectangle {
                    left: (origin[0] + r.left as f32 * scale[0]).round() as _,
                    top: (origin[1] + r.top as f32 * scale[1]).round() as _,
                    right: (origin[0] + r.right as f32 * scale[0]).round() as _,
                    bottom: (origin[1] + r.bottom as f32 * scale[1]).round() as _,
                };
                let shape = self.shapes.face_landmarks(matrix, &rect);
                Detection {
                    bbox: [
                        rect.left as f32,
                        rect.top as f32,
                        (rect.right - rect.left + 1) as f32,
                        (rect.bottom - rect.top + 1) as f32,
                    ],
                    landmarks: shape.iter().map(|p| [p.x() as f32, p.y() as f32]).collect(),
                }
            })
            .collect()
    }
}

/// The frame as a dlib image.
fn frame_matrix(img: &RgbImage) -> ImageMatrix {
    // SAFETY: `img` is a contiguous RGB buffer of exactly w * h * 3 bytes.
    unsafe {
        ImageMatrix::new(
            img.width() as usize,
            img.height() as usize,
            img.as_raw().as_ptr(),
        )
    }
}

/// Largest change of the landmarks' spread from one frame to the next that
/// [`FaceAnalyzer::track`] follows (a ratio), and largest move (a share of the box side).
const TRACK_MAX_SCALE: f32 = 1.15;
const TRACK_MAX_SHIFT: f32 = 0.25;

#[cfg(test)]
mod tests {
    use super::*;

    fn det(x: f32, y: f32, s: f32) -> Detection {
        Detection {
            bbox: [x, y, s, s],
            landmarks: vec![],
        }
    }

    #[test]
    fn iou_of_boxes() {
        assert!((iou(&[0., 0., 10., 10.], &[0., 0., 10., 10.]) - 1.0).abs() < 1e-6);
        assert_eq!(iou(&[0., 0., 10., 10.], &[20., 20., 10., 10.]), 0.0);
        assert!((iou(&[0., 0., 10., 10.], &[5., 0., 10., 10.]) - 50.0 / 150.0).abs() < 1e-6);
    }

    #[test]
    fn second_larger_face_does_not_hijack_the_track() {
        let mut t = SubjectTracker::new(5);
        assert_eq!(t.update(&[det(10., 10., 50.)], false).0, Some(0));
        // A bigger face appears elsewhere: the subject stays the one that moved a bit.
        let (i, s) = t.update(&[det(200., 10., 90.), det(14., 12., 50.)], false);
        assert_eq!(i, Some(1));
        assert_eq!(s, FaceStatus::MultipleFaces);
        // The subject disappears; the other face is not taken before the track is lost.
        let (i, s) = t.update(&[det(200., 10., 90.)], false);
        assert_eq!((i, s), (None, FaceStatus::SubjectLost));
        // A scene cut re-acquires the largest face at once...
        assert_eq!(t.update(&[det(200., 10., 90.)], true).0, Some(0));
        // ...but a face where the subject was keeps the track through a "cut".
        let mut t = SubjectTracker::new(5);
        t.update(&[det(10., 10., 50.)], false);
        assert_eq!(
            t.update(&[det(300., 10., 120.), det(11., 10., 50.)], true)
                .0,
            Some(1)
        );
    }

    #[test]
    fn lost_track_is_reacquired_after_max_misses() {
        let mut t = SubjectTracker::new(2);
        t.update(&[det(10., 10., 50.)], false);
        assert_eq!(t.update(&[det(300., 10., 50.)], false).0, None);
        assert_eq!(t.update(&[det(300., 10., 50.)], false).0, Some(0));
    }
}
