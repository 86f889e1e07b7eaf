//! The face strip: the subject's aligned crop in each analysed frame; click to seek.

use crate::gui::commands::Cmd;
use crate::gui::state::{State, View};
use eframe::egui::{self, Color32, Pos2, Rect, Stroke, Vec2};

pub fn ui(ui: &mut egui::Ui, state: &State, view: &mut View, cmds: &mut Vec<Cmd>) {
    let a = &state.analysis;
    ui.label("Face strip: the subject's aligned crop in each analysed frame (gaps: no face). Click to seek.");
    let current = view.current;
    egui::ScrollArea::horizontal()
        .id_salt("strip-scroll")
        .show(ui, |ui| {
            ui.horizontal(|ui| {
                let records: Vec<(u64, f64, Option<f32>)> = match &a.report {
                    Some(r) => r
                        .frames
                        .iter()
                        .map(|f| (f.index, f.time_s, f.sim_reference))
                        .collect(),
                    None => a.frames.iter().map(|f| (f.index, f.time_s, None)).collect(),
                };
                for (index, time_s, sim) in records {
                    let size = Vec2::splat(72.0);
                    let (rect, resp) = ui.allocate_exact_size(size, egui::Sense::click());
                    if index == current && view.strip_follow {
                        // No animation: an animated scroll repaints for a while, which
                        // would take the cores from the analysis.
                        ui.scroll_to_rect_animation(
                            rect,
                            None,
                            egui::style::ScrollAnimation::none(),
                        );
                        view.strip_follow = false;
                    }
                    if !ui.is_rect_visible(rect) {
                        continue;
                    }
                    match a.crops.get(&index) {
                        Some(t) => {
                            ui.painter().image(
                                t.id(),
                                rect,
                                Rect::from_min_max(Pos2::ZERO, Pos2::new(1.0, 1.0)),
                                Color32::WHITE,
                            );
                        }
                        None => {
                            ui.painter().rect_filled(rect, 2.0, Color32::from_gray(40));
                            ui.painter().text(
                                rect.center(),
                                egui::Align2::CENTER_CENTER,
                                "no face",
                                egui::FontId::proportional(10.0),
                                Color32::GRAY,
                            );
                        }
                    }
                    if index == current {
                        ui.painter().rect_stroke(
                            rect,
                            0.0,
                            Stroke::new(3.0, Color32::YELLOW),
                            egui::StrokeKind::Inside,
                        );
                    }
                    let resp = resp.on_hover_text(format!(
                        "frame {index}, {time_s:.2} s, similarity to the reference {}",
                        sim.map(|s| format!("{s:.3}")).unwrap_or_else(|| "-".into())
                    ));
                    if resp.clicked() {
                        cmds.push(Cmd::Seek(index));
                    }
                }
            });
        });
}
