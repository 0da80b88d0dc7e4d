//! What a step holds: the spec (named groups and sizes) and the step itself.

use crate::error::{ConfigError, MAX_GROUP_LEN, MAX_STEP_FLOATS, ReplayError, Result, at_most};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The layout of every step: named observation groups, the action size, and named extras
/// (for example the latent `z` and its log-prob, or a task id), each with its length.
///
/// Groups keep the order given here; items store them concatenated in that order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepSpec {
    observations: Vec<(String, usize)>,
    action_dim: usize,
    extras: Vec<(String, usize)>,
}

impl StepSpec {
    /// Builds a spec.
    ///
    /// # Errors
    /// [`ConfigError::DuplicateGroup`] if a name repeats across observations and extras;
    /// [`ConfigError::TooLarge`] for a group or action longer than [`crate::MAX_GROUP_LEN`]
    /// or a step of more than [`crate::MAX_STEP_FLOATS`] floats.
    pub fn new(
        observations: Vec<(String, usize)>,
        action_dim: usize,
        extras: Vec<(String, usize)>,
    ) -> std::result::Result<Self, ConfigError> {
        let mut seen = std::collections::BTreeSet::new();
        for (name, _) in observations.iter().chain(&extras) {
            if !seen.insert(name.clone()) {
                return Err(ConfigError::DuplicateGroup { name: name.clone() });
            }
        }
        let mut total = 0usize;
        for (_, len) in observations.iter().chain(&extras) {
            at_most("group length", *len, MAX_GROUP_LEN)?;
            total += len;
            at_most("floats per step", total, MAX_STEP_FLOATS)?;
        }
        at_most("action_dim", action_dim, MAX_GROUP_LEN)?;
        at_most("floats per step", total + action_dim, MAX_STEP_FLOATS)?;
        Ok(Self {
            observations,
            action_dim,
            extras,
        })
    }

    /// Re-checks a spec built elsewhere (a decoded snapshot) as [`StepSpec::new`] would.
    pub(crate) fn validate(&self) -> std::result::Result<(), ConfigError> {
        Self::new(
            self.observations.clone(),
            self.action_dim,
            self.extras.clone(),
        )
        .map(|_| ())
    }

    /// The observation groups `(name, length)` in storage order.
    pub fn observations(&self) -> &[(String, usize)] {
        &self.observations
    }

    /// The extras `(name, length)` in storage order.
    pub fn extras(&self) -> &[(String, usize)] {
        &self.extras
    }

    /// The action length.
    pub fn action_dim(&self) -> usize {
        self.action_dim
    }

    /// Total observation floats per step.
    pub fn observation_len(&self) -> usize {
        self.observations.iter().map(|(_, n)| n).sum()
    }

    /// Total extra floats per step.
    pub fn extras_len(&self) -> usize {
        self.extras.iter().map(|(_, n)| n).sum()
    }

    /// Floats stored per step: observations, action, extras, and five scalars (reward,
    /// discount, log-prob, mask, last flag).
    pub fn floats_per_step(&self) -> usize {
        self.observation_len() + self.action_dim + self.extras_len() + 5
    }

    /// Checks a step against the spec and appends its groups, in spec order, to `obs` and
    /// `extras`, and its action (zeros for an empty action on a `Last` step) to `action`.
    pub(crate) fn flatten(
        &self,
        step: &Step,
        obs: &mut Vec<f32>,
        action: &mut Vec<f32>,
        extras: &mut Vec<f32>,
    ) -> Result<()> {
        flatten_groups(&self.observations, &step.observation, obs)?;
        let last_without_action = step.kind == StepKind::Last && step.action.is_empty();
        if last_without_action {
            action.extend(std::iter::repeat_n(0.0, self.action_dim));
        } else {
            check_len("action", self.action_dim, &step.action)?;
            action.extend_from_slice(&step.action);
        }
        if step.kind == StepKind::Last && step.extras.is_empty() {
            extras.extend(std::iter::repeat_n(0.0, self.extras_len()));
        } else {
            flatten_groups(&self.extras, &step.extras, extras)?;
        }
        for (field, v) in [
            ("reward", step.reward),
            ("discount", step.discount),
            ("log_prob", step.log_prob),
        ] {
            if !v.is_finite() {
                return Err(ReplayError::NonFinite {
                    field: field.into(),
                    index: 0,
                    value: v,
                });
            }
        }
        if !(0.0..=1.0).contains(&step.discount) {
            return Err(ReplayError::DiscountOutOfRange {
                value: step.discount,
            });
        }
        Ok(())
    }
}

fn check_len(field: &str, expected: usize, v: &[f32]) -> Result<()> {
    if v.len() != expected {
        return Err(ReplayError::StepShape {
            field: field.into(),
            expected,
            actual: v.len(),
        });
    }
    match v.iter().position(|x| !x.is_finite()) {
        None => Ok(()),
        Some(index) => Err(ReplayError::NonFinite {
            field: field.into(),
            index,
            value: v[index],
        }),
    }
}

fn flatten_groups(
    spec: &[(String, usize)],
    given: &BTreeMap<String, Vec<f32>>,
    out: &mut Vec<f32>,
) -> Result<()> {
    if let Some(name) = given.keys().find(|k| !spec.iter().any(|(n, _)| n == *k)) {
        return Err(ReplayError::UnknownGroup {
            field: name.clone(),
        });
    }
    for (name, len) in spec {
        let v = given.get(name).ok_or_else(|| ReplayError::StepShape {
            field: name.clone(),
            expected: *len,
            actual: 0,
        })?;
        check_len(name, *len, v)?;
        out.extend_from_slice(v);
    }
    Ok(())
}

/// Where a step stands in its episode (dm_env's step types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StepKind {
    /// The first observation of an episode.
    First,
    /// An observation in the middle of an episode.
    Mid,
    /// The final observation of an episode. Its action, reward, discount, log-prob and extras
    /// describe no transition and are stored as zeros (an empty action or extras is allowed).
    Last,
}

/// One step of an actor's stream: the observation `x_t`, the action `a_t` taken there, the
/// reward `r_t` and discount `d_t` of the transition `(x_t, a_t) -> x_{t+1}`, the behavior
/// log-probability `log mu(a_t|x_t)` and extras.
///
/// The discount is the environment's: 0 when the transition terminates the episode, 1 otherwise
/// (also at a time limit, where the final observation still bootstraps).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Observation groups by name (every group of the spec, each with its length).
    pub observation: BTreeMap<String, Vec<f32>>,
    /// The action `a_t`.
    pub action: Vec<f32>,
    /// `r_t`.
    pub reward: f32,
    /// `d_t` in `[0, 1]`.
    pub discount: f32,
    /// `log mu(a_t | x_t)` of the behavior policy.
    pub log_prob: f32,
    /// Extras by name (every extra of the spec).
    pub extras: BTreeMap<String, Vec<f32>>,
    /// First, middle or last step of the episode.
    pub kind: StepKind,
}
