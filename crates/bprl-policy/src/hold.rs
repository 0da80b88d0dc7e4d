//! Latent hold schedules for acting: a latent `z` is kept for `k` steps, then resampled.

use crate::error::{PolicyError, Result};
use serde::{Deserialize, Serialize};

/// Decides when an actor resamples its latent: at every episode start and then every `k`
/// steps (`k = 1` resamples every step).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatentHold {
    k: usize,
    age: usize,
}

impl LatentHold {
    /// A schedule holding each latent for `k >= 1` steps.
    ///
    /// # Errors
    /// [`PolicyError::Config`] for `k = 0`.
    pub fn new(k: usize) -> Result<Self> {
        if k == 0 {
            return Err(PolicyError::Config {
                field: "hold_steps",
                value: 0.0,
                requirement: "must be >= 1",
            });
        }
        Ok(Self { k, age: 0 })
    }

    /// The hold length `k`.
    pub fn hold_steps(&self) -> usize {
        self.k
    }

    /// Call once per step; returns whether to draw a new latent now.
    pub fn should_resample(&mut self, episode_start: bool) -> bool {
        if episode_start || self.age == 0 || self.age >= self.k {
            self.age = 1;
            true
        } else {
            self.age += 1;
            false
        }
    }
}
