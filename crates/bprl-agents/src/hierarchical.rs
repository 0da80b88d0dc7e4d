//! Algorithm 2: a latent hierarchical policy and prior, the critic `Q(x, a, z)`, the KL bound of
//! Eq. 11, Retrace with latent traces.
//!
//! [`HierLearner::update`] follows Algorithm 1's steps with the hierarchy:
//! - the soft value uses target-policy chains `(z_s, a_s)` and `Q'(x, a_s, z_s)`, minus
//!   `alpha (KL_H + KL_L)` (Eq. 11 at a sampled latent; `KL_L = 0` for a shared low level);
//! - Retrace resamples `z_t ~ pi^H'(.|x_t)` in the learner and uses
//!   `c = lambda min(1, pi^H(z_t|x_t) pi^L(a_t|x_t, z_t) / mu(a_t|x_t))`;
//! - the policy gradient flows through the action into `Q'` but not through `Q'`'s latent input;
//! - the prior is distilled with `KL(sg(pi) || pi0)` through Eq. 11's two terms.

use crate::batch::LearnerBatch;
use crate::config::{HierarchyConfig, LearnerConfig, LowLevel, PriorConfig, RatioPolicy};
use crate::cst;
use crate::error::{AgentError, Result};
use crate::flat::{Metrics, repeat_rows, step_rng};
use crate::optim::{Optimizers, check_losses};
use bprl_distributions::DiagGaussian;
use bprl_envs::PriorView;
use bprl_nn::Parameters;
use bprl_policy::{
    ChainGrad, Critic, CriticConfig, Float, HierarchicalConfig, HierarchicalPolicy,
    HierarchicalPrior, HierarchicalSample, ObservationSpec, latent_kl, latent_kl_policy_grad,
    latent_kl_prior_backward,
};
use bprl_retrace::{Lambda, Sequence, Trace, general_off_policy_returns, trace_coefficients};
use ndarray::{Array1, Array2, ArrayView2, ArrayView3, Axis, s};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

/// The networks of Algorithm 2.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound = "F: Float")]
pub struct HierNetworks<F> {
    /// `pi^H(z|x)` (all groups) and `pi^L(a|z, x_L)`.
    pub policy: HierarchicalPolicy<F>,
    /// `Q(x, a, z)`.
    pub critic: Critic<F>,
    /// The learned prior (absent for `none` and `standard_normal`).
    pub prior: Option<HierarchicalPrior<F>>,
}

impl<F: Float> HierNetworks<F> {
    /// Fresh networks. The low level reads the prior's view (so a shared low level is a valid
    /// prior component), or `proprio` when the prior is not learned.
    ///
    /// # Errors
    /// Bad sizes or views.
    pub fn new(
        spec: &ObservationSpec,
        action_dim: usize,
        cfg: &LearnerConfig,
        h: &HierarchyConfig,
        prior: PriorConfig,
        rng: &mut StdRng,
    ) -> Result<Self> {
        let view = match prior {
            PriorConfig::Learned { view } => view,
            _ => PriorView::Proprio,
        };
        let hc = HierarchicalConfig {
            hidden: cfg.policy_hidden.clone(),
            latent_dim: h.latent_dim,
            action_dim,
            min_scale: cfg.min_scale,
        };
        let low_sel = spec.select(view.groups())?;
        let policy = HierarchicalPolicy::new(spec.select_all(), low_sel.clone(), &hc, rng)?;
        let ccfg = CriticConfig {
            hidden: cfg.critic_hidden.clone(),
            action_dim,
            latent_dim: h.latent_dim,
            output_init_std: 1e-4,
        };
        let prior = match prior {
            PriorConfig::Learned { .. } => {
                let low = (h.low_level == LowLevel::Separate).then_some(low_sel);
                Some(HierarchicalPrior::new(
                    spec.select(view.groups())?,
                    low,
                    &hc,
                    rng,
                )?)
            }
            _ => None,
        };
        Ok(Self {
            policy,
            critic: Critic::new(spec.select_all(), &ccfg, rng)?,
            prior,
        })
    }

    /// Hard copy of every network.
    pub fn copy_from_networks(&mut self, other: &Self) {
        self.policy.copy_from(&other.policy);
        self.critic.copy_from(&other.critic);
        if let (Some(a), Some(b)) = (&mut self.prior, &other.prior) {
            a.copy_from(b);
        }
    }
}

/// Algorithm 2's learner state.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound = "F: Float")]
pub struct HierLearner<F> {
    /// Hyperparameters.
    pub config: LearnerConfig,
    /// The hierarchy.
    pub hierarchy: HierarchyConfig,
    /// The prior kind.
    pub prior_kind: PriorConfig,
    /// Online networks.
    pub online: HierNetworks<F>,
    /// Target networks.
    pub target: HierNetworks<F>,
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

fn noise<F: Float>(rng: &mut StdRng, rows: usize, cols: usize) -> Array2<F> {
    Array2::from_shape_simple_fn((rows, cols), || F::standard_normal(rng))
}

fn shape_err(e: impl std::fmt::Display) -> AgentError {
    AgentError::Shape(e.to_string())
}

impl<F: Float> HierLearner<F> {
    /// A learner with fresh networks.
    ///
    /// # Errors
    /// Bad sizes or views.
    pub fn new(
        spec: &ObservationSpec,
        action_dim: usize,
        config: LearnerConfig,
        hierarchy: HierarchyConfig,
        prior_kind: PriorConfig,
        seed: u64,
    ) -> Result<Self> {
        let mut rng = StdRng::seed_from_u64(seed);
        let online =
            HierNetworks::new(spec, action_dim, &config, &hierarchy, prior_kind, &mut rng)?;
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
            hierarchy,
            prior_kind,
            steps: 0,
            seed,
            prior_frozen: false,
            tiles: bprl_nn::TileCache::new(),
        })
    }

    /// One learner step.
    ///
    /// # Errors
    /// [`AgentError::NonFinite`] (networks unchanged), shape errors.
    pub fn update(&mut self, batch: &LearnerBatch<F>) -> Result<Metrics> {
        batch.check_finite(self.steps)?;
        let (metrics, g_policy, g_critic, g_prior) = self.losses(batch)?;
        check_losses(&metrics, self.steps)?;
        let prior = match (&mut self.online.prior, &g_prior, self.prior_frozen) {
            (Some(p), Some(g), false) => Some((p, g)),
            _ => None,
        };
        self.optimizers.step(
            (&mut self.online.policy, &g_policy),
            (&mut self.online.critic, &g_critic),
            prior,
        )?;
        self.steps += 1;
        if self.steps.is_multiple_of(self.config.target_period) {
            self.target.copy_from_networks(&self.online);
        }
        Ok(metrics)
    }

    fn alpha(&self) -> F {
        if self.prior_kind == PriorConfig::None {
            F::zero()
        } else {
            cst::<F>(f64::from(self.config.alpha))
        }
    }

    /// Eq. 11 per row for a sample against the *target* prior: `(KL_H + KL_L, chain gradient of
    /// sum_b w_b KL_b)`; the gradient only when weights `w` are given.
    fn kl_to_target_prior(
        &self,
        obs: ArrayView2<'_, F>,
        sample: &HierarchicalSample<F>,
        w: Option<&Array1<F>>,
    ) -> Result<(Array1<F>, Option<ChainGrad<F>>)> {
        match (&self.prior_kind, &self.target.prior) {
            (PriorConfig::None, _) => Ok((Array1::zeros(obs.nrows()), None)),
            (PriorConfig::StandardNormal, _) => {
                let std_normal =
                    DiagGaussian::standard_normal(obs.nrows(), self.hierarchy.latent_dim);
                let kl = sample.high.dist.kl(&std_normal)?;
                let Some(w) = w else { return Ok((kl, None)) };
                let g = sample.high.dist.kl_grad(&std_normal)?;
                let mut cg = ChainGrad::zeros(
                    obs.nrows(),
                    self.hierarchy.latent_dim,
                    sample.action.ncols(),
                );
                let wc = w.view().insert_axis(Axis(1));
                cg.d_high_mean = &g.d_mean_p * &wc;
                cg.d_high_std = &g.d_std_p * &wc;
                Ok((kl, Some(cg)))
            }
            (PriorConfig::Learned { .. }, Some(prior)) => {
                let pf = prior.forward(&self.tiles, obs, sample.latent.view())?;
                let kl = latent_kl(sample, &pf)?.total();
                let cg = w
                    .map(|w| latent_kl_policy_grad(&self.tiles, prior, sample, &pf, w.view()))
                    .transpose()?;
                Ok((kl, cg))
            }
            (PriorConfig::Learned { .. }, None) => {
                Err(AgentError::Shape("learned prior missing".into()))
            }
        }
    }

    /// All losses and gradients for the next step's noise.
    #[allow(clippy::type_complexity)]
    fn losses(
        &self,
        batch: &LearnerBatch<F>,
    ) -> Result<(
        Metrics,
        HierarchicalPolicy<F>,
        Critic<F>,
        Option<HierarchicalPrior<F>>,
    )> {
        let mut rng = step_rng(self.seed, self.steps);
        let (t, b) = (batch.steps, batch.batch);
        let (n, n_all) = (t * b, (t + 1) * b);
        let (zd, ad) = (self.hierarchy.latent_dim, self.online.policy.action_dim());
        let sc = self.config.action_samples;
        let alpha = self.alpha();
        let beta = cst::<F>(f64::from(self.config.beta));
        let obs = batch.obs.view();
        let valid = batch.valid();
        let n_valid = valid.sum().max(F::one());
        let w: Array1<F> = valid.iter().map(|&v| v / n_valid).collect();

        // Soft value: target chains and Eq. 11 KL of the online policy to the target prior.
        let obs_rep_all = repeat_rows(obs, sc);
        let v_chain = self.target.policy.sample_with_noise(
            &self.tiles,
            obs_rep_all.view(),
            noise::<F>(&mut rng, sc * n_all, zd).view(),
            noise::<F>(&mut rng, sc * n_all, ad).view(),
        )?;
        // Chains are sample-major ([S copies of the batch]): viewed as [S, N, .] for the critic.
        let q_v = self
            .target
            .critic
            .q_samples(
                &self.tiles,
                obs,
                samples_view(&v_chain.action, sc)?,
                Some(samples_view(&v_chain.latent, sc)?),
            )?
            .into_shape_with_order((sc, n_all, 1))
            .map_err(shape_err)?;
        let k_chain = self.online.policy.sample_with_noise(
            &self.tiles,
            obs,
            noise::<F>(&mut rng, n_all, zd).view(),
            noise::<F>(&mut rng, n_all, ad).view(),
        )?;
        let (kl_all, _) = self.kl_to_target_prior(obs, &k_chain, None)?;
        let v = bprl_retrace::kl_regularized_value(
            q_v.view(),
            kl_all.view().insert_axis(Axis(1)),
            alpha,
        )?
        .column(0)
        .to_owned();

        // Retrace with a resampled latent z_t ~ pi^H'(.|x_t).
        let head_obs = batch.head(&batch.obs);
        let head_act = batch.head(&batch.actions);
        let ratio_nets = match self.config.ratio_policy {
            RatioPolicy::Target => &self.target.policy,
            RatioPolicy::Online => &self.online.policy,
        };
        let high_t = self
            .target
            .policy
            .high
            .forward_with(&self.tiles, head_obs, None)?;
        let z_t = high_t
            .dist
            .sample_from_noise(noise::<F>(&mut rng, n, zd).view())?;
        let high_r = ratio_nets.high.forward_with(&self.tiles, head_obs, None)?;
        let low_r = ratio_nets
            .low
            .forward_with(&self.tiles, head_obs, Some(z_t.view()))?;
        let log_pi = high_r.dist.log_prob(z_t.view())? + low_r.dist.log_prob(head_act)?;
        let log_pi = log_pi
            .as_standard_layout()
            .into_owned()
            .into_shape_with_order((t, b))
            .map_err(shape_err)?;
        let log_mu = batch.log_mu.slice(s![..t, ..]).to_owned();
        let lam = Lambda::Constant(cst::<F>(f64::from(self.config.lambda)));
        let c = trace_coefficients(Trace::Retrace, lam, log_pi.view(), log_mu.view())? * &valid;
        let q_taken = self
            .target
            .critic
            .q_samples(
                &self.tiles,
                head_obs,
                head_act.insert_axis(Axis(0)),
                Some(z_t.view().insert_axis(Axis(0))),
            )?
            .into_shape_with_order((t, b))
            .map_err(shape_err)?;
        let v_tp1 = v
            .slice(s![b..])
            .to_owned()
            .as_standard_layout()
            .into_owned()
            .into_shape_with_order((t, b))
            .map_err(shape_err)?;
        let gamma = cst::<F>(f64::from(self.config.gamma));
        let discount = batch.discounts.mapv(|d| d * gamma) * &valid;
        let rewards = &batch.rewards * &valid;
        let seq = Sequence {
            q_t: q_taken.view(),
            v_tp1: v_tp1.view(),
            r_t: rewards.view(),
            discount_t: discount.view(),
        };
        let q_ret: Array1<F> = general_off_policy_returns(&seq, c.view())?
            .targets
            .iter()
            .copied()
            .collect();

        // Critic loss on Q(x_t, a_t, z_t).
        let mut g_critic = self.online.critic.zeros_like();
        // dL/dQ_n = w_n (Q_n - Q^ret_n), w_n = valid_n / n_valid.
        let cf = self.online.critic.backward_samples(
            &self.tiles,
            head_obs,
            head_act.insert_axis(Axis(0)),
            Some(z_t.view().insert_axis(Axis(0))),
            &|_, i, q| w[i] * (q - q_ret[i]),
            Some(&mut g_critic),
            false,
        )?;
        let q_online = cf.q.row(0).to_owned();
        let diff = (&q_online - &q_ret) * &w.mapv(|x| x * n_valid);
        let critic_loss = diff.mapv(|d| d * d).sum() * cst::<F>(0.5) / n_valid;

        // Policy loss over S chains per row: SVG(0) through Q' (latent input stopped),
        // entropy of both levels, alpha * Eq. 11 KL to the target prior.
        let obs_rep = repeat_rows(head_obs, sc);
        let w_rep: Array1<F> = repeat_rows(w.view().insert_axis(Axis(1)), sc)
            .column(0)
            .mapv(|x| x / cst::<F>(sc as f64));
        let chain = self.online.policy.sample_with_noise(
            &self.tiles,
            obs_rep.view(),
            noise::<F>(&mut rng, sc * n, zd).view(),
            noise::<F>(&mut rng, sc * n, ad).view(),
        )?;
        // Input gradient only (the target critic is fixed): dL/dQ_{s,i} = -w_i / S.
        let qf = self.target.critic.backward_samples(
            &self.tiles,
            head_obs,
            samples_view(&chain.action, sc)?,
            Some(samples_view(&chain.latent, sc)?),
            &|_, i, _| -w_rep[i],
            None,
            true,
        )?;
        let q_chain: Array1<F> = qf.q.iter().copied().collect();
        let mut cg = ChainGrad::zeros(sc * n, zd, ad);
        cg.d_action = qf
            .d_action
            .ok_or_else(|| AgentError::Shape("critic returned no action gradient".into()))?
            .into_shape_with_order((sc * n, ad))
            .map_err(shape_err)?;
        let wc = w_rep.view().insert_axis(Axis(1));
        let h_high = chain.high.dist.entropy();
        let h_low = chain.low.dist.entropy();
        cg.d_high_std = chain.high.dist.entropy_grad_std() * wc * (-beta);
        cg.d_low_std = chain.low.dist.entropy_grad_std() * wc * (-beta);
        let (kl_p, kl_grad) =
            self.kl_to_target_prior(obs_rep.view(), &chain, Some(&w_rep.mapv(|x| x * alpha)))?;
        if let Some(g) = kl_grad {
            cg.add(&g);
        }
        let entropy = ((&h_high + &h_low) * &w_rep).sum();
        let kl_mean = (&kl_p * &w_rep).sum();
        let policy_loss = -(&q_chain * &w_rep).sum() - beta * entropy + alpha * kl_mean;
        let mut g_policy = self.online.policy.zeros_like();
        self.online
            .policy
            .backward(&self.tiles, &chain, &cg, &mut g_policy);

        // Prior distillation KL(sg(pi) || pi0) through Eq. 11's terms.
        let (prior_loss, g_prior) = match &self.online.prior {
            Some(prior) => {
                let pf = prior.forward(&self.tiles, obs_rep.view(), chain.latent.view())?;
                let loss = (latent_kl(&chain, &pf)?.total() * &w_rep).sum();
                let mut g = prior.zeros_like();
                latent_kl_prior_backward(&self.tiles, prior, &chain, &pf, w_rep.view(), &mut g)?;
                (loss, Some(g))
            }
            None => (F::zero(), None),
        };
        let metrics = Metrics {
            critic_loss: critic_loss.as_f64(),
            policy_loss: policy_loss.as_f64(),
            prior_loss: prior_loss.as_f64(),
            kl: kl_mean.as_f64(),
            q: ((&q_online * &w).sum()).as_f64(),
            entropy: entropy.as_f64(),
            target: ((&q_ret * &w).sum()).as_f64(),
        };
        Ok((metrics, g_policy, g_critic, g_prior))
    }
}

/// Sample-major rows `[S N, k]` (S stacked copies of a batch) as `[S, N, k]`.
fn samples_view<F: Float>(rows: &Array2<F>, samples: usize) -> Result<ArrayView3<'_, F>> {
    let (r, k) = rows.dim();
    rows.view()
        .into_shape_with_order((samples, r / samples.max(1), k))
        .map_err(shape_err)
}
