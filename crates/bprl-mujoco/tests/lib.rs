//! bprl-mujoco's integration tests (one binary): the models, the action checks, the reward
//! and termination semantics on scripted trajectories, determinism, observation groups, the
//! family and the pictures.
mod actions;
mod family;
mod model;
mod observations;
mod rewards;

use bprl_mujoco::{GoToTarget, TaskConfig};

/// A point-mass environment over "go to target k" (the cheap body).
pub fn point_mass() -> GoToTarget {
    GoToTarget::go_to_any(TaskConfig::point_mass()).expect("point mass")
}

/// A quadruped environment over "go to target k".
pub fn quadruped() -> GoToTarget {
    GoToTarget::go_to_any(TaskConfig::quadruped()).expect("quadruped")
}
