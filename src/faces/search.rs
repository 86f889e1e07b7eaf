//! Where faces are searched, frame by frame: a region around the tracked subject, its
//! landmarks followed in between, the whole frame on cuts and every half second.

use super::{iou, BBox, Detection, FaceAnalyzer, SubjectTracker};
use image::RgbImage;

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
