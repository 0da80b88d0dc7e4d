//! Regression tests (issue 13): learner updates are bit-identical for every thread count.
//!
//! The batched passes sum parameter gradients over tiles of rows. When the partial sums were
//! per thread, the order of the additions followed the thread count (the machine's cores), and
//! Algorithm 2, whose policy and prior passes cover five tiles at the demo's sizes, trained
//! differently on machines with different core counts. `parallel::with_threads` splits the
//! work as a machine with that many threads would.

use bprl_agents::batch::LearnerBatch;
use bprl_agents::flat::FlatLearner;
use bprl_agents::hierarchical::HierLearner;
use bprl_agents::{HierarchyConfig, LearnerConfig, LowLevel, PriorConfig};
use bprl_envs::PriorView;
use bprl_nn::{Parameters, parallel};
use bprl_policy::ObservationSpec;
use ndarray::Array2;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

fn spec() -> ObservationSpec {
    ObservationSpec::new(vec![("proprio".into(), 4), ("targets".into(), 6)])
        .unwrap_or_else(|e| panic!("{e}"))
}

const A: usize = 2;

/// Sizes at which every gradient pass covers more than two tiles of 256 rows: `T B = 640`
/// rows (the policy, the prior and the critic loss: 3 tiles), `S T B = 2560` chain rows for
/// Algorithm 2 (10 tiles).
fn config() -> LearnerConfig {
    LearnerConfig {
        batch_size: 64,
        sequence_length: 10,
        action_samples: 4,
        policy_hidden: vec![16, 16],
        critic_hidden: vec![16, 16],
        policy_lr: 1e-3,
        critic_lr: 1e-3,
        prior_lr: 1e-3,
        alpha: 0.05,
        ..LearnerConfig::default()
    }
}

fn batch(c: &LearnerConfig) -> LearnerBatch<f32> {
    let (t, b) = (c.sequence_length, c.batch_size);
    let n_all = (t + 1) * b;
    let mut rng = StdRng::seed_from_u64(5);
    LearnerBatch {
        steps: t,
        batch: b,
        obs: Array2::from_shape_simple_fn((n_all, 10), || rng.random::<f32>() * 2.0 - 1.0),
        actions: Array2::from_shape_simple_fn((n_all, A), || rng.random::<f32>() * 1.8 - 0.9),
        rewards: Array2::from_shape_simple_fn((t, b), || rng.random::<f32>()),
        discounts: Array2::ones((t, b)),
        log_mu: Array2::from_shape_simple_fn((t + 1, b), || -1.0 - rng.random::<f32>()),
        mask: Array2::ones((t + 1, b)),
    }
}

fn bits<P: Parameters<f32>>(p: &P) -> Vec<u32> {
    p.flatten().into_iter().map(f32::to_bits).collect()
}

fn prior() -> PriorConfig {
    PriorConfig::learned(PriorView::Proprio.groups())
}

/// Parameters after three updates of Algorithm 1, as bits.
fn flat_after_updates(threads: usize) -> Vec<Vec<u32>> {
    let c = config();
    let b = batch(&c);
    let mut l =
        FlatLearner::<f32>::new(&spec(), A, c, prior(), 3).unwrap_or_else(|e| panic!("{e}"));
    parallel::with_threads(threads, || {
        for _ in 0..3 {
            l.update(&b).unwrap_or_else(|e| panic!("{e}"));
        }
    });
    let prior = l.online.prior.as_ref().map(bits).unwrap_or_default();
    vec![bits(&l.online.policy), bits(&l.online.critic), prior]
}

/// Parameters after three updates of Algorithm 2 (shared low level, learned prior), as bits.
fn hier_after_updates(threads: usize) -> Vec<Vec<u32>> {
    let c = config();
    let b = batch(&c);
    let h = HierarchyConfig {
        latent_dim: 4,
        hold_steps: 1,
        low_level: LowLevel::Shared,
        low_level_groups: None,
    };
    let mut l =
        HierLearner::<f32>::new(&spec(), A, c, h, prior(), 3).unwrap_or_else(|e| panic!("{e}"));
    parallel::with_threads(threads, || {
        for _ in 0..3 {
            l.update(&b).unwrap_or_else(|e| panic!("{e}"));
        }
    });
    let prior = l.online.prior.as_ref().map(bits).unwrap_or_default();
    vec![bits(&l.online.policy), bits(&l.online.critic), prior]
}

fn check(run: fn(usize) -> Vec<Vec<u32>>, what: &str) {
    let reference = run(1);
    for threads in [2, 3, 5, 8] {
        let got = run(threads);
        for (i, name) in ["policy", "critic", "prior"].iter().enumerate() {
            assert!(
                got[i] == reference[i],
                "{what}: {name} parameters differ between 1 and {threads} threads"
            );
        }
    }
}

#[test]
fn algorithm_1_updates_are_bit_identical_for_every_thread_count() {
    check(flat_after_updates, "Algorithm 1");
}

#[test]
fn algorithm_2_updates_are_bit_identical_for_every_thread_count() {
    check(hier_after_updates, "Algorithm 2");
}
