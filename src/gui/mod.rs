//! The desktop workbench (eframe/egui): analysis, verdict and training.
//!
//! A client of the library: every computation is the library's pipeline, classifier
//! and training code, run on worker threads ([`worker`]: [`job`], [`training`]); the
//! UI only shows state and sends commands. Nothing in the library depends on this
//! module, which the `gui` cargo feature (on by default) builds.
//!
//! - [`app`]: the shell (poll the workers, draw the panels, apply the commands);
//! - [`commands`]: the commands the panels push, and how they are carried out;
//! - [`state`]: what the app knows, apart from the view state;
//! - [`settings`]: what it remembers between runs;
//! - [`panels`]: one file per panel or tab.
//! - [`review`]: the Review tab's dataset, table and analysis worker.

pub mod app;
pub mod commands;
pub mod export;
pub mod job;
pub mod panels;
pub mod review;
mod review_worker;
pub mod settings;
pub mod state;
pub mod swap_bench;
pub mod training;
pub mod worker;

pub use app::App;
use eframe::egui;
use std::path::PathBuf;

/// Lowers the calling thread's scheduling priority (threads it starts inherit it), so
/// that the window stays responsive while a worker uses every core.
pub(crate) fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority on the calling thread (who = 0) with a valid nice value.
    unsafe {
        let _ = libc::setpriority(libc::PRIO_PROCESS, 0, 10);
    }
}

/// Opens the window on the Review tab: the dataset at `dir`, the table at `table`.
pub fn run_review(
    dataset: crate::review::Dataset,
    table: PathBuf,
    annotator: String,
) -> anyhow::Result<()> {
    run_app(Box::new(move |cc| {
        App::review(cc, dataset.root.clone(), table, annotator)
    }))
}

/// Opens the window; with a video, its analysis starts at once (with `checkpoint` as
/// the detector when given); `reset`: with the default settings, not the remembered
/// ones.
pub fn run(video: Option<PathBuf>, checkpoint: Option<PathBuf>, reset: bool) -> anyhow::Result<()> {
    run_app(Box::new(move |cc| {
        App::with_options(cc, video, checkpoint, reset)
    }))
}

type MakeApp = Box<dyn FnOnce(&eframe::CreationContext<'_>) -> App>;

fn run_app(make: MakeApp) -> anyhow::Result<()> {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("ti2net")
            .with_inner_size([1280.0, 800.0])
            .with_min_inner_size([900.0, 600.0])
            .with_drag_and_drop(true),
        ..Default::default()
    };
    let run = eframe::run_native(
        "ti2net",
        options,
        Box::new(move |cc| Ok(Box::new(make(cc)))),
    );
    // The window is closed: stop the analyses still running before the process ends.
    worker::stop_all(std::time::Duration::from_secs(10));
    run.map_err(|e| anyhow::anyhow!("cannot open the window: {e}"))
}
