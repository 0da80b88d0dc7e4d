//! The general off-policy return recursion and the estimators built on it.

use crate::check;
use crate::error::{Result, RetraceError};
use ndarray::{Array, ArrayView, Axis, Dimension, NdFloat, RemoveAxis, Zip};

/// Largest log importance ratio exponentiated by untruncated importance sampling
/// (`exp(60) ≈ 1.1e26`, finite in `f32`); larger ones are clamped to it.
pub const MAX_LOG_RATIO: f64 = 60.0;

/// One batch of sequences, time-major: axis 0 is time `t in [0, T)`, the other axes (if any) are
/// batch. A single sequence is a 1-D `[T]` array; a batch is `[T, B]`.
///
/// All four arrays have the same shape. Index `t` of each refers to the transition
/// `(x_t, a_t) -> (r_t, x_{t+1})`.
#[derive(Debug, Clone, Copy)]
pub struct Sequence<'a, F, D: Dimension> {
    /// `Q'(x_t, a_t)`: the (target) critic at the taken actions, `t in [0, T)`.
    pub q_t: ArrayView<'a, F, D>,
    /// `V(x_{t+1})`: the value of the next state under the target policy, `t in [0, T)`; row
    /// `T-1` is the bootstrap value.
    pub v_tp1: ArrayView<'a, F, D>,
    /// `r_t`: the reward of transition `t`.
    pub r_t: ArrayView<'a, F, D>,
    /// `gamma * d_t` in `[0, 1]`: the discount of transition `t`, 0 where the episode ended
    /// (which cuts the trace there).
    pub discount_t: ArrayView<'a, F, D>,
}

impl<'a, F: NdFloat, D: Dimension> Sequence<'a, F, D> {
    /// Checks shapes (all equal, `T >= 1`), finiteness and `discount_t in [0, 1]`.
    ///
    /// # Errors
    /// [`RetraceError::ShapeMismatch`], [`RetraceError::EmptySequence`],
    /// [`RetraceError::NonFinite`], [`RetraceError::OutOfRange`].
    pub fn validate(&self) -> Result<()> {
        let shape = self.q_t.shape();
        check::nonempty("q_t", shape)?;
        check::shape("v_tp1", shape, self.v_tp1.shape())?;
        check::shape("r_t", shape, self.r_t.shape())?;
        check::shape("discount_t", shape, self.discount_t.shape())?;
        check::finite("q_t", &self.q_t)?;
        check::finite("v_tp1", &self.v_tp1)?;
        check::finite("r_t", &self.r_t)?;
        check::unit_interval("discount_t", &self.discount_t)
    }
}

/// The trace-decay parameter `lambda in [0, 1]`: one value, or one per step (same shape as the
/// sequence, where row `t` is `lambda_t` used in `c_t`).
#[derive(Debug, Clone, Copy)]
pub enum Lambda<'a, F, D: Dimension> {
    /// The same `lambda` at every step.
    Constant(F),
    /// `lambda_t` per step and batch element.
    PerStep(ArrayView<'a, F, D>),
}

impl<F: NdFloat, D: Dimension> Lambda<'_, F, D> {
    fn validate(&self, shape: &[usize]) -> Result<()> {
        match self {
            Lambda::Constant(l) => check::unit_interval("lambda", &ndarray::arr0(*l)),
            Lambda::PerStep(l) => {
                check::shape("lambda", shape, l.shape())?;
                check::unit_interval("lambda", l)
            }
        }
    }

    fn scale(&self, mut c: Array<F, D>) -> Array<F, D> {
        match self {
            Lambda::Constant(l) => c.mapv_inplace(|v| v * *l),
            Lambda::PerStep(l) => c.zip_mut_with(l, |v, l| *v *= *l),
        }
        c
    }
}

/// The choice of trace coefficient `c_t` that distinguishes the members of the off-policy
/// return family (Munos et al. 2016, Table 1), with `rho_t = pi(a_t|x_t) / mu(a_t|x_t)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trace {
    /// `c_t = 0`: one-step TD (expected SARSA) targets `r_t + gamma_t V(x_{t+1})`.
    OneStep,
    /// `c_t = lambda`: Harutyunyan et al.'s Q(lambda); unsafe far off-policy.
    QLambda,
    /// `c_t = lambda pi(a_t|x_t)`: tree-backup, TB(lambda) (Precup et al. 2000).
    TreeBackup,
    /// `c_t = lambda rho_t`, untruncated: importance sampling (high variance).
    ImportanceSampling,
    /// `c_t = lambda min(1, rho_t)`: Retrace(lambda) (Munos et al. 2016).
    Retrace,
}

/// Everything the recursion computed, each with the sequence's shape.
#[derive(Debug, Clone, PartialEq)]
pub struct ReturnTargets<F, D: Dimension> {
    /// The regression targets `Q^ret_t = Q'(x_t, a_t) + A_t`.
    pub targets: Array<F, D>,
    /// The trace coefficients `c_t` used (row 0 never enters the recursion).
    pub c_t: Array<F, D>,
    /// The TD errors `delta_t = r_t + gamma_t V(x_{t+1}) - Q'(x_t, a_t)`.
    pub delta_t: Array<F, D>,
    /// The accumulated corrections `A_t = delta_t + gamma_t c_{t+1} A_{t+1}`.
    pub corrections: Array<F, D>,
}

/// The trace coefficients `c_t` of a member of the return family, from log-probabilities.
///
/// # Formula
/// With `log rho_t = log pi(a_t|x_t) - log mu(a_t|x_t)`: see [`Trace`]. Ratios are formed in
/// log space; Retrace uses `exp(min(0, log rho))` and importance sampling clamps `log rho` to
/// [`MAX_LOG_RATIO`], so no `exp` of an unclamped log-ratio is taken.
///
/// # Errors
/// Shape mismatch; `lambda` outside `[0, 1]`; NaN or `+inf` in `log_pi_t`; non-finite `log_mu_t`
/// (the behavior policy must give the taken action positive probability). `-inf` in
/// `log_pi_t` (probability 0) gives `c_t = 0`.
pub fn trace_coefficients<F: NdFloat, D: Dimension>(
    trace: Trace,
    lambda: Lambda<'_, F, D>,
    log_pi_t: ArrayView<'_, F, D>,
    log_mu_t: ArrayView<'_, F, D>,
) -> Result<Array<F, D>> {
    let shape = log_pi_t.shape();
    check::shape("log_mu_t", shape, log_mu_t.shape())?;
    check::log_prob("log_pi_t", &log_pi_t)?;
    check::finite("log_mu_t", &log_mu_t)?;
    lambda.validate(shape)?;
    let max_log = F::from(MAX_LOG_RATIO).unwrap_or_else(F::max_value);
    let mut c = Array::zeros(log_pi_t.raw_dim());
    Zip::from(&mut c)
        .and(&log_pi_t)
        .and(&log_mu_t)
        .for_each(|c, &lp, &lm| {
            *c = match trace {
                Trace::OneStep => F::zero(),
                Trace::QLambda => F::one(),
                Trace::TreeBackup => lp.exp(),
                Trace::ImportanceSampling => (lp - lm).min(max_log).exp(),
                Trace::Retrace => (lp - lm).min(F::zero()).exp(),
            }
        });
    Ok(lambda.scale(c))
}

/// The general off-policy return recursion for given trace coefficients.
///
/// # Formula
/// Time-major, `t in [0, T)` (DESIGN.md section 3; Munos et al. 2016, Eq. 3 in its
/// recursive form):
///
/// ```text
/// delta_t = r_t + gamma_t V(x_{t+1}) - Q'(x_t, a_t)
/// A_{T-1} = delta_{T-1}
/// A_t     = delta_t + gamma_t c_{t+1} A_{t+1}
/// Q^ret_t = Q'(x_t, a_t) + A_t
/// ```
///
/// The trace product starts at `t+1` (`c_t` of the current step never enters: row 0 of `c_t`
/// is unused), and `gamma_t = 0` at a terminal step cuts it, so nothing after an episode's end
/// changes a target before it. Equivalently
/// `Q^ret_t = Q'_t + sum_{s>=t} (prod_{i=t}^{s-1} gamma_i)(prod_{i=t+1}^{s} c_i) delta_s`.
///
/// # Errors
/// As [`Sequence::validate`], and `c_t` of another shape, non-finite or negative.
pub fn general_off_policy_returns<F: NdFloat, D: RemoveAxis>(
    seq: &Sequence<'_, F, D>,
    c_t: ArrayView<'_, F, D>,
) -> Result<ReturnTargets<F, D>> {
    seq.validate()?;
    check::shape("c_t", seq.q_t.shape(), c_t.shape())?;
    check::non_negative("c_t", &c_t)?;
    Ok(general_unchecked(seq, c_t.to_owned()))
}

/// The recursion without validation: the caller guarantees equal shapes, `T >= 1` and finite
/// values.
fn general_unchecked<F: NdFloat, D: RemoveAxis>(
    seq: &Sequence<'_, F, D>,
    c_t: Array<F, D>,
) -> ReturnTargets<F, D> {
    let mut delta_t = seq.r_t.to_owned();
    Zip::from(&mut delta_t)
        .and(&seq.discount_t)
        .and(&seq.v_tp1)
        .and(&seq.q_t)
        .for_each(|d, &g, &v, &q| *d = *d + g * v - q);
    let mut corrections = delta_t.clone();
    let steps = corrections.len_of(Axis(0));
    for t in (0..steps.saturating_sub(1)).rev() {
        let (mut head, tail) = corrections.view_mut().split_at(Axis(0), t + 1);
        Zip::from(head.index_axis_mut(Axis(0), t))
            .and(tail.index_axis(Axis(0), 0))
            .and(seq.discount_t.index_axis(Axis(0), t))
            .and(c_t.index_axis(Axis(0), t + 1))
            .for_each(|a, &next, &g, &c| *a += g * c * next);
    }
    let targets = &seq.q_t + &corrections;
    ReturnTargets {
        targets,
        c_t,
        delta_t,
        corrections,
    }
}

/// Off-policy targets of any member of the return family from log-probabilities.
///
/// # Formula
/// [`trace_coefficients`] then [`general_off_policy_returns`].
///
/// # Errors
/// As both.
pub fn off_policy_returns<F: NdFloat, D: RemoveAxis>(
    seq: &Sequence<'_, F, D>,
    trace: Trace,
    lambda: Lambda<'_, F, D>,
    log_pi_t: ArrayView<'_, F, D>,
    log_mu_t: ArrayView<'_, F, D>,
) -> Result<ReturnTargets<F, D>> {
    seq.validate()?;
    check::shape("log_pi_t", seq.q_t.shape(), log_pi_t.shape())?;
    let c = trace_coefficients(trace, lambda, log_pi_t, log_mu_t)?;
    Ok(general_unchecked(seq, c))
}

/// Continuous-action Retrace(lambda) targets from log importance ratios.
///
/// # Formula
/// `c_t = lambda_t min(1, rho_t)`, `rho_t = exp(log_rho_t)`, then the recursion of
/// [`general_off_policy_returns`] (Munos et al. 2016; TRFL's continuous op; Acme `svg0_prior`).
/// Row 0 of `log_rho_t` does not affect the targets.
///
/// # Errors
/// As [`Sequence::validate`]; `log_rho_t` of another shape or NaN; `lambda` outside `[0, 1]`.
#[doc(alias = "retrace_continuous")]
pub fn retrace<F: NdFloat, D: RemoveAxis>(
    seq: &Sequence<'_, F, D>,
    log_rho_t: ArrayView<'_, F, D>,
    lambda: Lambda<'_, F, D>,
) -> Result<ReturnTargets<F, D>> {
    seq.validate()?;
    check::shape("log_rho_t", seq.q_t.shape(), log_rho_t.shape())?;
    if let Some((index, v)) = log_rho_t.iter().enumerate().find(|(_, v)| v.is_nan()) {
        return Err(RetraceError::NonFinite {
            what: "log_rho_t",
            index,
            value: check::as_f64(*v),
        });
    }
    lambda.validate(seq.q_t.shape())?;
    let c = lambda.scale(log_rho_t.mapv(|l| l.min(F::zero()).exp()));
    Ok(general_unchecked(seq, c))
}

/// The log importance ratio of the latent (hierarchical) policy, Algorithm 2.
///
/// # Formula
/// `log rho_t = log pi^H(z_t|x_t) + log pi^L(a_t|x_t, z_t) - log mu(a_t|x_t)`: the latent enters
/// the current policy's probability, not the behavior one's.
///
/// # Errors
/// Shape mismatch; NaN or `+inf` in the policy terms; non-finite `log_mu_t`.
pub fn latent_log_rho<F: NdFloat, D: Dimension>(
    log_pi_high_t: ArrayView<'_, F, D>,
    log_pi_low_t: ArrayView<'_, F, D>,
    log_mu_t: ArrayView<'_, F, D>,
) -> Result<Array<F, D>> {
    let shape = log_pi_high_t.shape();
    check::shape("log_pi_low_t", shape, log_pi_low_t.shape())?;
    check::shape("log_mu_t", shape, log_mu_t.shape())?;
    check::log_prob("log_pi_high_t", &log_pi_high_t)?;
    check::log_prob("log_pi_low_t", &log_pi_low_t)?;
    check::finite("log_mu_t", &log_mu_t)?;
    Ok(&log_pi_high_t + &log_pi_low_t - &log_mu_t)
}

/// Retrace(lambda) targets for a latent-variable policy: [`latent_log_rho`] then [`retrace`].
/// `seq.q_t` holds `Q'(x_t, a_t, z_t)`.
///
/// # Formula
/// `c_i = lambda min(1, pi^H(z_i|x_i) pi^L(a_i|x_i, z_i) / mu(a_i|x_i))`.
///
/// # Errors
/// As both.
pub fn retrace_latent<F: NdFloat, D: RemoveAxis>(
    seq: &Sequence<'_, F, D>,
    log_pi_high_t: ArrayView<'_, F, D>,
    log_pi_low_t: ArrayView<'_, F, D>,
    log_mu_t: ArrayView<'_, F, D>,
    lambda: Lambda<'_, F, D>,
) -> Result<ReturnTargets<F, D>> {
    let log_rho = latent_log_rho(log_pi_high_t, log_pi_low_t, log_mu_t)?;
    retrace(seq, log_rho.view(), lambda)
}

/// `n`-step bootstrapped returns, truncated at the end of the sequence.
///
/// # Formula
/// With `m = min(n, T - t)`:
/// `G_t = sum_{k<m} (prod_{j<k} gamma_{t+j}) r_{t+k} + (prod_{j<m} gamma_{t+j}) V(x_{t+m})`,
/// where `V(x_{t+m})` is `v_tp1[t+m-1]`. `n = 1` is the one-step TD target; `n >= T` the
/// Monte-Carlo return with a bootstrap at the end.
///
/// # Errors
/// Shape mismatch, non-finite values, discounts outside `[0, 1]`, or `n = 0`.
pub fn n_step_returns<F: NdFloat, D: RemoveAxis>(
    r_t: ArrayView<'_, F, D>,
    discount_t: ArrayView<'_, F, D>,
    v_tp1: ArrayView<'_, F, D>,
    n: usize,
) -> Result<Array<F, D>> {
    if n == 0 {
        return Err(RetraceError::OutOfRange {
            what: "n",
            index: 0,
            value: 0.0,
            range: "[1, inf)",
        });
    }
    let shape = r_t.shape();
    check::nonempty("r_t", shape)?;
    check::shape("discount_t", shape, discount_t.shape())?;
    check::shape("v_tp1", shape, v_tp1.shape())?;
    check::finite("r_t", &r_t)?;
    check::finite("v_tp1", &v_tp1)?;
    check::unit_interval("discount_t", &discount_t)?;
    let steps = r_t.len_of(Axis(0));
    let mut out = Array::zeros(r_t.raw_dim());
    for t in 0..steps {
        let m = n.min(steps - t);
        let mut g = out.index_axis_mut(Axis(0), t);
        let mut scale = Array::<F, _>::ones(g.raw_dim());
        for k in 0..m {
            Zip::from(&mut g)
                .and(&mut scale)
                .and(r_t.index_axis(Axis(0), t + k))
                .and(discount_t.index_axis(Axis(0), t + k))
                .for_each(|g, s, &r, &d| {
                    *g += *s * r;
                    *s *= d;
                });
        }
        Zip::from(&mut g)
            .and(&scale)
            .and(v_tp1.index_axis(Axis(0), t + m - 1))
            .for_each(|g, &s, &v| *g += s * v);
    }
    Ok(out)
}

/// The KL-regularized soft value used to bootstrap the critic.
///
/// # Formula
/// `V_t = (1/S) sum_s Q'(x_t, a_s) - alpha KL(pi(.|x_t) || pi0'(.|x^D_t))`, `a_s ~ pi'`
/// (DESIGN.md section 3; the per-step penalty of the objective
/// `sum_t gamma^t [r_t - alpha KL_t]`). `q_samples` has the sample axis first (`[S, ...]`),
/// `kl_t` the remaining shape. The current step's KL is not subtracted from `Q` itself.
///
/// # Errors
/// Shape mismatch, no samples, non-finite values, `alpha < 0` or a negative KL.
#[doc(alias = "soft_value")]
pub fn kl_regularized_value<F: NdFloat, D: RemoveAxis>(
    q_samples: ArrayView<'_, F, D>,
    kl_t: ArrayView<'_, F, D::Smaller>,
    alpha: F,
) -> Result<Array<F, D::Smaller>> {
    check::nonempty("q_samples", q_samples.shape())?;
    check::shape("kl_t", &q_samples.shape()[1..], kl_t.shape())?;
    check::finite("q_samples", &q_samples)?;
    check::non_negative("kl_t", &kl_t)?;
    check::non_negative("alpha", &ndarray::arr0(alpha))?;
    let samples = F::from(q_samples.len_of(Axis(0))).unwrap_or_else(F::one);
    let mut v = q_samples.sum_axis(Axis(0));
    Zip::from(&mut v)
        .and(&kl_t)
        .for_each(|v, &k| *v = *v / samples - alpha * k);
    Ok(v)
}
