//! `ti2net swap` on real people: the swapped subject's identity moves toward the
//! source's, the output keeps the target's frames, frame rate and audio and says it is
//! synthetic; bad inputs get one sentence and leave nothing behind.

mod common;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The mean unit identity of a video's subject (its `analyze --vectors`).
fn identity_of(video: &Path, dir: &Path, name: &str, extra: &[&str]) -> Vec<f32> {
    let json = dir.join(format!("{name}.json"));
    let npy = dir.join(format!("{name}.npy"));
    let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![
        &"analyze",
        &video,
        &"--json",
        &json,
        &"--vectors",
        &npy,
        &"--no-detector",
    ];
    for e in extra {
        args.push(e);
    }
    let o = run(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let (shape, data) = ti2net::npy::read_f32(&npy).unwrap();
    assert!(shape[0] > 0, "no face in {}", video.display());
    let mut mean = vec![0f32; 1024];
    for row in data.chunks_exact(1024) {
        let u = ti2net::identity::unit(row);
        for (m, x) in mean.iter_mut().zip(u) {
            *m += x;
        }
    }
    ti2net::identity::unit(&mean)
}

fn probe(path: &Path, entries: &str) -> String {
    let o = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            entries,
            "-of",
            "default=nw=1",
        ])
        .arg(path)
        .output()
        .expect("run ffprobe");
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn count_frames(path: &Path) -> usize {
    let mut r = ti2net::video::VideoReader::open(path, Default::default()).unwrap();
    let mut n = 0;
    while r.next_frame().unwrap().is_some() {
        n += 1;
    }
    n
}

#[test]
fn a_swap_moves_the_identity_toward_the_source_and_keeps_frames_rate_and_audio() {
    let dir = tempfile::tempdir().unwrap();
    let target = media("jwpIntro.mp4"); // a man talking, 5.8 s, with audio
    let source = media("woman2.mp4"); // a woman talking
    let out = dir.path().join("fake.mp4");
    let o = run(&[
        &"swap",
        &"--source",
        &source,
        &"--target",
        &target,
        &"--out",
        &out,
        &"--label",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("frames/s"), "{}", stderr(&o));

    // Same frame count and rate as the target, H.264, audio copied.
    assert_eq!(count_frames(&out), count_frames(&target));
    let rate = |p: &Path| {
        probe(p, "stream=codec_type,codec_name,r_frame_rate")
            .lines()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let (ro, rt) = (rate(&out), rate(&target));
    assert!(ro.contains(&"codec_name=h264".to_string()), "{ro:?}");
    assert!(
        ro.contains(&"codec_type=audio".to_string()),
        "no audio: {ro:?}"
    );
    let fr = |v: &[String]| {
        v.iter()
            .find(|l| l.starts_with("r_frame_rate") && !l.ends_with("0/0"))
            .cloned()
    };
    assert_eq!(fr(&ro), fr(&rt));

    // The container says what it is, with both inputs' hashes; so does the sidecar.
    let tags = probe(&out, "format_tags=comment");
    let ssha = ti2net::fsutil::sha256_file(&source).unwrap();
    let tsha = ti2net::fsutil::sha256_file(&target).unwrap();
    assert!(
        tags.contains("SYNTHETIC") && tags.contains(&ssha) && tags.contains(&tsha),
        "{tags}"
    );
    let side: Value = read_json(&ti2net::swap::sidecar_path(&out));
    assert_eq!(side["synthetic"], true);
    assert_eq!(side["source"]["sha256"], ssha.as_str());
    assert_eq!(side["target"]["sha256"], tsha.as_str());
    let swapped = side["frames_swapped"].as_u64().unwrap();
    let frames = side["frames"].as_u64().unwrap();
    assert!(
        swapped as f64 >= 0.9 * frames as f64,
        "{swapped} of {frames} swapped"
    );
    let s = side["source_target_similarity"].as_f64().unwrap();
    assert!(s < 0.5, "two different people judged the same: {s}");

    // The swapped subject looks more like the source than like the target's own person.
    let fake = identity_of(&out, dir.path(), "fake", &[]);
    let src = identity_of(&source, dir.path(), "src", &["--end", "6"]);
    let tgt = identity_of(&target, dir.path(), "tgt", &[]);
    let (to_src, to_tgt) = (
        ti2net::identity::cosine(&fake, &src),
        ti2net::identity::cosine(&fake, &tgt),
    );
    eprintln!("swap vs source {to_src:.3}, vs target {to_tgt:.3}");
    assert!(
        to_src > to_tgt + 0.15,
        "swap's identity: {to_src:.3} to the source, {to_tgt:.3} to the target"
    );

    // Existing outputs are not replaced without --force.
    let o = run(&[
        &"swap",
        &"--source",
        &source,
        &"--target",
        &target,
        &"--out",
        &out,
    ]);
    assert_clean_error(&o, &out, &["exists"]);
}

#[test]
fn a_still_source_and_a_time_range() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("still.mp4");
    let target = media("cap12_12s.mp4");
    let o = run(&[
        &"swap",
        &"--source",
        &photo("obama.jpg"),
        &"--target",
        &target,
        &"--out",
        &out,
        &"--start",
        &"2",
        &"--end",
        &"4",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let n = count_frames(&out);
    assert!((49..=52).contains(&n), "{n} frames for 2 s at 25 fps");
    let side = read_json(&ti2net::swap::sidecar_path(&out));
    assert_eq!(side["source"]["kind"], "image");
    assert_eq!(side["source_faces"], 1);
}

fn assert_nothing_written(out: &Path) {
    assert!(!out.exists(), "{} was written", out.display());
    assert!(!ti2net::swap::sidecar_path(out).exists());
    let dir = out.parent().unwrap();
    let left: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().contains(".part"))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
}

#[test]
fn bad_inputs_get_one_sentence_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = d.join("out.mp4");
    let target = media("cap12_12s.mp4");

    // A source image without a face.
    let blank = d.join("blank.png");
    image::RgbImage::from_pixel(200, 200, image::Rgb([90, 120, 200]))
        .save(&blank)
        .unwrap();
    let o = run(&[
        &"swap",
        &"--source",
        &blank,
        &"--target",
        &target,
        &"--out",
        &out,
    ]);
    assert_clean_error(&o, &blank, &["no face"]);
    assert_nothing_written(&out);

    // A target that never shows a face.
    let noface = d.join("noface.mp4");
    ffmpeg(
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x240:rate=25:duration=2",
            "-pix_fmt",
            "yuv420p",
        ],
        &noface,
    );
    let o = run(&[
        &"swap",
        &"--source",
        &photo("obama.jpg"),
        &"--target",
        &noface,
        &"--out",
        &out,
    ]);
    assert_clean_error(&o, &noface, &["no face"]);
    assert_nothing_written(&out);

    // Unreadable files: not a video, missing.
    let text = d.join("notes.mp4");
    std::fs::write(&text, "not a video").unwrap();
    let o = run(&[
        &"swap",
        &"--source",
        &photo("obama.jpg"),
        &"--target",
        &text,
        &"--out",
        &out,
    ]);
    assert_clean_error(&o, &text, &[]);
    assert_nothing_written(&out);
    let missing = d.join("missing.mp4");
    let o = run(&[
        &"swap",
        &"--source",
        &missing,
        &"--target",
        &target,
        &"--out",
        &out,
    ]);
    assert_clean_error(&o, &missing, &["does not exist"]);
    assert_nothing_written(&out);
}

#[test]
fn the_same_person_as_source_and_target_is_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("same.mp4");
    let o = run(&[
        &"swap",
        &"--source",
        &media("franck_12s.mp4"),
        &"--target",
        &media("franck.mp4"),
        &"--out",
        &out,
        &"--end",
        &"1",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("same person"),
        "no warning: {}",
        stderr(&o)
    );
}
