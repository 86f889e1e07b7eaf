//! A video beside its face swap (the paper's Figure 1, real against fake): both
//! identity curves on one plot, the two similarity matrices next to each other, and both
//! verdicts, as one PNG for a classroom or a report.

use crate::error::{Error, Result};
use crate::report::Report;
use plotters::prelude::*;
use std::path::Path;

fn err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Other(format!(
        "{}: cannot draw the comparison ({e})",
        path.display()
    ))
}

/// One side of the comparison.
pub struct Side<'a> {
    pub title: &'a str,
    pub report: &'a Report,
    /// The similarity matrix picture (e.g. [`crate::plots::matrix_image`]).
    pub matrix: &'a image::RgbImage,
}

fn verdict_line(r: &Report) -> String {
    match &r.verdict {
        Some(v) => format!(
            "verdict: {}{}",
            v.label,
            v.p_fake
                .map(|p| format!(" (p_fake {p:.2})"))
                .unwrap_or_default()
        ),
        None => "no detector loaded".into(),
    }
}

/// Draws the comparison of `real` and `fake` into an image of 1200 x 980 pixels.
pub fn comparison_image(
    real: &Side,
    fake: &Side,
    path_for_errors: &Path,
) -> Result<image::RgbImage> {
    let (w, h) = (1200u32, 980u32);
    let msize = 440u32;
    let path = path_for_errors;
    let mut buf = vec![0u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(path, e))?;
        let (top, bottom) = root.split_vertically(440);
        let t_end = [real.report, fake.report]
            .iter()
            .filter_map(|r| r.frames.last().map(|f| f.time_s))
            .fold(1e-3f64, f64::max);
        let mut chart = ChartBuilder::on(&top)
            .caption(
                "Identity over time: the real video against its face swap",
                ("sans-serif", 22),
            )
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
        let colours = [RGBColor(40, 110, 220), RGBColor(220, 60, 50)];
        for (side, colour) in [real, fake].into_iter().zip(colours) {
            let curve = |f: fn(&crate::report::FrameRecord) -> Option<f32>| -> Vec<(f64, f64)> {
                side.report
                    .frames
                    .iter()
                    .filter_map(|r| f(r).map(|s| (r.time_s, s as f64)))
                    .collect()
            };
            chart
                .draw_series(LineSeries::new(curve(|r| r.sim_previous), colour.mix(0.35)))
                .map_err(|e| err(path, e))?
                .label(format!("{}: to the previous frame", side.title))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], colour.mix(0.35))
                });
            chart
                .draw_series(LineSeries::new(
                    curve(|r| r.sim_reference),
                    colour.stroke_width(2),
                ))
                .map_err(|e| err(path, e))?
                .label(format!("{}: to the reference identity", side.title))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(|e| err(path, e))?;
        let (left, right) = bottom.split_horizontally(w / 2);
        for (area, side) in [(left, real), (right, fake)] {
            area.draw(&Text::new(
                format!("{} - frame-by-frame similarity", side.title),
                (20, 16),
                ("sans-serif", 20),
            ))
            .map_err(|e| err(path, e))?;
            area.draw(&Text::new(
                verdict_line(side.report),
                (20, 44),
                ("sans-serif", 18),
            ))
            .map_err(|e| err(path, e))?;
        }
        root.present().map_err(|e| err(path, e))?;
    }
    let mut img = image::RgbImage::from_raw(w, h, buf).ok_or_else(|| err(path, "buffer size"))?;
    for (k, side) in [real, fake].into_iter().enumerate() {
        if side.matrix.width() == 0 || side.matrix.height() == 0 {
            continue;
        }
        let m = image::imageops::resize(
            side.matrix,
            msize,
            msize,
            image::imageops::FilterType::Nearest,
        );
        let x = k as i64 * (w / 2) as i64 + ((w / 2 - msize) / 2) as i64;
        image::imageops::overlay(&mut img, &m, x, 440 + 80);
    }
    Ok(img)
}

/// Writes the comparison as PNG (atomically; an existing file is replaced only with
/// `overwrite`).
pub fn comparison_png(real: &Side, fake: &Side, path: &Path, overwrite: bool) -> Result<()> {
    if path.exists() && !overwrite {
        return Err(Error::Exists(path.to_path_buf()));
    }
    let img = comparison_image(real, fake, path)?;
    crate::plots::write_png(&img, path)
}
