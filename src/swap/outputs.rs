//! Where a swap writes (the video and its provenance sidecar), and what it refuses to
//! write over.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// Where the provenance of `out` is written.
pub fn sidecar_path(out: &Path) -> PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    out.with_file_name(format!("{name}.swap.json"))
}

/// Vets a swap's outputs: they must not exist unless `overwrite`, and may never be one
/// of the swap's `inputs`, whatever path names them (with `--force` the swap would
/// replace the real video it reads).
pub(super) fn check_outputs(out: &Path, overwrite: bool, inputs: &[&Path]) -> Result<()> {
    let same = |a: &Path, b: &Path| match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    for p in [out.to_path_buf(), sidecar_path(out)] {
        if let Some(i) = inputs.iter().find(|i| same(i, &p)) {
            return Err(Error::Other(format!(
                "{}: this is an input of the swap ({}); write the swap to another file",
                p.display(),
                i.display()
            )));
        }
        if p.exists() && !overwrite {
            return Err(Error::Exists(p));
        }
    }
    Ok(())
}
