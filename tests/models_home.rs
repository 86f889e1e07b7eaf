//! The models live in the user's data folder (`$TI2NET_HOME/models` here), never in
//! the folder the binary was built from: the binary run from an unrelated folder finds
//! them there, `models list` names that folder, and an empty one gives a clear
//! "not installed" error naming the folder and the setup command.

mod common;
use common::*;
use std::process::Command;

/// A `TI2NET_HOME` whose `models/` links to the installed models (not the detector:
/// the program installs the one it ships itself).
fn home_with_models() -> tempfile::TempDir {
    let installed = ti2net::models::models_dir();
    let home = tempfile::tempdir().unwrap();
    let models = home.path().join("models");
    std::fs::create_dir_all(models.join("sources")).unwrap();
    for f in ["mobilefacenet.safetensors", "sources/fr_feature.onnx"] {
        let src = installed.join(f);
        assert!(
            src.exists(),
            "{} is missing: run scripts/setup.sh",
            src.display()
        );
        std::os::unix::fs::symlink(std::fs::canonicalize(&src).unwrap(), models.join(f)).unwrap();
    }
    home
}

fn ti2net(
    home: &std::path::Path,
    cwd: &std::path::Path,
    args: &[&std::ffi::OsStr],
) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ti2net"))
        .current_dir(cwd)
        .env("TI2NET_HOME", home)
        .env_remove("XDG_DATA_HOME")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn models_are_found_in_ti2net_home_from_any_folder() {
    let home = home_with_models();
    let cwd = tempfile::tempdir().unwrap();
    let models = home.path().join("models");

    let o = ti2net(
        home.path(),
        cwd.path(),
        &["models".as_ref(), "dir".as_ref()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        models.to_str().unwrap()
    );

    let o = ti2net(
        home.path(),
        cwd.path(),
        &["models".as_ref(), "list".as_ref()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.lines()
            .next()
            .unwrap()
            .contains(models.to_str().unwrap()),
        "models list does not name the folder: {out}"
    );
    assert!(out.contains(&format!(
        "{}",
        models.join("mobilefacenet.safetensors").display()
    )));

    // An analysis from the unrelated folder uses the models (and the demo detector) there.
    let video = media("cut.mp4");
    let analyze = |json: &str| {
        ti2net(
            home.path(),
            cwd.path(),
            &[
                "analyze".as_ref(),
                video.as_os_str(),
                "--end".as_ref(),
                "1".as_ref(),
                "--json".as_ref(),
                json.as_ref(),
            ],
        )
    };
    let o = analyze("r.json");
    assert!(o.status.success(), "{}", stderr(&o));
    let r = read_json(&cwd.path().join("r.json"));
    assert_eq!(r["encoder"]["name"], "mobilefacenet");
    let w = r["encoder"]["weights"].as_str().unwrap();
    assert!(w.starts_with(models.to_str().unwrap()), "weights from {w}");
    // The shipped detector scored it, installed into the new home on first use.
    assert_eq!(
        r["verdict"]["checkpoint_sha256"],
        ti2net::models::shipped_detector_sha256(),
        "the shipped detector was not used"
    );
    let installed = models.join("ti2net-demo.safetensors");
    assert_eq!(
        r["verdict"]["checkpoint"].as_str(),
        installed.to_str(),
        "the detector was not installed into TI2NET_HOME"
    );
    // An older detector left in the models folder is replaced by the shipped one.
    std::fs::write(&installed, b"an older build's detector").unwrap();
    let o = analyze("r2.json");
    assert!(o.status.success(), "{}", stderr(&o));
    let r = read_json(&cwd.path().join("r2.json"));
    assert_eq!(
        r["verdict"]["checkpoint_sha256"],
        ti2net::models::shipped_detector_sha256()
    );
}

#[test]
fn an_empty_ti2net_home_says_the_models_are_not_installed() {
    let home = tempfile::tempdir().unwrap();
    let cwd = tempfile::tempdir().unwrap();
    let video = media("cut.mp4");
    let o = ti2net(
        home.path(),
        cwd.path(),
        &[
            "analyze".as_ref(),
            video.as_os_str(),
            "--json".as_ref(),
            "r.json".as_ref(),
        ],
    );
    let models = home.path().join("models");
    let line = assert_clean_error(
        &o,
        &models.join("mobilefacenet.safetensors"),
        &["not installed", "scripts/setup.sh"],
    );
    assert!(
        line.contains(&format!("models folder {}", models.display())),
        "{line}"
    );
    assert!(!cwd.path().join("r.json").exists());

    let o = ti2net(
        home.path(),
        cwd.path(),
        &["models".as_ref(), "list".as_ref()],
    );
    assert_eq!(
        o.status.code(),
        Some(3),
        "models list with nothing installed"
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("missing"));
}

/// A landmark model named by the environment that has gone away: the analysis runs on
/// the installed one and says so once.
#[test]
fn a_landmark_model_from_the_environment_that_is_gone_falls_back_with_a_note() {
    let cwd = tempfile::tempdir().unwrap();
    let gone = cwd
        .path()
        .join("moved/shape_predictor_68_face_landmarks.dat");
    let o = Command::new(env!("CARGO_BIN_EXE_ti2net"))
        .current_dir(cwd.path())
        .env("TI2NET_LANDMARKS", &gone)
        .args(["analyze", "--end", "1", "--json", "r.json"])
        .arg(media("cut.mp4"))
        .output()
        .unwrap();
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert_eq!(err.matches("does not exist").count(), 1, "{err}");
    assert!(err.contains(&gone.display().to_string()), "{err}");
    assert!(cwd.path().join("r.json").exists());
}
