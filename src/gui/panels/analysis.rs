//! The Analysis tab: the frame view in the middle, the face strip below, and the
//! verdict card, identity curves and similarity matrix on the right.

use super::{curves, face_strip, frame_view, matrix, verdict};
use crate::gui::commands::Cmd;
use crate::gui::state::{State, View};
use eframe::egui;

pub fn ui(ui: &mut egui::Ui, state: &State, view: &mut View, cmds: &mut Vec<Cmd>) {
    let a = &state.analysis;
    if a.frames.is_empty() && a.report.is_none() {
        ui.centered_and_justified(|ui| {
            ui.label(if a.busy() {
                "Analysing..."
            } else {
                "Open a video (button, drag and drop, or a typed path) to see its identity over time."
            });
        });
        return;
    }
    egui::Panel::bottom("strip")
        .exact_size(118.0)
        .show(ui, |ui| face_strip::ui(ui, state, view, cmds));
    egui::Panel::right("side")
        .default_size(520.0)
        .resizable(true)
        .show(ui, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| {
                verdict::ui(ui, state, cmds);
                ui.separator();
                curves::ui(ui, state, view, cmds);
                ui.separator();
                matrix::ui(ui, state, view, cmds);
            });
        });
    frame_view::ui(ui, state, view, cmds);
}
