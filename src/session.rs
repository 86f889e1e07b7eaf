//! One owner for "analyse a video with a detector": a plain [`SessionSpec`] (encoder,
//! weights, device, detector, threshold, stride, claimed person, frame options) builds
//! a [`Session`] that owns the loaded models. The command line (one video, batches,
//! review), the workbench (analysis, swap bench, review) and the forensic report all
//! analyse through it, so a setting means the same everywhere and the report's
//! parameters have one schema ([`Session::settings`]).

use crate::claimed::Claimed;
use crate::classifier::{Detector, DEFAULT_THRESHOLD};
use crate::encoder::{self, Encoder, EncoderKind};
use crate::error::{Error, Result};
use crate::evidence;
use crate::faces::FaceAnalyzer;
use crate::pipeline::{self, Analysis, AnalyzeOptions, FrameSink, Progress, VectorSink};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// Which detector gives the verdict.
#[derive(Debug, Clone, PartialEq)]
pub enum DetectorChoice {
    /// The detector ti2net ships (`weights/ti2net-demo.safetensors`), for the encoder
    /// it was trained on (MobileFaceNet); no verdict with another encoder.
    Shipped,
    /// A TI2Net checkpoint file.
    File(PathBuf),
    /// No verdict: identity curves only.
    None,
}

/// Everything that decides an analysis: plain values, cheap to clone and compare.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionSpec {
    pub encoder: EncoderKind,
    /// The encoder's weights (None: the installed MobileFaceNet).
    pub weights: Option<PathBuf>,
    /// The dlib 68-landmark model (None: the installed one).
    pub landmarks: Option<PathBuf>,
    /// Run the networks on the GPU (a build with the `cuda` feature).
    pub cuda: bool,
    pub detector: DetectorChoice,
    /// The verdict's threshold (None: the checkpoint's calibrated one, else 0.5).
    pub threshold: Option<f32>,
    /// Face frames between the starts of two scored windows.
    pub stride: usize,
    /// Genuine photos or videos of the person the video claims to show.
    pub references: Vec<PathBuf>,
    pub opts: AnalyzeOptions,
}

impl Default for SessionSpec {
    fn default() -> Self {
        Self {
            encoder: EncoderKind::Mobilefacenet,
            weights: None,
            landmarks: None,
            cuda: false,
            detector: DetectorChoice::Shipped,
            threshold: None,
            stride: 16,
            references: Vec::new(),
            opts: AnalyzeOptions::default(),
        }
    }
}

impl SessionSpec {
    /// The encoder's weights file.
    pub fn weights_path(&self) -> Result<PathBuf> {
        match (&self.weights, self.encoder) {
            (Some(w), _) => Ok(w.clone()),
            (None, EncoderKind::Mobilefacenet) => Ok(crate::models::mobilefacenet_weights()),
            (None, EncoderKind::ArcfaceR18) => Err(Error::Other(
                "the arcface-r18 encoder needs weights (the original's resnet18_110.pth or a .safetensors of it)".into(),
            )),
        }
    }

    /// The landmark model file.
    pub fn landmarks_path(&self) -> PathBuf {
        self.landmarks
            .clone()
            .unwrap_or_else(crate::models::landmarks_model)
    }

    /// The detector checkpoint file, if any (the shipped one is installed on demand).
    pub fn checkpoint_path(&self) -> Option<PathBuf> {
        match &self.detector {
            DetectorChoice::File(p) => Some(p.clone()),
            DetectorChoice::Shipped if self.encoder == EncoderKind::Mobilefacenet => {
                Some(crate::models::demo_checkpoint())
            }
            _ => None,
        }
    }

    /// A face detector for one worker (each thread analysing needs its own).
    pub fn faces(&self) -> Result<FaceAnalyzer> {
        FaceAnalyzer::new(&self.landmarks_path(), self.opts.upsample)
    }
}

/// Loads a TI2Net checkpoint, for vectors of `encoder` when it is known (refusing one
/// trained on another encoder's vectors): the one place a detector is loaded.
pub fn load_detector(
    path: &Path,
    device: &candle_core::Device,
    encoder: Option<&str>,
) -> Result<Detector> {
    let d = Detector::load(path, device)?;
    if let Some(e) = encoder {
        d.checkpoint.check_encoder(path, e)?;
    }
    Ok(d)
}

/// The loaded models of a [`SessionSpec`].
pub struct Session {
    pub spec: SessionSpec,
    pub encoder: Encoder,
    pub detector: Option<Detector>,
    pub claimed: Option<Claimed>,
    /// The verdict's threshold in force: the spec's, else the detector's calibrated
    /// one, else [`DEFAULT_THRESHOLD`].
    pub threshold: f32,
}

impl Session {
    /// Loads the models of `spec`.
    pub fn load(spec: SessionSpec) -> Result<Self> {
        Self::load_with(spec, &|_| {}, &AtomicBool::new(false))
    }

    /// [`Session::load`] that names each slow step (`stage`) and stops between them
    /// when `cancel` is set ([`Error::Cancelled`]).
    pub fn load_with(spec: SessionSpec, stage: &dyn Fn(&str), cancel: &AtomicBool) -> Result<Self> {
        let go_on = || {
            if cancel.load(Ordering::Relaxed) {
                Err(Error::Cancelled)
            } else {
                Ok(())
            }
        };
        stage("loading models");
        let device = encoder::device(spec.cuda)?;
        let encoder = Encoder::load(spec.encoder, &spec.weights_path()?, &device)?;
        go_on()?;
        let detector = match spec.checkpoint_path() {
            Some(c) => Some(load_detector(&c, &device, Some(encoder.kind().name()))?),
            None => None,
        };
        go_on()?;
        let claimed = if spec.references.is_empty() {
            None
        } else {
            stage("reading the claimed person");
            let faces = spec.faces()?;
            Some(crate::claimed::build(
                &spec.references,
                &encoder,
                &faces,
                cancel,
            )?)
        };
        let threshold = spec.threshold.unwrap_or_else(|| {
            detector
                .as_ref()
                .map(Detector::threshold)
                .unwrap_or(DEFAULT_THRESHOLD)
        });
        Ok(Self {
            spec,
            encoder,
            detector,
            claimed,
            threshold,
        })
    }

    /// A face detector for one worker.
    pub fn faces(&self) -> Result<FaceAnalyzer> {
        self.spec.faces()
    }

    /// Analyses one video, with the verdict and the claimed person.
    pub fn analyse(
        &self,
        video: &Path,
        faces: &FaceAnalyzer,
        on_progress: &mut dyn FnMut(Progress),
        on_frame: &mut FrameSink,
        cancel: &AtomicBool,
    ) -> Result<Analysis> {
        self.analyse_live(video, faces, on_progress, on_frame, None, cancel)
    }

    /// [`Session::analyse`] that also hands each identity vector over as it is made
    /// (the workbench's live curves).
    pub fn analyse_live(
        &self,
        video: &Path,
        faces: &FaceAnalyzer,
        on_progress: &mut dyn FnMut(Progress),
        on_frame: &mut FrameSink,
        on_vector: Option<&mut VectorSink>,
        cancel: &AtomicBool,
    ) -> Result<Analysis> {
        let mut a = pipeline::analyze_live(
            video,
            &self.encoder,
            faces,
            &self.spec.opts,
            on_progress,
            on_frame,
            on_vector,
            cancel,
        )?;
        if let Some(d) = &self.detector {
            a.add_verdict(d, self.spec.stride, self.threshold)?;
        }
        if let Some(c) = &self.claimed {
            crate::claimed::compare(&mut a.report, &a.vectors, c);
        }
        Ok(a)
    }

    /// The settings that decide the numbers, as one JSON object: hashes, not paths, so
    /// that shards run on different machines agree (a batch compares them with the
    /// ones it recorded).
    pub fn settings(&self) -> serde_json::Value {
        let o = &self.spec.opts;
        serde_json::json!({
            "encoder": self.encoder.kind().name(),
            "encoder_sha256": self.encoder.weights_sha256(),
            "every": o.selection.every.get(),
            "start_s": o.selection.start_s,
            "end_s": o.selection.end_s,
            "upsample": o.upsample,
            "full_frame_detection": !o.roi,
            "change_window_s": o.change.window_s,
            "change_threshold": o.change.threshold,
            "detector_sha256": self.detector.as_ref().map(|d| d.checkpoint.sha256.clone()),
            "stride": self.spec.stride,
            // As written (0.216, not 0.21600000560283661): a batch's settings are
            // compared with the ones it recorded.
            "threshold": format!("{}", self.threshold).parse::<f64>().ok(),
            "claimed_person_sha256": self.claimed.as_ref().map(|c| c.sources.iter().map(|s| s.sha256.clone()).collect::<Vec<_>>()),
        })
    }

    /// The forensic report of a finished analysis: [`Session::settings`] plus the
    /// model files used, as its parameters.
    pub fn evidence(
        &self,
        a: &Analysis,
        thumbs: &evidence::Thumbs,
    ) -> Result<evidence::ForensicReport> {
        let landmarks = self.spec.landmarks_path();
        let mut parameters = self.settings();
        if let Some(o) = parameters.as_object_mut() {
            o.insert(
                "landmarks".into(),
                serde_json::json!(landmarks.display().to_string()),
            );
            o.insert(
                "encoder_weights".into(),
                serde_json::json!(a.report.encoder.weights.display().to_string()),
            );
        }
        evidence::build(
            &a.report,
            &a.vectors,
            thumbs,
            &evidence::Context {
                parameters,
                landmarks: &landmarks,
            },
        )
    }
}
