//! Integration tests of `bprl-compute`: every kernel against f64 reference results.

mod common;
mod fastmath;
mod gemm;
mod parallel;
