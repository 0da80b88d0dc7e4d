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
    /// The driver loaded but has no device `ordinal` (`CUDA_ERROR_NO_DEVICE` or
    /// `CUDA_ERROR_INVALID_DEVICE`). The only driver error GPU tests may skip on, and only
    /// without `BPRL_REQUIRE_GPU=1`.
    #[error("no CUDA device {ordinal}: {detail}")]
    NoDevice {
        /// The device ordinal asked for.
        ordinal: usize,
        /// The driver's error.
        detail: String,
    },
    /// The driver reported an error (out of memory, launch failure...).
    #[error("CUDA driver error: {0}")]
    Driver(String),
    /// The driver rejected the compiled kernels (`cuModuleLoadData`) or lacks an entry point
    /// (`cuModuleGetFunction`): a broken build, never a missing GPU.
    #[error("loading the kernels failed ({image}): {detail}")]
    Load {
        /// What was loaded (`cubin sm_90`, `PTX compute_90`, or an entry point).
        image: String,
        /// The driver's error.
        detail: String,
    },
    /// PTX from this NVRTC cannot load: it is newer than what the driver supports, and no cubin
    /// could be used.
    #[error(
        "PTX from NVRTC {}.{} needs a CUDA {}.{} driver, but this driver supports CUDA {}.{} (and the cubin path failed: {cubin})",
        nvrtc.0, nvrtc.1, nvrtc.0, nvrtc.1, driver.0, driver.1
    )]
    PtxTooNew {
        /// The NVRTC version `(major, minor)`.
        nvrtc: (i32, i32),
        /// The CUDA version the driver supports, `(major, minor)`.
        driver: (i32, i32),
        /// Why the cubin was not used.
        cubin: String,
    },
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
