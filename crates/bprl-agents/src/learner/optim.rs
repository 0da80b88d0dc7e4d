//! The three Adam optimizers both learners share.

use super::networks::{Gradients, Networks};
use crate::config::LearnerConfig;
use crate::error::Result;
use bprl_nn::{Adam, AdamConfig, Parameters};
use bprl_policy::Float;
use serde::{Deserialize, Serialize};

/// One Adam optimizer per network (policy, critic, the twin critic and the prior when they
/// exist), with the learning rates and clipping of the configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound = "F: Float")]
pub struct Optimizers<F> {
    policy: Adam<F>,
    critic: Adam<F>,
    #[serde(default)]
    critic2: Option<Adam<F>>,
    prior: Option<Adam<F>>,
}

impl<F: Float> Optimizers<F> {
    /// Fresh optimizers for the networks' parameter counts.
    ///
    /// # Errors
    /// An invalid learning rate or clipping norm.
    pub fn new<N: Networks<F>>(cfg: &LearnerConfig, networks: &N) -> Result<Self> {
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
        let policy = networks.policy().num_params();
        Ok(Self {
            policy: adam(cfg.policy_lr, policy)?,
            critic: adam(cfg.critic_lr, networks.critic().num_params())?,
            critic2: networks
                .critic2()
                .map(|c| adam(cfg.critic_lr, c.num_params()))
                .transpose()?,
            prior: networks
                .prior()
                .map(|p| adam(cfg.prior_lr, bprl_nn::Parameters::num_params(p)))
                .transpose()?,
        })
    }

    /// One step for each network from its gradient; the prior only when it is learned and not
    /// `frozen` (transfer).
    ///
    /// # Errors
    /// A non-finite gradient or a size mismatch (the parameters are then left unchanged).
    pub fn step<N: Networks<F>>(
        &mut self,
        online: &mut N,
        grads: &Gradients<F, N>,
        frozen_prior: bool,
    ) -> Result<()> {
        self.policy.step(online.policy_mut(), &grads.policy)?;
        self.critic.step(online.critic_mut(), &grads.critic)?;
        if let (Some(c), Some(g), Some(o)) =
            (online.critic2_mut(), &grads.critic2, &mut self.critic2)
        {
            o.step(c, g)?;
        }
        if let (Some(p), Some(g), Some(o), false) = (
            online.prior_mut(),
            &grads.prior,
            &mut self.prior,
            frozen_prior,
        ) {
            o.step(p, g)?;
        }
        Ok(())
    }

    /// Fresh optimizers for the policy and the critics (a reset), the prior's kept.
    ///
    /// # Errors
    /// As [`Optimizers::new`].
    pub fn reset_policy_and_critics<N: Networks<F>>(
        &mut self,
        cfg: &LearnerConfig,
        networks: &N,
    ) -> Result<()> {
        let fresh = Self::new(cfg, networks)?;
        self.policy = fresh.policy;
        self.critic = fresh.critic;
        self.critic2 = fresh.critic2;
        Ok(())
    }
}
