//! The annotators' review of datasets: the table of bad examples ([`table`]), the
//! dataset layouts and their labels ([`dataset`]), suspects proposed from an analysis
//! ([`suggest`]), the actions an annotator takes ([`Action`]), and what `extract` and
//! `train` leave out ([`exclude`]). The window (`gui::review`) and the command line
//! (`ti2net review`) both change the table through [`Action::apply`] on a
//! [`TableFile`], which saves after every action.

pub mod dataset;
pub mod exclude;
pub mod suggest;
pub mod table;

pub use dataset::{Dataset, DatasetVideo, Layout};
pub use table::{Entry, Frames, Label, Reason, Status, Table, TableFile};

use crate::error::{Error, Result};

/// One thing an annotator does to the table.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Flag a whole video (`frames` none) or a frame range.
    Flag {
        video: String,
        frames: Option<Frames>,
        reason: Reason,
        note: String,
    },
    /// Accept a suggestion (entry position): it becomes flagged.
    Accept(usize),
    /// Dismiss a suggestion or a flag (entry position).
    Dismiss(usize),
    /// Take an entry out of the table (entry position).
    Remove(usize),
    /// Set an entry's note.
    Note(usize, String),
    /// Mark a video as looked at.
    Reviewed(String),
}

/// Who acts, and on which dataset.
#[derive(Debug, Clone)]
pub struct Annotator<'a> {
    pub name: &'a str,
    pub dataset: &'a Dataset,
}

impl Action {
    /// Applies the action to `table` (not saved: see [`TableFile::update`]).
    pub fn apply(&self, table: &mut Table, who: &Annotator<'_>) -> Result<()> {
        let ds = who.dataset;
        let entry_at = |t: &mut Table, i: usize| -> Result<usize> {
            if i < t.entries.len() {
                Ok(i)
            } else {
                Err(Error::Other(format!(
                    "the table has no entry {} (it holds {})",
                    i + 1,
                    t.entries.len()
                )))
            }
        };
        match self {
            Action::Flag {
                video,
                frames,
                reason,
                note,
            } => {
                let v = ds.videos.iter().find(|v| &v.rel == video).ok_or_else(|| {
                    Error::Other(format!("{video} is not a video of {}", ds.root.display()))
                })?;
                table.entries.push(Entry {
                    dataset: ds.name.clone(),
                    video: v.rel.clone(),
                    label: v.label,
                    frames: *frames,
                    reason: *reason,
                    status: Status::Flagged,
                    note: note.clone(),
                    annotator: who.name.into(),
                    time: table::utc_now(),
                });
            }
            Action::Accept(i) | Action::Dismiss(i) => {
                let i = entry_at(table, *i)?;
                let e = &mut table.entries[i];
                e.status = if matches!(self, Action::Accept(_)) {
                    Status::Flagged
                } else {
                    Status::Dismissed
                };
                // The suggestion becomes this annotator's decision.
                e.annotator = who.name.into();
                e.time = table::utc_now();
            }
            Action::Remove(i) => {
                let i = entry_at(table, *i)?;
                table.entries.remove(i);
            }
            Action::Note(i, note) => {
                let i = entry_at(table, *i)?;
                table.entries[i].note = note.clone();
            }
            Action::Reviewed(video) => {
                if !table
                    .reviewed
                    .iter()
                    .any(|r| &r.video == video && r.annotator == who.name)
                {
                    table.reviewed.push(table::Reviewed {
                        dataset: ds.name.clone(),
                        video: video.clone(),
                        annotator: who.name.into(),
                        time: table::utc_now(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Reads a line of the scripted annotation mode (`ti2net review --script`):
    /// `flag VIDEO REASON [FIRST-LAST] [NOTE...]`, `accept N`, `dismiss N`,
    /// `remove N` (entries counted from 1), `note N TEXT`, `reviewed VIDEO`.
    pub fn parse(line: &str) -> std::result::Result<Action, String> {
        let mut w = line.split_whitespace();
        let verb = w.next().ok_or("an empty line")?;
        let entry = |w: &mut std::str::SplitWhitespace<'_>| -> std::result::Result<usize, String> {
            let n: usize = w
                .next()
                .and_then(|s| s.parse().ok())
                .ok_or("expected an entry number")?;
            n.checked_sub(1)
                .ok_or_else(|| "entries count from 1".to_string())
        };
        let rest = |w: std::str::SplitWhitespace<'_>| w.collect::<Vec<_>>().join(" ");
        Ok(match verb {
            "flag" => {
                let video = w.next().ok_or("flag needs a video")?.to_string();
                let r = w.next().ok_or("flag needs a reason")?;
                let reason = Reason::from_code(r).ok_or_else(|| {
                    format!(
                        "unknown reason {r:?} (one of {})",
                        Reason::ALL.map(|r| r.code()).join(", ")
                    )
                })?;
                let mut words: Vec<&str> = w.collect();
                let frames = match words.first() {
                    Some(&"all") => {
                        words.remove(0);
                        None
                    }
                    Some(s) if s.contains('-') && Frames::parse(s).is_some() => {
                        let f = Frames::parse(s);
                        words.remove(0);
                        f
                    }
                    _ => None,
                };
                Action::Flag {
                    video,
                    frames,
                    reason,
                    note: words.join(" "),
                }
            }
            "accept" => Action::Accept(entry(&mut w)?),
            "dismiss" => Action::Dismiss(entry(&mut w)?),
            "remove" => Action::Remove(entry(&mut w)?),
            "note" => {
                let i = entry(&mut w)?;
                Action::Note(i, rest(w))
            }
            "reviewed" => Action::Reviewed(w.next().ok_or("reviewed needs a video")?.into()),
            o => return Err(format!("unknown action {o:?}")),
        })
    }
}

/// Applies `action` and saves the table at once; an invalid action changes nothing.
pub fn act(file: &mut TableFile, who: &Annotator<'_>, action: &Action) -> Result<()> {
    let mut next = file.table.clone();
    action.apply(&mut next, who)?;
    file.update(|t| *t = next)
}
