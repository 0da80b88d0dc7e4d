//! What both learners share around their losses: the three Adam optimizers and the guard rail
//! on non-finite losses.

use crate::config::LearnerConfig;
use crate::error::{AgentError, Result};
use crate::flat::Metrics;
use bprl_nn::{Adam, AdamConfig, Parameters};
use bprl_policy::Float;
use serde::{Deserialize, Serialize};

/// One Adam optimizer per network (policy, critic, and the prior when it is learned), with the
/// learning rates and clipping of the configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound = "F: Float")]
pub struct Optimizers<F> {
    policy: Adam<F>,
    critic: Adam<F>,
    prior: Option<Adam<F>>,
}

impl<F: Float> Optimizers<F> {
    /// Fresh optimizers for networks of the given parameter counts.
    ///
    /// # Errors
    /// An invalid learning rate or clipping norm.
    pub fn new(
        cfg: &LearnerConfig,
        policy: usize,
        critic: usize,
        prior: Option<usize>,
    ) -> Result<Self> {
        let adam = |lr: f64, n: usize| {
            Adam::new(
                AdamConfig {
                    learning_rate: lr,
                    max_grad_norm: cfg.max_grad_norm,
                    ..AdamConfig::default()
                },
                n,
            )
        };
        Ok(Self {
            policy: adam(cfg.policy_lr, policy)?,
            critic: adam(cfg.critic_lr, critic)?,
            prior: prior.map(|n| adam(cfg.prior_lr, n)).transpose()?,
        })
    }

    /// One step for each network from its gradient; the prior only when it is given (learned
    /// and not frozen).
    ///
    /// # Errors
    /// A non-finite gradient or a size mismatch (the parameters are then left unchanged).
    pub fn step<P: Parameters<F>, C: Parameters<F>, Q: Parameters<F>>(
        &mut self,
        policy: (&mut P, &P),
        critic: (&mut C, &C),
        prior: Option<(&mut Q, &Q)>,
    ) -> Result<()> {
        self.policy.step(policy.0, policy.1)?;
        self.critic.step(critic.0, critic.1)?;
        if let (Some((p, g)), Some(o)) = (prior, &mut self.prior) {
            o.step(p, g)?;
        }
        Ok(())
    }
}

/// The guard rail: a NaN or infinite loss stops the update before any parameter changes.
///
/// # Errors
/// [`AgentError::NonFinite`] naming the loss and the learner step.
pub fn check_losses(m: &Metrics, step: u64) -> Result<()> {
    for (what, v) in [
        ("critic loss", m.critic_loss),
        ("policy loss", m.policy_loss),
        ("prior loss", m.prior_loss),
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
