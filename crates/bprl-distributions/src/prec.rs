//! Named tolerances, in one place (as statrs' `prec` module): tests and validation use these,
//! never bare literals.

/// Allowed deviation of a probability vector's sum from 1 when it is validated.
pub const NORMALIZATION: f64 = 1e-6;

/// Relative step of central finite differences in `f64` gradient checks.
pub const FD_STEP: f64 = 1e-6;

/// Relative-plus-absolute tolerance of an `f64` closed-form gradient against central finite
/// differences with step [`FD_STEP`].
pub const FD_TOL: f64 = 1e-5;

/// Tolerance of `f64` closed forms against an independent implementation (statrs).
pub const F64_TOL: f64 = 1e-10;

/// Tolerance of an `f32` computation against its `f64` counterpart, relative to the magnitude.
pub const F32_TOL: f64 = 1e-4;

/// Number of standard errors within which a Monte-Carlo estimate must match its expectation.
pub const MC_SIGMAS: f64 = 5.0;

/// Largest log density ratio that is exponentiated (`exp(60)` is about `1.1e26`, finite in
/// `f32`); larger ratios are clamped to it so no `exp` of an unclamped log-ratio can overflow.
pub const MAX_LOG_RATIO: f64 = 60.0;
