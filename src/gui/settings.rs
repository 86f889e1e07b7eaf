//! Settings remembered between runs (eframe storage).

use super::training::TrainForm;
use crate::encoder::EncoderKind;
use crate::pipeline::AnalyzeOptions;
use crate::video::FrameSelection;
use std::path::PathBuf;

/// What checking the remembered files found (see [`Settings::session_spec`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileCheck {
    /// The detector checkpoint set in Settings, which does not exist: the analysis
    /// runs without a verdict, and the verdict card offers the choices.
    pub missing_checkpoint: Option<PathBuf>,
    /// Files replaced by the installed defaults or left out, one sentence each.
    pub fallbacks: Vec<String>,
}

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
    /// The decision threshold when `threshold_from_checkpoint` is off.
    pub threshold: f32,
    /// Use the threshold calibrated into the checkpoint (0.5 when it has none).
    pub threshold_from_checkpoint: bool,
    /// No verdict: identity curves only (the checkpoint is then not used).
    pub no_detector: bool,
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
            threshold_from_checkpoint: true,
            no_detector: false,
            reference: Vec::new(),
            recent: Vec::new(),
            train: TrainForm::default(),
            swap: Default::default(),
            review: Default::default(),
        }
    }
}

impl Settings {
    /// Settings saved before the models moved to the models folder name MobileFaceNet
    /// in a clone's `weights/`: when that file is gone, the installed one is used.
    pub fn forget_moved_models(&mut self) {
        let w = PathBuf::from(self.weights.trim());
        let old_place = w.parent().and_then(|p| p.file_name()) == Some("weights".as_ref())
            && w.file_name() == Some("mobilefacenet.safetensors".as_ref());
        if self.encoder == EncoderKind::Mobilefacenet && old_place && !w.exists() {
            self.weights = crate::models::mobilefacenet_weights().display().to_string();
        }
    }

    /// Puts `video` first in the recent list (10 at most).
    pub fn add_recent(&mut self, video: String) {
        self.recent.retain(|r| r != &video);
        self.recent.insert(0, video);
        self.recent.truncate(10);
    }

    /// The session these settings describe: the encoder, device and detector of the
    /// Settings tab, for the analysis, the swap bench and the review alike. Remembered
    /// files that have gone away (a detector on an unmounted drive, weights moved) never
    /// stop an analysis: a missing detector leaves the verdict out and is named in the
    /// returned [`FileCheck`]; missing encoder weights, landmark model or claimed-person
    /// files fall back to the installed defaults (or are left out), each in a sentence.
    pub fn session_spec(&self) -> (crate::session::SessionSpec, FileCheck) {
        use crate::session::{DetectorChoice, SessionSpec};
        let mut check = FileCheck::default();
        let gone = |p: &str| !p.is_empty() && !std::path::Path::new(p).exists();
        // A remembered file that has gone away, replaced by the installed one (when
        // that is there), in a sentence: `what` and `installed_name` name them.
        let mut fallback = |set: &str, what: &str, installed: PathBuf, installed_name: &str| {
            (gone(set) && installed.exists()).then(|| {
                check.fallbacks.push(format!(
                    "{what} {set} {}: the installed {installed_name} ({}) is used instead",
                    if what.ends_with('s') {
                        "do not exist"
                    } else {
                        "does not exist"
                    },
                    installed.display()
                ));
                installed
            })
        };
        let (mut encoder, mut weights) = (self.encoder, PathBuf::from(self.weights.trim()));
        let installed = crate::models::mobilefacenet_weights();
        if let Some(w) = fallback(
            self.weights.trim(),
            "the encoder weights",
            installed,
            "MobileFaceNet",
        ) {
            encoder = EncoderKind::Mobilefacenet;
            weights = w;
        }
        let landmarks = fallback(
            self.landmarks.trim(),
            "the landmark model",
            crate::models::landmarks_model(),
            "one",
        )
        .unwrap_or_else(|| PathBuf::from(self.landmarks.trim()));
        let mut references = Vec::new();
        for r in &self.reference {
            if gone(r.trim()) {
                check.fallbacks.push(format!(
                    "the claimed person's file {r} does not exist: it is left out"
                ));
            } else {
                references.push(PathBuf::from(r.trim()));
            }
        }
        let t = self.checkpoint.trim();
        let detector = if self.no_detector {
            DetectorChoice::None
        } else if t.is_empty() {
            DetectorChoice::Shipped
        } else if gone(t) {
            check.missing_checkpoint = Some(PathBuf::from(t));
            DetectorChoice::None
        } else {
            DetectorChoice::File(PathBuf::from(t))
        };
        let spec = SessionSpec {
            encoder,
            weights: Some(weights),
            landmarks: Some(landmarks),
            cuda: self.cuda,
            detector,
            threshold: (!self.threshold_from_checkpoint).then_some(self.threshold),
            stride: self.stride.max(1),
            references,
            opts: self.analyze_options(),
        };
        (spec, check)
    }

    /// The settings to start with: the remembered ones, or the defaults when `reset`
    /// (`ti2net gui --reset-settings`) or when nothing is remembered.
    pub fn load(remembered: Option<Settings>, reset: bool) -> Settings {
        let mut s = if reset {
            Settings::default()
        } else {
            remembered.unwrap_or_default()
        };
        s.forget_moved_models();
        s
    }

    /// The analysis options these settings give.
    pub fn analyze_options(&self) -> AnalyzeOptions {
        AnalyzeOptions {
            selection: FrameSelection {
                every: std::num::NonZeroU32::new(self.every).unwrap_or(std::num::NonZeroU32::MIN),
                ..Default::default()
            },
            upsample: self.upsample,
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_saved_in_a_clone_that_lost_them_fall_back_to_the_models_folder() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("clone/weights/mobilefacenet.safetensors");
        let mut s = Settings {
            weights: gone.display().to_string(),
            ..Default::default()
        };
        s.forget_moved_models();
        assert_eq!(
            s.weights,
            crate::models::mobilefacenet_weights().display().to_string()
        );
        // A file the user chose and that exists is kept.
        let mine = dir.path().join("weights/mobilefacenet.safetensors");
        std::fs::create_dir_all(mine.parent().unwrap()).unwrap();
        std::fs::write(&mine, b"x").unwrap();
        s.weights = mine.display().to_string();
        s.forget_moved_models();
        assert_eq!(s.weights, mine.display().to_string());
    }
}
