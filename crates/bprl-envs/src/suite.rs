//! Task suites: the training distribution and the held-out transfer tasks.

use crate::body::{PointMass, TwoLinkArm};
use crate::env::EnvError;
use crate::family::{TaskFamily, TaskSplit};
use crate::targets::{MultiTarget, TargetsConfig, Task};
use serde::{Deserialize, Serialize};

/// Which body a suite uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyKind {
    /// [`PointMass`].
    PointMass,
    /// [`TwoLinkArm`].
    Reacher,
}

/// The settings of a built-in suite: the body and the multi-target environment (the `[env]`
/// section of the command line's configuration).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SuiteConfig {
    /// Point mass or reacher (default point mass).
    pub body: BodyKind,
    /// Targets, rewards, time limit.
    pub targets: TargetsConfig,
}

impl Default for SuiteConfig {
    fn default() -> Self {
        Self {
            body: BodyKind::PointMass,
            targets: TargetsConfig::default(),
        }
    }
}

/// A body, a configuration, training tasks and held-out tasks: the built-in [`TaskFamily`].
///
/// Training: "go to target k" for every `k`, drawn uniformly per episode. Held out: "visit
/// target i, then target j" for every ordered pair `i != j`, a combination never trained on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suite {
    /// The body.
    pub body: BodyKind,
    /// Environment settings.
    pub config: TargetsConfig,
    /// Tasks of multi-task training.
    pub train: Vec<Task>,
    /// Tasks for transfer.
    pub held_out: Vec<Task>,
}

/// An environment of either body (so callers can hold one type).
#[derive(Debug, Clone)]
pub enum SuiteEnv {
    /// Point mass.
    PointMass(MultiTarget<PointMass>),
    /// Reacher.
    Reacher(MultiTarget<TwoLinkArm>),
}

impl Suite {
    /// The suite for a body and configuration.
    pub fn new(body: BodyKind, config: TargetsConfig) -> Self {
        let train = Task::go_to_each(config.num_targets);
        let held_out = Task::ordered_pairs(config.num_targets);
        Self {
            body,
            config,
            train,
            held_out,
        }
    }

    /// The suite of a [`SuiteConfig`].
    pub fn from_config(config: &SuiteConfig) -> Self {
        Self::new(config.body, config.targets.clone())
    }

    /// Point mass, 3 targets, sparse rewards, 100 steps.
    pub fn point_mass_default() -> Self {
        Self::new(BodyKind::PointMass, TargetsConfig::default())
    }

    /// Reacher, 3 targets, sparse rewards, 100 steps.
    pub fn reacher_default() -> Self {
        Self::new(BodyKind::Reacher, TargetsConfig::default())
    }

    fn env(&self, tasks: Vec<Task>) -> Result<SuiteEnv, EnvError> {
        Ok(match self.body {
            BodyKind::PointMass => SuiteEnv::PointMass(MultiTarget::new(
                PointMass::default(),
                self.config.clone(),
                tasks,
            )?),
            BodyKind::Reacher => SuiteEnv::Reacher(MultiTarget::new(
                TwoLinkArm::default(),
                self.config.clone(),
                tasks,
            )?),
        })
    }

    /// An environment over the training tasks.
    ///
    /// # Errors
    /// An invalid configuration.
    pub fn train_env(&self) -> Result<SuiteEnv, EnvError> {
        self.env(self.train.clone())
    }

    /// An environment over the held-out tasks.
    ///
    /// # Errors
    /// An invalid configuration.
    pub fn held_out_env(&self) -> Result<SuiteEnv, EnvError> {
        self.env(self.held_out.clone())
    }
}

impl TaskFamily for Suite {
    type Env = SuiteEnv;

    fn make_env(&self, split: TaskSplit) -> Result<SuiteEnv, EnvError> {
        match split {
            TaskSplit::Train => self.train_env(),
            TaskSplit::HeldOut => self.held_out_env(),
        }
    }
}

impl crate::env::Env for SuiteEnv {
    fn observation_spec(&self) -> &[(String, usize)] {
        match self {
            SuiteEnv::PointMass(e) => e.observation_spec(),
            SuiteEnv::Reacher(e) => e.observation_spec(),
        }
    }
    fn action_spec(&self) -> crate::ActionSpec {
        match self {
            SuiteEnv::PointMass(e) => e.action_spec(),
            SuiteEnv::Reacher(e) => e.action_spec(),
        }
    }
    fn reset(&mut self, seed: u64) -> crate::TimeStep {
        match self {
            SuiteEnv::PointMass(e) => e.reset(seed),
            SuiteEnv::Reacher(e) => e.reset(seed),
        }
    }
    fn step(&mut self, action: &[f32]) -> Result<crate::TimeStep, EnvError> {
        match self {
            SuiteEnv::PointMass(e) => e.step(action),
            SuiteEnv::Reacher(e) => e.step(action),
        }
    }
}

impl SuiteEnv {
    /// The effector position (for rendering).
    pub fn effector(&self) -> [f32; 2] {
        use crate::body::Body;
        match self {
            SuiteEnv::PointMass(e) => e.body().effector(),
            SuiteEnv::Reacher(e) => e.body().effector(),
        }
    }

    /// The current target layout.
    pub fn targets(&self) -> &[[f32; 2]] {
        match self {
            SuiteEnv::PointMass(e) => e.targets(),
            SuiteEnv::Reacher(e) => e.targets(),
        }
    }

    /// The current task.
    pub fn task(&self) -> &Task {
        match self {
            SuiteEnv::PointMass(e) => e.task(),
            SuiteEnv::Reacher(e) => e.task(),
        }
    }
}
