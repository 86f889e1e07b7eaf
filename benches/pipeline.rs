//! `cargo bench`: frames per second of each stage (decode, detect, align, embed) and
//! of the whole pipeline on the bundled sample clip.
//!
//! Run `scripts/setup.sh` first. `cargo test --all-targets` builds this file but
//! does not run the benchmark (cargo passes `--bench` only under `cargo bench`).

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if !std::env::args().any(|a| a == "--bench") {
        return Ok(());
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let video = root.join("assets/media/cut.mp4");
    let weights = ti2net::models::mobilefacenet_weights();
    let enc = ti2net::encoder::Encoder::load(
        ti2net::encoder::EncoderKind::Mobilefacenet,
        &weights,
        &candle_core::Device::Cpu,
    )?;
    for upsample in [true, false] {
        let faces = ti2net::faces::FaceAnalyzer::new(&ti2net::models::landmarks_model(), upsample)?;
        let r = ti2net::bench::run(&video, &enc, &faces, 100)?;
        println!(
            "{} (HOG upsampled: {upsample})\n{}\n",
            video.display(),
            r.table()
        );
    }
    Ok(())
}
