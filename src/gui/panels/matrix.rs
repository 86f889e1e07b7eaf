//! The frame-by-frame similarity matrix, with the current time on both axes; click a
//! cell to compare its two frames.

use crate::gui::commands::Cmd;
use crate::gui::state::{State, View};
use eframe::egui::{self, Color32, Pos2, Rect, Stroke, Vec2};

pub fn ui(ui: &mut egui::Ui, state: &State, view: &View, cmds: &mut Vec<Cmd>) {
    ui.heading("Frame-by-frame similarity").on_hover_text(
        "Each cell is the cosine similarity of two face frames' identities (dark: another person, yellow: the same). Click a cell to see its two crops side by side.",
    );
    let Some(m) = &state.analysis.matrix else {
        ui.label(if state.analysis.busy() {
            "appears when the analysis is done"
        } else {
            "needs at least two face frames"
        });
        return;
    };
    let ids = &m.ids;
    let n = ids.len();
    // Fit the rest of the panel.
    let side = ui
        .available_width()
        .min(360.0)
        .min((ui.clip_rect().bottom() - ui.cursor().top() - 8.0).max(160.0));
    let (rect, resp) = ui.allocate_exact_size(Vec2::splat(side), egui::Sense::click());
    ui.painter().image(
        m.texture.id(),
        rect,
        Rect::from_min_max(Pos2::ZERO, Pos2::new(1.0, 1.0)),
        Color32::WHITE,
    );
    // The current time on both axes.
    if let Some(k) = ids.iter().position(|&i| i >= view.current) {
        let x = rect.min.x + (k as f32 + 0.5) / n as f32 * side;
        let y = rect.min.y + (k as f32 + 0.5) / n as f32 * side;
        ui.painter().line_segment(
            [Pos2::new(x, rect.min.y), Pos2::new(x, rect.max.y)],
            Stroke::new(1.0, Color32::WHITE),
        );
        ui.painter().line_segment(
            [Pos2::new(rect.min.x, y), Pos2::new(rect.max.x, y)],
            Stroke::new(1.0, Color32::WHITE),
        );
    }
    let cell = |p: Pos2| {
        (
            ((p.x - rect.min.x) / side * n as f32) as usize,
            ((p.y - rect.min.y) / side * n as f32) as usize,
        )
    };
    if let Some(p) = resp.hover_pos() {
        let (i, j) = cell(p);
        if i < n && j < n {
            let (a, b) = (ids[j], ids[i]);
            resp.clone()
                .on_hover_text(format!("frames {a} and {b}: click to compare"));
        }
    }
    if resp.clicked() {
        if let Some(p) = resp.interact_pointer_pos() {
            let (i, j) = cell(p);
            cmds.push(Cmd::ShowPair(j, i));
        }
    }
}
