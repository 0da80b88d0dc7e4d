//! Integration tests of `bprl-agents`: configuration, the losses against a direct computation
//! (values and finite-difference gradients), the hierarchical learner, and training runs
//! (improvement, reproducibility, checkpoint/resume, corrupted checkpoints).

mod config;
mod hier_losses;
mod losses;
mod training;
