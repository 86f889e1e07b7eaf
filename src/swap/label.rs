//! "SYNTHETIC" burned into a corner of a frame, for classrooms (`swap --label`).
//! A 5 x 7 bitmap font of the letters needed, scaled with the frame, white on a dark box.

use image::{Rgb, RgbImage};

const WORD: &str = "SYNTHETIC";

fn glyph(c: char) -> [u8; 7] {
    match c {
        'S' => [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E],
        'Y' => [0x11, 0x11, 0x0A, 0x04, 0x04, 0x04, 0x04],
        'N' => [0x11, 0x19, 0x15, 0x13, 0x11, 0x11, 0x11],
        'T' => [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
        'H' => [0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'E' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F],
        'I' => [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E],
        'C' => [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E],
        _ => [0; 7],
    }
}

/// Draws the label in the top-left corner; the letters' height is about 1/20 of the
/// frame's height (at least 7 px).
pub fn burn(img: &mut RgbImage) {
    let scale = (img.height() / 20 / 7).max(1);
    let (cw, ch) = (6 * scale, 7 * scale);
    let pad = 2 * scale;
    let box_w = (WORD.len() as u32 * cw + 2 * pad).min(img.width());
    let box_h = (ch + 2 * pad).min(img.height());
    for y in 0..box_h {
        for x in 0..box_w {
            let p = img.get_pixel_mut(x, y);
            *p = Rgb([p[0] / 4, p[1] / 4, p[2] / 4]);
        }
    }
    for (i, c) in WORD.chars().enumerate() {
        let rows = glyph(c);
        for (r, bits) in rows.iter().enumerate() {
            for col in 0..5u32 {
                if bits & (0x10 >> col) == 0 {
                    continue;
                }
                for dy in 0..scale {
                    for dx in 0..scale {
                        let x = pad + i as u32 * cw + col * scale + dx;
                        let y = pad + r as u32 * scale + dy;
                        if x < img.width() && y < img.height() {
                            img.put_pixel(x, y, Rgb([255, 255, 255]));
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_darkens_the_corner_and_writes_white_pixels() {
        let mut img = RgbImage::from_pixel(400, 300, Rgb([120, 120, 120]));
        burn(&mut img);
        let white = img.pixels().filter(|p| p.0 == [255, 255, 255]).count();
        assert!(white > 100, "{white} white pixels");
        assert_eq!(*img.get_pixel(399, 299), Rgb([120, 120, 120]));
        assert_eq!(*img.get_pixel(1, 1), Rgb([30, 30, 30]));
    }
}
