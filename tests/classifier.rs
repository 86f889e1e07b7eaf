//! TI2Net in candle: parity with PyTorch, `classify`, training on identity data with
//! a real signal, verdicts through `analyze --checkpoint`, and bad input.

mod common;
use candle_core::{Device, Tensor};
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use ti2net::classifier::{checkpoint, Detector};

fn npy(name: &str) -> (Vec<usize>, Vec<f32>) {
    ti2net::npy::read_f32(&fixture(name)).unwrap()
}

fn max_abs(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn model_matches_pytorch_on_fixed_inputs() {
    let det = Detector::load(&fixture("ti2net_h64.pth"), &Device::Cpu).unwrap();
    assert_eq!(
        det.checkpoint.model.hidden, 64,
        "hidden size read from the shapes"
    );
    assert!(!det.checkpoint.has_provenance);
    let (shape, x) = npy("ti2net_inputs.npy");
    assert_eq!(shape, vec![3, 63, 1024]);
    let x = Tensor::from_vec(x, (3, 63, 1024), &Device::Cpu).unwrap();
    let (latent, logits) = det.checkpoint.model.forward(&x, None).unwrap();
    let latent: Vec<f32> = latent.flatten_all().unwrap().to_vec1().unwrap();
    let probs: Vec<f32> = candle_nn::ops::softmax_last_dim(&logits)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    let (_, want_latent) = npy("ti2net_latent.npy");
    let (_, want_probs) = npy("ti2net_probs.npy");
    assert!(
        max_abs(&latent, &want_latent) < 1e-5,
        "latent differs by {}",
        max_abs(&latent, &want_latent)
    );
    assert!(
        max_abs(&probs, &want_probs) < 1e-5,
        "probabilities differ by {}",
        max_abs(&probs, &want_probs)
    );
}

#[test]
fn classify_gives_pytorchs_clip_probabilities() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("c.json");
    let o = run(&[
        &"classify",
        &fixture("ti2net_ids.npy"),
        &"--lens",
        &fixture("ti2net_lens.npy"),
        &"--checkpoint",
        &fixture("ti2net_h64.pth"),
        &"--json",
        &out,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v = read_json(&out);
    let clips = v["clips"].as_array().unwrap();
    let got: Vec<f32> = clips
        .iter()
        .map(|c| c["p_fake"].as_f64().unwrap() as f32)
        .collect();
    let (_, want) = npy("ti2net_clip_probs.npy");
    assert_eq!(
        got.len(),
        want.len(),
        "clips: video 0 (140 frames) starts 0; video 1 (170) starts 0, 16, 32"
    );
    assert!(max_abs(&got, &want) < 1e-5, "{got:?} vs {want:?}");
    let starts: Vec<(u64, u64)> = clips
        .iter()
        .map(|c| {
            (
                c["video"].as_u64().unwrap(),
                c["start_frame"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(starts, vec![(0, 0), (1, 0), (1, 16), (1, 32)]);
    assert_eq!(v["videos"].as_array().unwrap().len(), 2);
}

/// Real identity tracks of two people from the sample clips (every 2nd frame of each
/// is enough for the blend), then face-swap-like fakes.
fn blended_dataset(dir: &Path) -> PathBuf {
    let mut tracks = Vec::new();
    for clip in ["cap12_12s.mp4", "franck_12s.mp4"] {
        let v = dir.join(format!("{clip}.npy"));
        let o = run(&[
            &"analyze",
            &media(clip),
            &"--json",
            &dir.join(format!("{clip}.json")),
            &"--vectors",
            &v,
            &"--no-upsample",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        tracks.push(v);
    }
    let prefix = dir.join("blend");
    let o = run(&[
        &"blend",
        &tracks[0],
        &tracks[1],
        &"--out",
        &prefix,
        &"--videos",
        &"30",
        &"--len",
        &"150",
        &"--seed",
        &"3",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    prefix
}

fn train_args(prefix: &Path, out: &Path, metrics: &Path, epochs: &str) -> Vec<String> {
    let p = prefix.to_string_lossy();
    [
        "train",
        "--real-ids",
        &format!("{p}_real_ids.npy"),
        "--real-lens",
        &format!("{p}_real_lens.npy"),
        "--fake-ids",
        &format!("{p}_fake_ids.npy"),
        "--fake-lens",
        &format!("{p}_fake_lens.npy"),
        "--epochs",
        epochs,
        "--lr",
        "1e-3",
        "--hidden",
        "128",
        "--seed",
        "5",
        "--out",
        &out.to_string_lossy(),
        "--metrics",
        &metrics.to_string_lossy(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn run_strings(args: &[String]) -> std::process::Output {
    let refs: Vec<&dyn AsRef<std::ffi::OsStr>> = args
        .iter()
        .map(|s| s as &dyn AsRef<std::ffi::OsStr>)
        .collect();
    run(&refs)
}

#[test]
fn training_learns_blends_is_seeded_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = blended_dataset(dir.path());

    // 8 epochs straight.
    let (c1, m1) = (dir.path().join("a.safetensors"), dir.path().join("a.json"));
    let o = run_strings(&train_args(&prefix, &c1, &m1, "8"));
    assert!(o.status.success(), "{}", stderr(&o));
    let hist = read_json(&m1);
    let recs = hist.as_array().unwrap();
    assert_eq!(recs.len(), 8);
    for k in [
        "epoch",
        "train_loss",
        "val_acc",
        "val_auc",
        "val_video_auc",
        "seconds",
    ] {
        assert!(!recs[0][k].is_null(), "metrics lack {k}");
    }
    let best_auc = recs
        .iter()
        .filter_map(|r| r["val_auc"].as_f64())
        .fold(0.0, f64::max);
    assert!(best_auc > 0.9, "best validation AUC {best_auc}");

    // The checkpoint carries its provenance.
    let ck = checkpoint::load(&c1, &Device::Cpu).unwrap();
    assert!(ck.has_provenance);
    assert_eq!(ck.provenance.encoder.as_deref(), Some("mobilefacenet"));
    assert_eq!(ck.provenance.hidden, 128);
    assert_eq!(ck.provenance.data.len(), 4);
    assert_eq!(ck.provenance.hyper_parameters["lr"].as_f64(), Some(1e-3));
    assert!(ck.provenance.metrics["validation"]["clip"]["auc"]
        .as_f64()
        .is_some());

    // 5 epochs, then resumed to 8: the same records (same seed, same machine).
    let (c2, m2) = (dir.path().join("b.safetensors"), dir.path().join("b.json"));
    let o = run_strings(&train_args(&prefix, &c2, &m2, "5"));
    assert!(o.status.success(), "{}", stderr(&o));
    let mut args = train_args(&prefix, &c2, &m2, "8");
    args.push("--resume".into());
    let o = run_strings(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let strip = |v: &Value| -> Vec<(f64, Option<f64>)> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| (r["train_loss"].as_f64().unwrap(), r["val_auc"].as_f64()))
            .collect()
    };
    assert_eq!(
        strip(&read_json(&m2)),
        strip(&hist),
        "resumed training differs from a straight run"
    );
    let tensors = |p: &Path| {
        let b = std::fs::read(p).unwrap();
        let st = safetensors::SafeTensors::deserialize(&b).unwrap();
        let mut v: Vec<(String, Vec<u8>)> = st
            .tensors()
            .into_iter()
            .map(|(k, t)| (k, t.data().to_vec()))
            .collect();
        v.sort();
        v
    };
    assert!(
        tensors(&c1) == tensors(&c2),
        "the best checkpoints' weights differ"
    );

    // Not overwritten without --force.
    let o = run_strings(&train_args(&prefix, &c1, &m1, "1"));
    assert_clean_error(&o, &c1, &["exists"]);

    // eval on held-out data: new videos blended with another seed, none of which
    // the training saw.
    let held = dir.path().join("heldout");
    let o = run(&[
        &"blend",
        &dir.path().join("cap12_12s.mp4.npy"),
        &dir.path().join("franck_12s.mp4.npy"),
        &"--out",
        &held,
        &"--videos",
        &"20",
        &"--len",
        &"150",
        &"--seed",
        &"11",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let train_rows = std::fs::read(format!("{}_fake_ids.npy", prefix.display())).unwrap();
    let held_rows = std::fs::read(format!("{}_fake_ids.npy", held.display())).unwrap();
    assert_ne!(train_rows, held_rows, "the held-out videos are new");
    let p = held.to_string_lossy();
    let ej = dir.path().join("eval.json");
    let o = run(&[
        &"eval",
        &"--checkpoint",
        &c1,
        &"--real-ids",
        &format!("{p}_real_ids.npy"),
        &"--real-lens",
        &format!("{p}_real_lens.npy"),
        &"--fake-ids",
        &format!("{p}_fake_ids.npy"),
        &"--fake-lens",
        &format!("{p}_fake_lens.npy"),
        &"--json",
        &ej,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let e = read_json(&ej);
    let auc = e["clip"]["auc"].as_f64().unwrap();
    assert!(auc > 0.9, "held-out clip AUC {auc}");
    assert!(e["roc_clip"].as_array().unwrap().len() > 2);
    assert!(String::from_utf8_lossy(&o.stdout).contains("video (mean)"));

    // The verdict through analyze: a spliced clip scores above a real one.
    let score = |clip: &str| {
        let j = dir.path().join(format!("v-{clip}.json"));
        let o = run(&[
            &"analyze",
            &media(clip),
            &"--json",
            &j,
            &"--checkpoint",
            &c1,
            &"--no-upsample",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let v = read_json(&j)["verdict"].clone();
        assert_eq!(v["checkpoint_sha256"].as_str().unwrap().len(), 64);
        assert!(!v["windows"].as_array().unwrap().is_empty());
        v["p_fake"].as_f64().unwrap()
    };
    let (cut, real) = (score("cut.mp4"), score("cap12_12s.mp4"));
    assert!(cut > real, "spliced {cut} vs real {real}");
}

#[test]
fn too_few_face_frames_is_undetermined() {
    let dir = tempfile::tempdir().unwrap();
    let j = dir.path().join("v.json");
    let o = run(&[
        &"analyze",
        &media("cut.mp4"),
        &"--json",
        &j,
        &"--end",
        &"2",
        &"--checkpoint",
        &fixture("ti2net_h64.pth"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v = read_json(&j)["verdict"].clone();
    assert_eq!(v["label"], "undetermined");
    assert!(v["p_fake"].is_null());
    assert_eq!(v["face_frames_needed"].as_u64(), Some(127));
    assert!(v["note"].as_str().unwrap().contains("127"));
}

/// The PyTorch fixture's TI2Net tensors (hidden 64), without the `module.` prefix.
fn h64_tensors() -> Vec<(String, Tensor)> {
    candle_core::pickle::read_all(fixture("ti2net_h64.pth"))
        .unwrap()
        .into_iter()
        .map(|(k, v)| (k.trim_start_matches("module.").to_string(), v))
        .collect()
}

#[test]
fn checkpoint_from_another_encoder_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let named = h64_tensors();
    // The same weights labelled with two encoders: only the label differs.
    let save = |encoder: &str| {
        let prov = checkpoint::Provenance {
            encoder: Some(encoder.into()),
            hidden: 64,
            ..Default::default()
        };
        let c = dir.path().join(format!("{encoder}-trained.safetensors"));
        checkpoint::save(&c, &named, &prov, false).unwrap();
        let det = Detector::load(&c, &Device::Cpu).unwrap();
        assert_eq!(det.checkpoint.provenance.encoder.as_deref(), Some(encoder));
        c
    };
    let analyze = |c: &Path| {
        run(&[
            &"analyze",
            &media("cut.mp4"),
            &"--end",
            &"1",
            &"--json",
            &dir.path().join("a.json"),
            &"--force",
            &"--checkpoint",
            &c,
        ])
    };
    let c = save("arcface-r18");
    assert_clean_error(&analyze(&c), &c, &["arcface-r18", "mobilefacenet"]);
    let m = save("mobilefacenet");
    let o = analyze(&m);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn bad_identity_files_and_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let ck = fixture("ti2net_h64.pth");
    let classify = |ids: &Path, lens: Option<&Path>, ck: &Path| {
        let out = dir.path().join("o.json");
        let lens_arg = lens.map(|l| l.to_path_buf());
        let mut a: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![
            &"classify",
            &ids,
            &"--checkpoint",
            &ck,
            &"--json",
            &out,
            &"--force",
        ];
        if let Some(l) = &lens_arg {
            a.push(&"--lens");
            a.push(l);
        }
        run(&a)
    };
    let ids = fixture("ti2net_ids.npy");
    // Lengths that do not sum to the rows.
    let lens = dir.path().join("bad_lens.npy");
    std::fs::write(&lens, ti2net::npy::i64_vector_bytes(&[140, 100]).unwrap()).unwrap();
    assert_clean_error(
        &classify(&ids, Some(&lens), &ck),
        &lens,
        &["sum to 240", "310 rows"],
    );
    // Wrong dimension.
    let small = fixture("mobilefacenet_obama.npy");
    assert_clean_error(&classify(&small, None, &ck), &small, &["1024"]);
    // NaNs.
    let nan = dir.path().join("nan.npy");
    let mut v = vec![0.5f32; 3 * 1024];
    v[1024 + 7] = f32::NAN;
    std::fs::write(&nan, ti2net::npy::f32_matrix_bytes(3, 1024, &v).unwrap()).unwrap();
    assert_clean_error(&classify(&nan, None, &ck), &nan, &["row 1", "nan"]);
    // Empty.
    let empty = dir.path().join("empty.npy");
    std::fs::write(&empty, ti2net::npy::f32_matrix_bytes(0, 1024, &[]).unwrap()).unwrap();
    assert_clean_error(
        &classify(&empty, None, &ck),
        &empty,
        &["no identity vectors"],
    );
    // A checkpoint of another network.
    let r18 = fixture("r18_module.pth");
    assert_clean_error(
        &classify(&ids, None, &r18),
        &r18,
        &["not a TI2Net checkpoint"],
    );
    // A TI2Net checkpoint with a layer of the wrong shape.
    let t = candle_core::pickle::read_all(&ck).unwrap();
    let named: Vec<(String, Tensor)> = t
        .into_iter()
        .map(|(k, v)| {
            let k = k.trim_start_matches("module.").to_string();
            let v = if k == "linear_1.weight" {
                v.narrow(1, 0, 100).unwrap()
            } else {
                v
            };
            (k, v)
        })
        .collect();
    let bad = dir.path().join("bad-shape.safetensors");
    checkpoint::save(&bad, &named, &Default::default(), false).unwrap();
    assert_clean_error(
        &classify(&ids, None, &bad),
        &bad,
        &["linear_1.weight", "shape"],
    );
    // Training data with too few videos.
    let one = dir.path().join("one_lens.npy");
    std::fs::write(&one, ti2net::npy::i64_vector_bytes(&[310]).unwrap()).unwrap();
    let o = run(&[
        &"train",
        &"--real-ids",
        &ids,
        &"--real-lens",
        &one,
        &"--fake-ids",
        &ids,
        &"--fake-lens",
        &one,
        &"--encoder",
        &"mobilefacenet",
        &"--out",
        &dir.path().join("t.safetensors"),
    ]);
    assert_clean_error(&o, &ids, &["more videos are needed"]);
}

/// A threshold calibrated into a checkpoint (as the demo detector's is) decides the
/// labels when the user gives none; `--threshold` overrides it.
#[test]
fn a_checkpoints_calibrated_threshold_is_used_unless_one_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let named = h64_tensors();
    // The fixture's video-level fake probabilities, to put a threshold between them.
    let (_, p) = npy("ti2net_clip_probs.npy");
    let (v0, v1) = (p[0], (p[1] + p[2] + p[3]) / 3.0);
    let (lo, hi) = (v0.min(v1), v0.max(v1));
    assert!(hi - lo > 1e-3, "the two videos score apart: {v0} {v1}");
    let between = (lo + hi) / 2.0;
    let prov = checkpoint::Provenance {
        hidden: 64,
        threshold: Some(between),
        ..Default::default()
    };
    let c = dir.path().join("calibrated.safetensors");
    checkpoint::save(&c, &named, &prov, false).unwrap();
    assert_eq!(
        Detector::load(&c, &Device::Cpu).unwrap().threshold(),
        between
    );
    let classify = |extra: &[&str], out: &Path| {
        let mut args: Vec<String> = vec![
            "classify".into(),
            s(&fixture("ti2net_ids.npy")),
            "--lens".into(),
            s(&fixture("ti2net_lens.npy")),
            "--checkpoint".into(),
            s(&c),
            "--json".into(),
            s(out),
        ];
        args.extend(extra.iter().map(|a| a.to_string()));
        let o = run_s(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        let v = read_json(out);
        let labels: Vec<String> = v["videos"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["label"].as_str().unwrap().to_string())
            .collect();
        (v["threshold"].as_f64().unwrap() as f32, labels)
    };
    let (t, labels) = classify(&[], &dir.path().join("a.json"));
    assert!((t - between).abs() < 1e-6, "{t} vs {between}");
    let mut sorted = labels.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        vec!["fake", "real"],
        "one video each side: {labels:?}"
    );
    let (t, labels) = classify(&["--threshold", "0.99"], &dir.path().join("b.json"));
    assert!((t - 0.99).abs() < 1e-6);
    assert_eq!(labels, vec!["real", "real"]);
}
