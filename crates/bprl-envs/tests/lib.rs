//! Integration tests of `bprl-envs`: determinism, specs, hand-computed rewards and endings,
//! asymmetric views, actions, vectorized stepping, rendering.

mod dynamics;
mod interface;
mod rewards;
