//! The settings of a go-to-target environment, with box_arrangement's numbers as defaults.

use crate::error::MujocoError;
use crate::mjcf::{PHYSICS_DT, WalkerKind};
use bprl_envs::{MAX_EPISODE_STEPS, MAX_TARGETS};
use serde::{Deserialize, Serialize};

/// Settings of a [`GoToTarget`](crate::GoToTarget) environment.
///
/// The defaults are box_arrangement's go-to-target numbers with the quadruped: `K = 3`
/// targets, control step 0.05 s over physics steps of [`PHYSICS_DT`] (10 per control step),
/// 400 control steps (20 s) per episode, rewards scaled by 10, +5 (50 scaled) for a step that
/// starts with every predicate satisfied, no dense shaping. The arena is a `grid x grid` of
/// square cells of `cell_size` metres, walled; the walker and the targets start on distinct
/// random cells, at the cell centres.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TaskConfig {
    /// The body (default the quadruped).
    pub walker: WalkerKind,
    /// Number of targets `K` (default 3).
    pub num_targets: usize,
    /// Cells per side of the arena (default 4).
    pub grid: usize,
    /// Side of one cell, metres (default 1.5: a 6 m x 6 m arena).
    pub cell_size: f64,
    /// The walker is in a target when its torso's horizontal distance to the target's centre
    /// is at most this, metres (default 0.5; below half a cell, so no start is inside one).
    pub target_radius: f64,
    /// Seconds per control step (default 0.05); a whole multiple of [`PHYSICS_DT`].
    pub control_dt: f64,
    /// Control steps per episode before truncation (default 400).
    pub max_steps: usize,
    /// Factor on the sparse rewards (default 10).
    pub reward_scale: f32,
    /// Sparse reward of a step that starts with every predicate satisfied, before scaling;
    /// the episode ends after it (default 5).
    pub all_satisfied_reward: f32,
    /// Dense shaping weight: each step adds `shaping * (d_before - d_after)`, the decrease of
    /// the horizontal distance (metres) from the torso to the current target (default 0: off).
    pub shaping: f32,
    /// Half-width of the uniform noise on the walker's joint angles at reset, radians
    /// (default 0.1; the quadruped's ankles start at 50 deg, mid-range).
    pub joint_noise: f64,
}

impl Default for TaskConfig {
    fn default() -> Self {
        Self::quadruped()
    }
}

impl TaskConfig {
    /// The quadruped defaults (see the type's docs).
    pub fn quadruped() -> Self {
        Self {
            walker: WalkerKind::Quadruped,
            num_targets: 3,
            grid: 4,
            cell_size: 1.5,
            target_radius: 0.5,
            control_dt: 0.05,
            max_steps: 400,
            reward_scale: 10.0,
            all_satisfied_reward: 5.0,
            shaping: 0.0,
            joint_noise: 0.1,
        }
    }

    /// The cheap point mass in a small arena: a 3 x 3 grid of 0.6 m cells, targets of radius
    /// 0.15 m; the other numbers as [`TaskConfig::quadruped`].
    pub fn point_mass() -> Self {
        Self {
            walker: WalkerKind::PointMass,
            grid: 3,
            cell_size: 0.6,
            target_radius: 0.15,
            ..Self::quadruped()
        }
    }

    /// Half-width of the arena, metres.
    pub fn half_size(&self) -> f64 {
        0.5 * self.grid as f64 * self.cell_size
    }

    /// Physics steps per control step.
    pub fn substeps(&self) -> usize {
        (self.control_dt / PHYSICS_DT).round() as usize
    }

    /// Checks every field.
    ///
    /// # Errors
    /// [`MujocoError::Config`] naming the first bad field, its value and the requirement.
    pub fn validate(&self) -> Result<(), MujocoError> {
        let bad = |field, value: f64, requirement| {
            Err(MujocoError::Config {
                field,
                value,
                requirement,
            })
        };
        if self.num_targets == 0 || self.num_targets > MAX_TARGETS {
            return bad(
                "num_targets",
                self.num_targets as f64,
                "must be in 1..=64 (bprl_envs::MAX_TARGETS)",
            );
        }
        if self.grid == 0 || self.grid > 64 {
            return bad("grid", self.grid as f64, "must be in 1..=64");
        }
        if self.num_targets + 1 > self.grid * self.grid {
            return bad(
                "num_targets",
                self.num_targets as f64,
                "needs num_targets + 1 <= grid * grid cells (the walker's and the targets')",
            );
        }
        if !(self.cell_size.is_finite() && self.cell_size > 0.0 && self.cell_size <= 100.0) {
            return bad(
                "cell_size",
                self.cell_size,
                "must be finite, > 0 and <= 100",
            );
        }
        if !(self.target_radius.is_finite()
            && self.target_radius > 0.0
            && self.target_radius < 0.5 * self.cell_size)
        {
            return bad(
                "target_radius",
                self.target_radius,
                "must be finite, > 0 and < cell_size / 2",
            );
        }
        let ratio = self.control_dt / PHYSICS_DT;
        if !(self.control_dt.is_finite()
            && (0.5..=1000.5).contains(&ratio)
            && (ratio - ratio.round()).abs() < 1e-6)
        {
            return bad(
                "control_dt",
                self.control_dt,
                "must be a positive whole multiple of the physics step 0.005 s, at most 5 s",
            );
        }
        if self.max_steps == 0 || self.max_steps > MAX_EPISODE_STEPS {
            return bad(
                "max_steps",
                self.max_steps as f64,
                "must be in 1..=1000000 (bprl_envs::MAX_EPISODE_STEPS)",
            );
        }
        for (field, v) in [
            ("reward_scale", self.reward_scale),
            ("all_satisfied_reward", self.all_satisfied_reward),
            ("shaping", self.shaping),
        ] {
            if !v.is_finite() {
                return bad(field, f64::from(v), "must be finite");
            }
        }
        if !(self.joint_noise.is_finite() && (0.0..=0.3).contains(&self.joint_noise)) {
            return bad(
                "joint_noise",
                self.joint_noise,
                "must be in [0, 0.3] radians",
            );
        }
        Ok(())
    }
}
