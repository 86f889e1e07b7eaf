//! The demo detector: graphics face swaps between real people from registry packages
//! (`assets/corpus.tsv`), a TI2Net trained on some of them and measured on people it
//! never saw (as source or as target), and a model card that says what it is worth.
//!
//! Everything is seeded and cached in a work folder: a video already made is not made
//! again, and the whole build is skipped when the checkpoint records the same inputs.

use crate::classifier::train::{self as tr, Evaluation, TrainConfig, TrainControl, TrainData};
use crate::classifier::{checkpoint, dataset};
use crate::encoder::Encoder;
use crate::error::{Error, Result};
use crate::extract::{self, ExtractJob};
use crate::faces::FaceAnalyzer;
use crate::fsutil::{sha256_bytes, sha256_file, write_atomic};
use crate::pipeline::AnalyzeOptions;
use crate::swap::{self, SwapOptions};
use crate::video::{FrameSelection, VideoReader};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

mod card;
pub use card::{model_card, recorded_card, write_card};

/// One person of the corpus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Person {
    pub id: String,
    pub file: String,
    pub package: String,
    pub sha256: String,
    pub licence: String,
    pub description: String,
}

/// Reads the corpus manifest (tab-separated: id, file, registry, package, version,
/// path inside, sha256, licence, what it shows; `#` starts a comment line).
pub fn read_corpus(manifest: &Path) -> Result<Vec<Person>> {
    let text = std::fs::read_to_string(manifest).map_err(|e| Error::io(manifest, e))?;
    let mut people = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() < 9 {
            return Err(Error::data(
                manifest,
                format!(
                    "line {}: 9 tab-separated fields expected, {} found",
                    n + 1,
                    f.len()
                ),
            ));
        }
        people.push(Person {
            id: f[0].into(),
            file: f[1].into(),
            package: format!("{} {}@{}", f[2], f[3], f[4]),
            sha256: f[6].into(),
            licence: f[7].into(),
            description: f[8].into(),
        });
    }
    Ok(people)
}

/// How the demo detector is built.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemoConfig {
    /// People kept out of training entirely (as source and as target).
    pub test_people: Vec<String>,
    /// Length of the clips cut from each real video (seconds).
    pub segment_s: f64,
    /// At most this many clips per person, spread over the video.
    pub max_segments: usize,
    /// A video needs this many seconds to be a target or a real clip (shorter people
    /// are sources only).
    pub min_target_s: f64,
    pub train: TrainConfig,
    pub swap: SwapOptions,
    pub threads: usize,
}

impl Default for DemoConfig {
    fn default() -> Self {
        Self {
            test_people: vec!["cap12".into(), "woman2".into(), "obama".into()],
            segment_s: 6.0,
            max_segments: 6,
            min_target_s: 5.5,
            train: TrainConfig {
                epochs: 100,
                lr: 3e-4,
                hidden: 128,
                seed: 0,
                val_fraction: 0.15,
                test_fraction: 0.0,
                ..Default::default()
            },
            swap: SwapOptions::default(),
            threads: 2,
        }
    }
}

/// What the model card reports, also stored in the checkpoint's metadata (`demo`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemoCard {
    pub train_people: Vec<String>,
    pub test_people: Vec<String>,
    pub train_real: usize,
    pub train_fake: usize,
    pub test_real: usize,
    pub test_fake: usize,
    pub best_epoch: Option<usize>,
    pub best_val_auc: Option<f64>,
    pub test_clip_auc: Option<f64>,
    pub test_video_auc: Option<f64>,
    pub test_video_accuracy: Option<f64>,
    pub test_clip_accuracy: Option<f64>,
    pub test_clip_eer: Option<f64>,
    pub test_video_eer: Option<f64>,
    /// Mean fake probability of each test video: (video, label, p_fake).
    pub test_videos: Vec<(String, String, f32)>,
    pub inputs_sha256: String,
    /// The decision threshold, chosen on the training people's videos (the best
    /// balanced accuracy of their mean fake probabilities); the accuracies above are
    /// measured at it.
    #[serde(default = "default_threshold")]
    pub threshold: f32,
}

fn default_threshold() -> f32 {
    crate::classifier::DEFAULT_THRESHOLD
}

/// A clip to make: a real segment or a swap.
#[derive(Debug, Clone)]
struct Job {
    out: PathBuf,
    target: String,
    source: Option<String>,
    start: f64,
    end: f64,
    test: bool,
}

/// Segments `[start, end)` of a person's video (clips with fewer face frames than one
/// TI2Net window needs are left out later).
fn segments(duration: f64, cfg: &DemoConfig) -> Vec<(f64, f64)> {
    if duration < cfg.min_target_s {
        return Vec::new();
    }
    if duration < 2.0 * cfg.segment_s {
        return vec![(0.0, duration.min(cfg.segment_s.max(cfg.min_target_s)))];
    }
    let n = ((duration / cfg.segment_s).floor() as usize)
        .min(cfg.max_segments)
        .max(1);
    let gap = (duration - cfg.segment_s) / n as f64;
    (0..n)
        .map(|k| {
            let s = k as f64 * gap;
            (s, s + cfg.segment_s)
        })
        .collect()
}

/// The checkpoint's metadata key holding the card.
pub const DEMO_KEY: &str = "demo";

/// Hash of everything that decides the result: the corpus, the settings, the tool's
/// version and the encoder's weights.
pub fn inputs_hash(people: &[Person], cfg: &DemoConfig, encoder: &Encoder) -> String {
    let s = serde_json::json!({
        "people": people,
        "config": cfg,
        "tool": env!("CARGO_PKG_VERSION"),
        "encoder": encoder.weights_sha256(),
        // 2: the decision threshold calibrated on the training people.
        "recipe": 2,
    });
    sha256_bytes(s.to_string().as_bytes())
}

/// The inputs hash recorded in an existing demo checkpoint.
pub fn recorded_inputs(checkpoint_path: &Path) -> Option<String> {
    recorded_card(checkpoint_path).ok().map(|c| c.inputs_sha256)
}

/// Progress messages of the build.
pub type Say<'a> = dyn Fn(&str) + Sync + 'a;

/// Builds the clips, trains, evaluates on the held-out people and writes the
/// checkpoint (`out`) and the model card (`card`).
#[allow(clippy::too_many_arguments)]
pub fn build(
    people: &[Person],
    media: &Path,
    work: &Path,
    out: &Path,
    card: &Path,
    landmarks: &Path,
    encoder: &Encoder,
    cfg: &DemoConfig,
    say: &Say,
) -> Result<DemoCard> {
    let inputs = inputs_hash(people, cfg, encoder);
    for p in &cfg.test_people {
        if !people.iter().any(|q| &q.id == p) {
            return Err(Error::Other(format!(
                "test person '{p}' is not in the corpus"
            )));
        }
    }
    // The clips depend on the corpus, the clip and swap settings and the tool: a
    // change of any of them makes them anew, in a folder of their own.
    let clip_key = sha256_bytes(
        serde_json::json!({
            "people": people,
            "segment_s": cfg.segment_s,
            "max_segments": cfg.max_segments,
            "min_target_s": cfg.min_target_s,
            "test_people": cfg.test_people,
            "swap": cfg.swap,
            "tool": env!("CARGO_PKG_VERSION"),
        })
        .to_string()
        .as_bytes(),
    );
    let work = &work.join(&clip_key[..12]);
    let dirs = ["real", "fake", "parts"].map(|d| work.join(d));
    for d in &dirs {
        std::fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
    }
    let path_of = |id: &str| -> Result<PathBuf> {
        let p = people
            .iter()
            .find(|q| q.id == id)
            .ok_or_else(|| Error::Other(format!("unknown person '{id}'")))?;
        Ok(media.join(&p.file))
    };

    // 1. Clips: real segments and every ordered pair of people on the same side.
    let mut segs: HashMap<String, Vec<(f64, f64)>> = HashMap::new();
    for p in people {
        let v = VideoReader::open(&media.join(&p.file), FrameSelection::default())?;
        segs.insert(p.id.clone(), segments(v.info().duration_s, cfg));
    }
    let is_test = |id: &str| cfg.test_people.iter().any(|t| t == id);
    let mut jobs = Vec::new();
    for t in people {
        let ts = &segs[&t.id];
        if ts.is_empty() {
            continue;
        }
        for (k, &(s, e)) in ts.iter().enumerate() {
            jobs.push(Job {
                out: dirs[0].join(format!("{}_{k}.mp4", t.id)),
                target: t.id.clone(),
                source: None,
                start: s,
                end: e,
                test: is_test(&t.id),
            });
        }
        let sources: Vec<&Person> = people
            .iter()
            .filter(|s| s.id != t.id && is_test(&s.id) == is_test(&t.id))
            .collect();
        let n = sources.len().max(ts.len());
        for i in 0..n.min(sources.len() * ts.len()) {
            let src = sources[i % sources.len()];
            let k = i % ts.len();
            let (s, e) = ts[k];
            jobs.push(Job {
                out: dirs[1].join(format!("{}_to_{}_{k}.mp4", src.id, t.id)),
                target: t.id.clone(),
                source: Some(src.id.clone()),
                start: s,
                end: e,
                test: is_test(&t.id),
            });
        }
    }
    let todo: Vec<&Job> = jobs.iter().filter(|j| !j.out.exists()).collect();
    say(&format!(
        "{} clips ({} real, {} swaps), {} to make",
        jobs.len(),
        jobs.iter().filter(|j| j.source.is_none()).count(),
        jobs.iter().filter(|j| j.source.is_some()).count(),
        todo.len()
    ));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cfg.threads.max(1))
        .build()
        .map_err(|e| Error::Other(format!("cannot start worker threads: {e}")))?;
    let cancel = AtomicBool::new(false);
    let made: Vec<Result<()>> = pool.install(|| {
        use rayon::prelude::*;
        todo.par_iter()
            .map(|j| -> Result<()> {
                let target = path_of(&j.target)?;
                match &j.source {
                    None => {
                        swap::writer::reencode(
                            &target,
                            &j.out,
                            Some(j.start),
                            Some(j.end),
                            cfg.swap.crf,
                            false,
                        )?;
                    }
                    Some(src) => {
                        let faces = FaceAnalyzer::new(landmarks, cfg.swap.upsample)?;
                        let opts = SwapOptions {
                            start_s: Some(j.start),
                            end_s: Some(j.end),
                            ..cfg.swap
                        };
                        swap::swap(
                            &path_of(src)?,
                            &target,
                            &j.out,
                            &faces,
                            None,
                            &opts,
                            false,
                            &mut |_, _| {},
                            &cancel,
                        )?;
                    }
                }
                say(&format!("made {}", j.out.display()));
                Ok(())
            })
            .collect()
    });
    for r in made {
        r?;
    }

    // 2. Identity vectors of every clip (the analysis's own pipeline).
    let videos: Vec<PathBuf> = jobs.iter().map(|j| j.out.clone()).collect();
    let job = ExtractJob {
        videos,
        parts: dirs[2].clone(),
        landmarks: landmarks.to_path_buf(),
        opts: AnalyzeOptions {
            upsample: cfg.swap.upsample,
            ..Default::default()
        },
        threads: cfg.threads.max(1),
        trim: Default::default(),
    };
    let prov = extract::provenance(encoder, &job.opts);
    let rows = extract::extract_parts(
        &job,
        encoder,
        &|p| {
            if p.videos_done % 10 == 0 {
                say(&format!(
                    "identity vectors: {}/{} clips",
                    p.videos_done, p.videos_total
                ));
            }
        },
        &cancel,
    )?;
    let row_of: HashMap<PathBuf, &extract::ExtractRow> =
        rows.iter().map(|r| (r.video.clone(), r)).collect();
    let set = |test: bool, fake: bool| -> Vec<&Job> {
        jobs.iter()
            .filter(|j| j.test == test && j.source.is_some() == fake)
            .filter(|j| {
                row_of
                    .get(&j.out)
                    .is_some_and(|r| r.included && r.faces >= crate::classifier::clips::CLIP_SPAN)
            })
            .collect()
    };
    let assemble = |js: &[&Job], name: &str| -> Result<(dataset::IdSet, Vec<i64>)> {
        let rs: Vec<extract::ExtractRow> = js.iter().map(|j| (*row_of[&j.out]).clone()).collect();
        let ids = work.join(format!("{name}_ids.npy"));
        let lens = work.join(format!("{name}_lens.npy"));
        extract::assemble(&rs, &dirs[2], &ids, &lens, &prov, true)?;
        let groups = js
            .iter()
            .map(|j| people.iter().position(|p| p.id == j.target).unwrap_or(0) as i64)
            .collect();
        Ok((dataset::load(&ids, Some(&lens))?, groups))
    };
    let (train_real, train_fake) = (set(false, false), set(false, true));
    let (test_real, test_fake) = (set(true, false), set(true, true));
    let (real, real_groups) = assemble(&train_real, "train_real")?;
    let (fake, fake_groups) = assemble(&train_fake, "train_fake")?;
    let (treal, _) = assemble(&test_real, "test_real")?;
    let (tfake, _) = assemble(&test_fake, "test_fake")?;
    say(&format!(
        "training on {} real and {} fake clips of {} people; testing on {} real and {} fake clips of {} unseen people",
        real.videos.len(),
        fake.videos.len(),
        people.len() - cfg.test_people.len(),
        treal.videos.len(),
        tfake.videos.len(),
        cfg.test_people.len()
    ));

    // 3. Train on the training people (validation split by target person).
    let data = TrainData {
        real,
        fake,
        real_groups: Some(real_groups),
        fake_groups: Some(fake_groups),
        encoder: Some(encoder.kind().name().to_string()),
    };
    let tmp_ck = work.join("training.safetensors");
    let device = candle_core::Device::Cpu;
    let summary = tr::train(
        &data,
        &cfg.train,
        &tr::TrainFiles {
            out: tmp_ck.clone(),
            metrics: Some(work.join("training_metrics.json")),
            resume: false,
            force: true,
        },
        &device,
        &mut |e| {
            if let tr::TrainEvent::Epoch(r) = e {
                if r.epoch % 5 == 0 || r.best {
                    say(&format!(
                        "epoch {}: loss {:.4}, validation AUC {}",
                        r.epoch,
                        r.train_loss,
                        r.val_auc.map(|a| format!("{a:.3}")).unwrap_or("-".into())
                    ));
                }
            }
        },
        &TrainControl::default(),
    )?;

    // 4. The decision threshold, from the training people only: the best balanced
    // accuracy of their videos' mean fake probabilities.
    let det = crate::session::load_detector(&tmp_ck, &device, Some(encoder.kind().name()))?;
    let fit = tr::evaluate_checkpoint(
        &det,
        &data.real,
        &data.fake,
        cfg.train.stride,
        cfg.train.threshold,
    )?;
    let threshold = video_means(&fit)
        .and_then(|(scores, labels)| {
            crate::classifier::metrics::balanced_threshold(&scores, &labels)
        })
        .unwrap_or(cfg.train.threshold);
    say(&format!(
        "decision threshold {threshold:.3} (best balanced accuracy on the training people's videos)"
    ));

    // 5. Measure on the unseen people, at that threshold.
    let ev: Evaluation =
        tr::evaluate_checkpoint(&det, &treal, &tfake, cfg.train.stride, threshold)?;
    let names = |js: &[&Job]| -> Vec<String> {
        js.iter()
            .map(|j| {
                j.out
                    .file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default()
            })
            .collect()
    };
    let mut test_videos = Vec::new();
    for (label, js) in [("real", &test_real), ("fake", &test_fake)] {
        let n = names(js);
        for (v, name) in n.iter().enumerate() {
            let ps: Vec<f32> = ev
                .clips
                .iter()
                .filter(|c| c.0 == label && c.1 == v)
                .map(|c| c.3)
                .collect();
            if !ps.is_empty() {
                test_videos.push((
                    name.clone(),
                    label.to_string(),
                    ps.iter().sum::<f32>() / ps.len() as f32,
                ));
            }
        }
    }
    let train_people: Vec<String> = people
        .iter()
        .filter(|p| !is_test(&p.id))
        .map(|p| p.id.clone())
        .collect();
    let result = DemoCard {
        train_people,
        test_people: cfg.test_people.clone(),
        train_real: data.real.videos.len(),
        train_fake: data.fake.videos.len(),
        test_real: treal.videos.len(),
        test_fake: tfake.videos.len(),
        best_epoch: summary.best_epoch,
        best_val_auc: summary.best_val_auc,
        test_clip_auc: ev.clip.auc,
        test_video_auc: ev.video_mean.auc,
        test_video_accuracy: ev.video_mean.accuracy,
        test_clip_accuracy: ev.clip.accuracy,
        test_clip_eer: ev.clip.eer,
        test_video_eer: ev.video_mean.eer,
        test_videos,
        inputs_sha256: inputs,
        threshold,
    };

    // 6. The checkpoint with the card and the threshold in its provenance, and the card.
    let extra = HashMap::from([
        (
            DEMO_KEY.to_string(),
            serde_json::to_string(&result)
                .map_err(|e| Error::Other(format!("cannot serialise the model card: {e}")))?,
        ),
        ("threshold".to_string(), threshold.to_string()),
    ]);
    checkpoint::copy_with_metadata(&tmp_ck, out, &extra, true)?;
    let text = model_card(&result, people, cfg, &sha256_file(out)?);
    write_atomic(card, text.as_bytes(), true)?;
    Ok(result)
}

/// Each video's mean fake probability over its clips, and whether it is fake.
fn video_means(ev: &Evaluation) -> Option<(Vec<f32>, Vec<bool>)> {
    let mut sums: std::collections::BTreeMap<(bool, usize), (f32, usize)> = Default::default();
    for (set, v, _, p) in &ev.clips {
        let e = sums.entry((set == "fake", *v)).or_default();
        e.0 += p;
        e.1 += 1;
    }
    let (labels, scores): (Vec<bool>, Vec<f32>) = sums
        .into_iter()
        .map(|((fake, _), (sum, n))| (fake, sum / n as f32))
        .unzip();
    (!scores.is_empty()).then_some((scores, labels))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_spread_over_the_video() {
        let cfg = DemoConfig::default();
        assert!(segments(4.0, &cfg).is_empty());
        assert_eq!(segments(5.8, &cfg), vec![(0.0, 5.8)]);
        let s = segments(200.0, &cfg);
        assert_eq!(s.len(), cfg.max_segments);
        assert!(s
            .iter()
            .all(|&(a, b)| (b - a - 6.0).abs() < 1e-9 && b <= 200.0));
        assert!(s[s.len() - 1].0 > 150.0);
    }
}
