//! The top bar: tabs, opening a video, recent videos, export, and the analysis'
//! progress with its Cancel button.

use super::export;
use crate::gui::commands::Cmd;
use crate::gui::settings::Settings;
use crate::gui::state::Tab;
use crate::gui::state::{State, View};
use eframe::egui;
use std::path::PathBuf;

pub fn ui(
    ui: &mut egui::Ui,
    settings: &Settings,
    state: &State,
    view: &mut View,
    cmds: &mut Vec<Cmd>,
) {
    ui.horizontal(|ui| {
        ui.heading("ti2net");
        ui.separator();
        for tab in Tab::ALL {
            ui.selectable_value(&mut view.tab, tab, tab.label());
        }
        ui.separator();
        if ui.button("Open...").clicked() {
            match rfd::FileDialog::new()
                .add_filter("video", crate::video::VIDEO_EXTENSIONS)
                .pick_file()
            {
                Some(p) => cmds.push(Cmd::Open(p)),
                None => cmds.push(Cmd::Message(
                    "no file dialog is available (or it was closed): type the video's path and press Analyse".into(),
                )),
            }
        }
        ui.add(
            egui::TextEdit::singleline(&mut view.path_input)
                .hint_text("video path")
                .desired_width(260.0),
        );
        if ui.button("Analyse").clicked() && !view.path_input.trim().is_empty() {
            cmds.push(Cmd::Open(PathBuf::from(view.path_input.trim())));
        }
        ui.menu_button("Recent", |ui| {
            if settings.recent.is_empty() {
                ui.label("no recent videos");
            }
            for r in &settings.recent {
                if ui.button(r).clicked() {
                    cmds.push(Cmd::Open(PathBuf::from(r)));
                    ui.close();
                }
            }
        });
        ui.menu_button("Export", |ui| export::menu_ui(ui, cmds));
        let a = &state.analysis;
        if a.busy() {
            ui.separator();
            let (done, total) = a
                .progress
                .map(|p| (p.done, p.total.max(1)))
                .unwrap_or((0, 1));
            ui.add(
                egui::ProgressBar::new(done as f32 / total as f32)
                    .desired_width(180.0)
                    .text(format!("{}: {done}/{total} frames", a.stage)),
            );
            if ui.button("Cancel").clicked() {
                cmds.push(Cmd::Cancel);
            }
        } else if !a.stage.is_empty() {
            ui.label(format!("analysis {}", a.stage));
        }
    });
}
