//! The Review tab's analysis worker and its cache on disk: the models are loaded
//! once, then the most wanted video not done yet is analysed (the current one, then
//! the next); each analysis is kept beside the table (`<table>.analyses/<key>.json`,
//! the report, and `<key>.png`, the strip of crops).

use crate::pipeline;
use crate::report::Report;
use crate::session::Session;
use eframe::egui::{self, ColorImage, TextureHandle, TextureOptions};
use image::RgbImage;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Mutex;

/// Side of a crop in the strip (pixels).
pub const CROP_SIDE: u32 = 56;
/// Crops kept per video at most.
pub const MAX_CROPS: usize = 240;

/// Everything the worker needs to analyse: the Settings tab's session, without a
/// detector or a claimed person (the review reads the identity curves).
pub type ReviewSpec = crate::session::SessionSpec;

/// A video's analysis as the tab shows it.
pub struct Cached {
    pub report: Report,
    /// (frame index, crop) of at most [`MAX_CROPS`] face frames.
    pub crops: Vec<(u64, TextureHandle)>,
}

/// What the analysis worker sends.
pub enum ReviewMsg {
    Started(String),
    /// Frames analysed and expected, of the video being analysed.
    Progress(u64, u64),
    Done {
        key: String,
        report: Box<Report>,
        crops: Vec<(u64, RgbImage)>,
    },
    Failed {
        key: String,
        error: String,
    },
}

pub(crate) fn texture(ctx: &egui::Context, name: String, img: &RgbImage) -> TextureHandle {
    let ci = ColorImage::from_rgb([img.width() as usize, img.height() as usize], img.as_raw());
    ctx.load_texture(name, ci, TextureOptions::LINEAR)
}

/// The worker: loads the models once, then analyses the most wanted video not done.
pub(crate) fn work(
    spec: &ReviewSpec,
    videos: &HashMap<String, PathBuf>,
    wanted: &Mutex<Vec<String>>,
    cancel: &AtomicBool,
    send: &dyn Fn(ReviewMsg),
) {
    let models = Session::load(spec.clone()).and_then(|s| {
        let faces = s.faces()?;
        Ok((s, faces))
    });
    let mut done: BTreeSet<String> = BTreeSet::new();
    while !cancel.load(std::sync::atomic::Ordering::Relaxed) {
        let next = wanted
            .lock()
            .ok()
            .and_then(|w| w.iter().find(|k| !done.contains(*k)).cloned());
        let Some(key) = next else {
            std::thread::sleep(std::time::Duration::from_millis(50));
            continue;
        };
        done.insert(key.clone());
        let (session, faces) = match &models {
            Ok(m) => (&m.0, &m.1),
            Err(e) => {
                send(ReviewMsg::Failed {
                    key,
                    error: format!("cannot load the models: {e}"),
                });
                continue;
            }
        };
        send(ReviewMsg::Started(key.clone()));
        let mut last = std::time::Instant::now();
        let mut on_progress = |p: pipeline::Progress| {
            if last.elapsed().as_millis() >= 200 {
                last = std::time::Instant::now();
                send(ReviewMsg::Progress(p.done, p.total));
            }
        };
        let mut crops = Vec::new();
        let mut on_frame = |f: &crate::video::Frame, c: Option<&crate::align::FaceCrops>| {
            if let Some(c) = c {
                let small = image::imageops::resize(
                    &c.aligned,
                    CROP_SIDE,
                    CROP_SIDE,
                    image::imageops::FilterType::Triangle,
                );
                crops.push((f.index, small));
            }
            Ok(())
        };
        match session.analyse(
            &videos[&key],
            faces,
            &mut on_progress,
            &mut on_frame,
            cancel,
        ) {
            Ok(a) => {
                let step = crops.len().div_ceil(MAX_CROPS).max(1);
                let crops = crops.into_iter().step_by(step).collect();
                send(ReviewMsg::Done {
                    key,
                    report: Box::new(a.report),
                    crops,
                });
            }
            Err(crate::Error::Cancelled) => return,
            Err(e) => send(ReviewMsg::Failed {
                key,
                error: e.to_string(),
            }),
        }
    }
}

/// What a cached analysis is valid for: the video (its key in the dataset, its size and
/// modification time, checked when the cache is read) and the settings it was made
/// with. The cache's file names are a hash of the key and the settings, so two videos
/// (`a/b.mp4`, `a__b.mp4`) or two settings never share a file.
pub(crate) struct CacheKey<'a> {
    pub key: &'a str,
    pub video: &'a Path,
    pub spec: &'a ReviewSpec,
}

impl CacheKey<'_> {
    fn settings(&self) -> String {
        format!(
            "{} {:?} {:?}",
            self.spec.encoder.name(),
            self.spec.weights,
            self.spec.opts
        )
    }

    fn paths(&self, dir: &Path) -> (PathBuf, PathBuf) {
        let h =
            crate::fsutil::sha256_bytes(format!("{}\n{}", self.key, self.settings()).as_bytes());
        let h = &h[..24];
        (dir.join(format!("{h}.json")), dir.join(format!("{h}.png")))
    }

    /// The video's size and modification time (ns since the epoch), as a change check.
    fn stamp(&self) -> Option<(u64, u128)> {
        let m = std::fs::metadata(self.video).ok()?;
        let t = m
            .modified()
            .ok()?
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?;
        Some((m.len(), t.as_nanos()))
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct CacheFile {
    /// The video's key and the settings, as [`CacheKey`] gives them.
    key: String,
    settings: String,
    /// The video's size and modification time when it was analysed.
    stamp: (u64, u128),
    report: Report,
    /// Frame index of each crop of the PNG strip, left to right.
    crop_frames: Vec<u64>,
}

pub(crate) fn save_cached(
    dir: &Path,
    k: &CacheKey<'_>,
    report: &Report,
    crops: &[(u64, RgbImage)],
) -> crate::Result<()> {
    let (json, png) = k.paths(dir);
    let stamp = k
        .stamp()
        .ok_or_else(|| crate::Error::Missing(k.video.to_path_buf()))?;
    let n = crops.len() as u32;
    if n > 0 {
        let mut strip = RgbImage::new(n * CROP_SIDE, CROP_SIDE);
        for (k, (_, c)) in crops.iter().enumerate() {
            image::imageops::replace(&mut strip, c, (k as u32 * CROP_SIDE) as i64, 0);
        }
        let mut bytes = Vec::new();
        strip
            .write_to(
                &mut std::io::Cursor::new(&mut bytes),
                image::ImageFormat::Png,
            )
            .map_err(|e| crate::Error::Other(e.to_string()))?;
        crate::fsutil::write_atomic(&png, &bytes, true)?;
    }
    let c = CacheFile {
        key: k.key.to_string(),
        settings: k.settings(),
        stamp,
        report: report.clone(),
        crop_frames: crops.iter().map(|(i, _)| *i).collect(),
    };
    crate::fsutil::write_atomic(&json, &serde_json::to_vec(&c).unwrap_or_default(), true)
}

/// A cached analysis; anything unreadable is ignored (the video is analysed again).
/// A cache made for another video, other settings, or before the video changed on
/// disk is ignored too.
pub(crate) fn load_cached(dir: &Path, k: &CacheKey<'_>, ctx: &egui::Context) -> Option<Cached> {
    let (json, png) = k.paths(dir);
    let c: CacheFile = serde_json::from_slice(&std::fs::read(json).ok()?).ok()?;
    if c.key != k.key || c.settings != k.settings() || Some(c.stamp) != k.stamp() {
        return None;
    }
    let key = k.key;
    let mut crops = Vec::new();
    if !c.crop_frames.is_empty() {
        let strip = image::open(png).ok()?.to_rgb8();
        for (k, i) in c.crop_frames.iter().enumerate() {
            let x = k as u32 * CROP_SIDE;
            if x + CROP_SIDE > strip.width() {
                return None;
            }
            let crop = image::imageops::crop_imm(&strip, x, 0, CROP_SIDE, CROP_SIDE).to_image();
            crops.push((*i, texture(ctx, format!("review-{key}-{i}"), &crop)));
        }
    }
    Some(Cached {
        report: c.report,
        crops,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_files_are_named_by_the_video_and_the_settings() {
        let spec = ReviewSpec::default();
        let dir = Path::new("/cache");
        let key = |k: &'static str, s: &'static ReviewSpec| CacheKey {
            key: k,
            video: Path::new("/v.mp4"),
            spec: s,
        };
        let spec: &'static ReviewSpec = Box::leak(Box::new(spec));
        // `a/b.mp4` and `a__b.mp4` once shared a file.
        assert_ne!(
            key("a/b.mp4", spec).paths(dir),
            key("a__b.mp4", spec).paths(dir)
        );
        let mut other = spec.clone();
        other.opts.selection.every = std::num::NonZeroU32::new(3).unwrap();
        let other: &'static ReviewSpec = Box::leak(Box::new(other));
        assert_ne!(
            key("a/b.mp4", spec).paths(dir),
            key("a/b.mp4", other).paths(dir)
        );
        assert_eq!(
            key("a/b.mp4", spec).paths(dir),
            key("a/b.mp4", spec).paths(dir)
        );
    }
}
