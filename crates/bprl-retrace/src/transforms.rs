//! Value transforms and value-transformed Retrace (rlax `transforms.py` and
//! `nonlinear_bellman.py`).
//!
//! A critic whose returns span orders of magnitude learns more easily a squashed value `h(Q)`
//! (Pohlen et al. 2018, "Observe and Look Further", arXiv 1805.11593; Kapturowski et al. 2019,
//! R2D2). The targets of the transformed Bellman operator are built by undoing the transform on
//! the bootstrapped values, computing the ordinary return, and transforming the result:
//!
//! ```text
//! Q^ret = h( Retrace( h^{-1}(q_t), h^{-1}(v_tp1), r_t, discount_t, c_t ) )
//! ```
//!
//! so the critic regresses `h(Q)` on `Q^ret` (rlax's `transform_values` decorator around
//! `general_off_policy_returns_from_action_values`, used by `transformed_retrace`).
//!
//! The scalar functions are total (no panic; NaN in gives NaN out, an overflowing inverse gives
//! `±inf`); [`ValueTransform`]'s array methods and [`transformed_retrace`] validate and return
//! typed errors.

use crate::check;
use crate::error::Result;
use crate::returns::{Lambda, ReturnTargets, Sequence, general_off_policy_returns, retrace};
use ndarray::{Array, ArrayView, Dimension, NdFloat, RemoveAxis};

/// The default `eps` of [`signed_hyperbolic`] and [`signed_parabolic`] (Pohlen et al. 2018;
/// rlax's default).
pub const SIGNED_HYPERBOLIC_EPS: f64 = 1e-3;

fn c<F: NdFloat>(x: f64) -> F {
    F::from(x).unwrap_or_else(F::nan)
}

/// `sign(x) ln(1 + |x|)`: rlax `signed_logp1`. Its inverse is [`signed_expm1`].
#[inline]
pub fn signed_logp1<F: NdFloat>(x: F) -> F {
    x.signum() * x.abs().ln_1p()
}

/// `d/dx signed_logp1(x) = 1 / (1 + |x|)`.
#[inline]
pub fn signed_logp1_derivative<F: NdFloat>(x: F) -> F {
    (F::one() + x.abs()).recip()
}

/// `sign(x) (exp(|x|) - 1)`, the inverse of [`signed_logp1`]: rlax `signed_expm1`
/// (evaluated with `expm1`, exact near 0; overflows to `±inf` for `|x| > ~709` in `f64`).
#[inline]
pub fn signed_expm1<F: NdFloat>(x: F) -> F {
    x.signum() * x.abs().exp_m1()
}

/// `d/dx signed_expm1(x) = exp(|x|)`.
#[inline]
pub fn signed_expm1_derivative<F: NdFloat>(x: F) -> F {
    x.abs().exp()
}

/// `h(x) = sign(x) (sqrt(|x| + 1) - 1) + eps x`: the signed hyperbolic value rescaling of
/// Pohlen et al. 2018 (rlax `signed_hyperbolic`; `eps` default [`SIGNED_HYPERBOLIC_EPS`]). Its
/// inverse is [`signed_parabolic`].
///
/// # Formula
/// `sqrt(|x| + 1) - 1` is evaluated as `|x| / (sqrt(|x| + 1) + 1)`, free of cancellation near 0.
#[inline]
pub fn signed_hyperbolic<F: NdFloat>(x: F, eps: F) -> F {
    let a = x.abs();
    x.signum() * (a / ((a + F::one()).sqrt() + F::one())) + eps * x
}

/// `h'(x) = 1 / (2 sqrt(|x| + 1)) + eps`.
#[inline]
pub fn signed_hyperbolic_derivative<F: NdFloat>(x: F, eps: F) -> F {
    (c::<F>(2.0) * (x.abs() + F::one()).sqrt()).recip() + eps
}

/// The exact inverse of [`signed_hyperbolic`] with the same `eps >= 0`: rlax
/// `signed_parabolic`.
///
/// # Formula
/// Solving `|y| = (s - 1) + eps (s^2 - 1)` for `s = sqrt(|x| + 1)`:
/// `s = (sqrt(1 + 4 eps (1 + eps + |y|)) - 1) / (2 eps)` (rlax's form), and `|x| = s^2 - 1`.
/// Evaluated as `s - 1 = 2|y| / (sqrt((1 + 2 eps)^2 + 4 eps |y|) + 1 + 2 eps)` and
/// `|x| = (s - 1)(s + 1)`: algebraically equal, free of cancellation for small `eps |y|`, and
/// valid at `eps = 0` (where `|x| = (|y| + 1)^2 - 1`).
#[inline]
pub fn signed_parabolic<F: NdFloat>(y: F, eps: F) -> F {
    let a = y.abs();
    let two = c::<F>(2.0);
    let k = F::one() + two * eps;
    let s_minus_1 = two * a / ((k * k + c::<F>(4.0) * eps * a).sqrt() + k);
    y.signum() * s_minus_1 * (s_minus_1 + two)
}

/// `d/dy signed_parabolic(y) = 1 / h'(signed_parabolic(y))`.
#[inline]
pub fn signed_parabolic_derivative<F: NdFloat>(y: F, eps: F) -> F {
    signed_hyperbolic_derivative(signed_parabolic(y, eps), eps).recip()
}

/// `sinh(x)`: rlax `hyperbolic_sin`, the inverse of [`hyperbolic_arcsin`] (overflows to
/// `±inf` for `|x| > ~710` in `f64`).
#[inline]
pub fn hyperbolic_sin<F: NdFloat>(x: F) -> F {
    x.sinh()
}

/// `d/dx sinh(x) = cosh(x)`.
#[inline]
pub fn hyperbolic_sin_derivative<F: NdFloat>(x: F) -> F {
    x.cosh()
}

/// `asinh(x) = sign(x) ln(|x| + sqrt(x^2 + 1))`: rlax `hyperbolic_arcsin`, the squashing half
/// of rlax's `HYPERBOLIC_SIN_PAIR` (`apply = arcsinh`, `apply_inv = sinh`).
#[inline]
pub fn hyperbolic_arcsin<F: NdFloat>(x: F) -> F {
    x.asinh()
}

/// `d/dx asinh(x) = 1 / sqrt(x^2 + 1)`.
#[inline]
pub fn hyperbolic_arcsin_derivative<F: NdFloat>(x: F) -> F {
    x.hypot(F::one()).recip()
}

/// A monotone value transform `h` and its inverse, chosen by configuration: rlax's `TxPair`s
/// `IDENTITY_PAIR`, `SIGNED_LOGP1_PAIR`, `SIGNED_HYPERBOLIC_PAIR` and `HYPERBOLIC_SIN_PAIR`.
///
/// | variant | `h` ([`ValueTransform::apply`]) | `h^{-1}` ([`ValueTransform::inverse`]) |
/// |---|---|---|
/// | `Identity` | `x` | `y` |
/// | `SignedLogp1` | [`signed_logp1`] | [`signed_expm1`] |
/// | `SignedHyperbolic { eps }` | [`signed_hyperbolic`] | [`signed_parabolic`] |
/// | `HyperbolicSin` | [`hyperbolic_arcsin`] | [`hyperbolic_sin`] |
///
/// (`HyperbolicSin` is named after rlax's pair; like every pair, its `apply` is the squashing
/// direction, `asinh`.)
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValueTransform<F> {
    /// No transform: [`transformed_retrace`] is [`retrace`] exactly.
    Identity,
    /// `sign(x) ln(1 + |x|)`.
    SignedLogp1,
    /// `sign(x)(sqrt(|x| + 1) - 1) + eps x`, `eps >= 0` (Pohlen et al. 2018).
    SignedHyperbolic {
        /// The linear term's weight (default [`SIGNED_HYPERBOLIC_EPS`]); `eps > 0` keeps the
        /// inverse Lipschitz.
        eps: F,
    },
    /// `asinh(x)`, inverse `sinh(y)`.
    HyperbolicSin,
}

impl<F: NdFloat> ValueTransform<F> {
    /// `SignedHyperbolic` with the default `eps` ([`SIGNED_HYPERBOLIC_EPS`]).
    pub fn signed_hyperbolic() -> Self {
        Self::SignedHyperbolic {
            eps: c(SIGNED_HYPERBOLIC_EPS),
        }
    }

    /// Checks the transform's parameter.
    ///
    /// # Errors
    /// [`crate::RetraceError::NonFinite`] or [`crate::RetraceError::OutOfRange`] (`what = "eps"`) for an `eps`
    /// that is not finite and `>= 0`.
    pub fn validate(&self) -> Result<()> {
        match self {
            Self::SignedHyperbolic { eps } => check::non_negative("eps", &ndarray::arr0(*eps)),
            _ => Ok(()),
        }
    }

    /// `h(x)`, one element (unchecked; see the module docs).
    #[inline]
    pub fn apply(&self, x: F) -> F {
        match *self {
            Self::Identity => x,
            Self::SignedLogp1 => signed_logp1(x),
            Self::SignedHyperbolic { eps } => signed_hyperbolic(x, eps),
            Self::HyperbolicSin => hyperbolic_arcsin(x),
        }
    }

    /// `h^{-1}(y)`, one element (unchecked; see the module docs).
    #[inline]
    pub fn inverse(&self, y: F) -> F {
        match *self {
            Self::Identity => y,
            Self::SignedLogp1 => signed_expm1(y),
            Self::SignedHyperbolic { eps } => signed_parabolic(y, eps),
            Self::HyperbolicSin => hyperbolic_sin(y),
        }
    }

    /// `h'(x)`, one element.
    #[inline]
    pub fn apply_derivative(&self, x: F) -> F {
        match *self {
            Self::Identity => F::one(),
            Self::SignedLogp1 => signed_logp1_derivative(x),
            Self::SignedHyperbolic { eps } => signed_hyperbolic_derivative(x, eps),
            Self::HyperbolicSin => hyperbolic_arcsin_derivative(x),
        }
    }

    /// `(h^{-1})'(y)`, one element.
    #[inline]
    pub fn inverse_derivative(&self, y: F) -> F {
        match *self {
            Self::Identity => F::one(),
            Self::SignedLogp1 => signed_expm1_derivative(y),
            Self::SignedHyperbolic { eps } => signed_parabolic_derivative(y, eps),
            Self::HyperbolicSin => hyperbolic_sin_derivative(y),
        }
    }

    /// `h` applied element-wise to an array.
    ///
    /// # Errors
    /// As [`ValueTransform::validate`]; [`crate::RetraceError::NonFinite`] naming `what` for a
    /// non-finite input, or `"h(x)"` for a result that overflowed.
    pub fn apply_array<D: Dimension>(
        &self,
        what: &'static str,
        x: ArrayView<'_, F, D>,
    ) -> Result<Array<F, D>> {
        self.map_checked(what, "h(x)", x, |v| self.apply(v))
    }

    /// `h^{-1}` applied element-wise to an array.
    ///
    /// # Errors
    /// As [`ValueTransform::validate`]; [`crate::RetraceError::NonFinite`] naming `what` for a
    /// non-finite input, or `"h^-1(y)"` for a result that overflowed (`signed_expm1` and `sinh`
    /// of values past about 709 in `f64`, 88 in `f32`).
    pub fn inverse_array<D: Dimension>(
        &self,
        what: &'static str,
        y: ArrayView<'_, F, D>,
    ) -> Result<Array<F, D>> {
        self.map_checked(what, "h^-1(y)", y, |v| self.inverse(v))
    }

    /// Validates, checks `x` is finite (naming `what`), maps `f` and checks the result is
    /// finite (naming `what_out`).
    fn map_checked<D: Dimension>(
        &self,
        what: &'static str,
        what_out: &'static str,
        x: ArrayView<'_, F, D>,
        f: impl Fn(F) -> F,
    ) -> Result<Array<F, D>> {
        self.validate()?;
        check::finite(what, &x)?;
        let y = x.mapv(f);
        check::finite(what_out, &y)?;
        Ok(y)
    }
}

/// Targets of a value-transformed return: `h(Q^ret)` for the critic, with the untransformed
/// recursion for diagnostics.
#[derive(Debug, Clone, PartialEq)]
pub struct TransformedTargets<F, D: Dimension> {
    /// `h(Q^ret_t)`, the regression targets of a critic that outputs `h(Q)`.
    pub targets: Array<F, D>,
    /// The recursion in value space, on `h^{-1}(q_t)` and `h^{-1}(v_tp1)`: its `targets` are
    /// `Q^ret_t`, and `c_t`, `delta_t`, `corrections` are in value units.
    pub untransformed: ReturnTargets<F, D>,
}

/// `seq` with `q_t` and `v_tp1` mapped back to value space by `h^{-1}`.
fn untransform<F: NdFloat, D: Dimension>(
    seq: &Sequence<'_, F, D>,
    transform: ValueTransform<F>,
) -> Result<(Array<F, D>, Array<F, D>)> {
    seq.validate()?;
    transform.validate()?;
    let q = transform.map_checked("q_t", "h^-1(q_t)", seq.q_t.view(), |y| transform.inverse(y))?;
    let v = transform.map_checked("v_tp1", "h^-1(v_tp1)", seq.v_tp1.view(), |y| {
        transform.inverse(y)
    })?;
    Ok((q, v))
}

/// `h` of the value-space targets, checked for overflow.
fn retransform<F: NdFloat, D: Dimension>(
    untransformed: ReturnTargets<F, D>,
    transform: ValueTransform<F>,
) -> Result<TransformedTargets<F, D>> {
    let targets =
        transform.map_checked("Q^ret", "h(Q^ret)", untransformed.targets.view(), |x| {
            transform.apply(x)
        })?;
    Ok(TransformedTargets {
        targets,
        untransformed,
    })
}

/// Value-transformed Retrace(lambda) targets (rlax `transformed_retrace`; Kapturowski et al.
/// 2019 with the transform of Pohlen et al. 2018).
///
/// `seq.q_t` and `seq.v_tp1` are the critic's outputs, in transformed space (`h(Q)`);
/// `seq.r_t` and `seq.discount_t` are raw. Where `V` is an average of critic outputs (the
/// KL-regularized value), average in value space (`h^{-1}` of each sample) and pass `h(V)`.
///
/// # Formula
/// `Q^ret = h( Retrace(h^{-1}(q_t), h^{-1}(v_tp1), r_t, discount_t, c_t) )` with
/// `c_t = lambda_t min(1, exp(log_rho_t))` and the recursion of [`retrace`]. With
/// [`ValueTransform::Identity`] the result equals [`retrace`] exactly.
///
/// # Errors
/// As [`retrace`] and [`ValueTransform::validate`]; [`crate::RetraceError::NonFinite`] naming
/// `h^-1(q_t)` or `h^-1(v_tp1)` where the inverse overflows (an error, not an infinite target).
pub fn transformed_retrace<F: NdFloat, D: RemoveAxis>(
    seq: &Sequence<'_, F, D>,
    log_rho_t: ArrayView<'_, F, D>,
    lambda: Lambda<'_, F, D>,
    transform: ValueTransform<F>,
) -> Result<TransformedTargets<F, D>> {
    let (q, v) = untransform(seq, transform)?;
    let value_seq = Sequence {
        q_t: q.view(),
        v_tp1: v.view(),
        r_t: seq.r_t.view(),
        discount_t: seq.discount_t.view(),
    };
    retransform(retrace(&value_seq, log_rho_t, lambda)?, transform)
}

/// Value-transformed targets of any member of the return family for given trace coefficients
/// (rlax `transformed_general_off_policy_returns_from_action_values`, in this crate's
/// `Sequence` form).
///
/// # Formula
/// `h( general_off_policy_returns(h^{-1}(q_t), h^{-1}(v_tp1), r_t, discount_t, c_t) )`, see
/// [`general_off_policy_returns`].
///
/// # Errors
/// As [`general_off_policy_returns`] and the transform's array methods.
pub fn transformed_general_off_policy_returns<F: NdFloat, D: RemoveAxis>(
    seq: &Sequence<'_, F, D>,
    c_t: ArrayView<'_, F, D>,
    transform: ValueTransform<F>,
) -> Result<TransformedTargets<F, D>> {
    let (q, v) = untransform(seq, transform)?;
    let value_seq = Sequence {
        q_t: q.view(),
        v_tp1: v.view(),
        r_t: seq.r_t.view(),
        discount_t: seq.discount_t.view(),
    };
    retransform(general_off_policy_returns(&value_seq, c_t)?, transform)
}
