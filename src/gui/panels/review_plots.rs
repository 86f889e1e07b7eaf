//! The Review tab's face strip and identity curves: the flagged and suggested ranges
//! drawn on both, and a frame range selected by dragging on either.

use crate::gui::review::{Cached, ReviewSession, ReviewView, CROP_SIDE};
use crate::review::{Frames, Status};
use eframe::egui::{self, Color32};
use egui_plot::{Line, Plot, PlotPoints, Polygon};

/// The Review tab's colours: flagged and suggested ranges, the selection.
pub(super) const FLAGGED: Color32 = Color32::from_rgb(230, 80, 70);
pub(super) const SUGGESTED: Color32 = Color32::from_rgb(240, 170, 40);
pub(super) const SELECTED: Color32 = Color32::from_rgb(90, 160, 255);

/// The frame under the pointer, from an x position in the strip.
fn strip_frame(c: &Cached, rect: egui::Rect, x: f32) -> Option<u64> {
    let k = ((x - rect.left()) / CROP_SIDE as f32).floor();
    (k >= 0.0)
        .then(|| c.crops.get(k as usize).map(|(i, _)| *i))
        .flatten()
}

pub(super) fn strip_ui(
    ui: &mut egui::Ui,
    c: &Cached,
    rv: &mut ReviewView,
    marks: &[(Frames, Color32)],
) {
    ui.label(format!(
        "Face strip ({} crops): drag to select frames",
        c.crops.len()
    ));
    egui::ScrollArea::horizontal()
        .id_salt("review-strip")
        .show(ui, |ui| {
            let side = CROP_SIDE as f32;
            let size = egui::vec2(side * c.crops.len().max(1) as f32, side);
            let (rect, resp) = ui.allocate_exact_size(size, egui::Sense::click_and_drag());
            let painter = ui.painter_at(rect);
            for (k, (i, t)) in c.crops.iter().enumerate() {
                let r = egui::Rect::from_min_size(
                    rect.min + egui::vec2(k as f32 * side, 0.0),
                    egui::vec2(side, side),
                );
                painter.image(
                    t.id(),
                    r,
                    egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0)),
                    Color32::WHITE,
                );
                for (f, colour) in marks {
                    if f.contains(*i) {
                        let bar = egui::Rect::from_min_max(
                            r.left_bottom() - egui::vec2(0.0, 6.0),
                            r.right_bottom(),
                        );
                        painter.rect_filled(bar, 0.0, *colour);
                    }
                }
                if rv.selection.is_some_and(|f| f.contains(*i)) {
                    painter.rect_filled(r, 0.0, SELECTED.gamma_multiply(0.35));
                }
            }
            if let Some(p) = resp.interact_pointer_pos() {
                if let Some(f) = strip_frame(c, rect, p.x) {
                    select(rv, f, resp.drag_started() || resp.clicked());
                }
            }
        });
}

/// Starts (`start`) or extends the selection to `frame`.
fn select(rv: &mut ReviewView, frame: u64, start: bool) {
    if start || rv.anchor.is_none() {
        rv.anchor = Some(frame);
    }
    let a = rv.anchor.unwrap_or(frame);
    rv.selection = Some(Frames::new(a, frame));
}

fn band(name: String, f: Frames, colour: Color32) -> Polygon<'static> {
    let (a, b) = (f.first as f64, f.last as f64 + 0.5);
    Polygon::new(
        name,
        PlotPoints::from(vec![[a, -0.2], [b, -0.2], [b, 1.05], [a, 1.05]]),
    )
    .fill_color(colour.gamma_multiply(0.25))
    .stroke(egui::Stroke::new(1.0, colour))
}

pub(super) fn curves_ui(ui: &mut egui::Ui, s: &ReviewSession, c: &Cached, rv: &mut ReviewView) {
    ui.label(
        "Identity over time (by frame): drag to select frames; red: flagged, orange: suggested",
    );
    let r = &c.report;
    let pts = |f: fn(&crate::report::FrameRecord) -> Option<f32>| -> PlotPoints<'static> {
        r.frames
            .iter()
            .filter_map(|x| f(x).map(|v| [x.index as f64, v as f64]))
            .collect()
    };
    let (refs, prev) = (pts(|f| f.sim_reference), pts(|f| f.sim_previous));
    let bands: Vec<Polygon<'static>> = s
        .file
        .table
        .of_video(&s.current().rel)
        .filter(|(_, e)| e.status != Status::Dismissed)
        .filter_map(|(i, e)| {
            let colour = if e.status == Status::Flagged {
                FLAGGED
            } else {
                SUGGESTED
            };
            e.frames
                .map(|f| band(format!("entry {}", i + 1), f, colour))
        })
        .collect();
    let sel = rv.selection.map(|f| band("selection".into(), f, SELECTED));
    let resp = Plot::new("review-curves")
        .height(200.0)
        .include_y(-0.2)
        .include_y(1.05)
        .x_axis_label("frame")
        .allow_drag(false)
        .allow_zoom(false)
        .allow_scroll(false)
        .allow_boxed_zoom(false)
        .allow_double_click_reset(false)
        .show(ui, move |p| {
            for b in bands {
                p.polygon(b);
            }
            if let Some(b) = sel {
                p.polygon(b);
            }
            p.line(
                Line::new("to the previous frame", prev).color(Color32::from_rgb(200, 200, 200)),
            );
            p.line(
                Line::new("to the reference", refs)
                    .color(SELECTED)
                    .width(1.5),
            );
            p.pointer_coordinate()
        });
    rv.curves_transform = Some(resp.transform);
    let response = &resp.response;
    if response.is_pointer_button_down_on() || response.drag_started() || response.clicked() {
        if let Some(pt) = resp.inner {
            let frame = nearest_frame(r, pt.x);
            select(
                rv,
                frame,
                response.drag_started() || (response.clicked() && !response.dragged()),
            );
        }
    }
}

fn nearest_frame(r: &crate::report::Report, x: f64) -> u64 {
    r.frames
        .iter()
        .min_by(|a, b| {
            (a.index as f64 - x)
                .abs()
                .total_cmp(&(b.index as f64 - x).abs())
        })
        .map(|f| f.index)
        .unwrap_or(0)
}
