//! Shared helpers of the integration tests: paths of the installed models and media
//! (from `scripts/setup.sh`) and a runner for the `ti2net` binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn media(name: &str) -> PathBuf {
    let p = root().join("assets/media").join(name);
    assert!(
        p.exists(),
        "{} is missing: run scripts/setup.sh",
        p.display()
    );
    p
}

pub fn photo(name: &str) -> PathBuf {
    let p = root().join("assets/photos").join(name);
    assert!(
        p.exists(),
        "{} is missing: run scripts/setup.sh",
        p.display()
    );
    p
}

pub fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures").join(name)
}

pub fn mobilefacenet_weights() -> PathBuf {
    let p = ti2net::models::mobilefacenet_weights();
    assert!(
        p.exists(),
        "{} is missing: run scripts/setup.sh",
        p.display()
    );
    p
}

pub fn run(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ti2net"));
    for a in args {
        c.arg(a.as_ref());
    }
    c.output().expect("run ti2net")
}

/// [`run`] with owned arguments.
pub fn run_s(args: &[String]) -> Output {
    let refs: Vec<&dyn AsRef<std::ffi::OsStr>> = args
        .iter()
        .map(|s| s as &dyn AsRef<std::ffi::OsStr>)
        .collect();
    run(&refs)
}

/// A path as an argument.
pub fn s(p: &Path) -> String {
    p.to_string_lossy().to_string()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// Asserts a clean failure: non-zero exit, one `error:` line naming `path`, no panic.
pub fn assert_clean_error(o: &Output, path: &Path, words: &[&str]) -> String {
    let err = stderr(o);
    assert!(!o.status.success(), "expected failure, got success: {err}");
    assert!(!err.contains("panicked"), "panic: {err}");
    let line = err
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_else(|| panic!("no error line in: {err}"))
        .to_string();
    assert_eq!(
        err.lines().filter(|l| l.starts_with("error:")).count(),
        1,
        "{err}"
    );
    let name = path.file_name().unwrap().to_string_lossy();
    assert!(line.contains(&*name), "error does not name {name}: {line}");
    for w in words {
        assert!(
            line.to_lowercase().contains(&w.to_lowercase()),
            "error lacks {w:?}: {line}"
        );
    }
    line
}

pub fn read_json(p: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// Makes a media file with the ffmpeg command line (lavfi sources).
pub fn ffmpeg(args: &[&str], out: &Path) {
    let st = Command::new("ffmpeg")
        .args(["-v", "error", "-y"])
        .args(args)
        .arg(out)
        .status()
        .expect("run ffmpeg");
    assert!(st.success());
}

/// The real workbench in an egui_kittest harness, at the window's size.
#[cfg(feature = "gui")]
pub fn harness<'a>() -> egui_kittest::Harness<'a, ti2net::gui::App> {
    egui_kittest::Harness::builder()
        .with_size(eframe::egui::vec2(1280.0, 800.0))
        .build_eframe(|cc| ti2net::gui::App::new(cc, None))
}

/// Steps the workbench until `done` holds (or fails after `secs`).
#[cfg(feature = "gui")]
pub fn step_until(
    h: &mut egui_kittest::Harness<'_, ti2net::gui::App>,
    secs: u64,
    what: &str,
    done: impl Fn(&ti2net::gui::App) -> bool,
) {
    let t = std::time::Instant::now();
    while !done(h.state()) {
        assert!(
            t.elapsed() < std::time::Duration::from_secs(secs),
            "timed out waiting for {what}; messages: {:?}",
            h.state().state.messages
        );
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    h.step();
    h.step();
}

/// A generated clip of a face (about 80 pixels, from `assets/photos/obama.jpg`) moving
/// over small 160 x 120 frames, 2 frames a second, `seconds` long (H.264).
pub fn moving_face_clip(dir: &Path, seconds: u32) -> PathBuf {
    let still = dir.join("still.png");
    ffmpeg(
        &[
            "-i",
            photo("obama.jpg").to_str().unwrap(),
            "-vf",
            "crop=640:480:135:20,scale=200:150",
        ],
        &still,
    );
    let clip = dir.join(format!("moving_{seconds}s.mp4"));
    let t = seconds.to_string();
    ffmpeg(
        &[
            "-loop",
            "1",
            "-framerate",
            "2",
            "-i",
            still.to_str().unwrap(),
            "-vf",
            "crop=160:120:x='20+20*sin(t/5)':y='15+15*cos(t/7)',format=yuv420p",
            "-t",
            &t,
            "-r",
            "2",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "50",
        ],
        &clip,
    );
    clip
}

/// A short real clip (`secs` seconds of a corpus video from `start`, 320 px wide) at `out`.
pub fn clip(src: &str, start: f64, secs: f64, out: &Path) {
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    ffmpeg(
        &[
            "-ss",
            &start.to_string(),
            "-t",
            &secs.to_string(),
            "-i",
            &media(src).to_string_lossy(),
            "-vf",
            "scale=320:-2",
            "-an",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
        ],
        out,
    );
}

/// A flagged entry of a review table, for the table's tests.
pub fn entry(
    video: &str,
    frames: Option<ti2net::review::Frames>,
    reason: ti2net::review::Reason,
    who: &str,
    time: &str,
) -> ti2net::review::Entry {
    ti2net::review::Entry {
        dataset: "set".into(),
        video: video.into(),
        label: ti2net::review::Label::Real,
        frames,
        reason,
        status: ti2net::review::Status::Flagged,
        note: format!("by {who}"),
        annotator: who.into(),
        time: time.into(),
    }
}
