//! The messages bar at the bottom: the last three errors or notices, and Dismiss; and
//! a forensic report being written.

use crate::gui::commands::Cmd;
use crate::gui::state::State;
use eframe::egui::{self, Color32};

pub fn ui(ui: &mut egui::Ui, state: &State, cmds: &mut Vec<Cmd>) {
    if state.forensic.is_some() {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label("Writing the forensic report (hashing the video, drawing the pictures)...");
        });
    }
    if state.messages.is_empty() {
        return;
    }
    ui.horizontal(|ui| {
        ui.colored_label(Color32::from_rgb(230, 120, 60), "Attention");
        ui.vertical(|ui| {
            for m in state.messages.iter().rev().take(3) {
                ui.label(m);
            }
        });
        if ui.button("Dismiss").clicked() {
            cmds.push(Cmd::DismissMessages);
        }
    });
}
