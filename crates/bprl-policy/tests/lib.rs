//! Integration tests of `bprl-policy`: gradient checks of every module and the full
//! hierarchical chain, the shared low level, information asymmetry, latent holds, errors.

mod asymmetry;
mod chains;
mod common;
mod gradients;
mod hierarchy;
mod samples;
