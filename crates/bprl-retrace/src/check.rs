//! Validation shared by the estimators; each failure names the argument and its first bad
//! element.

use crate::error::{Result, RetraceError};
use ndarray::{ArrayBase, Data, Dimension, NdFloat};

pub(crate) fn as_f64<F: NdFloat>(v: F) -> f64 {
    num_traits::ToPrimitive::to_f64(&v).unwrap_or(f64::NAN)
}

fn first<F: NdFloat, S: Data<Elem = F>, D: Dimension>(
    a: &ArrayBase<S, D>,
    bad: impl Fn(F) -> bool,
) -> Option<(usize, F)> {
    a.iter()
        .enumerate()
        .find(|(_, v)| bad(**v))
        .map(|(i, v)| (i, *v))
}

pub(crate) fn shape(what: &'static str, expected: &[usize], actual: &[usize]) -> Result<()> {
    if expected == actual {
        Ok(())
    } else {
        Err(RetraceError::ShapeMismatch {
            what,
            expected: expected.to_vec(),
            actual: actual.to_vec(),
        })
    }
}

pub(crate) fn nonempty(what: &'static str, shape: &[usize]) -> Result<()> {
    if shape.first().copied().unwrap_or(0) == 0 {
        Err(RetraceError::EmptySequence { what })
    } else {
        Ok(())
    }
}

/// No NaN, no infinity.
pub(crate) fn finite<F: NdFloat, S: Data<Elem = F>, D: Dimension>(
    what: &'static str,
    a: &ArrayBase<S, D>,
) -> Result<()> {
    match first(a, |v| !v.is_finite()) {
        None => Ok(()),
        Some((index, v)) => Err(RetraceError::NonFinite {
            what,
            index,
            value: as_f64(v),
        }),
    }
}

/// A log-probability: `-inf` (probability 0) is allowed, NaN and `+inf` are not.
pub(crate) fn log_prob<F: NdFloat, S: Data<Elem = F>, D: Dimension>(
    what: &'static str,
    a: &ArrayBase<S, D>,
) -> Result<()> {
    match first(a, |v| v.is_nan() || v == F::infinity()) {
        None => Ok(()),
        Some((index, v)) => Err(RetraceError::NonFinite {
            what,
            index,
            value: as_f64(v),
        }),
    }
}

/// Finite and in `[0, 1]`.
pub(crate) fn unit_interval<F: NdFloat, S: Data<Elem = F>, D: Dimension>(
    what: &'static str,
    a: &ArrayBase<S, D>,
) -> Result<()> {
    finite(what, a)?;
    match first(a, |v| v < F::zero() || v > F::one()) {
        None => Ok(()),
        Some((index, v)) => Err(RetraceError::OutOfRange {
            what,
            index,
            value: as_f64(v),
            range: "[0, 1]",
        }),
    }
}

/// Finite and `>= 0`.
pub(crate) fn non_negative<F: NdFloat, S: Data<Elem = F>, D: Dimension>(
    what: &'static str,
    a: &ArrayBase<S, D>,
) -> Result<()> {
    finite(what, a)?;
    match first(a, |v| v < F::zero()) {
        None => Ok(()),
        Some((index, v)) => Err(RetraceError::OutOfRange {
            what,
            index,
            value: as_f64(v),
            range: "[0, inf)",
        }),
    }
}
