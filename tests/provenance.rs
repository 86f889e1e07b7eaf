//! Provenance that cannot be lost, and nothing overwritten silently: `train` labels
//! the checkpoint with the encoder recorded beside the identity files, refuses mixed
//! or contradicted encoders, refuses `--resume` without a saved state; crop exports
//! never replace existing files.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use ti2net::provenance::{self, IdProvenance};

/// Real identity vectors (the fixture's two videos) as the real side, and the same
/// people cut into each other halfway as the fake side, each in its own folder.
fn dataset(dir: &Path) -> (PathBuf, PathBuf, PathBuf, PathBuf) {
    let (shape, data) = ti2net::npy::read_f32(&fixture("ti2net_ids.npy")).unwrap();
    let lens = ti2net::npy::read_i64(&fixture("ti2net_lens.npy")).unwrap();
    let d = shape[1];
    let (a, b) = (lens[0] as usize, lens[1] as usize);
    let va = &data[..a * d];
    let vb = &data[a * d..(a + b) * d];
    let mut fake = Vec::new();
    fake.extend_from_slice(&va[..a / 2 * d]);
    fake.extend_from_slice(&vb[b / 2 * d..]);
    fake.extend_from_slice(&vb[..b / 2 * d]);
    fake.extend_from_slice(&va[a / 2 * d..]);
    let fake_lens = vec![(a / 2 + (b - b / 2)) as i64, (b / 2 + (a - a / 2)) as i64];
    let out = |name: &str, v: &[f32], l: &[i64]| {
        let ids = dir.join(format!("{name}_ids.npy"));
        let lp = dir.join(format!("{name}_lens.npy"));
        let n: i64 = l.iter().sum();
        std::fs::write(
            &ids,
            ti2net::npy::f32_matrix_bytes(n as usize, d, v).unwrap(),
        )
        .unwrap();
        std::fs::write(&lp, ti2net::npy::i64_vector_bytes(l).unwrap()).unwrap();
        (ids, lp)
    };
    let (ri, rl) = out("real", &data, &lens);
    let (fi, fl) = out("fake", &fake, &fake_lens);
    (ri, rl, fi, fl)
}

fn r18() -> IdProvenance {
    let sha = ti2net::fsutil::sha256_file(&fixture("r18_module.pth")).unwrap();
    IdProvenance::new("arcface-r18", &sha, 1, true)
}

fn train(
    files: &(PathBuf, PathBuf, PathBuf, PathBuf),
    out: &Path,
    extra: &[&str],
) -> std::process::Output {
    let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![
        &"train",
        &"--real-ids",
        &files.0,
        &"--real-lens",
        &files.1,
        &"--fake-ids",
        &files.2,
        &"--fake-lens",
        &files.3,
        &"--epochs",
        &"1",
        &"--hidden",
        &"16",
        &"--out",
        &out,
    ];
    for e in extra {
        args.push(e);
    }
    run(&args)
}

#[test]
fn the_checkpoint_says_the_encoder_of_its_identity_files() {
    let dir = tempfile::tempdir().unwrap();
    let files = dataset(dir.path());
    provenance::write(&files.0, &r18()).unwrap();
    provenance::write(&files.2, &r18()).unwrap();
    let ck = dir.path().join("r18.safetensors");
    let o = train(&files, &ck, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let c = ti2net::classifier::checkpoint::load(&ck, &candle_core::Device::Cpu).unwrap();
    assert_eq!(c.provenance.encoder.as_deref(), Some("arcface-r18"));
    // And analysing with MobileFaceNet refuses it.
    let o = run(&[
        &"analyze",
        &media("cut.mp4"),
        &"--end",
        &"1",
        &"--json",
        &dir.path().join("a.json"),
        &"--checkpoint",
        &ck,
    ]);
    assert_clean_error(&o, &ck, &["arcface-r18", "mobilefacenet"]);
}

#[test]
fn mixed_or_contradicted_encoders_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let files = dataset(dir.path());
    let ck = dir.path().join("c.safetensors");

    // No sidecar and no --encoder: the encoder is unknown.
    let o = train(&files, &ck, &[]);
    assert_clean_error(&o, &files.0, &["no provenance", "--encoder"]);
    assert!(!ck.exists());

    // One side from MobileFaceNet, the other from arcface-r18.
    let mobile = IdProvenance::new("mobilefacenet", "ab12", 1, true);
    provenance::write(&files.0, &mobile).unwrap();
    provenance::write(&files.2, &r18()).unwrap();
    let o = train(&files, &ck, &[]);
    assert_clean_error(
        &o,
        &files.2,
        &["arcface-r18", "mobilefacenet", "one encoder"],
    );
    assert!(!ck.exists());

    // Both arcface-r18, but --encoder says otherwise.
    provenance::write(&files.0, &r18()).unwrap();
    let o = train(&files, &ck, &["--encoder", "mobilefacenet"]);
    assert_clean_error(&o, &files.0, &["arcface-r18", "not mobilefacenet"]);
    assert!(!ck.exists());

    // A broken sidecar names itself.
    let side = provenance::sidecar_path(&files.2);
    std::fs::write(&side, "{not json").unwrap();
    let o = train(&files, &ck, &[]);
    assert_clean_error(&o, &side, &["provenance"]);
}

#[test]
fn resume_without_a_saved_state_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let files = dataset(dir.path());
    let ck = dir.path().join("c.safetensors");
    let o = train(&files, &ck, &["--encoder", "mobilefacenet", "--resume"]);
    let state = dir.path().join("c.state.safetensors");
    assert_clean_error(&o, &state, &["no saved training state"]);
    assert!(!ck.exists() && !state.exists(), "nothing is written");

    // An existing checkpoint (from elsewhere) is not replaced by a resume without state.
    std::fs::write(&ck, b"someone's checkpoint").unwrap();
    let o = train(&files, &ck, &["--encoder", "mobilefacenet", "--resume"]);
    assert!(!o.status.success());
    assert_eq!(std::fs::read(&ck).unwrap(), b"someone's checkpoint");
}

#[test]
fn cli_crops_are_written_atomically_and_not_over_existing_ones() {
    let dir = tempfile::tempdir().unwrap();
    let crops = dir.path().join("crops");
    let video = media("cut.mp4");
    let analyze = |force: bool| {
        let mut a: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![
            &"analyze", &video, &"--end", &"0.2", &"--json", &"-", &"--crops", &crops,
        ];
        if force {
            a.push(&"--force");
        }
        run(&a)
    };
    let o = analyze(false);
    assert!(o.status.success(), "{}", stderr(&o));
    let names = |d: &Path| {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        v.sort();
        v
    };
    let first = names(&crops);
    assert!(
        first.contains(&"000000_aligned.png".to_string()),
        "{first:?}"
    );
    assert!(
        first.iter().all(|n| !n.starts_with(".ti2net-")),
        "temporary files left: {first:?}"
    );
    let img = image::open(crops.join("000000_aligned.png")).unwrap();
    assert_eq!((img.width(), img.height()), (112, 112));
    // Again without --force: refused, the crops untouched.
    let before = std::fs::read(crops.join("000000_aligned.png")).unwrap();
    std::fs::write(crops.join("000000_square.png"), b"mine").unwrap();
    let o = analyze(false);
    assert_clean_error(&o, &crops, &["not empty", "--force"]);
    assert_eq!(
        std::fs::read(crops.join("000000_square.png")).unwrap(),
        b"mine"
    );
    assert_eq!(
        std::fs::read(crops.join("000000_aligned.png")).unwrap(),
        before
    );
    // With --force the crops are replaced, whole.
    let o = analyze(true);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(names(&crops), first);
    image::open(crops.join("000000_square.png")).expect("a whole PNG again");
}

#[cfg(feature = "gui")]
#[test]
fn gui_crop_export_never_replaces_files() {
    use ti2net::gui::export::export_crops;
    let dir = tempfile::tempdir().unwrap();
    let img = image::open(fixture("obama_aligned.png")).unwrap().to_rgb8();
    let crops = std::collections::BTreeMap::from([(3u64, img.clone()), (7u64, img)]);
    export_crops(dir.path(), "clip", &crops).unwrap();
    let p3 = dir.path().join("clip_000003.png");
    let p7 = dir.path().join("clip_000007.png");
    assert_eq!(image::open(&p7).unwrap().width(), 112);
    std::fs::write(&p3, b"mine").unwrap();
    std::fs::remove_file(&p7).unwrap();
    let e = export_crops(dir.path(), "clip", &crops)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("clip_000003.png") && e.contains("already exists"),
        "{e}"
    );
    assert_eq!(std::fs::read(&p3).unwrap(), b"mine");
    assert!(!p7.exists(), "nothing is written when one file exists");
}
