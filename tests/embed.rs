//! `ti2net embed` on real photos: identity vectors separate people.

mod common;
use common::*;
use ti2net::identity::cosine;

const PHOTOS: &[&str] = &[
    "obama.jpg",
    "obama2.jpg",
    "obama3.jpg",
    "obama4_crop.jpg",
    "biden.jpg",
    "franck_01829.jpg",
    "franck_02045.jpg",
    "franck_02683.jpg",
    "franck_03909.jpg",
    "franck_04117.jpg",
    "audrey.jpg",
    "audrey_crop.jpg",
    "cage.jpg",
    "cage2_crop.jpg",
    "astronaut.png",
];

fn person(name: &str) -> &str {
    ["obama", "biden", "franck", "audrey", "cage", "astronaut"]
        .into_iter()
        .find(|p| name.starts_with(p))
        .unwrap()
}

#[test]
fn every_same_person_pair_beats_every_different_person_pair() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("e.json");
    let paths: Vec<_> = PHOTOS.iter().map(|p| photo(p)).collect();
    let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"embed", &"--json", &json];
    for p in &paths {
        args.push(p);
    }
    let o = run(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let v = read_json(&json);
    let items = v.as_array().unwrap();
    assert_eq!(items.len(), PHOTOS.len());
    let vecs: Vec<Vec<f32>> = items
        .iter()
        .map(|e| {
            let v: Vec<f32> = e["vector"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect();
            assert_eq!(v.len(), 1024);
            v
        })
        .collect();
    let (mut min_same, mut max_diff) = (f32::MAX, f32::MIN);
    for i in 0..vecs.len() {
        for j in i + 1..vecs.len() {
            let s = cosine(&vecs[i], &vecs[j]);
            if person(PHOTOS[i]) == person(PHOTOS[j]) {
                min_same = min_same.min(s);
            } else {
                max_diff = max_diff.max(s);
            }
        }
    }
    eprintln!("same-person minimum {min_same:.3}, different-person maximum {max_diff:.3}");
    assert!(
        min_same > max_diff,
        "same-person minimum {min_same}, different-person maximum {max_diff}"
    );
}

#[test]
fn no_detect_takes_the_whole_image() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("e.json");
    let crop = fixture("obama_aligned.png");
    let o = run(&[&"embed", &"--no-detect", &crop, &"--json", &json]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v = read_json(&json);
    assert!(v[0]["face"].is_null());
    assert_eq!(v[0]["vector"].as_array().unwrap().len(), 1024);
}
