//! Integration tests of `bprl-cuda`: Philox known answers, CPU references against
//! `bprl-distributions`, the kernels compiled as host C++ against the CPU references bit for
//! bit (`host`), NVRTC compilation of every kernel with its exact entry point and parameter
//! list (`nvrtc`), and on a GPU every kernel against its CPU reference within a stated bound
//! (`gpu`). The GPU tests print that they skipped when no GPU is present, unless
//! `BPRL_REQUIRE_GPU=1`, which makes them fail.

mod common;
mod cpu_reference;
mod gpu;
mod host;
mod nvrtc;
mod philox;
