//! What both algorithms compute the same way: the loss weights, the KL weight, the soft value,
//! the Retrace targets and the critic loss (DESIGN.md section 3).
//!
//! Each algorithm brings its own samples (actions `a_s ~ pi'`, or chains `z, a ~ pi'^H pi'^L`)
//! and its own probabilities; these functions turn them into the critic's regression.

use crate::batch::LearnerBatch;
use crate::config::LearnerConfig;
use crate::cst;
use crate::error::{AgentError, Result};
use bprl_nn::{Parameters, TileCache};
use bprl_policy::{Critic, Float};
use bprl_retrace::{Lambda, Sequence, retrace};
use ndarray::{Array1, Array2, Array3, ArrayView1, ArrayView2, ArrayView3, Axis, s};

/// The per-transition weights of every loss: a transition counts when its next step is real.
#[derive(Debug, Clone)]
pub struct Weights<F> {
    /// 1 for a usable transition, 0 for padding, `[T, B]`.
    pub valid: Array2<F>,
    /// `max(1, sum valid)`.
    pub n_valid: F,
    /// `valid / n_valid` as rows `t * B + b`, `[T B]`: the weights of a mean over valid rows.
    pub w: Array1<F>,
}

impl<F: Float> Weights<F> {
    /// The weights of a batch.
    pub fn of(batch: &LearnerBatch<F>) -> Self {
        let valid = batch.valid();
        let n_valid = valid.sum().max(F::one());
        let w = valid.iter().map(|&v| v / n_valid).collect();
        Self { valid, n_valid, w }
    }
}

/// `min_k Q_k(x_n, a_{s,n}[, z_{s,n}])` over one critic or twin critics (clipped double Q,
/// Fujimoto et al. 2018), `[S, N]`.
///
/// # Errors
/// Shape errors from the critics.
pub fn min_q_samples<F: Float>(
    tiles: &TileCache<F>,
    critics: &[&Critic<F>],
    obs: ArrayView2<'_, F>,
    actions: ArrayView3<'_, F>,
    latent: Option<ArrayView3<'_, F>>,
) -> Result<Array2<F>> {
    let mut out: Option<Array2<F>> = None;
    for c in critics {
        let q = c.q_samples(tiles, obs, actions, latent)?;
        out = Some(match out {
            None => q,
            Some(mut m) => {
                m.zip_mut_with(&q, |a, &b| *a = a.min(b));
                m
            }
        });
    }
    out.ok_or_else(|| AgentError::Shape("no critic".into()))
}

/// SVG(0)'s value of the policy's samples through the (minimum of the) critics, with its
/// input gradient: `Q_{s,n} = min_k Q_k(x_n, a_{s,n}[, z_{s,n}])` and `dL/da_{s,n}` for
/// `dL/dQ_{s,n} = d_q(s, n)`, which flows into the critic that attains the minimum (the
/// critics' parameters are not differentiated; their latent input neither). Returns `Q`,
/// `[S, N]`, and `dL/da`, `[S, N, A]`.
///
/// # Errors
/// Shape errors from the critics.
pub fn policy_value<F: Float>(
    tiles: &TileCache<F>,
    critics: &[&Critic<F>],
    obs: ArrayView2<'_, F>,
    actions: ArrayView3<'_, F>,
    latent: Option<ArrayView3<'_, F>>,
    d_q: &(dyn Fn(usize, usize) -> F + Sync),
) -> Result<(Array2<F>, Array3<F>)> {
    let no_grad = || AgentError::Shape("critic returned no action gradient".into());
    if let [only] = critics {
        let f = only.backward_samples(
            tiles,
            obs,
            actions,
            latent,
            &|s, n, _| d_q(s, n),
            None,
            true,
        )?;
        return Ok((f.q, f.d_action.ok_or_else(no_grad)?));
    }
    let qs = critics
        .iter()
        .map(|c| c.q_samples(tiles, obs, actions, latent))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    // The first critic attaining the minimum takes the gradient.
    let argmin = |s: usize, n: usize| {
        (1..qs.len()).fold(0, |best, k| {
            if qs[k][[s, n]] < qs[best][[s, n]] {
                k
            } else {
                best
            }
        })
    };
    let mut d_action = Array3::zeros(actions.raw_dim());
    for (k, c) in critics.iter().enumerate() {
        let f = c.backward_samples(
            tiles,
            obs,
            actions,
            latent,
            &|s, n, _| {
                if argmin(s, n) == k {
                    d_q(s, n)
                } else {
                    F::zero()
                }
            },
            None,
            true,
        )?;
        d_action += &f.d_action.ok_or_else(no_grad)?;
    }
    let mut q = qs[0].clone();
    for other in &qs[1..] {
        q.zip_mut_with(other, |a, &b| *a = a.min(b));
    }
    Ok((q, d_action))
}

/// `[T B]` rows (row `t * B + b`) as a `[T, B]` grid.
///
/// # Errors
/// A length other than `t * b`.
pub fn grid<F: Float>(rows: ArrayView1<'_, F>, t: usize, b: usize) -> Result<Array2<F>> {
    rows.as_standard_layout()
        .into_owned()
        .into_shape_with_order((t, b))
        .map_err(|e| AgentError::Shape(e.to_string()))
}

/// The KL-regularized soft value `V_t = mean_s Q'(x_t, a_s) - alpha KL_t` over all `(T+1) B`
/// rows, from `q_samples: [S, (T+1) B]` (`a_s` drawn from the target policy) and the per-row
/// KL of the online policy to the target prior.
///
/// # Errors
/// Shape or finiteness errors of [`bprl_retrace::kl_regularized_value`].
#[doc(alias = "Eq. 1")]
pub fn soft_value<F: Float>(q_samples: Array2<F>, kl: &Array1<F>, alpha: F) -> Result<Array1<F>> {
    let q = q_samples.insert_axis(Axis(2)); // [S, N, 1]
    let kl = kl.view().insert_axis(Axis(1)); // [N, 1]
    Ok(bprl_retrace::kl_regularized_value(q.view(), kl, alpha)?
        .column(0)
        .to_owned())
}

/// `log mu(a_t | x_t)` of the transitions, `[T, B]`.
pub fn behavior_log_prob<F: Float>(batch: &LearnerBatch<F>) -> ArrayView2<'_, F> {
    batch.log_mu.slice(s![..batch.steps, ..])
}

/// The Retrace targets `Q^ret`, `[T, B]`, of a batch ([`bprl_retrace::retrace`]).
///
/// # Formula
/// `c_t = lambda min(1, exp(log_rho_t))`, cut where transitions are padding (`lambda_t = 0`);
/// `Q^ret_t = Q'(x_t, a_t) + A_t`, `A_t = delta_t + gamma d_t c_{t+1} A_{t+1}` (DESIGN.md
/// section 3). `q_taken` is the target critic at the taken actions (and, for Algorithm 2, the
/// resampled latents), `[T B]`; `log_rho` the log importance ratio of the taken actions under
/// the ratio policy, `[T, B]`; `v` the soft value of every row, `[(T+1) B]`.
///
/// # Errors
/// Shape errors; a NaN ratio.
pub fn retrace_targets<F: Float>(
    config: &LearnerConfig,
    batch: &LearnerBatch<F>,
    weights: &Weights<F>,
    q_taken: ArrayView1<'_, F>,
    log_rho: ArrayView2<'_, F>,
    v: &Array1<F>,
) -> Result<Array2<F>> {
    let (t, b) = (batch.steps, batch.batch);
    let valid = &weights.valid;
    let lambda = valid.mapv(|m| cst::<F>(f64::from(config.lambda)) * m);
    let q_taken = grid(q_taken, t, b)?;
    let v_tp1 = grid(v.slice(s![b..]), t, b)?;
    let gamma = cst::<F>(f64::from(config.gamma));
    let discount = batch.discounts.mapv(|d| d * gamma) * valid;
    let rewards = &batch.rewards * valid;
    let seq = Sequence {
        q_t: q_taken.view(),
        v_tp1: v_tp1.view(),
        r_t: rewards.view(),
        discount_t: discount.view(),
    };
    Ok(retrace(&seq, log_rho, Lambda::PerStep(lambda.view()))?.targets)
}

/// [`critic_loss`] for every critic on the same targets: the mean of their losses, the first
/// critic's mean `Q`, and each critic's gradient.
///
/// # Errors
/// Shape errors from the critics.
pub fn critic_losses<F: Float>(
    tiles: &TileCache<F>,
    critics: &[&Critic<F>],
    batch: &LearnerBatch<F>,
    latent: Option<ArrayView2<'_, F>>,
    q_ret: &Array2<F>,
    weights: &Weights<F>,
) -> Result<(F, F, Vec<Critic<F>>)> {
    let mut loss = F::zero();
    let mut q_mean = F::zero();
    let mut grads = Vec::with_capacity(critics.len());
    for (k, c) in critics.iter().enumerate() {
        let (l, q, g) = critic_loss(tiles, c, batch, latent, q_ret, weights)?;
        loss += l;
        if k == 0 {
            q_mean = q;
        }
        grads.push(g);
    }
    Ok((loss / cst::<F>(critics.len().max(1) as f64), q_mean, grads))
}

/// The critic's loss `1/2 mean_valid (Q^ret - Q(x_t, a_t[, z_t]))^2`, the mean `Q(x_t, a_t)`,
/// and the loss's gradient on the online critic (scratch tiles from `tiles`).
///
/// # Errors
/// Shape errors from the critic.
pub fn critic_loss<F: Float>(
    tiles: &TileCache<F>,
    critic: &Critic<F>,
    batch: &LearnerBatch<F>,
    latent: Option<ArrayView2<'_, F>>,
    q_ret: &Array2<F>,
    weights: &Weights<F>,
) -> Result<(F, F, Critic<F>)> {
    let target = q_ret.iter().copied().collect::<Array1<F>>();
    let valid = weights.valid.iter().copied().collect::<Array1<F>>();
    let n_valid = weights.n_valid;
    let mut g = critic.zeros_like();
    // dL/dQ_n = valid_n (Q_n - Q^ret_n) / n_valid.
    let cf = critic.backward_samples(
        tiles,
        batch.head(&batch.obs),
        batch.head(&batch.actions).insert_axis(Axis(0)),
        latent.map(|z| z.insert_axis(Axis(0))),
        &|_, n, q| valid[n] * (q - target[n]) / n_valid,
        Some(&mut g),
        false,
    )?;
    let q = cf.q.row(0);
    let diff = (&q - &target) * &valid;
    let loss = diff.mapv(|d| d * d).sum() * cst::<F>(0.5) / n_valid;
    let q_mean = (&q * &valid).sum() / n_valid;
    Ok((loss, q_mean, g))
}
