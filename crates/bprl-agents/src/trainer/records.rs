//! What a run reports and checkpoints: progress counters, episode and evaluation records.

use crate::learner::{Diagnostics, Metrics};
use serde::{Deserialize, Serialize};

/// Progress counters (part of a checkpoint).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Counters {
    /// Environment steps taken.
    pub env_steps: u64,
    /// Episodes finished.
    pub episodes: u64,
    /// Fractional learner updates owed (synchronous mode).
    pub update_credit: f64,
}

/// One training episode.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EpisodeRecord {
    /// Episode index (1-based).
    pub episode: u64,
    /// Environment steps after it.
    pub env_steps: u64,
    /// Learner steps after it.
    pub learner_steps: u64,
    /// Undiscounted return.
    pub episode_return: f64,
    /// Whether the task was completed (terminated).
    pub success: bool,
    /// Steps in the episode.
    pub length: u64,
    /// Mean learner metrics over the episode's updates.
    pub metrics: Metrics,
}

/// One evaluation (greedy policy, fixed seeds), with the diagnostics of the learner at the
/// evaluation's start states.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EvalRecord {
    /// Episodes of training before it.
    pub episode: u64,
    /// Environment steps of training before it.
    pub env_steps: u64,
    /// Mean return.
    pub mean_return: f64,
    /// Fraction of episodes that completed the task.
    pub success_rate: f64,
    /// Mean discounted return `sum_t gamma^t r_t` of the greedy episodes (what the critic's
    /// estimate at their start states would be for the greedy policy).
    #[serde(default)]
    pub discounted_return: f64,
    /// The learner's diagnostics at the start states.
    #[serde(default)]
    pub start: Diagnostics,
}

/// A policy std above this counts as diverged ([`EvalRecord::divergence`]).
pub const STD_DIVERGED: f64 = 100.0;

impl EvalRecord {
    /// A warning when the run looks diverged: a non-finite or huge policy std (above
    /// [`STD_DIVERGED`]), or a critic whose estimate at the start states is off from the
    /// measured discounted return by more than 10 times `max(1, |return|)`.
    pub fn divergence(&self) -> Option<String> {
        let s = &self.start;
        if !s.std.is_finite() || s.std > STD_DIVERGED {
            return Some(format!(
                "policy std diverged: mean std {:.3e} at the evaluation start states",
                s.std
            ));
        }
        let scale = self.discounted_return.abs().max(1.0);
        if !s.q.is_finite() || (s.q - self.discounted_return).abs() > 10.0 * scale {
            return Some(format!(
                "critic diverged: Q {:.3e} at the evaluation start states vs measured discounted return {:.3e}",
                s.q, self.discounted_return
            ));
        }
        None
    }
}
