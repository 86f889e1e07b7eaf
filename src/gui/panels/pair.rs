//! The pair window: two frames' crops side by side with their identity similarity.

use crate::gui::state::{State, View};
use eframe::egui::{self, Vec2};

pub fn ui(ctx: &egui::Context, state: &State, view: &mut View) {
    let Some((a, b, s)) = view.pair else { return };
    let mut open = true;
    egui::Window::new("Two frames compared")
        .open(&mut open)
        .resizable(false)
        .show(ctx, |ui| {
            ui.horizontal(|ui| {
                for i in [a, b] {
                    ui.vertical(|ui| {
                        if let Some(t) = state.analysis.crops.get(&i) {
                            ui.image((t.id(), Vec2::splat(160.0)));
                        }
                        ui.label(format!("frame {i} ({:.2} s)", state.analysis.time_of(i)));
                    });
                }
            });
            ui.label(egui::RichText::new(format!("identity similarity {s:.3}")).size(18.0));
        });
    if !open {
        view.pair = None;
    }
}
