//! # bprl-mujoco
//!
//! Real physics for bprl: MuJoCo bodies going to targets in a walled arena, the headline
//! domain of Tirumala et al. 2020, with the semantics of DeepMind's `box_arrangement`
//! go-to-target tasks, behind the same [`bprl_envs::Env`] and [`bprl_envs::TaskFamily`] the
//! trainer takes for the 2-D suite.
//!
//! ## Should I use this crate?
//!
//! Use it to run the method where the paper showed it matters (a legged body whose prior
//! must learn to walk before it can learn where to go). It is the only bprl crate that needs
//! a system library: MuJoCo 3.17.0, linked through `mujoco-rs` 7. `make` installs it from
//! the PyPI wheel `mujoco==3.17.0` into `.tools/mujoco/` (`scripts/install-deps.sh`), and
//! the build finds it through `MUJOCO_DYNAMIC_LINK_DIR` (exported by the Makefile;
//! `.cargo/config.toml` points there by default). No other crate depends on this one: the
//! command line gets it with its `mujoco` feature.
//!
//! ## The domain
//!
//! | item | what |
//! |---|---|
//! | [`WalkerKind`] | the bodies, MJCF written in [`mjcf`]: an Ant-proportioned quadruped (8 actuators) and a planar point mass (2, for fast tests) |
//! | [`TaskConfig`] | box_arrangement's numbers: `K = 3` targets, physics step 0.005 s, control step 0.05 s, 400 steps, rewards x10, optional shaping (off) |
//! | [`GoToTarget`] | the environment: predicates, sparse rewards, flip termination, observation groups |
//! | [`GoToTargetFamily`] | training tasks (go to target k) and held-out ones (visit i then j; optionally a larger arena) |
//! | [`Physics`] | the compiled model, its data and the walker's addresses (raw stepping, hand-made states) |
//! | [`TopDown`] | top-down PNGs of torso paths |
//!
//! Observations come in three groups: `proprio` (joints, height, the z-axis in the torso
//! frame, velocimeter, gyro, accelerometer, end effectors: task-agnostic), `targets` (the
//! egocentric target positions: the layout, not the goal) and `task` (which target counts).
//! A prior given `proprio` (and `targets`) is the information-asymmetric prior of the paper.
//!
//! ## Conventions
//!
//! - Deterministic: `reset(seed)` fixes the layout, the walker's cell and heading, its joint
//!   noise and the task; MuJoCo's stepping is deterministic on one machine.
//! - Actions are `[-1, 1]^A`, clipped; NaN or a wrong length is an [`bprl_envs::EnvError`].
//! - Building a model or an environment returns [`MujocoError`]; it converts into
//!   `EnvError` where a [`bprl_envs::TaskFamily`] needs one.
//! - MuJoCo works in `f64`; observations and rewards are `f32`.
//!
//! ## Example
//!
//! ```
//! use bprl_envs::{Env, TaskFamily, TaskSplit};
//! use bprl_mujoco::GoToTargetFamily;
//! let family = GoToTargetFamily::point_mass();
//! let mut env = family.make_env(TaskSplit::Train)?;
//! let first = env.reset(7);
//! assert_eq!(first.observation.len(), 3); // proprio, targets, task
//! let next = env.step(&[0.5, -0.2])?;
//! assert_eq!(next.observation[1].len(), 9); // 3 targets x 3 coordinates
//! # Ok::<(), bprl_envs::EnvError>(())
//! ```

// Every public item is documented: users pick this crate alone, so its docs are the manual.
#![deny(missing_docs)]

mod config;
mod env;
mod error;
mod family;
pub mod mjcf;
mod physics;
mod render;

pub use config::TaskConfig;
pub use env::GoToTarget;
pub use error::MujocoError;
pub use family::GoToTargetFamily;
pub use mjcf::{PHYSICS_DT, WalkerKind, model_xml};
pub use physics::{Physics, SENSORS, STANDARD_GRAVITY};
pub use render::TopDown;
