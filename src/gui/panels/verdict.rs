//! The verdict card: the detector's label, fake probability and provenance; and what
//! became of remembered files that have gone away.

use crate::gui::commands::Cmd;
use crate::gui::state::State;
use eframe::egui::{self, Color32};

const WARN: Color32 = Color32::from_rgb(230, 170, 60);

pub fn ui(ui: &mut egui::Ui, state: &State, cmds: &mut Vec<Cmd>) {
    ui.heading("Verdict");
    let files = &state.analysis.files;
    if let Some(c) = &files.missing_checkpoint {
        ui.colored_label(
            WARN,
            format!(
                "The detector {} (remembered in Settings) does not exist: this analysis has no verdict.",
                c.display()
            ),
        );
        ui.horizontal(|ui| {
            if ui.button("Use the shipped detector").clicked() {
                cmds.push(Cmd::UseShippedDetector);
            }
            if ui.button("Choose another...").clicked() {
                cmds.push(Cmd::ChooseCheckpoint);
            }
            if ui.button("No detector").clicked() {
                cmds.push(Cmd::NoDetector);
            }
        });
    }
    for f in &files.fallbacks {
        ui.colored_label(WARN, f);
    }
    let Some(r) = &state.analysis.report else {
        ui.label("waiting for the analysis to finish");
        return;
    };
    ui.label(format!(
        "encoder {} (weights sha256 {}...)",
        r.encoder.name,
        &r.encoder.weights_sha256[..12.min(r.encoder.weights_sha256.len())]
    ));
    let Some(v) = &r.verdict else {
        if files.missing_checkpoint.is_some() {
            return; // said above, with the choices
        }
        ui.colored_label(WARN, "No detector loaded.");
        ui.label("Load a TI2Net checkpoint in Settings, or train one in the Training tab; the identity curves below work without it.");
        return;
    };
    let (text, color) = match v.label.as_str() {
        "fake" => ("FAKE", Color32::from_rgb(230, 80, 70)),
        "real" => ("REAL", Color32::from_rgb(90, 200, 120)),
        _ => ("UNDETERMINED", Color32::GRAY),
    };
    ui.horizontal(|ui| {
        ui.label(egui::RichText::new(text).size(22.0).strong().color(color));
        if let Some(p) = v.p_fake {
            ui.label(format!(
                "fake probability {p:.3} (threshold {:.2}); majority of windows: {}",
                v.threshold,
                v.majority_label.as_deref().unwrap_or("-")
            ));
        }
    });
    ui.label(format!("method: {}", v.method));
    ui.label(format!(
        "checkpoint {} (sha256 {}...), trained on {}",
        v.checkpoint.display(),
        &v.checkpoint_sha256[..12.min(v.checkpoint_sha256.len())],
        v.checkpoint_encoder.as_deref().unwrap_or("unknown vectors")
    ));
    if let Some(d) = &v.detector {
        ui.label(d);
    }
    if let Some(n) = &v.note {
        ui.label(n);
    }
}
