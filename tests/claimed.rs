//! The claimed person (`--reference`): the thresholds hold on the project's own
//! photos, photos of the subject give a high `sim_claimed` and another person's a
//! low one, and a genuine video of the subject works as the reference too.

mod common;
use common::*;
use std::collections::BTreeMap;
use ti2net::claimed::{DIFFERENT_PERSON_MAX, SAME_PERSON_MIN};

fn person(file: &str) -> String {
    let stem = file.split('.').next().unwrap().replace("_crop", "");
    stem.trim_end_matches(|c: char| c.is_ascii_digit() || c == '_')
        .to_string()
}

#[test]
fn the_thresholds_hold_on_the_projects_photos() {
    let dir = root().join("assets/photos");
    let mut photos: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    photos.sort();
    assert!(photos.len() >= 10, "run scripts/setup.sh");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("e.json");
    let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"embed"];
    for p in &photos {
        args.push(p);
    }
    args.push(&"--json");
    args.push(&out);
    let o = run(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let j = read_json(&out);
    let mut ids: Vec<(String, String, Vec<f32>)> = Vec::new();
    for e in j.as_array().unwrap() {
        let file = std::path::Path::new(e["path"].as_str().unwrap())
            .file_name()
            .unwrap()
            .to_string_lossy()
            .to_string();
        if let Some(v) = e["vector"].as_array() {
            let v: Vec<f32> = v.iter().map(|x| x.as_f64().unwrap() as f32).collect();
            ids.push((person(&file), file, v));
        }
    }
    let people: BTreeMap<&str, usize> = ids.iter().fold(BTreeMap::new(), |mut m, i| {
        *m.entry(i.0.as_str()).or_default() += 1;
        m
    });
    assert!(people.len() >= 5, "{people:?}");
    let (mut same, mut diff) = (Vec::new(), Vec::new());
    for i in 0..ids.len() {
        for k in i + 1..ids.len() {
            let s = ti2net::identity::cosine(&ids[i].2, &ids[k].2);
            let pair = (s, ids[i].1.clone(), ids[k].1.clone());
            if ids[i].0 == ids[k].0 {
                same.push(pair)
            } else {
                diff.push(pair)
            }
        }
    }
    let lo = same.iter().min_by(|a, b| a.0.total_cmp(&b.0)).unwrap();
    let hi = diff.iter().max_by(|a, b| a.0.total_cmp(&b.0)).unwrap();
    eprintln!(
        "same person: {} pairs, lowest {:.3} ({} / {}); different people: {} pairs, highest {:.3} ({} / {})",
        same.len(), lo.0, lo.1, lo.2, diff.len(), hi.0, hi.1, hi.2
    );
    assert!(same.len() >= 10 && diff.len() >= 50);
    assert!(
        lo.0 >= SAME_PERSON_MIN,
        "a same-person pair under the threshold: {lo:?}"
    );
    assert!(
        hi.0 <= DIFFERENT_PERSON_MAX,
        "a different-person pair over the threshold: {hi:?}"
    );
}

fn claimed(
    video: &std::path::Path,
    extra: &[&str],
    refs: &[std::path::PathBuf],
) -> serde_json::Value {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("r.json");
    let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> =
        vec![&"analyze", &video, &"--json", &out, &"--no-detector"];
    for e in extra {
        args.push(e);
    }
    args.push(&"--reference");
    for r in refs {
        args.push(r);
    }
    let o = run(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let j = read_json(&out);
    let sims: Vec<f64> = j["frames"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["sim_claimed"].as_f64())
        .collect();
    assert!(sims.len() > 20, "sim_claimed on {} frames", sims.len());
    j
}

#[test]
fn photos_of_the_subject_score_high_and_another_persons_low() {
    let video = media("obama_speech.mp4");
    let extra = ["--every", "3"];
    let same = claimed(
        &video,
        &extra,
        &[photo("obama.jpg"), photo("obama2.jpg"), photo("obama3.jpg")],
    );
    let c = &same["claimed"];
    assert_eq!(c["conclusion"], "consistent", "{c:#}");
    assert!(
        c["median"].as_f64().unwrap() >= SAME_PERSON_MIN as f64,
        "{c:#}"
    );
    assert_eq!(c["sources"].as_array().unwrap().len(), 3);
    assert!(
        c["sources"][0]["agreement"].as_f64().unwrap() > 0.5,
        "{c:#}"
    );

    let other = claimed(
        &video,
        &extra,
        &[photo("franck_01829.jpg"), photo("audrey.jpg")],
    );
    let c = &other["claimed"];
    assert_eq!(c["conclusion"], "different", "{c:#}");
    assert!(
        c["median"].as_f64().unwrap() <= DIFFERENT_PERSON_MAX as f64,
        "{c:#}"
    );
    // Two people as the "claimed person": their photos disagree, and the report says so.
    assert!(
        c["sources"][0]["agreement"].as_f64().unwrap() < 0.3,
        "{c:#}"
    );
}

#[test]
fn a_genuine_video_of_the_subject_is_a_reference_too() {
    // franck.mp4 from 100 s on, against the first 12 s of the same person.
    let video = media("franck.mp4");
    let j = claimed(
        &video,
        &["--start", "100", "--end", "104", "--every", "2"],
        &[media("franck_12s.mp4")],
    );
    let c = &j["claimed"];
    assert_eq!(c["conclusion"], "consistent", "{c:#}");
    assert_eq!(c["sources"][0]["kind"], "video");
    assert!(c["sources"][0]["faces"].as_u64().unwrap() > 20, "{c:#}");
    // A reference photo without a face is a clear error naming it.
    let tmp = tempfile::tempdir().unwrap();
    let blank = tmp.path().join("blank.png");
    image::RgbImage::from_pixel(200, 200, image::Rgb([120, 120, 120]))
        .save(&blank)
        .unwrap();
    let o = run(&[
        &"analyze",
        &video,
        &"--json",
        &tmp.path().join("x.json"),
        &"--end",
        &"1",
        &"--reference",
        &blank,
    ]);
    assert_clean_error(&o, &blank, &["no face"]);
}
