//! Crafted inputs that used to crash a run or stop a batch: container tags that are not
//! UTF-8, a file name that is not UTF-8, a path too long to be a key, a truncated
//! file, frames larger than 8K, a video replaced or a report cut short between two
//! runs, a video without a face. Each is a failed row or a clean error naming the
//! file; everything else finishes.

mod common;
use common::*;
use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::process::Command;

const FAST: [&str; 4] = ["--every", "3", "--end", "3"];

/// A copy of a short real clip whose container title is raw bytes (not UTF-8).
fn with_title(src: &Path, title: &[u8], out: &Path) {
    let mut meta = b"title=".to_vec();
    meta.extend_from_slice(title);
    let st = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(src)
        .args(["-c", "copy", "-metadata"])
        .arg(OsString::from_vec(meta))
        .arg(out)
        .status()
        .unwrap();
    assert!(st.success());
}

/// One grey frame of 7712 x 4352, over 8K (MJPEG in Matroska).
fn huge_video(out: &Path) {
    ffmpeg(
        &[
            "-f",
            "lavfi",
            "-i",
            "color=c=gray:s=7712x4352:d=0.04",
            "-frames:v",
            "1",
            "-c:v",
            "mjpeg",
        ],
        out,
    );
}

fn rows(out: &Path) -> Vec<serde_json::Value> {
    read_json(&out.join("summary.json"))["rows"]
        .as_array()
        .unwrap()
        .clone()
}

fn run_os(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ti2net"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn a_batch_of_crafted_files_finishes_every_other_video_and_names_each_bad_one() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("videos");
    std::fs::create_dir_all(&root).unwrap();
    let good = root.join("good.mp4");
    std::fs::copy(media("carphone_pristine.mp4"), &good).unwrap();
    // Latin-1 "Café", and a UTF-8 "é" cut after its first byte.
    with_title(&good, b"Caf\xe9", &root.join("latin1.mp4"));
    with_title(&good, b"cut \xc3", &root.join("cut_char.mp4"));
    // A name that is not UTF-8 (Latin-1 "é").
    let odd = root.join(OsString::from_vec(b"caf\xe9.mp4".to_vec()));
    std::fs::copy(media("jwpIntro.mp4"), &odd).unwrap();
    // A relative path of over 300 bytes (two folders of 150 bytes each).
    let deep = root.join("d".repeat(150)).join("e".repeat(150));
    std::fs::create_dir_all(&deep).unwrap();
    let long = deep.join("long.mp4");
    std::fs::copy(&good, &long).unwrap();
    // A truncated file, and frames larger than 8K.
    let bytes = std::fs::read(media("franck_12s.mp4")).unwrap();
    std::fs::write(root.join("truncated.mp4"), &bytes[..bytes.len() / 20]).unwrap();
    huge_video(&root.join("huge.mkv"));

    let out = tmp.path().join("out");
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "report".as_ref(),
        root.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ];
    args.extend(FAST.iter().map(std::ffi::OsStr::new));
    let o = run_os(&args);
    let err = stderr(&o);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(o.status.code(), Some(3), "bad videos give exit 3: {err}");
    let rs = rows(&out);
    assert_eq!(rs.len(), 7, "{rs:#?}");
    let ok: Vec<&serde_json::Value> = rs.iter().filter(|r| r["status"] == "ok").collect();
    assert_eq!(ok.len(), 5, "{rs:#?}");
    for (name, why) in [("truncated.mp4", "truncated.mp4"), ("huge.mkv", "8K")] {
        let r = rs.iter().find(|r| r["video"] == name).unwrap();
        assert_eq!(r["status"], "failed", "{r}");
        let p = r["problems"][0].as_str().unwrap();
        assert!(p.contains(name) && p.contains(why), "{p}");
        assert!(err.contains(name), "{name} is not named: {err}");
    }
    // Every key fits a file name, and the long and odd names kept keys of their own.
    for r in &rs {
        let k = r["video"].as_str().unwrap();
        assert!(k.len() <= 200, "{k}");
    }
    let long_row = rs
        .iter()
        .find(|r| r["path"].as_str() == long.to_str())
        .unwrap();
    assert_eq!(long_row["status"], "ok", "{long_row}");
    assert!(rs
        .iter()
        .any(|r| r["status"] == "ok" && r["video"].as_str().unwrap().starts_with("caf\u{fffd}")));
    // The tags are read lossily and the forensic reports are valid UTF-8 JSON.
    for (key, title) in [
        ("latin1.mp4", "Caf\u{fffd}"),
        ("cut_char.mp4", "cut \u{fffd}"),
    ] {
        let json = out.join(format!("reports/{key}.json"));
        let text = String::from_utf8(std::fs::read(&json).unwrap()).expect("UTF-8 report");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["input"]["container"]["tags"]["title"], title, "{json:?}");
        let html = std::fs::read(out.join(format!("reports/{key}.html"))).unwrap();
        assert!(String::from_utf8(html).is_ok());
    }
}

#[test]
fn a_single_report_of_latin1_tags_and_of_a_name_that_is_not_utf8_works() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp
        .path()
        .join(OsString::from_vec(b"t\xe9l\xe9.mp4".to_vec()));
    with_title(&media("carphone_pristine.mp4"), b"Caf\xe9", &src);
    let out = tmp.path().join("evidence");
    let mut args: Vec<&std::ffi::OsStr> = vec!["report".as_ref(), src.as_os_str()];
    args.extend(["--out".as_ref(), out.as_os_str()]);
    args.extend(FAST.iter().map(std::ffi::OsStr::new));
    let o = run_os(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let json = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.as_os_str().as_bytes().ends_with(b".json"))
        .unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&String::from_utf8(std::fs::read(&json).unwrap()).unwrap()).unwrap();
    assert_eq!(v["input"]["container"]["tags"]["title"], "Caf\u{fffd}");
}

#[test]
fn frames_larger_than_8k_are_refused_with_one_sentence() {
    let tmp = tempfile::tempdir().unwrap();
    let huge = tmp.path().join("huge.mkv");
    huge_video(&huge);
    let json = tmp.path().join("r.json");
    let o = run(&[&"analyze", &huge, &"--json", &json]);
    assert_clean_error(&o, &huge, &["7712x4352", "8K"]);
    assert!(!json.exists());
}

#[test]
fn a_batch_rerun_redoes_a_replaced_video_and_a_report_cut_short() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("videos");
    std::fs::create_dir_all(&root).unwrap();
    let (a, b) = (root.join("a.mp4"), root.join("b.mp4"));
    std::fs::copy(media("carphone_pristine.mp4"), &a).unwrap();
    std::fs::copy(media("jwpIntro.mp4"), &b).unwrap();
    let out = tmp.path().join("out");
    let batch = || {
        let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> =
            vec![&"analyze", &root, &"--out-dir", &out, &"--no-detector"];
        for f in &FAST {
            args.push(f);
        }
        let o = run(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        stderr(&o)
    };
    batch();
    let first = rows(&out);
    // b.mp4 replaced by another video under the same name; a.mp4's report cut short.
    std::fs::copy(media("cut.mp4"), &b).unwrap();
    let report = out.join("reports/a.mp4.json");
    let text = std::fs::read(&report).unwrap();
    std::fs::write(&report, &text[..text.len() / 2]).unwrap();
    let err = batch();
    assert!(err.contains("0 already done"), "{err}");
    let second = rows(&out);
    let sha = |rs: &[serde_json::Value], k: &str| {
        rs.iter().find(|r| r["video"] == k).unwrap()["sha256"].clone()
    };
    assert_ne!(sha(&first, "b.mp4"), sha(&second, "b.mp4"));
    assert_eq!(
        sha(&second, "b.mp4").as_str().unwrap(),
        ti2net::fsutil::sha256_file(&b).unwrap()
    );
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert!(v.is_object());
    // A third run finds both finished.
    let err = batch();
    assert!(err.contains("2 already done"), "{err}");
}

#[test]
fn a_batch_of_faceless_videos_exits_as_a_single_analysis_does() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("videos");
    std::fs::create_dir_all(&root).unwrap();
    let v = root.join("bars.mp4");
    ffmpeg(
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=s=320x240:d=2:r=10",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
        ],
        &v,
    );
    let json = tmp.path().join("bars.json");
    let single = run(&[&"analyze", &v, &"--no-detector", &"--json", &json]);
    assert_eq!(single.status.code(), Some(3), "{}", stderr(&single));
    let out = tmp.path().join("out");
    let o = run(&[&"analyze", &root, &"--out-dir", &out, &"--no-detector"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let rs = rows(&out);
    assert_eq!(rs[0]["status"], "ok");
    assert_eq!(rs[0]["incomplete"], true);
}

#[test]
fn a_swap_refuses_to_write_over_its_own_input() {
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("real.mp4");
    std::fs::copy(media("carphone_pristine.mp4"), &target).unwrap();
    let before = std::fs::read(&target).unwrap();
    let same = tmp.path().join(".").join("real.mp4");
    let o = run(&[
        &"swap",
        &"--source",
        &media("jwpIntro.mp4"),
        &"--target",
        &target,
        &"--out",
        &same,
        &"--force",
    ]);
    assert_clean_error(&o, &same, &["input"]);
    assert_eq!(
        std::fs::read(&target).unwrap(),
        before,
        "the real video changed"
    );
}

#[test]
fn a_review_table_csv_defuses_formulas_and_reads_back_the_same() {
    use ti2net::review::table::{Entry, Frames, Label, Reason, Status, Table};
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("t.csv");
    let mut t = Table::default();
    t.entries.push(Entry {
        dataset: "@set".into(),
        video: "=cmd|' /C calc'!A0.mp4".into(),
        label: Label::Fake,
        frames: Some(Frames { first: 1, last: 9 }),
        reason: Reason::BadCrops,
        status: Status::Flagged,
        note: "-2+3".into(),
        annotator: "+me".into(),
        time: "2026-12-07T00:00:00Z".into(),
    });
    let bytes = t.bytes_for(&path);
    std::fs::write(&path, &bytes).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let rec = r.records().next().unwrap().unwrap();
    for (i, cell) in [
        (0, "'@set"),
        (1, "'=cmd|' /C calc'!A0.mp4"),
        (6, "'-2+3"),
        (7, "'+me"),
    ] {
        assert_eq!(&rec[i], cell, "{text}");
    }
    let back = Table::read(&path).unwrap();
    assert_eq!(back.entries, t.entries);
}

/// Two annotators saving one table at once: every save that said ok is in the file.
#[test]
fn concurrent_saves_of_a_review_table_lose_nothing_acknowledged() {
    use ti2net::review::table::TableFile;
    let tmp = tempfile::tempdir().unwrap();
    let path: PathBuf = tmp.path().join("table.json");
    TableFile::open(&path).unwrap().save().unwrap();
    let acknowledged = std::sync::Mutex::new(Vec::<String>::new());
    std::thread::scope(|s| {
        for who in ["a", "b"] {
            let (path, acknowledged) = (&path, &acknowledged);
            s.spawn(move || {
                for i in 0..40 {
                    let video = format!("{who}{i}.mp4");
                    // Reopen (as an annotator whose save was refused would), add, save.
                    let Ok(mut f) = TableFile::open(path) else {
                        continue;
                    };
                    f.table.entries.push(entry(&video));
                    if f.save().is_ok() {
                        acknowledged.lock().unwrap().push(video);
                    }
                }
            });
        }
    });
    let t = ti2net::review::table::Table::read(&path).unwrap();
    let acked = acknowledged.into_inner().unwrap();
    assert!(!acked.is_empty());
    for v in &acked {
        assert!(
            t.entries.iter().any(|e| &e.video == v),
            "{v} was acknowledged and is lost ({} acknowledged, {} in the file)",
            acked.len(),
            t.entries.len()
        );
    }
}

fn entry(video: &str) -> ti2net::review::table::Entry {
    use ti2net::review::table::{Entry, Label, Reason, Status};
    Entry {
        dataset: "d".into(),
        video: video.into(),
        label: Label::Real,
        frames: None,
        reason: Reason::Corrupt,
        status: Status::Flagged,
        note: String::new(),
        annotator: "t".into(),
        time: String::new(),
    }
}
