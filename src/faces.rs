//! Stage 2: face detection (dlib HOG, upsampled once as the original), 68 landmarks,
//! and the subject track.
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

/// Default location of the 68-landmark model from Debian's `libdlib-data`.
pub const DEBIAN_LANDMARKS: &str = "/usr/share/dlib/shape_predictor_68_face_landmarks.dat";

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

    /// Detects every face in an RGB image, with landmarks.
    pub fn detect(&self, img: &RgbImage) -> Vec<Detection> {
        let (w, h) = (img.width() as usize, img.height() as usize);
        if w < 8 || h < 8 {
            return Vec::new();
        }
        // SAFETY: `img` is a contiguous RGB buffer of exactly w * h * 3 bytes.
        let matrix = unsafe { ImageMatrix::new(w, h, img.as_raw().as_ptr()) };
        let (rects, scale): (Vec<Rectangle>, f32) =
            if self.upsample && w.max(h) <= UPSAMPLE_MAX_SIDE {
                let up = matrix.resize(w * 2, h * 2);
                (self.hog.face_locations(&up).to_vec(), 0.5)
            } else {
                (self.hog.face_locations(&matrix).to_vec(), 1.0)
            };
        rects
            .into_iter()
            .map(|r| {
                let rect = Rectangle {
                    left: (r.left as f32 * scale).round() as _,
                    top: (r.top as f32 * scale).round() as _,
                    right: (r.right as f32 * scale).round() as _,
                    bottom: (r.bottom as f32 * scale).round() as _,
                };
                let shape = self.shapes.face_landmarks(&matrix, &rect);
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

/// Why a frame has, or lacks, a subject face.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaceStatus {
    /// One face, the subject.
    Ok,
    /// Several faces; the subject was chosen by the track.
    MultipleFaces,
    /// No face found.
    NoFace,
    /// Faces found, but none continues the subject's track.
    SubjectLost,
}

/// Follows the subject from frame to frame by position.
#[derive(Debug, Clone)]
pub struct SubjectTracker {
    last: Option<BBox>,
    velocity: [f32; 2],
    misses: u32,
    /// Analysed frames without the subject before the largest face is taken again.
    pub max_misses: u32,
    prev_thumb: Option<Vec<f32>>,
}

impl SubjectTracker {
    /// `max_misses`: analysed frames without a match before the track is re-acquired.
    pub fn new(max_misses: u32) -> Self {
        Self {
            last: None,
            velocity: [0.0; 2],
            misses: 0,
            max_misses: max_misses.max(1),
            prev_thumb: None,
        }
    }

    /// Chooses the subject among `faces`; `scene_cut` restarts the track.
    pub fn update(&mut self, faces: &[Detection], scene_cut: bool) -> (Option<usize>, FaceStatus) {
        if scene_cut {
            // A cut restarts the track, unless a face sits where the subject was (a
            // change in another part of the picture also looks like a cut).
            let kept = self
                .last
                .is_some_and(|last| faces.iter().any(|f| iou(&last, &f.bbox) > 0.5));
            if !kept {
                self.last = None;
            }
        }
        if faces.is_empty() {
            self.miss();
            return (None, FaceStatus::NoFace);
        }
        let chosen = match self.last {
            None => largest(faces),
            Some(last) => {
                let pred = [
                    last[0] + self.velocity[0],
                    last[1] + self.velocity[1],
                    last[2],
                    last[3],
                ];
                let size = last[2].max(last[3]);
                let c = [pred[0] + pred[2] / 2.0, pred[1] + pred[3] / 2.0];
                faces
                    .iter()
                    .enumerate()
                    .map(|(i, f)| {
                        let o = iou(&pred, &f.bbox);
                        let fc = f.center();
                        let dist = ((fc[0] - c[0]).powi(2) + (fc[1] - c[1]).powi(2)).sqrt() / size;
                        let ratio = (f.bbox[2] / last[2]).max(last[2] / f.bbox[2]);
                        (i, o, dist, ratio)
                    })
                    .filter(|&(_, o, dist, ratio)| (o > 0.2 || dist < 0.6) && ratio < 2.0)
                    .max_by(|a, b| (a.1 - a.2).total_cmp(&(b.1 - b.2)))
                    .map(|t| t.0)
            }
        };
        match chosen {
            Some(i) => {
                let b = faces[i].bbox;
                if let Some(last) = self.last {
                    let v = [b[0] - last[0], b[1] - last[1]];
                    self.velocity = [
                        0.5 * self.velocity[0] + 0.5 * v[0],
                        0.5 * self.velocity[1] + 0.5 * v[1],
                    ];
                } else {
                    self.velocity = [0.0; 2];
                }
                self.last = Some(b);
                self.misses = 0;
                let status = if faces.len() > 1 {
                    FaceStatus::MultipleFaces
                } else {
                    FaceStatus::Ok
                };
                (Some(i), status)
            }
            None => {
                self.miss();
                if self.last.is_none() {
                    // The track was just dropped: take the largest face now.
                    return self.update(faces, false);
                }
                (None, FaceStatus::SubjectLost)
            }
        }
    }

    fn miss(&mut self) {
        self.misses += 1;
        if self.misses >= self.max_misses {
            self.last = None;
            self.velocity = [0.0; 2];
        }
    }

    /// Returns true when `img` looks like a different shot from the previous frame
    /// given to this function (luma thumbnail difference and histogram distance).
    pub fn scene_cut(&mut self, img: &RgbImage) -> bool {
        let thumb = luma_thumbnail(img);
        let cut = match &self.prev_thumb {
            Some(prev) => is_cut(prev, &thumb),
            None => false,
        };
        self.prev_thumb = Some(thumb);
        cut
    }
}

fn largest(faces: &[Detection]) -> Option<usize> {
    faces
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.area().total_cmp(&b.1.area()))
        .map(|(i, _)| i)
}

const THUMB: u32 = 32;

fn luma_thumbnail(img: &RgbImage) -> Vec<f32> {
    let small = image::imageops::resize(img, THUMB, THUMB, image::imageops::FilterType::Triangle);
    small
        .pixels()
        .map(|p| 0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32)
        .collect()
}

fn is_cut(a: &[f32], b: &[f32]) -> bool {
    let mad = a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f32>() / a.len() as f32;
    let hist = |v: &[f32]| {
        let mut h = [0f32; 16];
        for &x in v {
            h[((x / 16.0) as usize).min(15)] += 1.0 / v.len() as f32;
        }
        h
    };
    let (ha, hb) = (hist(a), hist(b));
    let hd: f32 = ha.iter().zip(&hb).map(|(x, y)| (x - y).abs()).sum();
    mad > 40.0 || (mad > 20.0 && hd > 0.5)
}

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
