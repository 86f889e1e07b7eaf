//! Settings remembered between runs (eframe storage).

use super::training::TrainForm;
use crate::encoder::EncoderKind;
use crate::pipeline::AnalyzeOptions;
use crate::video::FrameSelection;
use std::path::PathBuf;

/// Settings remembered between runs (eframe storage).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Settings {
    pub encoder: EncoderKind,
    pub weights: String,
    pub landmarks: String,
    pub checkpoint: String,
    pub cuda: bool,
    pub every: u32,
    pub upsample: bool,
    pub stride: usize,
    pub threshold: f32,
    /// Genuine photos or videos of the person the videos claim to show (`--reference`).
    pub reference: Vec<String>,
    pub recent: Vec<String>,
    pub train: TrainForm,
    pub swap: super::swap_bench::SwapForm,
    pub review: super::review::ReviewForm,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            encoder: EncoderKind::Mobilefacenet,
            weights: crate::models::mobilefacenet_weights().display().to_string(),
            landmarks: crate::models::landmarks_model().display().to_string(),
            checkpoint: String::new(),
            cuda: false,
            every: 1,
            upsample: true,
            stride: crate::classifier::clips::DEFAULT_STRIDE,
            threshold: crate::classifier::DEFAULT_THRESHOLD,
            reference: Vec::new(),
            recent: Vec::new(),
            train: TrainForm::default(),
            swap: Default::default(),
            review: Default::default(),
        }
    }
}

impl Settings {
    /// The detector checkpoint: the one set, else the demo detector when it is
    /// installed and the encoder is MobileFaceNet (the vectors it was trained on).
    pub fn checkpoint_path(&self) -> Option<PathBuf> {
        let t = self.checkpoint.trim();
        if !t.is_empty() {
            return Some(PathBuf::from(t));
        }
        let demo = crate::models::demo_checkpoint();
        (self.encoder == EncoderKind::Mobilefacenet && demo.exists()).then_some(demo)
    }

    /// Puts `video` first in the recent list (10 at most).
    pub fn add_recent(&mut self, video: String) {
        self.recent.retain(|r| r != &video);
        self.recent.insert(0, video);
        self.recent.truncate(10);
    }

    /// The analysis options these settings give.
    pub fn analyze_options(&self) -> AnalyzeOptions {
        AnalyzeOptions {
            selection: FrameSelection {
                every: self.every.max(1),
                ..Default::default()
            },
            upsample: self.upsample,
            ..Default::default()
        }
    }
}
