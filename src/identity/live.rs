//! The similarity curves computed while an analysis runs.

#[allow(unused_imports)]
use super::*;

/// The previous-frame and windowed similarity curves computed as identity vectors
/// arrive in time order (the workbench draws them while the analysis runs; the final
/// report computes them again over the whole track). Memory: the vectors of two
/// windows.
pub struct LiveCurves {
    params: ChangeParams,
    /// (analysed-frame position, time, unit vector) of the last two windows.
    buf: std::collections::VecDeque<(usize, f64, Vec<f32>)>,
    /// Time of the next window centre to compute (the first frame not yet done).
    next_centre: usize,
    last: Option<(usize, Vec<f32>)>,
}

/// What one new vector adds to the live curves.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LivePoints {
    /// (time, similarity to the previous analysed frame), when that frame had a face.
    pub previous: Option<(f64, f32)>,
    /// (time, window similarity) of the frames whose after-window is now complete.
    pub window: Vec<(f64, f32)>,
}

impl LiveCurves {
    pub fn new(params: ChangeParams) -> Self {
        Self {
            params,
            buf: Default::default(),
            next_centre: 0,
            last: None,
        }
    }

    /// Adds the vector of analysed frame `pos` (0, 1, 2, ... over the analysed
    /// frames) at `time`.
    pub fn push(&mut self, pos: usize, time: f64, v: &[f32]) -> LivePoints {
        let u = unit(v);
        let mut out = LivePoints::default();
        if let Some((p, prev)) = &self.last {
            if *p + 1 == pos {
                out.previous = Some((time, dot(prev, &u)));
            }
        }
        self.last = Some((pos, u.clone()));
        self.buf.push_back((pos, time, u));
        let w = self.params.window_s;
        // Frames a full window holds, from the mean spacing in the buffer.
        let span = self.buf.back().map(|b| b.1).unwrap_or(0.0)
            - self.buf.front().map(|b| b.1).unwrap_or(0.0);
        let spacing = if self.buf.len() > 1 {
            (span / (self.buf.len() - 1) as f64).max(1e-6)
        } else {
            1.0
        };
        let need = ((w / spacing) * self.params.min_fill).ceil().max(2.0) as usize;
        // Every centre whose after-window [c, c + w) is complete (a vector at or past
        // c + w has arrived).
        while self.next_centre < self.buf.len() {
            let c = self.buf[self.next_centre].1;
            if time < c + w - 1e-9 {
                break;
            }
            let mut before = vec![0f32; u_len(&self.buf)];
            let mut after = before.clone();
            let (mut nb, mut na) = (0usize, 0usize);
            for (_, t, x) in &self.buf {
                let acc = if *t < c && *t >= c - w - 1e-9 {
                    nb += 1;
                    &mut before
                } else if *t >= c && *t < c + w - 1e-9 {
                    na += 1;
                    &mut after
                } else {
                    continue;
                };
                for (a, b) in acc.iter_mut().zip(x) {
                    *a += b;
                }
            }
            if nb >= need && na >= need {
                out.window.push((c, cosine(&before, &after)));
            }
            self.next_centre += 1;
        }
        // Forget what no future window needs.
        while let (Some(f), true) = (self.buf.front(), self.next_centre > 0) {
            let c = self.buf[self.next_centre.min(self.buf.len() - 1)].1;
            if f.1 < c - w - 1e-9 {
                self.buf.pop_front();
                self.next_centre -= 1;
            } else {
                break;
            }
        }
        out
    }
}

fn u_len(buf: &std::collections::VecDeque<(usize, f64, Vec<f32>)>) -> usize {
    buf.front().map(|b| b.2.len()).unwrap_or(0)
}

#[cfg(test)]
mod live_tests {
    use super::*;

    #[test]
    fn live_curves_match_the_final_ones() {
        // Two identities: 0..50 one, 50..100 another (with a little noise), 25 fps.
        let dim = 16;
        let mut rng = 12345u64;
        let mut noise = || {
            rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1);
            ((rng >> 33) as f32 / (1u64 << 31) as f32 - 0.5) * 0.2
        };
        let vecs: Vec<Vec<f32>> = (0..100)
            .map(|i| {
                (0..dim)
                    .map(|k| {
                        let base = if (i < 50) == (k < dim / 2) { 1.0 } else { 0.0 };
                        base + noise()
                    })
                    .collect()
            })
            .collect();
        let times: Vec<f64> = (0..100).map(|i| i as f64 / 25.0).collect();
        let p = ChangeParams::default();
        let fin = window_similarity(&times, &vecs, &p);
        let mut live = LiveCurves::new(p);
        let mut got = Vec::new();
        let mut prevs = 0;
        for (i, v) in vecs.iter().enumerate() {
            let pts = live.push(i, times[i], v);
            prevs += pts.previous.is_some() as usize;
            got.extend(pts.window);
        }
        assert_eq!(prevs, 99);
        assert!(!got.is_empty());
        for (t, s) in &got {
            let i = (t * 25.0).round() as usize;
            let f = fin[i].expect("the final curve has this point");
            assert!((f - s).abs() < 1e-4, "at {t}: live {s} final {f}");
        }
        // The dip at the change is there live.
        let low = got.iter().map(|g| g.1).fold(f32::MAX, f32::min);
        assert!(low < 0.3, "{low}");
    }
}
