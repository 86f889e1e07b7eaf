//! Bad input: one clear sentence naming the file, a non-zero exit, never a panic.

mod common;
use common::*;
use std::path::Path;

fn analyze(video: &Path, dir: &Path) -> std::process::Output {
    run(&[&"analyze", &video, &"--json", &dir.join("r.json")])
}

#[test]
fn missing_video() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("nothing-here.mp4");
    assert_clean_error(&analyze(&p, dir.path()), &p, &["does not exist"]);
}

#[test]
fn text_file_named_mp4() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("notes.mp4");
    std::fs::write(&p, "these are my notes, not a video\n").unwrap();
    assert_clean_error(&analyze(&p, dir.path()), &p, &["not a readable video"]);
}

#[test]
fn truncated_video() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(media("cap12_12s.mp4")).unwrap();
    // Cut in the middle: with the index at the end, the file cannot be opened.
    let p = dir.path().join("cut-short.mp4");
    std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
    assert_clean_error(&analyze(&p, dir.path()), &p, &["not a readable video"]);
    // With the index at the start, the frames stop early: report plus a warning.
    let fast = dir.path().join("faststart.mp4");
    ffmpeg(
        &[
            "-i",
            media("cap12_12s.mp4").to_str().unwrap(),
            "-t",
            "4",
            "-c",
            "copy",
            "-movflags",
            "+faststart",
        ],
        &fast,
    );
    let bytes = std::fs::read(&fast).unwrap();
    let p = dir.path().join("faststart-short.mp4");
    std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
    let o = analyze(&p, dir.path());
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("faststart-short.mp4") && err.contains("truncated"),
        "{err}"
    );
    let r = read_json(&dir.path().join("r.json"));
    assert!(r["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w.as_str().unwrap().contains("truncated")));
}

#[test]
fn audio_only_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("tone.m4a");
    ffmpeg(&["-f", "lavfi", "-i", "sine=frequency=440:duration=1"], &p);
    assert_clean_error(&analyze(&p, dir.path()), &p, &["no video stream"]);
}

#[test]
fn video_without_a_face_still_writes_its_report() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bars.mp4");
    ffmpeg(
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=duration=2:size=320x240:rate=10",
            "-pix_fmt",
            "yuv420p",
        ],
        &p,
    );
    let o = analyze(&p, dir.path());
    assert_eq!(o.status.code(), Some(3));
    let err = stderr(&o);
    assert!(err.contains("bars.mp4") && err.contains("no face"), "{err}");
    assert!(!err.contains("panicked"));
    let r = read_json(&dir.path().join("r.json"));
    assert_eq!(r["summary"]["frames_with_face"].as_u64(), Some(0));
    assert_eq!(r["summary"]["frames_analysed"].as_u64(), Some(20));
    assert!(r["frames"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["status"] == "no_face"));
}

#[test]
fn weights_of_the_wrong_architecture() {
    let dir = tempfile::tempdir().unwrap();
    let video = media("cut.mp4");
    // A resnet_face18 checkpoint given as MobileFaceNet weights.
    let r18 = fixture("r18_module.pth");
    let o = run(&[
        &"analyze",
        &video,
        &"--json",
        &dir.path().join("a.json"),
        &"--weights",
        &r18,
    ]);
    assert_clean_error(&o, &r18, &["safetensors"]);
    // MobileFaceNet weights given as a resnet_face18 checkpoint.
    let mf = mobilefacenet_weights();
    let o = run(&[
        &"analyze",
        &video,
        &"--json",
        &dir.path().join("b.json"),
        &"--encoder",
        &"arcface-r18",
        &"--weights",
        &mf,
    ]);
    assert_clean_error(&o, &mf, &["not a resnet_face18 checkpoint"]);
    // A text file as weights.
    let txt = dir.path().join("weights.safetensors");
    std::fs::write(&txt, "not weights").unwrap();
    let o = run(&[
        &"analyze",
        &video,
        &"--json",
        &dir.path().join("c.json"),
        &"--weights",
        &txt,
    ]);
    assert_clean_error(&o, &txt, &["safetensors"]);
}

#[test]
fn weights_of_the_wrong_shape() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(mobilefacenet_weights()).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut tensors = std::collections::HashMap::new();
    for (name, view) in st.tensors() {
        let data: Vec<f32> = view
            .data()
            .chunks(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let mut shape = view.shape().to_vec();
        if name == "conv_4.0.expand.weight" {
            // Same number of values, another shape.
            shape = vec![shape[0] / 2, shape[1] * 2, shape[2], shape[3]];
        }
        tensors.insert(name.to_string(), (shape, data));
    }
    let p = dir.path().join("reshaped.safetensors");
    std::fs::write(
        &p,
        ti2net::fsutil::f32_safetensors(&tensors, Default::default()).unwrap(),
    )
    .unwrap();
    let o = run(&[
        &"analyze",
        &media("cut.mp4"),
        &"--json",
        &dir.path().join("a.json"),
        &"--weights",
        &p,
    ]);
    let line = assert_clean_error(&o, &p, &["shape"]);
    assert!(line.contains("conv_4.0.expand"), "{line}");
}

#[test]
fn an_image_that_is_not_an_image() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("holiday.jpg");
    std::fs::write(&p, "definitely not a jpeg").unwrap();
    let o = run(&[&"embed", &p, &"--json", &dir.path().join("e.json")]);
    assert_clean_error(&o, &p, &["not a readable image"]);
    let missing = dir.path().join("gone.png");
    let o = run(&[&"embed", &missing, &"--json", &dir.path().join("e.json")]);
    assert_clean_error(&o, &missing, &["does not exist"]);
}

#[test]
fn arcface_r18_without_weights_says_what_to_pass() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(&[
        &"analyze",
        &media("cut.mp4"),
        &"--json",
        &dir.path().join("a.json"),
        &"--encoder",
        &"arcface-r18",
    ]);
    let err = stderr(&o);
    assert!(
        !o.status.success() && err.contains("--weights") && !err.contains("panicked"),
        "{err}"
    );
}

/// Every numeric option out of its range is refused when the command line is read:
/// exit 2, one `error:` line naming the option, no panic, nothing written.
#[test]
fn numeric_options_out_of_range_are_refused_at_parse_time() {
    let dir = tempfile::tempdir().unwrap();
    let v = media("cap12_12s.mp4");
    let v = v.to_str().unwrap();
    let j = dir.path().join("r.json");
    let j = j.to_str().unwrap();
    let ids = fixture("ti2net_ids.npy");
    let ids = ids.to_str().unwrap();
    let ck = fixture("ti2net_h64.pth");
    let ck = ck.to_str().unwrap();
    let analyze = ["analyze", v, "--json", j];
    let train = ["train", "--real-ids", ids, "--fake-ids", ids, "--out", j];
    let classify = ["classify", ids, "--checkpoint", ck, "--json", j];
    let eval = [
        "eval",
        "--real-ids",
        ids,
        "--fake-ids",
        ids,
        "--checkpoint",
        ck,
    ];
    let blend = ["blend", ids, ids, "--out", j];
    let extract = ["extract", v, "--out", j];
    let swap = ["swap", "--source", v, "--target", v, "--out", j];
    let cases: &[(&[&str], &str, &str)] = &[
        (&analyze, "--change-window", "-1"),
        (&analyze, "--change-window", "0"),
        (&analyze, "--change-window", "nan"),
        (&analyze, "--change-threshold", "1.5"),
        (&analyze, "--threshold", "-0.1"),
        (&analyze, "--stride", "0"),
        (&analyze, "--stride", "-4"),
        (&analyze, "--every", "0"),
        (&analyze, "--start", "-1"),
        (&analyze, "--end", "inf"),
        (&extract, "--every", "0"),
        (&extract, "--threads", "0"),
        (&train, "--epochs", "0"),
        (&train, "--batch", "0"),
        (&train, "--hidden", "0"),
        (&train, "--lr", "0"),
        (&train, "--lr", "-1e-3"),
        (&train, "--margin", "-1"),
        (&train, "--triplet-weight", "-0.1"),
        (&train, "--val-fraction", "1"),
        (&train, "--test-fraction", "-0.2"),
        (&train, "--stride", "0"),
        (&classify, "--threshold", "2"),
        (&classify, "--stride", "0"),
        (&eval, "--threshold", "nan"),
        (&eval, "--stride", "0"),
        (&blend, "--videos", "0"),
        (&blend, "--len", "0"),
        (&blend, "--leak", "1.5"),
        (&blend, "--jitter", "-1"),
        (&swap, "--start", "-2"),
        (&swap, "--feather", "2"),
        (&["bench", v], "--frames", "0"),
        (&["demo", "build"], "--epochs", "0"),
    ];
    for (base, opt, bad) in cases {
        let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = Vec::new();
        for a in *base {
            args.push(a);
        }
        let value = format!("{opt}={bad}");
        args.push(&value);
        let o = run(&args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{} {value}: {err}", base[0]);
        assert!(!err.contains("panicked"), "{err}");
        let line = err
            .lines()
            .find(|l| l.starts_with("error:"))
            .unwrap_or_default();
        assert!(
            line.contains(opt) && line.contains("invalid value"),
            "{} {value}: {err}",
            base[0]
        );
    }
    assert!(!dir.path().join("r.json").exists());
    eprintln!("{} out-of-range values refused", cases.len());
}
