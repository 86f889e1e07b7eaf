//! The analysis report: a versioned JSON document (schema in the README).

use crate::faces::{BBox, Detection, FaceStatus};
use crate::identity::{ChangeParams, IdentityChange};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Bumped whenever a field changes meaning or disappears.
pub const SCHEMA_VERSION: &str = "ti2net.report/2";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub schema: String,
    pub tool: ToolInfo,
    pub video: VideoSection,
    pub encoder: EncoderSection,
    pub settings: Settings,
    pub frames: Vec<FrameRecord>,
    pub identity_changes: Vec<IdentityChange>,
    /// Where the reference identity (`sim_reference`) comes from (schema 2).
    #[serde(default)]
    pub reference: Option<crate::identity::ReferenceStretch>,
    pub summary: Summary,
    /// TI2Net's verdict, when a checkpoint was given (`analyze --checkpoint`).
    #[serde(default)]
    pub verdict: Option<crate::classifier::Verdict>,
    /// How the subject compares with the claimed person (`--reference`).
    #[serde(default)]
    pub claimed: Option<Comparison>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
}

impl Default for ToolInfo {
    fn default() -> Self {
        Self {
            name: "ti2net".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VideoSection {
    #[serde(serialize_with = "crate::fsutil::lossy_path")]
    pub path: PathBuf,
    pub sha256: String,
    pub fps: f64,
    pub frame_count: u64,
    pub frames_decoded: u64,
    pub width: u32,
    pub height: u32,
    pub duration_s: f64,
    pub rotation: i32,
    pub codec: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EncoderSection {
    pub name: String,
    #[serde(serialize_with = "crate::fsutil::lossy_path")]
    pub weights: PathBuf,
    pub weights_sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    pub every: u32,
    pub start_s: Option<f64>,
    pub end_s: Option<f64>,
    pub upsample: bool,
    pub change: ChangeParams,
}

/// The subject's face in one frame.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SubjectFace {
    #[serde(rename = "box")]
    pub bbox: BBox,
    pub landmarks: Vec<[f32; 2]>,
}

impl From<&Detection> for SubjectFace {
    fn from(d: &Detection) -> Self {
        Self {
            bbox: d.bbox,
            landmarks: d.landmarks.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FrameRecord {
    pub index: u64,
    pub time_s: f64,
    /// Faces detected in the frame.
    pub faces: usize,
    pub status: FaceStatus,
    /// A scene cut was detected just before this frame (the track restarted).
    pub scene_cut: bool,
    /// The subject's face, or null.
    pub face: Option<SubjectFace>,
    /// Boxes of the other faces.
    pub others: Vec<BBox>,
    /// Cosine similarity to the clip's reference identity.
    pub sim_reference: Option<f32>,
    /// Cosine similarity to the previous analysed frame (null when either lacks a face).
    pub sim_previous: Option<f32>,
    /// Similarity of the mean identity over the window before to the window after.
    pub sim_window: Option<f32>,
    /// Cosine similarity to the claimed person (`--reference`), when one was given.
    #[serde(default)]
    pub sim_claimed: Option<f32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    pub frames_analysed: usize,
    pub frames_with_face: usize,
    pub frames_multiple_faces: usize,
    pub frames_subject_lost: usize,
    pub mean_sim_reference: Option<f32>,
    pub min_sim_reference: Option<f32>,
    pub identity_changes: usize,
}

/// One genuine photo or video of the claimed person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaimedSource {
    #[serde(serialize_with = "crate::fsutil::lossy_path")]
    pub path: PathBuf,
    pub sha256: String,
    /// `photo` or `video`.
    pub kind: String,
    /// Face frames (1 for a photo) that went into its identity.
    pub faces: usize,
    /// Similarity of this source's identity to the others' mean (null with one
    /// source): a low value means a source shows someone else.
    pub agreement: Option<f32>,
}

/// How the video's subject compares with the claimed person (the report's `claimed`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub sources: Vec<ClaimedSource>,
    /// Face frames compared.
    pub face_frames: usize,
    pub median: Option<f32>,
    pub mean: Option<f32>,
    /// The 10th percentile: how low the similarity goes apart from a few frames.
    pub p10: Option<f32>,
    /// Share of face frames at or above `claimed::SAME_PERSON_MIN`.
    pub share_same: Option<f32>,
    pub same_person_min: f32,
    pub different_person_max: f32,
    /// `consistent`, `inconclusive`, `different` or `no face`.
    pub conclusion: String,
    /// The conclusion in a sentence.
    pub statement: String,
}
