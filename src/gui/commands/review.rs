//! The Review tab's commands, carried out on the app's state (the Review module itself
//! knows nothing of the command bus).

use super::Target;
use crate::gui::review::{self as rv_mod, ReviewCmd, ReviewSession};
use crate::review::{self, Action};
use std::path::PathBuf;

/// Carries out a Review command.
pub(super) fn apply(cmd: ReviewCmd, t: &mut Target<'_>) {
    let form = t.settings.review.clone();
    let rv = &mut t.view.review;
    let messages = &mut t.state.messages;
    if let ReviewCmd::Open = cmd {
        let dir = PathBuf::from(form.dir.trim());
        let table = if form.table.trim().is_empty() {
            PathBuf::from(format!(
                "{}.review.json",
                review::dataset::dataset_name(&dir)
            ))
        } else {
            PathBuf::from(form.table.trim())
        };
        let s = &t.settings;
        let (mut spec, files) = s.session_spec();
        messages.extend(files.fallbacks);
        spec.detector = crate::session::DetectorChoice::None;
        spec.references.clear();
        spec.opts.selection.every =
            std::num::NonZeroU32::new(form.every).unwrap_or(std::num::NonZeroU32::MIN);
        t.state.review.session = None; // cancels the previous worker
        match ReviewSession::open(&dir, &table, form.annotator.trim(), spec, t.ctx) {
            Ok(s) => {
                messages.extend(s.dataset.warnings.iter().cloned());
                t.settings.review.table = table.display().to_string();
                t.state.review.session = Some(s);
                *rv = rv_mod::ReviewView::default();
            }
            Err(e) => messages.push(format!("cannot open the review: {e}")),
        }
        return;
    }
    let Some(s) = t.state.review.session.as_mut() else {
        return;
    };
    let video = s.current().rel.clone();
    let result = match cmd {
        ReviewCmd::Open => Ok(()),
        ReviewCmd::Go(i) => {
            rv.selection = None;
            s.go_to(i, t.ctx);
            Ok(())
        }
        ReviewCmd::Next | ReviewCmd::Prev => {
            let r = if matches!(cmd, ReviewCmd::Next) {
                s.act(&Action::Reviewed(video))
            } else {
                Ok(())
            };
            let p = if matches!(cmd, ReviewCmd::Next) {
                s.pos + 1
            } else {
                s.pos.saturating_sub(1)
            };
            rv.selection = None;
            s.go_to(p, t.ctx);
            r
        }
        ReviewCmd::FlagVideo | ReviewCmd::FlagRange => {
            let frames = if matches!(cmd, ReviewCmd::FlagRange) {
                match rv.selection {
                    Some(f) => Some(f),
                    None => {
                        messages
                            .push("select frames first: drag on the curves or the strip".into());
                        return;
                    }
                }
            } else {
                None
            };
            let a = Action::Flag {
                video,
                frames,
                reason: rv.reason,
                note: rv.note.trim().to_string(),
            };
            let r = s.act(&a);
            if r.is_ok() {
                rv.note.clear();
                rv.selection = None;
            }
            r
        }
        ReviewCmd::Decide(accept) => {
            let pending = s
                .file
                .table
                .of_video(&video)
                .find(|(_, e)| e.status == review::Status::Suggested)
                .map(|(i, _)| i);
            match pending {
                Some(i) => s.act(&if accept {
                    Action::Accept(i)
                } else {
                    Action::Dismiss(i)
                }),
                None => Ok(()),
            }
        }
        ReviewCmd::Act(a) => s.act(&a),
        ReviewCmd::Cancel => {
            s.cancel();
            Ok(())
        }
        ReviewCmd::Retry => {
            s.retry(t.ctx);
            Ok(())
        }
        ReviewCmd::Export => rv_mod::export(&s.file).map(|(c, j)| {
            messages.push(format!(
                "table exported to {} and {}",
                c.display(),
                j.display()
            ))
        }),
    };
    if let Err(e) = result {
        messages.push(e.to_string());
    }
}
