//! Actors: the behavior policy is the current policy; each action's log-probability is stored
//! for Retrace's importance ratios.

use crate::error::Result;
use crate::learner::HierNetworks;
use bprl_distributions::DiagGaussian;
use bprl_policy::{GaussianPolicy, LatentHold};
use ndarray::Array2;
use rand::Rng;

/// An action, its behavior log-probability, and the latent used (Algorithm 2).
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    /// The action (unclipped; the environment clips).
    pub action: Vec<f32>,
    /// `log mu(a | x)`.
    pub log_prob: f32,
    /// The latent `z` the low level acted on, if hierarchical.
    pub latent: Option<Vec<f32>>,
}

fn draw<R: Rng + ?Sized>(
    dist: &DiagGaussian<f32>,
    greedy: bool,
    rng: &mut R,
) -> Result<(Vec<f32>, f32)> {
    let a = if greedy {
        dist.mean().to_owned()
    } else {
        dist.rsample(rng).sample
    };
    let lp = dist.log_prob(a.view())?[0];
    Ok((a.row(0).to_vec(), lp))
}

/// Acts with a flat policy on one observation row (greedy: the mean action).
///
/// # Errors
/// An observation of the wrong width or non-finite.
pub fn act_flat<R: Rng + ?Sized>(
    policy: &GaussianPolicy<f32>,
    obs: &[f32],
    greedy: bool,
    rng: &mut R,
) -> Result<Action> {
    let x = Array2::from_shape_vec((1, obs.len()), obs.to_vec())
        .map_err(|e| crate::AgentError::Shape(e.to_string()))?;
    let dist = policy.forward(x.view(), None)?.dist;
    let (action, log_prob) = draw(&dist, greedy, rng)?;
    Ok(Action {
        action,
        log_prob,
        latent: None,
    })
}

/// The acting state of a hierarchical policy: the held latent and its schedule.
#[derive(Debug, Clone)]
pub struct HierActor {
    hold: LatentHold,
    latent: Option<Array2<f32>>,
}

impl HierActor {
    /// A fresh actor holding each latent for `hold_steps` steps.
    ///
    /// # Errors
    /// `hold_steps = 0`.
    pub fn new(hold_steps: usize) -> Result<Self> {
        Ok(Self {
            hold: LatentHold::new(hold_steps)?,
            latent: None,
        })
    }

    /// Acts: resamples `z ~ pi^H(.|x)` at episode starts and every `k` steps, then
    /// `a ~ pi^L(.|z, x)`. The stored log-probability is the acting joint density
    /// `log pi^H(z|x) + log pi^L(a|z, x)` at the current `x`.
    ///
    /// # Errors
    /// An observation of the wrong width or non-finite.
    pub fn act<R: Rng + ?Sized>(
        &mut self,
        nets: &HierNetworks<f32>,
        obs: &[f32],
        episode_start: bool,
        greedy: bool,
        rng: &mut R,
    ) -> Result<Action> {
        let x = Array2::from_shape_vec((1, obs.len()), obs.to_vec())
            .map_err(|e| crate::AgentError::Shape(e.to_string()))?;
        let high = nets.policy.high.forward(x.view(), None)?.dist;
        if self.hold.should_resample(episode_start) || self.latent.is_none() {
            let (z, _) = draw(&high, greedy, rng)?;
            self.latent = Some(
                Array2::from_shape_vec((1, z.len()), z)
                    .map_err(|e| crate::AgentError::Shape(e.to_string()))?,
            );
        }
        let z = self
            .latent
            .clone()
            .unwrap_or_else(|| unreachable!("set above"));
        let low = nets.policy.low.forward(x.view(), Some(z.view()))?.dist;
        let (action, lp_low) = draw(&low, greedy, rng)?;
        let lp_high = high.log_prob(z.view())?[0];
        Ok(Action {
            action,
            log_prob: lp_low + lp_high,
            latent: Some(z.row(0).to_vec()),
        })
    }
}
