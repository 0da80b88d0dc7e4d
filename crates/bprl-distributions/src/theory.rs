//! The identities of KL-regularized RL with behavior priors, as checkable functions over
//! discrete action (or latent) spaces.
//!
//! Everything here is `f64` and exact (no sampling): these functions are the paper's claims
//! in a form a property test can verify on random instances. Equation numbers follow
//! Tirumala et al. 2020 (arXiv 2010.14274); `docs/equations.md` maps each to its test.
//!
//! | function | claim |
//! |---|---|
//! | [`soft_optimal_policy`] | Eq. 3-5: `pi* ∝ pi0 exp(Q/alpha)`, `V = alpha ln sum_a pi0 exp(Q/alpha)` |
//! | [`kl_regularized_value`] | the objective `E_pi[Q] - alpha KL(pi ‖ pi0)` that `pi*` maximizes |
//! | [`optimal_shared_prior`], [`expected_task_kl`] | Eq. 6-7: the prior minimizing `sum_w p(w) KL(pi_w ‖ pi0)` is the posterior mixture |
//! | [`conditional_mutual_information`], [`expected_policy_prior_kl`], [`policy_marginal`] | Eq. 9: `I(x^G; a ∣ x^D) <= E KL(pi(a∣x) ‖ pi0(a∣x^D))`, equality at the marginal |
//! | [`hierarchical_kl`] | Eq. 11: `KL(pi ‖ pi0) <= KL_H + E_{pi^H} KL_L` |
//!
//! Conventions: a probability vector is non-negative and sums to 1 within
//! [`crate::prec::NORMALIZATION`]; `0 ln 0 = 0`; a KL with `p > 0` where `q = 0` is `+inf`.

use crate::error::{DistError, Result};
use crate::prec::NORMALIZATION;
use crate::real::logsumexp;
use ndarray::{Array1, Array2, Array3, ArrayView1, ArrayView2, ArrayView3, Axis};

fn check_simplex(what: &'static str, row: usize, p: ArrayView1<'_, f64>) -> Result<()> {
    if p.is_empty() {
        return Err(DistError::Empty { what });
    }
    if let Some(index) = p.iter().position(|v| !v.is_finite()) {
        return Err(DistError::NonFinite {
            what,
            index,
            value: p[index],
        });
    }
    if let Some(index) = p.iter().position(|&v| v < 0.0) {
        return Err(DistError::OutOfRange {
            what,
            value: p[index],
            range: "[0, 1] (a probability)",
        });
    }
    let sum = p.sum();
    if (sum - 1.0).abs() > NORMALIZATION {
        return Err(DistError::NotNormalized { what, row, sum });
    }
    Ok(())
}

fn check_simplex_rows(what: &'static str, p: ArrayView2<'_, f64>) -> Result<()> {
    p.rows()
        .into_iter()
        .enumerate()
        .try_for_each(|(r, row)| check_simplex(what, r, row))
}

fn check_len(what: &'static str, expected: &[usize], actual: &[usize]) -> Result<()> {
    crate::check::shape(what, expected, actual)
}

fn kl_unchecked(p: ArrayView1<'_, f64>, q: ArrayView1<'_, f64>) -> f64 {
    p.iter()
        .zip(q.iter())
        .map(|(&p, &q)| match (p > 0.0, q > 0.0) {
            (false, _) => 0.0,
            (true, false) => f64::INFINITY,
            (true, true) => p * (p.ln() - q.ln()),
        })
        .sum()
}

/// `KL(p || q) = sum_a p(a) ln(p(a)/q(a))` of two probability vectors.
///
/// # Errors
/// Shape mismatch, or an argument that is not a probability vector.
#[doc(alias = "kl_divergence")]
pub fn kl_discrete(p: ArrayView1<'_, f64>, q: ArrayView1<'_, f64>) -> Result<f64> {
    check_simplex("p", 0, p)?;
    check_len("q", p.shape(), q.shape())?;
    check_simplex("q", 0, q)?;
    Ok(kl_unchecked(p, q))
}

/// The soft-optimal policy and value of one state.
#[derive(Debug, Clone, PartialEq)]
pub struct SoftOptimal {
    /// `pi*(a) = pi0(a) exp(Q(a)/alpha) / Z`.
    pub policy: Array1<f64>,
    /// `V = alpha ln Z = alpha ln sum_a pi0(a) exp(Q(a)/alpha)`.
    pub value: f64,
}

fn check_alpha(alpha: f64) -> Result<()> {
    if alpha.is_finite() && alpha > 0.0 {
        Ok(())
    } else {
        Err(DistError::OutOfRange {
            what: "alpha",
            value: alpha,
            range: "(0, inf)",
        })
    }
}

/// The optimal policy of the KL-regularized objective for fixed action values, and its value.
///
/// # Formula (Eq. 3-5)
/// `pi*(a|x) = pi0(a|x) exp(Q(x,a)/alpha) / Z(x)`, `V(x) = alpha ln Z(x)
/// = max_pi E_pi[Q] - alpha KL(pi || pi0)`; with `alpha = 1` this is the paper's
/// `pi* ∝ pi0 exp(Q)`, `V = ln sum pi0 exp Q`. Computed in log space, shifted by the largest
/// `Q` on the prior's support (`V = Q_max + alpha ln sum pi0 exp((Q - Q_max)/alpha)`), so
/// every `alpha > 0` gives finite numbers.
///
/// # Errors
/// `prior` not a probability vector, a length mismatch, non-finite `q_values`, or `alpha` not
/// in `(0, inf)`.
#[doc(alias = "Eq. 3")]
#[doc(alias = "Eq. 4")]
#[doc(alias = "Eq. 5")]
pub fn soft_optimal_policy(
    q_values: ArrayView1<'_, f64>,
    prior: ArrayView1<'_, f64>,
    alpha: f64,
) -> Result<SoftOptimal> {
    check_simplex("prior", 0, prior)?;
    check_len("q_values", prior.shape(), q_values.shape())?;
    crate::check::finite("q_values", &q_values)?;
    check_alpha(alpha)?;
    // Shifted by the largest action value on the prior's support, `(q - q_max) / alpha <= 0`
    // cannot overflow for any `alpha > 0` (1e-310 included): the policy tends to the argmax.
    let q_max = prior
        .iter()
        .zip(q_values.iter())
        .filter(|(p, _)| **p > 0.0)
        .map(|(_, &q)| q)
        .fold(f64::NEG_INFINITY, f64::max);
    let logits: Array1<f64> = prior
        .iter()
        .zip(q_values.iter())
        .map(|(&p, &q)| {
            if p > 0.0 {
                p.ln() + (q - q_max) / alpha
            } else {
                f64::NEG_INFINITY
            }
        })
        .collect();
    let lse = logsumexp(logits.iter().copied());
    Ok(SoftOptimal {
        policy: logits.mapv(|l| (l - lse).exp()),
        value: q_max + alpha * lse,
    })
}

/// The KL-regularized objective of one state for a given policy.
///
/// # Formula
/// `E_{a~pi}[Q(x,a)] - alpha KL(pi || pi0)` (the per-step objective of Eq. 3 with the return
/// summarized by `Q`); [`soft_optimal_policy`] maximizes it.
///
/// # Errors
/// As [`soft_optimal_policy`], and `policy` not a probability vector.
pub fn kl_regularized_value(
    policy: ArrayView1<'_, f64>,
    prior: ArrayView1<'_, f64>,
    q_values: ArrayView1<'_, f64>,
    alpha: f64,
) -> Result<f64> {
    check_alpha(alpha)?;
    crate::check::finite("q_values", &q_values)?;
    check_len("q_values", policy.shape(), q_values.shape())?;
    let kl = kl_discrete(policy, prior)?;
    Ok(policy.dot(&q_values) - alpha * kl)
}

/// The optimal prior shared across tasks that cannot see the task: the posterior mixture.
///
/// # Formula (Eq. 7)
/// `pi0*(a|x^D) = sum_w p(w|x^D) pi_w(a|x)`, the minimizer over `pi0` of Eq. 6's
/// `sum_w p(w|x^D) KL(pi_w || pi0)` ([`expected_task_kl`]).
///
/// # Errors
/// `task_posterior` (`[W]`) or a row of `task_policies` (`[W, A]`) not a probability vector,
/// or a shape mismatch.
#[doc(alias = "Eq. 7")]
pub fn optimal_shared_prior(
    task_posterior: ArrayView1<'_, f64>,
    task_policies: ArrayView2<'_, f64>,
) -> Result<Array1<f64>> {
    check_simplex("task_posterior", 0, task_posterior)?;
    check_len(
        "task_policies rows",
        &[task_posterior.len()],
        &[task_policies.nrows()],
    )?;
    check_simplex_rows("task_policies", task_policies)?;
    Ok(task_posterior.dot(&task_policies))
}

/// The expected divergence of task policies from a shared prior.
///
/// # Formula (Eq. 6)
/// `sum_w p(w|x^D) KL(pi_w(.|x) || pi0(.|x^D))`.
///
/// # Errors
/// Arguments not probability vectors, or shape mismatches.
#[doc(alias = "Eq. 6")]
pub fn expected_task_kl(
    task_posterior: ArrayView1<'_, f64>,
    task_policies: ArrayView2<'_, f64>,
    prior: ArrayView1<'_, f64>,
) -> Result<f64> {
    check_simplex("task_posterior", 0, task_posterior)?;
    check_len(
        "task_policies",
        &[task_posterior.len(), prior.len()],
        task_policies.shape(),
    )?;
    check_simplex_rows("task_policies", task_policies)?;
    check_simplex("prior", 0, prior)?;
    Ok(task_posterior
        .iter()
        .zip(task_policies.rows())
        .filter(|(w, _)| **w > 0.0)
        .map(|(w, pi)| w * kl_unchecked(pi, prior))
        .sum())
}

/// The joint `p(x^D, x^G, a) = p(x^D, x^G) pi(a | x^D, x^G)`, `[D, G, A]`.
///
/// # Errors
/// `state_dist` (`[D, G]`, summing to 1 over all entries) or a row `policy[d, g, :]` not a
/// probability vector, or a shape mismatch.
pub fn joint_distribution(
    state_dist: ArrayView2<'_, f64>,
    policy: ArrayView3<'_, f64>,
) -> Result<Array3<f64>> {
    check_state_policy(state_dist, policy)?;
    let mut joint = policy.to_owned();
    for ((d, g), &p) in state_dist.indexed_iter() {
        joint
            .slice_mut(ndarray::s![d, g, ..])
            .mapv_inplace(|v| v * p);
    }
    Ok(joint)
}

fn check_state_policy(state_dist: ArrayView2<'_, f64>, policy: ArrayView3<'_, f64>) -> Result<()> {
    let flat = state_dist.iter().copied().collect::<Array1<f64>>();
    check_simplex("state_dist", 0, flat.view())?;
    let (nd, ng) = state_dist.dim();
    check_len("policy", &[nd, ng, policy.shape()[2]], policy.shape())?;
    let rows = policy
        .to_shape((nd * ng, policy.shape()[2]))
        .map_err(|_| DistError::Empty { what: "policy" })?;
    check_simplex_rows("policy", rows.view())
}

/// The conditional mutual information between the task-specific observation `x^G` and the
/// action given the task-agnostic observation `x^D`.
///
/// # Formula (Eq. 9, left-hand side)
/// `I(x^G; a | x^D) = sum p(d,g,a) ln [ p(d,g,a) p(d) / (p(d,g) p(d,a)) ]`, from the `[D, G, A]`
/// joint (for example [`joint_distribution`]).
///
/// # Errors
/// `joint` empty, negative, non-finite or not summing to 1.
#[doc(alias = "Eq. 9")]
pub fn conditional_mutual_information(joint: ArrayView3<'_, f64>) -> Result<f64> {
    let flat = joint.iter().copied().collect::<Array1<f64>>();
    check_simplex("joint", 0, flat.view())?;
    let p_dg = joint.sum_axis(Axis(2));
    let p_da = joint.sum_axis(Axis(1));
    let p_d = p_dg.sum_axis(Axis(1));
    let mut i = 0.0;
    for ((d, g, a), &p) in joint.indexed_iter() {
        if p > 0.0 {
            i += p * (p.ln() + p_d[d].ln() - p_dg[(d, g)].ln() - p_da[(d, a)].ln());
        }
    }
    Ok(i.max(0.0))
}

/// The policy's marginal over the task-specific observation, `[D, A]`: the prior that attains
/// equality in Eq. 9.
///
/// # Formula
/// `pi(a | x^D = d) = sum_g p(g|d) pi(a|d,g)`; rows with `p(d) = 0` are set uniform (they carry
/// no weight).
///
/// # Errors
/// As [`joint_distribution`].
pub fn policy_marginal(
    state_dist: ArrayView2<'_, f64>,
    policy: ArrayView3<'_, f64>,
) -> Result<Array2<f64>> {
    let joint = joint_distribution(state_dist, policy)?;
    let mut p_da = joint.sum_axis(Axis(1));
    let na = p_da.ncols() as f64;
    for (mut row, p_d) in p_da
        .rows_mut()
        .into_iter()
        .zip(state_dist.sum_axis(Axis(1)))
    {
        if p_d > 0.0 {
            row.mapv_inplace(|v| v / p_d);
        } else {
            row.fill(1.0 / na);
        }
    }
    Ok(p_da)
}

/// The expected KL of a policy that sees `(x^D, x^G)` from a prior that sees only `x^D`.
///
/// # Formula (Eq. 9, right-hand side)
/// `E_{p(d,g)} KL(pi(.|d,g) || pi0(.|d))`; it upper-bounds [`conditional_mutual_information`],
/// with equality when `pi0` is [`policy_marginal`].
///
/// # Errors
/// As [`joint_distribution`], and `prior` (`[D, A]`) rows not probability vectors.
pub fn expected_policy_prior_kl(
    state_dist: ArrayView2<'_, f64>,
    policy: ArrayView3<'_, f64>,
    prior: ArrayView2<'_, f64>,
) -> Result<f64> {
    check_state_policy(state_dist, policy)?;
    check_len(
        "prior",
        &[state_dist.nrows(), policy.shape()[2]],
        prior.shape(),
    )?;
    check_simplex_rows("prior", prior)?;
    let mut total = 0.0;
    for ((d, g), &p) in state_dist.indexed_iter() {
        if p > 0.0 {
            let pi = policy.slice(ndarray::s![d, g, ..]);
            total += p * kl_unchecked(pi, prior.row(d));
        }
    }
    Ok(total)
}

/// The two sides of the hierarchical KL bound at one state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HierarchicalKl {
    /// `KL(pi(.|x) || pi0(.|x))` of the marginals over actions.
    pub marginal: f64,
    /// `KL_H = KL(pi^H(.|x) || pi0^H(.|x))`.
    pub high: f64,
    /// `E_{z~pi^H} KL(pi^L(.|z,x) || pi0^L(.|z,x))`.
    pub expected_low: f64,
}

impl HierarchicalKl {
    /// The upper bound `KL_H + E_{pi^H} KL_L` of Eq. 11.
    pub fn bound(&self) -> f64 {
        self.high + self.expected_low
    }
}

/// The marginal KL of two latent-variable policies and its upper bound over the two levels.
///
/// # Formula (Eq. 11)
/// With `pi(a|x) = sum_z pi^H(z|x) pi^L(a|z,x)` and likewise `pi0`:
/// `KL(pi || pi0) <= KL(pi^H || pi0^H) + E_{pi^H}[KL(pi^L || pi0^L)]` (chain rule of KL on the
/// joint over `(z, a)` plus the data-processing inequality). When the low level is shared
/// (`pi0^L = pi^L`), the second term is exactly 0.
///
/// # Errors
/// `high`, `prior_high` (`[Z]`) or rows of `low`, `prior_low` (`[Z, A]`) not probability
/// vectors, or shape mismatches.
#[doc(alias = "Eq. 11")]
pub fn hierarchical_kl(
    high: ArrayView1<'_, f64>,
    low: ArrayView2<'_, f64>,
    prior_high: ArrayView1<'_, f64>,
    prior_low: ArrayView2<'_, f64>,
) -> Result<HierarchicalKl> {
    check_simplex("high", 0, high)?;
    check_len("prior_high", high.shape(), prior_high.shape())?;
    check_simplex("prior_high", 0, prior_high)?;
    check_len("low", &[high.len(), low.ncols()], low.shape())?;
    check_simplex_rows("low", low)?;
    check_len("prior_low", low.shape(), prior_low.shape())?;
    check_simplex_rows("prior_low", prior_low)?;
    let expected_low = high
        .iter()
        .zip(low.rows().into_iter().zip(prior_low.rows()))
        .filter(|(w, _)| **w > 0.0)
        .map(|(w, (l, l0))| w * kl_unchecked(l, l0))
        .sum();
    Ok(HierarchicalKl {
        marginal: kl_unchecked(high.dot(&low).view(), prior_high.dot(&prior_low).view()),
        high: kl_unchecked(high, prior_high),
        expected_low,
    })
}
