//! Remembered files that have gone away do not hide the analysis: with a saved
//! detector that does not exist, opening a video still shows the frame, the curves and
//! the face strip, and the verdict card names the missing file and offers the shipped
//! detector, another one, or none; missing saved encoder weights fall back to the
//! installed MobileFaceNet, and the card and the report say so; the settings reset to
//! their defaults.
#![cfg(feature = "gui")]

mod common;
use common::*;
use egui_kittest::kittest::Queryable;
use ti2net::gui::app::{Cmd, Settings, Tab};

#[test]
fn a_missing_detector_leaves_the_analysis_and_offers_three_choices() {
    let mut h = harness();
    let gone = std::path::PathBuf::from("/nonexistent/drive/old-detector.safetensors");
    h.state_mut().settings.checkpoint = gone.display().to_string();
    h.state_mut().send(Cmd::Open(media("cap12_12s.mp4")));
    h.step();
    step_until(&mut h, 300, "the analysis", |a| !a.busy());
    let app = h.state();
    let a = &app.state.analysis;
    assert_eq!(a.stage, "done", "messages: {:?}", app.state.messages);
    let r = a.report.as_ref().expect("the analysis ran");
    assert!(r.verdict.is_none());
    assert!(!a.frames.is_empty(), "no frame");
    assert!(app.crop_count() > 100, "face strip: {}", app.crop_count());
    assert!(r.summary.frames_with_face > 100);
    assert_eq!(a.files.missing_checkpoint.as_deref(), Some(gone.as_path()));
    // The card names the file and offers the three choices; the curves are there.
    h.get_by_label_contains("old-detector.safetensors");
    h.get_by_label("Identity over time");
    h.get_by_label("Choose another...");
    h.get_by_label("No detector");
    h.get_by_label("Use the shipped detector").click();
    h.step();
    assert!(h.state().busy(), "analysed again");
    step_until(&mut h, 300, "the analysis with the shipped detector", |a| {
        !a.busy()
    });
    let app = h.state();
    assert!(app.settings.checkpoint.is_empty());
    let v = app.state.analysis.report.as_ref().unwrap().verdict.as_ref();
    assert_eq!(
        v.expect("a verdict").checkpoint_sha256,
        ti2net::models::shipped_detector_sha256()
    );
    assert!(app.state.analysis.files.missing_checkpoint.is_none());
    assert!(h.query_by_label("Use the shipped detector").is_none());

    // "No detector": the curves only, on purpose.
    h.state_mut().settings.checkpoint = gone.display().to_string();
    h.state_mut().send(Cmd::Open(media("cap12_12s.mp4")));
    h.step();
    h.state_mut().send(Cmd::Cancel);
    step_until(&mut h, 60, "the cancel", |a| !a.busy());
    h.state_mut().send(Cmd::NoDetector);
    h.step();
    step_until(&mut h, 300, "the analysis without a detector", |a| {
        !a.busy()
    });
    let app = h.state();
    assert!(app.settings.no_detector);
    assert!(app.state.analysis.files.missing_checkpoint.is_none());
    assert!(app
        .state
        .analysis
        .report
        .as_ref()
        .unwrap()
        .verdict
        .is_none());
}

#[test]
fn missing_encoder_weights_fall_back_to_the_installed_ones_and_say_so() {
    let mut h = harness();
    let gone = "/nonexistent/drive/mobilefacenet-copy.safetensors";
    h.state_mut().settings.weights = gone.into();
    h.state_mut().send(Cmd::Open(media("cap12_12s.mp4")));
    h.step();
    step_until(&mut h, 300, "the analysis", |a| !a.busy());
    let app = h.state();
    let r = app
        .state
        .analysis
        .report
        .as_ref()
        .unwrap_or_else(|| panic!("no report: {:?}", app.state.messages));
    assert_eq!(r.encoder.weights, mobilefacenet_weights());
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains(gone) && w.contains("installed")),
        "{:?}",
        r.warnings
    );
    assert!(r.verdict.is_some(), "the shipped detector still scores it");
    // The setting itself is kept (the drive may come back).
    assert_eq!(app.settings.weights, gone);
    // Said on the verdict card and in the messages.
    assert!(
        h.query_all_by_label_contains("mobilefacenet-copy.safetensors do not exist")
            .count()
            >= 2
    );
}

#[test]
fn reset_settings_returns_to_the_defaults() {
    let mut h = harness();
    {
        let s = &mut h.state_mut().settings;
        s.checkpoint = "/somewhere/else.safetensors".into();
        s.stride = 3;
        s.no_detector = true;
        s.every = 4;
    }
    h.state_mut().view.tab = Tab::Settings;
    h.step();
    h.get_by_label("Reset settings").click();
    h.step();
    let json = |s: &Settings| serde_json::to_value(s).unwrap();
    assert_eq!(json(&h.state().settings), json(&Settings::default()));
    // `ti2net gui --reset-settings` starts from the defaults whatever was remembered.
    let remembered = Settings {
        stride: 5,
        ..Default::default()
    };
    assert_eq!(
        json(&Settings::load(Some(remembered.clone()), true)),
        json(&Settings::default())
    );
    assert_eq!(Settings::load(Some(remembered), false).stride, 5);
    let o = run(&[&"gui", &"--help"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("--reset-settings"));
}
