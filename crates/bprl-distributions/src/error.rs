//! Typed errors: every public function that takes user data returns one of these instead of
//! panicking, and each variant carries the numbers that explain the failure.

use thiserror::Error;

/// What went wrong with the data given to a distribution or identity.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum DistError {
    /// Two arrays that must have the same shape (or a shape derived from each other) do not.
    #[error("shape mismatch for `{what}`: expected {expected:?}, got {actual:?}")]
    ShapeMismatch {
        /// The argument whose shape is wrong.
        what: &'static str,
        /// The shape it needed to have.
        expected: Vec<usize>,
        /// The shape it had.
        actual: Vec<usize>,
    },
    /// A value is NaN or infinite where a finite value is required.
    #[error("non-finite value {value} in `{what}` at flat index {index}")]
    NonFinite {
        /// The argument holding the value.
        what: &'static str,
        /// Row-major index of the first offending element.
        index: usize,
        /// The offending value, as `f64`.
        value: f64,
    },
    /// A standard deviation (or scale, or temperature) is `<= 0`.
    #[error("`{what}` must be > 0, got {value} at flat index {index}")]
    NonPositive {
        /// The argument holding the value.
        what: &'static str,
        /// Row-major index of the first offending element.
        index: usize,
        /// The offending value, as `f64`.
        value: f64,
    },
    /// A scalar parameter is outside its allowed range.
    #[error("`{what}` = {value} is outside {range}")]
    OutOfRange {
        /// The parameter.
        what: &'static str,
        /// Its value, as `f64`.
        value: f64,
        /// The allowed range, in words (for example `"[0, 1]"`).
        range: &'static str,
    },
    /// A point is outside the support of the distribution (for example `|a| >= 1` for a
    /// tanh-squashed Gaussian).
    #[error("`{what}` value {value} at flat index {index} is outside the support {support}")]
    OutOfSupport {
        /// The argument holding the value.
        what: &'static str,
        /// Row-major index of the first offending element.
        index: usize,
        /// The offending value, as `f64`.
        value: f64,
        /// The support, in words.
        support: &'static str,
    },
    /// An action box is empty in some dimension: `low >= high` there.
    #[error("`{what}`: dimension {index} needs low < high, got low = {low}, high = {high}")]
    EmptyBox {
        /// The argument (the bounds of a squashed distribution).
        what: &'static str,
        /// The first offending dimension.
        index: usize,
        /// Its lower bound, as `f64`.
        low: f64,
        /// Its upper bound, as `f64`.
        high: f64,
    },
    /// Two squashed distributions that must share their bijection have different action
    /// boxes (or one is bounded and the other is not).
    #[error("`{what}`: dimension {index} has box {this:?} here and {other:?} in the other")]
    BoundsMismatch {
        /// The argument.
        what: &'static str,
        /// The first dimension whose `[low, high]` differ.
        index: usize,
        /// `[low, high]` of the first distribution.
        this: [f64; 2],
        /// `[low, high]` of the second.
        other: [f64; 2],
    },
    /// A vector of probabilities does not sum to one (within [`crate::prec::NORMALIZATION`]).
    #[error("`{what}` row {row} sums to {sum}, not 1")]
    NotNormalized {
        /// The argument.
        what: &'static str,
        /// Index of the offending row (0 for a single vector).
        row: usize,
        /// Its sum.
        sum: f64,
    },
    /// A category index is not below the number of categories.
    #[error("category {index} in `{what}` row {row} is out of range for {categories} categories")]
    CategoryOutOfRange {
        /// The argument.
        what: &'static str,
        /// The row.
        row: usize,
        /// The index given.
        index: usize,
        /// The number of categories.
        categories: usize,
    },
    /// An array that must hold at least one element (a batch row, a dimension, a sample) is empty.
    #[error("`{what}` must not be empty")]
    Empty {
        /// The argument.
        what: &'static str,
    },
    /// A covariance matrix is not symmetric positive definite (its Cholesky factorization failed).
    #[error("`{what}` is not symmetric positive definite: {reason}")]
    NotPositiveDefinite {
        /// The argument.
        what: &'static str,
        /// What the factorization reported.
        reason: String,
    },
}

/// Shorthand for `Result<T, DistError>`.
pub type Result<T> = std::result::Result<T, DistError>;
