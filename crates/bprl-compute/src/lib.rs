//! # bprl-compute
//!
//! The CPU compute backend of bprl: the few numeric kernels every network pass of the learner
//! spends its time in, and the worker pool that runs them on all cores. It knows nothing about
//! networks, policies or learning: it multiplies matrices, transforms rows and splits ranges.
//! `bprl-nn` builds its layers and fused tile passes on it.
//!
//! ## Should I use this crate?
//!
//! Only to build network code of your own on bprl's kernels, or to benchmark them. To train
//! networks, use `bprl-nn` (which re-exports [`Activation`], [`gemm`], [`parallel`] and
//! [`fastmath`]).
//!
//! | module | job |
//! |---|---|
//! | [`gemm`] | `C (+)= A B` for one tile: AVX2/FMA 6 x 16 and AVX-512 12 x 32 register micro-kernels for `f32` that read their operands in place through any strides, the `gemm` crate for large AVX-512 products (same bits); `ndarray`'s general product otherwise |
//! | [`rows`] | the row kernels of a dense layer (bias, shared first-layer rows, LayerNorm, activation, and their backward pass), and [`Activation`] |
//! | [`fastmath`] | branch-free `f32` `exp`, `exp_m1` and `tanh` that vectorize |
//! | [`parallel`] | static row splits over persistent worker threads; products with their rows split |
//! | [`cpu`] | the instruction-set path ([`Kernel`], [`Isa`]), detected once or forced by `BPRL_KERNEL` |
//!
//! ## Invariants
//!
//! - **Reproducible for a fixed thread count and path.** Work is split statically: the `k`-th
//!   range of a split of `n` items is always the same rows and always runs on the same thread,
//!   and per-range results are combined in range order. Every kernel's summation order is fixed
//!   by its inputs' shapes. So the same inputs give the same bits from run to run, on one
//!   machine, as long as the two things below are unchanged.
//! - **What changes bits**:
//!   - `BPRL_NUM_THREADS` (default: the machine's available parallelism), read once: it sets
//!     how many ranges a split has, and so where partial sums (weight gradients summed over row
//!     ranges, [`parallel::add_at_b`]) are cut and added;
//!   - the instruction-set path: `BPRL_KERNEL` (`portable`, `avx2`, `avx512`, or unset/`auto`
//!     for the best the processor has), read once, and the processor itself. The `avx2` and
//!     `avx512` paths give the same bits (each product entry is one running fused multiply-add
//!     over the depth in order, on either kernel and on the `gemm` crate up to
//!     [`gemm::LARGE_K`]); the portable path's products are `matrixmultiply`'s, which chooses
//!     its own kernel by CPU detection. The row kernels give the same bits on every path. See
//!     [`cpu`].
//! - **Shapes are the caller's job.** The kernels are unchecked in the sense of statrs'
//!   `*_unchecked` functions: they state their contract (see [`rows::rows_forward`]) and panic
//!   rather than read out of bounds; `bprl-nn` validates once, at its public API.
//!
//! ## Scalars
//!
//! Generic over [`Element`]: `f32` to train (the SIMD paths and [`fastmath`]), `f64` to check
//! gradients (libm, `ndarray`'s product). `Element` is the smallest trait the kernels need; it
//! lives here so the kernels know nothing of storage, and `bprl-nn`'s `Scalar` extends it with
//! constants and safetensors bytes (every `Scalar` is an `Element`).
//!
//! ## Safety
//!
//! All `unsafe` code of bprl's CPU side lives in this crate, each block with the argument that
//! makes it sound: the AVX2/FMA and AVX-512 intrinsics of the micro-kernels, the calls of
//! functions compiled for AVX2 or AVX-512 (allowed only with a [`Kernel`] of [`Isa::Avx2`] or
//! [`Isa::Avx512`], which [`Kernel::new`] makes only after checking the processor), the calls
//! of the `gemm` crate, and the worker pool's borrowed jobs (a split returns, or
//! unwinds, only after every job has finished; see [`parallel`]).
//!
//! ## Example
//!
//! ```
//! use bprl_compute::{Kernel, gemm::gemm_on, parallel};
//! use ndarray::Array2;
//!
//! let a = Array2::from_shape_fn((300, 40), |(i, j)| ((i + j) % 7) as f32 - 3.0);
//! let b = Array2::from_shape_fn((40, 20), |(i, j)| ((i * j) % 5) as f32);
//! // The same product on every path this processor has: equal to rounding.
//! let mut results = Vec::new();
//! for kernel in Kernel::available() {
//!     let mut c = Array2::zeros((300, 20));
//!     gemm_on(kernel, &a.view(), &b.view(), &mut c.view_mut(), false);
//!     results.push(c);
//! }
//! // Small integers: exact on every path.
//! assert!(results.iter().all(|c| c == &a.dot(&b)));
//! // Rows split over the worker threads, results in range order.
//! let sums: usize = parallel::map_ranges(1000, 100, |r| r.sum::<usize>()).into_iter().sum();
//! assert_eq!(sums, 999 * 1000 / 2);
//! ```

// Every public item is documented: the crate is a backend other crates build on, and its
// contracts (shapes, paths, reproducibility) are the manual for doing so.
#![deny(missing_docs)]
// Each `unsafe` block states why it is sound (enforced under `cargo clippy -D warnings`).
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod cpu;
mod element;
pub mod fastmath;
pub mod gemm;
pub mod parallel;
pub mod rows;

pub use cpu::{Isa, Kernel};
pub use element::Element;
pub use rows::Activation;
