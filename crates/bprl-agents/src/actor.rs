//! Actors: the behavior policy is the current policy; each action's log-probability is stored
//! for Retrace's importance ratios.

use crate::error::Result;
use crate::learner::ActionBox;
use bprl_distributions::DiagGaussian;
use bprl_policy::{GaussianPolicy, HierarchicalPolicy, LatentHold};
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

/// An action drawn from a Gaussian (greedy: its mean), squashed onto `squash`'s box when
/// given, with its log-probability: `log N(u) - sum_i log |da_i/du_i|` for `a = squash(u)`.
fn draw_action<R: Rng + ?Sized>(
    dist: &DiagGaussian<f32>,
    squash: Option<ActionBox>,
    greedy: bool,
    rng: &mut R,
) -> Result<(Vec<f32>, f32)> {
    let (u, lp) = draw(dist, greedy, rng)?;
    Ok(match squash {
        None => (u, lp),
        Some(b) => (
            u.iter().map(|&x| b.squash(x)).collect(),
            lp - u.iter().map(|&x| b.log_det(x)).sum::<f32>(),
        ),
    })
}

/// Acts with a flat policy on one observation row (greedy: the mean action), squashing onto
/// the action box when `squash` is given.
///
/// # Errors
/// An observation of the wrong width or non-finite.
pub fn act_flat<R: Rng + ?Sized>(
    policy: &GaussianPolicy<f32>,
    squash: Option<ActionBox>,
    obs: &[f32],
    greedy: bool,
    rng: &mut R,
) -> Result<Action> {
    let x = Array2::from_shape_vec((1, obs.len()), obs.to_vec())
        .map_err(|e| crate::AgentError::Shape(e.to_string()))?;
    let dist = policy.forward(x.view(), None)?.dist;
    let (action, log_prob) = draw_action(&dist, squash, greedy, rng)?;
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
    /// `log pi^H(z|x) + log pi^L(a|z, x)` at the current `x` (the low level's squashed onto
    /// the action box when `squash` is given).
    ///
    /// # Errors
    /// An observation of the wrong width or non-finite.
    pub fn act<R: Rng + ?Sized>(
        &mut self,
        policy: &HierarchicalPolicy<f32>,
        squash: Option<ActionBox>,
        obs: &[f32],
        episode_start: bool,
        greedy: bool,
        rng: &mut R,
    ) -> Result<Action> {
        let x = Array2::from_shape_vec((1, obs.len()), obs.to_vec())
            .map_err(|e| crate::AgentError::Shape(e.to_string()))?;
        let high = policy.high.forward(x.view(), None)?.dist;
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
        let low = policy.low.forward(x.view(), Some(z.view()))?.dist;
        let (action, lp_low) = draw_action(&low, squash, greedy, rng)?;
        let lp_high = high.log_prob(z.view())?[0];
        Ok(Action {
            action,
            log_prob: lp_low + lp_high,
            latent: Some(z.row(0).to_vec()),
        })
    }
}
