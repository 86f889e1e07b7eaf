//! Suspects proposed from an analysis: long stretches with no face, the subject
//! lost, several faces throughout, identity changes (in a video that should be one
//! person), low similarity to the reference identity, and videos that cannot be read.
//! Each is a table entry with status `suggested`.

use super::dataset::DatasetVideo;
use super::table::{utc_now, Entry, Frames, Label, Reason, Status};
use crate::faces::FaceStatus;
use crate::report::{FrameRecord, Report};

/// Thresholds of the suggestions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SuggestParams {
    /// Shortest stretch worth a suggestion (seconds).
    pub min_stretch_s: f64,
    /// Similarity to the reference under which a frame counts as far from it.
    pub low_similarity: f32,
    /// Share of frames with several faces that flags the whole video.
    pub several_faces_share: f64,
}

impl Default for SuggestParams {
    fn default() -> Self {
        Self {
            min_stretch_s: 1.0,
            low_similarity: 0.3,
            several_faces_share: 0.5,
        }
    }
}

/// The annotator name of suggestions.
pub const SUGGESTER: &str = "ti2net";

/// Stretches of consecutive frames where `pred` holds and that last at least `min_s`:
/// (first, last) positions in `frames`.
fn stretches(
    frames: &[FrameRecord],
    min_s: f64,
    pred: impl Fn(&FrameRecord) -> bool,
) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let step = frame_step(frames);
    for i in 0..=frames.len() {
        let on = i < frames.len() && pred(&frames[i]);
        match (on, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                if frames[i - 1].time_s - frames[s].time_s + step >= min_s {
                    out.push((s, i - 1));
                }
                start = None;
            }
            _ => {}
        }
    }
    out
}

/// Seconds between two analysed frames.
fn frame_step(frames: &[FrameRecord]) -> f64 {
    if frames.len() < 2 {
        return 0.0;
    }
    (frames[frames.len() - 1].time_s - frames[0].time_s) / (frames.len() - 1) as f64
}

fn entry(
    dataset: &str,
    v: &DatasetVideo,
    frames: Option<Frames>,
    reason: Reason,
    note: String,
) -> Entry {
    Entry {
        dataset: dataset.into(),
        video: v.rel.clone(),
        label: v.label,
        frames,
        reason,
        status: Status::Suggested,
        note,
        annotator: SUGGESTER.into(),
        time: utc_now(),
    }
}

/// The suspects of one analysed video.
pub fn from_report(dataset: &str, v: &DatasetVideo, r: &Report, p: &SuggestParams) -> Vec<Entry> {
    let mut out = Vec::new();
    let f = &r.frames;
    if f.is_empty() {
        out.push(entry(
            dataset,
            v,
            None,
            Reason::Corrupt,
            "no frame could be decoded".into(),
        ));
        return out;
    }
    let whole = |a: usize, b: usize| a == 0 && b + 1 == f.len();
    let range = |a: usize, b: usize| (!whole(a, b)).then(|| Frames::new(f[a].index, f[b].index));
    let secs = |a: usize, b: usize| f[b].time_s - f[a].time_s + frame_step(f);
    for (a, b) in stretches(f, p.min_stretch_s, |x| x.status == FaceStatus::NoFace) {
        out.push(entry(
            dataset,
            v,
            range(a, b),
            Reason::NoFace,
            format!("no face for {:.1} s", secs(a, b)),
        ));
    }
    for (a, b) in stretches(f, p.min_stretch_s, |x| x.status == FaceStatus::SubjectLost) {
        out.push(entry(
            dataset,
            v,
            range(a, b),
            Reason::WrongPerson,
            format!(
                "the subject lost for {:.1} s (other faces in view)",
                secs(a, b)
            ),
        ));
    }
    let several = f.iter().filter(|x| x.faces > 1).count();
    if several as f64 >= p.several_faces_share * f.len() as f64 {
        out.push(entry(
            dataset,
            v,
            None,
            Reason::SeveralFaces,
            format!("several faces in {several} of {} frames", f.len()),
        ));
    }
    // An identity change is what a swap may show; in a real (or unlabelled) video it
    // means another person or a mislabelled fake.
    // Stretches after an identity change (positions in `f`).
    let mut changed: Vec<(usize, usize)> = Vec::new();
    if v.label != Label::Fake {
        for c in &r.identity_changes {
            let pos = f
                .iter()
                .position(|x| x.index >= c.frame)
                .unwrap_or(f.len() - 1);
            // Up to the frame before the next scene cut.
            let end = f[pos + 1..]
                .iter()
                .position(|x| x.scene_cut)
                .map(|k| pos + k)
                .unwrap_or(f.len() - 1);
            changed.push((pos, end));
            out.push(entry(
                dataset,
                v,
                range(pos, end),
                Reason::IdentityChange,
                format!(
                    "identity change at {:.1} s (score {:.2})",
                    c.time_s, c.score
                ),
            ));
        }
    }
    for (a, b) in stretches(f, p.min_stretch_s, |x| {
        x.sim_reference.is_some_and(|s| s < p.low_similarity)
    }) {
        // Far from the reference because another identity took over: said above.
        if changed.iter().any(|&(s, e)| a >= s && b <= e) {
            continue;
        }
        out.push(entry(
            dataset,
            v,
            range(a, b),
            Reason::BadCrops,
            format!(
                "similarity to the reference identity under {:.2} for {:.1} s",
                p.low_similarity,
                secs(a, b)
            ),
        ));
    }
    if let Some(w) = r
        .warnings
        .iter()
        .find(|w| w.starts_with("the video seems truncated"))
    {
        out.push(entry(dataset, v, None, Reason::Corrupt, w.clone()));
    }
    out
}

/// The suggestion for a video the pipeline could not read.
pub fn unreadable(dataset: &str, v: &DatasetVideo, error: &str) -> Entry {
    entry(dataset, v, None, Reason::Corrupt, error.to_string())
}
