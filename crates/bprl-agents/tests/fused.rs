//! Algorithm 2's fused policy pass (the low level's forward pass, the critics on each tile's
//! chains, the low level's loss terms and its backward pass in one tiled pass) against the
//! unfused passes it replaces: the same metrics and gradients, bit for bit, for every prior the
//! fused pass takes, on Acme's preset (one critic, no squash) and on bprl's (twin critics, a
//! squashed policy, the soft value's entropy), with masked steps and a batch whose transitions
//! are not a multiple of the tile (tiles that straddle two samples' copies); and the fused pass
//! refused where it does not apply.

use bprl_agents::batch::LearnerBatch;
use bprl_agents::{
    HierLearner, HierarchyConfig, LearnerConfig, LossPasses, LowLevel, PriorConfig, RatioPolicy,
};
use bprl_nn::Parameters;
use bprl_policy::ObservationSpec;
use ndarray::Array2;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// `S T B` = 8 x 7 x 20 = 1,120 chains: above `BATCHED_ROWS`, and `T B` = 140 is not a
/// multiple of the 256-row tile.
const T: usize = 7;
const B: usize = 20;
const S: usize = 8;
const A: usize = 2;

fn spec() -> ObservationSpec {
    ObservationSpec::new(vec![("proprio".into(), 4), ("goal".into(), 3)]).unwrap()
}

fn batch(seed: u64, t: usize, b: usize) -> LearnerBatch<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    let n_all = (t + 1) * b;
    let mut r = |lo: f32, hi: f32| lo + (hi - lo) * rng.random::<f32>();
    let mut mask = Array2::from_shape_simple_fn((t + 1, b), || 1.0);
    // Two sequences end early: their last steps are padding (zero weights in the losses).
    for k in 4..=t {
        mask[[k, 3]] = 0.0;
    }
    mask[[t, 11]] = 0.0;
    LearnerBatch {
        steps: t,
        batch: b,
        obs: Array2::from_shape_simple_fn((n_all, 7), || r(-1.0, 1.0)),
        actions: Array2::from_shape_simple_fn((n_all, A), || r(-0.95, 0.95)),
        rewards: Array2::from_shape_simple_fn((t, b), || r(-1.0, 1.0)),
        discounts: Array2::from_shape_simple_fn((t, b), || 1.0),
        log_mu: Array2::from_shape_simple_fn((t + 1, b), || r(-2.5, -0.5)),
        mask,
    }
}

fn learner(base: LearnerConfig, prior: PriorConfig, low_level: LowLevel) -> HierLearner<f32> {
    learner_sized(base, prior, low_level, (T, B, S))
}

/// A learner for sequences of `t` steps, batches of `b` and `s` action samples.
fn learner_sized(
    base: LearnerConfig,
    prior: PriorConfig,
    low_level: LowLevel,
    (t, b, s): (usize, usize, usize),
) -> HierLearner<f32> {
    let h = HierarchyConfig {
        latent_dim: 3,
        hold_steps: 1,
        low_level,
        low_level_groups: None,
    };
    let cfg = LearnerConfig {
        batch_size: b,
        sequence_length: t,
        action_samples: s,
        policy_hidden: vec![16, 12],
        critic_hidden: vec![20, 14],
        ..base
    };
    let mut l = HierLearner::<f32>::new(&spec(), A, cfg, h, prior, 11).unwrap();
    // Move the policies off their near-zero heads, so every term is far from zero.
    let mut rng = StdRng::seed_from_u64(12);
    for p in [&mut l.online.policy, &mut l.target.policy] {
        p.visit_mut("", &mut |_, mut w| {
            w.iter_mut()
                .for_each(|v| *v += 0.4 * (rng.random::<f32>() * 2.0 - 1.0));
        });
    }
    l
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// The fused pass or not, with the high levels' passes reused (as the learner runs).
fn fused(fused: bool) -> LossPasses {
    LossPasses {
        fused,
        reuse_high: true,
    }
}

/// Metrics and every gradient as bits, for comparing two ways of computing the losses.
fn loss_bits(
    l: &HierLearner<f32>,
    b: &LearnerBatch<f32>,
    noise: &bprl_agents::HierNoise<f32>,
    passes: LossPasses,
) -> (String, Vec<u32>, Vec<u32>, Option<Vec<u32>>) {
    let (m, g) = l.losses_with_pass(b, noise, passes).unwrap();
    assert!(m.policy_loss.is_finite() && m.policy_loss != 0.0);
    assert!(g.policy.flatten().iter().any(|&v| v != 0.0));
    (
        format!("{m:?}"),
        bits(&g.policy.flatten()),
        bits(&g.critic.flatten()),
        g.prior.as_ref().map(|p| bits(&p.flatten())),
    )
}

#[test]
fn fused_policy_pass_equals_the_unfused_passes() {
    let priors = [
        PriorConfig::None,
        PriorConfig::StandardNormal,
        PriorConfig::learned(&["proprio"]),
    ];
    for (name, base) in [
        ("acme", LearnerConfig::acme()),
        ("bprl", LearnerConfig::default()),
    ] {
        for prior in &priors {
            let mut l = learner(base.clone(), prior.clone(), LowLevel::Shared);
            for step in 0..2 {
                let b = batch(20 + step, T, B);
                let noise = l.next_noise(&b);
                let (m_f, g_f) = l.losses_with_pass(&b, &noise, fused(true)).unwrap();
                let (m_u, g_u) = l.losses_with_pass(&b, &noise, fused(false)).unwrap();
                let what = format!("{name}, {prior:?}, step {step}");
                // Debug prints each f64 in its shortest round-trip form: equal strings, equal bits.
                assert_eq!(format!("{m_f:?}"), format!("{m_u:?}"), "{what}: metrics");
                assert!(
                    m_f.policy_loss.is_finite() && m_f.policy_loss != 0.0,
                    "{what}"
                );
                assert_eq!(
                    bits(&g_f.policy.flatten()),
                    bits(&g_u.policy.flatten()),
                    "{what}: policy"
                );
                assert_eq!(
                    bits(&g_f.critic.flatten()),
                    bits(&g_u.critic.flatten()),
                    "{what}: critic"
                );
                let flat = |g: &Option<bprl_policy::HierarchicalPrior<f32>>| {
                    g.as_ref().map(|p| bits(&p.flatten()))
                };
                assert_eq!(flat(&g_f.prior), flat(&g_u.prior), "{what}: prior");
                assert!(g_f.policy.flatten().iter().any(|&v| v != 0.0), "{what}");
                // The learner's own update takes the fused pass, and moves on.
                l.update(&b).unwrap();
            }
        }
    }
}

/// The fused pass is refused where it does not apply: a prior with a separate low level (its
/// KL needs the prior's low level on every chain), and fewer chains than the tiled passes
/// take; the learner then runs the unfused passes.
#[test]
fn fused_policy_pass_is_refused_where_it_does_not_apply() {
    let mut l = learner(
        LearnerConfig::acme(),
        PriorConfig::learned(&["proprio"]),
        LowLevel::Separate,
    );
    let b = batch(3, T, B);
    let noise = l.next_noise(&b);
    assert!(l.losses_with_pass(&b, &noise, fused(true)).is_err());
    assert!(l.losses_with_pass(&b, &noise, fused(false)).is_ok());
    l.update(&b).unwrap();
    let l = learner(LearnerConfig::acme(), PriorConfig::None, LowLevel::Shared);
    let small = batch(4, 2, B);
    let noise = l.next_noise(&small);
    let err = l.losses_with_pass(&small, &noise, fused(true)).unwrap_err();
    assert!(err.to_string().contains("1024"), "{err}");
    assert!(l.losses_with_pass(&small, &noise, fused(false)).is_ok());
}

/// The steps after the soft value take the high levels' passes on the transitions (`T B` rows)
/// from the soft value's on every observation (`(T + 1) B` rows): the same metrics and
/// gradients, bit for bit, as computing them again, for every prior (a separate low level
/// too), both presets, both ratio policies and the fused pass or not; with `T B` above
/// `BATCHED_ROWS` and not a multiple of the 256-row tile (a last tile that is partial in one
/// pass and not in the other), and with `T B` below it while `(T + 1) B` is above (no reuse).
#[test]
fn reused_high_level_passes_equal_fresh_ones() {
    let cases = [
        (PriorConfig::None, LowLevel::Shared),
        (PriorConfig::StandardNormal, LowLevel::Shared),
        (PriorConfig::learned(&["proprio"]), LowLevel::Shared),
        (PriorConfig::learned(&["proprio"]), LowLevel::Separate),
    ];
    // T B = 1,050 (tiles of 256: the last one partial, 26 rows; 1,200 observations);
    // T B = 1,020 < 1,024 <= (T + 1) B = 1,160.
    for (t, b_size) in [(7, 150), (17, 60)] {
        for (name, base) in [
            ("acme", LearnerConfig::acme()),
            ("bprl", LearnerConfig::default()),
        ] {
            for (prior, low) in &cases {
                let base = LearnerConfig {
                    ratio_policy: if name == "bprl" {
                        RatioPolicy::Online
                    } else {
                        RatioPolicy::Target
                    },
                    ..base.clone()
                };
                let mut l = learner_sized(base, prior.clone(), *low, (t, b_size, 2));
                for step in 0..2 {
                    let b = batch(40 + step, t, b_size);
                    let noise = l.next_noise(&b);
                    let fuse = l.losses_with_pass(&b, &noise, fused(true)).is_ok();
                    for fused in [false, fuse] {
                        let fresh = LossPasses {
                            fused,
                            reuse_high: false,
                        };
                        let reused = LossPasses {
                            fused,
                            reuse_high: true,
                        };
                        assert_eq!(
                            loss_bits(&l, &b, &noise, reused),
                            loss_bits(&l, &b, &noise, fresh),
                            "T={t} B={b_size}, {name}, {prior:?}, {low:?}, fused {fused}, step {step}"
                        );
                    }
                    l.update(&b).unwrap();
                }
            }
        }
    }
}
