//! Binary classification metrics: accuracy, ROC AUC, EER and the ROC curve.

use serde::{Deserialize, Serialize};

/// Area under the ROC curve (probability a fake scores above a real; ties count
/// half). `None` when one class is absent.
pub fn auc(scores: &[f32], labels: &[bool]) -> Option<f64> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let (mut rank_sum, mut pos) = (0.0f64, 0usize);
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            if labels[k] {
                rank_sum += avg;
                pos += 1;
            }
        }
        i = j + 1;
    }
    let neg = scores.len() - pos;
    if pos == 0 || neg == 0 {
        return None;
    }
    Some((rank_sum - (pos * (pos + 1)) as f64 / 2.0) / (pos * neg) as f64)
}

pub fn accuracy(scores: &[f32], labels: &[bool], threshold: f32) -> Option<f64> {
    if scores.is_empty() {
        return None;
    }
    let ok = scores
        .iter()
        .zip(labels)
        .filter(|(s, l)| (**s >= threshold) == **l)
        .count();
    Some(ok as f64 / scores.len() as f64)
}

/// The decision threshold with the best balanced accuracy (mean of the true-positive
/// and true-negative rates) on `scores`: a cut halfway between two neighbouring
/// scores; of several equally good cuts, the middle one. None without both classes.
pub fn balanced_threshold(scores: &[f32], labels: &[bool]) -> Option<f32> {
    let pos = labels.iter().filter(|l| **l).count();
    let neg = labels.len().min(scores.len()) - pos;
    if pos == 0 || neg == 0 {
        return None;
    }
    let mut sorted: Vec<(f32, bool)> = scores.iter().copied().zip(labels.iter().copied()).collect();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Cutting after position k: everything up to k is called negative.
    let (mut neg_below, mut pos_below) = (0usize, 0usize);
    let mut best: Vec<f32> = Vec::new();
    let mut best_score = f64::NEG_INFINITY;
    for k in 0..sorted.len() - 1 {
        if sorted[k].1 {
            pos_below += 1;
        } else {
            neg_below += 1;
        }
        if sorted[k].0 == sorted[k + 1].0 {
            continue;
        }
        let tnr = neg_below as f64 / neg as f64;
        let tpr = (pos - pos_below) as f64 / pos as f64;
        let b = (tnr + tpr) / 2.0;
        let cut = (sorted[k].0 + sorted[k + 1].0) / 2.0;
        if b > best_score + 1e-12 {
            best_score = b;
            best = vec![cut];
        } else if (b - best_score).abs() <= 1e-12 {
            best.push(cut);
        }
    }
    best.get(best.len() / 2).copied()
}

/// A point of the ROC curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RocPoint {
    pub threshold: f32,
    pub fpr: f64,
    pub tpr: f64,
}

/// The ROC curve, from the highest threshold down.
pub fn roc(scores: &[f32], labels: &[bool]) -> Vec<RocPoint> {
    let pos = labels.iter().filter(|l| **l).count().max(1) as f64;
    let neg = labels.iter().filter(|l| !**l).count().max(1) as f64;
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut out = vec![RocPoint {
        threshold: f32::INFINITY,
        fpr: 0.0,
        tpr: 0.0,
    }];
    let (mut tp, mut fp) = (0.0, 0.0);
    let mut i = 0;
    while i < idx.len() {
        let s = scores[idx[i]];
        while i < idx.len() && scores[idx[i]] == s {
            if labels[idx[i]] {
                tp += 1.0;
            } else {
                fp += 1.0;
            }
            i += 1;
        }
        out.push(RocPoint {
            threshold: s,
            fpr: fp / neg,
            tpr: tp / pos,
        });
    }
    out
}

/// Equal error rate: where the false positive rate meets the miss rate.
pub fn eer(points: &[RocPoint]) -> Option<f64> {
    let mut best: Option<(f64, f64)> = None;
    for p in points {
        let fnr = 1.0 - p.tpr;
        let gap = (p.fpr - fnr).abs();
        if best.map(|b| gap < b.0).unwrap_or(true) {
            best = Some((gap, (p.fpr + fnr) / 2.0));
        }
    }
    best.map(|b| b.1)
}

/// Accuracy, AUC and EER of one set of scores.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    pub n: usize,
    pub accuracy: Option<f64>,
    pub auc: Option<f64>,
    pub eer: Option<f64>,
}

pub fn summarise(scores: &[f32], labels: &[bool], threshold: f32) -> Scores {
    Scores {
        n: scores.len(),
        accuracy: accuracy(scores, labels, threshold),
        auc: auc(scores, labels),
        eer: eer(&roc(scores, labels)),
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn the_balanced_threshold_separates_what_can_be_separated() {
        // Separable: the cut lies between the highest negative and the lowest positive.
        let t = balanced_threshold(&[0.05, 0.1, 0.3, 0.4], &[false, false, true, true]).unwrap();
        assert!((t - 0.2).abs() < 1e-6, "{t}");
        // One negative above two positives: the best cut keeps the two positives.
        let t = balanced_threshold(
            &[0.05, 0.12, 0.15, 0.2, 0.3, 0.35],
            &[false, false, true, true, false, true],
        )
        .unwrap();
        assert!(t > 0.12 && t < 0.15, "{t}");
        assert_eq!(balanced_threshold(&[0.1, 0.2], &[true, true]), None);
    }

    use super::*;

    #[test]
    fn auc_of_perfect_random_and_inverted() {
        let l = [false, false, true, true];
        assert_eq!(auc(&[0.1, 0.2, 0.8, 0.9], &l), Some(1.0));
        assert_eq!(auc(&[0.9, 0.8, 0.2, 0.1], &l), Some(0.0));
        assert_eq!(auc(&[0.5, 0.5, 0.5, 0.5], &l), Some(0.5));
        assert_eq!(auc(&[0.1, 0.2], &[true, true]), None);
        // one swap among 2 x 2 pairs
        assert_eq!(auc(&[0.1, 0.6, 0.5, 0.9], &l), Some(0.75));
    }

    #[test]
    fn eer_and_roc_ends() {
        let l = [false, false, true, true];
        let r = roc(&[0.1, 0.2, 0.8, 0.9], &l);
        assert_eq!((r[0].fpr, r[0].tpr), (0.0, 0.0));
        let last = r.last().unwrap();
        assert_eq!((last.fpr, last.tpr), (1.0, 1.0));
        assert_eq!(eer(&r), Some(0.0));
        assert_eq!(accuracy(&[0.1, 0.6, 0.5, 0.9], &l, 0.5), Some(0.75));
    }
}
