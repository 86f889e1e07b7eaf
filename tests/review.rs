//! Reviewing datasets: layouts read with their labels (small real videos in the
//! FaceForensics++ and Celeb-DF v2 folder structures), `extract --exclude` skipping
//! and trimming what a table flags (and `train --exclude`), and suspects proposed by
//! `review --suggest`. The table on disk: `tests/review_table.rs`.

mod common;
use common::*;
use ti2net::review::dataset::{self, Layout};
use ti2net::review::{Frames, Label, Reason, Status, Table};

#[test]
fn faceforensics_and_celeb_df_layouts_are_read_with_their_labels() {
    let dir = tempfile::tempdir().unwrap();
    let ff = dir.path().join("FaceForensics++");
    let one = dir.path().join("one.mp4");
    clip("cap12_12s.mp4", 1.0, 0.5, &one);
    let put = |rel: &str| {
        let p = ff.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::copy(&one, &p).unwrap();
    };
    put("original_sequences/youtube/c23/videos/000.mp4");
    put("original_sequences/youtube/c40/videos/001.mp4");
    put("manipulated_sequences/Deepfakes/c23/videos/000_003.mp4");
    put("manipulated_sequences/FaceSwap/raw/videos/001_870.mp4");
    // Masks are not videos to review.
    put("manipulated_sequences/Deepfakes/masks/videos/000_003.mp4");
    let d = dataset::open(&ff).unwrap();
    assert_eq!(d.layout, Layout::FaceForensics);
    assert_eq!(d.name, "FaceForensics++");
    let got: Vec<(&str, Label, &str)> = d
        .videos
        .iter()
        .map(|v| (v.rel.as_str(), v.label, v.group.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "manipulated_sequences/Deepfakes/c23/videos/000_003.mp4",
                Label::Fake,
                "Deepfakes"
            ),
            (
                "manipulated_sequences/FaceSwap/raw/videos/001_870.mp4",
                Label::Fake,
                "FaceSwap"
            ),
            (
                "original_sequences/youtube/c23/videos/000.mp4",
                Label::Real,
                "youtube"
            ),
            (
                "original_sequences/youtube/c40/videos/001.mp4",
                Label::Real,
                "youtube"
            ),
        ]
    );
    // The files are real videos the pipeline's reader opens.
    let info = ti2net::video::VideoReader::open(&d.videos[0].path, Default::default()).unwrap();
    assert!(info.info().frame_count >= 10);

    let cd = dir.path().join("Celeb-DF-v2");
    for rel in [
        "Celeb-real/id0_0000.mp4",
        "Celeb-real/id1_0001.mp4",
        "YouTube-real/00170.mp4",
        "Celeb-synthesis/id0_id1_0000.mp4",
    ] {
        let p = cd.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::copy(&one, &p).unwrap();
    }
    std::fs::write(
        cd.join("List_of_testing_videos.txt"),
        "1 YouTube-real/00170.mp4\n0 Celeb-synthesis/id0_id1_0000.mp4\n0 Celeb-real/id1_0001.mp4\n1 Celeb-real/id9_0009.mp4\n",
    )
    .unwrap();
    let d = dataset::open(&cd).unwrap();
    assert_eq!(d.layout, Layout::CelebDf);
    let got: Vec<(&str, Label, bool)> = d
        .videos
        .iter()
        .map(|v| (v.rel.as_str(), v.label, v.test))
        .collect();
    assert_eq!(
        got,
        vec![
            ("Celeb-real/id0_0000.mp4", Label::Real, false),
            ("Celeb-real/id1_0001.mp4", Label::Real, true),
            ("Celeb-synthesis/id0_id1_0000.mp4", Label::Fake, true),
            ("YouTube-real/00170.mp4", Label::Real, true),
        ]
    );
    // The list's disagreeing label and its missing video are reported.
    assert_eq!(d.warnings.len(), 2, "{:?}", d.warnings);
    assert!(d.warnings[0].contains("Celeb-real/id1_0001.mp4") && d.warnings[0].contains("fake"));
    assert!(d.warnings[1].contains("1 listed videos are not in the folder"));

    // A broken test list is one clear error.
    std::fs::write(
        cd.join("List_of_testing_videos.txt"),
        "yes YouTube-real/00170.mp4\n",
    )
    .unwrap();
    let e = dataset::open(&cd).unwrap_err().to_string();
    assert!(
        e.contains("List_of_testing_videos.txt") && e.contains("line 1"),
        "{e}"
    );
}

#[test]
fn extract_exclude_skips_flagged_videos_and_trims_flagged_frames() {
    let dir = tempfile::tempdir().unwrap();
    let videos = dir.path().join("set");
    clip("cap12_12s.mp4", 1.0, 1.0, &videos.join("real/a.mp4"));
    clip("franck_12s.mp4", 1.0, 1.0, &videos.join("real/b.mp4"));
    clip("cap12_12s.mp4", 4.0, 1.0, &videos.join("fake/c.mp4"));
    let mut t = Table::default();
    t.entries.push(entry(
        "real/b.mp4",
        None,
        Reason::Corrupt,
        "alice",
        "2026-01-01T00:00:00Z",
    ));
    t.entries.push(entry(
        "fake/c.mp4",
        Some(Frames::new(0, 11)),
        Reason::BadCrops,
        "alice",
        "2026-01-01T00:00:00Z",
    ));
    // A dismissed whole-video flag does not skip a.mp4.
    let mut d = entry(
        "real/a.mp4",
        None,
        Reason::NoFace,
        "alice",
        "2026-01-01T00:00:00Z",
    );
    d.status = Status::Dismissed;
    t.entries.push(d);
    // An entry of another folder matches none of these videos: said, and harmless.
    t.entries.push(entry(
        "other/zzz.mp4",
        None,
        Reason::Corrupt,
        "alice",
        "2026-01-01T00:00:00Z",
    ));
    let table = dir.path().join("table.csv");
    std::fs::write(&table, t.to_csv()).unwrap();
    let out = dir.path().join("ids");
    let o = run_s(&[
        "extract".into(),
        s(&videos),
        "--out".into(),
        s(&out),
        "--every".into(),
        "4".into(),
        "--no-upsample".into(),
        "--threads".into(),
        "1".into(),
        "--exclude".into(),
        s(&table),
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains("1 flagged entries name none of these videos"),
        "{err}"
    );
    assert!(
        err.contains("skipped 1 of 3 videos, trimming 1 frame ranges from 1 videos"),
        "{err}"
    );
    let lens = ti2net::npy::read_i64(&dir.path().join("ids_lens.npy")).unwrap();
    assert_eq!(lens.len(), 2, "b.mp4 is left out");
    let rows = std::fs::read_to_string(dir.path().join("ids_videos.csv")).unwrap();
    assert!(!rows.contains("b.mp4"), "{rows}");
    // Each clip has a face in every analysed frame (0, 4, 8, ...): c.mp4 lost 0, 4 and 8.
    let row = |name: &str| -> (usize, usize) {
        let l = rows.lines().find(|l| l.contains(name)).unwrap();
        let f: Vec<&str> = l.split(',').collect();
        (f[1].parse().unwrap(), f[2].parse().unwrap())
    };
    let (fa, ca) = row("a.mp4");
    let (fc, cc) = row("fake/c.mp4");
    assert_eq!(ca, fa, "a.mp4 is whole");
    assert_eq!(cc, fc - 3, "frames 0-11 of c.mp4 are trimmed");
    assert_eq!(
        lens,
        vec![cc as i64, ca as i64],
        "in path order: fake/c, real/a"
    );

    // train --exclude leaves out the video flagged in the table, found through the
    // extraction table beside the identity file.
    let mut t2 = Table::default();
    t2.entries.push(entry(
        "fake/c.mp4",
        None,
        Reason::Mislabelled,
        "bob",
        "2026-01-01T00:00:00Z",
    ));
    let table2 = dir.path().join("t2.json");
    std::fs::write(&table2, t2.to_json()).unwrap();
    let ids = s(&dir.path().join("ids_ids.npy"));
    let l = s(&dir.path().join("ids_lens.npy"));
    let o = run_s(&[
        "train".into(),
        "--real-ids".into(),
        ids.clone(),
        "--real-lens".into(),
        l.clone(),
        "--fake-ids".into(),
        ids,
        "--fake-lens".into(),
        l,
        "--epochs".into(),
        "1".into(),
        "--out".into(),
        s(&dir.path().join("c.safetensors")),
        "--exclude".into(),
        s(&table2),
    ]);
    let err = stderr(&o);
    assert!(err.contains("skipped 1 of 2 videos"), "{err}");
}

#[test]
fn suggest_proposes_suspects_in_the_tables_own_format() {
    let dir = tempfile::tempdir().unwrap();
    let set = dir.path().join("set");
    // cut.mp4: 5 s of one man, then 5 s of another, in a "real" folder.
    std::fs::create_dir_all(set.join("real")).unwrap();
    std::fs::copy(media("cut.mp4"), set.join("real/cut.mp4")).unwrap();
    std::fs::write(set.join("real/broken.mp4"), "not a video").unwrap();
    // gap.mp4: 1 s of a face, 1.5 s of a grey screen (frames 25 to 62), 1 s of the face.
    let cap = media("cap12_12s.mp4");
    let cap = cap.to_string_lossy();
    ffmpeg(
        &[
            "-ss", "1", "-t", "1", "-i", &cap,
            "-f", "lavfi", "-t", "1.5", "-i", "color=c=gray:s=400x300:r=25",
            "-ss", "3", "-t", "1", "-i", &cap,
            "-filter_complex",
            "[0:v]fps=25,setsar=1[a];[1:v]setsar=1[b];[2:v]fps=25,setsar=1[c];[a][b][c]concat=n=3:v=1[v]",
            "-map", "[v]", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
        ],
        &set.join("real/gap.mp4"),
    );
    let out = dir.path().join("suspects.csv");
    let o = run_s(&[
        "review".into(),
        s(&set),
        "--suggest".into(),
        s(&out),
        "--every".into(),
        "5".into(),
        "--no-upsample".into(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let t = Table::read(&out).unwrap();
    assert!(t
        .entries
        .iter()
        .all(|e| e.status == Status::Suggested && e.annotator == "ti2net"));
    let corrupt: Vec<_> = t
        .entries
        .iter()
        .filter(|e| e.video == "real/broken.mp4")
        .collect();
    assert_eq!(corrupt.len(), 1);
    assert_eq!(corrupt[0].reason, Reason::Corrupt);
    let change = t
        .entries
        .iter()
        .find(|e| e.video == "real/cut.mp4" && e.reason == Reason::IdentityChange)
        .unwrap_or_else(|| panic!("{:?}", t.entries));
    assert_eq!(change.label, Label::Real);
    assert!(
        !t.entries
            .iter()
            .any(|e| e.video == "real/cut.mp4" && e.reason == Reason::BadCrops),
        "the low similarity after the change is the change, not bad crops: {:?}",
        t.entries
    );
    let f = change.frames.expect("the frames after the change");
    assert!(
        (110..=140).contains(&f.first),
        "the change is near 5 s (frame 125): {f:?}"
    );
    let gap: Vec<_> = t
        .entries
        .iter()
        .filter(|e| e.video == "real/gap.mp4")
        .collect();
    assert_eq!(gap.len(), 1, "{gap:?}");
    assert_eq!(gap[0].reason, Reason::NoFace);
    let f = gap[0].frames.expect("a range, not the whole video");
    assert!(
        (20..=30).contains(&f.first) && (55..=62).contains(&f.last),
        "{f:?}"
    );
    assert!(gap[0].note.starts_with("no face for 1."), "{}", gap[0].note);
    // The suggestions can be passed to --exclude as they are.
    let x = ti2net::review::exclude::apply(
        &t,
        &[set.join("real/cut.mp4"), set.join("real/broken.mp4")],
    );
    assert_eq!(x.skipped, vec![set.join("real/broken.mp4")]);
    assert!(x.trim.contains_key(&set.join("real/cut.mp4")));

    // With a batch analysis, its report is read instead of analysing again.
    let batch = dir.path().join("batch");
    let report = batch.join("reports/real__cut.mp4.json");
    std::fs::create_dir_all(report.parent().unwrap()).unwrap();
    let o = run_s(&[
        "analyze".into(),
        s(&set.join("real/cut.mp4")),
        "--json".into(),
        s(&report),
        "--every".into(),
        "5".into(),
        "--no-upsample".into(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out2 = dir.path().join("suspects2.json");
    let o = run_s(&[
        "review".into(),
        s(&set),
        "--suggest".into(),
        s(&out2),
        "--analyses".into(),
        s(&batch),
        "--every".into(),
        "5".into(),
        "--no-upsample".into(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("(2 analysed, 1 from"), "{}", stderr(&o));
    let t2 = Table::read(&out2).unwrap();
    let key = |t: &Table| -> Vec<(String, Option<Frames>, Reason)> {
        t.entries
            .iter()
            .map(|e| (e.video.clone(), e.frames, e.reason))
            .collect()
    };
    assert_eq!(
        key(&t2),
        key(&t),
        "the same suspects from the batch's report"
    );
    // An output is never replaced without --force.
    let o = run_s(&[
        "review".into(),
        s(&set),
        "--suggest".into(),
        s(&out2),
        "--analyses".into(),
        s(&batch),
    ]);
    assert_clean_error(&o, &out2, &["already exists"]);
}
