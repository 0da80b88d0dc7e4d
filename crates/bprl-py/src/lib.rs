//! # bprl-py
//!
//! The project's own Rust environments as a Python module, so a Python learner (Stable-Baselines3
//! SAC in `scripts/compare-sb3`) trains on *exactly* the environment bprl trains on: the same
//! dynamics, rewards, start states and evaluation seeds, with no Python port to drift.
//!
//! ## Should I be using this crate?
//!
//! From Rust, no: use [`bprl_envs`] directly. This crate is the Python side: built with maturin
//! (`maturin build --release` in `crates/bprl-py`), it gives the module `bprl_py`:
//!
//! | Python | what |
//! |---|---|
//! | `bprl_py.SuiteEnv(body=..., num_targets=..., radius=..., ...)` | a built-in suite's multi-task environment ([`bprl_envs::SuiteEnv`]) |
//! | `env.reset(seed) -> (obs, info)` | [`bprl_envs::Env::reset`]; `obs` a list of `f32` values (all groups concatenated) |
//! | `env.step(action) -> (obs, reward, terminated, truncated, info)` | [`bprl_envs::Env::step`]; `info["success"]` as the trainer counts it |
//! | `env.observation_size`, `action_size`, `action_low`, `action_high`, `group_names`, `group_ranges` | the specs |
//! | `bprl_py.eval_seed(e)` | [`bprl_agents::trainer::seeds::eval_seed`]: the reset seed of evaluation episode `e` |
//! | `bprl_py.gym.SuiteGymEnv(**kwargs)` | a `gymnasium.Env` over `SuiteEnv` with `Box` spaces (pure Python) |
//!
//! ## Conventions
//!
//! - Observations, rewards and actions are `f32` on the Rust side; Python receives them as
//!   floats that hold the `f32` values exactly (`numpy.float32(x)` gives back the same bits).
//! - `terminated` is [`EpisodeEnd::Terminated`] (the task was completed) or
//!   [`EpisodeEnd::Failed`] (both discount 0), `truncated` is [`EpisodeEnd::Truncated`] (the
//!   time limit); `success` is `Terminated` only, the rule of the trainer's episodes and
//!   evaluations (the suite's tasks never fail, so there `success == terminated`).
//! - Suite settings left out take the defaults of [`SuiteConfig`]; a bad value is a Python
//!   `ValueError` naming the field (from [`BindError`] or [`bprl_envs::EnvError`]).
//!
//! The Python bindings live in one module compiled into the extension; everything they compute
//! beyond a call into the environment is in the plain-Rust functions below, which the unit
//! tests check without an interpreter.

// Every public item is documented: the Python users read these docs through the module's.
#![deny(missing_docs)]

mod python;

use bprl_envs::{BodyKind, EpisodeEnd, SuiteConfig, TaskSplit, TimeStep};
use thiserror::Error;

pub use bprl_agents::trainer::seeds::eval_seed;

/// A bad argument from the Python side, before any environment is built.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BindError {
    /// A `body` that is not `"point_mass"` or `"reacher"`.
    #[error("body must be \"point_mass\" or \"reacher\", got {given:?}")]
    Body {
        /// The name given.
        given: String,
    },
    /// A `split` that is not `"train"` or `"held_out"`.
    #[error("split must be \"train\" or \"held_out\", got {given:?}")]
    Split {
        /// The name given.
        given: String,
    },
}

/// The suite body of a Python name: `"point_mass"` or `"reacher"` (the `[env] body` values of
/// the command line's TOML).
///
/// # Errors
/// [`BindError::Body`] for any other name.
pub fn parse_body(name: &str) -> Result<BodyKind, BindError> {
    match name {
        "point_mass" => Ok(BodyKind::PointMass),
        "reacher" => Ok(BodyKind::Reacher),
        other => Err(BindError::Body {
            given: other.to_string(),
        }),
    }
}

/// The Python name of a body (inverse of [`parse_body`]).
pub fn body_name(body: BodyKind) -> &'static str {
    match body {
        BodyKind::PointMass => "point_mass",
        BodyKind::Reacher => "reacher",
    }
}

/// The task split of a Python name: `"train"` (multi-task training, what `bprl train` and its
/// evaluation use) or `"held_out"` (the transfer tasks).
///
/// # Errors
/// [`BindError::Split`] for any other name.
pub fn parse_split(name: &str) -> Result<TaskSplit, BindError> {
    match name {
        "train" => Ok(TaskSplit::Train),
        "held_out" => Ok(TaskSplit::HeldOut),
        other => Err(BindError::Split {
            given: other.to_string(),
        }),
    }
}

/// The suite settings the Python constructor takes, each optional: `None` keeps the default of
/// [`SuiteConfig`] (and its [`bprl_envs::TargetsConfig`]). Field names are those of the TOML's
/// `[env]` and `[env.targets]` sections.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SuiteOptions {
    /// `"point_mass"` or `"reacher"`.
    pub body: Option<String>,
    /// Number of targets `K`.
    pub num_targets: Option<usize>,
    /// Arrival distance.
    pub radius: Option<f32>,
    /// Reward on arriving at the next target.
    pub arrival_reward: Option<f32>,
    /// Extra reward when the task is complete.
    pub completion_bonus: Option<f32>,
    /// Potential-based shaping weight.
    pub shaping: Option<f32>,
    /// Time limit in steps.
    pub max_steps: Option<usize>,
    /// Minimum distance between targets of a random layout.
    pub min_separation: Option<f32>,
}

impl SuiteOptions {
    /// The suite configuration: the given fields over the defaults. Value ranges are checked
    /// when the environment is built ([`bprl_envs::EnvError::Config`]).
    ///
    /// # Errors
    /// [`BindError::Body`].
    pub fn to_config(&self) -> Result<SuiteConfig, BindError> {
        let mut c = SuiteConfig::default();
        if let Some(b) = &self.body {
            c.body = parse_body(b)?;
        }
        let t = &mut c.targets;
        t.num_targets = self.num_targets.unwrap_or(t.num_targets);
        t.radius = self.radius.unwrap_or(t.radius);
        t.arrival_reward = self.arrival_reward.unwrap_or(t.arrival_reward);
        t.completion_bonus = self.completion_bonus.unwrap_or(t.completion_bonus);
        t.shaping = self.shaping.unwrap_or(t.shaping);
        t.max_steps = self.max_steps.unwrap_or(t.max_steps);
        t.min_separation = self.min_separation.unwrap_or(t.min_separation);
        Ok(c)
    }
}

/// Gymnasium's view of a time step: `(terminated, truncated, success)`.
///
/// `terminated` for [`EpisodeEnd::Terminated`] and [`EpisodeEnd::Failed`] (discount 0),
/// `truncated` for [`EpisodeEnd::Truncated`], both false inside an episode; `success` only for
/// `Terminated`, as the trainer's `run_episode` counts it.
pub fn episode_flags(ts: &TimeStep) -> (bool, bool, bool) {
    let terminated = ts.end.is_some_and(EpisodeEnd::is_terminal);
    let truncated = ts.end == Some(EpisodeEnd::Truncated);
    (
        terminated,
        truncated,
        ts.end.is_some_and(EpisodeEnd::is_success),
    )
}

/// The observation groups as `(name, start, end)` ranges of the flat observation (the groups
/// concatenated in spec order, as [`TimeStep::flat_observation`]).
pub fn group_ranges(spec: &[(String, usize)]) -> Vec<(String, usize, usize)> {
    let mut start = 0;
    spec.iter()
        .map(|(name, len)| {
            let range = (name.clone(), start, start + len);
            start += len;
            range
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bprl_envs::{Env, StepType, Suite, TaskFamily};

    #[test]
    fn body_and_split_names_round_trip_and_bad_names_are_typed_errors() {
        for body in [BodyKind::PointMass, BodyKind::Reacher] {
            assert_eq!(parse_body(body_name(body)), Ok(body));
        }
        assert_eq!(
            parse_body("ant"),
            Err(BindError::Body {
                given: "ant".into()
            })
        );
        assert_eq!(parse_split("train"), Ok(TaskSplit::Train));
        assert_eq!(parse_split("held_out"), Ok(TaskSplit::HeldOut));
        assert!(matches!(parse_split("test"), Err(BindError::Split { .. })));
    }

    #[test]
    fn options_left_out_keep_the_defaults_and_given_ones_override() {
        assert_eq!(
            SuiteOptions::default().to_config(),
            Ok(SuiteConfig::default())
        );
        // The demo's `[env]` section (examples/src/demo.rs `base_config`).
        let c = SuiteOptions {
            body: Some("reacher".into()),
            num_targets: Some(3),
            radius: Some(0.2),
            shaping: Some(1.0),
            max_steps: Some(80),
            ..SuiteOptions::default()
        }
        .to_config()
        .unwrap();
        assert_eq!(c.body, BodyKind::Reacher);
        assert_eq!(c.targets.radius, 0.2);
        assert_eq!(c.targets.shaping, 1.0);
        assert_eq!(c.targets.max_steps, 80);
        let d = bprl_envs::TargetsConfig::default();
        assert_eq!(c.targets.min_separation, d.min_separation);
        assert_eq!(c.targets.arrival_reward, d.arrival_reward);
    }

    #[test]
    fn group_ranges_tile_the_flat_observation() {
        let env = Suite::point_mass_default()
            .make_env(TaskSplit::Train)
            .unwrap();
        let ranges = group_ranges(env.observation_spec());
        let names: Vec<&str> = ranges.iter().map(|r| r.0.as_str()).collect();
        assert_eq!(names, ["proprio", "targets", "goal"]);
        assert_eq!(ranges[0].1, 0);
        for w in ranges.windows(2) {
            assert_eq!(w[0].2, w[1].1);
        }
        let total: usize = env.observation_spec().iter().map(|g| g.1).sum();
        assert_eq!(ranges.last().unwrap().2, total);
    }

    #[test]
    fn flags_follow_the_episode_end_and_success_is_termination() {
        let mut ts = TimeStep {
            step_type: StepType::Mid,
            observation: vec![],
            reward: 0.0,
            discount: 1.0,
            end: None,
        };
        assert_eq!(episode_flags(&ts), (false, false, false));
        ts.end = Some(EpisodeEnd::Truncated);
        assert_eq!(episode_flags(&ts), (false, true, false));
        ts.end = Some(EpisodeEnd::Terminated);
        assert_eq!(episode_flags(&ts), (true, false, true));
        ts.end = Some(EpisodeEnd::Failed);
        assert_eq!(episode_flags(&ts), (true, false, false));
    }

    #[test]
    fn the_100_evaluation_seeds_are_distinct() {
        // `eval_seed` is the trainer's own function (re-exported), so the Python evaluation
        // starts where `bprl eval` does; the 100 start states must be 100 different episodes.
        let mut seeds: Vec<u64> = (0..100).map(eval_seed).collect();
        seeds.sort_unstable();
        seeds.dedup();
        assert_eq!(seeds.len(), 100);
    }
}
