//! # bprl-nn
//!
//! A small network layer on `ndarray` with explicit backward passes: no autodiff framework,
//! no graph, just functions.
//!
//! ## The domain
//!
//! The behavior-prior agent trains three kinds of small networks (policy, prior, critic; Acme's
//! `svg0_prior` uses `LayerNormMLP`s of sizes 200-100 and 400-300). SVG(0) needs the critic's
//! gradient with respect to its *action input*, and the policy's gradient from gradients on its
//! outputs: so every layer here has a forward pass that keeps what backward needs, and a
//! backward pass that accumulates parameter gradients *and* returns input gradients.
//!
//! | item | job |
//! |---|---|
//! | [`Linear`], [`LayerNorm`], [`Activation`] | the layers |
//! | [`Mlp`] (and [`Mlp::layer_norm_mlp`]) | stacks of [`Dense`] layers, Acme's `LayerNormMLP` |
//! | [`Parameters`] | names and order of every parameter array; flattening, hard target copies, Polyak averaging |
//! | [`Adam`] | the optimizer, bias-corrected, optional gradient-norm clipping |
//! | [`io`] | safetensors save/load by name with shapes checked, atomic writes |
//! | [`gradcheck`] | central finite differences for testing backward passes |
//! | [`MlpTile`], [`TileInput`] | fused, preallocated passes over tiles of rows |
//! | [`TileCache`] | the tiles a caller keeps between passes (its scratch space, one slot per thread) |
//! | [`gemm`], [`parallel`], [`fastmath`], [`Activation`] | re-exported from `bprl-compute`, the CPU backend: the matrix product (AVX2/FMA and AVX-512 micro-kernels for `f32`), static row splits over persistent worker threads, vectorizable `f32` exponentials, the activations |
//!
//! ## Conventions
//!
//! - Batches are rows: inputs are `[N, in]`, outputs `[N, out]`.
//! - **A gradient is a value of the network's own type**: `Linear`'s gradient is a `Linear`,
//!   an `Mlp`'s an `Mlp` ([`Mlp::zeros_like`]). Backward passes *accumulate* (`+=`) into it, so
//!   a network used on several inputs sums its gradients naturally.
//! - Generic over [`Scalar`] (`f32` to train, `f64` to check gradients), which extends
//!   `bprl-compute`'s `Element` (the kernels' scalar) with constants and safetensors storage.
//! - Two ways to run a network. The plain passes ([`Mlp::forward`], [`Mlp::backward`]) keep
//!   whole-batch arrays and are the reference. The fused tile passes ([`Mlp::forward_tile`],
//!   [`Mlp::backward_tile`] on an [`MlpTile`]) compute the same values on tiles of rows in
//!   preallocated buffers, one row pass per layer, with rows that share an input prefix
//!   ([`TileInput::Shared`]) sharing its product: the learner's hot path.
//! - The numeric kernels are `bprl-compute`'s (this crate is safe Rust only):
//!   matrix products through [`gemm`] (AVX2/FMA and AVX-512 micro-kernels and the `gemm` crate for `f32`, `ndarray`'s
//!   `matrixmultiply` otherwise; `BPRL_KERNEL` forces a path), large plain products with their
//!   rows split across threads ([`parallel`], persistent workers, `BPRL_NUM_THREADS`). Results
//!   are bit-for-bit reproducible for a fixed thread count and path (see `bprl-compute`).
//! - Scratch space belongs to the caller: passes that need tiles take a [`TileCache`].
//! - Errors are typed ([`NnError`]); forward and backward passes trust the shapes they are
//!   given (validate once with [`Mlp::check_input`]).
//!
//! ## Example
//!
//! ```
//! use bprl_nn::{Adam, AdamConfig, Mlp, Parameters};
//! use ndarray::Array2;
//! use rand::{SeedableRng, rngs::StdRng};
//!
//! let mut rng = StdRng::seed_from_u64(0);
//! let mut net = Mlp::<f32>::layer_norm_mlp(4, &[16, 1], false, &mut rng);
//! let mut opt = Adam::new(AdamConfig { learning_rate: 1e-2, ..AdamConfig::default() }, net.num_params())?;
//! let x = Array2::from_elem((8, 4), 0.5f32);
//! for _ in 0..100 {
//!     let cache = net.forward(x.view());
//!     let d_out = cache.output().mapv(|y| y - 1.0); // d/dy of (y - 1)^2 / 2
//!     let mut grad = net.zeros_like();
//!     net.backward(&cache, d_out.view(), &mut grad);
//!     opt.step(&mut net, &grad)?;
//! }
//! assert!((net.predict(x.view())[(0, 0)] - 1.0).abs() < 0.05);
//! # Ok::<(), bprl_nn::NnError>(())
//! ```

// Every public item is documented: users pick this crate alone, so its docs are the manual.
#![deny(missing_docs)]
// Safe Rust only, forbidden otherwise by the lints in this crate's Cargo.toml: the kernels'
// low-level code lives in bprl-compute.

mod adam;
mod error;
mod fused;
pub mod gradcheck;
pub mod io;
mod layers;
mod mlp;
mod params;
mod scalar;
mod tile_cache;

pub use adam::{Adam, AdamConfig};
pub use bprl_compute::{Activation, fastmath, gemm, parallel};
pub use error::{NnError, Result};
pub use fused::{MlpTile, TileInput};
pub use layers::{LayerNorm, LayerNormCache, Linear};
pub use mlp::{Dense, Mlp, MlpCache};
pub use params::{Parameters, first_shape_mismatch, join};
pub use scalar::Scalar;
pub use tile_cache::TileCache;
