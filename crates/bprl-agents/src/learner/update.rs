//! The learner skeleton both algorithms share: state, the per-step noise generator, and the
//! update driver.
//!
//! [`LearnerState::update`] is the same box for Algorithm 1 and Algorithm 2:
//! 1. check the batch (NaN or infinity stops the run before anything changes);
//! 2. draw the step's noise from `(seed, step)` ([`step_rng`]);
//! 3. the algorithm's named losses and their gradients ([`Algorithm::losses`]);
//! 4. check the losses; one Adam step per network (the prior unless frozen);
//! 5. a hard copy of every target network every `P` steps.
//!
//! What the algorithms contribute is only the [`Algorithm`] trait: their networks, their noise
//! and their losses (`flat.rs`, `hierarchical.rs`); the soft value, the Retrace targets and the
//! critic loss they both use are in `targets.rs`.

use super::metrics::Metrics;
use super::networks::{Gradients, Networks};
use super::optim::Optimizers;
use crate::batch::LearnerBatch;
use crate::config::{LearnerConfig, PriorConfig};
use crate::error::Result;
use bprl_nn::TileCache;
use bprl_policy::{Float, ObservationSpec};
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
            tiles: TileCache::new(),
        })
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
        let (metrics, grads) = self.losses(batch, &noise)?;
        metrics.check_losses(self.steps)?;
        self.optimizers
            .step(&mut self.online, &grads, self.prior_frozen)?;
        self.steps += 1;
        if self.steps.is_multiple_of(self.config.target_period) {
            self.target.copy_from_networks(&self.online);
        }
        Ok(metrics)
    }

    /// Number of online parameters per network (policy, critic, prior).
    pub fn parameter_counts(&self) -> (usize, usize, usize) {
        self.online.parameter_counts()
    }
}
