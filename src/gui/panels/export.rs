//! The Export menu: each entry sends its command (the actions are in `gui::export`).

use crate::gui::commands::Cmd;
use eframe::egui;

/// The Export menu's entries.
pub fn menu_ui(ui: &mut egui::Ui, cmds: &mut Vec<Cmd>) {
    for (label, cmd) in [
        ("Forensic report (HTML + JSON)", Cmd::ExportForensic),
        ("Report (JSON)", Cmd::ExportReport),
        ("Identity curves (PNG)", Cmd::ExportCurves),
        ("Similarity matrix (PNG)", Cmd::ExportHeatmap),
        ("Face crops (PNG folder)", Cmd::ExportCrops),
    ] {
        if ui.button(label).clicked() {
            cmds.push(cmd);
            ui.close();
        }
    }
}
