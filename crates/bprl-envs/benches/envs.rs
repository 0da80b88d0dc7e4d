//! Environment throughput: `cargo bench -p bprl-envs`.
//!
//! Steps/s of the point mass and the reacher, single environment and a `VecEnv` of 16, with a
//! fixed cyclic action sequence (auto-resetting). No harness: plain `Instant` timing, median of
//! repeats.

use bprl_envs::{Env, Suite, VecEnv};
use std::hint::black_box;
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn single(name: &str, suite: &Suite) {
    let mut env = suite.train_env().expect("valid suite");
    let steps = 200_000;
    let times: Vec<f64> = (0..5)
        .map(|r| {
            env.reset(r);
            let start = Instant::now();
            for i in 0..steps {
                let a = [((i % 7) as f32 - 3.0) / 3.0, ((i % 5) as f32 - 2.0) / 2.0];
                let ts = env.step(&a).expect("valid action");
                if ts.is_last() {
                    env.reset(i as u64);
                }
                black_box(&ts);
            }
            start.elapsed().as_secs_f64()
        })
        .collect();
    println!(
        "{name:<11} single:     {:>12.0} steps/s",
        steps as f64 / median(times)
    );
}

fn vectorized(name: &str, suite: &Suite, n: usize) {
    let envs = (0..n)
        .map(|_| suite.train_env().expect("valid suite"))
        .collect();
    let mut v = VecEnv::new(envs, 0).expect("non-empty");
    v.reset();
    let rounds = 20_000;
    let actions: Vec<Vec<f32>> = (0..n)
        .map(|i| vec![(i as f32 / n as f32) * 2.0 - 1.0, 0.3])
        .collect();
    let times: Vec<f64> = (0..5)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..rounds {
                black_box(v.step(&actions).expect("valid actions"));
            }
            start.elapsed().as_secs_f64()
        })
        .collect();
    println!(
        "{name:<11} vec x {n:<3}:  {:>12.0} steps/s",
        (rounds * n) as f64 / median(times)
    );
}

fn main() {
    for (name, suite) in [
        ("point mass", Suite::point_mass_default()),
        ("reacher", Suite::reacher_default()),
    ] {
        single(name, &suite);
        vectorized(name, &suite, 16);
    }
}
