//! Frame-time statistics: how long each UI pass took and the intervals between
//! passes (the last 240), shown in Settings and printed every 2 s to standard error
//! when `TI2NET_FRAME_STATS` is set.

use eframe::egui;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

const KEEP: usize = 240;

pub struct FrameStats {
    /// Seconds each UI pass took.
    pub times: VecDeque<f32>,
    /// Seconds between the starts of consecutive passes.
    pub intervals: VecDeque<f32>,
    last_pass: Option<Instant>,
    printed: Instant,
}

impl Default for FrameStats {
    fn default() -> Self {
        Self {
            times: VecDeque::new(),
            intervals: VecDeque::new(),
            last_pass: None,
            printed: Instant::now(),
        }
    }
}

fn push(q: &mut VecDeque<f32>, v: f32) {
    if q.len() >= KEEP {
        q.pop_front();
    }
    q.push_back(v);
}

impl FrameStats {
    /// Records a pass that started at `t0` and ends now.
    pub fn record(&mut self, t0: Instant, busy: bool) {
        push(&mut self.times, t0.elapsed().as_secs_f32());
        if let Some(prev) = self.last_pass {
            push(&mut self.intervals, t0.duration_since(prev).as_secs_f32());
        }
        self.last_pass = Some(t0);
        if std::env::var_os("TI2NET_FRAME_STATS").is_some()
            && self.printed.elapsed() > Duration::from_secs(2)
        {
            self.printed = Instant::now();
            eprintln!("{}", self.summary(busy));
        }
    }

    /// Median, 95th percentile and maximum, in one line.
    pub fn summary(&self, busy: bool) -> String {
        let q = |v: &VecDeque<f32>, p: f32| {
            let mut s: Vec<f32> = v.iter().copied().collect();
            s.sort_by(f32::total_cmp);
            s.get(((s.len() as f32 - 1.0) * p).round().max(0.0) as usize)
                .copied()
                .unwrap_or(0.0)
                * 1000.0
        };
        format!(
            "ui pass: median {:.1} ms, p95 {:.1} ms, max {:.1} ms; between passes: median {:.1} ms, p95 {:.1} ms ({} passes, analysis {})",
            q(&self.times, 0.5),
            q(&self.times, 0.95),
            q(&self.times, 1.0),
            q(&self.intervals, 0.5),
            q(&self.intervals, 0.95),
            self.times.len(),
            if busy { "running" } else { "idle" }
        )
    }
}

pub fn ui(ui: &mut egui::Ui, stats: &FrameStats, busy: bool) {
    ui.label(stats.summary(busy));
}
