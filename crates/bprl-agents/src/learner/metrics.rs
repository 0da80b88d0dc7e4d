//! What one learner update reports, and the guard rail on non-finite losses.

use crate::error::{AgentError, Result};
use serde::{Deserialize, Serialize};

/// Per-update diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Metrics {
    /// `1/2 mean (Q^ret - Q)^2` over valid transitions.
    pub critic_loss: f64,
    /// The policy loss.
    pub policy_loss: f64,
    /// `mean KL(sg(pi) || pi0)` (0 without a learned prior).
    pub prior_loss: f64,
    /// `mean KL(pi || pi0')` used in the policy loss.
    pub kl: f64,
    /// Mean `Q(x_t, a_t)`.
    pub q: f64,
    /// Mean entropy of `pi` (analytic; with a squashed policy, of the squashed actions,
    /// estimated from the policy loss's samples).
    pub entropy: f64,
    /// Mean Retrace target.
    pub target: f64,
    /// Mean standard deviation of the policy's (pre-squash) action Gaussian.
    #[serde(default)]
    pub std: f64,
    /// The KL weight `alpha` this update used.
    #[serde(default)]
    pub alpha: f64,
    /// The entropy weight `beta` this update used.
    #[serde(default)]
    pub beta: f64,
}

impl Metrics {
    /// Every field, in declaration order, with its name.
    fn fields_mut(&mut self) -> [&mut f64; 10] {
        [
            &mut self.critic_loss,
            &mut self.policy_loss,
            &mut self.prior_loss,
            &mut self.kl,
            &mut self.q,
            &mut self.entropy,
            &mut self.target,
            &mut self.std,
            &mut self.alpha,
            &mut self.beta,
        ]
    }

    /// Adds another update's metrics field by field (for means over an episode's updates).
    pub fn accumulate(&mut self, other: &Metrics) {
        let mut other = *other;
        for (a, b) in self.fields_mut().into_iter().zip(other.fields_mut()) {
            *a += *b;
        }
    }

    /// The mean of `n` accumulated updates (unchanged when `n = 0`).
    pub fn mean_of(mut self, n: u32) -> Metrics {
        if n > 0 {
            let k = f64::from(n);
            for a in self.fields_mut() {
                *a /= k;
            }
        }
        self
    }

    /// The guard rail: a NaN or infinite loss stops the update before any parameter changes.
    ///
    /// # Errors
    /// [`AgentError::NonFinite`] naming the loss and the learner step.
    pub fn check_losses(&self, step: u64) -> Result<()> {
        for (what, v) in [
            ("critic loss", self.critic_loss),
            ("policy loss", self.policy_loss),
            ("prior loss", self.prior_loss),
        ] {
            if !v.is_finite() {
                return Err(AgentError::NonFinite {
                    what: what.into(),
                    step,
                });
            }
        }
        Ok(())
    }
}

/// The learner seen at a set of states: what a run reports at every evaluation so that a
/// critic that overestimates, or a std that blows up, shows.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Diagnostics {
    /// Mean `min_k Q_k(x, a)` of the online critics at the states and greedy actions.
    pub q: f64,
    /// Mean entropy of the policy's Gaussian (pre-squash; both levels for Algorithm 2).
    pub entropy: f64,
    /// Mean std of the policy's action Gaussian.
    pub std: f64,
    /// Mean `KL(pi || pi0)` to the prior (the latent level's for Algorithm 2; 0 without a
    /// prior).
    pub kl: f64,
    /// The KL weight `alpha`.
    pub alpha: f64,
    /// The entropy weight `beta`.
    pub beta: f64,
}
