//! The multi-task problem of the MuJoCo tasks: training tasks and held-out tasks.

use crate::config::TaskConfig;
use crate::env::GoToTarget;
use bprl_envs::{EnvError, Task, TaskFamily, TaskSplit};
use serde::{Deserialize, Serialize};

/// A walker, settings, training tasks and held-out tasks: the [`TaskFamily`] the trainer
/// takes (and stores in checkpoints: a description, not a live model).
///
/// Training: "go to target k" for every `k`, one drawn per episode. Held out: "visit target
/// i, then target j" for every ordered pair `i != j`, and, with `held_out_grid`, in a larger
/// arena than the training one. Both splits have the same observation and action specs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GoToTargetFamily {
    /// Environment settings of the training tasks.
    pub config: TaskConfig,
    /// Tasks of multi-task training.
    pub train: Vec<Task>,
    /// Tasks for transfer.
    pub held_out: Vec<Task>,
    /// Cells per side of the held-out tasks' arena (`None`: the training arena).
    pub held_out_grid: Option<usize>,
}

impl GoToTargetFamily {
    /// The family of a configuration: go-to tasks for training, ordered pairs held out.
    pub fn new(config: TaskConfig) -> Self {
        let train = Task::go_to_each(config.num_targets);
        let held_out = Task::ordered_pairs(config.num_targets);
        Self {
            config,
            train,
            held_out,
            held_out_grid: None,
        }
    }

    /// The quadruped with box_arrangement's numbers ([`TaskConfig::quadruped`]).
    pub fn quadruped() -> Self {
        Self::new(TaskConfig::quadruped())
    }

    /// The cheap point mass ([`TaskConfig::point_mass`]).
    pub fn point_mass() -> Self {
        Self::new(TaskConfig::point_mass())
    }

    /// The settings of the environments of `split`.
    pub fn split_config(&self, split: TaskSplit) -> TaskConfig {
        match (split, self.held_out_grid) {
            (TaskSplit::HeldOut, Some(grid)) => TaskConfig {
                grid,
                ..self.config.clone()
            },
            _ => self.config.clone(),
        }
    }
}

impl TaskFamily for GoToTargetFamily {
    type Env = GoToTarget;

    fn make_env(&self, split: TaskSplit) -> Result<GoToTarget, EnvError> {
        let tasks = match split {
            TaskSplit::Train => self.train.clone(),
            TaskSplit::HeldOut => self.held_out.clone(),
        };
        if tasks.is_empty() {
            return Err(EnvError::InvalidTask {
                reason: format!("the family has no {split:?} tasks"),
            });
        }
        Ok(GoToTarget::new(self.split_config(split), tasks)?)
    }
}
