//! Retrace for discrete actions, from action values and policy probabilities.

use crate::check;
use crate::error::{Result, RetraceError};
use crate::returns::{ReturnTargets, Sequence, general_off_policy_returns};
use ndarray::{Array2, ArrayView2, ArrayView3, Axis, NdFloat, s};

/// The inputs of [`retrace_discrete`], time-major over a sampled sequence of `T+1` steps.
///
/// Rows that the recursion never reads may hold anything (TRFL's tests fill them with NaN):
/// `pi_t[0]` and `mu_t[0]` (the first step's trace coefficient never enters) and `a_t[T]`.
#[derive(Debug, Clone, Copy)]
pub struct DiscreteSequence<'a, F> {
    /// `Q'(x_t, .)`: target-network action values, `[T+1, B, A]`.
    pub q_t: ArrayView3<'a, F>,
    /// `a_t`: the taken actions, `[T+1, B]`.
    pub a_t: ArrayView2<'a, usize>,
    /// `pi(.|x_t)`: target-policy probabilities, `[T+1, B, A]`.
    pub pi_t: ArrayView3<'a, F>,
    /// `mu(a_t|x_t)`: behavior probability of the taken action, `[T+1, B]`.
    pub mu_t: ArrayView2<'a, F>,
    /// `r_t`: rewards of transitions `t in [0, T)`, `[T, B]`.
    pub r_t: ArrayView2<'a, F>,
    /// `gamma_t`: discounts of transitions `t in [0, T)` in `[0, 1]`, `[T, B]`.
    pub discount_t: ArrayView2<'a, F>,
}

/// Discrete-action Retrace(lambda) targets `Q^ret_t`, `t in [0, T)`.
///
/// # Formula
/// `V(x_{t+1}) = sum_a pi(a|x_{t+1}) Q'(x_{t+1}, a)`, `c_t = lambda min(1, pi(a_t|x_t)/mu_t)`,
/// then the recursion of [`crate::general_off_policy_returns`].
///
/// # Index mapping to TRFL's `retrace_core`
/// TRFL's `q_tm1, a_tm1, r_t, pcont_t` are our rows `[0, T)` of the learning network's
/// values, `a_t`, `r_t`, `discount_t`; its `target_policy_t, behaviour_policy_t, targnet_q_t,
/// a_t` are our rows `[1, T+1)` of `pi_t`, `mu_t`, `q_t`, `a_t`. TRFL's loss is
/// `(Q^ret_t - Q(x_t, a_t))^2 / 2` with our targets.
///
/// # Errors
/// Shape mismatch, non-finite values in the rows that are read, probabilities outside
/// `[0, 1]`, `mu_t = 0` for a taken action, an action `>= A`, `lambda` outside `[0, 1]`.
pub fn retrace_discrete<F: NdFloat>(
    seq: &DiscreteSequence<'_, F>,
    lambda: F,
) -> Result<ReturnTargets<F, ndarray::Ix2>> {
    let (t1, b, num_actions) = seq.q_t.dim();
    check::nonempty("q_t", &[t1.saturating_sub(1)])?;
    let t = t1 - 1;
    check::shape("pi_t", &[t1, b, num_actions], seq.pi_t.shape())?;
    check::shape("a_t", &[t1, b], seq.a_t.shape())?;
    check::shape("mu_t", &[t1, b], seq.mu_t.shape())?;
    check::shape("r_t", &[t, b], seq.r_t.shape())?;
    check::shape("discount_t", &[t, b], seq.discount_t.shape())?;
    check::finite("q_t", &seq.q_t)?;
    let pi_used = seq.pi_t.slice(s![1.., .., ..]);
    let mu_used = seq.mu_t.slice(s![1.., ..]);
    check::unit_interval("pi_t", &pi_used)?;
    check::unit_interval("mu_t", &mu_used)?;
    let actions_used = seq.a_t.slice(s![..t, ..]);
    if let Some((index, &action)) = actions_used
        .iter()
        .enumerate()
        .find(|(_, a)| **a >= num_actions)
    {
        return Err(RetraceError::ActionOutOfRange {
            what: "a_t",
            index,
            action,
            num_actions,
        });
    }
    check::unit_interval("lambda", &ndarray::arr0(lambda))?;

    let q_taken = Array2::from_shape_fn((t, b), |(i, j)| seq.q_t[(i, j, seq.a_t[(i, j)])]);
    let v_tp1 = Array2::from_shape_fn((t, b), |(i, j)| {
        let q = seq.q_t.index_axis(Axis(0), i + 1);
        let pi = seq.pi_t.index_axis(Axis(0), i + 1);
        q.row(j).dot(&pi.row(j))
    });
    let mut c_t = Array2::zeros((t, b));
    for i in 1..t {
        for j in 0..b {
            let mu = seq.mu_t[(i, j)];
            if mu <= F::zero() {
                return Err(RetraceError::OutOfRange {
                    what: "mu_t",
                    index: i * b + j,
                    value: 0.0,
                    range: "(0, 1] for a taken action",
                });
            }
            let rho = seq.pi_t[(i, j, seq.a_t[(i, j)])] / mu;
            c_t[(i, j)] = lambda * rho.min(F::one());
        }
    }
    let sequence = Sequence {
        q_t: q_taken.view(),
        v_tp1: v_tp1.view(),
        r_t: seq.r_t,
        discount_t: seq.discount_t,
    };
    general_off_policy_returns(&sequence, c_t.view())
}
