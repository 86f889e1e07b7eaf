//! The image maths of a graphics face swap (FaceForensics++'s FaceSwap family, 2-D):
//! a Delaunay triangulation of the 68 landmarks, a piecewise affine warp of the source
//! face into the target's geometry, colour correction over the mask, a feathered
//! inner-face mask (brows to chin) and blending.

use image::RgbImage;
use serde::{Deserialize, Serialize};

/// Points whose convex hull is the swapped region: the jaw line (0-16), the brows
/// (17-26) and, after the 68 landmarks, the forehead points of [`extend`].
const HULL_POINTS: std::ops::Range<usize> = 0..EXTENDED;

/// The 68 landmarks plus 10 forehead points (each brow point moved away from the nose
/// tip by [`FOREHEAD`] of its distance), so that the swap covers the forehead too: a
/// face recogniser sees the whole face from brows to chin and part of the forehead.
pub const EXTENDED: usize = 78;
pub const FOREHEAD: f32 = 0.7;

pub fn extend(lm: &[[f32; 2]]) -> Vec<[f32; 2]> {
    extend_by(lm, FOREHEAD)
}

/// [`extend`] with another forehead factor.
pub fn extend_by(lm: &[[f32; 2]], forehead: f32) -> Vec<[f32; 2]> {
    let mut out = lm.to_vec();
    if lm.len() >= 68 {
        let nose = lm[30];
        for p in &lm[17..27] {
            out.push([
                p[0] + forehead * (p[0] - nose[0]),
                p[1] + forehead * (p[1] - nose[1]),
            ]);
        }
    }
    out
}

/// Triangles (index triples into the [`extend`]ed landmarks) of a Delaunay
/// triangulation of `points` (68 landmarks); computed once and reused for every frame,
/// so that the triangles of the source and of the target correspond.
pub fn triangulate(points: &[[f32; 2]]) -> Vec<[usize; 3]> {
    let pts: Vec<delaunator::Point> = extend(points)
        .iter()
        .map(|p| delaunator::Point {
            x: p[0] as f64,
            y: p[1] as f64,
        })
        .collect();
    delaunator::triangulate(&pts)
        .triangles
        .chunks_exact(3)
        .map(|t| [t[0], t[1], t[2]])
        .collect()
}

/// A face image with its landmarks in that image's pixel coordinates.
#[derive(Clone)]
pub struct FacePatch {
    pub image: RgbImage,
    pub landmarks: Vec<[f32; 2]>,
    /// Where the patch's top-left corner was in its frame.
    pub origin: [f32; 2],
}

impl FacePatch {
    /// Cuts the face region (the landmarks' box plus `margin` of its size on each side)
    /// out of `frame`, so a source video's faces can be kept without its whole frames.
    pub fn cut(frame: &RgbImage, landmarks: &[[f32; 2]], margin: f32) -> Self {
        let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
        for p in landmarks {
            x0 = x0.min(p[0]);
            y0 = y0.min(p[1]);
            x1 = x1.max(p[0]);
            y1 = y1.max(p[1]);
        }
        let m = margin * (x1 - x0).max(y1 - y0);
        let (w, h) = (frame.width() as f32, frame.height() as f32);
        let left = (x0 - m).floor().clamp(0.0, (w - 1.0).max(0.0)) as u32;
        let top = (y0 - m).floor().clamp(0.0, (h - 1.0).max(0.0)) as u32;
        let right = (x1 + m).ceil().clamp(left as f32 + 1.0, w) as u32;
        let bottom = (y1 + m).ceil().clamp(top as f32 + 1.0, h) as u32;
        let image =
            image::imageops::crop_imm(frame, left, top, right - left, bottom - top).to_image();
        let landmarks = landmarks
            .iter()
            .map(|p| [p[0] - left as f32, p[1] - top as f32])
            .collect();
        Self {
            image,
            landmarks,
            origin: [left as f32, top as f32],
        }
    }
}

/// How the warped face is put into the target.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BlendParams {
    /// Width of the mask's soft edge, as a fraction of the face width.
    pub feather: f32,
    /// How far inside the hull the mask starts, as a fraction of the face width.
    pub erode: f32,
    /// Match the warped face's colour statistics to the target's over the mask.
    pub colour_correct: bool,
    /// How far above the brows the swapped region reaches (see [`extend`]).
    #[serde(default = "default_forehead")]
    pub forehead: f32,
}

fn default_forehead() -> f32 {
    FOREHEAD
}

impl Default for BlendParams {
    fn default() -> Self {
        Self {
            feather: 0.05,
            erode: 0.0,
            colour_correct: true,
            forehead: FOREHEAD,
        }
    }
}

/// The convex hull (counter-clockwise in image coordinates seen with y down: the
/// order does not matter to [`inside_distance`]) of `pts`, by the monotone chain.
pub fn convex_hull(pts: &[[f32; 2]]) -> Vec<[f32; 2]> {
    let mut p: Vec<[f32; 2]> = pts.to_vec();
    p.sort_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
    p.dedup();
    if p.len() < 3 {
        return p;
    }
    let cross = |o: [f32; 2], a: [f32; 2], b: [f32; 2]| {
        (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])
    };
    let mut lower: Vec<[f32; 2]> = Vec::new();
    for &q in &p {
        while lower.len() >= 2 && cross(lower[lower.len() - 2], lower[lower.len() - 1], q) <= 0.0 {
            lower.pop();
        }
        lower.push(q);
    }
    let mut upper: Vec<[f32; 2]> = Vec::new();
    for &q in p.iter().rev() {
        while upper.len() >= 2 && cross(upper[upper.len() - 2], upper[upper.len() - 1], q) <= 0.0 {
            upper.pop();
        }
        upper.push(q);
    }
    lower.pop();
    upper.pop();
    lower.extend(upper);
    lower
}

/// Distance from `p` to the border of the convex polygon `hull`, positive inside,
/// negative outside (for a convex polygon: the smallest signed distance to its edges).
pub fn inside_distance(hull: &[[f32; 2]], p: [f32; 2]) -> f32 {
    if hull.len() < 3 {
        return -1.0;
    }
    // Orientation of the hull, so that "inside" has a positive sign.
    let mut area = 0.0;
    for i in 0..hull.len() {
        let (a, b) = (hull[i], hull[(i + 1) % hull.len()]);
        area += a[0] * b[1] - b[0] * a[1];
    }
    let sign = if area >= 0.0 { 1.0 } else { -1.0 };
    let mut d = f32::MAX;
    for i in 0..hull.len() {
        let (a, b) = (hull[i], hull[(i + 1) % hull.len()]);
        let (ex, ey) = (b[0] - a[0], b[1] - a[1]);
        let len = (ex * ex + ey * ey).sqrt().max(1e-6);
        let s = sign * (ex * (p[1] - a[1]) - ey * (p[0] - a[0])) / len;
        d = d.min(s);
    }
    d
}

fn sample(img: &RgbImage, x: f32, y: f32) -> Option<[f32; 3]> {
    let (w, h) = (img.width() as f32, img.height() as f32);
    if !(x >= 0.0 && y >= 0.0 && x <= w - 1.0 && y <= h - 1.0) {
        return None;
    }
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let (xi, yi) = (x0 as u32, y0 as u32);
    let (xj, yj) = (
        (xi + 1).min(img.width() - 1),
        (yi + 1).min(img.height() - 1),
    );
    let (p00, p10, p01, p11) = (
        img.get_pixel(xi, yi),
        img.get_pixel(xj, yi),
        img.get_pixel(xi, yj),
        img.get_pixel(xj, yj),
    );
    let mut out = [0f32; 3];
    for c in 0..3 {
        out[c] = (1.0 - fy) * ((1.0 - fx) * p00[c] as f32 + fx * p10[c] as f32)
            + fy * ((1.0 - fx) * p01[c] as f32 + fx * p11[c] as f32);
    }
    Some(out)
}

/// A face warped into the target frame's geometry: RGB values and a coverage flag
/// for each pixel of the region `[x0, y0, w, h]` of the target frame.
pub struct Warped {
    pub x0: u32,
    pub y0: u32,
    pub w: u32,
    pub h: u32,
    pub rgb: Vec<[f32; 3]>,
    pub covered: Vec<bool>,
}

/// Warps `src` triangle by triangle (piecewise affine, bilinear) onto the landmarks
/// `dst` of a `width` x `height` target frame.
pub fn warp(
    src: &FacePatch,
    dst: &[[f32; 2]],
    triangles: &[[usize; 3]],
    width: u32,
    height: u32,
) -> Warped {
    let hull_pts: Vec<[f32; 2]> = dst[..dst.len().min(HULL_POINTS.end)].to_vec();
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for p in &hull_pts {
        x0 = x0.min(p[0]);
        y0 = y0.min(p[1]);
        x1 = x1.max(p[0]);
        y1 = y1.max(p[1]);
    }
    let rx0 = x0.floor().clamp(0.0, width as f32) as u32;
    let ry0 = y0.floor().clamp(0.0, height as f32) as u32;
    let rx1 = (x1.ceil() + 1.0).clamp(0.0, width as f32) as u32;
    let ry1 = (y1.ceil() + 1.0).clamp(0.0, height as f32) as u32;
    let (w, h) = (rx1.saturating_sub(rx0), ry1.saturating_sub(ry0));
    let mut out = Warped {
        x0: rx0,
        y0: ry0,
        w,
        h,
        rgb: vec![[0.0; 3]; (w * h) as usize],
        covered: vec![false; (w * h) as usize],
    };
    for t in triangles {
        let (d0, d1, d2) = (dst[t[0]], dst[t[1]], dst[t[2]]);
        let (s0, s1, s2) = (
            src.landmarks[t[0]],
            src.landmarks[t[1]],
            src.landmarks[t[2]],
        );
        // Barycentric coordinates in the target triangle.
        let den = (d1[1] - d2[1]) * (d0[0] - d2[0]) + (d2[0] - d1[0]) * (d0[1] - d2[1]);
        if den.abs() < 1e-6 {
            continue;
        }
        let tx0 = d0[0].min(d1[0]).min(d2[0]).floor().max(rx0 as f32) as u32;
        let ty0 = d0[1].min(d1[1]).min(d2[1]).floor().max(ry0 as f32) as u32;
        let tx1 = (d0[0].max(d1[0]).max(d2[0]).ceil() as u32).min(rx1.saturating_sub(1));
        let ty1 = (d0[1].max(d1[1]).max(d2[1]).ceil() as u32).min(ry1.saturating_sub(1));
        for y in ty0..=ty1 {
            for x in tx0..=tx1 {
                let (px, py) = (x as f32, y as f32);
                let l0 = ((d1[1] - d2[1]) * (px - d2[0]) + (d2[0] - d1[0]) * (py - d2[1])) / den;
                let l1 = ((d2[1] - d0[1]) * (px - d2[0]) + (d0[0] - d2[0]) * (py - d2[1])) / den;
                let l2 = 1.0 - l0 - l1;
                const EPS: f32 = -1e-3;
                if l0 < EPS || l1 < EPS || l2 < EPS {
                    continue;
                }
                let sx = l0 * s0[0] + l1 * s1[0] + l2 * s2[0];
                let sy = l0 * s0[1] + l1 * s1[1] + l2 * s2[1];
                if let Some(v) = sample(&src.image, sx, sy) {
                    let i = ((y - ry0) * w + (x - rx0)) as usize;
                    out.rgb[i] = v;
                    out.covered[i] = true;
                }
            }
        }
    }
    out
}

/// The feathered inner-face mask over the warped region: 1 well inside the hull of the
/// jaw and brows, falling smoothly to 0 at its border (and 0 where nothing was warped).
pub fn mask(warped: &Warped, dst: &[[f32; 2]], p: &BlendParams) -> Vec<f32> {
    let pts = &dst[..dst.len().min(HULL_POINTS.end)];
    let hull = convex_hull(pts);
    let face_w = {
        let xs = pts.iter().map(|q| q[0]);
        let (lo, hi) = xs.fold((f32::MAX, f32::MIN), |(lo, hi), x| (lo.min(x), hi.max(x)));
        (hi - lo).max(1.0)
    };
    let feather = (p.feather * face_w).max(1.0);
    let erode = p.erode * face_w;
    let mut m = vec![0f32; warped.covered.len()];
    for y in 0..warped.h {
        for x in 0..warped.w {
            let i = (y * warped.w + x) as usize;
            if !warped.covered[i] {
                continue;
            }
            let d = inside_distance(&hull, [(warped.x0 + x) as f32, (warped.y0 + y) as f32]);
            let t = ((d - erode) / feather).clamp(0.0, 1.0);
            m[i] = t * t * (3.0 - 2.0 * t); // smoothstep
        }
    }
    m
}

/// Matches the mean and spread of each colour channel of the warped face to the
/// target's pixels under the same mask (Reinhard-style transfer in RGB, the spread
/// ratio bounded so that a dark or flat patch cannot blow up).
pub fn colour_correct(warped: &mut Warped, alpha: &[f32], target: &RgbImage) {
    let mut ws = 0.0f64;
    let mut sum_s = [0f64; 3];
    let mut sum_t = [0f64; 3];
    let mut sq_s = [0f64; 3];
    let mut sq_t = [0f64; 3];
    for y in 0..warped.h {
        for x in 0..warped.w {
            let i = (y * warped.w + x) as usize;
            let a = alpha[i] as f64;
            if a <= 0.0 {
                continue;
            }
            let t = target.get_pixel(warped.x0 + x, warped.y0 + y);
            ws += a;
            for c in 0..3 {
                let s = warped.rgb[i][c] as f64;
                let tv = t[c] as f64;
                sum_s[c] += a * s;
                sum_t[c] += a * tv;
                sq_s[c] += a * s * s;
                sq_t[c] += a * tv * tv;
            }
        }
    }
    if ws < 1.0 {
        return;
    }
    let mut gain = [1f32; 3];
    let mut mean_s = [0f32; 3];
    let mut mean_t = [0f32; 3];
    for c in 0..3 {
        let ms = sum_s[c] / ws;
        let mt = sum_t[c] / ws;
        let sd_s = (sq_s[c] / ws - ms * ms).max(1e-6).sqrt();
        let sd_t = (sq_t[c] / ws - mt * mt).max(1e-6).sqrt();
        gain[c] = (sd_t / sd_s).clamp(0.5, 2.0) as f32;
        mean_s[c] = ms as f32;
        mean_t[c] = mt as f32;
    }
    for (v, &cov) in warped.rgb.iter_mut().zip(&warped.covered) {
        if cov {
            for c in 0..3 {
                v[c] = ((v[c] - mean_s[c]) * gain[c] + mean_t[c]).clamp(0.0, 255.0);
            }
        }
    }
}

/// Blends the warped face into `target` through `alpha`.
pub fn blend(target: &mut RgbImage, warped: &Warped, alpha: &[f32]) {
    for y in 0..warped.h {
        for x in 0..warped.w {
            let i = (y * warped.w + x) as usize;
            let a = alpha[i];
            if a <= 0.0 {
                continue;
            }
            let p = target.get_pixel_mut(warped.x0 + x, warped.y0 + y);
            for c in 0..3 {
                p[c] = (a * warped.rgb[i][c] + (1.0 - a) * p[c] as f32)
                    .round()
                    .clamp(0.0, 255.0) as u8;
            }
        }
    }
}

/// Swaps the face of `src` into `target` at the landmarks `dst`; returns the share of
/// the face region that was replaced (0 when the warp covered nothing).
pub fn swap_face(
    target: &mut RgbImage,
    dst: &[[f32; 2]],
    src: &FacePatch,
    triangles: &[[usize; 3]],
    p: &BlendParams,
) -> f32 {
    if dst.len() < 68 || src.landmarks.len() < 68 {
        return 0.0;
    }
    let dst = &extend_by(dst, p.forehead);
    let src = &FacePatch {
        image: src.image.clone(),
        landmarks: extend_by(&src.landmarks, p.forehead),
        origin: src.origin,
    };
    let mut warped = warp(src, dst, triangles, target.width(), target.height());
    let alpha = mask(&warped, dst, p);
    if p.colour_correct {
        colour_correct(&mut warped, &alpha, target);
    }
    blend(target, &warped, &alpha);
    let n = alpha.len().max(1) as f32;
    alpha.iter().sum::<f32>() / n
}

/// Mean of landmark sets (for smoothing over time); all sets have the same length.
pub fn mean_landmarks(sets: &[(&[[f32; 2]], f32)]) -> Vec<[f32; 2]> {
    let n = sets.first().map(|s| s.0.len()).unwrap_or(0);
    let total: f32 = sets.iter().map(|s| s.1).sum::<f32>().max(1e-6);
    (0..n)
        .map(|k| {
            let mut acc = [0f32; 2];
            for (s, w) in sets {
                acc[0] += w * s[k][0];
                acc[1] += w * s[k][1];
            }
            [acc[0] / total, acc[1] / total]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    /// 68 points on a rough face layout: jaw on a half ellipse, brows, nose, eyes, mouth.
    fn face_points(cx: f32, cy: f32, s: f32) -> Vec<[f32; 2]> {
        let mut p = Vec::new();
        for i in 0..17 {
            let t = std::f32::consts::PI * i as f32 / 16.0;
            p.push([cx - s * t.cos(), cy + s * 0.2 + s * t.sin()]);
        }
        for i in 0..10 {
            p.push([cx - 0.8 * s + 1.6 * s * i as f32 / 9.0, cy - 0.6 * s]);
        }
        for i in 0..9 {
            p.push([cx + 0.01 * i as f32, cy - 0.4 * s + 0.1 * s * i as f32]);
        }
        for i in 0..12 {
            let side = if i < 6 { -0.4 } else { 0.4 };
            let t = std::f32::consts::TAU * (i % 6) as f32 / 6.0;
            p.push([
                cx + side * s + 0.1 * s * t.cos(),
                cy - 0.3 * s + 0.05 * s * t.sin(),
            ]);
        }
        for i in 0..20 {
            let t = std::f32::consts::TAU * i as f32 / 20.0;
            p.push([cx + 0.3 * s * t.cos(), cy + 0.5 * s + 0.1 * s * t.sin()]);
        }
        assert_eq!(p.len(), 68);
        p
    }

    #[test]
    fn hull_and_inside_distance() {
        let sq = [
            [0.0, 0.0],
            [10.0, 0.0],
            [10.0, 10.0],
            [0.0, 10.0],
            [5.0, 5.0],
        ];
        let hull = convex_hull(&sq);
        assert_eq!(hull.len(), 4);
        assert!((inside_distance(&hull, [5.0, 5.0]) - 5.0).abs() < 1e-4);
        assert!((inside_distance(&hull, [1.0, 5.0]) - 1.0).abs() < 1e-4);
        assert!(inside_distance(&hull, [-2.0, 5.0]) < -1.9);
    }

    #[test]
    fn identity_warp_reproduces_the_source() {
        let pts = extend(&face_points(50.0, 50.0, 30.0));
        let img = RgbImage::from_fn(100, 100, |x, y| Rgb([x as u8 * 2, y as u8 * 2, 77]));
        let patch = FacePatch {
            image: img.clone(),
            landmarks: pts.clone(),
            origin: [0.0, 0.0],
        };
        let tris = triangulate(&pts[..68]);
        assert!(tris.len() > 60, "{} triangles", tris.len());
        let w = warp(&patch, &pts, &tris, 100, 100);
        let mut checked = 0;
        for y in 0..w.h {
            for x in 0..w.w {
                let i = (y * w.w + x) as usize;
                if w.covered[i] {
                    let p = img.get_pixel(w.x0 + x, w.y0 + y);
                    for c in 0..3 {
                        assert!((w.rgb[i][c] - p[c] as f32).abs() < 1.01);
                    }
                    checked += 1;
                }
            }
        }
        assert!(checked > 2000, "{checked} pixels covered");
    }

    #[test]
    fn swap_moves_the_source_face_into_the_target_geometry() {
        // Source: a red face centred at (40, 40); target: a blue frame with the face
        // at (60, 55), larger. After the swap the target's face centre is reddish and
        // a corner far from the face is untouched.
        let src_pts = face_points(40.0, 40.0, 20.0);
        let dst_pts = face_points(60.0, 55.0, 30.0);
        let src = FacePatch {
            image: RgbImage::from_pixel(80, 80, Rgb([200, 40, 40])),
            landmarks: src_pts.clone(),
            origin: [0.0, 0.0],
        };
        let mut target = RgbImage::from_pixel(120, 120, Rgb([30, 30, 200]));
        let tris = triangulate(&src_pts);
        let p = BlendParams {
            colour_correct: false,
            ..Default::default()
        };
        let share = swap_face(&mut target, &dst_pts, &src, &tris, &p);
        assert!(share > 0.2, "replaced share {share}");
        let c = target.get_pixel(60, 55);
        assert!(c[0] > 150 && c[2] < 80, "centre {c:?}");
        assert_eq!(*target.get_pixel(2, 2), Rgb([30, 30, 200]));
    }

    #[test]
    fn colour_correction_matches_the_target_mean() {
        let dst_pts = extend(&face_points(60.0, 55.0, 30.0));
        let src = FacePatch {
            image: RgbImage::from_fn(120, 120, |x, _| Rgb([100 + (x % 20) as u8, 100, 100])),
            landmarks: dst_pts.clone(),
            origin: [0.0, 0.0],
        };
        let target = RgbImage::from_fn(120, 120, |_, y| Rgb([180, 140 + (y % 10) as u8, 90]));
        let tris = triangulate(&dst_pts[..68]);
        let mut w = warp(&src, &dst_pts, &tris, 120, 120);
        let a = mask(&w, &dst_pts, &BlendParams::default());
        colour_correct(&mut w, &a, &target);
        let (mut s, mut n) = (0f32, 0f32);
        for (v, &al) in w.rgb.iter().zip(&a) {
            s += al * v[0];
            n += al;
        }
        assert!((s / n - 180.0).abs() < 2.0, "red mean {}", s / n);
    }
}
