//! The TI2Net classifier: model, clips, checkpoints, verdicts, training and metrics.
//! The CLI's `classify`, `train`, `eval` and `analyze --checkpoint`, and the GUI,
//! all call this code.

pub mod checkpoint;
pub mod clips;
pub mod dataset;
pub mod metrics;
pub mod model;
pub mod split;
pub mod synth;
pub mod train;

use crate::encoder::ID_DIM;
use crate::error::Result;
use candle_core::{Device, Tensor};
use clips::{clip_input, clip_starts, CLIP_SPAN, CLIP_STEPS};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Default decision threshold on the mean fake probability.
pub const DEFAULT_THRESHOLD: f32 = 0.5;

/// A loaded classifier, ready to score clips.
pub struct Detector {
    pub checkpoint: checkpoint::Checkpoint,
    pub path: PathBuf,
    pub device: Device,
}

impl Detector {
    /// The threshold for verdicts when the user gives none: the checkpoint's
    /// calibrated one, else [`DEFAULT_THRESHOLD`].
    pub fn threshold(&self) -> f32 {
        self.checkpoint
            .provenance
            .threshold
            .unwrap_or(DEFAULT_THRESHOLD)
    }

    pub fn load(path: &Path, device: &Device) -> Result<Self> {
        Ok(Self {
            checkpoint: checkpoint::load(path, device)?,
            path: path.to_path_buf(),
            device: device.clone(),
        })
    }

    /// Fake probability of each clip (stride `stride`) of a video's face frames
    /// (row-major `n x 1024`). Returns `(start face frame, p_fake)`.
    pub fn score_video(&self, frames: &[f32], stride: usize) -> Result<Vec<(usize, f32)>> {
        let n = frames.len() / ID_DIM;
        let starts = clip_starts(n, stride);
        let mut out = Vec::with_capacity(starts.len());
        for chunk in starts.chunks(32) {
            let mut x = Vec::with_capacity(chunk.len() * CLIP_STEPS * ID_DIM);
            for &s in chunk {
                x.extend(clip_input(frames, ID_DIM, s));
            }
            let t = Tensor::from_vec(x, (chunk.len(), CLIP_STEPS, ID_DIM), &self.device)?;
            let p = self.checkpoint.model.p_fake(&t)?;
            out.extend(chunk.iter().copied().zip(p));
        }
        Ok(out)
    }
}

/// One scored window of a video.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Window {
    pub start_frame: u64,
    pub end_frame: u64,
    pub start_s: f64,
    pub end_s: f64,
    pub p_fake: f32,
}

/// The verdict on one video.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// Mean fake probability over the windows (null when undetermined).
    pub p_fake: Option<f32>,
    /// `fake`, `real` or `undetermined`.
    pub label: String,
    pub threshold: f32,
    /// How `p_fake` and `label` were reached.
    pub method: String,
    /// Share of windows at or above the threshold, and the majority vote's label.
    pub fake_window_share: Option<f32>,
    pub majority_label: Option<String>,
    #[serde(serialize_with = "crate::fsutil::lossy_path")]
    pub checkpoint: PathBuf,
    pub checkpoint_sha256: String,
    pub checkpoint_encoder: Option<String>,
    pub stride: usize,
    pub face_frames: usize,
    /// Face frames one window needs.
    pub face_frames_needed: usize,
    pub windows: Vec<Window>,
    pub note: Option<String>,
    /// What the detector is, when its checkpoint says (the demo detector's model card).
    #[serde(default)]
    pub detector: Option<String>,
}

/// One line on the demo detector from its checkpoint's model-card figures.
pub fn demo_description(demo: &serde_json::Value) -> String {
    let num = |k: &str| demo.get(k).and_then(|v| v.as_f64());
    let count = |k: &str| {
        demo.get(k)
            .and_then(|v| v.as_array())
            .map(|a| a.len())
            .unwrap_or(0)
    };
    format!(
        "demo detector: trained on graphics face swaps of {} people; on {} people it never saw, video AUC {} and clip AUC {} (see ti2net-demo.md in the models folder); not measured on real-world deepfakes",
        count("train_people"),
        count("test_people"),
        num("test_video_auc").map(|v| format!("{v:.2}")).unwrap_or_else(|| "n/a".into()),
        num("test_clip_auc").map(|v| format!("{v:.2}")).unwrap_or_else(|| "n/a".into()),
    )
}

/// Scores a video's subject track. `frames[i]` / `times[i]` are the video frame index
/// and time of face frame i; `vectors` is row-major `n x 1024`.
pub fn verdict(
    det: &Detector,
    vectors: &[f32],
    frames: &[u64],
    times: &[f64],
    stride: usize,
    threshold: f32,
) -> Result<Verdict> {
    let scores = det.score_video(vectors, stride)?;
    let windows: Vec<Window> = scores
        .iter()
        .map(|&(s, p)| Window {
            start_frame: frames[s],
            end_frame: frames[s + CLIP_SPAN - 1],
            start_s: times[s],
            end_s: times[s + CLIP_SPAN - 1],
            p_fake: p,
        })
        .collect();
    let n = frames.len();
    let ck = &det.checkpoint;
    let mut v = Verdict {
        p_fake: None,
        label: "undetermined".into(),
        threshold,
        method: "mean fake probability over windows of 64 identity vectors (every 2nd face frame)"
            .into(),
        fake_window_share: None,
        majority_label: None,
        checkpoint: det.path.clone(),
        checkpoint_sha256: ck.sha256.clone(),
        checkpoint_encoder: ck.provenance.encoder.clone(),
        stride,
        face_frames: n,
        face_frames_needed: CLIP_SPAN,
        windows,
        note: None,
        detector: ck.provenance.demo.as_ref().map(demo_description),
    };
    if v.windows.is_empty() {
        v.note = Some(format!(
            "undetermined: {n} face frames of the subject, one window needs {CLIP_SPAN}"
        ));
        return Ok(v);
    }
    let mean = v.windows.iter().map(|w| w.p_fake).sum::<f32>() / v.windows.len() as f32;
    let share =
        v.windows.iter().filter(|w| w.p_fake >= threshold).count() as f32 / v.windows.len() as f32;
    let label = |fake: bool| if fake { "fake" } else { "real" }.to_string();
    v.p_fake = Some(mean);
    v.label = label(mean >= threshold);
    v.fake_window_share = Some(share);
    v.majority_label = Some(label(share > 0.5));
    if !ck.has_provenance {
        v.note = Some("the checkpoint carries no provenance: make sure it was trained on the same encoder's vectors".into());
    }
    Ok(v)
}
