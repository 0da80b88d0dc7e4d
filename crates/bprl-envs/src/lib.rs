//! # bprl-envs
//!
//! Multi-task continuous-control environments whose observations carry named groups, built so
//! the claims of Tirumala et al. 2020 can be tested on them.
//!
//! ## The domain
//!
//! A behavior prior helps when tasks share structure the prior can capture without knowing
//! the task. Here every task is "move the effector to targets": the body and the target layout
//! are shared across tasks, only *which* target counts differs. Observations come in three
//! groups:
//!
//! | group | content | task-agnostic? |
//! |---|---|---|
//! | `proprio` | the body's state | yes |
//! | `targets` | the `K` target positions | yes (the layout, not the goal) |
//! | `goal` | one-hot of the target the task marks (the next one, except in [`Task::mismarked`]) | no |
//!
//! A prior given `proprio` + `targets` ([`PriorView::ProprioTargets`]) knows where the targets
//! are but not which one counts: its best form is a mixture over targets (Eq. 7), the case
//! where a hierarchical prior should beat a Gaussian one. [`PriorView::Full`] removes the
//! asymmetry.
//!
//! | item | what |
//! |---|---|
//! | [`Env`], [`TimeStep`], [`ActionSpec`] | the interface (dm_env style: `First`/`Mid`/`Last`, termination vs truncation) |
//! | [`MultiTarget`] with [`PointMass`] or [`TwoLinkArm`] | the tasks: "go to target k", "visit targets in order", and tasks whose goal group marks another target than the one that pays ([`Task::mismarked`]) |
//! | [`TaskFamily`], [`TaskSplit`], [`SingleTask`] | a multi-task problem: environments over the training or the held-out tasks (what a trainer takes) |
//! | [`Suite`], [`SuiteConfig`], [`HeldOutTasks`] | the built-in family: training tasks and held-out transfer tasks (ordered pairs, tours, or a mismarked goal) |
//! | [`VecEnv`] | `N` environments in lockstep with auto-reset |
//! | [`render_png`] | trajectories over the arena as a PNG |
//!
//! ## Conventions
//!
//! - Deterministic: `reset(seed)` fixes the layout, the start state and the task.
//! - Actions are `[-1, 1]^2`, clipped; NaN or a wrong length is a typed error ([`EnvError`]).
//! - Termination has discount 0; truncation at the time limit keeps discount 1.
//!
//! ## Example
//!
//! ```
//! use bprl_envs::{Env, Suite};
//! let suite = Suite::point_mass_default();
//! let mut env = suite.train_env()?;
//! let first = env.reset(7);
//! assert_eq!(first.observation.len(), 3); // proprio, targets, goal
//! let next = env.step(&[0.5, -0.2])?;
//! assert_eq!(next.observation[0].len(), 4);
//! # Ok::<(), bprl_envs::EnvError>(())
//! ```

// Every public item is documented: users pick this crate alone, so its docs are the manual.
#![deny(missing_docs)]

mod body;
mod env;
mod family;
mod render;
mod suite;
mod targets;
mod vec_env;

pub use body::{Body, DT, PointMass, TwoLinkArm};
pub use env::{ActionSpec, Env, EnvError, EpisodeEnd, StepType, TimeStep, clip_action};
pub use family::{SingleTask, TaskFamily, TaskSplit};
pub use render::{Scene, render_png};
pub use suite::{BodyKind, HeldOutTasks, Suite, SuiteConfig, SuiteEnv};
pub use targets::{
    MAX_EPISODE_STEPS, MAX_TARGETS, MultiTarget, PriorView, TargetsConfig, Task, validate_tasks,
};
pub use vec_env::VecEnv;
