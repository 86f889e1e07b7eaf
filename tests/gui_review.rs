//! The Review tab driven by egui_kittest: a folder of two real clips opened with a
//! table, the first video analysed in the background (and the second prepared), a
//! reason chosen and the whole video flagged by keyboard, a frame range dragged on
//! the curves and flagged with R, the next video with N, and the exported table
//! holding both flags.
#![cfg(feature = "gui")]

mod common;
use common::*;
use eframe::egui;
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use ti2net::gui::app::{Cmd, Tab};
use ti2net::gui::review::ReviewCmd;
use ti2net::gui::App;
use ti2net::review::{Frames, Reason, Status, Table};

fn drag(h: &mut Harness<'_, App>, from: egui::Pos2, to: egui::Pos2) {
    let button = |pos, pressed| egui::Event::PointerButton {
        pos,
        button: egui::PointerButton::Primary,
        pressed,
        modifiers: Default::default(),
    };
    h.input_mut().events.push(egui::Event::PointerMoved(from));
    h.step();
    h.input_mut().events.push(button(from, true));
    h.step();
    for k in 1..=8 {
        let p = from + (to - from) * (k as f32 / 8.0);
        h.input_mut().events.push(egui::Event::PointerMoved(p));
        h.step();
    }
    h.input_mut().events.push(button(to, false));
    h.step();
}

#[test]
fn flag_a_video_and_a_frame_range_by_keyboard_and_export_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let set = dir.path().join("set");
    clip("cap12_12s.mp4", 1.0, 2.0, &set.join("real/a.mp4"));
    clip("franck_12s.mp4", 1.0, 2.0, &set.join("fake/b.mp4"));
    // A long one, to cancel.
    std::fs::copy(media("franck.mp4"), set.join("real/c.mp4")).unwrap();
    let table = dir.path().join("table.json");
    // A suggestion from an earlier `review --suggest`, to accept with A.
    let mut t = Table::default();
    t.entries.push(ti2net::review::Entry {
        dataset: "set".into(),
        video: "fake/b.mp4".into(),
        label: ti2net::review::Label::Fake,
        frames: Some(Frames::new(0, 5)),
        reason: Reason::NoFace,
        status: Status::Suggested,
        note: "from --suggest".into(),
        annotator: "ti2net".into(),
        time: "2026-01-01T00:00:00Z".into(),
    });
    std::fs::write(&table, t.to_json()).unwrap();

    let mut h = Harness::builder()
        .with_size(egui::vec2(1400.0, 900.0))
        .build_eframe(|cc| App::new(cc, None));
    {
        let app = h.state_mut();
        app.view.tab = Tab::Review;
        let f = &mut app.settings.review;
        f.dir = set.display().to_string();
        f.table = table.display().to_string();
        f.annotator = "erin".into();
        f.every = 2;
        app.settings.upsample = false;
        app.send(Cmd::Review(ReviewCmd::Open));
    }
    h.step();
    let session = |a: &App| a.state.review.session.is_some();
    assert!(session(h.state()), "{:?}", h.state().state.messages);
    h.step();
    h.step();
    h.get_by_label_contains("0 of 3 reviewed");
    step_until(&mut h, 240, "the first video's analysis", |a| {
        a.state
            .review
            .session
            .as_ref()
            .is_some_and(|s| s.cache.contains_key("fake/b.mp4"))
    });
    let s = h.state().state.review.session.as_ref().unwrap();
    assert_eq!(s.current().rel, "fake/b.mp4");
    assert!(
        s.cache["fake/b.mp4"].crops.len() >= 20,
        "crops in the strip"
    );

    // 3: several faces; F flags the whole video.
    h.key_press(egui::Key::Num3);
    h.step();
    h.key_press(egui::Key::F);
    h.step();
    h.step();

    // Drag on the curves from frame 10 to frame 30, then R.
    let tr = h
        .state()
        .view
        .review
        .curves_transform
        .expect("the curves were drawn");
    let at = |frame: f64| tr.position_from_point(&egui_plot::PlotPoint::new(frame, 0.5));
    drag(&mut h, at(10.0), at(30.0));
    let sel = h.state().view.review.selection.expect("a selection");
    assert!(
        sel.first.abs_diff(10) <= 2 && sel.last.abs_diff(30) <= 2,
        "{sel:?}"
    );
    h.key_press(egui::Key::Num4);
    h.step();
    h.key_press(egui::Key::R);
    h.step();
    h.step();

    // A accepts the first pending suggestion.
    h.key_press(egui::Key::A);
    h.step();
    h.step();

    // Saved after every action.
    let t = Table::read(&table).unwrap();
    assert_eq!(
        (t.entries[0].status, t.entries[0].annotator.as_str()),
        (Status::Flagged, "erin")
    );
    let mine: Vec<_> = t
        .entries
        .iter()
        .skip(1)
        .filter(|e| e.annotator == "erin")
        .collect();
    assert_eq!(mine.len(), 2, "{:?}", t.entries);
    assert_eq!(
        (
            mine[0].video.as_str(),
            mine[0].frames,
            mine[0].reason,
            mine[0].status
        ),
        ("fake/b.mp4", None, Reason::SeveralFaces, Status::Flagged)
    );
    assert_eq!(
        (mine[1].video.as_str(), mine[1].frames, mine[1].reason),
        ("fake/b.mp4", Some(sel), Reason::BadCrops)
    );
    assert_eq!(mine[1].label, ti2net::review::Label::Fake);

    // The accepted suggestion's note, edited in the window: Edit note, type, Enter.
    // The typed letters are text, not shortcuts (no R flag, no reason change).
    let flags_before = Table::read(&table).unwrap().entries.len();
    h.get_all_by_label("Edit note")
        .next()
        .expect("the entries have notes")
        .click();
    h.step();
    h.step();
    h.input_mut()
        .events
        .push(egui::Event::Text(" (blurry, r 2)".into()));
    h.step();
    h.key_press(egui::Key::Enter);
    h.step();
    h.step();
    let t = Table::read(&table).unwrap();
    assert_eq!(t.entries.len(), flags_before, "{:?}", t.entries);
    assert_eq!(t.entries[0].note, "from --suggest (blurry, r 2)");
    assert!(h.state().view.review.editing_note.is_none());

    // A picture of the tab for the README, when asked for.
    if let Ok(p) = std::env::var("TI2NET_SCREENSHOT") {
        h.render()
            .expect("render the window")
            .save(p)
            .expect("save the picture");
    }

    // N: reviewed, on to the next video, prepared in the background meanwhile.
    h.key_press(egui::Key::N);
    h.step();
    h.step();
    h.get_by_label_contains("1 of 3 reviewed");
    assert_eq!(
        h.state()
            .state
            .review
            .session
            .as_ref()
            .unwrap()
            .current()
            .rel,
        "real/a.mp4"
    );
    step_until(&mut h, 240, "the second video's analysis", |a| {
        a.state
            .review
            .session
            .as_ref()
            .is_some_and(|s| s.cache.contains_key("real/a.mp4"))
    });

    h.get_by_label("Export CSV + JSON").click();
    h.step();
    h.step();
    let csv = std::fs::read_to_string(dir.path().join("table-export-1.csv")).unwrap();
    assert!(
        csv.contains(",fake/b.mp4,fake,,several_faces,flagged,,erin,"),
        "{csv}"
    );
    assert!(
        csv.contains(&format!(
            ",fake/b.mp4,fake,{},bad_crops,flagged,,erin,",
            sel.text()
        )),
        "{csv}"
    );
    let json = Table::read(&dir.path().join("table-export-1.json")).unwrap();
    assert_eq!(json.entries, Table::read(&table).unwrap().entries);
    assert!(json
        .reviewed
        .iter()
        .any(|r| r.video == "fake/b.mp4" && r.annotator == "erin"));

    // Coming back is instant (cached), and a reopened session finds the analysis on disk.
    h.key_press(egui::Key::P);
    h.step();
    assert!(h
        .state()
        .state
        .review
        .session
        .as_ref()
        .unwrap()
        .cache
        .contains_key("fake/b.mp4"));
    h.state_mut().send(Cmd::Review(ReviewCmd::Open));
    h.step();
    let s = h.state().state.review.session.as_ref().unwrap();
    assert_eq!(
        s.current().rel,
        "real/a.mp4",
        "the first video nobody reviewed"
    );
    assert!(
        s.cache.contains_key("real/a.mp4"),
        "read from {}.analyses",
        table.display()
    );

    // The long video is prepared in the background; going to it shows its progress,
    // and Cancel stops it (Retry starts again).
    h.key_press(egui::Key::N);
    step_until(&mut h, 120, "the long video's analysis", |a| {
        a.state
            .review
            .session
            .as_ref()
            .is_some_and(|s| s.analysing.as_deref() == Some("real/c.mp4") && s.progress.0 > 0)
    });
    assert_eq!(
        h.state()
            .state
            .review
            .session
            .as_ref()
            .unwrap()
            .current()
            .rel,
        "real/c.mp4"
    );
    h.get_by_label("Cancel").click();
    h.step();
    h.step();
    let s = h.state().state.review.session.as_ref().unwrap();
    assert_eq!(
        s.failed.get("real/c.mp4").map(String::as_str),
        Some("cancelled")
    );
    assert!(s.analysing.is_none() && !s.cache.contains_key("real/c.mp4"));
    h.get_by_label("Retry").click();
    step_until(&mut h, 120, "the analysis again", |a| {
        a.state
            .review
            .session
            .as_ref()
            .is_some_and(|s| s.analysing.as_deref() == Some("real/c.mp4"))
    });
}
