//! Algorithm 1: SVG(0) with a flat learned behavior prior, a Retrace critic and target networks.
//!
//! [`Flat`]'s losses read top to bottom like the algorithm box:
//! 1. forward the online and target networks on the batch;
//! 2. the KL-regularized soft value `V = mean_s Q'(x, a_s) - alpha KL(pi || pi0')`, `a_s ~ pi'`;
//! 3. Retrace targets from `Q'(x_t, a_t)`, `V(x_{t+1})` and traces `lambda min(1, pi/mu)`;
//! 4. the critic loss `1/2 (Q^ret - Q(x, a))^2`;
//! 5. the policy loss `-mean_s Q'(x, a_s(theta)) - beta H(pi) + alpha KL(pi || pi0')`;
//! 6. the prior loss `KL(sg(pi) || pi0)` on the prior's parameters only.
//!
//! The update around them (Adam, target copies) is the shared [`LearnerState::update`].

use super::metrics::Metrics;
use super::networks::{FlatNetworks, Gradients, Networks};
use super::targets::{
    Weights, behavior_log_prob, critic_losses, grid, min_q_samples, policy_value, retrace_targets,
    soft_value,
};
use super::update::{Algorithm, LearnerState};
use crate::batch::LearnerBatch;
use crate::config::{LearnerConfig, PriorConfig, RatioPolicy};
use crate::cst;
use crate::error::{AgentError, Result};
use bprl_distributions::DiagGaussian;
use bprl_nn::Parameters;
use bprl_policy::{Float, GaussianPolicy, ObservationSpec};
use ndarray::{Array1, Array2, Array3, ArrayView2, Axis, s};
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

/// Algorithm 1 (a flat policy and prior); it has no settings of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Flat;

/// Algorithm 1's learner state.
pub type FlatLearner<F> = LearnerState<F, Flat>;

/// Gradients of one Algorithm 1 update.
pub type FlatGradients<F> = Gradients<F, FlatNetworks<F>>;

/// The noise one update uses (exposed so tests can recompute the losses directly).
#[derive(Debug, Clone)]
pub struct UpdateNoise<F> {
    /// Noise of the target policy's samples for the soft value, `[S, (T+1) B, A]`.
    pub value: Array3<F>,
    /// Noise of the online policy's samples for the policy loss, `[S, T B, A]`.
    pub policy: Array3<F>,
}

/// The first `n` rows of a distribution (the transitions, without the bootstrap step).
fn rows<F: Float>(d: &DiagGaussian<F>, n: usize) -> Result<DiagGaussian<F>> {
    Ok(DiagGaussian::new(
        d.mean().slice(s![..n, ..]).to_owned(),
        d.std().slice(s![..n, ..]).to_owned(),
    )?)
}

/// What the policy loss reports.
struct PolicyTerms<F: Float> {
    loss: F,
    entropy: F,
    kl: F,
    std: F,
    grad: GaussianPolicy<F>,
}

/// `log N(mu + sigma eps; mu, sigma) = sum_i [-eps_i^2 / 2 - log sigma_i - log(2 pi) / 2]` of
/// samples drawn from their noise, `eps: [S, N, A]`, `sigma: [N, A]`; returns `[S, N]`.
pub(crate) fn gaussian_log_prob_of_noise<F: Float>(
    eps: &Array3<F>,
    sigma: ArrayView2<'_, F>,
) -> Array2<F> {
    let half = cst::<F>(0.5);
    let c = cst::<F>(0.5 * (2.0 * std::f64::consts::PI).ln());
    let log_sigma = sigma.mapv(|s| s.ln() + c);
    let mut out = eps.mapv(|e| -half * e * e);
    out -= &log_sigma.insert_axis(Axis(0));
    out.sum_axis(Axis(2))
}

/// What steps 1-3 leave for the losses: the online policy on every row, the target prior, and
/// the Retrace targets.
struct Forward<F: Float> {
    policy: DiagGaussian<F>,
    target_prior: Option<DiagGaussian<F>>,
    q_ret: Array2<F>,
}

impl<F: Float> FlatLearner<F> {
    /// A learner with fresh networks (targets equal to the online networks).
    ///
    /// # Errors
    /// Bad sizes or a prior naming a missing group.
    pub fn new(
        spec: &ObservationSpec,
        action_dim: usize,
        config: LearnerConfig,
        prior_kind: PriorConfig,
        seed: u64,
    ) -> Result<Self> {
        Self::with_algorithm(Flat, spec, action_dim, config, prior_kind, seed)
    }

    /// The Retrace critic targets `Q^ret`, `[T, B]`, for given noise (steps 1-3 of the update).
    ///
    /// # Errors
    /// Shape errors from the networks.
    pub fn critic_targets(
        &self,
        batch: &LearnerBatch<F>,
        noise: &UpdateNoise<F>,
    ) -> Result<Array2<F>> {
        Ok(self
            .forward_targets(batch, noise, &Weights::of(batch))?
            .q_ret)
    }

    /// The target prior's distribution on `obs` (the fixed `N(0, I)` for that baseline).
    fn target_prior(
        &self,
        obs: ArrayView2<'_, F>,
        action_dim: usize,
    ) -> Result<Option<DiagGaussian<F>>> {
        Ok(match (&self.prior_kind, &self.target.prior) {
            (PriorConfig::None, _) => None,
            (PriorConfig::StandardNormal, _) => {
                Some(DiagGaussian::standard_normal(obs.nrows(), action_dim))
            }
            (PriorConfig::Learned { .. }, Some(p)) => {
                Some(p.dist_batched(&self.tiles, obs, None)?)
            }
            (PriorConfig::Learned { .. }, None) => {
                return Err(AgentError::Shape("learned prior missing".into()));
            }
        })
    }

    /// Steps 1-3: forward passes, the soft value and the Retrace targets.
    fn forward_targets(
        &self,
        batch: &LearnerBatch<F>,
        noise: &UpdateNoise<F>,
        weights: &Weights<F>,
    ) -> Result<Forward<F>> {
        let obs = batch.obs.view();
        let n = batch.steps * batch.batch;
        let a_dim = self.online.policy.output_dim();
        let alpha = self.alpha();
        // 1. Forward passes.
        let pol = self.online.policy.dist_batched(&self.tiles, obs, None)?;
        let pol_target = self.target.policy.dist_batched(&self.tiles, obs, None)?;
        let target_prior = self.target_prior(obs, a_dim)?;
        let kl_all = match &target_prior {
            Some(p) => pol.kl(p)?,
            None => Array1::zeros(obs.nrows()),
        };
        // 2. Soft value V(x) = mean_s [min_k Q'_k(x, a_s) (- beta log pi'(a_s|x))] - alpha KL,
        // a_s ~ pi' (stop-gradient).
        let u = &noise.value * &pol_target.std().insert_axis(Axis(0))
            + pol_target.mean().insert_axis(Axis(0)); // [S, N, A]
        let actions = self.critic_actions(&u);
        let mut q = min_q_samples(
            &self.tiles,
            &self.target_critics(),
            obs,
            actions.view(),
            None,
        )?; // [S, N]
        if self.config.value_entropy {
            let log_pi =
                gaussian_log_prob_of_noise(&noise.value, pol_target.std()) - self.log_det(u.view());
            let beta = self.beta();
            q.zip_mut_with(&log_pi, |q, &lp| *q -= beta * lp);
        }
        let v = soft_value(q, &kl_all, alpha)?;
        // 3. Retrace targets, traces from the ratio policy.
        let ratio_pi = match self.config.ratio_policy {
            RatioPolicy::Target => &pol_target,
            RatioPolicy::Online => &pol,
        };
        let u_taken = self.pre_squash(batch.actions.view());
        let log_pi = ratio_pi.log_prob(u_taken.view())? - self.log_det(u_taken.view());
        let log_rho =
            &grid(log_pi.slice(s![..n]), batch.steps, batch.batch)? - &behavior_log_prob(batch);
        let q_taken = min_q_samples(
            &self.tiles,
            &self.target_critics(),
            batch.head(&batch.obs),
            batch.head(&batch.actions).insert_axis(Axis(0)),
            None,
        )?;
        let q_ret = retrace_targets(
            &self.config,
            batch,
            weights,
            q_taken.row(0),
            log_rho.view(),
            &v,
        )?;
        Ok(Forward {
            policy: pol,
            target_prior,
            q_ret,
        })
    }

    /// Algorithm 1's policy loss, the per-step objective of Eq. 1 with the prior of Eq. 8:
    /// `mean_valid [ -mean_s Q(x, a_s(theta)) - beta H(pi) + alpha KL(pi || pi0') ]`, `a_s =
    /// mu + sigma eps_s` (SVG(0) through the minimum of the policy critics, the target ones in
    /// Acme's setting; the analytic entropy). With a squashed policy `a_s = squash(mu + sigma
    /// eps_s)` and `H` is the squashed actions' entropy `H(u) + mean_s sum_i log |da/du|`.
    /// Returns the loss, the mean entropy, the mean KL, the mean std and the policy's
    /// gradient.
    #[doc(alias = "Eq. 1")]
    #[doc(alias = "Eq. 8")]
    fn policy_loss(
        &self,
        batch: &LearnerBatch<F>,
        fwd: &Forward<F>,
        eps: &Array3<F>,
        w: &Array1<F>,
    ) -> Result<PolicyTerms<F>> {
        let alpha = self.alpha();
        let beta = self.beta();
        let n = batch.steps * batch.batch;
        let head = rows(&fwd.policy, n)?;
        let u = eps * &head.std().insert_axis(Axis(0)) + head.mean().insert_axis(Axis(0)); // [S, n, A]
        let actions = self.critic_actions(&u);
        let s_f = cst::<F>(self.config.action_samples as f64);
        // Input gradient only: the critics are held fixed. dL/dQ_{s,n} = -w_n / S.
        let (q, mut d_u) = policy_value(
            &self.tiles,
            &self.policy_critics(),
            batch.head(&batch.obs),
            actions.view(),
            None,
            &|_, n| -w[n] / s_f,
        )?;
        let q_term = -(&q * &w.view().insert_axis(Axis(0))).sum() / s_f;
        // Entropy bonus -beta H: dH/dsigma = 1/sigma; with the squash, the log-determinant's
        // sample mean and its reparameterized gradient.
        let entropy = head.entropy();
        let mut h_mean = (&entropy * w).sum();
        if self.config.squash {
            let b = self.action_box;
            d_u.zip_mut_with(&u, |d, &x| *d *= b.d_squash(x));
            let ld = self.log_det(u.view()); // [S, n]
            h_mean += (&ld * &w.view().insert_axis(Axis(0))).sum() / s_f;
            let mut d_ld = u.mapv(|x| b.d_log_det(x));
            for ((_, n, _), d) in d_ld.indexed_iter_mut() {
                *d *= -beta * w[n] / s_f;
            }
            d_u += &d_ld;
        }
        // The bootstrap step's rows carry no policy loss: the backward pass covers the first n.
        let mut d_mean = d_u.sum_axis(Axis(0));
        let mut d_std = (&d_u * eps).sum_axis(Axis(0));
        let w_col = w.view().insert_axis(Axis(1));
        let d_h = head.entropy_grad_std() * w_col * (-beta);
        d_std.zip_mut_with(&d_h, |a, b| *a += *b);
        // KL to the target prior.
        let mut kl_mean = F::zero();
        if let Some(p) = &fwd.target_prior {
            let prior_head = rows(p, n)?;
            let kl = head.kl(&prior_head)?;
            kl_mean = (&kl * w).sum();
            let g = head.kl_grad(&prior_head)?;
            d_mean.zip_mut_with(&(&g.d_mean_p * &w_col * alpha), |a, b| *a += *b);
            d_std.zip_mut_with(&(&g.d_std_p * &w_col * alpha), |a, b| *a += *b);
        }
        let loss = q_term - beta * h_mean + alpha * kl_mean;
        let std_mean = (head
            .std()
            .mean_axis(Axis(1))
            .unwrap_or_else(|| Array1::zeros(n))
            * w)
            .sum();
        let mut grad = self.online.policy.zeros_like();
        self.online.policy.backward_batched(
            &self.tiles,
            batch.head(&batch.obs),
            None,
            d_mean.view(),
            d_std.view(),
            &mut grad,
            false,
        )?;
        Ok(PolicyTerms {
            loss,
            entropy: h_mean,
            kl: kl_mean,
            std: std_mean,
            grad,
        })
    }

    /// Algorithm 1's prior distillation `mean_valid KL(sg(pi) || pi0)` and its gradient on the
    /// prior only (the prior's step of Eq. 8).
    #[doc(alias = "Eq. 8")]
    fn prior_loss(
        &self,
        batch: &LearnerBatch<F>,
        pol: &DiagGaussian<F>,
        w: &Array1<F>,
    ) -> Result<(F, Option<GaussianPolicy<F>>)> {
        let Some(prior) = &self.online.prior else {
            return Ok((F::zero(), None));
        };
        let n = batch.steps * batch.batch;
        let obs = batch.head(&batch.obs);
        let pf = prior.dist_batched(&self.tiles, obs, None)?;
        let head = rows(pol, n)?;
        let kl = head.kl(&pf)?;
        let g = head.kl_grad(&pf)?;
        let w_col = w.view().insert_axis(Axis(1));
        let mut grad = prior.zeros_like();
        prior.backward_batched(
            &self.tiles,
            obs,
            None,
            (&g.d_mean_q * &w_col).view(),
            (&g.d_std_q * &w_col).view(),
            &mut grad,
            false,
        )?;
        Ok(((&kl * w).sum(), Some(grad)))
    }
}

impl<F: Float> Algorithm<F> for Flat {
    type Networks = FlatNetworks<F>;
    type Noise = UpdateNoise<F>;

    fn networks(
        &self,
        spec: &ObservationSpec,
        action_dim: usize,
        config: &LearnerConfig,
        prior: &PriorConfig,
        rng: &mut StdRng,
    ) -> Result<FlatNetworks<F>> {
        FlatNetworks::new(spec, action_dim, config, prior, rng)
    }

    fn entropy_dims(learner: &FlatLearner<F>) -> usize {
        learner.online.policy.output_dim()
    }

    fn draw_noise(
        learner: &FlatLearner<F>,
        batch: &LearnerBatch<F>,
        rng: &mut StdRng,
    ) -> UpdateNoise<F> {
        let (s, a) = (
            learner.config.action_samples,
            learner.online.policy.output_dim(),
        );
        let n_all = (batch.steps + 1) * batch.batch;
        let n = batch.steps * batch.batch;
        UpdateNoise {
            value: Array3::from_shape_simple_fn((s, n_all, a), || F::standard_normal(rng)),
            policy: Array3::from_shape_simple_fn((s, n, a), || F::standard_normal(rng)),
        }
    }

    fn losses(
        l: &FlatLearner<F>,
        batch: &LearnerBatch<F>,
        noise: &UpdateNoise<F>,
    ) -> Result<(Metrics, FlatGradients<F>)> {
        let weights = Weights::of(batch);
        // 1-3. Forward passes, soft value, Retrace targets.
        let fwd = l.forward_targets(batch, noise, &weights)?;
        // 4. Critic loss (each critic on the same targets).
        let (critic_loss, q_mean, mut g_critics) = critic_losses(
            &l.tiles,
            &l.online.critics(),
            batch,
            None,
            &fwd.q_ret,
            &weights,
        )?;
        // 5. Policy loss.
        let policy = l.policy_loss(batch, &fwd, &noise.policy, &weights.w)?;
        // 6. Prior loss.
        let (prior_loss, g_prior) = l.prior_loss(batch, &fwd.policy, &weights.w)?;
        let metrics = Metrics {
            critic_loss: critic_loss.as_f64(),
            policy_loss: policy.loss.as_f64(),
            prior_loss: prior_loss.as_f64(),
            kl: policy.kl.as_f64(),
            q: q_mean.as_f64(),
            entropy: policy.entropy.as_f64(),
            target: ((&fwd.q_ret * &weights.valid).sum() / weights.n_valid).as_f64(),
            std: policy.std.as_f64(),
            ..Metrics::default()
        };
        let critic2 = (g_critics.len() > 1).then(|| g_critics.remove(1));
        let grads = Gradients {
            policy: policy.grad,
            critic: g_critics.remove(0),
            critic2,
            prior: g_prior,
        };
        Ok((metrics, grads))
    }
}
