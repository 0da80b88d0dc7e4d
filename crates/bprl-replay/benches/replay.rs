//! Replay throughput with Acme-sized steps: `cargo bench -p bprl-replay`.
//!
//! Observation 55 floats (41 `proprio` + 14 `task`), action 8, L = 10, batch 256. Reports
//! steps/s through adder + insert (single thread, rate limiter off) and batches/s sampled and
//! assembled time-major. No harness: plain `Instant` timing, median of repeats.

use bprl_replay::{
    RateLimiterConfig, Replay, ReplayConfig, SequenceAdder, Step, StepKind, StepSpec,
};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Instant;

fn spec() -> StepSpec {
    StepSpec::new(vec![("proprio".into(), 41), ("task".into(), 14)], 8, vec![]).expect("valid spec")
}

fn step(t: usize, len: usize) -> Step {
    let kind = match t {
        0 => StepKind::First,
        _ if t == len => StepKind::Last,
        _ => StepKind::Mid,
    };
    Step {
        observation: BTreeMap::from([
            ("proprio".into(), vec![t as f32 * 0.01; 41]),
            ("task".into(), vec![1.0; 14]),
        ]),
        action: vec![0.1; 8],
        reward: 1.0,
        discount: 1.0,
        log_prob: -3.0,
        extras: BTreeMap::new(),
        kind,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let config = ReplayConfig {
        capacity: 100_000,
        sequence_length: 10,
        rate_limiter: RateLimiterConfig::min_size(1),
        seed: 0,
    };
    let episode = 1000;
    let steps: Vec<Step> = (0..=episode).map(|t| step(t, episode)).collect();
    let mut insert_times = Vec::new();
    let replay = Replay::new(spec(), config).expect("valid config");
    for _ in 0..7 {
        let mut adder = SequenceAdder::new(spec(), 10).expect("valid length");
        let start = Instant::now();
        for s in &steps {
            for item in adder.add(s).expect("valid step") {
                replay.insert(item, None).expect("insert");
            }
        }
        insert_times.push(start.elapsed().as_secs_f64() / steps.len() as f64);
    }
    let per_step = median(insert_times);
    println!(
        "adder + insert (obs 55, act 8, L=10): {:.2} us/step, {:.0} steps/s",
        per_step * 1e6,
        1.0 / per_step
    );
    let sample_times: Vec<f64> = (0..200)
        .map(|_| {
            let start = Instant::now();
            black_box(replay.sample(256, None).expect("sample"));
            start.elapsed().as_secs_f64()
        })
        .collect();
    let per_batch = median(sample_times);
    println!(
        "sample B=256 x (L+1)=11 time-major: {:.1} us/batch, {:.0} batches/s ({} items in table)",
        per_batch * 1e6,
        1.0 / per_batch,
        replay.stats().size
    );
}
