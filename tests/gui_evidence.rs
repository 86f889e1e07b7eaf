//! The workbench's analyst tools: the claimed person (a third curve and its
//! conclusion) and Export > Forensic report (written in the background, never over an
//! earlier one), on a real clip.
#![cfg(feature = "gui")]

mod common;
use common::*;
use eframe::egui;
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use ti2net::gui::app::Cmd;
use ti2net::gui::App;

#[test]
fn the_claimed_person_is_compared_and_the_forensic_report_exported() {
    let mut h: Harness<'_, App> = Harness::builder()
        .with_size(egui::vec2(1280.0, 900.0))
        .build_eframe(|cc| App::new(cc, None));
    {
        let s = &mut h.state_mut().settings;
        s.every = 3;
        s.reference = vec![
            photo("obama.jpg").display().to_string(),
            photo("obama2.jpg").display().to_string(),
        ];
    }
    let video = media("obama_speech.mp4");
    h.state_mut().send(Cmd::Open(video.clone()));
    h.step();
    step_until(&mut h, 300, "the analysis", |a| !a.busy());
    let app = h.state();
    assert!(app.state.messages.is_empty(), "{:?}", app.state.messages);
    let r = app.state.analysis.report.as_ref().expect("a report");
    let c = r.claimed.as_ref().expect("the claimed person was compared");
    assert_eq!(c.conclusion, "consistent", "{c:?}");
    assert!(r.frames.iter().filter(|f| f.sim_claimed.is_some()).count() > 20);
    h.get_by_label_contains("Claimed person: the subject is consistent");

    // Export > Forensic report, into a folder (the dialog's choice): written on a
    // worker thread while the window goes on drawing, then announced.
    let dir = tempfile::tempdir().unwrap();
    h.state_mut()
        .send(Cmd::ExportForensicTo(dir.path().to_path_buf()));
    h.step();
    assert!(
        h.state().state.forensic.is_some(),
        "the report is written by a worker: {:?}",
        h.state().state.messages
    );
    step_until(&mut h, 60, "the forensic report", |a| {
        a.state.forensic.is_none()
    });
    let page = dir.path().join("obama_speech.report.html");
    assert_eq!(
        h.state().state.messages,
        vec![format!("forensic report written: {}", page.display())]
    );
    let html = std::fs::read_to_string(&page).unwrap();
    let hash = ti2net::fsutil::sha256_file(&video).unwrap();
    assert!(html.contains(&format!("<code id=\"sha256\">{hash}</code>")));
    assert!(html.contains("The claimed person"));
    let j = read_json(&dir.path().join("obama_speech.report.json"));
    assert_eq!(j["analysis"]["claimed"]["conclusion"], "consistent");
    assert!(!j["contact_sheet"].as_array().unwrap().is_empty());
    // A second export into the same folder does not overwrite the first.
    let before = std::fs::read(&page).unwrap();
    h.state_mut()
        .send(Cmd::ExportForensicTo(dir.path().to_path_buf()));
    h.step();
    step_until(&mut h, 60, "the refusal", |a| a.state.forensic.is_none());
    let last = h.state().state.messages.last().cloned().unwrap_or_default();
    assert!(last.contains("already exists"), "{last}");
    assert_eq!(std::fs::read(&page).unwrap(), before);
}
