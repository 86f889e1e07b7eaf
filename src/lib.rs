//! ti2net: deepfake detection by temporal identity inconsistency (TI2Net, WACV 2023).
//!
//! The pipeline, one module per stage:
//! [`video`] -> [`faces`] -> [`align`] -> [`encoder`] -> [`identity`] -> [`report`],
//! tied together by [`pipeline`]. The command line and the GUI (`gui`, behind the
//! default `gui` feature) are clients of it.

pub mod align;
pub mod batch;
pub mod bench;
pub mod claimed;
pub mod classifier;
pub mod compare;
pub mod demo;
pub mod encoder;
pub mod error;
pub mod evidence;
pub mod extract;
pub mod faces;
pub mod fsutil;
pub mod gpu_bench;
#[cfg(feature = "gui")]
pub mod gui;
pub mod identity;
pub mod models;
pub mod npy;
pub mod pipeline;
pub mod plots;
pub mod provenance;
pub mod report;
pub mod review;
pub mod session;
pub mod swap;
pub mod video;

pub use error::{Error, Result};
