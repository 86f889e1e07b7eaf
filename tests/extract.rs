//! `ti2net extract`: identity files from a folder of videos, with a per-video table,
//! resumable after an interruption without redoing finished videos.

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
