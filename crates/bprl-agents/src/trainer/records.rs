//! What a run reports and checkpoints: progress counters, episode and evaluation records.

use crate::learner::Metrics;
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

/// One evaluation (greedy policy, fixed seeds).
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
}
