//! File helpers: content hashes and atomic, non-clobbering writes of user work.

use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::Path;

/// Hex sha256 of a file's content, streamed.
pub fn sha256_file(path: &Path) -> Result<String> {
    sha256_file_cancellable(path, &std::sync::atomic::AtomicBool::new(false))
}

/// [`sha256_file`], checking `cancel` after each MiB: a long video's hash stops as
/// soon as the user opens another one.
pub fn sha256_file_cancellable(
    path: &Path,
    cancel: &std::sync::atomic::AtomicBool,
) -> Result<String> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        if cancel.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(Error::Cancelled);
        }
        let n = f.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// Hex sha256 of bytes.
/// Serialises a path as text, lossily where it is not UTF-8 (serde refuses such a path,
/// and one file name would then fail a whole report or batch summary).
pub fn lossy_path<S: serde::Serializer>(p: &Path, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&p.to_string_lossy())
}

/// A text cell for a CSV file that people open in a spreadsheet: a cell starting with
/// `=`, `+`, `-`, `@`, a tab or a carriage return would run as a formula there, so it
/// gets a leading `'` (OWASP's advice; spreadsheets show the text as written).
/// [`from_spreadsheet_cell`] takes it off again when ti2net reads its own files.
pub fn spreadsheet_cell(text: &str) -> std::borrow::Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}").into()
    } else {
        text.into()
    }
}

/// The text of a cell written by [`spreadsheet_cell`].
pub fn from_spreadsheet_cell(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest,
        _ => cell,
    }
}

/// CSV bytes of a header and rows, through the `csv` crate (quoting as RFC 4180 asks).
pub fn csv_bytes<R, F>(header: &[&str], rows: R) -> Vec<u8>
where
    R: IntoIterator<Item = Vec<F>>,
    F: AsRef<[u8]>,
{
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(header);
    for r in rows {
        let _ = w.write_record(&r);
    }
    w.into_inner().unwrap_or_default()
}

pub fn sha256_bytes(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Writes `bytes` to `path` atomically (a temporary file in the same folder, then a
/// rename). Refuses to replace an existing file unless `overwrite` is set.
pub fn write_atomic(path: &Path, bytes: &[u8], overwrite: bool) -> Result<()> {
    if !overwrite && path.exists() {
        return Err(Error::Exists(path.to_path_buf()));
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".ti2net-")
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))?;
    tmp.write_all(bytes).map_err(|e| Error::io(path, e))?;
    #[cfg(unix)]
    {
        // Temporary files are private (0600); a written output is an ordinary file.
        use std::os::unix::fs::PermissionsExt;
        let _ = tmp
            .as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644));
    }
    tmp.as_file().sync_all().map_err(|e| Error::io(path, e))?;
    if overwrite {
        tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    } else {
        tmp.persist_noclobber(path).map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                Error::Exists(path.to_path_buf())
            } else {
                Error::io(path, e.error)
            }
        })?;
    }
    Ok(())
}

/// Writes `img` as a PNG to `path` atomically; refuses to replace an existing file
/// unless `overwrite` is set.
pub fn write_png<P>(
    path: &Path,
    img: &image::ImageBuffer<P, Vec<P::Subpixel>>,
    overwrite: bool,
) -> Result<()>
where
    P: image::PixelWithColorType,
    [P::Subpixel]: image::EncodableLayout,
{
    if !overwrite && path.exists() {
        return Err(Error::Exists(path.to_path_buf()));
    }
    let mut bytes = Vec::new();
    img.write_to(
        &mut std::io::Cursor::new(&mut bytes),
        image::ImageFormat::Png,
    )
    .map_err(|e| Error::Other(format!("{}: cannot encode the PNG ({e})", path.display())))?;
    write_atomic(path, &bytes, overwrite)
}

/// Writes to `path`, or to standard output when `path` is `-`.
pub fn write_output(path: &Path, bytes: &[u8], overwrite: bool) -> Result<()> {
    if path.as_os_str() == "-" {
        let mut out = std::io::stdout().lock();
        out.write_all(bytes)
            .and_then(|_| out.flush())
            .map_err(|e| Error::io("<stdout>", e))
    } else {
        write_atomic(path, bytes, overwrite)
    }
}

/// Now, UTC, RFC 3339 to the second.
pub fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    utc_text(secs)
}

/// Seconds since 1970 as `YYYY-MM-DDTHH:MM:SSZ` (Howard Hinnant's civil_from_days).
pub fn utc_text(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Serialises named f32 tensors with metadata.
pub fn f32_safetensors(
    tensors: &HashMap<String, (Vec<usize>, Vec<f32>)>,
    metadata: HashMap<String, String>,
) -> Result<Vec<u8>> {
    let raw: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(k, (shape, data))| {
            let bytes = data.iter().flat_map(|v| v.to_le_bytes()).collect();
            (k.clone(), shape.clone(), bytes)
        })
        .collect();
    let views = raw
        .iter()
        .map(|(k, shape, bytes)| {
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), bytes)
                .map(|v| (k.clone(), v))
        })
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::Other(format!("cannot build safetensors: {e}")))?;
    safetensors::tensor::serialize(views, Some(metadata))
        .map_err(|e| Error::Other(format!("cannot write safetensors: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_refuses_to_clobber() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.json");
        write_atomic(&p, b"one", false).unwrap();
        assert!(matches!(
            write_atomic(&p, b"two", false),
            Err(Error::Exists(_))
        ));
        assert_eq!(std::fs::read(&p).unwrap(), b"one");
        write_atomic(&p, b"two", true).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
    }

    #[test]
    fn sha256_of_known_bytes() {
        assert_eq!(
            sha256_bytes(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
