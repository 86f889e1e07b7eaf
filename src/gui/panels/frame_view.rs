//! The frame view: playback controls, a slider, and the current frame with the
//! subject's box and landmarks (green) and the other faces' boxes (orange).

use crate::gui::commands::Cmd;
use crate::gui::state::{State, View};
use eframe::egui::{self, Color32, Pos2, Rect, Stroke};

pub fn ui(ui: &mut egui::Ui, state: &State, view: &View, cmds: &mut Vec<Cmd>) {
    let a = &state.analysis;
    ui.horizontal(|ui| {
        if ui
            .button(if view.playing { "Pause" } else { "Play" })
            .clicked()
        {
            cmds.push(Cmd::TogglePlay);
        }
        if ui
            .button("<")
            .on_hover_text("previous frame (Left)")
            .clicked()
        {
            cmds.push(Cmd::Step(-1));
        }
        if ui.button(">").on_hover_text("next frame (Right)").clicked() {
            cmds.push(Cmd::Step(1));
        }
        if let Some(p) = a.frame_pos(view.current) {
            let mut q = p;
            let n = a.frames.len();
            if ui
                .add(egui::Slider::new(&mut q, 0..=n - 1).show_value(false))
                .changed()
            {
                cmds.push(Cmd::Seek(a.frames[q].index));
            }
            let f = &a.frames[p];
            ui.label(format!("frame {}  {:.2} s", f.index, f.time_s));
        }
    });
    let Some(p) = a.frame_pos(view.current) else {
        return;
    };
    let f = &a.frames[p];
    let tex_size = f.texture.size_vec2();
    let avail = ui.available_size();
    let scale = (avail.x / tex_size.x).min(avail.y / tex_size.y).max(0.1);
    let size = tex_size * scale;
    let (rect, _) = ui.allocate_exact_size(size, egui::Sense::hover());
    ui.painter().image(
        f.texture.id(),
        rect,
        Rect::from_min_max(Pos2::ZERO, Pos2::new(1.0, 1.0)),
        Color32::WHITE,
    );
    // Boxes and landmarks, in video pixels scaled to the shown frame.
    let Some(r) = &a.report else { return };
    let Some(rec) = r.frames.iter().find(|x| x.index == f.index) else {
        return;
    };
    let sx = rect.width() / r.video.width as f32;
    let sy = rect.height() / r.video.height as f32;
    let to = |x: f32, y: f32| Pos2::new(rect.min.x + x * sx, rect.min.y + y * sy);
    for b in &rec.others {
        ui.painter().rect_stroke(
            Rect::from_min_max(to(b[0], b[1]), to(b[0] + b[2], b[1] + b[3])),
            0.0,
            Stroke::new(1.5, Color32::from_rgb(240, 160, 40)),
            egui::StrokeKind::Outside,
        );
    }
    if let Some(face) = &rec.face {
        let b = face.bbox;
        ui.painter().rect_stroke(
            Rect::from_min_max(to(b[0], b[1]), to(b[0] + b[2], b[1] + b[3])),
            0.0,
            Stroke::new(2.0, Color32::from_rgb(80, 220, 120)),
            egui::StrokeKind::Outside,
        );
        for l in &face.landmarks {
            ui.painter()
                .circle_filled(to(l[0], l[1]), 1.5, Color32::from_rgb(120, 200, 255));
        }
    }
}
