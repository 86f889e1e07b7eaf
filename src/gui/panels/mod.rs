//! The panels of the workbench, one file each. A panel reads the state, may change
//! the view state, and pushes [`Cmd`](super::commands::Cmd)s for everything else:
//! `ui(ui, ..., &State, &mut View, &mut Vec<Cmd>)`.
//!
//! A new tab is a [`Tab`](super::state::Tab) variant and a panel file whose `ui` the
//! shell calls for it.

pub mod analysis;
pub mod curves;
pub mod export;
pub mod face_strip;
pub mod frame_view;
pub mod matrix;
pub mod messages;
pub mod pair;
pub mod review;
mod review_entries;
mod review_plots;
pub mod settings;
pub mod stats;
pub mod swap;
pub mod top_bar;
pub mod training;
pub mod verdict;
