//! Typed errors for the estimators: each names the argument and carries the numbers.

use thiserror::Error;

/// What was wrong with the arrays given to an estimator.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum RetraceError {
    /// An array's shape differs from the one the other arguments imply.
    #[error("shape mismatch for `{what}`: expected {expected:?}, got {actual:?}")]
    ShapeMismatch {
        /// The argument whose shape is wrong.
        what: &'static str,
        /// The shape it needed to have.
        expected: Vec<usize>,
        /// The shape it had.
        actual: Vec<usize>,
    },
    /// A sequence has no time steps.
    #[error("`{what}` has no time steps (axis 0 has length 0)")]
    EmptySequence {
        /// The argument.
        what: &'static str,
    },
    /// A NaN (or, where not allowed, an infinity) at the given flat row-major index.
    #[error("non-finite value {value} in `{what}` at flat index {index}")]
    NonFinite {
        /// The argument.
        what: &'static str,
        /// Row-major index of the first offending element.
        index: usize,
        /// The value, as `f64`.
        value: f64,
    },
    /// A value outside its allowed range (`lambda` or a discount outside `[0, 1]`, `n = 0`).
    #[error("`{what}` = {value} at flat index {index} is outside {range}")]
    OutOfRange {
        /// The argument.
        what: &'static str,
        /// Row-major index of the first offending element (0 for a scalar).
        index: usize,
        /// The value, as `f64`.
        value: f64,
        /// The allowed range, in words.
        range: &'static str,
    },
    /// A discrete action index is not below the number of actions.
    #[error(
        "action {action} in `{what}` at flat index {index} is out of range for {num_actions} actions"
    )]
    ActionOutOfRange {
        /// The argument.
        what: &'static str,
        /// Row-major index in the action array.
        index: usize,
        /// The action given.
        action: usize,
        /// The number of actions.
        num_actions: usize,
    },
}

/// Shorthand for `Result<T, RetraceError>`.
pub type Result<T> = std::result::Result<T, RetraceError>;
