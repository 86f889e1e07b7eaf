//! The forensic report (`ti2net report`, Export > Report): one self-contained HTML
//! page (pictures embedded) and the same content as JSON, for an analyst to hand
//! over: the input's hash, size and container metadata, the tool's version and the
//! hash of every model used, every parameter, the date (UTC), the verdict with its
//! per-window evidence, the identity curves and similarity matrix, a contact sheet of
//! the subject's crops around each identity change and at the lowest similarities,
//! the frames without a face or with several, and the method's limits.
//!
//! Apart from `created_utc`, two reports of the same input with the same settings
//! are identical.

pub mod html;
pub mod probe;
pub mod thumbs;

use crate::error::{Error, Result};
use crate::faces::FaceStatus;
use crate::fsutil::sha256_file;
use crate::report::Report;
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
pub use thumbs::Thumbs;

pub const SCHEMA: &str = "ti2net.forensic/1";

/// Crops shown around each identity change (before and after it, each).
const AROUND_CHANGE: usize = 2;
/// Crops shown at the lowest similarities.
const LOWEST: usize = 6;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ForensicReport {
    pub schema: String,
    pub created_utc: String,
    pub input: Input,
    pub tool: crate::report::ToolInfo,
    pub models: Vec<ModelUsed>,
    /// Every setting of the analysis and the verdict.
    pub parameters: serde_json::Value,
    /// Runs of analysed frames without a face, with several, or where the subject
    /// was lost.
    pub no_face: Vec<Span>,
    pub several_faces: Vec<Span>,
    pub subject_lost: Vec<Span>,
    pub contact_sheet: Vec<SheetEntry>,
    /// PNG pictures, base64.
    pub curves_png: String,
    pub matrix_png: Option<String>,
    /// Cells a side of the similarity matrix picture, and face frames a cell.
    pub matrix_cells: usize,
    pub matrix_block: usize,
    pub limits: Vec<String>,
    /// The whole analysis: frames, curves, identity changes, verdict, claimed person.
    pub analysis: Report,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Input {
    #[serde(serialize_with = "crate::fsutil::lossy_path")]
    pub path: PathBuf,
    pub file_name: String,
    pub sha256: String,
    pub size_bytes: u64,
    pub container: probe::Container,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelUsed {
    /// `identity encoder`, `detector`, `face landmarks` or `claimed person`.
    pub role: String,
    pub name: String,
    #[serde(serialize_with = "crate::fsutil::lossy_path")]
    pub path: PathBuf,
    pub sha256: String,
}

/// A run of consecutive analysed frames.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Span {
    pub start_frame: u64,
    pub end_frame: u64,
    pub start_s: f64,
    pub end_s: f64,
    pub frames: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SheetEntry {
    /// Why this frame is shown.
    pub why: String,
    pub frame: u64,
    pub time_s: f64,
    /// The frame the crop comes from (the nearest kept one; the same as `frame` for
    /// videos under 2,048 face frames).
    pub crop_frame: u64,
    pub sim_reference: Option<f32>,
    pub sim_previous: Option<f32>,
    pub sim_claimed: Option<f32>,
    /// The aligned crop as PNG, base64.
    pub png: String,
}

/// What went into the analysis besides the video.
pub struct Context<'a> {
    pub parameters: serde_json::Value,
    /// The dlib landmark model used.
    pub landmarks: &'a Path,
}

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn spans(r: &Report, status: FaceStatus) -> Vec<Span> {
    let mut out: Vec<Span> = Vec::new();
    let mut prev_idx: Option<usize> = None;
    for (i, f) in r.frames.iter().enumerate() {
        if f.status != status {
            continue;
        }
        match (out.last_mut(), prev_idx) {
            (Some(s), Some(p)) if p + 1 == i => {
                s.end_frame = f.index;
                s.end_s = f.time_s;
                s.frames += 1;
            }
            _ => out.push(Span {
                start_frame: f.index,
                end_frame: f.index,
                start_s: f.time_s,
                end_s: f.time_s,
                frames: 1,
            }),
        }
        prev_idx = Some(i);
    }
    out
}

/// The frames the contact sheet shows: the face frames just before and after each
/// identity change, then the lowest similarities to the reference (and to the claimed
/// person), at least half a second apart.
fn sheet_frames(r: &Report) -> Vec<(usize, String)> {
    let faces: Vec<usize> = (0..r.frames.len())
        .filter(|&i| r.frames[i].face.is_some())
        .collect();
    let mut picks: Vec<(usize, String)> = Vec::new();
    for (k, c) in r.identity_changes.iter().enumerate() {
        let at = faces.partition_point(|&i| r.frames[i].index < c.frame);
        let lo = at.saturating_sub(AROUND_CHANGE);
        let hi = (at + AROUND_CHANGE).min(faces.len());
        for (j, &f) in faces.iter().enumerate().take(hi).skip(lo) {
            let side = if j < at { "before" } else { "after" };
            picks.push((
                f,
                format!("{side} identity change {} at {:.2} s", k + 1, c.time_s),
            ));
        }
    }
    let mut lowest = |key: fn(&crate::report::FrameRecord) -> Option<f32>, what: &str| {
        let mut by: Vec<(usize, f32)> = faces
            .iter()
            .filter_map(|&i| key(&r.frames[i]).map(|s| (i, s)))
            .collect();
        by.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        let mut chosen: Vec<usize> = Vec::new();
        for (i, s) in by {
            if chosen.len() >= LOWEST {
                break;
            }
            let t = r.frames[i].time_s;
            if chosen.iter().any(|&c| (r.frames[c].time_s - t).abs() < 0.5) {
                continue;
            }
            chosen.push(i);
            picks.push((i, format!("low similarity to the {what} ({s:.2})")));
        }
    };
    lowest(|f| f.sim_reference, "reference identity");
    if r.claimed.is_some() {
        lowest(|f| f.sim_claimed, "claimed person");
    }
    picks
}

/// Builds the report from a finished analysis (with its verdict and claimed person,
/// if any) and the thumbnails kept while it ran.
pub fn build(
    report: &Report,
    vectors: &[Option<Vec<f32>>],
    thumbs: &Thumbs,
    ctx: &Context,
) -> Result<ForensicReport> {
    let video = &report.video.path;
    let container = probe::probe(video)?;
    let size_bytes = container.size_bytes;
    let mut models = vec![ModelUsed {
        role: "identity encoder".into(),
        name: report.encoder.name.clone(),
        path: report.encoder.weights.clone(),
        sha256: report.encoder.weights_sha256.clone(),
    }];
    models.push(ModelUsed {
        role: "face landmarks".into(),
        name: "dlib shape_predictor_68_face_landmarks".into(),
        path: ctx.landmarks.to_path_buf(),
        sha256: sha256_file(ctx.landmarks)?,
    });
    if let Some(v) = &report.verdict {
        models.push(ModelUsed {
            role: "detector".into(),
            name: format!(
                "TI2Net ({})",
                v.checkpoint_encoder
                    .as_deref()
                    .unwrap_or("encoder not recorded")
            ),
            path: v.checkpoint.clone(),
            sha256: v.checkpoint_sha256.clone(),
        });
    }
    if let Some(c) = &report.claimed {
        for s in &c.sources {
            models.push(ModelUsed {
                role: "claimed person".into(),
                name: format!("{} of the claimed person", s.kind),
                path: s.path.clone(),
                sha256: s.sha256.clone(),
            });
        }
    }
    let curves = crate::plots::png_bytes(&crate::plots::curves_image(report, video)?)?;
    let vecs: Vec<&Vec<f32>> = vectors.iter().flatten().collect();
    let (matrix_png, matrix_cells, matrix_block) = if vecs.len() >= 2 {
        let (m, cells, per) = crate::identity::block_similarity(&vecs, 512);
        let img = image::imageops::resize(
            &crate::plots::matrix_image(&m, cells),
            512,
            512,
            image::imageops::FilterType::Nearest,
        );
        (Some(b64(&crate::plots::png_bytes(&img)?)), cells, per)
    } else {
        (None, 0, 0)
    };
    let mut contact_sheet = Vec::new();
    for (i, why) in sheet_frames(report) {
        let f = &report.frames[i];
        let Some((crop_frame, img)) = thumbs.nearest(f.index) else {
            continue;
        };
        contact_sheet.push(SheetEntry {
            why,
            frame: f.index,
            time_s: f.time_s,
            crop_frame,
            sim_reference: f.sim_reference,
            sim_previous: f.sim_previous,
            sim_claimed: f.sim_claimed,
            png: b64(&crate::plots::png_bytes(img)?),
        });
    }
    Ok(ForensicReport {
        schema: SCHEMA.into(),
        created_utc: crate::fsutil::utc_now(),
        input: Input {
            path: video.clone(),
            file_name: video
                .file_name()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default(),
            sha256: report.video.sha256.clone(),
            size_bytes,
            container,
        },
        tool: crate::report::ToolInfo::default(),
        models,
        parameters: ctx.parameters.clone(),
        no_face: spans(report, FaceStatus::NoFace),
        several_faces: spans(report, FaceStatus::MultipleFaces),
        subject_lost: spans(report, FaceStatus::SubjectLost),
        contact_sheet,
        curves_png: b64(&curves),
        matrix_png,
        matrix_cells,
        matrix_block,
        limits: limits(report),
        analysis: report.clone(),
    })
}

/// The method's limits, in plain words.
pub fn limits(r: &Report) -> Vec<String> {
    let mut l = vec![
        "TI2Net looks for an identity that is not steady over time within one face track: face swaps (the FaceSwap and DeepFakes families) leak the source's identity unevenly from frame to frame. It does not see manipulations that keep the person's identity steady: reenactment and lip-sync (Face2Face, NeuralTextures, Wav2Lip), a wholly synthetic but consistent face, edits outside the face, or audio.".to_string(),
        "A swap whose identity is perfectly consistent, or a clip with too few face frames, gives no evidence either way; a real video can also vary in identity similarity under strong changes of pose, light, occlusion or compression.".to_string(),
        "Similarities come from a face-recognition network (the identity encoder above); they are lower for small, blurred, profile or occluded faces, which the contact sheet lets you check.".to_string(),
    ];
    match &r.verdict {
        Some(v) => l.push(match &v.detector {
            Some(d) => format!("The verdict comes from the {d}. Its probability is a score, not a calibrated likelihood; the verdict is evidence to weigh, not proof."),
            None => format!(
                "The verdict comes from the checkpoint {} (sha256 {}), whose training data this report does not know. Its probability is a score, not a calibrated likelihood; the verdict is evidence to weigh, not proof.",
                v.checkpoint.display(),
                v.checkpoint_sha256
            ),
        }),
        None => l.push("No detector was used: the report shows the identity curves only, without a verdict.".into()),
    }
    if r.claimed.is_some() {
        l.push(format!(
            "The claimed-person comparison uses thresholds measured on the project's own photos with the MobileFaceNet encoder (same person at or above {:.2}, different people at or below {:.2}); it says whether the face looks like the claimed person, not whether the video is genuine.",
            crate::claimed::SAME_PERSON_MIN,
            crate::claimed::DIFFERENT_PERSON_MAX
        ));
    }
    l
}

impl ForensicReport {
    pub fn json(&self) -> Result<Vec<u8>> {
        serde_json::to_vec_pretty(self)
            .map_err(|e| Error::Other(format!("cannot encode the report: {e}")))
    }

    pub fn html(&self) -> String {
        html::render(self)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_dates() {
        use crate::fsutil::utc_text;
        assert_eq!(utc_text(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_text(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc_text(1_795_770_245), "2026-11-27T09:04:05Z");
    }
}
