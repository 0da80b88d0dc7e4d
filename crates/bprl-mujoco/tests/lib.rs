//! bprl-mujoco's integration tests (one binary).
mod model;
