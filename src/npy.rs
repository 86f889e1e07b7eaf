//! `.npy` arrays: identity files in the original's format (float32 rows of 1024)
//! and matrices.

use crate::error::{Error, Result};
use npyz::WriterBuilder;
use std::path::Path;

/// The number of elements of an array of `shape`, or `None` when it overflows.
pub fn checked_len(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d))
}

/// Converts a shape read from a file, refusing dimensions that do not fit.
fn shape_of(path: &Path, raw: &[u64]) -> Result<Vec<usize>> {
    let shape = raw
        .iter()
        .map(|&d| usize::try_from(d).ok())
        .collect::<Option<Vec<usize>>>();
    match shape {
        Some(s) if checked_len(&s).is_some() => Ok(s),
        _ => Err(Error::data(
            path,
            format!("has shape {raw:?}, too large for any array"),
        )),
    }
}

/// Serialises a row-major float32 matrix as `.npy` bytes.
pub fn f32_matrix_bytes(rows: usize, cols: usize, data: &[f32]) -> Result<Vec<u8>> {
    if rows.checked_mul(cols) != Some(data.len()) {
        return Err(Error::Other(format!(
            "matrix of {rows} x {cols} given {} values",
            data.len()
        )));
    }
    let mut buf = Vec::new();
    {
        let mut w = npyz::WriteOptions::new()
            .default_dtype()
            .shape(&[rows as u64, cols as u64])
            .writer(&mut buf)
            .begin_nd()
            .map_err(|e| Error::Other(format!("cannot write npy: {e}")))?;
        w.extend(data.iter().copied())
            .map_err(|e| Error::Other(format!("cannot write npy: {e}")))?;
        w.finish()
            .map_err(|e| Error::Other(format!("cannot write npy: {e}")))?;
    }
    Ok(buf)
}

/// Serialises an int64 vector as `.npy` bytes.
pub fn i64_vector_bytes(data: &[i64]) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    {
        let mut w = npyz::WriteOptions::new()
            .default_dtype()
            .shape(&[data.len() as u64])
            .writer(&mut buf)
            .begin_nd()
            .map_err(|e| Error::Other(format!("cannot write npy: {e}")))?;
        w.extend(data.iter().copied())
            .map_err(|e| Error::Other(format!("cannot write npy: {e}")))?;
        w.finish()
            .map_err(|e| Error::Other(format!("cannot write npy: {e}")))?;
    }
    Ok(buf)
}

/// Reads a float32 (or float64) `.npy` array: returns its shape and values.
pub fn read_f32(path: &Path) -> Result<(Vec<usize>, Vec<f32>)> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let npy = npyz::NpyFile::new(&bytes[..])
        .map_err(|e| Error::data(path, format!("not a .npy array ({e})")))?;
    let shape = shape_of(path, npy.shape())?;
    let dtype = npy.dtype();
    let data: Vec<f32> = match dtype.descr().trim_matches('\'') {
        "<f4" => npy.into_vec::<f32>(),
        "<f8" => npy
            .into_vec::<f64>()
            .map(|v| v.into_iter().map(|x| x as f32).collect()),
        d => {
            return Err(Error::data(
                path,
                format!("holds {d} values, expected float32"),
            ))
        }
    }
    .map_err(|e| Error::data(path, format!("cannot read the array ({e})")))?;
    if checked_len(&shape) != Some(data.len()) {
        return Err(Error::data(
            path,
            format!("has shape {shape:?} but holds {} values", data.len()),
        ));
    }
    Ok((shape, data))
}

/// Reads an integer `.npy` vector (int64 or int32).
pub fn read_i64(path: &Path) -> Result<Vec<i64>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let npy = npyz::NpyFile::new(&bytes[..])
        .map_err(|e| Error::data(path, format!("not a .npy array ({e})")))?;
    if npy.shape().len() != 1 {
        return Err(Error::data(
            path,
            format!("has shape {:?}, expected a vector", npy.shape()),
        ));
    }
    let shape = shape_of(path, npy.shape())?;
    let v = match npy.dtype().descr().trim_matches('\'') {
        "<i8" => npy.into_vec::<i64>(),
        "<i4" => npy
            .into_vec::<i32>()
            .map(|v| v.into_iter().map(i64::from).collect()),
        d => {
            return Err(Error::data(
                path,
                format!("holds {d} values, expected int64 or int32"),
            ))
        }
    }
    .map_err(|e| Error::data(path, format!("cannot read the array ({e})")))?;
    if checked_len(&shape) != Some(v.len()) {
        return Err(Error::data(
            path,
            format!("has shape {shape:?} but holds {} values", v.len()),
        ));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.npy");
        std::fs::write(
            &p,
            f32_matrix_bytes(2, 3, &[1., 2., 3., 4., 5., 6.]).unwrap(),
        )
        .unwrap();
        let (shape, data) = read_f32(&p).unwrap();
        assert_eq!(shape, vec![2, 3]);
        assert_eq!(data, vec![1., 2., 3., 4., 5., 6.]);
        let q = dir.path().join("l.npy");
        std::fs::write(&q, i64_vector_bytes(&[3, 4]).unwrap()).unwrap();
        assert_eq!(read_i64(&q).unwrap(), vec![3, 4]);
        assert!(read_i64(&p).is_err());
    }
}
