//! The Swap tab (educators): pick a source and a target (corpus people or files), a
//! before / after preview of one frame, Make swap with progress and Cancel, then the
//! real video and its swap side by side: both identity curves on one plot, the two
//! similarity matrices, both verdicts, and the comparison exported as PNG.

use crate::gui::commands::Cmd;
use crate::gui::state::State;
use crate::gui::swap_bench::SwapForm;
use crate::report::Report;
use eframe::egui::{self, Color32};
use egui_plot::{Legend, Line, Plot, PlotPoints};

const REAL: Color32 = Color32::from_rgb(70, 130, 230);
const FAKE: Color32 = Color32::from_rgb(230, 80, 70);

fn pick_ui(ui: &mut egui::Ui, label: &str, path: &mut String, people: &[crate::demo::Person]) {
    ui.horizontal(|ui| {
        ui.label(label);
        let media = crate::gui::swap_bench::media_dir();
        let name = std::path::Path::new(path.trim())
            .file_name()
            .map(|n| n.to_string_lossy().to_string());
        let current = people
            .iter()
            .find(|p| name.as_deref() == Some(p.file.as_str()))
            .map(|p| format!("{}: {}", p.id, p.description))
            .unwrap_or_else(|| "a file...".into());
        egui::ComboBox::from_id_salt(label)
            .width(320.0)
            .selected_text(current)
            .show_ui(ui, |ui| {
                for p in people {
                    let v = media.join(&p.file).display().to_string();
                    ui.selectable_value(path, v, format!("{}: {}", p.id, p.description));
                }
            });
        ui.add(egui::TextEdit::singleline(path).desired_width(260.0));
        if ui.button("Browse...").clicked() {
            if let Some(p) = rfd::FileDialog::new().pick_file() {
                *path = p.display().to_string();
            }
        }
    });
}

fn verdict_text(r: &Report) -> (String, Color32) {
    match &r.verdict {
        Some(v) => (
            format!(
                "{}{}",
                v.label.to_uppercase(),
                v.p_fake
                    .map(|p| format!(" (fake probability {p:.2})"))
                    .unwrap_or_default()
            ),
            match v.label.as_str() {
                "fake" => FAKE,
                "real" => Color32::from_rgb(90, 200, 120),
                _ => Color32::GRAY,
            },
        ),
        None => ("no detector loaded".into(), Color32::GRAY),
    }
}

fn curve(r: &Report, f: fn(&crate::report::FrameRecord) -> Option<f32>) -> PlotPoints<'static> {
    r.frames
        .iter()
        .filter_map(|x| f(x).map(|s| [x.time_s - r.frames[0].time_s, s as f64]))
        .collect()
}

pub fn ui(ui: &mut egui::Ui, form: &mut SwapForm, state: &State, cmds: &mut Vec<Cmd>) {
    let bench = &state.swap;
    ui.heading("Swap bench");
    ui.label("Put one person's face on another's video (a graphics face swap, as in FaceForensics++'s FaceSwap), then compare the swap with the real video.");
    pick_ui(ui, "Source face", &mut form.source, &state.people);
    pick_ui(ui, "Target video", &mut form.target, &state.people);
    ui.horizontal(|ui| {
        ui.label("from");
        ui.add(
            egui::DragValue::new(&mut form.start)
                .range(0.0..=36000.0)
                .suffix(" s"),
        );
        ui.label("for");
        ui.add(
            egui::DragValue::new(&mut form.length)
                .range(1.0..=600.0)
                .suffix(" s"),
        );
        ui.checkbox(&mut form.label, "burn in \"SYNTHETIC\"");
        ui.separator();
        ui.label("preview at");
        ui.add(
            egui::DragValue::new(&mut form.preview_at)
                .range(0.0..=600.0)
                .suffix(" s"),
        );
        let idle = !bench.busy();
        if ui.add_enabled(idle, egui::Button::new("Preview")).clicked() {
            cmds.push(Cmd::SwapPreview);
        }
        if ui
            .add_enabled(idle, egui::Button::new("Make swap"))
            .clicked()
        {
            cmds.push(Cmd::MakeSwap);
        }
        if bench.busy() {
            let (d, t) = bench.progress;
            ui.add(
                egui::ProgressBar::new(if t > 0 { d as f32 / t as f32 } else { 0.0 })
                    .desired_width(200.0)
                    .text(format!("{}: {d}/{t}", bench.stage)),
            );
            if ui.button("Cancel").clicked() {
                cmds.push(Cmd::CancelSwap);
            }
        } else if !bench.stage.is_empty() {
            ui.label(format!("swap {}", bench.stage));
        }
    });
    ui.separator();
    egui::ScrollArea::vertical().show(ui, |ui| {
        if let Some([before, after]) = &bench.preview {
            ui.label("Preview: the target's frame before and after the swap");
            ui.horizontal(|ui| {
                for t in [before, after] {
                    let s = t.size_vec2();
                    let k = (360.0 / s.x.max(s.y)).min(1.0);
                    ui.image((t.id(), s * k));
                }
            });
            ui.separator();
        }
        let Some(c) = &bench.result else {
            if bench.preview.is_none() {
                ui.label("Choose a source and a target, then Preview or Make swap.");
            }
            return;
        };
        ui.horizontal(|ui| {
            ui.label(format!(
                "{}: {} frames, {} swapped",
                c.out.display(),
                c.summary.frames,
                c.summary.frames_swapped
            ));
            if ui.button("Open the swap in Analysis").clicked() {
                cmds.push(Cmd::Open(c.out.clone()));
            }
            if ui.button("Export comparison PNG").clicked() {
                cmds.push(Cmd::ExportComparison);
            }
            if let Some(p) = &bench.exported {
                ui.label(format!("saved {}", p.display()));
            }
        });
        ui.columns(2, |cols| {
            for (ui, (title, side, colour)) in cols.iter_mut().zip([
                ("Real video", &c.real, REAL),
                ("Face swap", &c.fake, FAKE),
            ]) {
                ui.label(egui::RichText::new(title).strong().color(colour));
                let (text, vc) = verdict_text(&side.report);
                ui.label(egui::RichText::new(format!("verdict: {text}")).color(vc));
            }
        });
        ui.label("Identity over time (similarity to the reference identity; thin: to the previous frame)");
        Plot::new("swap-curves")
            .height(220.0)
            .include_y(-0.2)
            .include_y(1.05)
            .legend(Legend::default())
            .x_axis_label("time (s)")
            .show(ui, |p| {
                for (name, side, colour) in [("real", &c.real, REAL), ("swap", &c.fake, FAKE)] {
                    p.line(
                        Line::new(format!("{name}: to the previous frame"), curve(&side.report, |f| f.sim_previous))
                            .color(colour.gamma_multiply(0.4)),
                    );
                    p.line(
                        Line::new(format!("{name}: to the reference"), curve(&side.report, |f| f.sim_reference))
                            .color(colour)
                            .width(2.0),
                    );
                }
            });
        if let Some(ms) = &bench.matrices {
            ui.label("Frame-by-frame similarity (the paper's Figure 1): real left, swap right");
            ui.horizontal(|ui| {
                for t in ms {
                    ui.image((t.id(), egui::vec2(300.0, 300.0)));
                }
            });
        }
    });
}
