//! Algorithm 1: SVG(0) with a flat learned behavior prior, a Retrace critic and target networks.
//!
//! One [`FlatLearner::update`] reads top to bottom like the algorithm box:
//! 1. forward the online and target networks on the batch;
//! 2. the KL-regularized soft value `V = mean_s Q'(x, a_s) - alpha KL(pi || pi0')`, `a_s ~ pi'`;
//! 3. Retrace targets from `Q'(x_t, a_t)`, `V(x_{t+1})` and traces `lambda min(1, pi/mu)`;
//! 4. the critic loss `1/2 (Q^ret - Q(x, a))^2`;
//! 5. the policy loss `-mean_s Q'(x, a_s(theta)) - beta H(pi) + alpha KL(pi || pi0')`;
//! 6. the prior loss `KL(sg(pi) || pi0)` on the prior's parameters only;
//! 7. one Adam step per network, and a hard target copy every `P` steps.

use crate::batch::LearnerBatch;
use crate::config::{LearnerConfig, PriorConfig, RatioPolicy};
use crate::cst;
use crate::error::{AgentError, Result};
use crate::optim::{Optimizers, check_losses};
use bprl_distributions::DiagGaussian;
use bprl_nn::Parameters;
use bprl_policy::{
    Critic, CriticConfig, Float, GaussianPolicy, GaussianPolicyConfig, ObservationSpec,
};
use bprl_retrace::{Lambda, Sequence, Trace, general_off_policy_returns, trace_coefficients};
use ndarray::{Array1, Array2, Array3, ArrayView2, Axis, s};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

/// The online (or target) networks of Algorithm 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound = "F: Float")]
pub struct FlatNetworks<F> {
    /// `pi(a | x)`, sees every group.
    pub policy: GaussianPolicy<F>,
    /// `Q(x, a)`, sees every group.
    pub critic: Critic<F>,
    /// `pi0(a | x^D)` for a learned prior.
    pub prior: Option<GaussianPolicy<F>>,
}

impl<F: Float> FlatNetworks<F> {
    /// Fresh networks for an observation spec and action dimension.
    ///
    /// # Errors
    /// A prior view naming a group the spec lacks, or bad sizes.
    pub fn new(
        spec: &ObservationSpec,
        action_dim: usize,
        cfg: &LearnerConfig,
        prior: PriorConfig,
        rng: &mut StdRng,
    ) -> Result<Self> {
        let pcfg = GaussianPolicyConfig {
            hidden: cfg.policy_hidden.clone(),
            output_dim: action_dim,
            extra_input_dim: 0,
            min_scale: cfg.min_scale,
        };
        let ccfg = CriticConfig {
            hidden: cfg.critic_hidden.clone(),
            action_dim,
            latent_dim: 0,
            output_init_std: 1e-4,
        };
        let prior = match prior {
            PriorConfig::Learned { view } => Some(GaussianPolicy::new(
                spec.select(view.groups())?,
                &pcfg,
                rng,
            )?),
            _ => None,
        };
        Ok(Self {
            policy: GaussianPolicy::new(spec.select_all(), &pcfg, rng)?,
            critic: Critic::new(spec.select_all(), &ccfg, rng)?,
            prior,
        })
    }
}

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
    /// Mean analytic entropy of `pi`.
    pub entropy: f64,
    /// Mean Retrace target.
    pub target: f64,
}

/// The noise one update uses (exposed so tests can recompute the losses directly).
#[derive(Debug, Clone)]
pub struct UpdateNoise<F> {
    /// Noise of the target policy's samples for the soft value, `[S, (T+1) B, A]`.
    pub value: Array3<F>,
    /// Noise of the online policy's samples for the policy loss, `[S, T B, A]`.
    pub policy: Array3<F>,
}

/// Gradients of one update, each the type of its network.
#[derive(Debug, Clone)]
pub struct FlatGradients<F> {
    /// Policy gradient.
    pub policy: GaussianPolicy<F>,
    /// Critic gradient.
    pub critic: Critic<F>,
    /// Prior gradient (learned prior only).
    pub prior: Option<GaussianPolicy<F>>,
}

/// Algorithm 1's learner state: online and target networks, three optimizers, the step count.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound = "F: Float")]
pub struct FlatLearner<F> {
    /// Hyperparameters.
    pub config: LearnerConfig,
    /// The prior kind.
    pub prior_kind: PriorConfig,
    /// Online networks.
    pub online: FlatNetworks<F>,
    /// Target networks.
    pub target: FlatNetworks<F>,
    optimizers: Optimizers<F>,
    /// Learner steps taken.
    pub steps: u64,
    /// Seed of the per-step noise.
    pub seed: u64,
    /// Transfer: keep the prior fixed.
    pub prior_frozen: bool,
    /// Scratch tiles of the batched passes: not state (not saved; a clone gets an empty one).
    #[serde(skip)]
    tiles: bprl_nn::TileCache<F>,
}

/// A `[rows, k]` copy repeated `times` times along rows.
pub(crate) fn repeat_rows<F: Float>(a: ArrayView2<'_, F>, times: usize) -> Array2<F> {
    let views: Vec<_> = (0..times).map(|_| a).collect();
    ndarray::concatenate(Axis(0), &views).unwrap_or_else(|_| unreachable!("same widths"))
}

fn rows<F: Float>(d: &DiagGaussian<F>, n: usize) -> Result<DiagGaussian<F>> {
    Ok(DiagGaussian::new(
        d.mean().slice(s![..n, ..]).to_owned(),
        d.std().slice(s![..n, ..]).to_owned(),
    )?)
}

/// A deterministic per-step generator: the same `(seed, step)` gives the same noise.
pub fn step_rng(seed: u64, step: u64) -> StdRng {
    StdRng::seed_from_u64(seed ^ step.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17))
}

impl<F: Float> FlatLearner<F> {
    /// A learner with fresh networks (targets equal to the online networks).
    ///
    /// # Errors
    /// Bad sizes or a prior view naming a missing group.
    pub fn new(
        spec: &ObservationSpec,
        action_dim: usize,
        config: LearnerConfig,
        prior_kind: PriorConfig,
        seed: u64,
    ) -> Result<Self> {
        let mut rng = StdRng::seed_from_u64(seed);
        let online = FlatNetworks::new(spec, action_dim, &config, prior_kind, &mut rng)?;
        let optimizers = Optimizers::new(
            &config,
            online.policy.num_params(),
            online.critic.num_params(),
            online.prior.as_ref().map(|p| p.num_params()),
        )?;
        Ok(Self {
            optimizers,
            target: online.clone(),
            online,
            config,
            prior_kind,
            steps: 0,
            seed,
            prior_frozen: false,
            tiles: bprl_nn::TileCache::new(),
        })
    }

    /// Draws the noise of the next update from `(seed, steps)`.
    pub fn next_noise(&self, batch: &LearnerBatch<F>) -> UpdateNoise<F> {
        let mut rng = step_rng(self.seed, self.steps);
        let (s, a) = (self.config.action_samples, self.online.policy.output_dim());
        let n_all = (batch.steps + 1) * batch.batch;
        let n = batch.steps * batch.batch;
        UpdateNoise {
            value: Array3::from_shape_simple_fn((s, n_all, a), || F::standard_normal(&mut rng)),
            policy: Array3::from_shape_simple_fn((s, n, a), || F::standard_normal(&mut rng)),
        }
    }

    /// One learner step on a batch: losses, gradients, Adam, target copies.
    ///
    /// # Errors
    /// [`AgentError::NonFinite`] when a loss or the batch is not finite (networks unchanged);
    /// shape errors.
    pub fn update(&mut self, batch: &LearnerBatch<F>) -> Result<Metrics> {
        batch.check_finite(self.steps)?;
        let noise = self.next_noise(batch);
        let (metrics, grads) = self.losses(batch, &noise)?;
        check_losses(&metrics, self.steps)?;
        let prior = match (&mut self.online.prior, &grads.prior, self.prior_frozen) {
            (Some(p), Some(g), false) => Some((p, g)),
            _ => None,
        };
        self.optimizers.step(
            (&mut self.online.policy, &grads.policy),
            (&mut self.online.critic, &grads.critic),
            prior,
        )?;
        self.steps += 1;
        if self.steps.is_multiple_of(self.config.target_period) {
            self.target.copy_from_networks(&self.online);
        }
        Ok(metrics)
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

    /// All three losses and their gradients for given noise (no parameter change).
    ///
    /// # Errors
    /// Shape errors from the networks.
    pub fn losses(
        &self,
        batch: &LearnerBatch<F>,
        noise: &UpdateNoise<F>,
    ) -> Result<(Metrics, FlatGradients<F>)> {
        let cfg = &self.config;
        let s_count = cfg.action_samples;
        let alpha = if self.prior_kind == PriorConfig::None {
            F::zero()
        } else {
            cst::<F>(f64::from(cfg.alpha))
        };
        let beta = cst::<F>(f64::from(cfg.beta));
        let valid = batch.valid(); // [T, B]
        let n_valid = valid.sum().max(F::one());

        // 1-3. Forward passes, soft value, Retrace targets.
        let (pol, prior_target, q_ret) = self.forward_targets(batch, noise)?;

        // 4. Critic loss.
        let (critic_loss, q_mean, g_critic) = self.critic_loss(batch, &q_ret, &valid, n_valid)?;

        // 5. Policy loss.
        let w = valid
            .iter()
            .copied()
            .collect::<Array1<F>>()
            .mapv(|v| v / n_valid); // [n] row weights
        let (policy_loss, entropy, kl_mean, g_policy) = self.policy_loss(
            batch,
            &pol,
            prior_target.as_ref(),
            &noise.policy,
            &w,
            alpha,
            beta,
            s_count,
        )?;

        // 6. Prior loss.
        let (prior_loss, g_prior) = self.prior_loss(batch, &pol, &w)?;

        let metrics = Metrics {
            critic_loss: critic_loss.as_f64(),
            policy_loss: policy_loss.as_f64(),
            prior_loss: prior_loss.as_f64(),
            kl: kl_mean.as_f64(),
            q: q_mean.as_f64(),
            entropy: entropy.as_f64(),
            target: ((&q_ret * &valid).sum() / n_valid).as_f64(),
        };
        Ok((
            metrics,
            FlatGradients {
                policy: g_policy,
                critic: g_critic,
                prior: g_prior,
            },
        ))
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
        Ok(self.forward_targets(batch, noise)?.2)
    }

    /// Steps 1-3: forward passes, the soft value and the Retrace targets.
    #[allow(clippy::type_complexity)]
    fn forward_targets(
        &self,
        batch: &LearnerBatch<F>,
        noise: &UpdateNoise<F>,
    ) -> Result<(DiagGaussian<F>, Option<DiagGaussian<F>>, Array2<F>)> {
        let obs = batch.obs.view();
        let n_all = obs.nrows();
        let a_dim = self.online.policy.output_dim();
        let valid = batch.valid();
        let alpha = if self.prior_kind == PriorConfig::None {
            F::zero()
        } else {
            cst::<F>(f64::from(self.config.alpha))
        };
        // 1. Forward passes.
        let pol = self.online.policy.dist_batched(&self.tiles, obs, None)?;
        let pol_target = self.target.policy.dist_batched(&self.tiles, obs, None)?;
        let prior_target = self.target_prior(obs, a_dim)?;
        let kl_all = match &prior_target {
            Some(p) => pol.kl(p)?,
            None => Array1::zeros(n_all),
        };
        // 2. Soft value V(x) = mean_s Q'(x, a_s) - alpha KL, a_s ~ pi' (stop-gradient).
        let v = self.soft_value(obs, &pol_target, &noise.value, &kl_all, alpha)?;
        // 3. Retrace targets.
        let q_ret = self.retrace_targets(batch, &pol, &pol_target, &v, &valid)?;
        Ok((pol, prior_target, q_ret))
    }

    /// `V_t = mean_s Q'(x_t, a_s) - alpha KL_t` over all `(T+1) B` rows (DESIGN.md section 3).
    fn soft_value(
        &self,
        obs: ArrayView2<'_, F>,
        target_pi: &DiagGaussian<F>,
        eps: &Array3<F>,
        kl: &Array1<F>,
        alpha: F,
    ) -> Result<Array1<F>> {
        let actions =
            eps * &target_pi.std().insert_axis(Axis(0)) + target_pi.mean().insert_axis(Axis(0)); // [S, N, A]
        let q = self
            .target
            .critic
            .q_samples(&self.tiles, obs, actions.view(), None)?; // [S, N]
        let q_samples = q.insert_axis(Axis(2)); // [S, N, 1]
        let kl2 = kl.view().insert_axis(Axis(1));
        Ok(
            bprl_retrace::kl_regularized_value(q_samples.view(), kl2, alpha)?
                .column(0)
                .to_owned(),
        )
    }

    /// `Q^ret` for `[T, B]` with traces `lambda min(1, pi/mu)` cut where transitions are padding.
    fn retrace_targets(
        &self,
        batch: &LearnerBatch<F>,
        pol: &DiagGaussian<F>,
        pol_target: &DiagGaussian<F>,
        v: &Array1<F>,
        valid: &Array2<F>,
    ) -> Result<Array2<F>> {
        let (t, b) = (batch.steps, batch.batch);
        let n = t * b;
        let ratio_pi = match self.config.ratio_policy {
            RatioPolicy::Target => pol_target,
            RatioPolicy::Online => pol,
        };
        let log_pi = ratio_pi.log_prob(batch.actions.view())?;
        let log_pi = log_pi
            .slice(s![..n])
            .to_owned()
            .as_standard_layout()
            .into_owned()
            .into_shape_with_order((t, b))
            .map_err(|e| AgentError::Shape(e.to_string()))?;
        let log_mu = batch.log_mu.slice(s![..t, ..]).to_owned();
        let lam = Lambda::Constant(cst::<F>(f64::from(self.config.lambda)));
        let c = trace_coefficients(Trace::Retrace, lam, log_pi.view(), log_mu.view())? * valid;
        let q_taken = self
            .target
            .critic
            .q_samples(
                &self.tiles,
                batch.head(&batch.obs),
                batch.head(&batch.actions).insert_axis(Axis(0)),
                None,
            )?
            .into_shape_with_order((t, b))
            .map_err(|e| AgentError::Shape(e.to_string()))?;
        let v_tp1 = v
            .slice(s![b..])
            .to_owned()
            .as_standard_layout()
            .into_owned()
            .into_shape_with_order((t, b))
            .map_err(|e| AgentError::Shape(e.to_string()))?;
        let gamma = cst::<F>(f64::from(self.config.gamma));
        let discount = batch.discounts.mapv(|d| d * gamma) * valid;
        let rewards = &batch.rewards * valid;
        let seq = Sequence {
            q_t: q_taken.view(),
            v_tp1: v_tp1.view(),
            r_t: rewards.view(),
            discount_t: discount.view(),
        };
        Ok(general_off_policy_returns(&seq, c.view())?.targets)
    }

    /// Critic loss `1/2 mean_valid (Q^ret - Q(x_t, a_t))^2` and its gradient.
    fn critic_loss(
        &self,
        batch: &LearnerBatch<F>,
        q_ret: &Array2<F>,
        valid: &Array2<F>,
        n_valid: F,
    ) -> Result<(F, F, Critic<F>)> {
        let target = q_ret.iter().copied().collect::<Array1<F>>();
        let w = valid.iter().copied().collect::<Array1<F>>();
        let mut g = self.online.critic.zeros_like();
        // dL/dQ_n = w_n (Q_n - Q^ret_n) / n_valid.
        let cf = self.online.critic.backward_samples(
            &self.tiles,
            batch.head(&batch.obs),
            batch.head(&batch.actions).insert_axis(Axis(0)),
            None,
            &|_, n, q| w[n] * (q - target[n]) / n_valid,
            Some(&mut g),
            false,
        )?;
        let q = cf.q.row(0);
        let diff = (&q - &target) * &w;
        let loss = diff.mapv(|d| d * d).sum() * cst::<F>(0.5) / n_valid;
        let q_mean = (&q * &w).sum() / n_valid;
        Ok((loss, q_mean, g))
    }

    /// Policy loss `mean_valid [ -mean_s Q'(x, a_s) - beta H(pi) + alpha KL(pi || pi0') ]` and its
    /// gradient (SVG(0) through the target critic, analytic entropy).
    #[allow(clippy::too_many_arguments)]
    fn policy_loss(
        &self,
        batch: &LearnerBatch<F>,
        pol: &DiagGaussian<F>,
        prior_target: Option<&DiagGaussian<F>>,
        eps: &Array3<F>,
        w: &Array1<F>,
        alpha: F,
        beta: F,
        s_count: usize,
    ) -> Result<(F, F, F, GaussianPolicy<F>)> {
        let n = batch.steps * batch.batch;
        let head = rows(pol, n)?;
        let actions = eps * &head.std().insert_axis(Axis(0)) + head.mean().insert_axis(Axis(0)); // [S, n, A]
        let s_f = cst::<F>(s_count as f64);
        // Input gradient only: the target critic is held fixed. dL/dQ_{s,n} = -w_n / S.
        let qf = self.target.critic.backward_samples(
            &self.tiles,
            batch.head(&batch.obs),
            actions.view(),
            None,
            &|_, n, _| -w[n] / s_f,
            None,
            true,
        )?;
        let q_term = -(&qf.q * &w.view().insert_axis(Axis(0))).sum() / s_f;
        let d_action = qf
            .d_action
            .ok_or_else(|| AgentError::Shape("critic returned no action gradient".into()))?; // [S, n, A]
        // The bootstrap step's rows carry no policy loss: the backward pass covers the first n.
        let mut d_mean = d_action.sum_axis(Axis(0));
        let mut d_std = (&d_action * eps).sum_axis(Axis(0));
        // Entropy bonus -beta H: dH/dsigma = 1/sigma.
        let entropy = head.entropy();
        let h_mean = (&entropy * w).sum();
        let w_col = w.view().insert_axis(Axis(1));
        let d_h = head.entropy_grad_std() * w_col * (-beta);
        d_std.zip_mut_with(&d_h, |a, b| *a += *b);
        // KL to the target prior.
        let mut kl_mean = F::zero();
        if let Some(p) = prior_target {
            let prior_head = rows(p, n)?;
            let kl = head.kl(&prior_head)?;
            kl_mean = (&kl * w).sum();
            let g = head.kl_grad(&prior_head)?;
            d_mean.zip_mut_with(&(&g.d_mean_p * &w_col * alpha), |a, b| *a += *b);
            d_std.zip_mut_with(&(&g.d_std_p * &w_col * alpha), |a, b| *a += *b);
        }
        let loss = q_term - beta * h_mean + alpha * kl_mean;
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
        Ok((loss, h_mean, kl_mean, grad))
    }

    /// Prior loss `mean_valid KL(sg(pi) || pi0)` and its gradient on the prior only.
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

    /// Number of online parameters per network (policy, critic, prior).
    pub fn parameter_counts(&self) -> (usize, usize, usize) {
        (
            self.online.policy.num_params(),
            self.online.critic.num_params(),
            self.online.prior.as_ref().map_or(0, |p| p.num_params()),
        )
    }
}

impl<F: Float> FlatNetworks<F> {
    /// Hard copy of every network (targets `<-` online).
    pub fn copy_from_networks(&mut self, other: &Self) {
        self.policy.copy_from(&other.policy);
        self.critic.copy_from(&other.critic);
        if let (Some(a), Some(b)) = (&mut self.prior, &other.prior) {
            a.copy_from(b);
        }
    }
}
