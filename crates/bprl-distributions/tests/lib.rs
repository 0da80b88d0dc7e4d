//! Integration tests of `bprl-distributions`: one binary, one module per topic.

mod categorical;
mod common;
mod diag_gaussian;
mod errors;
#[cfg(feature = "lapack")]
mod full_gaussian;
mod fuzz;
mod mixture;
mod monte_carlo;
mod tanh_gaussian;
mod theory;
