//! The Settings tab: encoder, models, detector, device and analysis options; and the
//! frame-time readout.

use super::stats::FrameStats;
use crate::encoder::EncoderKind;
use crate::gui::settings::Settings;
use crate::gui::state::State;
use eframe::egui;

pub fn ui(
    ui: &mut egui::Ui,
    s: &mut Settings,
    state: &State,
    stats: &FrameStats,
    cmds: &mut Vec<crate::gui::commands::Cmd>,
) {
    egui::Grid::new("settings")
        .num_columns(2)
        .spacing([12.0, 8.0])
        .show(ui, |ui| {
            ui.label("Encoder");
            egui::ComboBox::from_id_salt("encoder")
                .selected_text(s.encoder.name())
                .show_ui(ui, |ui| {
                    ui.selectable_value(
                        &mut s.encoder,
                        EncoderKind::Mobilefacenet,
                        "mobilefacenet",
                    );
                    ui.selectable_value(&mut s.encoder, EncoderKind::ArcfaceR18, "arcface-r18");
                });
            ui.end_row();
            ui.label("Encoder weights");
            ui.add(egui::TextEdit::singleline(&mut s.weights).desired_width(420.0));
            ui.end_row();
            ui.label("Landmark model");
            ui.add(egui::TextEdit::singleline(&mut s.landmarks).desired_width(420.0));
            ui.end_row();
            ui.label("TI2Net checkpoint");
            ui.add(
                egui::TextEdit::singleline(&mut s.checkpoint)
                    .hint_text("empty: the shipped detector (with MobileFaceNet)")
                    .desired_width(420.0),
            );
            ui.end_row();
            ui.label("");
            ui.checkbox(&mut s.no_detector, "No detector (identity curves only)");
            ui.end_row();
            ui.label("Device");
            ui.horizontal(|ui| {
                ui.selectable_value(&mut s.cuda, false, "CPU");
                let cuda_ok = cfg!(feature = "cuda");
                ui.add_enabled_ui(cuda_ok, |ui| ui.selectable_value(&mut s.cuda, true, "CUDA"))
                    .response
                    .on_disabled_hover_text(
                        "this build has no CUDA support (cargo build --features cuda)",
                    );
            });
            ui.end_row();
            ui.label("Analyse every N-th frame");
            ui.add(egui::DragValue::new(&mut s.every).range(1..=100));
            ui.end_row();
            ui.label("Upsample before detection");
            ui.checkbox(&mut s.upsample, "finds small faces, 4x slower");
            ui.end_row();
            ui.label("Window stride (face frames)");
            ui.add(egui::DragValue::new(&mut s.stride).range(1..=127));
            ui.end_row();
            ui.label("Decision threshold");
            ui.horizontal(|ui| {
                ui.checkbox(&mut s.threshold_from_checkpoint, "the checkpoint's")
                    .on_hover_text("The threshold calibrated when the checkpoint was made (the demo detector's is in its model card); 0.5 for checkpoints without one.");
                ui.add_enabled(
                    !s.threshold_from_checkpoint,
                    egui::Slider::new(&mut s.threshold, 0.05..=0.95),
                );
            });
            ui.end_row();
            ui.label("Claimed person")
                .on_hover_text("Genuine photos or videos of the person the video claims to show: a third curve gives every frame's similarity to them.");
            ui.vertical(|ui| {
                for r in &s.reference {
                    ui.label(
                        std::path::Path::new(r)
                            .file_name()
                            .map(|n| n.to_string_lossy().to_string())
                            .unwrap_or_else(|| r.clone()),
                    )
                    .on_hover_text(r);
                }
                ui.horizontal(|ui| {
                    if ui.button("Add photos or videos...").clicked() {
                        if let Some(files) = rfd::FileDialog::new()
                            .add_filter(
                                "photos and videos",
                                &["jpg", "jpeg", "png", "webp", "bmp", "mp4", "mov", "mkv", "webm", "avi"],
                            )
                            .pick_files()
                        {
                            s.reference
                                .extend(files.into_iter().map(|f| f.display().to_string()));
                        }
                    }
                    if !s.reference.is_empty() && ui.button("Clear").clicked() {
                        s.reference.clear();
                    }
                });
            });
            ui.end_row();
        });
    ui.horizontal(|ui| {
        ui.label("Settings apply to the next analysis and are remembered between runs.");
        if ui.button("Reset settings").clicked() {
            cmds.push(crate::gui::commands::Cmd::ResetSettings);
        }
    });
    ui.separator();
    super::stats::ui(ui, stats, state.analysis.busy());
}
