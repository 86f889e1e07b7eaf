//! Pictures of an analysis as PNG (plotters): the identity curves with identity
//! changes and TI2Net's per-window probabilities, and the frame-by-frame similarity
//! matrix, drawn like the GUI shows them.

use crate::error::{Error, Result};
use crate::report::Report;
use plotters::prelude::*;
use std::path::Path;

fn err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Other(format!("{}: cannot draw the picture ({e})", path.display()))
}

/// The colour map of the similarity matrix (-0.2 dark blue ... 1 yellow).
pub fn heat_rgb(s: f32) -> [u8; 3] {
    let t = ((s + 0.2) / 1.2).clamp(0.0, 1.0);
    let stops = [
        (0.0, [20, 20, 80]),
        (0.35, [40, 90, 160]),
        (0.6, [40, 170, 130]),
        (0.8, [170, 210, 60]),
        (1.0, [250, 235, 40]),
    ];
    for w in stops.windows(2) {
        let (a, ca) = w[0];
        let (b, cb) = w[1];
        if t <= b {
            let u = (t - a) / (b - a);
            let mix = |k: usize| (ca[k] as f32 + u * (cb[k] as f32 - ca[k] as f32)) as u8;
            return [mix(0), mix(1), mix(2)];
        }
    }
    [250, 235, 40]
}

/// The similarity matrix of `n` face frames as an image, one pixel per cell.
pub fn matrix_image(m: &[f32], n: usize) -> image::RgbImage {
    image::RgbImage::from_fn(n as u32, n as u32, |x, y| {
        image::Rgb(heat_rgb(m[y as usize * n + x as usize]))
    })
}

/// Writes the matrix, scaled to `size` pixels, as PNG.
pub fn matrix_png(m: &[f32], n: usize, size: u32, path: &Path) -> Result<()> {
    let img = image::imageops::resize(
        &matrix_image(m, n),
        size,
        size,
        image::imageops::FilterType::Nearest,
    );
    write_png(&img, path)
}

/// Encodes `img` as PNG and writes it atomically.
pub(crate) fn write_png(img: &image::RgbImage, path: &Path) -> Result<()> {
    let mut bytes = Vec::new();
    img.write_to(
        &mut std::io::Cursor::new(&mut bytes),
        image::ImageFormat::Png,
    )
    .map_err(|e| err(path, e))?;
    crate::fsutil::write_atomic(path, &bytes, true)
}

/// Writes the identity curves (and the verdict's windows, when there is one) as PNG.
pub fn curves_png(r: &Report, path: &Path) -> Result<()> {
    write_png(&curves_image(r, path)?, path)
}

/// PNG bytes of an image.
pub fn png_bytes(img: &image::RgbImage) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    img.write_to(
        &mut std::io::Cursor::new(&mut bytes),
        image::ImageFormat::Png,
    )
    .map_err(|e| Error::Other(format!("cannot encode a PNG picture ({e})")))?;
    Ok(bytes)
}

/// The identity curves as an image (`path` names the picture in errors).
pub fn curves_image(r: &Report, path: &Path) -> Result<image::RgbImage> {
    let (w, h) = (1200u32, if r.verdict.is_some() { 560 } else { 420 });
    let mut buf = vec![0u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(path, e))?;
        let (top, bottom) = if r.verdict.is_some() {
            root.split_vertically(400)
        } else {
            (root.clone(), root.clone())
        };
        let t_end = r.frames.last().map(|f| f.time_s).unwrap_or(1.0).max(1e-3);
        let title = format!(
            "{} - identity over time",
            r.video
                .path
                .file_name()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default()
        );
        let mut chart = ChartBuilder::on(&top)
            .caption(title, ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(48)
            .build_cartesian_2d(0.0..t_end, -0.2f64..1.05)
            .map_err(|e| err(path, e))?;
        chart
            .configure_mesh()
            .x_desc("time (s)")
            .y_desc("cosine similarity")
            .draw()
            .map_err(|e| err(path, e))?;
        let blue = RGBColor(40, 110, 220);
        let grey = RGBColor(150, 150, 150);
        let red = RGBColor(220, 60, 50);
        let refs: Vec<(f64, f64)> = r
            .frames
            .iter()
            .filter_map(|f| f.sim_reference.map(|s| (f.time_s, s as f64)))
            .collect();
        let prev: Vec<(f64, f64)> = r
            .frames
            .iter()
            .filter_map(|f| f.sim_previous.map(|s| (f.time_s, s as f64)))
            .collect();
        chart
            .draw_series(LineSeries::new(prev, grey.stroke_width(1)))
            .map_err(|e| err(path, e))?
            .label("similarity to the previous frame")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], grey));
        chart
            .draw_series(LineSeries::new(refs, blue.stroke_width(2)))
            .map_err(|e| err(path, e))?
            .label("similarity to the reference identity")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], blue));
        if r.claimed.is_some() {
            let green = RGBColor(30, 150, 70);
            let claimed: Vec<(f64, f64)> = r
                .frames
                .iter()
                .filter_map(|f| f.sim_claimed.map(|s| (f.time_s, s as f64)))
                .collect();
            chart
                .draw_series(LineSeries::new(claimed, green.stroke_width(2)))
                .map_err(|e| err(path, e))?
                .label("similarity to the claimed person")
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], green));
        }
        for (k, c) in r.identity_changes.iter().enumerate() {
            let s = chart
                .draw_series(LineSeries::new(
                    vec![(c.time_s, -0.2), (c.time_s, 1.05)],
                    red.stroke_width(2),
                ))
                .map_err(|e| err(path, e))?;
            if k == 0 {
                s.label("identity change")
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], red));
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(|e| err(path, e))?;
        if let Some(v) = &r.verdict {
            let mut band = ChartBuilder::on(&bottom)
                .caption(
                    format!(
                        "TI2Net: {} (mean fake probability {}, threshold {:.2})",
                        v.label,
                        v.p_fake
                            .map(|p| format!("{p:.3}"))
                            .unwrap_or_else(|| "-".into()),
                        v.threshold
                    ),
                    ("sans-serif", 18),
                )
                .margin(12)
                .x_label_area_size(30)
                .y_label_area_size(48)
                .build_cartesian_2d(0.0..t_end, 0.0f64..1.0)
                .map_err(|e| err(path, e))?;
            band.configure_mesh()
                .y_desc("p(fake)")
                .draw()
                .map_err(|e| err(path, e))?;
            for wdw in &v.windows {
                let c = if wdw.p_fake >= v.threshold {
                    red
                } else {
                    RGBColor(60, 170, 90)
                };
                band.draw_series(LineSeries::new(
                    vec![
                        (wdw.start_s, wdw.p_fake as f64),
                        (wdw.end_s, wdw.p_fake as f64),
                    ],
                    c.stroke_width(3),
                ))
                .map_err(|e| err(path, e))?;
            }
            band.draw_series(LineSeries::new(
                vec![(0.0, v.threshold as f64), (t_end, v.threshold as f64)],
                BLACK.stroke_width(1),
            ))
            .map_err(|e| err(path, e))?;
        }
        root.present().map_err(|e| err(path, e))?;
    }
    image::RgbImage::from_raw(w, h, buf).ok_or_else(|| err(path, "buffer size"))
}
