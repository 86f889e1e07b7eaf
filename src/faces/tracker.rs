//! The subject track: which face is the subject, frame after frame, and scene cuts.

use super::{iou, BBox, Detection, FaceAnalyzer, FaceSearch, FrameFaces};
use image::RgbImage;
use serde::{Deserialize, Serialize};

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
            search: FaceSearch::new(roi, (super::FULL_SEARCH_S * fps).ceil() as u32),
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
