//! # bprl-retrace
//!
//! Retrace(lambda) and the off-policy return family, as pure functions over time-major arrays.
//!
//! ## The domain
//!
//! An off-policy critic learns `Q^pi` of the current policy `pi` from sequences collected by an
//! older behavior policy `mu`. Munos et al. 2016 ("Safe and Efficient Off-Policy Reinforcement
//! Learning") write the whole family of multi-step corrections as one recursion that differs
//! only in the *trace coefficient* `c_t`:
//!
//! ```text
//! delta_t = r_t + gamma_t V(x_{t+1}) - Q'(x_t, a_t)
//! A_t     = delta_t + gamma_t c_{t+1} A_{t+1},   A_{T-1} = delta_{T-1}
//! Q^ret_t = Q'(x_t, a_t) + A_t
//! ```
//!
//! | [`Trace`] | `c_t` | property |
//! |---|---|---|
//! | `OneStep` | `0` | one-step TD / expected SARSA |
//! | `QLambda` | `lambda` | low variance, unsafe far off-policy |
//! | `TreeBackup` | `lambda pi(a_t\|x_t)` | safe, but cuts traces even on-policy |
//! | `ImportanceSampling` | `lambda rho_t` | unbiased, unbounded variance |
//! | `Retrace` | `lambda min(1, rho_t)` | safe, efficient, low variance |
//!
//! with `rho_t = pi(a_t|x_t) / mu(a_t|x_t)`. In the behavior-prior agent (Tirumala et al.
//! 2020, Algorithms 1 and 2) the critic regresses on Retrace targets whose bootstrap value is
//! the KL-regularized [`kl_regularized_value`]; for latent policies the ratio is
//! [`latent_log_rho`].
//!
//! A critic of widely ranging returns can learn a squashed value `h(Q)` instead: the
//! [`ValueTransform`]s (rlax's transform pairs: [`signed_logp1`] / [`signed_expm1`],
//! [`signed_hyperbolic`] / [`signed_parabolic`] of Pohlen et al. 2018, [`hyperbolic_arcsin`] /
//! [`hyperbolic_sin`], each with its derivative) and [`transformed_retrace`] (rlax
//! `transformed_retrace`: `h` of the Retrace target computed on `h^{-1}` of the bootstrapped
//! values) provide that.
//!
//! ## Conventions (stated once, followed everywhere)
//!
//! - **Time-major**: axis 0 is time `t in [0, T)`; the remaining axes are batch. A single
//!   sequence is a 1-D `[T]` array, a batch `[T, B]`; every function is generic over that.
//! - **Alignment**: index `t` of every input refers to the transition
//!   `(x_t, a_t) -> (r_t, x_{t+1})`; `v_tp1[t]` is `V(x_{t+1})`, so `v_tp1[T-1]` is the
//!   bootstrap value. The trace product starts at `t+1`: `c_0` never enters (the paper's
//!   printed `prod_{i=t'}` is a typo).
//! - **Episode ends** are zero discounts: `discount_t = gamma * d_t` with `d_t = 0` at a
//!   terminal transition cuts the trace, so a sequence may cross an episode boundary.
//! - **Errors**: every function validates (shapes, NaN, `lambda` and discounts in `[0, 1]`) and
//!   returns [`RetraceError`]; nothing panics on user data.
//! - **Scalars**: `f32` or `f64` (any `ndarray::NdFloat`).
//! - **Numerics**: ratios are formed in log space; `exp` is only taken of a clamped log-ratio.
//!
//! ## Example
//!
//! ```
//! use bprl_retrace::{Lambda, Sequence, retrace};
//! use ndarray::array;
//!
//! // One sequence of T = 3 transitions, the last one terminal.
//! let q_t = array![1.0f32, 2.0, 3.0];
//! let v_tp1 = array![2.0f32, 3.0, 0.0];
//! let r_t = array![0.0f32, 0.0, 1.0];
//! let discount_t = array![0.99f32, 0.99, 0.0];
//! let log_rho_t = array![0.0f32, -0.5, 0.3];
//! let seq = Sequence { q_t: q_t.view(), v_tp1: v_tp1.view(), r_t: r_t.view(), discount_t: discount_t.view() };
//! let out = retrace(&seq, log_rho_t.view(), Lambda::Constant(1.0))?;
//! assert_eq!(out.targets[2], 1.0); // terminal: just the reward
//! # Ok::<(), bprl_retrace::RetraceError>(())
//! ```

// Every public item is documented: users pick this crate alone, so its docs are the manual.
#![deny(missing_docs)]

mod check;
mod discrete;
mod error;
mod returns;
mod transforms;

pub use discrete::{DiscreteSequence, retrace_discrete};
pub use error::{Result, RetraceError};
pub use returns::{
    Lambda, MAX_LOG_RATIO, ReturnTargets, Sequence, Trace, general_off_policy_returns,
    kl_regularized_value, latent_log_rho, n_step_returns, off_policy_returns, retrace,
    retrace_latent, trace_coefficients,
};
pub use transforms::{
    SIGNED_HYPERBOLIC_EPS, TransformedTargets, ValueTransform, hyperbolic_arcsin,
    hyperbolic_arcsin_derivative, hyperbolic_sin, hyperbolic_sin_derivative, signed_expm1,
    signed_expm1_derivative, signed_hyperbolic, signed_hyperbolic_derivative, signed_logp1,
    signed_logp1_derivative, signed_parabolic, signed_parabolic_derivative,
    transformed_general_off_policy_returns, transformed_retrace,
};
