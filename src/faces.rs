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

/// Side (frame pixels) a face must keep, relative to its last box, to stay findable
/// in a region search: dlib's HOG window is 80 pixels at one level of its image
/// pyramid (each level 5/6 of the one above), so a region is searched at a scale that
/// puts the last box at 80 x 1.2^2 = 115 pixels or more: the face may shrink by 1.44
/// and still be found.
pub const ROI_FACE_PX: f32 = 115.0;

/// Box side (in the searched image) of a face found at level 0 of dlib's pyramid.
const HOG_BOX_PX: f32 = 87.0;

/// Spacing, in frame pixels, of the 8-pixel HOG cells at the pyramid level where the
/// whole-frame search (at scale `base`) finds a face of `side` pixels.
fn cell_step(side: f32, base: f32) -> f32 {
    let level = ((side * base / HOG_BOX_PX).ln() / 1.2f32.ln())
        .round()
        .max(0.0);
    8.0 * 1.2f32.powf(level) / base
}

/// The scale at which to search a region around a face of `side` pixels: the
/// whole-frame scale `base` (x2 or x1) times (5/6)^m, the largest m that keeps the face
/// at [`ROI_FACE_PX`] or more. The same scales as the levels of dlib's pyramid on the
/// whole frame, so that the face is found at the same level and its box stays the same.
pub fn roi_scale(side: f32, base: f32) -> f32 {
    let mut s = base;
    while side * s * (5.0 / 6.0) >= ROI_FACE_PX {
        s *= 5.0 / 6.0;
    }
    s
}

/// How much wider and taller than the subject's last box the searched region is.
pub const ROI_SPAN: f32 = 2.0;

/// While the subject is tracked, the detector searches its region in one analysed
/// frame in this many; in the others its landmarks are followed ([`FaceAnalyzer::track`]).
pub const HOG_EVERY: u32 = 3;
/// Largest change of the landmarks' spread from one frame to the next that
/// [`FaceAnalyzer::track`] follows (a ratio), and largest move (a share of the box side).
const TRACK_MAX_SCALE: f32 = 1.15;
const TRACK_MAX_SHIFT: f32 = 0.25;

/// The faces found in one frame by [`FaceSearch::find`].
#[derive(Debug, Clone, Default)]
pub struct FrameFaces {
    /// Faces detected in this frame (the searched region or the whole frame).
    pub dets: Vec<Detection>,
    /// Other faces outside the searched region: their boxes as the last whole-frame
    /// search saw them (empty after a whole-frame search).
    pub carried: Vec<BBox>,
    /// True when the whole frame was searched.
    pub full: bool,
}

impl FrameFaces {
    /// Faces in the frame: those detected plus those carried.
    pub fn count(&self) -> usize {
        self.dets.len() + self.carried.len()
    }
}

/// Where faces are searched, frame by frame.
///
/// While the subject is tracked, HOG runs only on a region [`ROI_SPAN`] times the size
/// of the subject's predicted box, at the scale given by [`roi_scale`] (upsampled only
/// when the face is small). The whole frame is searched (as without the region search)
/// to acquire the subject, on a scene cut, when the subject was not found in the
/// previous analysed frame, when the region holds no face that continues the track,
/// and every `full_every` analysed frames to notice faces that enter the picture.
///
/// Other faces outside the region are not searched between two whole-frame searches:
/// a frame reports those the last whole-frame search found (boxes as then), so the
/// `faces` count and `others` of the report stay those of a whole-frame search, up to
/// `full_every` frames late when a face enters or leaves the picture.
#[derive(Debug, Clone)]
pub struct FaceSearch {
    /// Search a region around the tracked subject (false: always the whole frame).
    pub roi: bool,
    /// Analysed frames from one whole-frame search to the next while tracking.
    pub full_every: u32,
    since_full: u32,
    /// Analysed frames in one detector search while tracking (1: every frame).
    pub hog_every: u32,
    since_hog: u32,
    /// The subject as last found.
    last_subject: Option<Detection>,
    others: Vec<BBox>,
    /// Whole-frame and region searches so far.
    pub full_searches: u64,
    pub region_searches: u64,
    /// Frames where the subject was followed by its landmarks alone.
    pub tracked: u64,
}

impl FaceSearch {
    pub fn new(roi: bool, full_every: u32) -> Self {
        Self {
            roi,
            full_every: full_every.max(1),
            since_full: 0,
            hog_every: if roi { HOG_EVERY } else { 1 },
            since_hog: 0,
            last_subject: None,
            others: Vec::new(),
            full_searches: 0,
            region_searches: 0,
            tracked: 0,
        }
    }

    /// Finds the faces of `img`; `tracker` is the subject's track before this frame.
    pub fn find(
        &mut self,
        fa: &FaceAnalyzer,
        img: &RgbImage,
        tracker: &SubjectTracker,
        scene_cut: bool,
    ) -> FrameFaces {
        if self.roi
            && !scene_cut
            && self.since_full + 1 < self.full_every
            && self.since_hog + 1 < self.hog_every
        {
            if let (Some(pred), Some(last)) = (tracker.predicted(), &self.last_subject) {
                if let Some(det) = fa.track(img, last, pred) {
                    self.since_hog += 1;
                    self.since_full += 1;
                    self.tracked += 1;
                    let carried = self
                        .others
                        .iter()
                        .filter(|b| iou(b, &det.bbox) < 0.3)
                        .copied()
                        .collect();
                    return FrameFaces {
                        dets: vec![det],
                        carried,
                        full: false,
                    };
                }
            }
        }
        if self.roi && !scene_cut && self.since_full + 1 < self.full_every {
            if let Some(pred) = tracker.predicted() {
                let side = pred[2].max(pred[3]);
                let half = 0.5 * ROI_SPAN * side;
                let (cx, cy) = (pred[0] + pred[2] / 2.0, pred[1] + pred[3] / 2.0);
                let base = fa.base_scale(img.width() as usize, img.height() as usize);
                // The region starts on the HOG cell grid of the whole-frame search at
                // the pyramid level where this face is found, so that the boxes fall
                // on the same positions as there.
                let step = cell_step(side, base);
                let snap = |v: f32| ((v.max(0.0) / step).floor() * step).round() as u32;
                let region = [
                    snap(cx - half),
                    snap(cy - half),
                    (cx + half).max(0.0).round() as u32,
                    (cy + half).max(0.0).round() as u32,
                ];
                if let Some(dets) = fa.detect_in(img, region, roi_scale(side, base)) {
                    self.region_searches += 1;
                    if tracker.best_match(&dets).is_some() {
                        self.since_full += 1;
                        self.since_hog = 0;
                        let inside = |b: &BBox| {
                            let (x, y) = (b[0] + b[2] / 2.0, b[1] + b[3] / 2.0);
                            x >= region[0] as f32
                                && x < region[2] as f32
                                && y >= region[1] as f32
                                && y < region[3] as f32
                        };
                        let carried = self.others.iter().filter(|b| !inside(b)).copied().collect();
                        return FrameFaces {
                            dets,
                            carried,
                            full: false,
                        };
                    }
                }
            }
        }
        self.since_full = 0;
        self.since_hog = 0;
        self.full_searches += 1;
        FrameFaces {
            dets: fa.detect(img),
            carried: Vec::new(),
            full: true,
        }
    }

    /// Records the other faces of a whole-frame search, once the tracker chose
    /// the subject (`chosen`) among `faces.dets`.
    pub fn chosen(&mut self, faces: &FrameFaces, chosen: Option<usize>) {
        self.last_subject = chosen.and_then(|i| faces.dets.get(i)).cloned();
        if faces.full {
            self.others = faces
                .dets
                .iter()
                .enumerate()
                .filter(|(i, _)| Some(*i) != chosen)
                .map(|(_, d)| d.bbox)
                .collect();
        }
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
            Some(_) => self.best_match(faces),
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

    /// Where the subject should be in this frame (its last box moved by its velocity),
    /// when it was found in the previous analysed frame.
    pub fn predicted(&self) -> Option<BBox> {
        let last = self.last.filter(|_| self.misses == 0)?;
        Some([
            last[0] + self.velocity[0],
            last[1] + self.velocity[1],
            last[2],
            last[3],
        ])
    }

    /// The face among `faces` that continues the track (by position and size), if any.
    pub fn best_match(&self, faces: &[Detection]) -> Option<usize> {
        let last = self.last?;
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

/// The subject of each frame in turn: scene cuts, the face search and the track
/// together, as the analysis does it (used by the face swap on its target and source).
#[derive(Debug, Clone)]
pub struct SubjectFinder {
    pub tracker: SubjectTracker,
    pub search: FaceSearch,
}

/// What [`SubjectFinder::next`] found in one frame.
pub struct FoundSubject {
    pub faces: FrameFaces,
    /// Index of the subject in `faces.dets`.
    pub chosen: Option<usize>,
    pub status: FaceStatus,
    pub scene_cut: bool,
}

impl FoundSubject {
    pub fn subject(&self) -> Option<&Detection> {
        self.chosen.map(|i| &self.faces.dets[i])
    }
}

impl SubjectFinder {
    /// For frames analysed at `fps`; `roi` searches around the tracked subject.
    pub fn new(fps: f64, roi: bool) -> Self {
        Self {
            tracker: SubjectTracker::new((0.5 * fps).ceil() as u32),
            search: FaceSearch::new(roi, (crate::pipeline::FULL_SEARCH_S * fps).ceil() as u32),
        }
    }

    pub fn next(&mut self, fa: &FaceAnalyzer, img: &RgbImage) -> FoundSubject {
        let cut = self.tracker.scene_cut(img);
        let faces = self.search.find(fa, img, &self.tracker, cut);
        let (chosen, mut status) = self.tracker.update(&faces.dets, cut);
        self.search.chosen(&faces, chosen);
        if status == FaceStatus::Ok && !faces.carried.is_empty() {
            status = FaceStatus::MultipleFaces;
        }
        FoundSubject {
            faces,
            chosen,
            status,
            scene_cut: cut,
        }
    }
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
