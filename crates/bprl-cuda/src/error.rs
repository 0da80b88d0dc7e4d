//! Typed errors of the CUDA crate.

use thiserror::Error;

/// What went wrong.
#[derive(Debug, Error)]
pub enum CudaError {
    /// No CUDA driver library (`libcuda`) could be loaded: no GPU on this machine.
    #[error("no CUDA driver library found (libcuda); GPU kernels are unavailable on this machine")]
    NoDriver,
    /// No NVRTC library (`libnvrtc`) could be loaded, so kernels cannot be compiled.
    #[error(
        "no NVRTC library found (libnvrtc); put its folder on LD_LIBRARY_PATH (make test installs the PyPI wheel into .tools/nvrtc)"
    )]
    NoNvrtc,
    /// The driver loaded but reported an error (no device, out of memory, launch failure...).
    #[error("CUDA driver error: {0}")]
    Driver(String),
    /// NVRTC rejected the kernel source.
    #[error("NVRTC compilation failed: {0}")]
    Compile(String),
    /// An input of the wrong length.
    #[error("`{what}` has {actual} values, expected {expected}")]
    Shape {
        /// The argument.
        what: &'static str,
        /// Expected length.
        expected: usize,
        /// Given length.
        actual: usize,
    },
    /// A NaN or infinity in an input.
    #[error("non-finite value {value} in `{what}` at index {index}")]
    NonFinite {
        /// The argument.
        what: &'static str,
        /// Index of the first bad value.
        index: usize,
        /// The value.
        value: f32,
    },
    /// A standard deviation (or min_scale) `<= 0`.
    #[error("`{what}` must be > 0, got {value} at index {index}")]
    NonPositive {
        /// The argument.
        what: &'static str,
        /// Index of the first bad value.
        index: usize,
        /// The value.
        value: f32,
    },
    /// A size that does not fit the kernels' 32-bit indices.
    #[error("`{what}` = {value} exceeds the kernels' limit {limit}")]
    TooLarge {
        /// The size.
        what: &'static str,
        /// Its value.
        value: usize,
        /// The limit.
        limit: usize,
    },
}

/// Shorthand for `Result<T, CudaError>`.
pub type Result<T> = std::result::Result<T, CudaError>;
