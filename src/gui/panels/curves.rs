//! The identity curves: similarity to the reference and to the previous frame over
//! time, the identity changes, the current time; below, the detector's fake
//! probability per window. Click to seek; hover to see the crop at that time.

use crate::gui::commands::Cmd;
use crate::gui::state::{State, View};
use eframe::egui::{self, Color32, Vec2};
use egui_plot::{HLine, Line, Plot, PlotPoints, VLine};

pub fn ui(ui: &mut egui::Ui, state: &State, view: &mut View, cmds: &mut Vec<Cmd>) {
    let a = &state.analysis;
    ui.heading("Identity over time")
        .on_hover_text("Click the plot to seek; hover to see the crop at that time.");
    let Some(r) = &a.report else {
        live_ui(ui, state);
        return;
    };
    let refs: Vec<[f64; 2]> = r
        .frames
        .iter()
        .filter_map(|f| f.sim_reference.map(|s| [f.time_s, s as f64]))
        .collect();
    let prev: Vec<[f64; 2]> = r
        .frames
        .iter()
        .filter_map(|f| f.sim_previous.map(|s| [f.time_s, s as f64]))
        .collect();
    let claimed: Option<Vec<[f64; 2]>> = r.claimed.as_ref().map(|_| {
        r.frames
            .iter()
            .filter_map(|f| f.sim_claimed.map(|s| [f.time_s, s as f64]))
            .collect()
    });
    let changes: Vec<f64> = r.identity_changes.iter().map(|c| c.time_s).collect();
    let cursor = a.time_of(view.current);
    let resp = Plot::new("identity-curves")
        .height(170.0)
        .include_y(0.0)
        .include_y(1.0)
        .x_axis_label("time (s)")
        .include_y(-0.2)
        .legend(egui_plot::Legend::default().position(egui_plot::Corner::RightBottom))
        .allow_drag(false)
        .allow_scroll(false)
        .show(ui, move |p| {
            p.line(
                Line::new("similarity to the reference", PlotPoints::from(refs))
                    .color(Color32::from_rgb(90, 160, 255))
                    .width(1.5),
            );
            p.line(
                Line::new("similarity to the previous frame", PlotPoints::from(prev))
                    .color(Color32::from_rgb(200, 200, 200))
                    .width(1.0),
            );
            if let Some(c) = claimed {
                p.line(
                    Line::new("similarity to the claimed person", PlotPoints::from(c))
                        .color(Color32::from_rgb(60, 190, 100))
                        .width(1.5),
                );
            }
            for (k, c) in changes.iter().enumerate() {
                p.vline(
                    VLine::new(
                        if k == 0 {
                            "identity change"
                        } else {
                            "identity change "
                        },
                        *c,
                    )
                    .color(Color32::from_rgb(230, 80, 70))
                    .width(2.0),
                );
            }
            p.vline(VLine::new("now", cursor).color(Color32::YELLOW));
            p.pointer_coordinate()
        });
    view.curves_transform = Some(resp.transform);
    if resp.response.clicked() {
        if let Some(pt) = resp.inner {
            cmds.push(Cmd::SeekTime(pt.x));
        }
    }
    if let Some(pt) = resp.inner {
        if resp.response.hovered() {
            if let Some(f) = a
                .frames
                .iter()
                .min_by(|x, y| (x.time_s - pt.x).abs().total_cmp(&(y.time_s - pt.x).abs()))
            {
                if let Some(t) = a.crops.get(&f.index) {
                    let id = t.id();
                    let label = format!("frame {} at {:.2} s", f.index, f.time_s);
                    resp.response.on_hover_ui_at_pointer(|ui| {
                        ui.image((id, Vec2::splat(96.0)));
                        ui.label(label);
                    });
                }
            }
        }
    }
    if let Some(c) = &r.claimed {
        ui.label(format!("Claimed person: {}", c.statement));
    }
    window_band(ui, r, cursor);
}

/// While the analysis runs: the previous-frame and windowed similarity curves as they
/// grow (the reference curve and the verdict need the whole track).
fn live_ui(ui: &mut egui::Ui, state: &State) {
    let a = &state.analysis;
    if a.live_previous.is_empty() && a.live_window.is_empty() {
        ui.label("the curves appear as the first identity vectors come in");
        return;
    }
    let prev = a.live_previous.clone();
    let window = a.live_window.clone();
    let end = a.tiles.last().map(|t| t.1).unwrap_or(1.0);
    Plot::new("identity-curves-live")
        .height(170.0)
        .include_y(-0.2)
        .include_y(1.0)
        .include_x(0.0)
        .include_x(end)
        .x_axis_label("time (s)")
        .legend(egui_plot::Legend::default().position(egui_plot::Corner::RightBottom))
        .allow_drag(false)
        .allow_scroll(false)
        .show(ui, move |p| {
            p.line(
                Line::new("similarity to the previous frame", PlotPoints::from(prev))
                    .color(Color32::from_rgb(200, 200, 200))
                    .width(1.0),
            );
            p.line(
                Line::new("window before vs after", PlotPoints::from(window))
                    .color(Color32::from_rgb(240, 170, 60))
                    .width(1.5),
            );
        });
    ui.label("analysing: the reference curve, identity changes and the verdict come at the end");
}

/// The detector's fake probability per window, against the threshold.
fn window_band(ui: &mut egui::Ui, r: &crate::report::Report, cursor: f64) {
    let Some(v) = &r.verdict else { return };
    if v.windows.is_empty() {
        return;
    }
    let threshold = v.threshold as f64;
    let windows: Vec<(f64, f64, f64)> = v
        .windows
        .iter()
        .map(|w| (w.start_s, w.end_s, w.p_fake as f64))
        .collect();
    ui.label("TI2Net fake probability per window (each window spans 127 face frames)");
    Plot::new("verdict-band")
        .height(64.0)
        .include_y(0.0)
        .include_y(1.0)
        .allow_drag(false)
        .allow_scroll(false)
        .show(ui, move |p| {
            for (k, (a, b, pf)) in windows.iter().enumerate() {
                let c = if *pf >= threshold {
                    Color32::from_rgb(230, 80, 70)
                } else {
                    Color32::from_rgb(90, 200, 120)
                };
                p.line(
                    Line::new(
                        format!("window {k}"),
                        PlotPoints::from(vec![[*a, *pf], [*b, *pf]]),
                    )
                    .color(c)
                    .width(3.0),
                );
            }
            p.hline(HLine::new("threshold", threshold).color(Color32::GRAY));
            p.vline(VLine::new("now", cursor).color(Color32::YELLOW));
        });
}
