//! The seeded video-level train / validation / test split, optionally grouped by
//! identity (no person on both sides).

use super::clips::CLIP_SPAN;
use super::dataset::IdSet;
use super::train::{TrainConfig, TrainData};
use crate::error::{Error, Result};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

/// Video indices of each side of the split.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Split {
    pub train_real: Vec<usize>,
    pub val_real: Vec<usize>,
    pub test_real: Vec<usize>,
    pub train_fake: Vec<usize>,
    pub val_fake: Vec<usize>,
    pub test_fake: Vec<usize>,
    /// Videos too short for one clip, left out.
    pub too_short_real: Vec<usize>,
    pub too_short_fake: Vec<usize>,
}

fn groups_split(rng: &mut ChaCha8Rng, groups: &[i64], val: f64, test: f64) -> HashMap<i64, u8> {
    let mut uniq: Vec<i64> = groups
        .iter()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    uniq.shuffle(rng);
    let n = uniq.len();
    let (nv, nt) = side_sizes(n, val, test);
    uniq.iter()
        .enumerate()
        .map(|(i, &g)| {
            (
                g,
                if i < nv {
                    1
                } else if i < nv + nt {
                    2
                } else {
                    0
                },
            )
        })
        .collect()
}

fn side_sizes(n: usize, val: f64, test: f64) -> (usize, usize) {
    if n < 3 {
        return (usize::from(n >= 2), 0);
    }
    let nv = ((n as f64 * val).round() as usize).max(1);
    let nt = ((n as f64 * test).round() as usize).max(usize::from(test > 0.0));
    let nv = nv.min(n - 1);
    let nt = nt.min(n - 1 - nv);
    (nv, nt)
}

/// The seeded video-level split.
pub fn split(data: &TrainData, cfg: &TrainConfig) -> Result<Split> {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x5117);
    let mut s = Split::default();
    let usable = |set: &IdSet, short: &mut Vec<usize>| -> Vec<usize> {
        set.videos
            .iter()
            .filter_map(|v| {
                if v.len >= CLIP_SPAN {
                    Some(v.index)
                } else {
                    short.push(v.index);
                    None
                }
            })
            .collect()
    };
    let real = usable(&data.real, &mut s.too_short_real);
    let fake = usable(&data.fake, &mut s.too_short_fake);
    match (&data.real_groups, &data.fake_groups) {
        (Some(rg), Some(fg)) => {
            let all: Vec<i64> = real
                .iter()
                .map(|&i| rg[i])
                .chain(fake.iter().map(|&i| fg[i]))
                .collect();
            let side = groups_split(&mut rng, &all, cfg.val_fraction, cfg.test_fraction);
            for &i in &real {
                match side[&rg[i]] {
                    1 => s.val_real.push(i),
                    2 => s.test_real.push(i),
                    _ => s.train_real.push(i),
                }
            }
            for &i in &fake {
                match side[&fg[i]] {
                    1 => s.val_fake.push(i),
                    2 => s.test_fake.push(i),
                    _ => s.train_fake.push(i),
                }
            }
        }
        _ => {
            for (ids, tr, va, te) in [
                (real, &mut s.train_real, &mut s.val_real, &mut s.test_real),
                (fake, &mut s.train_fake, &mut s.val_fake, &mut s.test_fake),
            ] {
                let mut ids = ids;
                ids.shuffle(&mut rng);
                let (nv, nt) = side_sizes(ids.len(), cfg.val_fraction, cfg.test_fraction);
                va.extend_from_slice(&ids[..nv]);
                te.extend_from_slice(&ids[nv..nv + nt]);
                tr.extend_from_slice(&ids[nv + nt..]);
            }
        }
    }
    let need = |v: &Vec<usize>, what: &str, path: &Path| -> Result<()> {
        if v.is_empty() {
            Err(Error::data(
                path,
                format!("leaves no {what} video with at least {CLIP_SPAN} face frames: more videos are needed"),
            ))
        } else {
            Ok(())
        }
    };
    need(&s.train_real, "training", &data.real.ids_path)?;
    need(&s.val_real, "validation", &data.real.ids_path)?;
    need(&s.train_fake, "training", &data.fake.ids_path)?;
    need(&s.val_fake, "validation", &data.fake.ids_path)?;
    Ok(s)
}
