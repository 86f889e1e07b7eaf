//! Export actions: writing the report, the curves, the similarity matrix, the face
//! crops or the forensic report where a file dialog says (the menu that asks for them
//! is `panels::export`).

use super::state::State;
use eframe::egui;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportKind {
    Report,
    Curves,
    Heatmap,
    Crops,
}

/// Asks where, writes, and says what happened in the messages.
pub fn export(kind: ExportKind, state: &mut State) {
    let result = write(kind, state);
    let messages = &mut state.messages;
    match result {
        Ok(Some(p)) => messages.push(format!("exported {}", p.display())),
        Ok(None) => messages
            .push("no file dialog is available here (or it was closed); nothing exported".into()),
        Err(e) => messages.push(e),
    }
}

/// Export > Forensic report: asks for a folder, then writes there in the background.
pub fn export_forensic(
    ctx: &egui::Context,
    state: &mut State,
    settings: &super::settings::Settings,
) {
    if state.analysis.report.is_none() {
        state
            .messages
            .push("nothing to report yet: open a video and let the analysis finish".into());
        return;
    }
    let start = state
        .analysis
        .report
        .as_ref()
        .and_then(|r| r.video.path.parent().map(|p| p.to_path_buf()))
        .unwrap_or_else(|| PathBuf::from("."));
    match rfd::FileDialog::new()
        .set_directory(start)
        .set_title("Folder for the forensic report")
        .pick_folder()
    {
        Some(dir) => export_forensic_to(ctx, state, settings, &dir),
        None => state
            .messages
            .push("no file dialog is available here (or it was closed); nothing exported".into()),
    }
}

/// Writes the forensic report of the current analysis into `dir` on a worker thread
/// (hashing a large video takes a while); the messages say when it is written.
pub fn export_forensic_to(
    ctx: &egui::Context,
    state: &mut State,
    settings: &super::settings::Settings,
    dir: &std::path::Path,
) {
    if state.forensic.is_some() {
        state
            .messages
            .push("a forensic report is being written; wait for it to finish".into());
        return;
    }
    let job = match ForensicJob::prepare(state, settings, dir) {
        Ok(j) => j,
        Err(e) => return state.messages.push(e),
    };
    let ctx = ctx.clone();
    match crate::gui::worker::Worker::spawn(
        "ti2net-forensic",
        move || ctx.request_repaint(),
        move |_cancel: &std::sync::atomic::AtomicBool, out| out.send(job.write()),
    ) {
        Ok(w) => state.forensic = Some(w),
        Err(e) => state
            .messages
            .push(format!("cannot start the forensic report's thread: {e}")),
    }
}

/// Writes the forensic report of the current analysis into `dir` (STEM.report.html
/// and STEM.report.json), on the calling thread; returns the page's path.
pub fn forensic_into(
    state: &State,
    settings: &super::settings::Settings,
    dir: &std::path::Path,
) -> Result<PathBuf, String> {
    ForensicJob::prepare(state, settings, dir)?.write()
}

/// What a forensic report needs, taken from the window's state: the report, the
/// vectors (shared) and the contact sheet's crops.
pub struct ForensicJob {
    report: crate::report::Report,
    vectors: std::sync::Arc<Vec<Option<Vec<f32>>>>,
    thumbs: crate::evidence::Thumbs,
    parameters: serde_json::Value,
    landmarks: PathBuf,
    html: PathBuf,
    json: PathBuf,
}

impl ForensicJob {
    /// Takes what the report needs; refuses when there is no analysis or when a report
    /// of this video is already in `dir`.
    pub fn prepare(
        state: &State,
        settings: &super::settings::Settings,
        dir: &std::path::Path,
    ) -> Result<Self, String> {
        let a = &state.analysis;
        let r = a.report.as_ref().ok_or("no analysis to report")?;
        let stem = video_stem(r);
        let (html, json) = (
            dir.join(format!("{stem}.report.html")),
            dir.join(format!("{stem}.report.json")),
        );
        for p in [&html, &json] {
            if p.exists() {
                return Err(format!(
                    "{}: already exists; choose another folder or move it away",
                    p.display()
                ));
            }
        }
        let mut thumbs = crate::evidence::Thumbs::default();
        for (i, c) in &a.crop_images {
            thumbs.offer(*i, c);
        }
        let parameters = serde_json::json!({
            "encoder": r.encoder.name,
            "encoder_sha256": r.encoder.weights_sha256,
            "analysis": r.settings,
            "stride": settings.stride,
            "threshold": r.verdict.as_ref().map(|v| v.threshold),
            "claimed_person": settings.reference,
        });
        Ok(Self {
            report: r.clone(),
            vectors: a.vectors.clone(),
            thumbs,
            parameters,
            landmarks: PathBuf::from(&settings.landmarks),
            html,
            json,
        })
    }

    /// Hashes, probes, draws and writes (never over an existing file).
    pub fn write(self) -> Result<PathBuf, String> {
        let rep = crate::evidence::build(
            &self.report,
            &self.vectors,
            &self.thumbs,
            &crate::evidence::Context {
                parameters: self.parameters,
                landmarks: &self.landmarks,
            },
        )
        .map_err(|e| e.to_string())?;
        let bytes = rep.json().map_err(|e| e.to_string())?;
        crate::fsutil::write_atomic(&self.json, &bytes, false).map_err(|e| e.to_string())?;
        crate::fsutil::write_atomic(&self.html, rep.html().as_bytes(), false)
            .map_err(|e| e.to_string())?;
        Ok(self.html)
    }
}

fn write(kind: ExportKind, state: &State) -> Result<Option<PathBuf>, String> {
    let a = &state.analysis;
    let Some(r) = &a.report else {
        return Err("nothing to export yet: open a video first".into());
    };
    let stem = video_stem(r);
    let dialog = rfd::FileDialog::new()
        .set_directory(r.video.path.parent().unwrap_or(std::path::Path::new(".")));
    let result: crate::Result<Option<PathBuf>> = match kind {
        ExportKind::Report => match dialog
            .set_file_name(format!("{stem}.ti2net.json"))
            .save_file()
        {
            Some(p) => serde_json::to_vec_pretty(r)
                .map_err(|e| crate::Error::Other(e.to_string()))
                .and_then(|b| crate::fsutil::write_atomic(&p, &b, true))
                .map(|_| Some(p)),
            None => Ok(None),
        },
        ExportKind::Curves => match dialog
            .set_file_name(format!("{stem}.curves.png"))
            .save_file()
        {
            Some(p) => crate::plots::curves_png(r, &p).map(|_| Some(p)),
            None => Ok(None),
        },
        ExportKind::Heatmap => match (
            &a.matrix,
            dialog
                .set_file_name(format!("{stem}.similarity.png"))
                .save_file(),
        ) {
            (Some(m), Some(p)) => {
                crate::plots::matrix_png(&m.values, m.ids.len(), 512, &p).map(|_| Some(p))
            }
            _ => Ok(None),
        },
        ExportKind::Crops => match dialog.pick_folder() {
            Some(dir) => export_crops(&dir, &stem, &a.crop_images).map(|_| Some(dir)),
            None => Ok(None),
        },
    };
    result.map_err(|e| e.to_string())
}

/// Writes each crop as `<stem>_<frame>.png` in `dir`, atomically. Nothing is written
/// when any of those files exists already (an earlier export is never replaced).
pub fn export_crops(
    dir: &std::path::Path,
    stem: &str,
    crops: &std::collections::BTreeMap<u64, image::RgbImage>,
) -> crate::Result<()> {
    let path = |i: &u64| dir.join(format!("{stem}_{i:06}.png"));
    if let Some(p) = crops.keys().map(path).find(|p| p.exists()) {
        return Err(crate::Error::Other(format!(
            "{}: already exists (crops of an earlier export?); nothing exported: choose another folder",
            p.display()
        )));
    }
    for (i, c) in crops {
        crate::fsutil::write_png(&path(i), c, false)?;
    }
    Ok(())
}

/// The analysed video's file name without its extension: the exports' names start with it.
fn video_stem(r: &crate::report::Report) -> String {
    r.video
        .path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "video".into())
}
