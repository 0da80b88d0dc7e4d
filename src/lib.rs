//! # bprl
//!
//! KL-regularized reinforcement learning with learned behavior priors (Tirumala et al. 2020,
//! "Behavior Priors for Efficient Reinforcement Learning", arXiv 2010.14274), in Rust.
//!
//! This crate is a facade: it only re-exports the workspace's crates under short names, so
//! that an application can depend on `bprl` alone, while a library can depend on exactly the
//! crate it needs (for example `bprl-distributions`) with no GPU and no system library.
//!
//! | module | crate | job |
//! |---|---|---|
//! | [`agents`] | `bprl-agents` | Algorithms 1 and 2: learners, actors, configs, checkpoints, the actor/learner loop |
//! | [`compute`] | `bprl-compute` | the CPU backend: AVX2/FMA matrix micro-kernel, SIMD row kernels, fast math, worker pool |
//! | [`cuda`] | `bprl-cuda` | CUDA kernels (NVRTC + cudarc, dynamic loading) for batched Gaussian KL and sampling, with CPU references |
//! | [`distributions`] | `bprl-distributions` | Gaussians, categorical, mixtures, tanh-squashed; KL with gradients; the paper's identities |
//! | [`retrace`] | `bprl-retrace` | Retrace(lambda) and the off-policy return family over time-major arrays |
//! | [`envs`] | `bprl-envs` | multi-task point-mass and reacher suites with observation groups |
//! | `mujoco` (feature `mujoco`) | `bprl-mujoco` | MuJoCo quadruped and point mass, box_arrangement's go-to-target tasks |
//! | [`nn`] | `bprl-nn` | layers with explicit backward passes, LayerNormMLP, Adam, safetensors |
//! | [`policy`] | `bprl-policy` | observation groups, flat and hierarchical policies and priors, critics |
//! | [`replay`] | `bprl-replay` | sequence replay: adder, FIFO table, rate limiter, snapshots |
#![deny(missing_docs)]

pub use bprl_agents as agents;
pub use bprl_compute as compute;
pub use bprl_cuda as cuda;
pub use bprl_distributions as distributions;
pub use bprl_envs as envs;
/// The MuJoCo tasks (feature `mujoco`: needs the MuJoCo 3.17 library, see `bprl_mujoco`).
#[cfg(feature = "mujoco")]
pub use bprl_mujoco as mujoco;
pub use bprl_nn as nn;
pub use bprl_policy as policy;
pub use bprl_replay as replay;
pub use bprl_retrace as retrace;
