//! The learner skeleton both algorithms share: state, the per-step noise generator, and the
//! update driver.
//!
//! [`LearnerState::update`] is the same box for Algorithm 1 and Algorithm 2:
//! 1. check the batch (NaN or infinity stops the run before anything changes);
//! 2. draw the step's noise from `(seed, step)` ([`step_rng`]);
//! 3. the algorithm's named losses and their gradients ([`Algorithm::losses`]);
//! 4. check the losses; one Adam step per network (the prior unless frozen), one dual step
//!    per tuned multiplier;
//! 5. the targets follow: Polyak averaging every step (`tau`), or a hard copy every `P` steps;
//! 6. every `reset_every_updates` steps, fresh policy and critics (SR-SAC's resets).
//!
//! What the algorithms contribute is only the [`Algorithm`] trait: their networks, their noise
//! and their losses (`flat.rs`, `hierarchical.rs`); the soft value, the Retrace targets and the
//! critic loss they both use are in `targets.rs`.

use super::metrics::Metrics;
use super::multipliers::{Multiplier, Multipliers};
use super::networks::{Gradients, Networks};
use super::optim::Optimizers;
use super::squash::ActionBox;
use crate::batch::LearnerBatch;
use crate::config::{CriticChoice, LearnerConfig, PriorConfig};
use crate::cst;
use crate::error::Result;
use bprl_nn::{Parameters, TileCache};
use bprl_policy::{Critic, Float, ObservationSpec};
use ndarray::{Array, ArrayView, Axis};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A deterministic per-step generator: the same `(seed, step)` gives the same noise.
pub fn step_rng(seed: u64, step: u64) -> StdRng {
    StdRng::seed_from_u64(seed ^ step.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17))
}

/// What an algorithm contributes to the shared learner: its networks, the noise of one update,
/// and its losses.
pub trait Algorithm<F: Float>: Sized + Clone + std::fmt::Debug {
    /// The online (and target) networks.
    type Networks: Networks<F> + std::fmt::Debug + Serialize + DeserializeOwned;
    /// The random draws of one update (public so tests can recompute the losses directly).
    type Noise;

    /// Fresh networks for an observation spec and action dimension.
    ///
    /// # Errors
    /// Bad sizes, or a prior naming a group the spec lacks.
    fn networks(
        &self,
        spec: &ObservationSpec,
        action_dim: usize,
        config: &LearnerConfig,
        prior: &PriorConfig,
        rng: &mut StdRng,
    ) -> Result<Self::Networks>;

    /// The noise of one update on `batch`, drawn from the step's generator.
    fn draw_noise(
        learner: &LearnerState<F, Self>,
        batch: &LearnerBatch<F>,
        rng: &mut StdRng,
    ) -> Self::Noise;

    /// The number of sampled dimensions whose entropy the policy loss reports (the target
    /// entropy is per dimension): the action's, and the latent's for Algorithm 2.
    fn entropy_dims(learner: &LearnerState<F, Self>) -> usize;

    /// Every loss and its gradient for given noise; no parameter changes.
    ///
    /// # Errors
    /// Shape errors from the networks.
    fn losses(
        learner: &LearnerState<F, Self>,
        batch: &LearnerBatch<F>,
        noise: &Self::Noise,
    ) -> Result<(Metrics, Gradients<F, Self::Networks>)>;
}

/// A learner's state: online and target networks, three optimizers, the step count and the
/// noise seed. [`crate::FlatLearner`] and [`crate::HierLearner`] are this type for each
/// algorithm.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound(
    serialize = "F: Float, A: Serialize",
    deserialize = "F: Float, A: Deserialize<'de>"
))]
pub struct LearnerState<F: Float, A: Algorithm<F>> {
    /// Hyperparameters.
    pub config: LearnerConfig,
    /// The prior kind.
    pub prior_kind: PriorConfig,
    /// The algorithm and its own settings.
    pub algorithm: A,
    /// Online networks.
    pub online: A::Networks,
    /// Target networks.
    pub target: A::Networks,
    optimizers: Optimizers<F>,
    /// Learner steps taken.
    pub steps: u64,
    /// Seed of the per-step noise.
    pub seed: u64,
    /// Transfer: keep the prior fixed.
    pub prior_frozen: bool,
    /// The weights `alpha` and `beta`, fixed or tuned.
    pub multipliers: Multipliers,
    /// The action box a squashed policy maps onto ([`LearnerConfig::squash`]).
    pub action_box: ActionBox,
    /// The observation spec and action dimension the networks were built for (resets).
    spec: ObservationSpec,
    action_dim: usize,
    /// Scratch tiles of the batched passes, owned here and lent to every pass: not state (not
    /// saved; a clone starts with an empty one).
    #[serde(skip)]
    pub(crate) tiles: TileCache<F>,
}

impl<F: Float, A: Algorithm<F>> LearnerState<F, A> {
    /// A learner with fresh networks (targets equal to the online networks).
    ///
    /// # Errors
    /// Bad sizes, or a prior naming a group the spec lacks.
    pub fn with_algorithm(
        algorithm: A,
        spec: &ObservationSpec,
        action_dim: usize,
        config: LearnerConfig,
        prior_kind: PriorConfig,
        seed: u64,
    ) -> Result<Self> {
        let mut rng = StdRng::seed_from_u64(seed);
        let online = algorithm.networks(spec, action_dim, &config, &prior_kind, &mut rng)?;
        let optimizers = Optimizers::new(&config, &online)?;
        let multipliers = Multipliers {
            alpha: Multiplier::new(f64::from(config.alpha), config.target_kl),
            beta: Multiplier::new(f64::from(config.beta), config.target_entropy),
        };
        Ok(Self {
            optimizers,
            target: online.clone(),
            online,
            config,
            prior_kind,
            algorithm,
            steps: 0,
            seed,
            prior_frozen: false,
            multipliers,
            action_box: ActionBox::default(),
            spec: spec.clone(),
            action_dim,
            tiles: TileCache::new(),
        })
    }

    /// The KL weight `alpha` of the next update, in the learner's scalar: 0 without a prior
    /// (the KL term is dropped).
    pub fn alpha(&self) -> F {
        if self.prior_kind == PriorConfig::None {
            F::zero()
        } else {
            cst(self.multipliers.alpha.value())
        }
    }

    /// The entropy weight `beta` of the next update.
    pub fn beta(&self) -> F {
        cst(self.multipliers.beta.value())
    }

    /// The target critics (one, or the twins).
    pub fn target_critics(&self) -> Vec<&Critic<F>> {
        self.target.critics()
    }

    /// The critics the policy loss climbs ([`LearnerConfig::policy_critic`]).
    pub fn policy_critics(&self) -> Vec<&Critic<F>> {
        match self.config.policy_critic {
            CriticChoice::Online => self.online.critics(),
            CriticChoice::Target => self.target.critics(),
        }
    }

    /// The critic's input for policy samples `u`: `squash(u)` onto the action box for a
    /// squashed policy, `u` itself otherwise.
    pub fn critic_actions<D: ndarray::Dimension>(&self, u: &Array<F, D>) -> Array<F, D> {
        if self.config.squash {
            let b = self.action_box;
            u.mapv(|x| b.squash(x))
        } else {
            u.clone()
        }
    }

    /// The pre-squash Gaussian sample `u` of stored actions (`a` itself when unsquashed).
    pub fn pre_squash<D: ndarray::Dimension>(&self, a: ArrayView<'_, F, D>) -> Array<F, D> {
        if self.config.squash {
            let b = self.action_box;
            a.mapv(|x| b.unsquash(x))
        } else {
            a.to_owned()
        }
    }

    /// `sum_i log |da_i/du_i|` over the last axis (0 when unsquashed): what a squashed
    /// policy's log-probability subtracts from its Gaussian's.
    pub fn log_det<D: ndarray::RemoveAxis>(&self, u: ArrayView<'_, F, D>) -> Array<F, D::Smaller> {
        let last = Axis(u.ndim() - 1);
        if self.config.squash {
            let b = self.action_box;
            u.mapv(|x| b.log_det(x)).sum_axis(last)
        } else {
            Array::zeros(u.raw_dim().remove_axis(last))
        }
    }

    /// Draws the noise of the next update from `(seed, steps)`.
    pub fn next_noise(&self, batch: &LearnerBatch<F>) -> A::Noise {
        A::draw_noise(self, batch, &mut step_rng(self.seed, self.steps))
    }

    /// Every loss and its gradient for given noise (no parameter change).
    ///
    /// # Errors
    /// Shape errors from the networks.
    pub fn losses(
        &self,
        batch: &LearnerBatch<F>,
        noise: &A::Noise,
    ) -> Result<(Metrics, Gradients<F, A::Networks>)> {
        A::losses(self, batch, noise)
    }

    /// One learner step on a batch: losses, gradients, Adam, target copies.
    ///
    /// # Errors
    /// [`crate::AgentError::NonFinite`] when a loss or the batch is not finite (networks
    /// unchanged); shape errors.
    pub fn update(&mut self, batch: &LearnerBatch<F>) -> Result<Metrics> {
        batch.check_finite(self.steps)?;
        let noise = self.next_noise(batch);
        let (mut metrics, grads) = self.losses(batch, &noise)?;
        metrics.check_losses(self.steps)?;
        metrics.alpha = self.alpha().as_f64();
        metrics.beta = self.beta().as_f64();
        self.optimizers
            .step(&mut self.online, &grads, self.prior_frozen)?;
        let dims = A::entropy_dims(self);
        self.multipliers
            .step(metrics.entropy, metrics.kl, dims, self.config.multiplier_lr);
        self.steps += 1;
        match self.config.tau {
            Some(tau) => self.target.polyak_from_networks(&self.online, cst(tau)),
            None if self.steps.is_multiple_of(self.config.target_period) => {
                self.target.copy_from_networks(&self.online);
            }
            None => {}
        }
        if let Some(every) = self.config.reset_every_updates
            && self.steps.is_multiple_of(every)
        {
            self.reset()?;
        }
        Ok(metrics)
    }

    /// SR-SAC's reset (D'Oro et al. 2023): fresh policy and critics (online and target) and
    /// their optimizers, drawn from `(seed, steps)`; the prior, the multipliers and the step
    /// count are kept (and the replay, which the learner does not own).
    ///
    /// # Errors
    /// As [`LearnerState::with_algorithm`].
    pub fn reset(&mut self) -> Result<()> {
        let mut rng = step_rng(self.seed ^ 0x7E5E_7000, self.steps);
        let fresh = self.algorithm.networks(
            &self.spec,
            self.action_dim,
            &self.config,
            &self.prior_kind,
            &mut rng,
        )?;
        for nets in [&mut self.online, &mut self.target] {
            nets.policy_mut().copy_from(fresh.policy());
            nets.critic_mut().copy_from(fresh.critic());
            if let (Some(a), Some(b)) = (nets.critic2_mut(), fresh.critic2()) {
                a.copy_from(b);
            }
        }
        self.optimizers
            .reset_policy_and_critics(&self.config, &self.online)
    }

    /// Every online parameter array's dotted name and shape.
    pub fn parameter_shapes(&self) -> Vec<(String, Vec<usize>)> {
        self.online.parameter_shapes()
    }

    /// Number of online parameters per network (policy, critic, prior).
    pub fn parameter_counts(&self) -> (usize, usize, usize) {
        self.online.parameter_counts()
    }
}
