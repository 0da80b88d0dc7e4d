//! Algorithm 2: a latent hierarchical policy and prior, the critic `Q(x, a, z)`, the KL bound of
//! Eq. 11, Retrace with latent traces.
//!
//! [`Hierarchical`]'s losses follow Algorithm 1's steps with the hierarchy:
//! 1. the soft value uses target-policy chains `(z_s, a_s)` and `Q'(x, a_s, z_s)`, minus
//!    `alpha (KL_H + KL_L)` (Eq. 11 at a sampled latent; `KL_L = 0` for a shared low level,
//!    Eq. 12);
//! 2. Retrace resamples `z_t ~ pi^H'(.|x_t)` in the learner and uses
//!    `c = lambda min(1, pi^H(z_t|x_t) pi^L(a_t|x_t, z_t) / mu(a_t|x_t))`;
//! 3. the critic regresses `Q(x_t, a_t, z_t)` on those targets (the shared critic loss);
//! 4. the policy gradient flows through the action into `Q'` but not through `Q'`'s latent
//!    input, with both levels' entropies and `alpha` times the Eq. 11 (or Eq. 12) KL;
//! 5. the prior is distilled with `KL(sg(pi) || pi0)` through Eq. 11's two terms.
//!
//! The update around them (Adam, target copies) is the shared [`LearnerState::update`].

use super::metrics::Metrics;
use super::networks::{Gradients, HierNetworks, Networks};
use super::targets::{
    Weights, behavior_log_prob, critic_losses, grid, min_q_samples, policy_value, retrace_targets,
    soft_value,
};
use super::update::{Algorithm, LearnerState};
use crate::batch::LearnerBatch;
use crate::config::{HierarchyConfig, LearnerConfig, PriorConfig, RatioPolicy};
use crate::cst;
use crate::error::{AgentError, Result};
use bprl_distributions::DiagGaussian;
use bprl_nn::Parameters;
use bprl_policy::{
    BATCHED_ROWS, ChainGrad, Float, HierarchicalPolicy, HierarchicalPrior, HierarchicalSample,
    LatentKl, LowLevelPrior, ObservationSpec, PolicyForward, PriorForward, latent_kl,
    latent_kl_policy_grad, latent_kl_prior_backward,
};
use bprl_retrace::latent_log_rho;
use ndarray::{Array1, Array2, ArrayView2, ArrayView3, Axis, s};
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};
use std::ops::Range;
use std::sync::Mutex;

/// Algorithm 2 and its hierarchy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hierarchical {
    /// The latent hierarchy.
    pub hierarchy: HierarchyConfig,
}

/// Algorithm 2's learner state.
pub type HierLearner<F> = LearnerState<F, Hierarchical>;

/// Gradients of one Algorithm 2 update.
pub type HierGradients<F> = Gradients<F, HierNetworks<F>>;

/// The noise one Algorithm 2 update uses, in the order it is drawn (exposed so tests can
/// recompute the losses directly). Chains over `S` samples are sample-major: `S` stacked
/// copies of the batch's rows.
#[derive(Debug, Clone)]
pub struct HierNoise<F> {
    /// Latent noise of the target chains of the soft value, `[S (T+1) B, Z]`.
    pub value_latent: Array2<F>,
    /// Action noise of the target chains of the soft value, `[S (T+1) B, A]`.
    pub value_action: Array2<F>,
    /// Latent noise of the online chain whose KL to the target prior enters the soft value,
    /// `[(T+1) B, Z]`.
    pub kl_latent: Array2<F>,
    /// Its action noise, `[(T+1) B, A]`.
    pub kl_action: Array2<F>,
    /// Noise of the latents `z_t ~ pi^H'(.|x_t)` resampled for Retrace, `[T B, Z]`.
    pub retrace_latent: Array2<F>,
    /// Latent noise of the online chains of the policy loss, `[S T B, Z]`.
    pub policy_latent: Array2<F>,
    /// Their action noise, `[S T B, A]`.
    pub policy_action: Array2<F>,
}

fn noise<F: Float>(rng: &mut StdRng, rows: usize, cols: usize) -> Array2<F> {
    Array2::from_shape_simple_fn((rows, cols), || F::standard_normal(rng))
}

fn shape_err(e: impl std::fmt::Display) -> AgentError {
    AgentError::Shape(e.to_string())
}

/// Rows `rows` of the chains' observations: chain `c` reads `obs[c % n]` (sample-major), a
/// view when the rows lie within one sample's copy.
fn chain_obs_rows<F: Float>(
    obs: ArrayView2<'_, F>,
    rows: Range<usize>,
    n: usize,
) -> ndarray::CowArray<'_, F, ndarray::Ix2> {
    let start = rows.start % n;
    if start + rows.len() <= n {
        return obs.slice_move(s![start..start + rows.len(), ..]).into();
    }
    let picked: Vec<_> = rows.map(|c| obs.row(c % n)).collect();
    ndarray::stack(Axis(0), &picked)
        .unwrap_or_else(|_| unreachable!("rows of one array"))
        .into()
}

/// A `[rows, k]` array repeated `times` times along rows (sample-major copies of a batch).
fn repeat_rows<F: Float>(a: ArrayView2<'_, F>, times: usize) -> Array2<F> {
    let views: Vec<_> = (0..times).map(|_| a).collect();
    ndarray::concatenate(Axis(0), &views).unwrap_or_else(|_| unreachable!("same widths"))
}

/// The sums over the `S` sample-major copies of each of `n` entries, `[S n] -> [n]`, added in
/// sample order (the weight of a term the `S` chains of an observation share).
fn sum_samples<F: Float>(w: ndarray::ArrayView1<'_, F>, n: usize) -> Array1<F> {
    let mut out = w.slice(ndarray::s![..n]).to_owned();
    for k in 1..w.len() / n.max(1) {
        out += &w.slice(ndarray::s![k * n..(k + 1) * n]);
    }
    out
}

/// Sample-major rows `[S N, k]` (S stacked copies of a batch) as `[S, N, k]`.
fn samples_view<F: Float>(rows: &Array2<F>, samples: usize) -> Result<ArrayView3<'_, F>> {
    let (r, k) = rows.dim();
    rows.view()
        .into_shape_with_order((samples, r / samples.max(1), k))
        .map_err(shape_err)
}

/// The online chains of the policy loss, and what the prior loss reuses of them.
struct PolicyChains<F: Float> {
    /// The transitions' observations, `[T B, W]` (each with `S` chains).
    obs: Array2<F>,
    /// Chain weights `valid / (n_valid S)`, `[S T B]`.
    w: Array1<F>,
    /// The observations' weights (the sums of their chains'), `valid / n_valid`, `[T B]`: the
    /// weights of the high level's terms, which the chains share.
    w_obs: Array1<F>,
    /// The chains `z ~ pi^H(.|x)`, `a ~ pi^L(.|z, x)`, `S` per observation with the high
    /// level evaluated once per observation.
    chain: HierarchicalSample<F>,
}

/// The low level's part of the policy loss from the fused pass ([`HierLearner`]'s
/// `policy_fused`): `Q` at each chain, the latents' gradient from the low level, and the
/// policy gradient with the low level's share.
struct FusedLow<F: Float> {
    q: Array1<F>,
    d_z_low: Array2<F>,
    grad: HierarchicalPolicy<F>,
}

/// The high levels' passes on every observation that the soft value (step 1) computes, for the
/// later steps to take their transitions' rows from ([`PolicyForward::head_rows`]: the same
/// bits as computing them again, where it applies).
struct ValuePasses<F: Float> {
    /// The target policy's high level.
    target_high: PolicyForward<F>,
    /// The online policy's high level (the soft value's KL), unless there is no prior.
    online_high: Option<PolicyForward<F>>,
    /// The target prior's high level (the soft value's KL), for a learned prior.
    prior_high: Option<PolicyForward<F>>,
}

impl<F: Float> ValuePasses<F> {
    /// The passes on the first `n` rows (the transitions), each where it can be shared.
    fn head_rows(&self, n: usize) -> HeadPasses<F> {
        HeadPasses {
            target_high: self.target_high.head_rows(n),
            online_high: self.online_high.as_ref().and_then(|p| p.head_rows(n)),
            prior_high: self.prior_high.as_ref().and_then(|p| p.head_rows(n)),
        }
    }
}

/// [`ValuePasses`] on the transitions' rows; `None` where a step computes its own.
#[derive(Default)]
struct HeadPasses<F: Float> {
    target_high: Option<PolicyForward<F>>,
    online_high: Option<PolicyForward<F>>,
    prior_high: Option<PolicyForward<F>>,
}

/// How [`HierLearner::losses_with_pass`] computes Algorithm 2's losses. Every choice gives the
/// same numbers bit for bit; [`LearnerState::losses`] takes the fastest that applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LossPasses {
    /// The policy loss's low level in one fused pass (forward, critics, backward tile by tile).
    pub fused: bool,
    /// The steps after the soft value take the high levels' passes on the transitions from
    /// the soft value's passes on every observation (where both are batched passes), instead
    /// of computing them again.
    pub reuse_high: bool,
}

/// What the policy loss reports.
struct PolicyLoss<F: Float> {
    loss: F,
    entropy: F,
    kl: F,
    std: F,
    grad: HierarchicalPolicy<F>,
}

impl<F: Float> HierLearner<F> {
    /// A learner with fresh networks.
    ///
    /// # Errors
    /// Bad sizes or groups.
    pub fn new(
        spec: &ObservationSpec,
        action_dim: usize,
        config: LearnerConfig,
        hierarchy: HierarchyConfig,
        prior_kind: PriorConfig,
        seed: u64,
    ) -> Result<Self> {
        let algorithm = Hierarchical { hierarchy };
        Self::with_algorithm(algorithm, spec, action_dim, config, prior_kind, seed)
    }

    /// The hierarchy.
    pub fn hierarchy(&self) -> &HierarchyConfig {
        &self.algorithm.hierarchy
    }

    /// The Retrace critic targets `Q^ret`, `[T, B]`, for given noise (steps 1-2).
    ///
    /// # Errors
    /// Shape errors from the networks.
    pub fn critic_targets(
        &self,
        batch: &LearnerBatch<F>,
        noise: &HierNoise<F>,
    ) -> Result<Array2<F>> {
        let (v, _) = self.soft_value(batch, noise)?;
        Ok(self
            .latent_retrace(batch, noise, &Weights::of(batch), &v, None)?
            .1)
    }

    /// The per-chain KL of chains to the *target* prior: Eq. 11's bound `KL_H + KL_L` at the
    /// sampled latent, which is exactly `KL_H` for a shared low level (Eq. 12); with per-chain
    /// weights `w`, also the chain gradient of `sum_b w_b KL_b`. `KL_H` is computed once per
    /// observation (`obs`), for all of its chains.
    #[doc(alias = "Eq. 11")]
    #[doc(alias = "Eq. 12")]
    fn kl_to_target_prior(
        &self,
        obs: ArrayView2<'_, F>,
        sample: &HierarchicalSample<F>,
        w: Option<&Array1<F>>,
        prior_high: Option<PolicyForward<F>>,
    ) -> Result<(Array1<F>, Option<ChainGrad<F>>)> {
        self.kl_to_target_prior_passes(obs, sample, w, prior_high)
            .map(|(kl, g, _)| (kl, g))
    }

    /// [`HierLearner`]'s `kl_to_target_prior`, with the target prior's forward pass returned
    /// (for a learned prior) and its high level's taken from `prior_high` where given.
    #[allow(clippy::type_complexity)]
    fn kl_to_target_prior_passes(
        &self,
        obs: ArrayView2<'_, F>,
        sample: &HierarchicalSample<F>,
        w: Option<&Array1<F>>,
        prior_high: Option<PolicyForward<F>>,
    ) -> Result<(Array1<F>, Option<ChainGrad<F>>, Option<PriorForward<F>>)> {
        let latent_dim = self.algorithm.hierarchy.latent_dim;
        match (&self.prior_kind, &self.target.prior) {
            (PriorConfig::None, _) => Ok((Array1::zeros(sample.latent.nrows()), None, None)),
            (PriorConfig::StandardNormal, _) => {
                let (n, sc) = (obs.nrows(), sample.samples());
                let std_normal = DiagGaussian::standard_normal(n, latent_dim);
                let kl_obs = sample.high.dist.kl(&std_normal)?;
                let kl = repeat_rows(kl_obs.view().insert_axis(Axis(1)), sc)
                    .column(0)
                    .to_owned();
                let Some(w) = w else {
                    return Ok((kl, None, None));
                };
                let g = sample.high.dist.kl_grad(&std_normal)?;
                let mut cg = ChainGrad::zeros_shared(n, sc, latent_dim, sample.action.ncols());
                let w_obs = sum_samples(w.view(), n);
                let wc = w_obs.view().insert_axis(Axis(1));
                cg.d_high_mean = &g.d_mean_p * &wc;
                cg.d_high_std = &g.d_std_p * &wc;
                Ok((kl, Some(cg), None))
            }
            (PriorConfig::Learned { .. }, Some(prior)) => {
                let pf =
                    prior.forward_with_high(&self.tiles, obs, prior_high, sample.latent.view())?;
                let kl = latent_kl(sample, &pf)?.total();
                let cg = w
                    .map(|w| latent_kl_policy_grad(&self.tiles, prior, sample, &pf, w.view()))
                    .transpose()?;
                Ok((kl, cg, Some(pf)))
            }
            (PriorConfig::Learned { .. }, None) => {
                Err(AgentError::Shape("learned prior missing".into()))
            }
        }
    }

    /// Step 1: the soft value `V = mean_s [min_k Q'_k(x, a_s, z_s) (- beta log pi'(z_s, a_s |
    /// x))] - alpha KL` over every row, with target chains `(z_s, a_s)` and the Eq. 11 KL of an
    /// online chain to the target prior.
    fn soft_value(
        &self,
        batch: &LearnerBatch<F>,
        noise: &HierNoise<F>,
    ) -> Result<(Array1<F>, ValuePasses<F>)> {
        let sc = self.config.action_samples;
        let obs = batch.obs.view();
        let chain = self.target.policy.sample_with_noise_shared(
            &self.tiles,
            obs,
            noise.value_latent.view(),
            noise.value_action.view(),
        )?;
        let actions = self.critic_actions(&chain.action);
        let mut q = min_q_samples(
            &self.tiles,
            &self.target_critics(),
            obs,
            samples_view(&actions, sc)?,
            Some(samples_view(&chain.latent, sc)?),
        )?; // [S, N]
        if self.config.value_entropy {
            let log_pi = chain.latent_log_prob()? + chain.low.dist.log_prob(chain.action.view())?
                - self.log_det(chain.action.view()); // [S N]
            let log_pi = grid(log_pi.view(), sc, obs.nrows())?;
            let beta = self.beta();
            q.zip_mut_with(&log_pi, |q, &lp| *q -= beta * lp);
        }
        let (kl, online_high, prior_high) = self.value_kl(obs, noise)?;
        let passes = ValuePasses {
            target_high: chain.high,
            online_high,
            prior_high,
        };
        Ok((soft_value(q, &kl, self.alpha())?, passes))
    }

    /// The soft value's KL of an online chain to the target prior, `[N]`. Only a separate
    /// prior low level makes it depend on the chain's latent and low level (Eq. 11); otherwise
    /// it is the high level's term alone (Eq. 12; zero without a prior), and only the high
    /// level is evaluated (the same numbers as the whole chain's, without its low level).
    #[doc(alias = "Eq. 11")]
    #[doc(alias = "Eq. 12")]
    ///
    /// Also returns the passes it computed on `obs`: the online policy's high level and the
    /// target prior's.
    #[allow(clippy::type_complexity)]
    fn value_kl(
        &self,
        obs: ArrayView2<'_, F>,
        noise: &HierNoise<F>,
    ) -> Result<(
        Array1<F>,
        Option<PolicyForward<F>>,
        Option<PolicyForward<F>>,
    )> {
        match (&self.prior_kind, &self.target.prior) {
            (PriorConfig::None, _) => Ok((Array1::zeros(obs.nrows()), None, None)),
            (PriorConfig::Learned { .. }, Some(prior))
                if matches!(prior.low, LowLevelPrior::Shared) =>
            {
                let high = self
                    .online
                    .policy
                    .high
                    .forward_with(&self.tiles, obs, None)?;
                let prior_high = prior.high.forward_with(&self.tiles, obs, None)?;
                let kl = LatentKl {
                    high: high.dist.kl(&prior_high.dist)?,
                    low: Array1::zeros(obs.nrows()),
                };
                Ok((kl.total(), Some(high), Some(prior_high)))
            }
            (PriorConfig::StandardNormal, _) => {
                let high = self
                    .online
                    .policy
                    .high
                    .forward_with(&self.tiles, obs, None)?;
                let std_normal =
                    DiagGaussian::standard_normal(obs.nrows(), self.algorithm.hierarchy.latent_dim);
                Ok((high.dist.kl(&std_normal)?, Some(high), None))
            }
            _ => {
                let kl_chain = self.online.policy.sample_with_noise(
                    &self.tiles,
                    obs,
                    noise.kl_latent.view(),
                    noise.kl_action.view(),
                )?;
                let (kl, _, pf) = self.kl_to_target_prior_passes(obs, &kl_chain, None, None)?;
                Ok((kl, Some(kl_chain.high), pf.map(|p| p.high)))
            }
        }
    }

    /// Step 2: Retrace targets with a resampled latent `z_t ~ pi^H'(.|x_t)` and traces
    /// `lambda min(1, pi^H(z_t|x_t) pi^L(a_t|x_t, z_t) / mu(a_t|x_t))`. Returns `z_t`,
    /// `[T B, Z]`, and `Q^ret`, `[T, B]`.
    fn latent_retrace(
        &self,
        batch: &LearnerBatch<F>,
        noise: &HierNoise<F>,
        weights: &Weights<F>,
        v: &Array1<F>,
        target_high: Option<PolicyForward<F>>,
    ) -> Result<(Array2<F>, Array2<F>)> {
        let head_obs = batch.head(&batch.obs);
        let head_act = batch.head(&batch.actions);
        let ratio_nets = match self.config.ratio_policy {
            RatioPolicy::Target => &self.target.policy,
            RatioPolicy::Online => &self.online.policy,
        };
        let high_t = match target_high {
            Some(h) => h,
            None => self
                .target
                .policy
                .high
                .forward_with(&self.tiles, head_obs, None)?,
        };
        let z_t = high_t.dist.sample_from_noise(noise.retrace_latent.view())?;
        // The ratio's high level is the target's in Acme's setting: computed once.
        let high_r = match self.config.ratio_policy {
            RatioPolicy::Target => high_t,
            RatioPolicy::Online => ratio_nets.high.forward_with(&self.tiles, head_obs, None)?,
        };
        let low_r = ratio_nets
            .low
            .forward_with(&self.tiles, head_obs, Some(z_t.view()))?;
        let (t, b) = (batch.steps, batch.batch);
        let u_taken = self.pre_squash(head_act);
        let log_low = low_r.dist.log_prob(u_taken.view())? - self.log_det(u_taken.view());
        let log_rho = latent_log_rho(
            grid(high_r.dist.log_prob(z_t.view())?.view(), t, b)?.view(),
            grid(log_low.view(), t, b)?.view(),
            behavior_log_prob(batch),
        )?;
        let q_taken = min_q_samples(
            &self.tiles,
            &self.target_critics(),
            head_obs,
            head_act.insert_axis(Axis(0)),
            Some(z_t.view().insert_axis(Axis(0))),
        )?;
        let q_ret = retrace_targets(
            &self.config,
            batch,
            weights,
            q_taken.row(0),
            log_rho.view(),
            v,
        )?;
        Ok((z_t, q_ret))
    }

    /// Step 4: the policy loss over `S` online chains per transition,
    /// `mean [ -Q(x, a_s, sg(z_s)) - beta (H(pi^H) + H(pi^L)) + alpha KL ]` where the KL is
    /// Eq. 11's bound to the target prior (Eq. 12 for a shared low level: `KL_H` alone) and `Q`
    /// the minimum of the policy critics (the target one in Acme's setting). SVG(0) through
    /// the action only: `Q`'s latent input is not differentiated. With a squashed policy the
    /// low level's entropy is the squashed actions' (`H(u) + log |da/du|` at the sample).
    #[doc(alias = "Eq. 11")]
    #[doc(alias = "Eq. 12")]
    fn policy_loss(
        &self,
        chains: &PolicyChains<F>,
        batch: &LearnerBatch<F>,
        fused: Option<FusedLow<F>>,
        prior_high: Option<PolicyForward<F>>,
    ) -> Result<PolicyLoss<F>> {
        let sc = self.config.action_samples;
        let (zd, ad) = (
            self.algorithm.hierarchy.latent_dim,
            self.online.policy.action_dim(),
        );
        let alpha = self.alpha();
        let beta = self.beta();
        let PolicyChains {
            obs,
            w,
            w_obs,
            chain,
        } = chains;
        let mut cg = ChainGrad::zeros_shared(w_obs.len(), sc, zd, ad);
        let wc = w.view().insert_axis(Axis(1));
        let wc_obs = w_obs.view().insert_axis(Axis(1));
        let q_chain: Array1<F> = match &fused {
            // The low level's terms were applied tile by tile (`policy_fused`).
            Some(f) => f.q.clone(),
            None => {
                let actions = self.critic_actions(&chain.action);
                // Input gradient only (the critics are fixed): dL/dQ_{s,i} = -w_i / S (in w).
                let (q, d_action) = policy_value(
                    &self.tiles,
                    &self.policy_critics(),
                    batch.head(&batch.obs),
                    samples_view(&actions, sc)?,
                    Some(samples_view(&chain.latent, sc)?),
                    &|_, i| -w[i],
                )?;
                cg.d_action = d_action
                    .into_shape_with_order((w.len(), ad))
                    .map_err(shape_err)?;
                if self.config.squash {
                    let bx = self.action_box;
                    cg.d_action
                        .zip_mut_with(&chain.action, |d, &u| *d *= bx.d_squash(u));
                    let d_ld = chain.action.mapv(|u| bx.d_log_det(u)) * wc * (-beta);
                    cg.d_action += &d_ld;
                }
                cg.d_low_std = chain.low.dist.entropy_grad_std() * wc * (-beta);
                q.iter().copied().collect()
            }
        };
        let h_high = chain.high.dist.entropy();
        let mut h_low = chain.low.dist.entropy();
        if self.config.squash {
            h_low += &self.log_det(chain.action.view());
        }
        cg.d_high_std = chain.high.dist.entropy_grad_std() * wc_obs * (-beta);
        let (kl, kl_grad) =
            self.kl_to_target_prior(obs.view(), chain, Some(&w.mapv(|x| x * alpha)), prior_high)?;
        if let Some(g) = kl_grad {
            cg.add(&g);
        }
        // The high level's entropy once per observation, with its chains' summed weight.
        let entropy = (&h_high * w_obs).sum() + (&h_low * w).sum();
        let kl_mean = (&kl * w).sum();
        let loss = -(&q_chain * w).sum() - beta * entropy + alpha * kl_mean;
        let std = chain
            .low
            .dist
            .std()
            .mean_axis(Axis(1))
            .map_or(F::zero(), |m| (&m * w).sum());
        let grad = match fused {
            Some(FusedLow {
                d_z_low, mut grad, ..
            }) => {
                self.online
                    .policy
                    .backward_high(&self.tiles, chain, d_z_low, &cg, &mut grad);
                grad
            }
            None => {
                let mut grad = self.online.policy.zeros_like();
                self.online
                    .policy
                    .backward(&self.tiles, chain, &cg, &mut grad);
                grad
            }
        };
        Ok(PolicyLoss {
            loss,
            entropy,
            kl: kl_mean,
            std,
            grad,
        })
    }

    /// Step 5: prior distillation `mean KL(sg(pi) || pi0)` through Eq. 11's two terms at the
    /// policy loss's chains, on the prior's parameters only.
    #[doc(alias = "Eq. 11")]
    fn prior_loss(&self, chains: &PolicyChains<F>) -> Result<(F, Option<HierarchicalPrior<F>>)> {
        let Some(prior) = &self.online.prior else {
            return Ok((F::zero(), None));
        };
        let PolicyChains { obs, w, chain, .. } = chains;
        let pf = prior.forward(&self.tiles, obs.view(), chain.latent.view())?;
        let loss = (latent_kl(chain, &pf)?.total() * w).sum();
        let mut g = prior.zeros_like();
        latent_kl_prior_backward(&self.tiles, prior, chain, &pf, w.view(), &mut g)?;
        Ok((loss, Some(g)))
    }

    /// Whether the policy loss takes the fused pass ([`bprl_policy::GaussianPolicy::chains_fused_with`]):
    /// when its low-level terms depend on each chain alone (every prior but one with a
    /// separate low level, whose KL needs another network on the chain) and the chains are
    /// enough for the tiled passes (from [`BATCHED_ROWS`] on; below, the plain passes).
    fn fuses_policy_pass(&self, batch: &LearnerBatch<F>) -> bool {
        let chains = self.config.action_samples * batch.steps * batch.batch;
        let separate = matches!(
            (&self.prior_kind, &self.target.prior),
            (PriorConfig::Learned { .. }, Some(p)) if matches!(p.low, LowLevelPrior::Separate(_))
        );
        chains >= BATCHED_ROWS && !separate
    }

    /// The policy loss's chains with the low level's forward pass, the critics at the chains'
    /// actions, the low level's loss terms and its backward pass fused tile by tile
    /// ([`bprl_policy::GaussianPolicy::chains_fused_with`]): the same numbers as [`HierLearner`]'s
    /// `policy_chains` then `policy_loss`'s low-level half, without recomputing the low
    /// level. Each step below is the unfused one's, row by row, in the same order.
    #[doc(alias = "Eq. 12")]
    fn policy_fused(
        &self,
        batch: &LearnerBatch<F>,
        noise: &HierNoise<F>,
        weights: &Weights<F>,
        online_high: Option<PolicyForward<F>>,
    ) -> Result<(PolicyChains<F>, FusedLow<F>)> {
        let (obs, w, w_obs) = self.policy_weights(batch, weights);
        let policy = &self.online.policy;
        let (high, latent) = policy.high_and_latent(
            &self.tiles,
            obs.view(),
            online_high,
            noise.policy_latent.view(),
        )?;
        let eps = &noise.policy_action;
        let n = obs.nrows();
        let critics = self.policy_critics();
        // Each critic's first-layer product of the observations, once for all their chains.
        let products = critics
            .iter()
            .map(|c| c.obs_product(obs.view()))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let beta = self.beta();
        let bx = self.action_box;
        // The unfused loss adds the KL's zero low-level gradients (every prior but none).
        let adds_kl = !matches!(self.prior_kind, PriorConfig::None);
        let q_all = Mutex::new(Array1::<F>::zeros(w.len()));
        let no_grad = || AgentError::Shape("critic returned no action gradient".into());
        let row_grad = |slot: usize,
                        rows: Range<usize>,
                        mean: ArrayView2<'_, F>,
                        std: ArrayView2<'_, F>|
         -> Result<(Array2<F>, Array2<F>)> {
            let r = rows.len();
            let eps = eps.slice(s![rows.clone(), ..]);
            let u = &mean + &(&std * &eps);
            let z = latent.slice(s![rows.clone(), ..]);
            let a = self.critic_actions(&u);
            let w_rows = w.slice(s![rows.clone()]);
            let views: Vec<_> = products
                .iter()
                .map(|(x, p)| {
                    (
                        chain_obs_rows(x.view(), rows.clone(), n),
                        chain_obs_rows(p.view(), rows.clone(), n),
                    )
                })
                .collect();
            let on = |k: usize, d_q: Option<&(dyn Fn(usize, F) -> F + Sync)>| {
                let (x, p) = &views[k];
                critics[k].rows_backward(
                    &self.tiles,
                    slot,
                    x.view(),
                    p.view(),
                    a.view(),
                    Some(z),
                    d_q,
                )
            };
            // `policy_value` row by row: the first critic attaining the minimum takes the
            // gradient; one critic's gradient is taken as it is.
            let (q, mut d) = if critics.len() == 1 {
                let dq = |i: usize, _: F| -w_rows[i];
                let (q, d) = on(0, Some(&dq))?;
                (q, d.ok_or_else(no_grad)?)
            } else {
                let qs = (0..critics.len())
                    .map(|k| Ok(on(k, None)?.0))
                    .collect::<Result<Vec<_>>>()?;
                let argmin = |i: usize| {
                    (1..qs.len()).fold(0, |best, k| if qs[k][i] < qs[best][i] { k } else { best })
                };
                let mut d = Array2::zeros((r, a.ncols()));
                for k in 0..critics.len() {
                    let dq_k = |i: usize, _: F| {
                        if argmin(i) == k {
                            -w_rows[i]
                        } else {
                            F::zero()
                        }
                    };
                    d += &on(k, Some(&dq_k))?.1.ok_or_else(no_grad)?;
                }
                let mut q = qs[0].clone();
                for other in &qs[1..] {
                    q.iter_mut().zip(other).for_each(|(a, &b)| *a = a.min(b));
                }
                (q, d)
            };
            let wc = w_rows.insert_axis(Axis(1));
            if self.config.squash {
                d.zip_mut_with(&u, |d, &u| *d *= bx.d_squash(u));
                let d_ld = u.mapv(|u| bx.d_log_det(u)) * wc * (-beta);
                d += &d_ld;
            }
            let mut d_std = std.mapv(F::recip) * wc * (-beta);
            let mut d_mean = Array2::<F>::zeros((r, a.ncols()));
            if adds_kl {
                let zeros = Array2::<F>::zeros((r, a.ncols()));
                d += &zeros;
                d_mean += &zeros;
                d_std += &zeros;
            }
            // `HierarchicalPolicy::backward`: d mu^L = d_low_mean + d_action,
            // d sigma^L = d_low_std + d_action * eps.
            let d_mean = &d_mean + &d;
            let d_std = &d_std + &(&d * &eps);
            let mut q_all = q_all
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            q_all
                .slice_mut(s![rows])
                .iter_mut()
                .zip(q)
                .for_each(|(o, v)| *o = v);
            Ok((d_mean, d_std))
        };
        let mut grad = policy.zeros_like();
        let (low, d_z_low) = policy.low.chains_fused_with(
            &self.tiles,
            obs.view(),
            latent.view(),
            &row_grad,
            &mut grad.low,
        )?;
        let action = low.dist.sample_from_noise(eps.view())?;
        let chain = HierarchicalSample {
            latent,
            latent_noise: noise.policy_latent.clone(),
            action,
            action_noise: eps.clone(),
            high,
            low,
        };
        let q = q_all
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok((
            PolicyChains {
                obs,
                w,
                w_obs,
                chain,
            },
            FusedLow { q, d_z_low, grad },
        ))
    }

    /// The policy loss's transitions `[T B, W]`, its chain weights `valid / (n_valid S)`
    /// (`[S T B]`) and their sums per transition (`[T B]`).
    fn policy_weights(
        &self,
        batch: &LearnerBatch<F>,
        weights: &Weights<F>,
    ) -> (Array2<F>, Array1<F>, Array1<F>) {
        let sc = self.config.action_samples;
        let obs = batch.head(&batch.obs).to_owned();
        let w: Array1<F> = repeat_rows(weights.w.view().insert_axis(Axis(1)), sc)
            .column(0)
            .mapv(|x| x / cst::<F>(sc as f64));
        let w_obs = sum_samples(w.view(), obs.nrows());
        (obs, w, w_obs)
    }

    /// The online chains of the policy loss: `S` per transition (the high level evaluated
    /// once per transition), with weights `valid / (n_valid S)`.
    fn policy_chains(
        &self,
        batch: &LearnerBatch<F>,
        noise: &HierNoise<F>,
        weights: &Weights<F>,
        online_high: Option<PolicyForward<F>>,
    ) -> Result<PolicyChains<F>> {
        let (obs, w, w_obs) = self.policy_weights(batch, weights);
        let chain = self.online.policy.sample_with_high(
            &self.tiles,
            obs.view(),
            online_high,
            noise.policy_latent.view(),
            noise.policy_action.view(),
        )?;
        Ok(PolicyChains {
            obs,
            w,
            w_obs,
            chain,
        })
    }
}

impl<F: Float> Algorithm<F> for Hierarchical {
    type Networks = HierNetworks<F>;
    type Noise = HierNoise<F>;

    fn networks(
        &self,
        spec: &ObservationSpec,
        action_dim: usize,
        config: &LearnerConfig,
        prior: &PriorConfig,
        rng: &mut StdRng,
    ) -> Result<HierNetworks<F>> {
        HierNetworks::new(spec, action_dim, config, &self.hierarchy, prior, rng)
    }

    fn entropy_dims(l: &HierLearner<F>) -> usize {
        l.algorithm.hierarchy.latent_dim + l.online.policy.action_dim()
    }

    fn draw_noise(l: &HierLearner<F>, batch: &LearnerBatch<F>, rng: &mut StdRng) -> HierNoise<F> {
        let (n, n_all) = (batch.steps * batch.batch, (batch.steps + 1) * batch.batch);
        let (zd, ad) = (
            l.algorithm.hierarchy.latent_dim,
            l.online.policy.action_dim(),
        );
        let sc = l.config.action_samples;
        // The order of the draws fixes the noise a seed gives.
        HierNoise {
            value_latent: noise(rng, sc * n_all, zd),
            value_action: noise(rng, sc * n_all, ad),
            kl_latent: noise(rng, n_all, zd),
            kl_action: noise(rng, n_all, ad),
            retrace_latent: noise(rng, n, zd),
            policy_latent: noise(rng, sc * n, zd),
            policy_action: noise(rng, sc * n, ad),
        }
    }

    fn losses(
        l: &HierLearner<F>,
        batch: &LearnerBatch<F>,
        noise: &HierNoise<F>,
    ) -> Result<(Metrics, HierGradients<F>)> {
        let passes = LossPasses {
            fused: l.fuses_policy_pass(batch),
            reuse_high: true,
        };
        l.losses_in(batch, noise, passes)
    }
}

impl<F: Float> HierLearner<F> {
    /// [`LearnerState::losses`] computed the way `passes` says (`losses` takes the fused pass
    /// wherever it applies and reuses the high levels' passes): the same numbers bit for bit
    /// every way, which the tests check through this.
    ///
    /// # Errors
    /// As [`LearnerState::losses`]; `passes.fused` where the fused pass does not apply (a
    /// separate prior low level, or fewer than [`BATCHED_ROWS`] chains).
    pub fn losses_with_pass(
        &self,
        batch: &LearnerBatch<F>,
        noise: &HierNoise<F>,
        passes: LossPasses,
    ) -> Result<(Metrics, HierGradients<F>)> {
        if passes.fused && !self.fuses_policy_pass(batch) {
            return Err(AgentError::Shape(format!(
                "the fused policy pass needs a prior without a separate low level and at least {BATCHED_ROWS} chains (action_samples x steps x batch = {})",
                self.config.action_samples * batch.steps * batch.batch
            )));
        }
        self.losses_in(batch, noise, passes)
    }

    fn losses_in(
        &self,
        batch: &LearnerBatch<F>,
        noise: &HierNoise<F>,
        passes: LossPasses,
    ) -> Result<(Metrics, HierGradients<F>)> {
        let l = self;
        let weights = Weights::of(batch);
        // 1-2. Soft value and Retrace targets with resampled latents.
        let (v, value_passes) = l.soft_value(batch, noise)?;
        let head = if passes.reuse_high {
            value_passes.head_rows(batch.steps * batch.batch)
        } else {
            HeadPasses::default()
        };
        drop(value_passes);
        let (z_t, q_ret) = l.latent_retrace(batch, noise, &weights, &v, head.target_high)?;
        // 3. Critic loss on Q(x_t, a_t, z_t) (each critic on the same targets).
        let (critic_loss, q_mean, mut g_critics) = critic_losses(
            &l.tiles,
            &l.online.critics(),
            batch,
            Some(z_t.view()),
            &q_ret,
            &weights,
        )?;
        // 4. Policy loss over S chains per transition.
        let (chains, fused) = if passes.fused {
            let (chains, fused) = l.policy_fused(batch, noise, &weights, head.online_high)?;
            (chains, Some(fused))
        } else {
            (
                l.policy_chains(batch, noise, &weights, head.online_high)?,
                None,
            )
        };
        let policy = l.policy_loss(&chains, batch, fused, head.prior_high)?;
        // 5. Prior distillation.
        let (prior_loss, g_prior) = l.prior_loss(&chains)?;
        let metrics = Metrics {
            critic_loss: critic_loss.as_f64(),
            policy_loss: policy.loss.as_f64(),
            prior_loss: prior_loss.as_f64(),
            kl: policy.kl.as_f64(),
            q: q_mean.as_f64(),
            entropy: policy.entropy.as_f64(),
            target: ((&q_ret * &weights.valid).sum() / weights.n_valid).as_f64(),
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
