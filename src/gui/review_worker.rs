//! The Review tab's analysis worker and its cache on disk: the models are loaded
//! once, then the most wanted video not done yet is analysed (the current one, then
//! the next); each analysis is kept beside the table (`<table>.analyses/<key>.json`,
//! the report, and `<key>.png`, the strip of crops).

use super::review::{Cached, ReviewMsg, ReviewSpec, CROP_SIDE, MAX_CROPS};
use crate::encoder::Encoder;
use crate::faces::FaceAnalyzer;
use crate::pipeline;
use crate::report::Report;
use eframe::egui::{self, ColorImage, TextureHandle, TextureOptions};
use image::RgbImage;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Mutex;

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
    let models = Encoder::load(spec.encoder, &spec.weights, &candle_core::Device::Cpu)
        .and_then(|e| Ok((e, FaceAnalyzer::new(&spec.landmarks, spec.opts.upsample)?)));
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
        let (enc, faces) = match &models {
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
        match pipeline::analyze(
            &videos[&key],
            enc,
            faces,
            &spec.opts,
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

fn cache_paths(dir: &Path, key: &str) -> (PathBuf, PathBuf) {
    let k = key.replace('/', "__");
    (dir.join(format!("{k}.json")), dir.join(format!("{k}.png")))
}

#[derive(serde::Serialize, serde::Deserialize)]
struct CacheFile {
    report: Report,
    /// Frame index of each crop of the PNG strip, left to right.
    crop_frames: Vec<u64>,
}

pub(crate) fn save_cached(
    dir: &Path,
    key: &str,
    report: &Report,
    crops: &[(u64, RgbImage)],
) -> crate::Result<()> {
    let (json, png) = cache_paths(dir, key);
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
        report: report.clone(),
        crop_frames: crops.iter().map(|(i, _)| *i).collect(),
    };
    crate::fsutil::write_atomic(&json, &serde_json::to_vec(&c).unwrap_or_default(), true)
}

/// A cached analysis; anything unreadable is ignored (the video is analysed again).
pub(crate) fn load_cached(dir: &Path, key: &str, ctx: &egui::Context) -> Option<Cached> {
    let (json, png) = cache_paths(dir, key);
    let c: CacheFile = serde_json::from_slice(&std::fs::read(json).ok()?).ok()?;
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
