//! Integration tests of `bprl-cuda`: Philox known answers, CPU references against
//! `bprl-distributions`, NVRTC compilation of every kernel, and (on a GPU) every kernel against
//! its CPU reference. The GPU tests print that they skipped when no GPU is present.

mod common;
mod cpu_reference;
mod gpu;
mod host;
mod nvrtc;
mod philox;
