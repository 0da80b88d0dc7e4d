//! Validation helpers shared by the constructors: each returns the typed error that names the
//! argument and the first offending element.

use crate::error::{DistError, Result};
use crate::real::Real;
use ndarray::{ArrayBase, Data, Dimension};

/// Every element finite, else [`DistError::NonFinite`] with the first offender.
pub(crate) fn finite<F: Real, S: Data<Elem = F>, D: Dimension>(
    what: &'static str,
    a: &ArrayBase<S, D>,
) -> Result<()> {
    match a.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(index) => Err(DistError::NonFinite {
            what,
            index,
            value: a.iter().nth(index).map_or(f64::NAN, |v| v.as_f64()),
        }),
    }
}

/// Every element finite and `> 0`.
pub(crate) fn positive<F: Real, S: Data<Elem = F>, D: Dimension>(
    what: &'static str,
    a: &ArrayBase<S, D>,
) -> Result<()> {
    finite(what, a)?;
    match a.iter().position(|v| *v <= F::zero()) {
        None => Ok(()),
        Some(index) => Err(DistError::NonPositive {
            what,
            index,
            value: a.iter().nth(index).map_or(f64::NAN, |v| v.as_f64()),
        }),
    }
}

/// `actual == expected`, else [`DistError::ShapeMismatch`].
pub(crate) fn shape(what: &'static str, expected: &[usize], actual: &[usize]) -> Result<()> {
    if expected == actual {
        Ok(())
    } else {
        Err(DistError::ShapeMismatch {
            what,
            expected: expected.to_vec(),
            actual: actual.to_vec(),
        })
    }
}

/// A finite scalar `> 0`.
pub(crate) fn positive_scalar<F: Real>(what: &'static str, v: F) -> Result<()> {
    if !v.is_finite() {
        return Err(DistError::NonFinite {
            what,
            index: 0,
            value: v.as_f64(),
        });
    }
    if v <= F::zero() {
        return Err(DistError::NonPositive {
            what,
            index: 0,
            value: v.as_f64(),
        });
    }
    Ok(())
}
