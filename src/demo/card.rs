//! The demo detector's model card (Markdown): data, split, threshold, what it scores
//! on the people it never saw, and its limits.

use super::{DemoCard, DemoConfig, Person};
use crate::classifier::checkpoint;
use crate::error::{Error, Result};
use crate::fsutil::{sha256_file, write_atomic};
use std::path::Path;

fn fmt(x: Option<f64>) -> String {
    x.map(|v| format!("{v:.3}")).unwrap_or_else(|| "n/a".into())
}

/// The model card (Markdown).
pub fn model_card(c: &DemoCard, people: &[Person], cfg: &DemoConfig, sha: &str) -> String {
    let who = |ids: &[String]| {
        ids.iter()
            .map(|id| {
                let d = people
                    .iter()
                    .find(|p| &p.id == id)
                    .map(|p| p.description.as_str())
                    .unwrap_or("");
                format!("- `{id}`: {d}")
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let videos = c
        .test_videos
        .iter()
        .map(|(v, l, p)| format!("| {v} | {l} | {p:.3} |"))
        .collect::<Vec<_>>()
        .join("\n");
    format!(
        "# ti2net demo detector (model card)

Made by `ti2net demo build` (the recipe) and shipped with ti2net: the checkpoint
`weights/ti2net-demo.safetensors`, sha256
`{sha}`,
is committed with this card and compiled into the program, so every machine gives the
same verdicts. Nothing is trained at setup.

**What it is**: TI2Net (bidirectional GRU over the temporal differences of MobileFaceNet
identity vectors) trained on graphics face swaps (`ti2net swap`: landmarks, Delaunay
triangulation, piecewise affine warp, colour transfer, feathered blending; the
FaceSwap family of FaceForensics++) between a handful of real people, and on real clips
of the same people re-encoded the same way.

## Data
Training people ({ntr}; they appear in no test video, as source or as target):
{trp}

Test people ({nte}; never seen in training):
{tep}

Clips of {seg} s (at most {maxs} per person, spread over each video); swaps for every
ordered pair of people on the same side (people whose video is shorter than {mint} s
are sources only). Training: {trr} real and {trf} fake clips; test: {ter} real and {tef}
fake clips. Validation (for choosing the epoch): {val:.0} % of the training clips, split
by target person. Seed {seed}, {epochs} epochs, learning rate {lr}, batch {batch}, hidden {hidden}.

## Measured on the test people
| metric | value |
|---|---|
| clip AUC | {cauc} |
| video AUC (mean fake probability) | {vauc} |
| clip accuracy at the threshold {thr:.3} | {cacc} |
| video accuracy at the threshold {thr:.3} | {vacc} |
| clip EER | {ceer} |
| video EER | {veer} |

Best epoch {be} (validation AUC {bv}).

| test video | label | mean p_fake |
|---|---|---|
{videos}

## Limits
- {calib}
- A demonstration: graphics swaps of {np} people from registry packages, with the
  source's face warped from time-aligned source frames. It was not trained or measured
  on FaceForensics++, Celeb-DF, DFDC, or GAN / diffusion face swaps, and its numbers say
  nothing about them.
- The test set is small ({ter} real, {tef} fake clips of {nte} people): the figures above
  have wide error bars.
- A verdict on real-world footage needs a detector trained on such data: the training
  panel of the workbench (or `ti2net extract` + `ti2net train`) makes one.
",
        ntr = c.train_people.len(),
        trp = who(&c.train_people),
        nte = c.test_people.len(),
        tep = who(&c.test_people),
        seg = cfg.segment_s,
        maxs = cfg.max_segments,
        mint = cfg.min_target_s,
        trr = c.train_real,
        trf = c.train_fake,
        ter = c.test_real,
        tef = c.test_fake,
        val = cfg.train.val_fraction * 100.0,
        seed = cfg.train.seed,
        epochs = cfg.train.epochs,
        lr = cfg.train.lr,
        batch = cfg.train.batch,
        hidden = cfg.train.hidden,
        cauc = fmt(c.test_clip_auc),
        vauc = fmt(c.test_video_auc),
        cacc = fmt(c.test_clip_accuracy),
        vacc = fmt(c.test_video_accuracy),
        ceer = fmt(c.test_clip_eer),
        veer = fmt(c.test_video_eer),
        be = c
            .best_epoch
            .map(|e| e.to_string())
            .unwrap_or_else(|| "n/a".into()),
        bv = fmt(c.best_val_auc),
        np = people.len(),
        calib = calibration(c),
        thr = c.threshold,
    )
}

/// What the test scores say about the threshold, in one sentence.
fn calibration(c: &DemoCard) -> String {
    let side = |l: &str| -> Vec<f32> {
        c.test_videos
            .iter()
            .filter(|v| v.1 == l)
            .map(|v| v.2)
            .collect()
    };
    let (real, fake) = (side("real"), side("fake"));
    if real.is_empty() || fake.is_empty() {
        return "The test set lacks real or fake videos: the figures above are incomplete.".into();
    }
    let max = |v: &[f32]| v.iter().copied().fold(f32::MIN, f32::max);
    let min = |v: &[f32]| v.iter().copied().fold(f32::MAX, f32::min);
    let t = c.threshold;
    let flagged = fake.iter().filter(|&&p| p >= t).count();
    let false_alarms = real.iter().filter(|&&p| p >= t).count();
    format!(
        "Calibration: verdicts use the threshold {t:.3}, chosen on the training people's videos and recorded in the checkpoint (`--threshold` overrides it). On the unseen people, real videos scored {:.2} to {:.2} and swaps {:.2} to {:.2}: {flagged} of {} swaps and {false_alarms} of {} real videos reach it. The ranking (AUC) carries over to new people better than any threshold does: read a verdict's fake probability against these ranges, not only its label.",
        min(&real),
        max(&real),
        min(&fake),
        max(&fake),
        fake.len(),
        real.len()
    )
}

/// The model card's figures recorded in a demo checkpoint's metadata (`demo`).
pub fn recorded_card(checkpoint_path: &Path) -> Result<DemoCard> {
    let ck = checkpoint::load(checkpoint_path, &candle_core::Device::Cpu)?;
    let v = ck
        .provenance
        .demo
        .ok_or_else(|| Error::weights(checkpoint_path, "its metadata holds no demo model card"))?;
    serde_json::from_value(v).map_err(|e| {
        Error::weights(
            checkpoint_path,
            format!("the demo model card in its metadata is unreadable ({e})"),
        )
    })
}

/// Writes the model card of an existing demo checkpoint from the figures in its
/// metadata, when `card` does not already hold that text. Returns whether it wrote.
pub fn write_card(
    people: &[Person],
    cfg: &DemoConfig,
    checkpoint_path: &Path,
    card: &Path,
) -> Result<bool> {
    let c = recorded_card(checkpoint_path)?;
    let text = model_card(&c, people, cfg, &sha256_file(checkpoint_path)?);
    if std::fs::read_to_string(card).ok().as_deref() == Some(text.as_str()) {
        return Ok(false);
    }
    write_atomic(card, text.as_bytes(), true)?;
    Ok(true)
}
