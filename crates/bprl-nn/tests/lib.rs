//! Integration tests of `bprl-nn`: gradient checks, optimizer, parameters, safetensors.

mod fastmath;
mod gradients;
mod optim;
mod storage;
