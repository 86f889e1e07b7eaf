//! Installed models: where they live, which registry package they come from, and
//! their pinned hashes. Nothing is downloaded here: `scripts/setup.sh` fetches the
//! packages with their ordinary clients into [`models_dir`] and `ti2net models
//! import` converts.

use crate::fsutil::{sha256_file, write_atomic};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// One model file the program uses.
#[derive(Debug, Clone, Serialize)]
pub struct ModelEntry {
    pub name: &'static str,
    pub package: &'static str,
    pub file_in_package: &'static str,
    /// Pinned sha256 of the file as shipped (None for files this program writes).
    pub pinned_sha256: Option<&'static str>,
    pub path: PathBuf,
}

/// The state of a model file on this machine.
#[derive(Debug, Clone, Serialize)]
pub struct ModelStatus {
    #[serde(flatten)]
    pub entry: ModelEntry,
    pub installed: bool,
    pub sha256: Option<String>,
    /// `ok`, `missing` or `hash mismatch`.
    pub state: String,
}

pub const FR_FEATURE_SHA256: &str =
    "87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581";
/// Default location of the 68-landmark model from Debian's `libdlib-data`.
pub const DEBIAN_LANDMARKS: &str = "/usr/share/dlib/shape_predictor_68_face_landmarks.dat";
pub const DLIB_68_SHA256: &str = "fbdc2cb80eb9aa7a758672cbfdda32ba6300efe9b6e6c7a299ff7e736b11b92f";

/// The folder holding the models: `$TI2NET_HOME/models` when `TI2NET_HOME` is set,
/// else `$XDG_DATA_HOME/ti2net/models`, else `~/.local/share/ti2net/models` (the
/// platform's data folder elsewhere). It never depends on where the binary was built.
pub fn models_dir() -> PathBuf {
    models_dir_from(
        std::env::var_os("TI2NET_HOME"),
        std::env::var_os("XDG_DATA_HOME"),
        dirs::data_dir(),
    )
}

/// `models_dir` from explicit values of `TI2NET_HOME`, `XDG_DATA_HOME` and the
/// platform's data folder (empty variables count as unset, as XDG asks).
pub fn models_dir_from(
    home: Option<std::ffi::OsString>,
    xdg_data: Option<std::ffi::OsString>,
    platform_data: Option<PathBuf>,
) -> PathBuf {
    let set = |v: Option<std::ffi::OsString>| v.filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(h) = set(home) {
        return h.join("models");
    }
    let data = set(xdg_data)
        .filter(|p| p.is_absolute())
        .or(platform_data)
        .unwrap_or_else(|| PathBuf::from(".local/share"));
    data.join("ti2net").join("models")
}

/// The command that installs the models (for messages).
pub const SETUP_HINT: &str = "run scripts/setup.sh in the ti2net clone, or `ti2net models import`";

pub fn mobilefacenet_onnx() -> PathBuf {
    models_dir().join("sources").join("fr_feature.onnx")
}

pub fn mobilefacenet_weights() -> PathBuf {
    models_dir().join("mobilefacenet.safetensors")
}

/// The detector this build ships: `weights/ti2net-demo.safetensors`, made by the
/// recipe `ti2net demo build` and committed with its model card. It is compiled into
/// the program, so every machine scores with the very same weights whatever its models
/// folder held before.
pub const SHIPPED_DETECTOR: &[u8] = include_bytes!("../weights/ti2net-demo.safetensors");
/// The shipped detector's model card (`weights/ti2net-demo.md`).
pub const SHIPPED_CARD: &str = include_str!("../weights/ti2net-demo.md");
/// Where `ti2net demo build` writes by default, relative to the clone: the committed
/// copy that the next build compiles in.
pub const SHIPPED_DETECTOR_FILE: &str = "weights/ti2net-demo.safetensors";
pub const SHIPPED_CARD_FILE: &str = "weights/ti2net-demo.md";

/// sha256 of [`SHIPPED_DETECTOR`].
pub fn shipped_detector_sha256() -> &'static str {
    static SHA: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SHA.get_or_init(|| crate::fsutil::sha256_bytes(SHIPPED_DETECTOR))
}

/// The shipped detector as a file (`ti2net-demo.safetensors` in the models folder),
/// written there from the copy compiled into the program when it is missing or holds
/// other bytes (an older build's detector). Where the models folder cannot be written,
/// a copy in the temporary folder is used.
pub fn demo_checkpoint() -> PathBuf {
    let sha = shipped_detector_sha256();
    install_shipped(
        &models_dir().join("ti2net-demo.safetensors"),
        SHIPPED_DETECTOR,
        sha,
        &format!("ti2net-demo-{}.safetensors", &sha[..12]),
    )
}

/// The shipped detector's model card, installed beside it as [`demo_checkpoint`] is.
pub fn demo_card() -> PathBuf {
    let sha = crate::fsutil::sha256_bytes(SHIPPED_CARD.as_bytes());
    install_shipped(
        &models_dir().join("ti2net-demo.md"),
        SHIPPED_CARD.as_bytes(),
        &sha,
        &format!("ti2net-demo-{}.md", &sha[..12]),
    )
}

/// `path` holding `bytes` (sha256 `sha`): kept when it already does, else written
/// atomically; `fallback` names the copy in the temporary folder used when `path`
/// cannot be written.
fn install_shipped(path: &Path, bytes: &[u8], sha: &str, fallback: &str) -> PathBuf {
    let holds = |p: &Path| sha256_file(p).ok().as_deref() == Some(sha);
    if holds(path) || write_atomic(path, bytes, true).is_ok() {
        return path.to_path_buf();
    }
    let tmp = std::env::temp_dir().join(fallback);
    if !holds(&tmp) {
        let _ = write_atomic(&tmp, bytes, true);
    }
    tmp
}

/// The 68-landmark model: `$TI2NET_LANDMARKS`, else Debian's `libdlib-data` file. A
/// `$TI2NET_LANDMARKS` naming a file that has gone away falls back to Debian's (see
/// [`landmarks_env_note`]).
pub fn landmarks_model() -> PathBuf {
    std::env::var_os("TI2NET_LANDMARKS")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .filter(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from(DEBIAN_LANDMARKS))
}

/// When `$TI2NET_LANDMARKS` names a file that does not exist, what is used instead,
/// in a sentence.
pub fn landmarks_env_note() -> Option<String> {
    let v = std::env::var_os("TI2NET_LANDMARKS").filter(|v| !v.is_empty())?;
    let p = PathBuf::from(v);
    (!p.exists()).then(|| {
        format!(
            "note: TI2NET_LANDMARKS names {}, which does not exist: {DEBIAN_LANDMARKS} is used instead",
            p.display()
        )
    })
}

pub fn catalogue() -> Vec<ModelEntry> {
    vec![
        ModelEntry {
            name: "mobilefacenet (source)",
            package: "npm faceplugin-face-recognition-js@0.0.1",
            file_in_package: "package/model/fr_feature.onnx",
            pinned_sha256: Some(FR_FEATURE_SHA256),
            path: mobilefacenet_onnx(),
        },
        ModelEntry {
            name: "mobilefacenet",
            package: "converted from fr_feature.onnx by `ti2net models import`",
            file_in_package: "-",
            pinned_sha256: None,
            path: mobilefacenet_weights(),
        },
        ModelEntry {
            name: "ti2net demo detector",
            package: "shipped with ti2net (weights/ti2net-demo.safetensors, built in)",
            file_in_package: SHIPPED_DETECTOR_FILE,
            pinned_sha256: Some(shipped_detector_sha256()),
            path: demo_checkpoint(),
        },
        ModelEntry {
            name: "dlib 68 landmarks",
            package: "Debian libdlib-data",
            file_in_package: "/usr/share/dlib/shape_predictor_68_face_landmarks.dat",
            pinned_sha256: Some(DLIB_68_SHA256),
            path: landmarks_model(),
        },
    ]
}

pub fn status() -> Vec<ModelStatus> {
    catalogue()
        .into_iter()
        .map(|entry| {
            let installed = entry.path.is_file();
            let sha256 = if installed {
                sha256_file(&entry.path).ok()
            } else {
                None
            };
            let state = match (&sha256, entry.pinned_sha256) {
                (None, _) => "missing",
                (Some(h), Some(p)) if h != p => "hash mismatch",
                _ => "ok",
            }
            .to_string();
            ModelStatus {
                entry,
                installed,
                sha256,
                state,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::models_dir_from;
    use std::path::PathBuf;

    #[test]
    fn models_dir_follows_ti2net_home_then_xdg_then_the_data_folder() {
        let some = |s: &str| Some(std::ffi::OsString::from(s));
        let data = Some(PathBuf::from("/home/u/.local/share"));
        assert_eq!(
            models_dir_from(some("/t"), some("/x"), data.clone()),
            PathBuf::from("/t/models")
        );
        assert_eq!(
            models_dir_from(None, some("/x"), data.clone()),
            PathBuf::from("/x/ti2net/models")
        );
        // Empty or relative XDG_DATA_HOME is ignored, as the XDG spec asks.
        for x in [None, some(""), some("rel")] {
            assert_eq!(
                models_dir_from(some(""), x, data.clone()),
                PathBuf::from("/home/u/.local/share/ti2net/models")
            );
        }
    }
}
