//! Typed errors of the policy modules.

use thiserror::Error;

/// What went wrong.
#[derive(Debug, Error)]
pub enum PolicyError {
    /// A selection names a group the observation spec does not have.
    #[error("observation group `{name}` is not in the spec (groups: {available:?})")]
    MissingGroup {
        /// The missing name.
        name: String,
        /// The groups the spec has.
        available: Vec<String>,
    },
    /// Two groups share a name.
    #[error("observation group `{name}` appears twice")]
    DuplicateGroup {
        /// The repeated name.
        name: String,
    },
    /// An array of the wrong shape.
    #[error("`{what}` has shape {actual:?}, expected {expected:?}")]
    Shape {
        /// The argument.
        what: &'static str,
        /// Expected shape.
        expected: Vec<usize>,
        /// Given shape.
        actual: Vec<usize>,
    },
    /// A NaN or infinity in an input.
    #[error("non-finite value in `{what}` at flat index {index}")]
    NonFinite {
        /// The argument.
        what: &'static str,
        /// Flat index of the first bad value.
        index: usize,
    },
    /// An invalid setting.
    #[error("`{field}` = {value} is invalid: {requirement}")]
    Config {
        /// The field.
        field: &'static str,
        /// Its value.
        value: f64,
        /// What it must satisfy.
        requirement: &'static str,
    },
    /// A distribution rejected its parameters (for example a non-finite head output).
    #[error(transparent)]
    Distribution(#[from] bprl_distributions::DistError),
    /// The network layer reported an error.
    #[error(transparent)]
    Network(#[from] bprl_nn::NnError),
}

/// Shorthand for `Result<T, PolicyError>`.
pub type Result<T> = std::result::Result<T, PolicyError>;

pub(crate) fn check_shape(what: &'static str, expected: &[usize], actual: &[usize]) -> Result<()> {
    if expected == actual {
        Ok(())
    } else {
        Err(PolicyError::Shape {
            what,
            expected: expected.to_vec(),
            actual: actual.to_vec(),
        })
    }
}

pub(crate) fn check_finite<F: crate::Float, D: ndarray::Dimension>(
    what: &'static str,
    a: ndarray::ArrayView<'_, F, D>,
) -> Result<()> {
    match a.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(index) => Err(PolicyError::NonFinite { what, index }),
    }
}
