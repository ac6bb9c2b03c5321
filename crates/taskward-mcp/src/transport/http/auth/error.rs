//! The errors of setting authentication up.

use std::path::PathBuf;

/// Authentication could not be set up: a token file or a JWKS that cannot be read or used.
///
/// Requests are never refused with this type: a refused request gets its `401` or `403`.
#[derive(Debug)]
#[non_exhaustive]
pub enum AuthError {
    /// A file could not be read.
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line of a token file is malformed.
    Line {
        /// The line number, from 1.
        line: usize,
        /// What is wrong with it.
        why: String,
    },
    /// A JWKS is not a JSON Web Key Set, or holds no usable key.
    Jwks(String),
    /// A JWKS URL could not be fetched.
    Fetch {
        /// The URL.
        url: String,
        /// Why.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl std::fmt::Display for AuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Read { path, .. } => write!(f, "cannot read {}", path.display()),
            Self::Line { line, why } => write!(f, "line {line}: {why}"),
            Self::Jwks(why) => write!(f, "unusable JWKS: {why}"),
            Self::Fetch { url, .. } => write!(f, "cannot fetch the JWKS from {url}"),
        }
    }
}

impl std::error::Error for AuthError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Read { source, .. } => Some(source),
            Self::Fetch { source, .. } => Some(source.as_ref()),
            Self::Line { .. } | Self::Jwks(_) => None,
        }
    }
}

/// Reads a whole file as text, naming the file in the error.
pub(super) fn read(path: &std::path::Path) -> Result<String, AuthError> {
    std::fs::read_to_string(path).map_err(|source| AuthError::Read {
        path: path.to_owned(),
        source,
    })
}
