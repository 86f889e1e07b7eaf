//! The report's schema against a golden file (and a round trip through the library's
//! types), `--plots` and `--matrix`, and a video with a display rotation.

mod common;
use common::*;
use serde_json::{json, Value};

/// The shape of a JSON value: its keys and the types of their values (arrays by the
/// union of their elements' shapes), with no data.
fn shape(v: &Value) -> Value {
    match v {
        Value::Null => json!("null"),
        Value::Bool(_) => json!("bool"),
        Value::Number(_) => json!("number"),
        Value::String(_) => json!("string"),
        Value::Array(a) => json!([a.iter().map(shape).reduce(merge).unwrap_or(json!("empty"))]),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
    }
}

/// Two shapes as one: a null gives way to a type, objects keep every key.
fn merge(a: Value, b: Value) -> Value {
    match (a, b) {
        (a, b) if a == json!("null") => b,
        (a, b) if b == json!("null") => a,
        (Value::Object(mut x), Value::Object(y)) => {
            for (k, v) in y {
                let m = match x.remove(&k) {
                    Some(u) => merge(u, v),
                    None => v,
                };
                x.insert(k, m);
            }
            Value::Object(x)
        }
        (Value::Array(x), Value::Array(y)) => match (x.into_iter().next(), y.into_iter().next()) {
            (Some(p), Some(q)) => json!([merge(p, q)]),
            (p, q) => json!([p.or(q).unwrap_or(json!("empty"))]),
        },
        (a, _) => a,
    }
}

/// Fields whose type depends on the data (null when absent): left out of the shape.
fn strip_optional(v: &mut Value) {
    if let Value::Object(o) = v {
        o.retain(|_, x| *x != json!("null"));
        for x in o.values_mut() {
            strip_optional(x);
        }
    } else if let Value::Array(a) = v {
        a.iter_mut().for_each(strip_optional);
    }
}

/// Equal JSON values, numbers within 1e-6 relative (the report's f32 fields come
/// back as f64).
fn same(a: &Value, b: &Value, at: &str) {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!((x - y).abs() <= 1e-6 * x.abs().max(1.0), "{at}: {x} != {y}");
        }
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{at}: lengths");
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                same(p, q, &format!("{at}[{i}]"));
            }
        }
        (Value::Object(x), Value::Object(y)) => {
            let (kx, ky): (Vec<_>, Vec<_>) = (x.keys().collect(), y.keys().collect());
            assert_eq!(kx, ky, "{at}: keys");
            for (k, p) in x {
                same(p, &y[k], &format!("{at}.{k}"));
            }
        }
        _ => assert_eq!(a, b, "{at}"),
    }
}

#[test]
fn report_schema_matches_the_golden_file_and_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let json_path = dir.path().join("r.json");
    // A cut between two people (an identity change) with the TI2Net fixture (a verdict).
    let o = run(&[
        &"analyze",
        &media("cut.mp4"),
        &"--end",
        &"6",
        &"--json",
        &json_path,
        &"--checkpoint",
        &fixture("ti2net_h64.pth"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r = read_json(&json_path);
    assert_eq!(r["schema"], ti2net::report::SCHEMA_VERSION);
    assert!(!r["verdict"]["p_fake"].is_null(), "{}", r["verdict"]);
    assert_eq!(r["identity_changes"].as_array().unwrap().len(), 1);

    // Round trip through the library's types: nothing lost, nothing added (numbers
    // to the last bit but one: serde_json's default float parsing is not exact).
    let typed: ti2net::report::Report = serde_json::from_value(r.clone()).unwrap();
    same(&serde_json::to_value(&typed).unwrap(), &r, "report");

    let mut got = shape(&r);
    strip_optional(&mut got);
    let golden = fixture("report_schema.json");
    if std::env::var_os("TI2NET_UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, serde_json::to_string_pretty(&got).unwrap() + "\n").unwrap();
    }
    let want: Value = serde_json::from_slice(&std::fs::read(&golden).unwrap()).unwrap();
    assert_eq!(
        got, want,
        "the report's schema changed: if on purpose, raise SCHEMA_VERSION, document it in the \
         README and rerun with TI2NET_UPDATE_GOLDEN=1"
    );
}

#[test]
fn plots_and_matrix() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("sim.npy");
    let plots = dir.path().join("plots");
    let json_path = dir.path().join("r.json");
    let o = run(&[
        &"analyze",
        &media("cut.mp4"),
        &"--every",
        &"5",
        &"--json",
        &json_path,
        &"--matrix",
        &m,
        &"--plots",
        &plots,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r = read_json(&json_path);
    let faces = r["summary"]["frames_with_face"].as_u64().unwrap() as usize;
    assert!(faces >= 45, "{faces} face frames of 50");

    // The matrix: every face frame against every other; same person high, the two
    // people low.
    let (shape, v) = ti2net::npy::read_f32(&m).unwrap();
    assert_eq!(shape, vec![faces, faces]);
    let n = faces;
    for i in 0..n {
        assert!(
            (v[i * n + i] - 1.0).abs() < 1e-3,
            "diagonal {}",
            v[i * n + i]
        );
        for j in 0..n {
            assert!((v[i * n + j] - v[j * n + i]).abs() < 1e-5, "not symmetric");
            assert!((-1.0001..=1.0001).contains(&v[i * n + j]));
        }
    }
    let t = |k: usize| {
        r["frames"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| !f["face"].is_null())
            .nth(k)
            .unwrap()["time_s"]
            .as_f64()
            .unwrap()
    };
    let (first, last) = (0, n - 1);
    assert!(t(first) < 4.0 && t(last) > 6.0);
    assert!(v[first * n + 1] > 0.6, "same person: {}", v[first * n + 1]);
    assert!(
        v[first * n + last] < 0.4,
        "two people: {}",
        v[first * n + last]
    );

    // The plots: two PNGs named after the video, of a readable size, not blank.
    for name in ["cut_curves.png", "cut_similarity.png"] {
        let img = image::open(plots.join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .to_rgb8();
        assert!(
            img.width() >= 256 && img.height() >= 256,
            "{name}: {:?}",
            img.dimensions()
        );
        let first = *img.get_pixel(0, 0);
        let differ = img.pixels().filter(|p| **p != first).count();
        assert!(
            differ > (img.width() * img.height()) as usize / 20,
            "{name} is nearly blank"
        );
    }
    // Not replaced without --force.
    let o = run(&[
        &"analyze",
        &media("cut.mp4"),
        &"--end",
        &"0.5",
        &"--json",
        &dir.path().join("r2.json"),
        &"--plots",
        &plots,
    ]);
    assert_clean_error(&o, &plots.join("cut_curves.png"), &["exists"]);
}

/// A phone video stored sideways with a display rotation: the frames are analysed
/// upright (the face is found) and the report gives the rotated size.
#[test]
fn a_rotated_video_is_analysed_upright() {
    let dir = tempfile::tempdir().unwrap();
    let rotated = dir.path().join("rotated.mp4");
    // The pixels turned a quarter clockwise, then (as ffmpeg writes a phone's video)
    // a display matrix that turns them back: ffmpeg's own player shows it upright.
    let sideways = dir.path().join("sideways.mp4");
    ffmpeg(
        &[
            "-i",
            media("cap12_12s.mp4").to_str().unwrap(),
            "-t",
            "2",
            "-vf",
            "transpose=1",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-an",
        ],
        &sideways,
    );
    ffmpeg(
        &[
            "-i",
            sideways.to_str().unwrap(),
            "-c",
            "copy",
            "-metadata:s:v:0",
            "rotate=90",
        ],
        &rotated,
    );
    // Without the rotation the face lies on its side and is not found.
    let analyse = |video: &std::path::Path, name: &str| {
        let j = dir.path().join(name);
        let o = run(&[&"analyze", &video, &"--json", &j, &"--end", &"2"]);
        assert!(o.status.success(), "{}", stderr(&o));
        read_json(&j)
    };
    let j = dir.path().join("side.json");
    let o = run(&[&"analyze", &sideways, &"--json", &j]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert_eq!(
        read_json(&j)["summary"]["frames_with_face"].as_u64(),
        Some(0)
    );
    let r = analyse(&rotated, "rot.json");
    let v = &r["video"];
    // Turned a quarter counter-clockwise (270 clockwise) to be upright.
    assert_eq!(v["rotation"].as_i64(), Some(270), "{v}");
    assert_eq!(
        (v["width"].as_u64(), v["height"].as_u64()),
        (Some(400), Some(300)),
        "{v}"
    );
    let s = &r["summary"];
    let (faces, frames) = (
        s["frames_with_face"].as_u64().unwrap(),
        s["frames_analysed"].as_u64().unwrap(),
    );
    assert!(
        faces as f64 >= 0.9 * frames as f64,
        "{faces} faces in {frames} frames"
    );
    // The same face boxes as in the upright original.
    let o = analyse(&media("cap12_12s.mp4"), "orig.json");
    let b = |r: &Value| r["frames"][10]["face"]["box"].clone();
    let (br, bo) = (b(&r), b(&o));
    for k in 0..4 {
        let d = (br[k].as_f64().unwrap() - bo[k].as_f64().unwrap()).abs();
        assert!(d < 12.0, "box {br} upright vs {bo} in the original");
    }
}
