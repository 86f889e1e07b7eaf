//! The Swap tab driven by egui_kittest: a preview of one frame, then a swap of two
//! corpus people made with the buttons, compared with the real video (curves of both,
//! two matrices, two verdicts), and the comparison exported as PNG.
#![cfg(feature = "gui")]

mod common;
use common::*;
use eframe::egui;
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use ti2net::gui::app::Tab;
use ti2net::gui::App;

#[test]
fn the_swap_bench_previews_makes_and_compares_a_swap() {
    let cache = tempfile::tempdir().unwrap();
    // The bench writes its swaps under $XDG_CACHE_HOME/ti2net/swaps.
    std::env::set_var("XDG_CACHE_HOME", cache.path());
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 900.0))
        .build_eframe(|cc| App::new(cc, None));
    {
        let app = h.state_mut();
        assert!(app.state.people.len() >= 8, "the corpus lists eight people");
        app.view.tab = Tab::Swap;
        let f = &mut app.settings.swap;
        f.source = media("woman2.mp4").display().to_string();
        f.target = media("jwpIntro.mp4").display().to_string();
        f.start = 0.0;
        f.length = 5.5;
        f.preview_at = 1.0;
    }
    h.step();
    h.get_by_label("Swap bench");

    h.get_by_label("Preview").click();
    h.step();
    step_until(&mut h, 120, "the preview", |a| !a.state.swap.busy());
    assert!(
        h.state().state.swap.preview.is_some(),
        "{:?}",
        h.state().state.messages
    );

    h.get_by_label("Make swap").click();
    h.step();
    assert!(h.state().state.swap.busy(), "the swap runs on a worker");
    step_until(&mut h, 600, "the swap and its comparison", |a| {
        !a.state.swap.busy()
    });
    let app = h.state();
    let c = app
        .state
        .swap
        .result
        .as_ref()
        .unwrap_or_else(|| panic!("no comparison: {:?}", app.state.messages));
    assert!(c.out.exists());
    assert!(
        c.summary.frames_swapped > 150,
        "{}",
        c.summary.frames_swapped
    );
    assert_eq!(c.real.report.frames.len(), c.fake.report.frames.len());
    assert!(app.state.swap.matrices.is_some());
    // The swap's identity is less steady than the real video's (frame to frame).
    let steady = |r: &ti2net::report::Report| {
        let v: Vec<f32> = r.frames.iter().filter_map(|f| f.sim_previous).collect();
        v.iter().sum::<f32>() / v.len() as f32
    };
    let (real, fake) = (steady(&c.real.report), steady(&c.fake.report));
    eprintln!("mean frame-to-frame similarity: real {real:.3}, swap {fake:.3}");
    assert!(fake < real, "swap {fake:.3} vs real {real:.3}");
    h.get_by_label("Real video");
    h.get_by_label("Face swap");
    assert_eq!(
        h.get_all_by_label_contains("verdict:").count(),
        2,
        "one verdict for each video"
    );

    // A picture of the tab for the README, when asked for.
    if let Ok(p) = std::env::var("TI2NET_SCREENSHOT") {
        h.render()
            .expect("render the window")
            .save(p)
            .expect("save the picture");
    }

    h.get_by_label("Export comparison PNG").click();
    h.step();
    h.step();
    let png = h
        .state()
        .state
        .swap
        .exported
        .clone()
        .expect("the comparison was exported");
    let img = image::open(&png).unwrap();
    assert_eq!((img.width(), img.height()), (1200, 980));
}
