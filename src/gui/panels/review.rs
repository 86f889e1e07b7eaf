//! The Review tab (annotators): open a dataset and its table, go through the queue
//! ("n of N reviewed"), see each video's face strip and identity curves, select
//! frames by dragging on either, and flag the video or the frames with a reason and
//! a note; suggestions from the analysis are accepted or dismissed with a key.
//!
//! Keys: 1-8 reason, F flag the video, R flag the selected frames, A / D accept /
//! dismiss the suggestion, N or Right next, P or Left previous, Esc clear the selection.

use super::{review_entries, review_plots};
use crate::gui::commands::Cmd;
use crate::gui::review::{ReviewCmd, ReviewForm, ReviewSession, ReviewView};
use crate::gui::state::State;
use crate::review::{Frames, Reason, Status};
use eframe::egui::{self, Color32, Key};

use super::review_plots::{FLAGGED, SUGGESTED};

/// The keyboard, unless a text field has the focus.
fn keys_ui(ui: &egui::Ui, rv: &mut ReviewView, cmds: &mut Vec<Cmd>) {
    if ui.ctx().egui_wants_keyboard_input() {
        return;
    }
    let digits = [
        Key::Num1,
        Key::Num2,
        Key::Num3,
        Key::Num4,
        Key::Num5,
        Key::Num6,
        Key::Num7,
        Key::Num8,
    ];
    ui.input(|i| {
        for (k, r) in digits.iter().zip(Reason::ALL) {
            if i.key_pressed(*k) {
                rv.reason = r;
            }
        }
        let mut send = |c: ReviewCmd| cmds.push(Cmd::Review(c));
        if i.key_pressed(Key::F) {
            send(ReviewCmd::FlagVideo);
        }
        if i.key_pressed(Key::R) {
            send(ReviewCmd::FlagRange);
        }
        if i.key_pressed(Key::A) {
            send(ReviewCmd::Decide(true));
        }
        if i.key_pressed(Key::D) {
            send(ReviewCmd::Decide(false));
        }
        if i.key_pressed(Key::N) || i.key_pressed(Key::ArrowRight) {
            send(ReviewCmd::Next);
        }
        if i.key_pressed(Key::P) || i.key_pressed(Key::ArrowLeft) {
            send(ReviewCmd::Prev);
        }
        if i.key_pressed(Key::Escape) {
            rv.selection = None;
        }
    });
}

fn open_ui(ui: &mut egui::Ui, form: &mut ReviewForm, cmds: &mut Vec<Cmd>) {
    ui.horizontal(|ui| {
        ui.label("Dataset");
        ui.add(
            egui::TextEdit::singleline(&mut form.dir)
                .hint_text("folder: FaceForensics++, Celeb-DF v2 or videos")
                .desired_width(280.0),
        );
        if ui.button("Browse...").clicked() {
            if let Some(p) = rfd::FileDialog::new().pick_folder() {
                form.dir = p.display().to_string();
            }
        }
        ui.label("Table");
        ui.add(
            egui::TextEdit::singleline(&mut form.table)
                .hint_text("<dataset>.review.json")
                .desired_width(220.0),
        );
        ui.label("Annotator");
        ui.add(egui::TextEdit::singleline(&mut form.annotator).desired_width(100.0));
        ui.label("every");
        ui.add(
            egui::DragValue::new(&mut form.every)
                .range(1..=30)
                .suffix(" frames"),
        );
        if ui.button("Open dataset").clicked() {
            cmds.push(Cmd::Review(ReviewCmd::Open));
        }
    });
}

pub fn ui(
    ui: &mut egui::Ui,
    form: &mut ReviewForm,
    rv: &mut ReviewView,
    state: &State,
    cmds: &mut Vec<Cmd>,
) {
    open_ui(ui, form, cmds);
    ui.separator();
    let Some(s) = &state.review.session else {
        ui.label("Open a folder of videos or a dataset (FaceForensics++, Celeb-DF v2): its labels come from the layout, flags go to the table, saved after every action.");
        return;
    };
    keys_ui(ui, rv, cmds);
    let (n, total) = s.reviewed();
    ui.horizontal(|ui| {
        ui.strong(format!("{} ({})", s.dataset.name, s.dataset.layout.name()));
        ui.add(egui::ProgressBar::new(n as f32 / total.max(1) as f32).desired_width(160.0));
        ui.label(format!("{n} of {total} reviewed"));
        ui.label(format!(
            "table: {} ({} entries)",
            s.file.path.display(),
            s.file.table.entries.len()
        ));
        if ui.button("Export CSV + JSON").clicked() {
            cmds.push(Cmd::Review(ReviewCmd::Export));
        }
    });
    egui::Panel::left("review-queue")
        .resizable(true)
        .default_size(260.0)
        .min_size(200.0)
        .show(ui, |ui| queue_ui(ui, s, cmds));
    egui::ScrollArea::vertical().show(ui, |ui| video_ui(ui, s, rv, cmds));
}

fn queue_ui(ui: &mut egui::Ui, s: &ReviewSession, cmds: &mut Vec<Cmd>) {
    let row = ui.text_style_height(&egui::TextStyle::Button) + ui.spacing().item_spacing.y;
    // Only the visible rows are laid out (datasets hold thousands of videos). The list
    // keeps the panel's width (a shrinking list would wrap its rows ever narrower).
    egui::ScrollArea::vertical()
        .auto_shrink([false, true])
        .show_rows(ui, row, s.dataset.videos.len(), |ui, rows| {
            for i in rows {
                let v = &s.dataset.videos[i];
                let flags = s
                    .file
                    .table
                    .of_video(&v.rel)
                    .filter(|(_, e)| e.status == Status::Flagged)
                    .count();
                let seen = if s.file.table.is_reviewed(&v.rel) {
                    "[x]"
                } else {
                    "[ ]"
                };
                let text = format!(
                    "{seen} {} [{}]{}",
                    v.rel,
                    v.label.name(),
                    if flags > 0 {
                        format!(" ({flags} flagged)")
                    } else {
                        String::new()
                    }
                );
                // One line a video (`show_rows` needs rows of one height): a long name
                // is cut, and shown whole on hover.
                let row = egui::Button::selectable(i == s.pos, &text).truncate();
                if ui.add(row).on_hover_text(&text).clicked() {
                    cmds.push(Cmd::Review(ReviewCmd::Go(i)));
                }
            }
        });
}

fn video_ui(ui: &mut egui::Ui, s: &ReviewSession, rv: &mut ReviewView, cmds: &mut Vec<Cmd>) {
    let v = s.current();
    ui.horizontal(|ui| {
        if ui.button("< Previous (P)").clicked() {
            cmds.push(Cmd::Review(ReviewCmd::Prev));
        }
        ui.heading(format!(
            "{} / {}: {}",
            s.pos + 1,
            s.dataset.videos.len(),
            v.rel
        ));
        ui.label(egui::RichText::new(format!("label: {}", v.label.name())).strong());
        if ui.button("Next (N) >").clicked() {
            cmds.push(Cmd::Review(ReviewCmd::Next));
        }
    });
    ui.horizontal_wrapped(|ui| {
        ui.label("Reason:");
        for (k, r) in Reason::ALL.into_iter().enumerate() {
            ui.selectable_value(&mut rv.reason, r, format!("{} {}", k + 1, r.describe()));
        }
    });
    ui.horizontal(|ui| {
        ui.label("Note");
        ui.add(
            egui::TextEdit::singleline(&mut rv.note)
                .hint_text("optional")
                .desired_width(320.0),
        );
        if ui.button("Flag video (F)").clicked() {
            cmds.push(Cmd::Review(ReviewCmd::FlagVideo));
        }
        let sel = rv
            .selection
            .map(|f| format!("Flag frames {} (R)", f.text()));
        if ui
            .add_enabled(
                sel.is_some(),
                egui::Button::new(sel.unwrap_or_else(|| "Flag frames (R): drag to select".into())),
            )
            .clicked()
        {
            cmds.push(Cmd::Review(ReviewCmd::FlagRange));
        }
    });
    match s.cache.get(&v.rel) {
        Some(c) => {
            // Flagged (red) and suggested (orange) ranges, marked on the strip too.
            let marks: Vec<(Frames, Color32)> = s
                .file
                .table
                .of_video(&v.rel)
                .filter(|(_, e)| e.status != Status::Dismissed)
                .filter_map(|(_, e)| {
                    let colour = if e.status == Status::Flagged {
                        FLAGGED
                    } else {
                        SUGGESTED
                    };
                    e.frames.map(|f| (f, colour))
                })
                .collect();
            review_plots::strip_ui(ui, c, rv, &marks);
            review_plots::curves_ui(ui, s, c, rv);
        }
        None => {
            ui.horizontal(|ui| match s.failed.get(&v.rel) {
                Some(e) => {
                    ui.colored_label(FLAGGED, format!("not analysed: {e}"));
                    if ui.button("Retry").clicked() {
                        cmds.push(Cmd::Review(ReviewCmd::Retry));
                    }
                }
                None if s.analysing.as_deref() == Some(v.rel.as_str()) => {
                    let (d, t) = s.progress;
                    ui.spinner();
                    ui.add(
                        egui::ProgressBar::new(if t > 0 { d as f32 / t as f32 } else { 0.0 })
                            .desired_width(240.0)
                            .text(format!("analysing: {d}/{t} frames")),
                    );
                    if ui.button("Cancel").clicked() {
                        cmds.push(Cmd::Review(ReviewCmd::Cancel));
                    }
                }
                None => {
                    ui.spinner();
                    ui.label("waiting for the analysis...");
                }
            });
        }
    }
    review_entries::entries_ui(ui, s, rv, cmds);
}
