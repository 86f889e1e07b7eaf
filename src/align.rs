//! Stage 3: face crops.
//!
//! Two crops per face:
//! - the original TI2Net crop: a square of 1.3 x the detection's longer side around
//!   its centre, clamped to the frame, grey, 128 x 128 (input of `resnet_face18`);
//! - a 112 x 112 RGB crop aligned by a similarity transform of five landmarks (eye
//!   centres, nose tip, mouth corners) onto the ArcFace template (input of
//!   MobileFaceNet).

use crate::faces::{BBox, Detection};
use image::{GrayImage, Rgb, RgbImage};

/// The ArcFace five-point template for 112 x 112 crops.
pub const ARCFACE_TEMPLATE: [[f32; 2]; 5] = [
    [38.2946, 51.6963],
    [73.5318, 51.5014],
    [56.0252, 71.7366],
    [41.5493, 92.3655],
    [70.7299, 92.2041],
];

pub const ALIGNED_SIZE: u32 = 112;
pub const SQUARE_SIZE: u32 = 128;

/// Both crops of one face.
#[derive(Clone)]
pub struct FaceCrops {
    /// 112 x 112 RGB, five-point aligned.
    pub aligned: RgbImage,
    /// 128 x 128 grey, the original's square crop.
    pub square: GrayImage,
}

impl FaceCrops {
    pub fn from_detection(frame: &RgbImage, det: &Detection) -> Self {
        let aligned = match five_points(&det.landmarks) {
            Some(p) => align_five(frame, &p),
            None => square_rgb(frame, &det.bbox, ALIGNED_SIZE),
        };
        Self {
            aligned,
            square: square_gray(frame, &det.bbox),
        }
    }

    /// A whole image taken as the face (`--no-detect`): the aligned crop is the image
    /// resized to 112, the square crop the image in grey resized to 128, exactly as
    /// the original's `load_image` treats a saved crop.
    pub fn whole_image(img: &RgbImage) -> Self {
        let aligned = image::imageops::resize(
            img,
            ALIGNED_SIZE,
            ALIGNED_SIZE,
            image::imageops::FilterType::Triangle,
        );
        let gray = to_gray(img);
        let square = image::imageops::resize(
            &gray,
            SQUARE_SIZE,
            SQUARE_SIZE,
            image::imageops::FilterType::Triangle,
        );
        Self { aligned, square }
    }
}

/// Grey as OpenCV computes it (0.299 R + 0.587 G + 0.114 B, rounded).
pub fn to_gray(img: &RgbImage) -> GrayImage {
    GrayImage::from_fn(img.width(), img.height(), |x, y| {
        let p = img.get_pixel(x, y);
        let v = 0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32;
        image::Luma([v.round().clamp(0.0, 255.0) as u8])
    })
}

/// The original's square box: centre of the detection, side 1.3 x the longer side,
/// clamped to the image. Returns `(x0, y0, x1, y1)`, exclusive end.
pub fn square_box(bbox: &BBox, width: u32, height: u32) -> (u32, u32, u32, u32) {
    let cx = bbox[0] + bbox[2] / 2.0;
    let cy = bbox[1] + bbox[3] / 2.0;
    let half = bbox[2].max(bbox[3]) * 1.3 / 2.0;
    let clamp = |v: f32, hi: u32| v.round().clamp(0.0, hi as f32) as u32;
    let (x0, x1) = (clamp(cx - half, width), clamp(cx + half, width));
    let (y0, y1) = (clamp(cy - half, height), clamp(cy + half, height));
    (
        x0,
        y0,
        x1.max(x0 + 1).min(width),
        y1.max(y0 + 1).min(height),
    )
}

fn square_rgb(frame: &RgbImage, bbox: &BBox, size: u32) -> RgbImage {
    let (x0, y0, x1, y1) = square_box(bbox, frame.width(), frame.height());
    let view = image::imageops::crop_imm(frame, x0, y0, x1 - x0, y1 - y0).to_image();
    image::imageops::resize(&view, size, size, image::imageops::FilterType::Triangle)
}

/// The original TI2Net crop: 1.3 x box, grey, 128 x 128.
pub fn square_gray(frame: &RgbImage, bbox: &BBox) -> GrayImage {
    to_gray(&square_rgb(frame, bbox, SQUARE_SIZE))
}

/// Five points from the 68 landmarks: eye centres (36-41, 42-47), nose tip (30),
/// mouth corners (48, 54). `None` when the landmarks are not the 68-point set.
pub fn five_points(lm: &[[f32; 2]]) -> Option<[[f32; 2]; 5]> {
    if lm.len() != 68 {
        return None;
    }
    let mean = |r: std::ops::Range<usize>| {
        let n = r.len() as f32;
        let (mut x, mut y) = (0.0, 0.0);
        for i in r {
            x += lm[i][0];
            y += lm[i][1];
        }
        [x / n, y / n]
    };
    Some([mean(36..42), mean(42..48), lm[30], lm[48], lm[54]])
}

/// Least-squares similarity transform (Umeyama, no reflection) taking `src` onto
/// `dst`: returns `[a, b, tx, ty]` with `x' = a x - b y + tx`, `y' = b x + a y + ty`.
pub fn similarity(src: &[[f32; 2]], dst: &[[f32; 2]]) -> [f64; 4] {
    let n = src.len() as f64;
    let mean = |p: &[[f32; 2]]| {
        let (mut x, mut y) = (0.0f64, 0.0f64);
        for q in p {
            x += q[0] as f64;
            y += q[1] as f64;
        }
        (x / n, y / n)
    };
    let (sx, sy) = mean(src);
    let (dx, dy) = mean(dst);
    let (mut num_re, mut num_im, mut den) = (0.0, 0.0, 0.0);
    for (s, d) in src.iter().zip(dst) {
        let (ax, ay) = (s[0] as f64 - sx, s[1] as f64 - sy);
        let (bx, by) = (d[0] as f64 - dx, d[1] as f64 - dy);
        // d * conj(s)
        num_re += bx * ax + by * ay;
        num_im += by * ax - bx * ay;
        den += ax * ax + ay * ay;
    }
    let (a, b) = if den > 0.0 {
        (num_re / den, num_im / den)
    } else {
        (1.0, 0.0)
    };
    let tx = dx - (a * sx - b * sy);
    let ty = dy - (b * sx + a * sy);
    [a, b, tx, ty]
}

/// Warps `frame` so that the five points land on the ArcFace template (112 x 112),
/// bilinear, black outside the frame (as `cv2.warpAffine`).
pub fn align_five(frame: &RgbImage, points: &[[f32; 2]; 5]) -> RgbImage {
    let [a, b, tx, ty] = similarity(points, &ARCFACE_TEMPLATE);
    let det = a * a + b * b;
    let (ia, ib) = if det > 0.0 {
        (a / det, -b / det)
    } else {
        (1.0, 0.0)
    };
    let (w, h) = (frame.width() as i64, frame.height() as i64);
    RgbImage::from_fn(ALIGNED_SIZE, ALIGNED_SIZE, |u, v| {
        let (px, py) = (u as f64 - tx, v as f64 - ty);
        // inverse of [a -b; b a] is [a b; -b a] / det
        let x = ia * px - ib * py;
        let y = ib * px + ia * py;
        let (x0, y0) = (x.floor(), y.floor());
        let (fx, fy) = (x - x0, y - y0);
        let mut acc = [0.0f64; 3];
        for (dx, dy, wgt) in [
            (0, 0, (1.0 - fx) * (1.0 - fy)),
            (1, 0, fx * (1.0 - fy)),
            (0, 1, (1.0 - fx) * fy),
            (1, 1, fx * fy),
        ] {
            let (xi, yi) = (x0 as i64 + dx, y0 as i64 + dy);
            if xi >= 0 && yi >= 0 && xi < w && yi < h {
                let p = frame.get_pixel(xi as u32, yi as u32);
                for c in 0..3 {
                    acc[c] += wgt * p[c] as f64;
                }
            }
        }
        Rgb([
            acc[0].round().clamp(0.0, 255.0) as u8,
            acc[1].round().clamp(0.0, 255.0) as u8,
            acc[2].round().clamp(0.0, 255.0) as u8,
        ])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similarity_recovers_a_known_transform() {
        // x' = 2 (cos t x - sin t y) + 5, ...
        let t = 0.3f64;
        let (a, b) = (2.0 * t.cos(), 2.0 * t.sin());
        let src = [
            [1.0f32, 2.0],
            [5.0, -1.0],
            [3.0, 3.0],
            [0.0, 0.0],
            [-2.0, 4.0],
        ];
        let dst: Vec<[f32; 2]> = src
            .iter()
            .map(|p| {
                let (x, y) = (p[0] as f64, p[1] as f64);
                [(a * x - b * y + 5.0) as f32, (b * x + a * y - 7.0) as f32]
            })
            .collect();
        let m = similarity(&src, &dst);
        assert!((m[0] - a).abs() < 1e-5 && (m[1] - b).abs() < 1e-5);
        assert!((m[2] - 5.0).abs() < 1e-4 && (m[3] + 7.0).abs() < 1e-4);
    }

    #[test]
    fn square_box_is_clamped() {
        assert_eq!(square_box(&[0.0, 0.0, 100.0, 80.0], 90, 90), (0, 0, 90, 90));
        let (x0, y0, x1, y1) = square_box(&[100.0, 100.0, 100.0, 100.0], 1000, 1000);
        assert_eq!((x1 - x0, y1 - y0), (130, 130));
        assert_eq!((x0, y0), (85, 85));
    }

    #[test]
    fn aligning_template_points_is_identity() {
        let img = RgbImage::from_fn(112, 112, |x, y| Rgb([x as u8, y as u8, 7]));
        let out = align_five(&img, &ARCFACE_TEMPLATE);
        for (x, y) in [(10, 10), (56, 60), (100, 30)] {
            assert_eq!(out.get_pixel(x, y), img.get_pixel(x, y));
        }
    }
}
