//! The face strip: the subject's aligned crop in each analysed frame (every n-th one
//! in long videos); click to seek. Only the tiles in view are laid out, so a pass
//! costs the same for a minute or an hour of video.

use crate::gui::commands::Cmd;
use crate::gui::state::{State, View};
use eframe::egui::{self, Color32, Pos2, Rect, Stroke, Vec2};

const TILE: f32 = 72.0;
const GAP: f32 = 4.0;

pub fn ui(ui: &mut egui::Ui, state: &State, view: &mut View, cmds: &mut Vec<Cmd>) {
    let a = &state.analysis;
    let tiles = &a.tiles;
    let step = match tiles.len() {
        0 | 1 => 1,
        _ => {
            // Analysed frames between two tiles (1 unless the video is long).
            let analysed = a
                .report
                .as_ref()
                .map(|r| r.frames.len())
                .unwrap_or(tiles.len());
            analysed.div_ceil(tiles.len()).max(1)
        }
    };
    ui.label(if step > 1 {
        format!("Face strip: the subject's aligned crop in one analysed frame in {step} (a long video; gaps: no face). Click to seek.")
    } else {
        "Face strip: the subject's aligned crop in each analysed frame (gaps: no face). Click to seek.".to_string()
    });
    let current = view.current;
    // The tile of the current frame: the last one at or before it.
    let current_tile = match tiles.binary_search_by_key(&current, |t| t.0) {
        Ok(i) => Some(i),
        Err(0) => None,
        Err(i) => Some(i - 1),
    };
    let sim_of = |index: u64| -> Option<f32> {
        let r = a.report.as_ref()?;
        let k = r.frames.binary_search_by_key(&index, |f| f.index).ok()?;
        r.frames[k].sim_reference
    };
    let pitch = TILE + GAP;
    egui::ScrollArea::horizontal()
        .id_salt("strip-scroll")
        .show_viewport(ui, |ui, viewport| {
            let width = tiles.len() as f32 * pitch;
            let (area, _) = ui.allocate_exact_size(Vec2::new(width, TILE), egui::Sense::hover());
            let origin = area.min;
            if view.strip_follow {
                if let Some(i) = current_tile {
                    let rect = Rect::from_min_size(
                        origin + Vec2::new(i as f32 * pitch, 0.0),
                        Vec2::splat(TILE),
                    );
                    // No animation: an animated scroll repaints for a while, which
                    // would take the cores from the analysis.
                    ui.scroll_to_rect_animation(rect, None, egui::style::ScrollAnimation::none());
                }
                view.strip_follow = false;
            }
            let first = ((viewport.min.x / pitch).floor().max(0.0)) as usize;
            let last = (((viewport.max.x / pitch).ceil()) as usize + 1).min(tiles.len());
            for (i, &(index, time_s)) in tiles.iter().enumerate().take(last).skip(first) {
                let rect = Rect::from_min_size(
                    origin + Vec2::new(i as f32 * pitch, 0.0),
                    Vec2::splat(TILE),
                );
                let resp = ui.interact(
                    rect,
                    ui.make_persistent_id(("strip-tile", index)),
                    egui::Sense::click(),
                );
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
                if Some(i) == current_tile {
                    ui.painter().rect_stroke(
                        rect,
                        0.0,
                        Stroke::new(3.0, Color32::YELLOW),
                        egui::StrokeKind::Inside,
                    );
                }
                let resp = resp.on_hover_text(format!(
                    "frame {index}, {time_s:.2} s, similarity to the reference {}",
                    sim_of(index)
                        .map(|s| format!("{s:.3}"))
                        .unwrap_or_else(|| "-".into())
                ));
                if resp.clicked() {
                    cmds.push(Cmd::Seek(index));
                }
            }
        });
}
