//! # bprl-cuda
//!
//! Hand-written CUDA kernels for the two operations a behavior-prior learner or actor runs on
//! every row of every batch: the diagonal-Gaussian `KL(pi || pi0)` (with its gradients) and
//! reparameterized action sampling with log-probabilities; plus Acme's policy head fused with
//! both. Each kernel has a CPU reference in [`cpu`] with the same arithmetic in the same
//! order, usable on its own with no GPU.
//!
//! ## Should I use this crate?
//!
//! If your batches live on an NVIDIA GPU and you want these operations without a deep-learning
//! framework: yes. If you only need the formulas on the CPU, `bprl-distributions` is the
//! general implementation; [`cpu`] here is the bit-exact mirror of the kernels.
//!
//! ## Works everywhere
//!
//! - Kernels are CUDA C ([`KERNEL_SOURCE`]), compiled at run time by NVRTC and launched through
//!   cudarc with *dynamic loading*: this crate builds on machines with no CUDA at all.
//! - Before any other cudarc call, [`driver_available`] / [`nvrtc_available`] probe for the
//!   libraries (cudarc panics when one is missing); [`Gpu::new`] returns
//!   [`CudaError::NoDriver`], [`CudaError::NoNvrtc`] or [`CudaError::NoDevice`] instead of
//!   panicking.
//! - NVRTC runs without a GPU: [`compile_kernels`] (PTX) and [`compile_cubin`] (device code)
//!   compile every kernel on a CPU-only machine when `libnvrtc` is on the library path
//!   (`make test` installs the PyPI wheel `nvidia-cuda-nvrtc-cu12` into `.tools/nvrtc`).
//!   cudarc looks for `libnvrtc.so`, then versioned names including `libnvrtc.so.13` and
//!   `libnvrtc.so.12`; on a CUDA 13 machine put the folder of its `libnvrtc.so.13` (e.g.
//!   `/usr/local/cuda/lib64`) on `LD_LIBRARY_PATH`.
//! - On a GPU, [`Gpu::new`] compiles with the machine's own NVRTC to a **cubin** for the
//!   device's architecture (`sm_XY`) when NVRTC knows it and is not a newer major version
//!   than the driver; otherwise it falls back to PTX for `compute_XY`, after checking that
//!   NVRTC is not newer than the driver ([`CudaError::PtxTooNew`] names both versions). PTX is
//!   JIT-compiled by the driver and fails to load on a driver older than the NVRTC that wrote
//!   it. [`Gpu::image`] says which was loaded.
//!
//! ## Semantics shared with the CPU
//!
//! - Random numbers come from a counter-based generator ([`philox`], Philox4x32-10, checked
//!   against Random123's known answers) keyed by the seed: one call per `(row, sample, quad of
//!   four dimensions)`, and both Box-Muller outputs of both word pairs are used
//!   ([`philox::normals4`]).
//! - Kernels are compiled with [`NVRTC_OPTIONS`]: `--fmad=false` (no multiply-add
//!   contraction), IEEE division and square root. Everything built from `+ - * /` and `sqrtf`
//!   is then **bit-identical** to the CPU reference; only CUDA's transcendentals (`logf`,
//!   `expf`, `cosf`, ..., within 1-2 ulp of the CPU's) can differ. The test suite compiles
//!   the very same `.cu` file as host C++ (`kernels/host_shim.h`, contraction off, the C
//!   library's math functions), runs it over the grids the GPU path launches
//!   ([`launch`]), and checks it equals the CPU references bit for bit; the GPU tests bound
//!   the remaining transcendental differences per kernel and output.
//! - Every launch's arguments are checked against [`Kernel::params`], the table the NVRTC
//!   tests check against the `.cu` signatures and the PTX `.param` lists.
//!
//! ## Conventions
//!
//! - `f32`, flat row-major slices: `[rows, dim]` inputs, `[samples, rows, dim]` actions,
//!   `[samples, rows]` log-probs, `[rows]` KLs.
//! - `KL(first || second)`: policy first, prior second.
//! - Stds or log-stds ([`StdParam`]), accepted alike by the KL and sampling on both sides.
//! - Every call that takes user data returns [`Result`]: bad shapes, NaN and non-positive
//!   standard deviations are typed errors ([`CudaError`]). Device batches
//!   ([`DeviceGaussian`]) check their buffer lengths when built, so safe launches never read
//!   out of bounds.
//!
//! ## Testing on a GPU
//!
//! `BPRL_REQUIRE_GPU=1` makes every GPU test (and the benchmark) fail instead of skipping;
//! `make test-gpu` sets it. For a GPU machine with no Rust toolchain and no network,
//! `scripts/gpu-check` builds the GPU tests and the benchmark here into `gpu-pack/` and prints
//! the one command to run there.

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
