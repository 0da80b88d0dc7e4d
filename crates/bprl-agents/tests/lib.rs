//! Integration tests of `bprl-agents`: configuration, the losses against a direct computation
//! (values and finite-difference gradients), the hierarchical learner, and training runs
//! (improvement, reproducibility, checkpoint/resume, corrupted checkpoints), and updates that are
//! bit-identical for every thread count.

mod config;
mod corpus;
mod durability;
mod fused;
mod hier_losses;
mod losses;
mod options;
mod strict;
mod threads;
mod training;
