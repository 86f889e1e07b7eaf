//! The identity pipeline, end to end: video -> frames -> faces -> crops -> identity
//! vectors -> similarity curves and identity changes -> report.
//!
//! Three stages run at once, linked by bounded channels: decoding on one thread,
//! scene cuts, face search, landmarks and alignment on the calling thread, and the
//! encoder embedding batches of crops on a third. Memory does not grow with the
//! length of the video beyond the per-frame records and identity vectors: at most a
//! few decoded frames and batches of crops are alive at a time. Progress goes to a
//! callback; a cancel flag is checked between frames.

use crate::align::FaceCrops;
use crate::encoder::Encoder;
use crate::error::{Error, Result};
use crate::faces::{FaceAnalyzer, FaceSearch, FaceStatus, SubjectTracker};
use crate::identity::{self, ChangeParams};
use crate::report::*;
use crate::video::{FrameSelection, VideoReader};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Instant;

/// Settings of one analysis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnalyzeOptions {
    pub selection: FrameSelection,
    pub upsample: bool,
    pub change: ChangeParams,
    /// Faces embedded per batch.
    pub batch: usize,
    /// Search faces in a region around the tracked subject (the whole frame on cuts,
    /// when the subject is lost and every [`FULL_SEARCH_S`]); false: always the whole
    /// frame (`--full-frame-detection`).
    pub roi: bool,
}

pub use crate::faces::FULL_SEARCH_S;

/// Decoded frames waiting for the detection stage at most.
const DECODED_QUEUE: usize = 4;

impl Default for AnalyzeOptions {
    fn default() -> Self {
        Self {
            selection: FrameSelection::default(),
            upsample: true,
            change: ChangeParams::default(),
            batch: 16,
            roi: true,
        }
    }
}

/// What the pipeline is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Hashing,
    Frames,
    Similarity,
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    pub stage: Stage,
    /// Frames analysed so far.
    pub done: u64,
    /// Frames expected (an estimate from the container).
    pub total: u64,
}

/// The result: the report plus the per-frame vectors (same order as `report.frames`).
pub struct Analysis {
    pub report: Report,
    pub vectors: Vec<Option<Vec<f32>>>,
    /// How the frames were searched and where the time went.
    pub stats: PipelineStats,
}

/// Counters and stage times of one analysis.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct PipelineStats {
    /// Whole-frame face searches.
    pub full_searches: u64,
    /// Region searches around the tracked subject (including those followed by a
    /// whole-frame search because the region held no face continuing the track).
    pub region_searches: u64,
    /// Frames where the subject was followed by its landmarks, without the detector.
    pub tracked: u64,
    /// Seconds spent decoding (on the decoding thread).
    pub decode_s: f64,
    /// Seconds spent on scene cuts, face search, landmarks and alignment.
    pub detect_s: f64,
    /// Seconds spent embedding (on the embedding thread).
    pub embed_s: f64,
    /// Wall-clock seconds of the whole analysis.
    pub total_s: f64,
}

impl Analysis {
    /// Identity vectors of the subject's face frames, in time order.
    pub fn face_vectors(&self) -> Vec<&Vec<f32>> {
        self.vectors.iter().flatten().collect()
    }

    /// The subject's face frames: (video frame indices, times, vectors row-major n x 1024).
    pub fn face_track(&self) -> (Vec<u64>, Vec<f64>, Vec<f32>) {
        let mut frames = Vec::new();
        let mut times = Vec::new();
        let mut flat = Vec::new();
        for (f, v) in self.report.frames.iter().zip(&self.vectors) {
            if let Some(v) = v {
                frames.push(f.index);
                times.push(f.time_s);
                flat.extend_from_slice(v);
            }
        }
        (frames, times, flat)
    }

    /// Runs TI2Net on the subject track and stores the verdict in the report.
    pub fn add_verdict(
        &mut self,
        det: &crate::classifier::Detector,
        stride: usize,
        threshold: f32,
    ) -> Result<()> {
        det.checkpoint
            .check_encoder(&det.path, &self.report.encoder.name)?;
        let (frames, times, flat) = self.face_track();
        self.report.verdict = Some(crate::classifier::verdict(
            det, &flat, &frames, &times, stride, threshold,
        )?);
        Ok(())
    }

    /// True when the decoder stopped well before the frames the container announces.
    pub fn truncated(&self) -> bool {
        self.report
            .warnings
            .iter()
            .any(|w| w.starts_with("the video seems truncated"))
    }
}

type Batch = Vec<(usize, FaceCrops)>;

/// Receives each analysed frame with the subject's crops (if any) as the pipeline goes.
pub type FrameSink<'a> = dyn FnMut(&crate::video::Frame, Option<&FaceCrops>) -> Result<()> + 'a;

/// Receives identity vectors as they are computed: (analysed-frame position, video
/// frame index, time, vector), in time order, a batch behind the frames.
pub type VectorSink<'a> = dyn FnMut(usize, u64, f64, &[f32]) + 'a;

/// Analyses one video. `on_frame` receives each analysed frame and the subject's crops.
pub fn analyze(
    video: &Path,
    encoder: &Encoder,
    faces: &FaceAnalyzer,
    opts: &AnalyzeOptions,
    on_progress: &mut dyn FnMut(Progress),
    on_frame: &mut FrameSink,
    cancel: &AtomicBool,
) -> Result<Analysis> {
    analyze_live(
        video,
        encoder,
        faces,
        opts,
        on_progress,
        on_frame,
        None,
        cancel,
    )
}

/// [`analyze`], also handing each identity vector to `on_vector` as soon as it is
/// computed (the workbench draws the curves while the analysis runs).
#[allow(clippy::too_many_arguments)]
pub fn analyze_live(
    video: &Path,
    encoder: &Encoder,
    faces: &FaceAnalyzer,
    opts: &AnalyzeOptions,
    on_progress: &mut dyn FnMut(Progress),
    on_frame: &mut FrameSink,
    mut on_vector: Option<&mut VectorSink>,
    cancel: &AtomicBool,
) -> Result<Analysis> {
    let started = Instant::now();
    let reader = VideoReader::open(video, opts.selection)?;
    on_progress(Progress {
        stage: Stage::Hashing,
        done: 0,
        total: 0,
    });
    let sha256 = crate::fsutil::sha256_file_cancellable(video, cancel)?;
    let info = reader.info().clone();
    let sel = opts.selection;
    let span = match (sel.start_s, sel.end_s) {
        (None, None) => info.duration_s,
        (s, e) => e.unwrap_or(info.duration_s).min(info.duration_s) - s.unwrap_or(0.0),
    };
    let total = if info.duration_s > 0.0 {
        ((span.max(0.0) / info.duration_s) * info.frame_count as f64 / f64::from(sel.every.get()))
            .ceil() as u64
    } else {
        0
    };
    let analysed_fps = info.fps / f64::from(sel.every.get());
    let mut tracker = SubjectTracker::new((0.5 * analysed_fps).ceil() as u32);
    let mut search = FaceSearch::new(opts.roi, (FULL_SEARCH_S * analysed_fps).ceil() as u32);
    let mut records: Vec<FrameRecord> = Vec::new();
    let batch_size = opts.batch.max(1);
    let mut stats = PipelineStats::default();

    type Embedded = (Vec<(usize, Vec<f32>)>, f64);
    type Decoded = (VideoReader, f64);
    let stop = AtomicBool::new(false);
    let stop = &stop;
    let (embedded, reader) = std::thread::scope(|scope| -> Result<(Embedded, VideoReader)> {
        // Decoding: its own thread, a few frames ahead.
        let (ftx, frx) = mpsc::sync_channel::<Result<crate::video::Frame>>(DECODED_QUEUE);
        let decoder = std::thread::Builder::new()
            .name("ti2net-decode".into())
            .spawn_scoped(scope, move || -> Decoded {
                let mut reader = reader;
                let mut busy = 0.0;
                loop {
                    if stop.load(Ordering::Relaxed) || cancel.load(Ordering::Relaxed) {
                        break;
                    }
                    let t = Instant::now();
                    let next = reader.next_frame();
                    busy += t.elapsed().as_secs_f64();
                    let end = !matches!(next, Ok(Some(_)));
                    if let Some(item) = next.transpose() {
                        if ftx.send(item).is_err() {
                            break;
                        }
                    }
                    if end {
                        break;
                    }
                }
                (reader, busy)
            })
            .map_err(|e| Error::Other(format!("cannot start the decoding thread: {e}")))?;

        // Embedding: its own thread, batches of crops. With a vector sink, each
        // batch's vectors also come back at once through `live`.
        let (tx, rx) = mpsc::sync_channel::<Batch>(2);
        let (live_tx, live_rx) = mpsc::channel::<Vec<(usize, Vec<f32>)>>();
        let live_tx = on_vector.is_some().then_some(live_tx);
        let worker = std::thread::Builder::new()
            .name("ti2net-embed".into())
            .spawn_scoped(scope, move || -> Result<Embedded> {
                let mut out = Vec::new();
                let mut busy = 0.0;
                for batch in rx {
                    let t = Instant::now();
                    let crops: Vec<&FaceCrops> = batch.iter().map(|(_, c)| c).collect();
                    let vecs = encoder.embed(&crops)?;
                    let done: Vec<(usize, Vec<f32>)> =
                        batch.iter().map(|(i, _)| *i).zip(vecs).collect();
                    if let Some(l) = &live_tx {
                        let _ = l.send(done.clone());
                    }
                    out.extend(done);
                    busy += t.elapsed().as_secs_f64();
                }
                Ok((out, busy))
            })
            .map_err(|e| Error::Other(format!("cannot start the embedding thread: {e}")))?;

        let mut pending: Batch = Vec::new();
        let mut deliver = |records: &[FrameRecord], block: bool| {
            if let Some(sink) = on_vector.as_mut() {
                let mut take = |batch: Vec<(usize, Vec<f32>)>| {
                    for (i, v) in batch {
                        if let Some(r) = records.get(i) {
                            sink(i, r.index, r.time_s, &v);
                        }
                    }
                };
                if block {
                    for b in live_rx.iter() {
                        take(b);
                    }
                } else {
                    for b in live_rx.try_iter() {
                        take(b);
                    }
                }
            }
        };
        let mut frame_loop = || -> Result<()> {
            for frame in frx.iter() {
                deliver(&records, false);
                let frame = frame?;
                if cancel.load(Ordering::Relaxed) {
                    return Err(Error::Cancelled);
                }
                let t = Instant::now();
                let cut = tracker.scene_cut(&frame.image);
                let found = search.find(faces, &frame.image, &tracker, cut);
                let (chosen, mut status) = tracker.update(&found.dets, cut);
                search.chosen(&found, chosen);
                if status == FaceStatus::Ok && !found.carried.is_empty() {
                    status = FaceStatus::MultipleFaces;
                }
                let subject = chosen.map(|i| &found.dets[i]);
                let idx = records.len();
                let crops = subject.map(|d| FaceCrops::from_detection(&frame.image, d));
                stats.detect_s += t.elapsed().as_secs_f64();
                on_frame(&frame, crops.as_ref())?;
                if let Some(crops) = crops {
                    pending.push((idx, crops));
                }
                records.push(FrameRecord {
                    index: frame.index,
                    time_s: frame.time_s,
                    faces: found.count(),
                    status,
                    scene_cut: cut,
                    face: subject.map(SubjectFace::from),
                    others: found
                        .dets
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| Some(*i) != chosen)
                        .map(|(_, d)| d.bbox)
                        .chain(found.carried.iter().copied())
                        .collect(),
                    sim_reference: None,
                    sim_previous: None,
                    sim_window: None,
                    sim_claimed: None,
                });
                if pending.len() >= batch_size && tx.send(std::mem::take(&mut pending)).is_err() {
                    break; // the worker failed; its error is collected below
                }
                on_progress(Progress {
                    stage: Stage::Frames,
                    done: records.len() as u64,
                    total: total.max(records.len() as u64),
                });
            }
            if cancel.load(Ordering::Relaxed) {
                return Err(Error::Cancelled); // the decoder may have stopped first
            }
            if !pending.is_empty() {
                let _ = tx.send(std::mem::take(&mut pending));
            }
            Ok(())
        };
        let looped = frame_loop();
        // Stop the decoder (it may be blocked on a full queue: drain it).
        stop.store(true, Ordering::Relaxed);
        drop(frx);
        drop(tx);
        if looped.is_ok() {
            // The last batches' vectors (the embedding thread ends when `tx` is gone).
            deliver(&records, true);
        }
        let decoded = decoder
            .join()
            .map_err(|_| Error::Other("the decoding thread stopped unexpectedly".into()))?;
        let embedded = worker
            .join()
            .map_err(|_| Error::Other("the embedding thread stopped unexpectedly".into()))?;
        looped?;
        let embedded = embedded?;
        stats.decode_s = decoded.1;
        Ok((embedded, decoded.0))
    })?;
    let (embedded, embed_s) = embedded;
    stats.embed_s = embed_s;
    stats.full_searches = search.full_searches;
    stats.region_searches = search.region_searches;
    stats.tracked = search.tracked;

    on_progress(Progress {
        stage: Stage::Similarity,
        done: records.len() as u64,
        total: records.len() as u64,
    });
    let mut vectors: Vec<Option<Vec<f32>>> = vec![None; records.len()];
    for (i, v) in embedded {
        vectors[i] = Some(v);
    }
    let report = build_report(&info, sha256, &reader, encoder, opts, records, &vectors);
    on_progress(Progress {
        stage: Stage::Done,
        done: report.frames.len() as u64,
        total: report.frames.len() as u64,
    });
    stats.total_s = started.elapsed().as_secs_f64();
    Ok(Analysis {
        report,
        vectors,
        stats,
    })
}

fn build_report(
    info: &crate::video::VideoInfo,
    sha256: String,
    reader: &VideoReader,
    encoder: &Encoder,
    opts: &AnalyzeOptions,
    mut frames: Vec<FrameRecord>,
    vectors: &[Option<Vec<f32>>],
) -> Report {
    let face_idx: Vec<usize> = (0..frames.len())
        .filter(|&i| vectors[i].is_some())
        .collect();
    // References to the vectors, not copies: memory stays one set of vectors.
    let face_vecs: Vec<&[f32]> = face_idx
        .iter()
        .filter_map(|&i| vectors[i].as_deref())
        .collect();
    let times: Vec<f64> = face_idx.iter().map(|&i| frames[i].time_s).collect();
    let frame_ids: Vec<u64> = face_idx.iter().map(|&i| frames[i].index).collect();
    for i in 1..frames.len() {
        if let (Some(a), Some(b)) = (&vectors[i - 1], &vectors[i]) {
            frames[i].sim_previous = Some(identity::cosine(a, b));
        }
    }
    let window = identity::window_similarity(&times, &face_vecs, &opts.change);
    for (&i, w) in face_idx.iter().zip(&window) {
        frames[i].sim_window = *w;
    }
    let identity_changes = identity::identity_changes(&frame_ids, &times, &window, &opts.change);
    let change_frames: Vec<u64> = identity_changes.iter().map(|c| c.frame).collect();
    let mut reference = None;
    if let Some((r, lo, hi)) = identity::stretch_reference(&face_vecs, &frame_ids, &change_frames) {
        for (&i, v) in face_idx.iter().zip(&face_vecs) {
            frames[i].sim_reference = Some(identity::cosine(v, &r));
        }
        reference = Some(identity::ReferenceStretch {
            start_frame: frame_ids[lo],
            end_frame: frame_ids[hi - 1],
            start_s: times[lo],
            end_s: times[hi - 1],
            face_frames: hi - lo,
            method: if change_frames.is_empty() {
                "mean identity of the whole subject track (no identity change)".into()
            } else {
                "mean identity of the longest stretch between identity changes".into()
            },
        });
    }

    let sims: Vec<f32> = frames.iter().filter_map(|f| f.sim_reference).collect();
    let count = |s: FaceStatus| frames.iter().filter(|f| f.status == s).count();
    let summary = Summary {
        frames_analysed: frames.len(),
        frames_with_face: face_idx.len(),
        frames_multiple_faces: count(FaceStatus::MultipleFaces),
        frames_subject_lost: count(FaceStatus::SubjectLost),
        mean_sim_reference: if sims.is_empty() {
            None
        } else {
            Some(sims.iter().sum::<f32>() / sims.len() as f32)
        },
        min_sim_reference: sims.iter().copied().reduce(f32::min),
        identity_changes: identity_changes.len(),
    };
    let mut warnings = Vec::new();
    if frames.is_empty() {
        warnings.push("no frame could be decoded".to_string());
    } else if face_idx.is_empty() {
        warnings.push(format!(
            "no face was found in any of the {} analysed frames",
            frames.len()
        ));
    }
    let decoded = reader.frames_decoded();
    let whole = opts.selection.end_s.is_none();
    if whole && info.frame_count > 10 && (decoded as f64) < 0.9 * info.frame_count as f64 {
        warnings.push(format!(
            "the video seems truncated: {decoded} of the {} frames the container announces could be decoded",
            info.frame_count
        ));
    }
    if reader.damaged_packets > 0 {
        warnings.push(format!(
            "{} damaged packets were skipped while decoding",
            reader.damaged_packets
        ));
    }
    Report {
        schema: SCHEMA_VERSION.to_string(),
        tool: ToolInfo::default(),
        video: VideoSection {
            path: info.path.clone(),
            sha256,
            fps: info.fps,
            frame_count: info.frame_count,
            frames_decoded: decoded,
            width: info.width,
            height: info.height,
            duration_s: info.duration_s,
            rotation: info.rotation,
            codec: info.codec.clone(),
        },
        encoder: EncoderSection {
            name: encoder.kind().name().to_string(),
            weights: encoder.weights_path().to_path_buf(),
            weights_sha256: encoder.weights_sha256().to_string(),
        },
        settings: Settings {
            every: opts.selection.every.get(),
            start_s: opts.selection.start_s,
            end_s: opts.selection.end_s,
            upsample: opts.upsample,
            change: opts.change,
        },
        frames,
        identity_changes,
        reference,
        summary,
        verdict: None,
        claimed: None,
        warnings,
    }
}

/// Reads a still image (format from its content), as RGB.
pub fn load_image(path: &Path) -> Result<image::RgbImage> {
    if !path.exists() {
        return Err(Error::Missing(path.to_path_buf()));
    }
    let not_image = |reason: String| Error::NotImage {
        path: path.to_path_buf(),
        reason,
    };
    let reader = image::ImageReader::open(path)
        .map_err(|e| Error::io(path, e))?
        .with_guessed_format()
        .map_err(|e| Error::io(path, e))?;
    if reader.format().is_none() {
        return Err(not_image("unknown image format".into()));
    }
    let img = reader.decode().map_err(|e| not_image(e.to_string()))?;
    Ok(img.to_rgb8())
}

/// One embedded still image.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ImageEmbedding {
    pub path: std::path::PathBuf,
    /// 1024 numbers (crop ++ mirror), or null when no face was found.
    pub vector: Option<Vec<f32>>,
    /// The face used (the largest), or null with `--no-detect` or without a face.
    pub face: Option<SubjectFace>,
    /// Faces detected in the image.
    pub faces: usize,
}

/// Embeds still images: the largest face of each, or the whole image as the crop
/// when `faces` is `None` (`--no-detect`).
pub fn embed_images(
    paths: &[std::path::PathBuf],
    encoder: &Encoder,
    faces: Option<&FaceAnalyzer>,
    on_crop: &mut dyn FnMut(usize, &FaceCrops) -> Result<()>,
) -> Result<Vec<ImageEmbedding>> {
    let mut out = Vec::with_capacity(paths.len());
    for (k, path) in paths.iter().enumerate() {
        let img = load_image(path)?;
        let (crops, face, count) = match faces {
            None => (Some(FaceCrops::whole_image(&img)), None, 0),
            Some(fa) => {
                let dets = fa.detect(&img);
                let best = dets.iter().max_by(|a, b| a.area().total_cmp(&b.area()));
                (
                    best.map(|d| FaceCrops::from_detection(&img, d)),
                    best.map(SubjectFace::from),
                    dets.len(),
                )
            }
        };
        let vector = match &crops {
            Some(c) => {
                on_crop(k, c)?;
                encoder.embed(&[c])?.pop()
            }
            None => None,
        };
        out.push(ImageEmbedding {
            path: path.clone(),
            vector,
            face,
            faces: count,
        });
    }
    Ok(out)
}
