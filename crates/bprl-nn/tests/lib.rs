//! Integration tests of `bprl-nn`: gradient checks, optimizer, parameters, safetensors.

mod fused;
mod gradients;
mod optim;
mod storage;
