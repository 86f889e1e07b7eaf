//! Training and evaluation of TI2Net on identity files.
//!
//! Faithful to the original where it is right (triplets of real anchor, real positive
//! from another video and fake negative; loss = cross-entropy + 0.1 x triplet margin
//! loss on the latents; Adam, lr 1e-5) and corrected where it is wrong (random
//! anchors instead of one constant real video; cross-entropy on logits, not on a
//! softmax; a seeded video-level train / validation / test split, optionally grouped
//! by identity; model selection on validation AUC, never on the test set).

use super::checkpoint::{self, Provenance};
use super::clips::{clip_input, clip_starts, CLIP_SPAN, CLIP_STEPS};
use super::dataset::IdSet;
use super::metrics::{self, RocPoint, Scores};
use super::model::{DropoutMasks, Ti2Net};
pub use super::split::{split, Split};
use super::Detector;
use crate::encoder::ID_DIM;
use crate::error::{Error, Result};
use crate::fsutil::write_atomic;
use candle_core::{backprop::GradStore, DType, Device, Tensor, Var};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Hyper-parameters (all have command-line flags).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub epochs: usize,
    pub lr: f64,
    pub seed: u64,
    /// Triplets per batch.
    pub batch: usize,
    pub hidden: usize,
    pub margin: f32,
    pub triplet_weight: f32,
    pub val_fraction: f64,
    pub test_fraction: f64,
    /// Clip stride for validation and test scoring.
    pub stride: usize,
    pub threshold: f32,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            epochs: 100,
            lr: 1e-5,
            seed: 0,
            batch: 8,
            hidden: 512,
            margin: 0.0,
            triplet_weight: 0.1,
            val_fraction: 0.15,
            test_fraction: 0.15,
            stride: super::clips::DEFAULT_STRIDE,
            threshold: super::DEFAULT_THRESHOLD,
        }
    }
}

/// The training data.
pub struct TrainData {
    pub real: IdSet,
    pub fake: IdSet,
    /// Optional identity group per video (same person = same group): no group is on
    /// two sides of the split.
    pub real_groups: Option<Vec<i64>>,
    pub fake_groups: Option<Vec<i64>>,
    /// Encoder the vectors came from, recorded in the checkpoint.
    pub encoder: Option<String>,
}

/// One epoch's record (the metrics file holds one per epoch).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    pub epoch: usize,
    pub train_loss: f64,
    pub val_acc: Option<f64>,
    pub val_auc: Option<f64>,
    pub val_eer: Option<f64>,
    pub val_video_acc: Option<f64>,
    pub val_video_auc: Option<f64>,
    pub seconds: f64,
    pub best: bool,
}

/// What training reports through its callback.
#[derive(Debug, Clone)]
pub enum TrainEvent {
    Started {
        epochs: usize,
        steps_per_epoch: usize,
        split: Split,
        resumed_from: usize,
    },
    Batch {
        epoch: usize,
        step: usize,
        steps: usize,
        loss: f64,
    },
    Epoch(EpochRecord),
    /// The validation ROC curve of an epoch (sent before its record).
    Validation {
        epoch: usize,
        roc: Vec<RocPoint>,
    },
    Finished(Box<TrainSummary>),
}

/// Pause and stop, shared with the caller's thread.
#[derive(Default)]
pub struct TrainControl {
    pub stop: AtomicBool,
    pub pause: AtomicBool,
}

/// Evaluation of a model on a set of videos.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub clip: Scores,
    /// Video level by the mean fake probability of its clips.
    pub video_mean: Scores,
    /// Video level by majority vote of its clips (accuracy only).
    pub video_vote_accuracy: Option<f64>,
    pub roc_clip: Vec<RocPoint>,
    pub roc_video: Vec<RocPoint>,
    pub threshold: f32,
    /// (set, video index, clip start, p_fake), set = "real" or "fake".
    pub clips: Vec<(String, usize, usize, f32)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainSummary {
    pub checkpoint: PathBuf,
    pub best_epoch: Option<usize>,
    pub best_val_auc: Option<f64>,
    pub history: Vec<EpochRecord>,
    pub test: Option<Evaluation>,
    pub stopped: bool,
}

/// Plain Adam (no weight decay) with state that can be saved and restored.
struct Adam {
    vars: Vec<(String, Var)>,
    m: Vec<Tensor>,
    v: Vec<Tensor>,
    t: usize,
    lr: f64,
}

impl Adam {
    const B1: f64 = 0.9;
    const B2: f64 = 0.999;
    const EPS: f64 = 1e-8;

    fn new(vars: Vec<(String, Var)>, lr: f64) -> Result<Self> {
        let m = vars
            .iter()
            .map(|(_, v)| v.as_tensor().zeros_like())
            .collect::<candle_core::Result<Vec<_>>>()?;
        let v = m.clone();
        Ok(Self {
            vars,
            m,
            v,
            t: 0,
            lr,
        })
    }

    fn step(&mut self, grads: &GradStore) -> Result<()> {
        self.t += 1;
        let bc1 = 1.0 - Self::B1.powi(self.t as i32);
        let bc2 = 1.0 - Self::B2.powi(self.t as i32);
        for (i, (_, var)) in self.vars.iter().enumerate() {
            let Some(g) = grads.get(var.as_tensor()) else {
                continue;
            };
            self.m[i] = ((&self.m[i] * Self::B1)? + (g * (1.0 - Self::B1))?)?;
            self.v[i] = ((&self.v[i] * Self::B2)? + (g.sqr()? * (1.0 - Self::B2))?)?;
            let mhat = (&self.m[i] / bc1)?;
            let vhat = (&self.v[i] / bc2)?;
            let upd = (mhat / (vhat.sqrt()? + Self::EPS)?)?;
            var.set(&var.as_tensor().sub(&(upd * self.lr)?)?)?;
        }
        Ok(())
    }
}

/// The resumable state saved beside the checkpoint `out` (`<out>.state.safetensors`).
pub fn state_path(out: &Path) -> PathBuf {
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    out.with_file_name(format!("{stem}.state.safetensors"))
}

fn clip_batch(
    set: &IdSet,
    picks: &[(usize, usize)],
    device: &Device,
) -> candle_core::Result<Tensor> {
    let mut x = Vec::with_capacity(picks.len() * CLIP_STEPS * ID_DIM);
    for &(v, s) in picks {
        x.extend(clip_input(&set.videos[v].vectors, ID_DIM, s));
    }
    Tensor::from_vec(x, (picks.len(), CLIP_STEPS, ID_DIM), device)
}

fn random_start(rng: &mut ChaCha8Rng, len: usize) -> usize {
    rng.random_range(0..=len - CLIP_SPAN)
}

/// Scores every clip (stride `stride`) of the given real and fake videos.
pub fn evaluate(
    model: &Ti2Net,
    (real, real_ids): (&IdSet, &[usize]),
    (fake, fake_ids): (&IdSet, &[usize]),
    stride: usize,
    threshold: f32,
    device: &Device,
) -> Result<Evaluation> {
    let mut clip_scores = Vec::new();
    let mut clip_labels = Vec::new();
    let mut vid_scores = Vec::new();
    let mut vid_labels = Vec::new();
    let mut votes_ok = 0usize;
    let mut clips = Vec::new();
    for (name, set, ids, label) in [
        ("real", real, real_ids, false),
        ("fake", fake, fake_ids, true),
    ] {
        for &v in ids {
            let starts = clip_starts(set.videos[v].len, stride);
            if starts.is_empty() {
                continue;
            }
            let mut ps = Vec::with_capacity(starts.len());
            for chunk in starts.chunks(32) {
                let picks: Vec<(usize, usize)> = chunk.iter().map(|&s| (v, s)).collect();
                ps.extend(model.p_fake(&clip_batch(set, &picks, device)?)?);
            }
            for (&s, &p) in starts.iter().zip(&ps) {
                clips.push((name.to_string(), v, s, p));
                clip_scores.push(p);
                clip_labels.push(label);
            }
            let mean = ps.iter().sum::<f32>() / ps.len() as f32;
            vid_scores.push(mean);
            vid_labels.push(label);
            let fake_votes = ps.iter().filter(|&&p| p >= threshold).count();
            if (2 * fake_votes > ps.len()) == label {
                votes_ok += 1;
            }
        }
    }
    Ok(Evaluation {
        clip: metrics::summarise(&clip_scores, &clip_labels, threshold),
        video_mean: metrics::summarise(&vid_scores, &vid_labels, threshold),
        video_vote_accuracy: if vid_scores.is_empty() {
            None
        } else {
            Some(votes_ok as f64 / vid_scores.len() as f64)
        },
        roc_clip: metrics::roc(&clip_scores, &clip_labels),
        roc_video: metrics::roc(&vid_scores, &vid_labels),
        threshold,
        clips,
    })
}

/// Evaluates a checkpoint on whole identity files (every video with enough frames).
pub fn evaluate_checkpoint(
    det: &Detector,
    real: &IdSet,
    fake: &IdSet,
    stride: usize,
    threshold: f32,
) -> Result<Evaluation> {
    let r: Vec<usize> = (0..real.videos.len()).collect();
    let f: Vec<usize> = (0..fake.videos.len()).collect();
    evaluate(
        &det.checkpoint.model,
        (real, &r),
        (fake, &f),
        stride,
        threshold,
        &det.device,
    )
}

/// Where training writes, and whether it may continue or replace.
#[derive(Debug, Clone, Default)]
pub struct TrainFiles {
    /// The best checkpoint by validation AUC.
    pub out: PathBuf,
    /// Per-epoch records (JSON).
    pub metrics: Option<PathBuf>,
    /// Continue from the saved state beside `out`.
    pub resume: bool,
    /// Replace files of an earlier run.
    pub force: bool,
}

/// Trains TI2Net; the best checkpoint by validation AUC is written to `out`, the
/// resumable state beside it (`<out>.state.safetensors`), the per-epoch records to
/// `metrics` when given.
pub fn train(
    data: &TrainData,
    cfg: &TrainConfig,
    files: &TrainFiles,
    device: &Device,
    on_event: &mut dyn FnMut(&TrainEvent),
    control: &TrainControl,
) -> Result<TrainSummary> {
    let split = split(data, cfg)?;
    let (out, metrics_path, resume, force) = (
        files.out.as_path(),
        files.metrics.as_deref(),
        files.resume,
        files.force,
    );
    let state_file = state_path(out);
    if resume && !state_file.exists() {
        return Err(Error::data(
            &state_file,
            "there is no saved training state to resume from; start afresh without resuming \
             (an existing checkpoint is replaced only when asked)",
        ));
    }
    if !resume && !force {
        for p in [Some(out), Some(state_file.as_path()), metrics_path]
            .into_iter()
            .flatten()
        {
            if p.exists() {
                return Err(Error::Exists(p.to_path_buf()));
            }
        }
    }
    let data_hashes: HashMap<String, String> = [
        ("real_ids", Some(data.real.ids_sha256.clone())),
        ("real_lens", data.real.lens_sha256.clone()),
        ("fake_ids", Some(data.fake.ids_sha256.clone())),
        ("fake_lens", data.fake.lens_sha256.clone()),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
    .collect();
    let hyper = serde_json::to_value(cfg).unwrap_or_default();

    // Parameters and optimiser, fresh or from the saved state.
    let mut init_rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let mut vars = Ti2Net::init_vars(cfg.hidden, &mut init_rng, device)?;
    let mut adam = Adam::new(vars.clone(), cfg.lr)?;
    let mut history: Vec<EpochRecord> = Vec::new();
    let mut best: Option<(usize, f64)> = None;
    let mut start_epoch = 0;
    if resume && state_file.exists() {
        let bytes = std::fs::read(&state_file).map_err(|e| Error::io(&state_file, e))?;
        let (_, header) = safetensors::SafeTensors::read_metadata(&bytes)
            .map_err(|e| Error::weights(&state_file, format!("not a training state ({e})")))?;
        let meta = header.metadata().clone().unwrap_or_default();
        let saved_hyper: serde_json::Value = meta
            .get("hyper_parameters")
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default();
        let saved_data: HashMap<String, String> = meta
            .get("data")
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default();
        let mut same = saved_hyper.clone();
        if let (Some(a), Some(b)) = (same.as_object_mut(), hyper.as_object()) {
            // Only the number of epochs may change on resume.
            a.insert(
                "epochs".into(),
                b.get("epochs").cloned().unwrap_or_default(),
            );
        }
        if same != hyper || saved_data != data_hashes {
            return Err(Error::weights(&state_file, "was saved with other data or hyper-parameters; resume with the same ones, or start afresh with --force"));
        }
        let t = candle_core::safetensors::load_buffer(&bytes, device)?;
        let get = |k: &str| {
            t.get(k)
                .cloned()
                .ok_or_else(|| Error::weights(&state_file, format!("tensor {k} missing")))
        };
        for (i, (k, v)) in vars.iter().enumerate() {
            v.set(&get(&format!("param.{k}"))?)?;
            adam.m[i] = get(&format!("adam_m.{k}"))?;
            adam.v[i] = get(&format!("adam_v.{k}"))?;
        }
        adam.t = meta.get("adam_t").and_then(|s| s.parse().ok()).unwrap_or(0);
        history = meta
            .get("history")
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default();
        start_epoch = history.len();
        best = history
            .iter()
            .filter(|r| r.best)
            .filter_map(|r| r.val_auc.map(|a| (r.epoch, a)))
            .next_back();
    }
    vars = adam.vars.clone();
    let model = Ti2Net::from_vars(&vars)?;
    let steps = split.train_fake.len().div_ceil(cfg.batch.max(1));
    on_event(&TrainEvent::Started {
        epochs: cfg.epochs,
        steps_per_epoch: steps,
        split: split.clone(),
        resumed_from: start_epoch,
    });

    let mut stopped = false;
    let labels: Vec<u32> = (0..3 * cfg.batch.max(1))
        .map(|i| u32::from(i >= 2 * cfg.batch.max(1)))
        .collect();
    for epoch in start_epoch..cfg.epochs {
        let t0 = Instant::now();
        let mut rng = ChaCha8Rng::seed_from_u64(
            cfg.seed
                .wrapping_mul(1_000_003)
                .wrapping_add(epoch as u64 + 1),
        );
        let mut fakes = split.train_fake.clone();
        fakes.shuffle(&mut rng);
        let mut loss_sum = 0.0;
        let mut batches = 0usize;
        for (step, chunk) in fakes.chunks(cfg.batch.max(1)).enumerate() {
            while control.pause.load(Ordering::Relaxed) && !control.stop.load(Ordering::Relaxed) {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            if control.stop.load(Ordering::Relaxed) {
                stopped = true;
                break;
            }
            let b = chunk.len();
            let mut picks_real = Vec::with_capacity(2 * b);
            let mut positives = Vec::with_capacity(b);
            for _ in 0..b {
                let a = split.train_real[rng.random_range(0..split.train_real.len())];
                let p = if split.train_real.len() > 1 {
                    loop {
                        let p = split.train_real[rng.random_range(0..split.train_real.len())];
                        if p != a {
                            break p;
                        }
                    }
                } else {
                    a
                };
                picks_real.push((a, random_start(&mut rng, data.real.videos[a].len)));
                positives.push((p, random_start(&mut rng, data.real.videos[p].len)));
            }
            picks_real.extend(positives);
            let picks_fake: Vec<(usize, usize)> = chunk
                .iter()
                .map(|&f| (f, random_start(&mut rng, data.fake.videos[f].len)))
                .collect();
            let x = Tensor::cat(
                &[
                    clip_batch(&data.real, &picks_real, device)?,
                    clip_batch(&data.fake, &picks_fake, device)?,
                ],
                0,
            )?;
            let masks = DropoutMasks::draw(&mut rng, 3 * b, cfg.hidden, device)?;
            let (latent, logits) = model.forward(&x, Some(&masks))?;
            let y = Tensor::from_vec(
                (0..3 * b)
                    .map(|i| u32::from(i >= 2 * b))
                    .collect::<Vec<u32>>(),
                3 * b,
                device,
            )?;
            let _ = &labels;
            let ce = candle_nn::loss::cross_entropy(&logits, &y)?;
            let a = latent.narrow(0, 0, b)?;
            let p = latent.narrow(0, b, b)?;
            let n = latent.narrow(0, 2 * b, b)?;
            // torch.pairwise_distance: || x1 - x2 + eps ||
            let d_ap = ((a.clone() - p)? + 1e-6)?.sqr()?.sum(1)?.sqrt()?;
            let d_an = ((a - n)? + 1e-6)?.sqr()?.sum(1)?.sqrt()?;
            let trip = ((d_ap - d_an)? + cfg.margin as f64)?.relu()?.mean_all()?;
            let loss = (ce + (trip * cfg.triplet_weight as f64)?)?;
            let lv = loss.to_dtype(DType::F32)?.to_scalar::<f32>()? as f64;
            if !lv.is_finite() {
                return Err(Error::Model(format!(
                    "the training loss became {lv} at epoch {} step {step}; try a lower --lr",
                    epoch + 1
                )));
            }
            let grads = loss.backward()?;
            adam.step(&grads)?;
            loss_sum += lv;
            batches += 1;
            on_event(&TrainEvent::Batch {
                epoch: epoch + 1,
                step: step + 1,
                steps,
                loss: lv,
            });
        }
        if stopped {
            break;
        }
        let ev = evaluate(
            &model,
            (&data.real, &split.val_real),
            (&data.fake, &split.val_fake),
            cfg.stride,
            cfg.threshold,
            device,
        )?;
        let is_best = match (ev.clip.auc, best) {
            (Some(a), Some((_, b))) => a > b,
            (Some(_), None) => true,
            _ => best.is_none() && epoch == start_epoch,
        };
        let rec = EpochRecord {
            epoch: epoch + 1,
            train_loss: if batches > 0 {
                loss_sum / batches as f64
            } else {
                f64::NAN
            },
            val_acc: ev.clip.accuracy,
            val_auc: ev.clip.auc,
            val_eer: ev.clip.eer,
            val_video_acc: ev.video_mean.accuracy,
            val_video_auc: ev.video_mean.auc,
            seconds: t0.elapsed().as_secs_f64(),
            best: is_best,
        };
        history.push(rec.clone());
        let named: Vec<(String, Tensor)> = vars
            .iter()
            .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
            .collect();
        if is_best {
            best = Some((epoch + 1, ev.clip.auc.unwrap_or(0.0)));
            let prov = Provenance {
                encoder: data.encoder.clone(),
                hidden: cfg.hidden,
                data: data_hashes.clone(),
                hyper_parameters: hyper.clone(),
                metrics: serde_json::json!({"validation": {"clip": ev.clip, "video_mean": ev.video_mean, "video_vote_accuracy": ev.video_vote_accuracy}, "split": {"train_real": split.train_real.len(), "train_fake": split.train_fake.len(), "val_real": split.val_real.len(), "val_fake": split.val_fake.len(), "test_real": split.test_real.len(), "test_fake": split.test_fake.len()}}),
                epoch: Some(epoch + 1),
                demo: None,
                threshold: None,
            };
            checkpoint::save(out, &named, &prov, true)?;
        }
        // The resumable state: parameters, Adam moments, history.
        let mut st: Vec<(String, Tensor)> = Vec::new();
        for (i, (k, v)) in vars.iter().enumerate() {
            st.push((format!("param.{k}"), v.as_tensor().clone()));
            st.push((format!("adam_m.{k}"), adam.m[i].clone()));
            st.push((format!("adam_v.{k}"), adam.v[i].clone()));
        }
        let prov = Provenance {
            encoder: data.encoder.clone(),
            hidden: cfg.hidden,
            data: data_hashes.clone(),
            hyper_parameters: hyper.clone(),
            metrics: serde_json::Value::Null,
            epoch: Some(epoch + 1),
            demo: None,
            threshold: None,
        };
        let extra = HashMap::from([
            ("adam_t".to_string(), adam.t.to_string()),
            (
                "history".to_string(),
                serde_json::to_string(&history).unwrap_or_default(),
            ),
        ]);
        write_atomic(
            &state_file,
            &checkpoint::to_bytes(&st, &prov, &extra)?,
            true,
        )?;
        if let Some(mp) = metrics_path {
            write_atomic(
                mp,
                &serde_json::to_vec_pretty(&history).unwrap_or_default(),
                true,
            )?;
        }
        on_event(&TrainEvent::Validation {
            epoch: epoch + 1,
            roc: ev.roc_clip.clone(),
        });
        on_event(&TrainEvent::Epoch(rec));
    }

    // The test split, scored once with the best checkpoint.
    let test = if out.exists() && !split.test_real.is_empty() && !split.test_fake.is_empty() {
        // The trainer re-reads its own best checkpoint (not a detector for verdicts:
        // those are loaded by `session::load_detector`).
        let best_model = super::checkpoint::load(out, device)?.model;
        Some(evaluate(
            &best_model,
            (&data.real, &split.test_real),
            (&data.fake, &split.test_fake),
            cfg.stride,
            cfg.threshold,
            device,
        )?)
    } else {
        None
    };
    let summary = TrainSummary {
        checkpoint: out.to_path_buf(),
        best_epoch: best.map(|b| b.0),
        best_val_auc: best.map(|b| b.1),
        history,
        test,
        stopped,
    };
    on_event(&TrainEvent::Finished(Box::new(summary.clone())));
    Ok(summary)
}
