//! # bprl-compute
//!
//! The CPU compute backend of bprl: the few numeric kernels every network pass of the learner
//! spends its time in, and the worker pool that runs them on all cores. It knows nothing about
//! networks, policies or learning: it multiplies matrices, transforms rows and splits ranges.
//!
//! | module | job |
//! |---|---|
//! | [`gemm`] | `C (+)= A B` for one tile: an AVX2/FMA 6 x 16 register micro-kernel for `f32` that reads its operands in place through any strides; `ndarray`'s general product otherwise |
//! | [`rows`] | the row kernels of a dense layer (bias, shared first-layer rows, LayerNorm, activation, and their backward pass), and [`Activation`] |
//! | [`fastmath`] | branch-free `f32` `exp`, `exp_m1` and `tanh` that vectorize |
//! | [`parallel`] | static row splits over persistent worker threads; products with their rows split |
//!
//! All `unsafe` code of bprl's CPU side lives in this crate (the SIMD intrinsics, the calls of
//! functions compiled for AVX2, and the worker pool's borrowed jobs), each block with the
//! argument that makes it sound.
//!
//! Generic over [`Element`] (`f32` to train, `f64` to check gradients).

// Every public item is documented: the crate is a backend other crates build on.
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
