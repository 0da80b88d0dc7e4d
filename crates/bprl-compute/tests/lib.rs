//! Integration tests of `bprl-compute`: every kernel against f64 reference results, on every
//! instruction-set path this processor has (`Kernel::available`), and the paths' choice.

mod common;
mod cpu;
mod fastmath;
mod gemm;
mod parallel;
mod rows;
