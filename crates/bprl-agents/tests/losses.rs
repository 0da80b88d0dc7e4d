//! The learner's losses against a straightforward computation on tiny networks: per-row loops
//! for the soft value, a brute-force Retrace double sum, the three losses; and every gradient
//! against central finite differences of those direct losses (f64).

use bprl_agents::batch::LearnerBatch;
use bprl_agents::flat::{FlatLearner, UpdateNoise};
use bprl_agents::{LearnerConfig, PriorConfig};
use bprl_nn::Parameters;
use bprl_nn::gradcheck::{finite_difference, max_error};
use bprl_policy::{Critic, GaussianPolicy, ObservationSpec};
use ndarray::{Array1, Array2, array};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

pub(crate) const T: usize = 3;
pub(crate) const B: usize = 2;
pub(crate) const A: usize = 2;

pub(crate) fn spec() -> ObservationSpec {
    ObservationSpec::new(vec![("proprio".into(), 3), ("goal".into(), 2)]).unwrap()
}

pub(crate) fn config(alpha: f32, lambda: f32) -> LearnerConfig {
    LearnerConfig {
        gamma: 0.9,
        batch_size: B,
        sequence_length: T,
        alpha,
        beta: 0.2,
        lambda,
        action_samples: 2,
        policy_hidden: vec![4],
        critic_hidden: vec![5],
        ..LearnerConfig::acme()
    }
}

pub(crate) fn scramble<P: Parameters<f64>>(p: &mut P, rng: &mut StdRng, scale: f64) {
    let v: Vec<f64> = (0..p.num_params())
        .map(|_| scale * (rng.random::<f64>() * 2.0 - 1.0))
        .collect();
    p.assign_flat(&v);
}

fn learner(prior: PriorConfig, alpha: f32, lambda: f32) -> FlatLearner<f64> {
    let mut l = FlatLearner::<f64>::new(&spec(), A, config(alpha, lambda), prior, 3).unwrap();
    let mut rng = StdRng::seed_from_u64(4);
    scramble(&mut l.online.policy, &mut rng, 0.6);
    scramble(&mut l.target.policy, &mut rng, 0.6);
    scramble(&mut l.online.critic, &mut rng, 0.6);
    scramble(&mut l.target.critic, &mut rng, 0.6);
    if let (Some(a), Some(b)) = (&mut l.online.prior, &mut l.target.prior) {
        scramble(a, &mut rng, 0.6);
        scramble(b, &mut rng, 0.6);
    }
    l
}

pub(crate) fn batch() -> LearnerBatch<f64> {
    let mut rng = StdRng::seed_from_u64(5);
    let n_all = (T + 1) * B;
    let mut r = |lo: f64, hi: f64| lo + (hi - lo) * rng.random::<f64>();
    LearnerBatch {
        steps: T,
        batch: B,
        obs: Array2::from_shape_simple_fn((n_all, 5), || r(-1.0, 1.0)),
        actions: Array2::from_shape_simple_fn((n_all, A), || r(-0.9, 0.9)),
        rewards: array![[0.5, -0.2], [1.0, 0.3], [0.0, 0.0]],
        // Sequence 1 terminates at t = 1; its step 3 is padding.
        discounts: array![[1.0, 1.0], [1.0, 0.0], [1.0, 0.0]],
        log_mu: Array2::from_shape_simple_fn((T + 1, B), || r(-2.5, -0.5)),
        mask: array![[1.0, 1.0], [1.0, 1.0], [1.0, 1.0], [1.0, 0.0]],
    }
}

/// Row `i` of a batch-sized array as a `[1, k]` array.
pub(crate) fn row(a: &Array2<f64>, i: usize) -> Array2<f64> {
    a.row(i).to_owned().insert_axis(ndarray::Axis(0))
}

pub(crate) fn kl_row(mp: &[f64], sp: &[f64], mq: &[f64], sq: &[f64]) -> f64 {
    (0..mp.len())
        .map(|d| {
            (sq[d] / sp[d]).ln() + (sp[d].powi(2) + (mp[d] - mq[d]).powi(2)) / (2.0 * sq[d].powi(2))
                - 0.5
        })
        .sum()
}

fn mean_std(p: &GaussianPolicy<f64>, x: &Array2<f64>) -> (Vec<f64>, Vec<f64>) {
    let d = p.forward(x.view(), None).unwrap().dist;
    (d.mean().row(0).to_vec(), d.std().row(0).to_vec())
}

fn q(c: &Critic<f64>, x: &Array2<f64>, a: &[f64]) -> f64 {
    c.q(
        x.view(),
        Array2::from_shape_vec((1, a.len()), a.to_vec())
            .unwrap()
            .view(),
        None,
    )
    .unwrap()[0]
}

/// KL of the online policy to the target prior at row `i` (0 without a prior).
fn kl_to_prior(l: &FlatLearner<f64>, policy: &GaussianPolicy<f64>, x: &Array2<f64>) -> f64 {
    let (m, s) = mean_std(policy, x);
    match (&l.prior_kind, &l.target.prior) {
        (PriorConfig::Learned { .. }, Some(p)) => {
            let (mq, sq) = mean_std(p, x);
            kl_row(&m, &s, &mq, &sq)
        }
        (PriorConfig::StandardNormal, _) => kl_row(&m, &s, &[0.0; A], &[1.0; A]),
        _ => 0.0,
    }
}

fn alpha(l: &FlatLearner<f64>) -> f64 {
    if l.prior_kind == PriorConfig::None {
        0.0
    } else {
        f64::from(l.config.alpha)
    }
}

/// Direct Retrace targets: soft value by loops, then the brute-force double sum.
fn direct_targets(
    l: &FlatLearner<f64>,
    b: &LearnerBatch<f64>,
    noise: &UpdateNoise<f64>,
) -> Array2<f64> {
    let s_count = l.config.action_samples;
    let n_all = (T + 1) * B;
    let v: Vec<f64> = (0..n_all)
        .map(|i| {
            let x = row(&b.obs, i);
            let (m, s) = mean_std(&l.target.policy, &x);
            let mut total = 0.0;
            for k in 0..s_count {
                let a: Vec<f64> = (0..A)
                    .map(|d| m[d] + s[d] * noise.value[(k, i, d)])
                    .collect();
                total += q(&l.target.critic, &x, &a);
            }
            total / s_count as f64 - alpha(l) * kl_to_prior(l, &l.online.policy, &x)
        })
        .collect();
    let valid = b.valid();
    let gamma = f64::from(l.config.gamma);
    let lambda = f64::from(l.config.lambda);
    let c = |t: usize, j: usize| {
        let i = t * B + j;
        let x = row(&b.obs, i);
        let (m, s) = mean_std(&l.target.policy, &x);
        let log_pi: f64 = (0..A)
            .map(|d| {
                -0.5 * ((b.actions[(i, d)] - m[d]) / s[d]).powi(2)
                    - s[d].ln()
                    - 0.5 * (2.0 * std::f64::consts::PI).ln()
            })
            .sum();
        lambda * (log_pi - b.log_mu[(t, j)]).exp().min(1.0) * valid[(t, j)]
    };
    let q_at = |i: usize| {
        q(
            &l.target.critic,
            &row(&b.obs, i),
            &b.actions.row(i).to_vec(),
        )
    };
    brute_force_retrace(b, gamma, &v, &q_at, &c)
}

/// Retrace targets by the brute-force double sum `Q^ret_t = Q(t) + sum_{s >= t} gamma^{s-t}
/// (prod_{u=t+1..s} c_u) delta_s`, `delta_s = r_s + gamma d_s V_{s+1} - Q(s)`, cut at padding:
/// `q_at(i)` is `Q` of row `i = t B + j`, `c(t, j)` the trace, `v` the soft value of every row.
pub(crate) fn brute_force_retrace(
    b: &LearnerBatch<f64>,
    gamma: f64,
    v: &[f64],
    q_at: &dyn Fn(usize) -> f64,
    c: &dyn Fn(usize, usize) -> f64,
) -> Array2<f64> {
    let valid = b.valid();
    Array2::from_shape_fn((T, B), |(t, j)| {
        let qt = |s: usize| q_at(s * B + j);
        let mut total = qt(t);
        for s in t..T {
            let disc = |u: usize| gamma * b.discounts[(u, j)] * valid[(u, j)];
            let delta = b.rewards[(s, j)] * valid[(s, j)] + disc(s) * v[(s + 1) * B + j] - qt(s);
            let gammas: f64 = (t..s).map(disc).product();
            let traces: f64 = (t + 1..=s).map(|u| c(u, j)).product();
            total += gammas * traces * delta;
        }
        total
    })
}

pub(crate) fn weights(b: &LearnerBatch<f64>) -> (Array1<f64>, f64) {
    let valid: Array1<f64> = b.valid().iter().copied().collect();
    let n_valid = valid.sum();
    (valid / n_valid, n_valid)
}

fn direct_critic_loss(critic: &Critic<f64>, b: &LearnerBatch<f64>, targets: &Array2<f64>) -> f64 {
    let (w, _) = weights(b);
    (0..T * B)
        .map(|i| {
            w[i] * 0.5
                * (targets[(i / B, i % B)] - q(critic, &row(&b.obs, i), &b.actions.row(i).to_vec()))
                    .powi(2)
        })
        .sum()
}

fn direct_policy_loss(
    l: &FlatLearner<f64>,
    policy: &GaussianPolicy<f64>,
    b: &LearnerBatch<f64>,
    noise: &UpdateNoise<f64>,
) -> f64 {
    let (w, _) = weights(b);
    let s_count = l.config.action_samples;
    let beta = f64::from(l.config.beta);
    (0..T * B)
        .map(|i| {
            let x = row(&b.obs, i);
            let (m, s) = mean_std(policy, &x);
            let q_mean: f64 = (0..s_count)
                .map(|k| {
                    q(
                        &l.target.critic,
                        &x,
                        &(0..A)
                            .map(|d| m[d] + s[d] * noise.policy[(k, i, d)])
                            .collect::<Vec<_>>(),
                    )
                })
                .sum::<f64>()
                / s_count as f64;
            let entropy: f64 = s
                .iter()
                .map(|s| s.ln() + 0.5 * (1.0 + (2.0 * std::f64::consts::PI).ln()))
                .sum();
            w[i] * (-q_mean - beta * entropy + alpha(l) * kl_to_prior(l, policy, &x))
        })
        .sum()
}

fn direct_prior_loss(
    l: &FlatLearner<f64>,
    prior: &GaussianPolicy<f64>,
    b: &LearnerBatch<f64>,
) -> f64 {
    let (w, _) = weights(b);
    (0..T * B)
        .map(|i| {
            let x = row(&b.obs, i);
            let (m, s) = mean_std(&l.online.policy, &x);
            let (mq, sq) = mean_std(prior, &x);
            w[i] * kl_row(&m, &s, &mq, &sq)
        })
        .sum()
}

pub(crate) fn assert_close(what: &str, a: &[f64], b: &[f64], tol: f64) {
    let (err, i) = max_error(a, b);
    assert!(err < tol, "{what}[{i}]: {} vs {} (error {err})", a[i], b[i]);
}

#[test]
fn losses_and_gradients_match_a_direct_computation() {
    for prior in [
        PriorConfig::learned(&["proprio"]),
        PriorConfig::StandardNormal,
        PriorConfig::None,
    ] {
        let l = learner(prior.clone(), 0.3, 0.9);
        let b = batch();
        let noise = l.next_noise(&b);
        let (metrics, grads) = l.losses(&b, &noise).unwrap();
        let targets = direct_targets(&l, &b, &noise);
        let got_targets = l.critic_targets(&b, &noise).unwrap();
        assert_close(
            "Retrace targets",
            &got_targets.iter().copied().collect::<Vec<_>>(),
            &targets.iter().copied().collect::<Vec<_>>(),
            1e-10,
        );
        let critic = direct_critic_loss(&l.online.critic, &b, &targets);
        assert!(
            (metrics.critic_loss - critic).abs() < 1e-10,
            "{prior:?}: critic {} vs {critic}",
            metrics.critic_loss
        );
        let policy = direct_policy_loss(&l, &l.online.policy, &b, &noise);
        assert!(
            (metrics.policy_loss - policy).abs() < 1e-10,
            "{prior:?}: policy {} vs {policy}",
            metrics.policy_loss
        );
        // Gradients: finite differences of the direct losses.
        let fd = finite_difference(&l.online.critic, 1e-6, |c| {
            direct_critic_loss(c, &b, &targets)
        });
        assert_close("critic gradient", &grads.critic.flatten(), &fd, 1e-6);
        let fd = finite_difference(&l.online.policy, 1e-6, |p| {
            direct_policy_loss(&l, p, &b, &noise)
        });
        assert_close("policy gradient", &grads.policy.flatten(), &fd, 1e-6);
        if let Some(p) = &l.online.prior {
            let prior_loss = direct_prior_loss(&l, p, &b);
            assert!((metrics.prior_loss - prior_loss).abs() < 1e-10);
            let fd = finite_difference(p, 1e-6, |q| direct_prior_loss(&l, q, &b));
            assert_close(
                "prior gradient",
                &grads.prior.as_ref().unwrap().flatten(),
                &fd,
                1e-6,
            );
        } else {
            assert!(grads.prior.is_none() && metrics.prior_loss == 0.0);
        }
    }
}

#[test]
fn alpha_zero_lambda_zero_is_one_step_expected_sarsa() {
    let l = learner(PriorConfig::learned(&["proprio"]), 0.0, 0.0);
    let b = batch();
    let noise = l.next_noise(&b);
    let got = l.critic_targets(&b, &noise).unwrap();
    let valid = b.valid();
    for t in 0..T {
        for j in 0..B {
            // r_t + gamma d_t mean_s Q'(x_{t+1}, a_s), a_s ~ pi'.
            let i = (t + 1) * B + j;
            let x = row(&b.obs, i);
            let (m, s) = mean_std(&l.target.policy, &x);
            let v: f64 = (0..2)
                .map(|k| {
                    q(
                        &l.target.critic,
                        &x,
                        &(0..A)
                            .map(|d| m[d] + s[d] * noise.value[(k, i, d)])
                            .collect::<Vec<_>>(),
                    )
                })
                .sum::<f64>()
                / 2.0;
            let want = valid[(t, j)]
                * (b.rewards[(t, j)] + f64::from(l.config.gamma) * b.discounts[(t, j)] * v);
            assert!(
                (got[(t, j)] - want).abs() < 1e-10,
                "({t}, {j}): {} vs {want}",
                got[(t, j)]
            );
        }
    }
}

#[test]
fn update_changes_only_what_it_should() {
    let mut l = learner(PriorConfig::learned(&["proprio"]), 0.3, 0.9);
    let targets_before = l.target.clone();
    l.prior_frozen = true;
    let prior_before = l.online.prior.clone();
    let policy_before = l.online.policy.clone();
    l.update(&batch()).unwrap();
    assert_eq!(
        l.target, targets_before,
        "targets move only every target_period steps"
    );
    assert_eq!(
        l.online.prior, prior_before,
        "a frozen prior does not learn"
    );
    assert_ne!(l.online.policy, policy_before);
    let mut bad = batch();
    bad.rewards[(0, 0)] = f64::NAN;
    let e = l.update(&bad).unwrap_err();
    assert!(e.to_string().contains("reward"), "{e}");
}

/// The f32 update, where the tile passes take the AVX2 micro-kernel, split across threads and
/// run several tiles per pass at this size, against the f64 update of the same networks on the
/// same batch and noise (the f64 update is checked against the direct computation above):
/// losses and gradients agree to f32 accuracy.
#[test]
fn f32_update_matches_f64_at_a_size_with_many_tiles() {
    let (t, b) = (7, 40);
    let cfg = LearnerConfig {
        gamma: 0.9,
        batch_size: b,
        sequence_length: t,
        alpha: 0.3,
        beta: 0.2,
        lambda: 0.9,
        action_samples: 10,
        policy_hidden: vec![32, 24],
        critic_hidden: vec![40, 30],
        ..LearnerConfig::acme()
    };
    let prior = PriorConfig::learned(&["proprio"]);
    let mut l64 = FlatLearner::<f64>::new(&spec(), A, cfg.clone(), prior.clone(), 9).unwrap();
    let mut rng = StdRng::seed_from_u64(10);
    scramble(&mut l64.online.critic, &mut rng, 0.3);
    scramble(&mut l64.target.critic, &mut rng, 0.3);
    let l32 = FlatLearner::<f32>::new(&spec(), A, cfg, prior, 9).unwrap();
    let mut l32 = l32;
    let to32 = |v: Vec<f64>| v.into_iter().map(|x| x as f32).collect::<Vec<_>>();
    l32.online
        .policy
        .assign_flat(&to32(l64.online.policy.flatten()));
    l32.target
        .policy
        .assign_flat(&to32(l64.target.policy.flatten()));
    l32.online
        .critic
        .assign_flat(&to32(l64.online.critic.flatten()));
    l32.target
        .critic
        .assign_flat(&to32(l64.target.critic.flatten()));
    if let (Some(a), Some(b64)) = (&mut l32.online.prior, &l64.online.prior) {
        a.assign_flat(&to32(b64.flatten()));
    }
    if let (Some(a), Some(b64)) = (&mut l32.target.prior, &l64.target.prior) {
        a.assign_flat(&to32(b64.flatten()));
    }
    let mut rng = StdRng::seed_from_u64(11);
    let n_all = (t + 1) * b;
    let batch32 = LearnerBatch::<f32> {
        steps: t,
        batch: b,
        obs: Array2::from_shape_simple_fn((n_all, 5), || rng.random::<f32>() * 2.0 - 1.0),
        actions: Array2::from_shape_simple_fn((n_all, A), || rng.random::<f32>() * 1.8 - 0.9),
        rewards: Array2::from_shape_simple_fn((t, b), || rng.random::<f32>()),
        discounts: Array2::ones((t, b)),
        log_mu: Array2::from_shape_simple_fn((t + 1, b), || -1.0 - rng.random::<f32>()),
        mask: Array2::ones((t + 1, b)),
    };
    let up = |a: &Array2<f32>| a.mapv(f64::from);
    let batch64 = LearnerBatch::<f64> {
        steps: t,
        batch: b,
        obs: up(&batch32.obs),
        actions: up(&batch32.actions),
        rewards: up(&batch32.rewards),
        discounts: up(&batch32.discounts),
        log_mu: up(&batch32.log_mu),
        mask: up(&batch32.mask),
    };
    let noise32 = l32.next_noise(&batch32);
    let noise64 = UpdateNoise {
        value: noise32.value.mapv(f64::from),
        policy: noise32.policy.mapv(f64::from),
    };
    let (m32, g32) = l32.losses(&batch32, &noise32).unwrap();
    let (m64, g64) = l64.losses(&batch64, &noise64).unwrap();
    for (what, a, b) in [
        ("critic loss", m32.critic_loss, m64.critic_loss),
        ("policy loss", m32.policy_loss, m64.policy_loss),
        ("prior loss", m32.prior_loss, m64.prior_loss),
        ("target", m32.target, m64.target),
    ] {
        assert!(
            (a - b).abs() <= 1e-4 * (1.0 + b.abs()),
            "{what}: f32 {a} vs f64 {b}"
        );
    }
    let relative = |what: &str, a: Vec<f32>, b: Vec<f64>| {
        let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let err = a
            .iter()
            .zip(&b)
            .fold(0.0f64, |m, (x, y)| m.max((f64::from(*x) - y).abs()));
        assert!(
            scale > 0.0 && err <= 1e-3 * scale,
            "{what}: error {err} at scale {scale}"
        );
    };
    relative(
        "critic gradient",
        g32.critic.flatten(),
        g64.critic.flatten(),
    );
    relative(
        "policy gradient",
        g32.policy.flatten(),
        g64.policy.flatten(),
    );
    relative(
        "prior gradient",
        g32.prior.unwrap().flatten(),
        g64.prior.unwrap().flatten(),
    );
}
