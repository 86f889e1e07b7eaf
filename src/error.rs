//! Errors of the library: each names the stage, the file and, where there is one, the frame.

use std::path::{Path, PathBuf};

/// Every failure a user can cause ends here as one readable sentence.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: the file does not exist", .0.display())]
    Missing(PathBuf),
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not a readable video ({reason})", .path.display())]
    NotVideo { path: PathBuf, reason: String },
    #[error("{}: the file has no video stream (audio only or another kind of media)", .0.display())]
    NoVideoStream(PathBuf),
    #[error("{}: decoding failed at frame {frame}: {reason}", .path.display())]
    Decode {
        path: PathBuf,
        frame: u64,
        reason: String,
    },
    #[error("{}: not a readable image ({reason})", .path.display())]
    NotImage { path: PathBuf, reason: String },
    #[error("{}: {reason}", .path.display())]
    Weights { path: PathBuf, reason: String },
    #[error("{}: {reason}", .path.display())]
    Data { path: PathBuf, reason: String },
    #[error("{0}")]
    Model(String),
    #[error("{}: already exists; pass --force to replace it", .0.display())]
    Exists(PathBuf),
    #[error("cancelled")]
    Cancelled,
    #[error("{0}")]
    Other(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        let path = path.as_ref().to_path_buf();
        if source.kind() == std::io::ErrorKind::NotFound {
            Error::Missing(path)
        } else {
            Error::Io { path, source }
        }
    }

    pub fn weights(path: impl AsRef<Path>, reason: impl std::fmt::Display) -> Self {
        Error::Weights {
            path: path.as_ref().to_path_buf(),
            reason: reason.to_string(),
        }
    }

    pub fn data(path: impl AsRef<Path>, reason: impl std::fmt::Display) -> Self {
        Error::Data {
            path: path.as_ref().to_path_buf(),
            reason: reason.to_string(),
        }
    }
}

impl From<candle_core::Error> for Error {
    fn from(e: candle_core::Error) -> Self {
        Error::Model(format!("tensor computation failed: {e}"))
    }
}
