//! `ti2net extract`: identity files from a folder of videos, with a per-video table,
//! resumable after an interruption without redoing finished videos, redoing the parts
//! made with other settings; a symbolic link loop in the folder is a clean error.

mod common;
use common::*;

#[test]
fn extract_a_folder_then_resume() {
    let dir = tempfile::tempdir().unwrap();
    let videos = dir.path().join("videos");
    std::fs::create_dir_all(videos.join("sub")).unwrap();
    std::fs::copy(media("cap12_12s.mp4"), videos.join("a_person.mp4")).unwrap();
    ffmpeg(
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=duration=1:size=160x120:rate=10",
            "-pix_fmt",
            "yuv420p",
        ],
        &videos.join("sub/b_bars.mp4"),
    );
    std::fs::write(videos.join("sub/c_notes.mp4"), "not a video").unwrap();
    std::fs::write(videos.join("readme.txt"), "ignored").unwrap();
    let out = dir.path().join("set");
    let args = |force: bool| {
        let mut v: Vec<String> = [
            "extract",
            &videos.to_string_lossy(),
            "--out",
            &out.to_string_lossy(),
            "--every",
            "4",
            "--no-upsample",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if force {
            v.push("--force".into());
        }
        v
    };
    let run_s = |a: Vec<String>| {
        let refs: Vec<&dyn AsRef<std::ffi::OsStr>> =
            a.iter().map(|s| s as &dyn AsRef<std::ffi::OsStr>).collect();
        run(&refs)
    };
    let o = run_s(args(false));
    // One video could not be read: done, with a problem in the table (exit 3).
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let ids = dir.path().join("set_ids.npy");
    let lens = dir.path().join("set_lens.npy");
    let l = ti2net::npy::read_i64(&lens).unwrap();
    assert_eq!(
        l.len(),
        2,
        "the person and the bars are included, the text file is not"
    );
    assert_eq!(l[0], 75, "every 4th of 300 frames, all with the face");
    assert_eq!(l[1], 0, "no face in the bars");
    let (shape, _) = ti2net::npy::read_f32(&ids).unwrap();
    assert_eq!(shape, vec![75, 1024]);
    // The sidecar says what made the vectors.
    let prov = ti2net::provenance::read(&ids)
        .unwrap()
        .expect("a provenance sidecar");
    assert_eq!(prov.encoder, "mobilefacenet");
    assert_eq!(
        prov.weights_sha256,
        ti2net::fsutil::sha256_file(&ti2net::models::mobilefacenet_weights()).unwrap()
    );
    assert_eq!((prov.every, prov.upsample), (4, false));
    assert_eq!(prov.tool_version, env!("CARGO_PKG_VERSION"));
    let table = std::fs::read_to_string(dir.path().join("set_videos.csv")).unwrap();
    assert_eq!(table.lines().count(), 4);
    assert!(
        table.contains("c_notes.mp4") && table.contains("not a readable video"),
        "{table}"
    );

    // Interrupted before the end: the outputs and one video's record are gone.
    let parts = dir.path().join("set.parts");
    let part_of = |stem: &str| {
        std::fs::read_dir(&parts)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.to_string_lossy().contains(stem) && p.extension().unwrap() == "npy")
            .unwrap()
    };
    let person = part_of("a_person");
    let before = std::fs::metadata(&person).unwrap().modified().unwrap();
    std::fs::remove_file(part_of("b_bars").with_extension("json")).unwrap();
    for f in [&ids, &lens] {
        std::fs::remove_file(f).unwrap();
    }
    std::fs::remove_file(dir.path().join("set_videos.csv")).unwrap();
    let o = run_s(args(false));
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert_eq!(
        std::fs::metadata(&person).unwrap().modified().unwrap(),
        before,
        "a finished video was redone"
    );
    assert_eq!(ti2net::npy::read_i64(&lens).unwrap(), l);
    // Existing outputs are not replaced without --force.
    let o = run_s(args(false));
    assert_clean_error(&o, &ids, &["exists"]);
}

/// A rerun with another frame step resumes nothing: each part made with the old
/// settings is redone (and says so), and the sidecar records the new step.
#[test]
fn extract_resume_after_changed_settings_redoes_the_parts() {
    let dir = tempfile::tempdir().unwrap();
    let videos = dir.path().join("videos");
    std::fs::create_dir_all(&videos).unwrap();
    std::fs::copy(media("cap12_12s.mp4"), videos.join("a_person.mp4")).unwrap();
    let out = dir.path().join("set");
    let extract = |every: &str| {
        run(&[
            &"extract",
            &videos,
            &"--out",
            &out,
            &"--every",
            &every,
            &"--no-upsample",
            &"--force",
        ])
    };
    let o = extract("10");
    assert!(o.status.success(), "{}", stderr(&o));
    let lens = dir.path().join("set_lens.npy");
    assert_eq!(ti2net::npy::read_i64(&lens).unwrap(), vec![30]);

    // Same settings: resumed, not redone.
    let o = extract("10");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("redone"), "{}", stderr(&o));

    // Another frame step: the part is redone, with a note.
    let o = extract("12");
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("1 video(s)") && err.contains("other settings") && err.contains("redone"),
        "{err}"
    );
    assert_eq!(
        ti2net::npy::read_i64(&lens).unwrap(),
        vec![25],
        "every 12th of 300 frames, not the old part's 30"
    );
    let ids = dir.path().join("set_ids.npy");
    assert_eq!(ti2net::provenance::read(&ids).unwrap().unwrap().every, 12);
}

#[test]
fn a_symlink_loop_in_the_dataset_is_a_clean_error() {
    let dir = tempfile::tempdir().unwrap();
    let videos = dir.path().join("videos");
    std::fs::create_dir_all(videos.join("sub")).unwrap();
    std::fs::copy(media("cap12_12s.mp4"), videos.join("a.mp4")).unwrap();
    let link = videos.join("sub/back");
    std::os::unix::fs::symlink(&videos, &link).unwrap();
    let out = dir.path().join("set");
    let o = run(&[&"extract", &videos, &"--out", &out]);
    assert_clean_error(&o, &link, &["loop"]);
    assert!(!dir.path().join("set_ids.npy").exists());
}
