//! Helpers: a small spec and steps that encode where they came from.

use bprl_replay::{
    Item, RateLimiterConfig, Replay, ReplayConfig, SequenceAdder, Step, StepKind, StepSpec,
};
use std::collections::BTreeMap;

/// Observations `proprio = [episode, t]`, `goal = [t]`; one action; one extra `z`.
pub fn spec() -> StepSpec {
    StepSpec::new(
        vec![("proprio".into(), 2), ("goal".into(), 1)],
        1,
        vec![("z".into(), 1)],
    )
    .unwrap()
}

/// Step `t` of episode `ep` of length `len` transitions (so `len + 1` steps, the last a `Last`).
pub fn step(ep: u64, t: usize, len: usize) -> Step {
    let kind = if t == 0 {
        StepKind::First
    } else if t == len {
        StepKind::Last
    } else {
        StepKind::Mid
    };
    let code = ep as f32 * 1000.0 + t as f32;
    Step {
        observation: BTreeMap::from([
            ("proprio".into(), vec![ep as f32, t as f32]),
            ("goal".into(), vec![t as f32]),
        ]),
        action: vec![code],
        reward: code,
        discount: if t + 1 == len { 0.0 } else { 1.0 },
        log_prob: -code,
        extras: BTreeMap::from([("z".into(), vec![code + 0.5])]),
        kind,
    }
}

/// All items of the given episodes, in order.
pub fn items(lengths: &[usize], seq_len: usize) -> Vec<Item> {
    let mut adder = SequenceAdder::new(spec(), seq_len).unwrap();
    let mut out = Vec::new();
    for (e, &len) in lengths.iter().enumerate() {
        for t in 0..=len {
            out.extend(adder.add(&step(e as u64 + 1, t, len)).unwrap());
        }
    }
    out
}

/// A replay with no ratio control.
pub fn replay(capacity: usize, seq_len: usize, seed: u64) -> Replay {
    Replay::new(
        spec(),
        ReplayConfig {
            capacity,
            sequence_length: seq_len,
            rate_limiter: RateLimiterConfig::min_size(1),
            seed,
        },
    )
    .unwrap()
}
