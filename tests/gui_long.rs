//! A long video in the workbench: the frames and the face strip it keeps are capped
//! (every n-th frame beyond the cap), so memory stays flat, and the strip still covers
//! the whole video.
#![cfg(feature = "gui")]

mod common;
use common::*;
use eframe::egui;
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use ti2net::gui::app::Cmd;
use ti2net::gui::job::{MAX_CROPS, MAX_FRAMES};
use ti2net::gui::App;

fn rss_bytes() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = s
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap();
    kb * 1024
}

#[test]
fn a_long_video_keeps_capped_frames_and_strip_tiles() {
    let dir = tempfile::tempdir().unwrap();
    // 20 minutes at 2 frames a second: 2,400 analysed frames, over both caps.
    let clip = moving_face_clip(dir.path(), 1200);
    let mut h: Harness<'_, App> = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_eframe(|cc| App::new(cc, None));
    h.state_mut().settings.checkpoint = String::new();
    h.step();
    let before = rss_bytes();
    h.state_mut().send(Cmd::Open(clip));
    h.step();
    assert!(h.state().busy());
    step_until(&mut h, 600, "the analysis", |a| !a.busy());
    let app = h.state();
    assert!(app.state.messages.is_empty(), "{:?}", app.state.messages);
    let a = &app.state.analysis;
    let r = a.report.as_ref().unwrap();
    assert_eq!(r.frames.len(), 2400);
    assert!(
        a.frames.len() <= MAX_FRAMES,
        "{} frames kept",
        a.frames.len()
    );
    assert!(a.tiles.len() <= MAX_CROPS, "{} strip tiles", a.tiles.len());
    assert!(a.crops.len() <= MAX_CROPS && a.crop_images.len() <= MAX_CROPS);
    // The strip covers the whole video: its last tile is near the end.
    let last = a.tiles.last().unwrap().1;
    assert!(last > 1190.0, "the strip stops at {last} s");
    h.get_by_label_contains("one analysed frame in 2");
    let grown = rss_bytes().saturating_sub(before);
    eprintln!("resident memory grew by {:.0} MB", grown as f64 / 1e6);
    assert!(grown < 700_000_000, "grew by {grown} bytes");
}

#[test]
fn the_curves_grow_while_the_analysis_runs() {
    let mut h: Harness<'_, App> = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_eframe(|cc| App::new(cc, None));
    // 200 s of video: still running while we look.
    h.state_mut().send(Cmd::Open(media("franck.mp4")));
    h.step();
    step_until(&mut h, 300, "a window of curves", |a| {
        a.state.analysis.live_window.len() > 5
    });
    let a = &h.state().state.analysis;
    assert!(h.state().busy(), "the analysis should still run");
    assert!(a.report.is_none());
    let (p1, w1) = (a.live_previous.len(), a.live_window.len());
    assert!(p1 > w1, "previous-frame points come first ({p1}, {w1})");
    // One steady face: the live curves are high.
    assert!(
        a.live_previous.iter().all(|p| p[1] > 0.5),
        "{:?}",
        &a.live_previous[..5]
    );
    h.get_by_label_contains("analysing: the reference curve");
    step_until(&mut h, 300, "more points", |a| {
        a.state.analysis.live_window.len() > w1 + 10
    });
    assert!(h.state().state.analysis.live_previous.len() > p1);
    // Times grow.
    let w = &h.state().state.analysis.live_window;
    assert!(w.windows(2).all(|p| p[1][0] > p[0][0]));
    h.state_mut().send(Cmd::Cancel);
    step_until(&mut h, 60, "the cancel", |a| !a.busy());
}
