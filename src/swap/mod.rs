//! Graphics face swaps (the FaceSwap family of FaceForensics++), to show what the
//! detector is for and to train a demonstration detector on real people.
//!
//! For each target frame: the subject's 68 landmarks (the same detector and tracker as
//! the analysis), the source face from the time-aligned source frame (a shorter source
//! plays back and forth) or a still, a piecewise affine warp of the source face into
//! the target's geometry over a Delaunay triangulation, colour correction to the
//! target's skin, a feathered inner-face mask and blending. Landmarks are smoothed
//! over a few frames on both sides so the face does not jitter more than the real one.
//! Frames without a target face are copied unchanged and counted.

pub mod label;
mod outputs;
pub mod warp;
pub mod writer;

use outputs::check_outputs;
pub use outputs::sidecar_path;

use crate::align::FaceCrops;
use crate::encoder::Encoder;
use crate::error::{Error, Result};
use crate::faces::{FaceAnalyzer, SubjectFinder};
use crate::fsutil::{sha256_file, write_atomic};
use crate::video::{FrameSelection, VideoReader};
use image::RgbImage;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
pub use warp::{BlendParams, FacePatch};

/// Settings of one swap.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SwapOptions {
    /// Part of the target to swap and write (seconds).
    pub start_s: Option<f64>,
    pub end_s: Option<f64>,
    /// Burn "SYNTHETIC" into a corner.
    pub label: bool,
    /// Upsample frames once before face detection (finds smaller faces, slower).
    pub upsample: bool,
    /// Landmarks are averaged over this many frames on each side.
    pub smooth_radius: usize,
    pub blend: BlendParams,
    /// x264 constant rate factor of the output.
    pub crf: u32,
    /// At most this much of a source video is used (then it plays back and forth).
    pub source_max_s: f64,
    /// Cosine similarity between the source's and the target's identity above which
    /// they are said to look like the same person.
    pub same_person_threshold: f32,
}

impl Default for SwapOptions {
    fn default() -> Self {
        Self {
            start_s: None,
            end_s: None,
            label: false,
            upsample: true,
            smooth_radius: 2,
            blend: BlendParams::default(),
            crf: 18,
            source_max_s: 30.0,
            same_person_threshold: 0.5,
        }
    }
}

/// One input of a swap, as recorded in the provenance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SwapInput {
    #[serde(serialize_with = "crate::fsutil::lossy_path")]
    pub path: PathBuf,
    pub sha256: String,
    /// `video` or `image`.
    pub kind: String,
}

/// What a swap made, written beside the video as its provenance (`OUT.swap.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SwapSummary {
    pub schema: String,
    pub tool: crate::report::ToolInfo,
    pub synthetic: bool,
    pub method: String,
    pub source: SwapInput,
    pub target: SwapInput,
    #[serde(serialize_with = "crate::fsutil::lossy_path")]
    pub output: PathBuf,
    pub options: SwapOptions,
    pub width: u32,
    pub height: u32,
    pub fps: f64,
    /// Frames written (the target's frames in the chosen range).
    pub frames: u64,
    /// Frames whose face was replaced.
    pub frames_swapped: u64,
    /// Frames copied unchanged because no target face was found.
    pub frames_without_face: u64,
    /// Source frames with a face that were used (1 for a still).
    pub source_faces: usize,
    /// Identity similarity of the source and target faces (when an encoder was given).
    pub source_target_similarity: Option<f32>,
    pub warnings: Vec<String>,
}

pub const SWAP_SCHEMA: &str = "ti2net.swap/1";

/// The source faces, ready to be warped (loaded once, usable for many swaps).
pub struct SourceFaces {
    input: SwapInput,
    /// One patch per source frame that shows a face (smoothed landmarks).
    patches: Vec<FacePatch>,
    /// For every source frame, the patch to use (the nearest frame with a face).
    frame_patch: Vec<usize>,
    fps: f64,
    /// Crops of the first source face (for the same-person check).
    first_crops: FaceCrops,
}

impl SourceFaces {
    fn at(&self, t: f64) -> &FacePatch {
        let n = self.frame_patch.len();
        if n <= 1 {
            return &self.patches[self.frame_patch.first().copied().unwrap_or(0)];
        }
        let k = (t.max(0.0) * self.fps).round() as usize;
        let period = 2 * (n - 1);
        let m = k % period;
        let i = if m < n { m } else { period - m };
        &self.patches[self.frame_patch[i]]
    }
}

fn is_image(path: &Path) -> bool {
    image::ImageReader::open(path)
        .ok()
        .and_then(|r| r.with_guessed_format().ok())
        .and_then(|r| r.format())
        .is_some()
}

/// Averages landmark sets over `radius` frames on each side, within runs of frames
/// that belong together (`segment`: same shot, no gap).
fn smooth_track(marks: &[Option<SegmentMarks>], radius: usize) -> Vec<Option<Vec<[f32; 2]>>> {
    (0..marks.len())
        .map(|i| {
            let (seg, _) = marks[i].as_ref()?;
            let lo = i.saturating_sub(radius);
            let hi = (i + radius).min(marks.len() - 1);
            let sets: Vec<(&[[f32; 2]], f32)> = (lo..=hi)
                .filter_map(|j| marks[j].as_ref())
                .filter(|(s, _)| s == seg)
                .map(|(_, l)| (l.as_slice(), 1.0))
                .collect();
            Some(warp::mean_landmarks(&sets))
        })
        .collect()
}

const PATCH_MARGIN: f32 = 0.2;

/// A frame's landmarks with the shot segment they belong to.
type SegmentMarks = (usize, Vec<[f32; 2]>);

/// Reads the source's faces: the largest face of a still, or the subject of the first
/// `max_s` seconds of a video with its landmarks smoothed over `radius` frames.
pub fn load_source(
    path: &Path,
    faces: &FaceAnalyzer,
    max_s: f64,
    radius: usize,
    cancel: &AtomicBool,
) -> Result<SourceFaces> {
    if !path.exists() {
        return Err(Error::Missing(path.to_path_buf()));
    }
    let sha256 = sha256_file(path)?;
    let input = |kind: &str| SwapInput {
        path: path.to_path_buf(),
        sha256: sha256.clone(),
        kind: kind.into(),
    };
    if is_image(path) {
        let img = crate::pipeline::load_image(path)?;
        let dets = faces.detect(&img);
        let det = dets
            .iter()
            .max_by(|a, b| a.area().total_cmp(&b.area()))
            .ok_or_else(|| Error::data(path, "no face was found in the source image"))?;
        return Ok(SourceFaces {
            input: input("image"),
            patches: vec![FacePatch::cut(&img, &det.landmarks, PATCH_MARGIN)],
            frame_patch: vec![0],
            fps: 1.0,
            first_crops: FaceCrops::from_detection(&img, det),
        });
    }
    let mut reader = VideoReader::open(
        path,
        FrameSelection {
            every: std::num::NonZeroU32::MIN,
            start_s: None,
            end_s: Some(max_s),
        },
    )?;
    let fps = reader.info().fps;
    let mut finder = SubjectFinder::new(fps, true);
    let mut frames: Vec<Option<(RgbImage, [f32; 2])>> = Vec::new();
    let mut marks: Vec<Option<SegmentMarks>> = Vec::new();
    let mut first_crops = None;
    let mut segment = 0usize;
    while let Some(frame) = reader.next_frame()? {
        if cancel.load(Ordering::Relaxed) {
            return Err(Error::Cancelled);
        }
        let found = finder.next(faces, &frame.image);
        if found.scene_cut || marks.last().is_some_and(|m| m.is_none()) {
            segment += 1;
        }
        match found.subject() {
            Some(det) => {
                if first_crops.is_none() {
                    first_crops = Some(FaceCrops::from_detection(&frame.image, det));
                }
                marks.push(Some((segment, det.landmarks.clone())));
                // Keep only the face region of each source frame.
                let patch = FacePatch::cut(&frame.image, &det.landmarks, PATCH_MARGIN);
                frames.push(Some((patch.image, patch.origin)));
            }
            None => {
                marks.push(None);
                frames.push(None);
            }
        }
    }
    let Some(first_crops) = first_crops else {
        return Err(Error::data(
            path,
            format!(
                "no face was found in the source video (first {} frames)",
                marks.len()
            ),
        ));
    };
    let smoothed = smooth_track(&marks, radius);
    let mut patches = Vec::new();
    let mut patch_of = vec![usize::MAX; frames.len()];
    for (i, (f, lm)) in frames.into_iter().zip(smoothed).enumerate() {
        if let (Some((image, o)), Some(lm)) = (f, lm) {
            patch_of[i] = patches.len();
            patches.push(FacePatch {
                image,
                landmarks: lm.iter().map(|p| [p[0] - o[0], p[1] - o[1]]).collect(),
                origin: o,
            });
        }
    }
    // Frames without a face take the nearest frame that has one.
    let n = patch_of.len();
    let mut frame_patch = vec![0usize; n];
    let mut last: Option<usize> = None;
    let mut fwd = vec![None; n];
    for i in 0..n {
        if patch_of[i] != usize::MAX {
            last = Some(i);
        }
        fwd[i] = last;
    }
    let mut next: Option<usize> = None;
    for i in (0..n).rev() {
        if patch_of[i] != usize::MAX {
            next = Some(i);
        }
        let pick = match (fwd[i], next) {
            (Some(a), Some(b)) => {
                if i - a <= b - i {
                    a
                } else {
                    b
                }
            }
            (Some(a), None) => a,
            (None, Some(b)) => b,
            (None, None) => 0,
        };
        frame_patch[i] = patch_of[pick];
    }
    Ok(SourceFaces {
        input: input("video"),
        patches,
        frame_patch,
        fps,
        first_crops,
    })
}

/// One target frame waiting for its smoothed landmarks.
struct Pending {
    image: RgbImage,
    time_s: f64,
    /// (shot segment, landmarks) of the subject.
    face: Option<(usize, Vec<[f32; 2]>)>,
}

/// Progress of a swap: frames written and frames expected.
pub type SwapProgress<'a> = dyn FnMut(u64, u64) + 'a;

/// Makes `out`, the target video with the source's face, and its provenance sidecar.
/// Nothing is left at `out` on failure or cancel.
#[allow(clippy::too_many_arguments)]
pub fn swap(
    source: &Path,
    target: &Path,
    out: &Path,
    faces: &FaceAnalyzer,
    encoder: Option<&Encoder>,
    opts: &SwapOptions,
    overwrite: bool,
    on_progress: &mut SwapProgress,
    cancel: &AtomicBool,
) -> Result<SwapSummary> {
    check_outputs(out, overwrite, &[source, target])?;
    // Only as much of a source video as the target needs (then it plays back and forth).
    let span = {
        let r = VideoReader::open(target, FrameSelection::default())?;
        let d = r.info().duration_s;
        let t0 = opts.start_s.unwrap_or(0.0).max(0.0);
        (opts.end_s.unwrap_or(d).min(d) - t0).max(0.0)
    };
    let src = load_source(
        source,
        faces,
        opts.source_max_s.min(span.max(1.0) + 1.0),
        opts.smooth_radius,
        cancel,
    )?;
    swap_with(
        &src,
        target,
        out,
        faces,
        encoder,
        opts,
        overwrite,
        on_progress,
        cancel,
    )
}

/// [`swap`] with a source loaded beforehand by [`load_source`].
#[allow(clippy::too_many_arguments)]
pub fn swap_with(
    src: &SourceFaces,
    target: &Path,
    out: &Path,
    faces: &FaceAnalyzer,
    encoder: Option<&Encoder>,
    opts: &SwapOptions,
    overwrite: bool,
    on_progress: &mut SwapProgress,
    cancel: &AtomicBool,
) -> Result<SwapSummary> {
    let sidecar = sidecar_path(out);
    check_outputs(out, overwrite, &[target])?;
    let selection = FrameSelection {
        every: std::num::NonZeroU32::MIN,
        start_s: opts.start_s,
        end_s: opts.end_s,
    };
    let mut reader = VideoReader::open(target, selection)?;
    let info = reader.info().clone();
    let t0 = opts.start_s.unwrap_or(0.0).max(0.0);
    let span = (opts.end_s.unwrap_or(info.duration_s).min(info.duration_s) - t0).max(0.0);
    let total = (span * info.fps).round() as u64;
    let source_sha = src.input.sha256.clone();
    let target_sha = sha256_file(target)?;
    // One triangulation for the whole video, from the source's first face.
    let triangles = warp::triangulate(&src.patches[0].landmarks);

    let comment = format!(
        "SYNTHETIC face swap made by ti2net swap {} (graphics, piecewise affine): source sha256 {source_sha}, target sha256 {target_sha}",
        env!("CARGO_PKG_VERSION")
    );
    let cfg = writer::WriterConfig {
        width: info.width,
        height: info.height,
        fps: info.fps,
        crf: opts.crf,
        audio_from: Some(target),
        audio_start_s: t0,
        audio_end_s: opts.end_s,
        tags: vec![
            ("comment".into(), comment.clone()),
            ("description".into(), comment),
            ("title".into(), "SYNTHETIC face swap (ti2net)".into()),
        ],
    };
    let mut writer = writer::VideoWriter::create(out, &cfg, overwrite)?;

    let mut finder = SubjectFinder::new(info.fps, true);
    let radius = opts.smooth_radius;
    let mut buf: VecDeque<Pending> = VecDeque::new();
    let mut next_out = 0usize;
    let mut segment = 0usize;
    let mut swapped = 0u64;
    let mut without = 0u64;
    let mut similarity: Option<f32> = None;
    let mut warnings = Vec::new();
    let mut checked_identity = encoder.is_none();

    let emit =
        |buf: &mut VecDeque<Pending>, i: usize, writer: &mut writer::VideoWriter| -> Result<bool> {
            let lo = i.saturating_sub(radius);
            let hi = (i + radius).min(buf.len() - 1);
            let smoothed = buf[i].face.as_ref().map(|(seg, _)| {
                let sets: Vec<(&[[f32; 2]], f32)> = (lo..=hi)
                    .filter_map(|j| buf[j].face.as_ref())
                    .filter(|(s, _)| s == seg)
                    .map(|(_, l)| (l.as_slice(), 1.0))
                    .collect();
                warp::mean_landmarks(&sets)
            });
            let item = &mut buf[i];
            let t = item.time_s - t0;
            let mut did = false;
            if let Some(lm) = smoothed {
                let patch = src.at(t);
                did = warp::swap_face(&mut item.image, &lm, patch, &triangles, &opts.blend) > 0.0;
            }
            if opts.label {
                label::burn(&mut item.image);
            }
            writer.push(&item.image, t)?;
            Ok(did)
        };

    while let Some(frame) = reader.next_frame()? {
        if cancel.load(Ordering::Relaxed) {
            return Err(Error::Cancelled);
        }
        let found = finder.next(faces, &frame.image);
        if found.scene_cut || buf.back().is_some_and(|p| p.face.is_none()) {
            segment += 1;
        }
        let face = found.subject().map(|d| (segment, d.landmarks.clone()));
        if !checked_identity {
            if let (Some(enc), Some(d)) = (encoder, found.subject()) {
                let crops = FaceCrops::from_detection(&frame.image, d);
                let v = enc.embed(&[&crops, &src.first_crops])?;
                if v.len() == 2 {
                    let s = crate::identity::cosine(&v[0], &v[1]);
                    similarity = Some(s);
                    if s > opts.same_person_threshold {
                        warnings.push(format!(
                            "the source and the target look like the same person (identity similarity {s:.2}); the swap will show little change"
                        ));
                    }
                }
                checked_identity = true;
            }
        }
        buf.push_back(Pending {
            image: frame.image,
            time_s: frame.time_s,
            face,
        });
        while next_out + radius < buf.len() {
            let had_face = buf[next_out].face.is_some();
            if emit(&mut buf, next_out, &mut writer)? {
                swapped += 1;
            } else if !had_face {
                without += 1;
            }
            next_out += 1;
            on_progress(writer.frames(), total.max(writer.frames()));
        }
        while next_out > radius {
            buf.pop_front();
            next_out -= 1;
        }
    }
    while next_out < buf.len() {
        let had_face = buf[next_out].face.is_some();
        if emit(&mut buf, next_out, &mut writer)? {
            swapped += 1;
        } else if !had_face {
            without += 1;
        }
        next_out += 1;
        on_progress(writer.frames(), total.max(writer.frames()));
    }
    let frames = writer.frames();
    if frames == 0 {
        return Err(Error::data(
            target,
            "no frame could be decoded in the chosen range; nothing was written",
        ));
    }
    if swapped == 0 {
        return Err(Error::data(
            target,
            format!("no face was found in any of the {frames} target frames; nothing was written"),
        ));
    }
    if without > 0 {
        warnings.push(format!(
            "{without} of {frames} target frames had no face and were copied unchanged"
        ));
    }
    writer.finish(overwrite)?;
    let summary = SwapSummary {
        schema: SWAP_SCHEMA.into(),
        tool: crate::report::ToolInfo::default(),
        synthetic: true,
        method: "graphics face swap: 68 dlib landmarks, Delaunay triangulation, piecewise affine warp, colour transfer over a feathered jaw-and-brows mask, alpha blending; time-aligned source frames (back and forth)".into(),
        source: src.input.clone(),
        target: SwapInput {
            path: target.to_path_buf(),
            sha256: target_sha,
            kind: "video".into(),
        },
        output: out.to_path_buf(),
        options: *opts,
        width: info.width,
        height: info.height,
        fps: info.fps,
        frames,
        frames_swapped: swapped,
        frames_without_face: without,
        source_faces: src.patches.len(),
        source_target_similarity: similarity,
        warnings,
    };
    let json = serde_json::to_vec_pretty(&summary)
        .map_err(|e| Error::Other(format!("cannot serialise the swap summary: {e}")))?;
    write_atomic(&sidecar, &json, overwrite)?;
    Ok(summary)
}

/// The target's frame at `t` seconds before and after the swap (the largest face gets
/// the source's first face), for a preview.
pub fn preview(
    src: &SourceFaces,
    target: &Path,
    t: f64,
    faces: &FaceAnalyzer,
    blend: &BlendParams,
) -> Result<(RgbImage, RgbImage)> {
    let mut reader = VideoReader::open(
        target,
        FrameSelection {
            every: std::num::NonZeroU32::MIN,
            start_s: Some(t.max(0.0)),
            end_s: None,
        },
    )?;
    let frame = reader
        .next_frame()?
        .ok_or_else(|| Error::data(target, format!("no frame at {t:.2} s")))?;
    let before = frame.image;
    let dets = faces.detect(&before);
    let det = dets
        .iter()
        .max_by(|a, b| a.area().total_cmp(&b.area()))
        .ok_or_else(|| Error::data(target, format!("no face in the frame at {t:.2} s")))?;
    let mut after = before.clone();
    let triangles = warp::triangulate(&src.patches[0].landmarks);
    warp::swap_face(&mut after, &det.landmarks, src.at(0.0), &triangles, blend);
    Ok((before, after))
}

impl SourceFaces {
    /// Where the source came from.
    pub fn input(&self) -> &SwapInput {
        &self.input
    }
}
