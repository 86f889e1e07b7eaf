//! The claimed person: the identity of the person a video claims to show, from genuine
//! photos or videos of them (`--reference`), and how the video's subject compares
//! with it frame by frame (`sim_claimed`). This is the person-of-interest approach
//! (POI-Forensics, Cozzolino et al.), next to TI2Net's reference-free one.
//!
//! The thresholds are measured on the project's own photos and corpus videos with the
//! default encoder (MobileFaceNet): same-person pairs of photos score 0.68 to 0.99,
//! different-person pairs -0.12 to 0.23 (`tests/claimed.rs` measures them again and
//! fails if they no longer hold). Between the two thresholds the comparison is
//! inconclusive.

use crate::encoder::Encoder;
use crate::error::{Error, Result};
use crate::faces::FaceAnalyzer;
use crate::fsutil::sha256_file;
use crate::identity;
use crate::pipeline::{self, AnalyzeOptions};
use crate::report::Report;
pub use crate::report::{ClaimedSource as Source, Comparison};
use crate::video::{is_video, FrameSelection};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

/// A median similarity to the claimed person at or above this: the subject is
/// consistent with the claimed person.
pub const SAME_PERSON_MIN: f32 = 0.5;
/// At or below this: the subject is not the claimed person.
pub const DIFFERENT_PERSON_MAX: f32 = 0.3;

/// Analysed frames per second of a reference video.
const REFERENCE_VIDEO_FPS: f64 = 5.0;

/// The claimed person's identity.
#[derive(Debug, Clone)]
pub struct Claimed {
    /// Unit identity vector: the mean of the sources' unit identities.
    pub vector: Vec<f32>,
    pub sources: Vec<Source>,
}

/// The claimed person's identity from photos (the largest face of each) and videos
/// (the mean identity of the subject's longest stretch, a few frames a second).
/// A source without a face is an error naming it.
pub fn build(
    paths: &[PathBuf],
    encoder: &Encoder,
    faces: &FaceAnalyzer,
    cancel: &AtomicBool,
) -> Result<Claimed> {
    if paths.is_empty() {
        return Err(Error::Other(
            "no photo or video of the claimed person was given".into(),
        ));
    }
    let mut ids: Vec<Vec<f32>> = Vec::new();
    let mut sources = Vec::new();
    for path in paths {
        let (id, kind, n) = if is_video(path) {
            let (id, n) = video_identity(path, encoder, faces, cancel)?;
            (id, "video", n)
        } else {
            let e = pipeline::embed_images(
                std::slice::from_ref(path),
                encoder,
                Some(faces),
                &mut |_, _| Ok(()),
            )?;
            let v = e.into_iter().next().and_then(|e| e.vector).ok_or_else(|| {
                Error::Other(format!(
                    "{}: no face was found in this photo of the claimed person",
                    path.display()
                ))
            })?;
            (identity::unit(&v), "photo", 1)
        };
        ids.push(id);
        sources.push(Source {
            path: path.clone(),
            sha256: sha256_file(path)?,
            kind: kind.into(),
            faces: n,
            agreement: None,
        });
    }
    if ids.len() > 1 {
        for (k, s) in sources.iter_mut().enumerate() {
            let others: Vec<&Vec<f32>> = ids
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != k)
                .map(|(_, v)| v)
                .collect();
            s.agreement = Some(identity::cosine(&ids[k], &mean_unit(&others)));
        }
    }
    Ok(Claimed {
        vector: mean_unit(&ids),
        sources,
    })
}

fn mean_unit<V: AsRef<[f32]>>(vs: &[V]) -> Vec<f32> {
    let dim = vs.first().map(|v| v.as_ref().len()).unwrap_or(0);
    let mut m = vec![0f32; dim];
    for v in vs {
        for (a, b) in m.iter_mut().zip(v.as_ref()) {
            *a += b;
        }
    }
    identity::unit(&m)
}

fn video_identity(
    path: &Path,
    encoder: &Encoder,
    faces: &FaceAnalyzer,
    cancel: &AtomicBool,
) -> Result<(Vec<f32>, usize)> {
    let fps = crate::video::VideoReader::open(path, FrameSelection::default())?
        .info()
        .fps;
    let every = std::num::NonZeroU32::new((fps / REFERENCE_VIDEO_FPS).round() as u32)
        .unwrap_or(std::num::NonZeroU32::MIN);
    let opts = AnalyzeOptions {
        selection: FrameSelection {
            every,
            ..Default::default()
        },
        ..Default::default()
    };
    let a = pipeline::analyze(
        path,
        encoder,
        faces,
        &opts,
        &mut |_| {},
        &mut |_, _| Ok(()),
        cancel,
    )?;
    let (frames, _, _) = a.face_track();
    let vecs = a.face_vectors();
    let changes: Vec<u64> = a.report.identity_changes.iter().map(|c| c.frame).collect();
    let (id, lo, hi) = identity::stretch_reference(&vecs, &frames, &changes).ok_or_else(|| {
        Error::Other(format!(
            "{}: no face was found in this video of the claimed person",
            path.display()
        ))
    })?;
    Ok((id, hi - lo))
}

/// Fills every face frame's `sim_claimed` and the report's `claimed` section.
/// `vectors[i]` is frame i's identity (as `Analysis::vectors`).
pub fn compare(report: &mut Report, vectors: &[Option<Vec<f32>>], claimed: &Claimed) {
    let mut sims = Vec::new();
    for (f, v) in report.frames.iter_mut().zip(vectors) {
        f.sim_claimed = v.as_ref().map(|v| identity::cosine(v, &claimed.vector));
        sims.extend(f.sim_claimed);
    }
    report.claimed = Some(summarise(&sims, claimed.sources.clone()));
}

fn percentile(sorted: &[f32], q: f64) -> Option<f32> {
    if sorted.is_empty() {
        return None;
    }
    let k = ((sorted.len() - 1) as f64 * q).round() as usize;
    Some(sorted[k.min(sorted.len() - 1)])
}

/// The comparison from the face frames' similarities to the claimed person.
pub fn summarise(sims: &[f32], sources: Vec<Source>) -> Comparison {
    let mut sorted: Vec<f32> = sims.iter().copied().filter(|s| s.is_finite()).collect();
    sorted.sort_by(f32::total_cmp);
    let median = percentile(&sorted, 0.5);
    let n = sorted.len();
    let (conclusion, statement) = match median {
        None => (
            "no face",
            "the video has no face frame to compare with the claimed person".to_string(),
        ),
        Some(m) if m >= SAME_PERSON_MIN => ("consistent", format!(
            "the subject is consistent with the claimed person: median similarity {m:.2}, at or above {SAME_PERSON_MIN:.2}, the lowest same-person similarity threshold"
        )),
        Some(m) if m <= DIFFERENT_PERSON_MAX => ("different", format!(
            "the subject is not the claimed person: median similarity {m:.2}, at or below {DIFFERENT_PERSON_MAX:.2}, where different people score"
        )),
        Some(m) => ("inconclusive", format!(
            "inconclusive: median similarity {m:.2} lies between the different-person ({DIFFERENT_PERSON_MAX:.2}) and same-person ({SAME_PERSON_MIN:.2}) thresholds"
        )),
    };
    Comparison {
        sources,
        face_frames: n,
        median,
        mean: (n > 0).then(|| sorted.iter().sum::<f32>() / n as f32),
        p10: percentile(&sorted, 0.1),
        share_same: (n > 0)
            .then(|| sorted.iter().filter(|&&s| s >= SAME_PERSON_MIN).count() as f32 / n as f32),
        same_person_min: SAME_PERSON_MIN,
        different_person_max: DIFFERENT_PERSON_MAX,
        conclusion: conclusion.into(),
        statement,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conclusions_follow_the_thresholds() {
        assert_eq!(summarise(&[0.7, 0.8, 0.2], vec![]).conclusion, "consistent");
        assert_eq!(summarise(&[0.1, 0.2, 0.9], vec![]).conclusion, "different");
        assert_eq!(
            summarise(&[0.4, 0.4, 0.4], vec![]).conclusion,
            "inconclusive"
        );
        assert_eq!(summarise(&[], vec![]).conclusion, "no face");
        let c = summarise(&[0.1, 0.6, 0.7, 0.9], vec![]);
        assert_eq!(c.share_same, Some(0.75));
        assert_eq!(c.p10, Some(0.1));
    }
}
