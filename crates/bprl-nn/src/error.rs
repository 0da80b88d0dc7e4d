//! Typed errors of the network layer.

use std::path::PathBuf;
use thiserror::Error;

/// What went wrong.
#[derive(Debug, Error)]
pub enum NnError {
    /// An input of the wrong width.
    #[error("`{what}` has shape {actual:?}, expected {expected:?}")]
    Shape {
        /// The argument.
        what: &'static str,
        /// The expected shape (0 where any size is allowed).
        expected: Vec<usize>,
        /// The shape given.
        actual: Vec<usize>,
    },
    /// A NaN or infinity in an input.
    #[error("non-finite value in `{what}` at flat index {index}")]
    NonFinite {
        /// The argument.
        what: &'static str,
        /// Flat index of the first bad value.
        index: usize,
    },
    /// A bad hyperparameter.
    #[error("`{field}` = {value} is invalid: {requirement}")]
    Config {
        /// The field.
        field: &'static str,
        /// Its value.
        value: f64,
        /// What it must satisfy.
        requirement: &'static str,
    },
    /// A parameter file could not be read or written.
    #[error("parameter file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A parameter file is not valid safetensors.
    #[error("parameter file {path} is not valid safetensors: {reason}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        reason: String,
    },
    /// A parameter the network needs is missing from the file.
    #[error("parameter `{name}` is missing from {path}")]
    MissingTensor {
        /// The file.
        path: PathBuf,
        /// The parameter name.
        name: String,
    },
    /// A stored tensor has another shape or dtype than the network's parameter.
    #[error("parameter `{name}` in {path}: stored {stored}, network has {expected}")]
    TensorMismatch {
        /// The file.
        path: PathBuf,
        /// The parameter name.
        name: String,
        /// What the file holds (dtype and shape).
        stored: String,
        /// What the network needs.
        expected: String,
    },
}

/// Shorthand for `Result<T, NnError>`.
pub type Result<T> = std::result::Result<T, NnError>;
