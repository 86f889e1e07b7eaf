//! Batches: a folder with a corrupt file finishes the rest and names the corrupt one,
//! a rerun resumes without redoing finished videos, and two shards merged equal the
//! unsharded run (real videos, real detection and embedding).

mod common;
use common::*;
use std::path::{Path, PathBuf};

/// A small dataset: two real clips in nested folders, a truncated copy of a third and
/// a text file named like a video.
fn dataset(dir: &Path) -> PathBuf {
    let root = dir.join("videos");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    for (name, to) in [
        ("cut.mp4", "cut.mp4"),
        ("carphone_pristine.mp4", "sub/carphone.mp4"),
        ("jwpIntro.mp4", "sub/jwp.mp4"),
    ] {
        std::fs::copy(media(name), root.join(to)).unwrap();
    }
    let bytes = std::fs::read(media("franck_12s.mp4")).unwrap();
    std::fs::write(root.join("broken.mp4"), &bytes[..bytes.len() / 20]).unwrap();
    std::fs::write(root.join("sub/notes.mp4"), b"not a video at all").unwrap();
    root
}

fn summary(dir: &Path) -> serde_json::Value {
    read_json(&dir.join("summary.json"))
}

fn rows(s: &serde_json::Value) -> Vec<serde_json::Value> {
    s["rows"].as_array().unwrap().clone()
}

const FAST: [&str; 4] = ["--every", "3", "--end", "3"];

#[test]
fn a_corrupt_file_is_recorded_and_the_rest_finish_then_a_rerun_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let input = dataset(tmp.path());
    let out = tmp.path().join("out");
    let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"analyze", &input, &"--out-dir", &out];
    for a in &FAST {
        args.push(a);
    }
    let o = run(&args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(3), "failed videos give exit 3: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        err.contains("broken.mp4"),
        "the corrupt file is named: {err}"
    );
    let s = summary(&out);
    let rs = rows(&s);
    assert_eq!(rs.len(), 5, "{s:#}");
    let by = |k: &str| rs.iter().find(|r| r["video"] == k).unwrap().clone();
    for k in ["cut.mp4", "sub__carphone.mp4", "sub__jwp.mp4"] {
        let r = by(k);
        assert_eq!(r["status"], "ok", "{r}");
        assert!(r["face_frames"].as_u64().unwrap() > 10, "{r}");
        assert_eq!(r["sha256"].as_str().unwrap().len(), 64);
        assert!(out.join(format!("reports/{k}.json")).exists());
    }
    for k in ["broken.mp4", "sub__notes.mp4"] {
        let r = by(k);
        assert_eq!(r["status"], "failed", "{r}");
        assert!(r["problems"][0].as_str().unwrap().contains(".mp4"), "{r}");
    }
    assert_eq!(s["failed"], 2);
    let csv = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    assert_eq!(csv.lines().count(), 6, "{csv}");
    assert!(
        csv.lines().any(|l| l.starts_with("broken.mp4,failed")),
        "{csv}"
    );

    // A rerun redoes nothing that finished: the reports are not rewritten (a rewrite
    // is an atomic rename, which gives the file a new inode).
    use std::os::unix::fs::MetadataExt;
    let report = out.join("reports/cut.mp4.json");
    let before = std::fs::metadata(&report).unwrap().ino();
    let o = run(&args);
    let err = stderr(&o);
    assert!(err.contains("3 already done"), "{err}");
    assert_eq!(
        std::fs::metadata(&report).unwrap().ino(),
        before,
        "a finished video was analysed again"
    );
    assert_eq!(rows(&summary(&out)), rs, "the resumed summary differs");
}

#[test]
fn two_shards_merged_equal_the_unsharded_run() {
    let tmp = tempfile::tempdir().unwrap();
    let input = dataset(tmp.path());
    let whole = tmp.path().join("whole");
    let run_into = |out: &Path, shard: Option<&str>| {
        let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> =
            vec![&"analyze", &input, &"--out-dir", &out, &"--no-detector"];
        for a in &FAST {
            args.push(a);
        }
        if let Some(s) = &shard {
            args.push(&"--shard");
            args.push(s);
        }
        let o = run(&args);
        assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    };
    run_into(&whole, None);
    let (s0, s1) = (tmp.path().join("s0"), tmp.path().join("s1"));
    run_into(&s0, Some("0/2"));
    run_into(&s1, Some("1/2"));
    let (n0, n1) = (rows(&summary(&s0)).len(), rows(&summary(&s1)).len());
    assert_eq!(n0 + n1, 5, "the shards do not partition the videos");
    assert!(n0 > 0 && n1 > 0, "one shard is empty ({n0}, {n1})");
    let merged = tmp.path().join("merged");
    let o = run(&[&"merge", &s0, &s1, &"--out-dir", &merged]);
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    let m = summary(&merged);
    let w = summary(&whole);
    assert_eq!(
        rows(&m),
        rows(&w),
        "merged shards differ from the whole run"
    );
    assert_eq!(m["settings"], w["settings"]);
    assert_eq!(
        std::fs::read_to_string(merged.join("summary.csv")).unwrap(),
        std::fs::read_to_string(whole.join("summary.csv")).unwrap()
    );
    // Merging into a folder that has a summary needs --force.
    let o = run(&[&"merge", &s0, &s1, &"--out-dir", &merged]);
    assert_clean_error(&o, &merged.join("summary.json"), &["exists"]);
}
