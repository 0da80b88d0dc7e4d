//! Multi-task problems: which tasks an environment draws per episode, for training and for
//! transfer.
//!
//! A behavior prior is learned across tasks and then reused on new ones, so a trainer needs
//! two task sets of one environment kind: the training tasks (one drawn per episode) and the
//! held-out tasks (transfer). [`TaskFamily`] is that pair, as a factory of environments: the
//! environment itself decides how it draws its task in `reset(seed)`, so any [`Env`] fits.

use crate::env::{Env, EnvError};
use serde::{Deserialize, Serialize};

/// Which task set of a [`TaskFamily`] an environment draws each episode's task from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskSplit {
    /// The training tasks (multi-task training).
    Train,
    /// The held-out tasks (transfer).
    HeldOut,
}

/// A multi-task problem: makes environments that draw each episode's task from the training
/// or the held-out tasks.
///
/// # Contract
/// - Every environment it makes, of either split, has the same observation spec (group names
///   and widths) and the same action spec: a policy trained on one split runs on the other.
/// - `make_env` is deterministic: two environments of one split reset with the same seed start
///   the same episode.
///
/// # Example
/// A single environment is a family with one task and no held-out set:
/// ```
/// use bprl_envs::{Env, SingleTask, Suite, TaskFamily, TaskSplit};
/// let single = SingleTask(Suite::point_mass_default().train_env()?);
/// let mut env = single.make_env(TaskSplit::Train)?;
/// assert_eq!(env.reset(3).observation.len(), 3);
/// assert!(single.make_env(TaskSplit::HeldOut).is_err());
/// # Ok::<(), bprl_envs::EnvError>(())
/// ```
pub trait TaskFamily {
    /// The environment type.
    type Env: Env;

    /// A fresh environment over the tasks of `split`.
    ///
    /// # Errors
    /// [`EnvError::InvalidTask`] when the family has no tasks of that split, or any error of
    /// building the environment.
    fn make_env(&self, split: TaskSplit) -> Result<Self::Env, EnvError>;
}

/// One environment as a task family: training clones it; it has no held-out tasks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SingleTask<E>(pub E);

impl<E: Env + Clone> TaskFamily for SingleTask<E> {
    type Env = E;

    fn make_env(&self, split: TaskSplit) -> Result<E, EnvError> {
        match split {
            TaskSplit::Train => Ok(self.0.clone()),
            TaskSplit::HeldOut => Err(EnvError::InvalidTask {
                reason: "a single-task family has no held-out tasks".into(),
            }),
        }
    }
}
