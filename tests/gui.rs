//! The real app driven by egui_kittest: analysis of the sample clip (curves, strip,
//! verdict card), seeking by clicking the plot, a training run on arcface-r18 vectors
//! whose plot grows, holds still while paused, whose checkpoint says arcface-r18 and is
//! not replaced without asking, and cancelling a running job.
#![cfg(feature = "gui")]

mod common;
use common::*;
use eframe::egui;
use egui_kittest::kittest::Queryable;
use ti2net::gui::app::{Cmd, Tab};

#[test]
fn analysis_curves_strip_verdict_and_seek_by_clicking_the_plot() {
    let mut h = harness();
    h.state_mut().settings.checkpoint = fixture("ti2net_h64.pth").display().to_string();
    h.state_mut().send(Cmd::Open(media("cut.mp4")));
    h.step();
    assert!(h.state().busy(), "the analysis runs on a worker");

    step_until(&mut h, 300, "the analysis", |a| !a.busy());
    let app = h.state();
    assert!(app.state.messages.is_empty(), "{:?}", app.state.messages);
    let r = app.state.analysis.report.as_ref().expect("a report");
    assert_eq!(r.identity_changes.len(), 1);
    assert!(
        app.crop_count() >= 240,
        "face strip crops: {}",
        app.crop_count()
    );
    assert!(r.verdict.is_some());
    h.get_by_label("Identity over time");
    h.get_by_label("Frame-by-frame similarity");
    h.get_by_label_contains("Face strip");
    h.get_by_label_contains("(threshold");
    h.get_by_label_contains("method:");

    // Seek by clicking the curves at 7 s.
    let tr = h
        .state()
        .view
        .curves_transform
        .expect("the curves were drawn");
    let pos = tr.position_from_point(&egui_plot::PlotPoint::new(7.0, 0.5));
    for pressed in [true, false] {
        h.input_mut().events.push(egui::Event::PointerMoved(pos));
        h.input_mut().events.push(egui::Event::PointerButton {
            pos,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: Default::default(),
        });
        h.step();
    }
    h.step();
    let t = h.state().current_time();
    assert!(
        (t - 7.0).abs() < 0.1,
        "clicking the plot at 7 s seeks to {t} s"
    );

    // Keyboard stepping.
    let before = h.state().current_time();
    h.key_press(egui::Key::ArrowRight);
    h.step();
    assert!(h.state().current_time() > before);
}

#[test]
fn a_running_analysis_can_be_cancelled() {
    let mut h = harness();
    h.state_mut().send(Cmd::Open(media("franck.mp4")));
    step_until(&mut h, 120, "the first frames", |a| a.frame_count() > 3);
    h.get_by_label("Cancel").click();
    step_until(&mut h, 60, "the cancellation", |a| !a.busy());
    assert_eq!(h.state().state.analysis.stage, "cancelled");
    assert!(h.state().state.analysis.report.is_none());
}

/// Real and fake identity files from arcface-r18 vectors of two real clips (`analyze
/// --vectors`, then `blend`): different files, each with its provenance sidecar.
fn arcface_dataset(dir: &std::path::Path) -> std::path::PathBuf {
    let mut tracks = Vec::new();
    for clip in ["cap12_12s.mp4", "franck_12s.mp4"] {
        let v = dir.join(format!("{clip}.npy"));
        let o = run(&[
            &"analyze",
            &media(clip),
            &"--json",
            &dir.join(format!("{clip}.json")),
            &"--vectors",
            &v,
            &"--encoder",
            &"arcface-r18",
            &"--weights",
            &fixture("r18_module.pth"),
            &"--every",
            &"2",
            &"--no-upsample",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        tracks.push(v);
    }
    let prefix = dir.join("blend");
    let o = run(&[
        &"blend",
        &tracks[0],
        &tracks[1],
        &"--out",
        &prefix,
        &"--videos",
        &"16",
        &"--len",
        &"140",
        &"--seed",
        &"3",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    prefix
}

#[test]
fn training_panel_runs_and_its_plot_grows() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = arcface_dataset(dir.path()).display().to_string();
    let out = dir.path().join("panel.safetensors");
    let mut h = harness();
    {
        let f = &mut h.state_mut().settings.train;
        f.real_ids = format!("{prefix}_real_ids.npy");
        f.real_lens = format!("{prefix}_real_lens.npy");
        f.fake_ids = format!("{prefix}_fake_ids.npy");
        f.fake_lens = format!("{prefix}_fake_lens.npy");
        f.out = out.display().to_string();
        f.cfg.epochs = 200;
        f.cfg.hidden = 16;
        f.cfg.lr = 1e-3;
    }
    h.state_mut().view.tab = Tab::Training;
    h.step();
    h.get_by_label("Start training").click();
    step_until(&mut h, 60, "the first epoch", |a| {
        !a.state.training.history.is_empty() || !a.state.messages.is_empty()
    });
    assert!(
        h.state().state.messages.is_empty(),
        "{:?}",
        h.state().state.messages
    );
    // Paused, the plot holds still; continued, it grows.
    h.get_by_label("Pause").click();
    h.step();
    std::thread::sleep(std::time::Duration::from_millis(300));
    h.step();
    let paused_at = h.state().state.training.history.len();
    assert!(paused_at < 200, "paused before the end");
    for _ in 0..10 {
        std::thread::sleep(std::time::Duration::from_millis(50));
        h.step();
    }
    assert_eq!(
        h.state().state.training.history.len(),
        paused_at,
        "it trained while paused"
    );
    h.get_by_label("Continue").click();
    step_until(&mut h, 60, "more epochs", |a| {
        a.state.training.history.len() > paused_at
    });
    assert!(h.state().state.training.losses.len() > paused_at);
    h.get_by_label("Stop").click();
    step_until(&mut h, 60, "the end of training", |a| !a.training());
    let status = h.state().state.training.status.clone();
    assert!(status.contains("stopped"), "{status}");
    let done = h.state().state.training.history.len();
    assert!(done > paused_at && done < 200, "{done} epochs");

    // The checkpoint says which encoder made its training vectors (their sidecars).
    let ck = ti2net::classifier::checkpoint::load(&out, &candle_core::Device::Cpu).unwrap();
    assert_eq!(ck.provenance.encoder.as_deref(), Some("arcface-r18"));

    // Start again: the panel asks before replacing the checkpoint; keeping it starts nothing.
    let before = std::fs::read(&out).unwrap();
    h.get_by_label("Start training").click();
    h.step();
    h.step();
    assert!(
        !h.state().training(),
        "started over an existing checkpoint without asking"
    );
    h.get_by_label_contains("already exist");
    h.get_by_label("Keep it").click();
    h.step();
    h.step();
    assert!(h.state().state.training.confirm_replace.is_none());
    assert!(!h.state().training());
    assert_eq!(
        std::fs::read(&out).unwrap(),
        before,
        "the checkpoint was replaced"
    );

    // "Use as detector" sets it as the analysis's checkpoint.
    h.get_by_label("Use as detector").click();
    h.step();
    h.step();
    assert_eq!(h.state().settings.checkpoint, out.display().to_string());
    assert_eq!(h.state().view.tab, Tab::Analysis);
}

#[test]
fn training_panel_extracts_identity_files_from_a_folder() {
    let dir = tempfile::tempdir().unwrap();
    let videos = dir.path().join("real");
    std::fs::create_dir_all(&videos).unwrap();
    std::fs::copy(media("cap12_12s.mp4"), videos.join("one.mp4")).unwrap();
    let mut h = harness();
    {
        let s = &mut h.state_mut().settings;
        s.every = 6;
        s.upsample = false;
        s.train.real_folder = videos.display().to_string();
    }
    h.state_mut().view.tab = Tab::Training;
    h.step();
    h.state_mut().send(Cmd::Extract { fake: false });
    h.step();
    let ids = dir.path().join("real_ti2net_ids.npy");
    step_until(&mut h, 120, "the extraction", |a| {
        !a.settings.train.real_ids.is_empty() || !a.state.messages.is_empty()
    });
    assert!(
        h.state().state.messages.is_empty(),
        "{:?}",
        h.state().state.messages
    );
    assert_eq!(h.state().settings.train.real_ids, ids.display().to_string());
    let lens = ti2net::npy::read_i64(&dir.path().join("real_ti2net_lens.npy")).unwrap();
    assert_eq!(lens, vec![50], "every 6th of 300 frames");
    // A second extraction into the same files is refused, not overwritten.
    h.state_mut().settings.train.real_ids.clear();
    h.state_mut().send(Cmd::Extract { fake: false });
    h.step();
    step_until(&mut h, 60, "the refusal", |a| !a.state.messages.is_empty());
    assert!(
        h.state().state.messages[0].contains("already exists"),
        "{:?}",
        h.state().state.messages
    );
}

#[test]
fn a_bad_file_shows_a_readable_message_in_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("notes.mp4");
    std::fs::write(&bad, "not a video").unwrap();
    let mut h = harness();
    h.state_mut().send(Cmd::Open(bad.clone()));
    h.step();
    step_until(&mut h, 30, "the failure", |a| {
        !a.busy() && !a.state.messages.is_empty()
    });
    let m = h.state().state.messages.join(" ");
    assert!(
        m.contains("notes.mp4") && m.contains("not a readable video"),
        "{m}"
    );
    h.get_by_label_contains("not a readable video");
    assert_eq!(h.state().state.analysis.stage, "failed");
}

/// Opening a video while another is still loading its models does not wait for it
/// on the UI thread. The first job's weights are a named pipe, so its loading blocks
/// (as on a slow network disk) until the test writes to the pipe; the second job,
/// with the real weights, runs meanwhile and its report arrives.
#[test]
fn opening_a_video_while_another_loads_does_not_block_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("slow.safetensors");
    let st = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(st.success());
    let mut h = harness();
    let real = h.state().settings.weights.clone();
    h.state_mut().settings.weights = fifo.display().to_string();
    h.state_mut().send(Cmd::Open(media("franck.mp4")));
    step_until(&mut h, 30, "the models to load", |a| {
        a.state.analysis.stage == "loading models"
    });

    h.state_mut().settings.weights = real;
    // The first job's loading goes on (and fails) in 3 s.
    let writer = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(3));
        let _ = std::fs::write(&fifo, b"not weights");
    });
    let t = std::time::Instant::now();
    h.state_mut().send(Cmd::Open(media("cap12_12s.mp4")));
    h.step();
    let blocked = t.elapsed();
    assert!(
        blocked < std::time::Duration::from_millis(500),
        "the window waited {blocked:?} for the first job"
    );
    step_until(&mut h, 300, "the second analysis", |a| !a.busy());
    writer.join().unwrap();
    let a = &h.state().state.analysis;
    assert!(
        h.state().state.messages.is_empty(),
        "{:?}",
        h.state().state.messages
    );
    let r = a.report.as_ref().expect("a report");
    assert!(
        r.video.path.ends_with("cap12_12s.mp4"),
        "{:?}",
        r.video.path
    );
}

/// Cancel pressed while the models load: the job stops at the end of that step, says
/// "cancelled" (not the loading's own failure), and leaves no report.
#[test]
fn cancel_during_loading() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("slow.safetensors");
    let st = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(st.success());
    let mut h = harness();
    h.state_mut().settings.weights = fifo.display().to_string();
    h.state_mut().send(Cmd::Open(media("cap12_12s.mp4")));
    step_until(&mut h, 30, "the models to load", |a| {
        a.state.analysis.stage == "loading models"
    });
    let t = std::time::Instant::now();
    h.get_by_label("Cancel").click();
    h.step();
    assert!(t.elapsed() < std::time::Duration::from_millis(500));
    // Unblock the loader. It may already have given up (it saw the cancel as soon as
    // the file opened): then the write finds no reader, which is fine.
    match std::fs::write(&fifo, b"not weights") {
        Ok(()) => {}
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}"),
    }
    step_until(&mut h, 60, "the cancellation", |a| !a.busy());
    assert_eq!(h.state().state.analysis.stage, "cancelled");
    assert!(h.state().state.analysis.report.is_none());
    assert!(
        h.state().state.messages.is_empty(),
        "{:?}",
        h.state().state.messages
    );
}
