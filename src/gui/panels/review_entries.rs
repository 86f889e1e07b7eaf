//! The Review tab's list of the current video's entries in the table: accept,
//! dismiss or remove each, and edit its note.

use super::review_plots::{FLAGGED, SUGGESTED};
use crate::gui::commands::Cmd;
use crate::gui::review::{ReviewCmd, ReviewSession, ReviewView};
use crate::review::{Action, Status};
use eframe::egui::{self, Color32, Key};

pub(super) fn entries_ui(
    ui: &mut egui::Ui,
    s: &ReviewSession,
    rv: &mut ReviewView,
    cmds: &mut Vec<Cmd>,
) {
    ui.separator();
    ui.label("This video in the table (A / D accept / dismiss the first suggestion):");
    egui::Grid::new("review-entries")
        .striped(true)
        .show(ui, |ui| {
            for (i, e) in s.file.table.of_video(&s.current().rel) {
                let colour = match e.status {
                    Status::Flagged => FLAGGED,
                    Status::Suggested => SUGGESTED,
                    Status::Dismissed => Color32::GRAY,
                };
                ui.colored_label(colour, e.status.name());
                ui.label(e.reason.describe());
                ui.label(
                    e.frames
                        .map(|f| format!("frames {}", f.text()))
                        .unwrap_or_else(|| "whole video".into()),
                );
                note_ui(ui, i, &e.note, rv, cmds);
                ui.label(format!("{} {}", e.annotator, e.time));
                if e.status == Status::Suggested {
                    if ui.small_button("Accept").clicked() {
                        cmds.push(Cmd::Review(ReviewCmd::Act(Action::Accept(i))));
                    }
                    if ui.small_button("Dismiss").clicked() {
                        cmds.push(Cmd::Review(ReviewCmd::Act(Action::Dismiss(i))));
                    }
                } else if ui.small_button("Remove").clicked() {
                    cmds.push(Cmd::Review(ReviewCmd::Act(Action::Remove(i))));
                }
                ui.end_row();
            }
        });
}

/// An entry's note, and its editor: Edit note, then Enter or Save (Esc cancels).
fn note_ui(ui: &mut egui::Ui, i: usize, note: &str, rv: &mut ReviewView, cmds: &mut Vec<Cmd>) {
    match &mut rv.editing_note {
        Some((at, text)) if *at == i => {
            let mut done = None;
            ui.horizontal(|ui| {
                let edit = ui.add(
                    egui::TextEdit::singleline(text)
                        .id(note_id(i))
                        .hint_text("note")
                        .desired_width(220.0),
                );
                let enter = edit.lost_focus() && ui.input(|inp| inp.key_pressed(Key::Enter));
                if enter || ui.small_button("Save note").clicked() {
                    done = Some(true);
                } else if ui.input(|inp| inp.key_pressed(Key::Escape))
                    || ui.small_button("Cancel").clicked()
                {
                    done = Some(false);
                }
            });
            match done {
                Some(true) => {
                    let text = text.trim().to_string();
                    rv.editing_note = None;
                    if text != note {
                        cmds.push(Cmd::Review(ReviewCmd::Act(Action::Note(i, text))));
                    }
                }
                Some(false) => rv.editing_note = None,
                None => {}
            }
        }
        _ => {
            ui.horizontal(|ui| {
                ui.label(note);
                if ui.small_button("Edit note").clicked() {
                    rv.editing_note = Some((i, note.to_string()));
                    ui.memory_mut(|m| m.request_focus(note_id(i)));
                }
            });
        }
    }
}

fn note_id(entry: usize) -> egui::Id {
    egui::Id::unique(("review-note", entry))
}
