//! # bprl-cuda
//!
//! Hand-written CUDA kernels for the two operations a behavior-prior learner or actor runs on
//! every row of every batch: the diagonal-Gaussian `KL(pi || pi0)` (with its gradients) and
//! reparameterized action sampling with log-probabilities; plus Acme's policy head fused with
//! both.
//!
//! ## Works everywhere
//!
//! - Kernels are CUDA C ([`KERNEL_SOURCE`]), compiled at run time by NVRTC and launched through
//!   cudarc with *dynamic loading*: this crate builds on machines with no CUDA at all.
//! - Before any other cudarc call, [`driver_available`] / [`nvrtc_available`] probe for the
//!   libraries (cudarc panics when one is missing); [`Gpu::new`] returns
//!   [`CudaError::NoDriver`] or [`CudaError::NoNvrtc`] instead of panicking.
//! - NVRTC runs without a GPU: [`compile_kernels`] compiles every kernel to PTX on a CPU-only
//!   machine when `libnvrtc` is on the library path (`make test` installs the PyPI wheel
//!   `nvidia-cuda-nvrtc-cu12` into `.tools/nvrtc`), so CI compiles every kernel.
//! - cudarc is built with `cuda-13000` bindings (they load on current CUDA 13 drivers such as
//!   H100/H200 machines) and `fallback-dynamic-loading` (which also loads the 12.x NVRTC of the
//!   PyPI wheel). On a GPU, [`Gpu::new`] compiles for the device's own architecture with the
//!   machine's NVRTC, never with PTX made elsewhere (PTX from an NVRTC newer than the driver
//!   fails to load).
//!
//! ## Semantics shared with the CPU
//!
//! Each kernel has a CPU reference in [`cpu`] with the same arithmetic in the same order, and
//! random numbers come from a counter-based generator ([`philox`], Philox4x32-10 keyed by seed
//! and indexed by `(row, sample, dim)`) implemented identically on both sides, so GPU results
//! can be compared with the CPU element by element (integer streams are bit-identical; `f32`
//! transcendental functions may differ by a few ulps between libm and CUDA).
//!
//! ## Conventions
//!
//! - `f32`, flat row-major slices: `[rows, dim]` inputs, `[samples, rows, dim]` actions,
//!   `[samples, rows]` log-probs, `[rows]` KLs.
//! - `KL(first || second)`: policy first, prior second.
//! - Bad shapes, NaN and non-positive standard deviations are typed errors ([`CudaError`]).

// Every public item is documented: users pick this crate alone, so its docs are the manual.
#![deny(missing_docs)]

mod compile;
pub mod cpu;
mod error;
mod gpu;
pub mod launch;
pub mod philox;

pub use compile::{
    KERNEL_SOURCE, NVRTC_OPTIONS, compile_cubin, compile_kernels, nvrtc_available,
    nvrtc_supported_archs, nvrtc_version,
};
pub use cpu::{GaussianBatch, HeadOutput, KlWithGrad, Samples, StdParam};
pub use error::{CudaError, Result};
pub use gpu::{DeviceGaussian, Gpu, KernelImage, driver_available};
pub use launch::{KERNEL_NAMES, Kernel, WARP_KL_MIN_DIM};
