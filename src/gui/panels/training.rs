//! The Training tab: identity files from folders of videos, the training form with
//! start, resume, pause and stop, and the loss, validation and ROC plots.

use crate::gui::commands::Cmd;
use crate::gui::state::{State, TrainingState};
use crate::gui::training::TrainForm;
use eframe::egui::{self, Color32};
use egui_plot::{Line, Plot, PlotPoints};
use std::path::PathBuf;

pub fn ui(ui: &mut egui::Ui, form: &mut TrainForm, state: &State, cmds: &mut Vec<Cmd>) {
    let tr = &state.training;
    egui::Panel::left("train-form")
        .default_size(440.0)
        .min_size(400.0)
        .show(ui, |ui| {
            extract_ui(ui, form, tr, cmds);
            ui.separator();
            form_ui(ui, form, tr, cmds);
        });
    plots_ui(ui, tr);
}

/// Identity files from the real and fake folders of videos.
fn extract_ui(ui: &mut egui::Ui, form: &mut TrainForm, tr: &TrainingState, cmds: &mut Vec<Cmd>) {
    let busy = tr.extracting() || tr.running();
    ui.label("Identity files from folders of videos (optional)");
    egui::Grid::new("extract-grid")
        .num_columns(3)
        .spacing([10.0, 6.0])
        .show(ui, |ui| {
            for (label, fake) in [("Real videos folder", false), ("Fake videos folder", true)] {
                ui.label(label);
                let v = if fake {
                    &mut form.fake_folder
                } else {
                    &mut form.real_folder
                };
                ui.add_sized(
                    [220.0, 20.0],
                    egui::TextEdit::singleline(v).hint_text("a folder of videos"),
                );
                let ok = !v.trim().is_empty() && !busy;
                if ui.add_enabled(ok, egui::Button::new("Extract")).clicked() {
                    cmds.push(Cmd::Extract { fake });
                }
                ui.end_row();
            }
        });
    if tr.extracting() {
        ui.horizontal(|ui| {
            let (d, t) = tr.extract_progress;
            let frac = if t > 0 { d as f32 / t as f32 } else { 0.0 };
            ui.add(
                egui::ProgressBar::new(frac)
                    .desired_width(220.0)
                    .text(format!("extracting: {d}/{t} videos")),
            );
            if ui.button("Cancel extraction").clicked() {
                cmds.push(Cmd::CancelExtraction);
            }
        });
    }
}

/// The training data, hyperparameters and the buttons that run the training.
fn form_ui(ui: &mut egui::Ui, f: &mut TrainForm, tr: &TrainingState, cmds: &mut Vec<Cmd>) {
    let running = tr.running();
    ui.add_enabled_ui(!running, |ui| {
        egui::Grid::new("train-grid")
            .num_columns(2)
            .spacing([10.0, 6.0])
            .show(ui, |ui| {
                for (label, v) in [
                    ("Real identities (.npy)", &mut f.real_ids),
                    ("Real lengths (.npy)", &mut f.real_lens),
                    ("Fake identities (.npy)", &mut f.fake_ids),
                    ("Fake lengths (.npy)", &mut f.fake_lens),
                    ("Checkpoint to write", &mut f.out),
                ] {
                    ui.label(label);
                    ui.add(egui::TextEdit::singleline(v).desired_width(240.0));
                    ui.end_row();
                }
                ui.label("Epochs");
                ui.add(egui::DragValue::new(&mut f.cfg.epochs).range(1..=10000));
                ui.end_row();
                ui.label("Learning rate");
                ui.add(
                    egui::DragValue::new(&mut f.cfg.lr)
                        .speed(1e-6)
                        .range(1e-7..=1e-1),
                );
                ui.end_row();
                ui.label("Triplets per batch");
                ui.add(egui::DragValue::new(&mut f.cfg.batch).range(1..=256));
                ui.end_row();
                ui.label("GRU hidden size");
                ui.add(egui::DragValue::new(&mut f.cfg.hidden).range(8..=2048));
                ui.end_row();
                ui.label("Seed");
                ui.add(egui::DragValue::new(&mut f.cfg.seed));
                ui.end_row();
                ui.label("Triplet margin / weight");
                ui.horizontal(|ui| {
                    ui.add(egui::DragValue::new(&mut f.cfg.margin).speed(0.01));
                    ui.add(egui::DragValue::new(&mut f.cfg.triplet_weight).speed(0.01));
                });
                ui.end_row();
            });
    });
    ui.horizontal(|ui| {
        if !running {
            if ui.button("Start training").clicked() {
                cmds.push(Cmd::StartTraining {
                    resume: false,
                    replace: false,
                });
            }
            if ui
                .button("Resume")
                .on_hover_text("continue from the checkpoint's saved state")
                .clicked()
            {
                cmds.push(Cmd::StartTraining {
                    resume: true,
                    replace: false,
                });
            }
        } else {
            let paused = tr.paused();
            if ui
                .button(if paused { "Continue" } else { "Pause" })
                .clicked()
            {
                cmds.push(Cmd::PauseTraining(!paused));
            }
            if ui.button("Stop").clicked() {
                cmds.push(Cmd::StopTraining);
            }
        }
        let out = PathBuf::from(f.out.trim());
        if ui
            .add_enabled(
                !running && out.exists(),
                egui::Button::new("Use as detector"),
            )
            .clicked()
        {
            cmds.push(Cmd::UseCheckpoint(out));
        }
    });
    if let Some(files) = &tr.confirm_replace {
        let names: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
        ui.colored_label(
            Color32::from_rgb(240, 160, 40),
            format!(
                "{} already exist(s) from an earlier training: replace, or resume it, or set another checkpoint name.",
                names.join(" and ")
            ),
        );
        ui.horizontal(|ui| {
            if ui.button("Replace and start").clicked() {
                cmds.push(Cmd::StartTraining {
                    resume: false,
                    replace: true,
                });
            }
            if ui.button("Keep it").clicked() {
                cmds.push(Cmd::KeepCheckpoint);
            }
        });
    }
    ui.label(&tr.status);
}

/// Loss per batch, validation per epoch, and the ROC of the best epoch.
fn plots_ui(ui: &mut egui::Ui, tr: &TrainingState) {
    let losses: Vec<[f64; 2]> = tr.losses.iter().map(|&(x, y)| [x, y]).collect();
    let per_epoch = |get: fn(&crate::classifier::train::EpochRecord) -> Option<f64>| {
        tr.history
            .iter()
            .filter_map(|r| get(r).map(|a| [r.epoch as f64, a]))
            .collect::<Vec<[f64; 2]>>()
    };
    let auc = per_epoch(|r| r.val_auc);
    let acc = per_epoch(|r| r.val_acc);
    let vauc = per_epoch(|r| r.val_video_auc);
    let roc: Vec<[f64; 2]> = tr.roc.iter().map(|p| [p.fpr, p.tpr]).collect();
    ui.label("Training loss per batch");
    Plot::new("train-loss")
        .height(160.0)
        .x_axis_label("epoch")
        .show(ui, move |p| {
            p.line(
                Line::new("loss", PlotPoints::from(losses)).color(Color32::from_rgb(240, 160, 40)),
            );
        });
    ui.label("Validation per epoch");
    Plot::new("train-val")
        .height(160.0)
        .include_y(0.0)
        .include_y(1.0)
        .x_axis_label("epoch")
        .legend(egui_plot::Legend::default())
        .show(ui, move |p| {
            p.line(
                Line::new("clip AUC", PlotPoints::from(auc)).color(Color32::from_rgb(90, 160, 255)),
            );
            p.line(
                Line::new("clip accuracy", PlotPoints::from(acc))
                    .color(Color32::from_rgb(90, 200, 120)),
            );
            p.line(
                Line::new("video AUC", PlotPoints::from(vauc))
                    .color(Color32::from_rgb(200, 120, 220)),
            );
        });
    ui.label("ROC of the best epoch (validation clips)");
    Plot::new("train-roc")
        .height(200.0)
        .width(220.0)
        .data_aspect(1.0)
        .include_x(0.0)
        .include_x(1.0)
        .include_y(0.0)
        .include_y(1.0)
        .x_axis_label("false positive rate")
        .show(ui, move |p| {
            p.line(Line::new("ROC", PlotPoints::from(roc)).color(Color32::from_rgb(90, 160, 255)));
            p.line(
                Line::new("chance", PlotPoints::from(vec![[0.0, 0.0], [1.0, 1.0]]))
                    .color(Color32::GRAY),
            );
        });
}
