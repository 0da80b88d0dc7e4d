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

/// Which held-out tasks a suite transfers to (the `held_out` key of `[env]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeldOutTasks {
    /// "Visit target i, then target j" for every ordered pair (default): the goal group keeps
    /// its training meaning (it marks the next target), only the combination is new.
    #[default]
    OrderedPairs,
    /// "Visit every target in order" ([`Task::tours`]): longer tasks, the goal group marking
    /// the next target; give them a longer `max_steps`.
    Tours,
    /// The goal marks target `i`, the reward is for target `i + 1 mod K`
    /// ([`Task::mismarked`]): the goal group's meaning differs from training.
    Mismarked,
}

impl HeldOutTasks {
    /// The tasks for `k` targets.
    pub fn tasks(self, k: usize) -> Vec<Task> {
        match self {
            HeldOutTasks::OrderedPairs => Task::ordered_pairs(k),
            HeldOutTasks::Tours => Task::tours(k),
            HeldOutTasks::Mismarked => Task::mismarked(k, 1),
        }
    }

    /// The family whose tasks for `k` targets are exactly `tasks`, if any.
    pub fn of(tasks: &[Task], k: usize) -> Option<Self> {
        [
            HeldOutTasks::OrderedPairs,
            HeldOutTasks::Tours,
            HeldOutTasks::Mismarked,
        ]
        .into_iter()
        .find(|f| f.tasks(k) == tasks)
    }
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
    /// The held-out tasks (default ordered pairs).
    pub held_out: HeldOutTasks,
}

impl Default for SuiteConfig {
    fn default() -> Self {
        Self {
            body: BodyKind::PointMass,
            targets: TargetsConfig::default(),
            held_out: HeldOutTasks::OrderedPairs,
        }
    }
}

/// A body, a configuration, training tasks and held-out tasks: the built-in [`TaskFamily`].
///
/// Training: "go to target k" for every `k`, drawn uniformly per episode. Held out: by
/// default "visit target i, then target j" for every ordered pair `i != j`, a combination
/// never trained on; [`HeldOutTasks`] names the other families.
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
    /// The suite for a body and configuration, with the ordered pairs held out.
    pub fn new(body: BodyKind, config: TargetsConfig) -> Self {
        Self::with_held_out(body, config, HeldOutTasks::OrderedPairs)
    }

    /// The suite for a body and configuration with the given held-out tasks.
    pub fn with_held_out(body: BodyKind, config: TargetsConfig, held_out: HeldOutTasks) -> Self {
        let train = Task::go_to_each(config.num_targets);
        let held_out = held_out.tasks(config.num_targets);
        Self {
            body,
            config,
            train,
            held_out,
        }
    }

    /// The suite of a [`SuiteConfig`].
    pub fn from_config(config: &SuiteConfig) -> Self {
        Self::with_held_out(config.body, config.targets.clone(), config.held_out)
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

    /// The position of the target that pays next ([`MultiTarget::current_target`]).
    pub fn current_target(&self) -> [f32; 2] {
        match self {
            SuiteEnv::PointMass(e) => e.current_target(),
            SuiteEnv::Reacher(e) => e.current_target(),
        }
    }

    /// The position of the target the goal group marks ([`MultiTarget::cued_target`]).
    pub fn cued_target(&self) -> [f32; 2] {
        match self {
            SuiteEnv::PointMass(e) => e.cued_target(),
            SuiteEnv::Reacher(e) => e.cued_target(),
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
