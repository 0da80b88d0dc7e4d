//! The learner's options (the `bprl` preset against Acme's), each against a direct
//! computation or shown by its effect: twin critics with the minimum, the online critics in
//! the policy loss, the tanh squash onto an action box with its exact log-probability and
//! entropy, the entropy in the soft value (losses and finite-difference gradients, f64);
//! Polyak targets; the tuned multipliers; resets; the std bound.

use crate::losses::{
    A, B, T, assert_close, batch, brute_force_retrace, config, kl_row, row, scramble, spec, weights,
};
use bprl_agents::batch::LearnerBatch;
use bprl_agents::flat::{FlatLearner, UpdateNoise};
use bprl_agents::learner::ActionBox;
use bprl_agents::{CriticChoice, LearnerConfig, PriorConfig};
use bprl_nn::Parameters;
use bprl_nn::gradcheck::finite_difference;
use bprl_policy::{Critic, GaussianPolicy};
use ndarray::Array2;
use rand::SeedableRng;
use rand::rngs::StdRng;

const LN_2PI: f64 = 1.837_877_066_409_345_3;

/// Every option of the `bprl` preset on the tiny test networks.
fn options(alpha: f32) -> LearnerConfig {
    LearnerConfig {
        twin_critics: true,
        policy_critic: CriticChoice::Online,
        squash: true,
        value_entropy: true,
        mean_scale: 3.0,
        ..config(alpha, 0.9)
    }
}

const BOX: ActionBox = ActionBox {
    low: -2.0,
    high: 1.0,
};

fn learner(cfg: LearnerConfig, prior: PriorConfig) -> FlatLearner<f64> {
    let mut l = FlatLearner::<f64>::new(&spec(), A, cfg, prior, 3).unwrap();
    l.action_box = BOX;
    let mut rng = StdRng::seed_from_u64(4);
    scramble(&mut l.online.policy, &mut rng, 0.6);
    scramble(&mut l.target.policy, &mut rng, 0.6);
    scramble(&mut l.online.critic, &mut rng, 0.6);
    scramble(&mut l.target.critic, &mut rng, 0.6);
    for c in [&mut l.online.critic2, &mut l.target.critic2]
        .into_iter()
        .flatten()
    {
        scramble(c, &mut rng, 0.6);
    }
    if let (Some(a), Some(b)) = (&mut l.online.prior, &mut l.target.prior) {
        scramble(a, &mut rng, 0.6);
        scramble(b, &mut rng, 0.6);
    }
    l
}

/// Squashed-action batch: actions inside the box `[-2, 1]`.
fn squash_batch() -> LearnerBatch<f64> {
    let mut b = batch();
    b.actions.mapv_inplace(|a| -0.5 + 1.4 * a);
    b
}

fn mean_std(p: &GaussianPolicy<f64>, x: &Array2<f64>) -> (Vec<f64>, Vec<f64>) {
    let d = p.forward(x.view(), None).unwrap().dist;
    (d.mean().row(0).to_vec(), d.std().row(0).to_vec())
}

fn q(c: &Critic<f64>, x: &Array2<f64>, a: &[f64]) -> f64 {
    let a = Array2::from_shape_vec((1, a.len()), a.to_vec()).unwrap();
    c.q(x.view(), a.view(), None).unwrap()[0]
}

/// `min` over the critics given.
fn q_min(critics: &[&Critic<f64>], x: &Array2<f64>, a: &[f64]) -> f64 {
    critics
        .iter()
        .map(|c| q(c, x, a))
        .fold(f64::INFINITY, f64::min)
}

/// `a = c + s tanh(u)` and `log |da/du|`, written out.
fn squash(u: f64) -> f64 {
    -0.5 + 1.5 * u.tanh()
}
fn log_det(u: f64) -> f64 {
    (1.5 * (1.0 - u.tanh().powi(2))).ln()
}
fn unsquash(a: f64) -> f64 {
    ((a + 0.5) / 1.5).atanh()
}
fn log_normal(u: &[f64], m: &[f64], s: &[f64]) -> f64 {
    (0..u.len())
        .map(|d| -0.5 * ((u[d] - m[d]) / s[d]).powi(2) - s[d].ln() - 0.5 * LN_2PI)
        .sum()
}

fn kl_to_prior(l: &FlatLearner<f64>, policy: &GaussianPolicy<f64>, x: &Array2<f64>) -> f64 {
    let (m, s) = mean_std(policy, x);
    match &l.target.prior {
        Some(p) => {
            let (mq, sq) = mean_std(p, x);
            kl_row(&m, &s, &mq, &sq)
        }
        None => 0.0,
    }
}

fn direct_targets(
    l: &FlatLearner<f64>,
    b: &LearnerBatch<f64>,
    noise: &UpdateNoise<f64>,
) -> Array2<f64> {
    let (alpha, beta) = (f64::from(l.config.alpha), f64::from(l.config.beta));
    let targets = [&l.target.critic, l.target.critic2.as_ref().unwrap()];
    let s_count = l.config.action_samples;
    let v: Vec<f64> = (0..(T + 1) * B)
        .map(|i| {
            let x = row(&b.obs, i);
            let (m, s) = mean_std(&l.target.policy, &x);
            let mut total = 0.0;
            for k in 0..s_count {
                let u: Vec<f64> = (0..A)
                    .map(|d| m[d] + s[d] * noise.value[(k, i, d)])
                    .collect();
                let a: Vec<f64> = u.iter().map(|&u| squash(u)).collect();
                let log_pi = log_normal(&u, &m, &s) - u.iter().map(|&u| log_det(u)).sum::<f64>();
                total += q_min(&targets, &x, &a) - beta * log_pi;
            }
            total / s_count as f64 - alpha * kl_to_prior(l, &l.online.policy, &x)
        })
        .collect();
    let valid = b.valid();
    let (gamma, lambda) = (f64::from(l.config.gamma), f64::from(l.config.lambda));
    let c = |t: usize, j: usize| {
        let i = t * B + j;
        let (m, s) = mean_std(&l.target.policy, &row(&b.obs, i));
        let u: Vec<f64> = (0..A).map(|d| unsquash(b.actions[(i, d)])).collect();
        let log_pi = log_normal(&u, &m, &s) - u.iter().map(|&u| log_det(u)).sum::<f64>();
        lambda * (log_pi - b.log_mu[(t, j)]).exp().min(1.0) * valid[(t, j)]
    };
    let q_at = |i: usize| q_min(&targets, &row(&b.obs, i), &b.actions.row(i).to_vec());
    brute_force_retrace(b, gamma, &v, &q_at, &c)
}

fn direct_critic_loss(critic: &Critic<f64>, b: &LearnerBatch<f64>, targets: &Array2<f64>) -> f64 {
    let (w, _) = weights(b);
    (0..T * B)
        .map(|i| {
            let d =
                targets[(i / B, i % B)] - q(critic, &row(&b.obs, i), &b.actions.row(i).to_vec());
            w[i] * 0.5 * d * d
        })
        .sum()
}

/// `mean_valid [ -mean_s min_k Q_k(x, squash(u_s)) - beta H(squash(u)) + alpha KL ]`, the
/// online critics, `H = H(u) + mean_s sum log|da/du|`.
fn direct_policy_loss(
    l: &FlatLearner<f64>,
    policy: &GaussianPolicy<f64>,
    b: &LearnerBatch<f64>,
    noise: &UpdateNoise<f64>,
) -> f64 {
    let (alpha, beta) = (f64::from(l.config.alpha), f64::from(l.config.beta));
    let critics = [&l.online.critic, l.online.critic2.as_ref().unwrap()];
    let (w, _) = weights(b);
    let s_count = l.config.action_samples;
    (0..T * B)
        .map(|i| {
            let x = row(&b.obs, i);
            let (m, s) = mean_std(policy, &x);
            let (mut q_mean, mut ld_mean) = (0.0, 0.0);
            for k in 0..s_count {
                let u: Vec<f64> = (0..A)
                    .map(|d| m[d] + s[d] * noise.policy[(k, i, d)])
                    .collect();
                let a: Vec<f64> = u.iter().map(|&u| squash(u)).collect();
                q_mean += q_min(&critics, &x, &a) / s_count as f64;
                ld_mean += u.iter().map(|&u| log_det(u)).sum::<f64>() / s_count as f64;
            }
            let h_gauss: f64 = s.iter().map(|s| s.ln() + 0.5 * (1.0 + LN_2PI)).sum();
            w[i] * (-q_mean - beta * (h_gauss + ld_mean) + alpha * kl_to_prior(l, policy, &x))
        })
        .sum()
}

#[test]
fn bprl_options_losses_and_gradients_match_a_direct_computation() {
    for prior in [PriorConfig::learned(&["proprio"]), PriorConfig::None] {
        let alpha = if prior == PriorConfig::None { 0.0 } else { 0.3 };
        let l = learner(options(alpha), prior.clone());
        let b = squash_batch();
        let noise = l.next_noise(&b);
        let (metrics, grads) = l.losses(&b, &noise).unwrap();
        let targets = direct_targets(&l, &b, &noise);
        let got = l.critic_targets(&b, &noise).unwrap();
        assert_close(
            "Retrace targets (twin minimum, squash, entropy in V)",
            &got.iter().copied().collect::<Vec<_>>(),
            &targets.iter().copied().collect::<Vec<_>>(),
            1e-9,
        );
        let c2 = l.online.critic2.as_ref().unwrap();
        let critic = 0.5
            * (direct_critic_loss(&l.online.critic, &b, &targets)
                + direct_critic_loss(c2, &b, &targets));
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
        let fd = finite_difference(&l.online.critic, 1e-6, |c| {
            direct_critic_loss(c, &b, &targets)
        });
        assert_close("critic gradient", &grads.critic.flatten(), &fd, 1e-6);
        let fd = finite_difference(c2, 1e-6, |c| direct_critic_loss(c, &b, &targets));
        assert_close(
            "critic 2 gradient",
            &grads.critic2.as_ref().unwrap().flatten(),
            &fd,
            1e-6,
        );
        let fd = finite_difference(&l.online.policy, 1e-6, |p| {
            direct_policy_loss(&l, p, &b, &noise)
        });
        assert_close(
            "policy gradient (squash, online twins)",
            &grads.policy.flatten(),
            &fd,
            1e-6,
        );
    }
}

#[test]
fn twin_critics_take_the_minimum() {
    let l = learner(options(0.3), PriorConfig::learned(&["proprio"]));
    let b = squash_batch();
    let noise = l.next_noise(&b);
    // A second target critic far above the first: the minimum is the first one's, so the
    // targets are those of one critic; far below: they fall.
    let mut high = l.clone();
    let mut low = l.clone();
    let shift = |c: &mut Critic<f64>, by: f64| {
        let mut v = c.flatten();
        let last = v.len() - 1; // the output bias
        v[last] += by;
        c.assign_flat(&v);
    };
    shift(high.target.critic2.as_mut().unwrap(), 100.0);
    shift(low.target.critic2.as_mut().unwrap(), -100.0);
    let mut single = high.clone();
    single.target.critic2 = None;
    let t_high = high.critic_targets(&b, &noise).unwrap();
    let t_single = single.critic_targets(&b, &noise).unwrap();
    let t_low = low.critic_targets(&b, &noise).unwrap();
    assert_eq!(t_high, t_single, "the lower critic decides");
    assert!(
        t_low.iter().zip(&t_high).all(|(a, b)| a <= b),
        "a lower twin raises no target"
    );
    assert!(
        t_low.sum() < t_high.sum() - 1.0,
        "a lower twin lowers the targets"
    );
}

#[test]
fn polyak_targets_follow_the_online_networks() {
    let mut cfg = options(0.3);
    cfg.tau = Some(0.25);
    let mut l = learner(cfg, PriorConfig::learned(&["proprio"]));
    let before = l.target.critic.flatten();
    l.update(&squash_batch()).unwrap();
    let online = l.online.critic.flatten();
    let expect: Vec<f64> = before
        .iter()
        .zip(&online)
        .map(|(t, o)| 0.75 * t + 0.25 * o)
        .collect();
    assert_close("Polyak target", &l.target.critic.flatten(), &expect, 1e-12);
    // Without tau, the target changes only at the copy period.
    let mut cfg = options(0.3);
    cfg.tau = None;
    cfg.target_period = 2;
    let mut l = learner(cfg, PriorConfig::learned(&["proprio"]));
    let before = l.target.policy.flatten();
    l.update(&squash_batch()).unwrap();
    assert_eq!(l.target.policy.flatten(), before);
    l.update(&squash_batch()).unwrap();
    assert_eq!(l.target.policy.flatten(), l.online.policy.flatten());
}

#[test]
fn tuned_multipliers_move_towards_their_targets() {
    let b = squash_batch();
    let run = |target_entropy: f64, target_kl: f64| {
        let mut cfg = options(0.3);
        cfg.target_entropy = Some(target_entropy);
        cfg.target_kl = Some(target_kl);
        cfg.multiplier_lr = 0.05;
        let mut l = learner(cfg, PriorConfig::learned(&["proprio"]));
        let m = l.update(&b).unwrap();
        for _ in 0..4 {
            l.update(&b).unwrap();
        }
        (m, l.multipliers.beta.value(), l.multipliers.alpha.value())
    };
    // Targets far below / above what the policy has: beta falls / rises; alpha likewise.
    let (m, beta_low, alpha_loose) = run(-50.0, 50.0);
    assert!(m.entropy > -50.0 && m.kl < 50.0);
    assert!(
        beta_low < 0.2,
        "entropy above target: beta falls ({beta_low})"
    );
    assert!(
        alpha_loose < 0.3,
        "KL below target: alpha falls ({alpha_loose})"
    );
    let (_, beta_high, alpha_tight) = run(50.0, 1e-6);
    assert!(
        beta_high > 0.2,
        "entropy below target: beta rises ({beta_high})"
    );
    assert!(
        alpha_tight > 0.3,
        "KL above target: alpha rises ({alpha_tight})"
    );
    // Fixed multipliers stay exactly at the configured values.
    let mut l = learner(options(0.3), PriorConfig::learned(&["proprio"]));
    l.update(&b).unwrap();
    assert_eq!(l.multipliers.beta.value(), f64::from(0.2f32));
    assert_eq!(l.multipliers.alpha.value(), f64::from(0.3f32));
}

#[test]
fn resets_renew_policy_and_critics_but_keep_the_prior() {
    let mut cfg = options(0.3);
    cfg.reset_every_updates = Some(2);
    let mut l = learner(cfg, PriorConfig::learned(&["proprio"]));
    let b = squash_batch();
    l.update(&b).unwrap();
    let (policy, prior) = (
        l.online.policy.flatten(),
        l.online.prior.as_ref().unwrap().flatten(),
    );
    l.update(&b).unwrap();
    assert_eq!(l.steps, 2);
    // Fresh initialization: the policy's head starts near zero again.
    let fresh = l.online.policy.flatten();
    assert_ne!(fresh, policy);
    let head_norm: f64 = l
        .online
        .policy
        .head
        .mean
        .weight
        .iter()
        .map(|w| w * w)
        .sum::<f64>()
        .sqrt();
    assert!(
        head_norm < 0.1,
        "a reset policy has a fresh head ({head_norm})"
    );
    assert_eq!(
        l.target.policy.flatten(),
        fresh,
        "targets reset with the online networks"
    );
    assert_ne!(
        l.online.prior.as_ref().unwrap().flatten(),
        prior,
        "the prior kept learning"
    );
    assert!(l.online.critic2.is_some());
}

#[test]
fn the_std_bound_holds_and_stops_its_gradient() {
    let mut cfg = options(0.3);
    cfg.max_scale = Some(0.5);
    let mut l = learner(cfg, PriorConfig::None);
    // A std head pushed far up: every std sits at the bound, with no gradient through it.
    let mut v = l.online.policy.head.std.bias.to_vec();
    v.iter_mut().for_each(|x| *x = 10.0);
    l.online
        .policy
        .head
        .std
        .bias
        .assign(&ndarray::Array1::from(v));
    let b = squash_batch();
    let d = l.online.policy.forward(b.obs.view(), None).unwrap().dist;
    assert!(d.std().iter().all(|&s| s == 0.5));
    let (_, grads) = l.losses(&b, &l.next_noise(&b)).unwrap();
    assert!(grads.policy.head.std.bias.iter().all(|&g| g == 0.0));
    assert!(grads.policy.head.mean.bias.iter().any(|&g| g != 0.0));
}

/// Algorithm 2 with every option: its policy and critic gradients against central finite
/// differences of its own losses (the values' pieces are the ones checked directly above),
/// and the Acme preset's targets unchanged by a twin that is not there.
#[test]
fn hierarchical_options_gradients_match_finite_differences() {
    use bprl_agents::{HierLearner, HierarchyConfig, LowLevel};
    for low_level in [LowLevel::Shared, LowLevel::Separate] {
        let h = HierarchyConfig {
            latent_dim: 2,
            hold_steps: 1,
            low_level,
            low_level_groups: None,
        };
        let prior = PriorConfig::learned(&["proprio"]);
        let mut l = HierLearner::<f64>::new(&spec(), A, options(0.3), h, prior, 3).unwrap();
        l.action_box = BOX;
        let mut rng = StdRng::seed_from_u64(4);
        scramble(&mut l.online.policy, &mut rng, 0.6);
        scramble(&mut l.target.policy, &mut rng, 0.6);
        for c in [&mut l.online.critic, &mut l.target.critic] {
            scramble(c, &mut rng, 0.6);
        }
        for c in [&mut l.online.critic2, &mut l.target.critic2]
            .into_iter()
            .flatten()
        {
            scramble(c, &mut rng, 0.6);
        }
        if let (Some(a), Some(b)) = (&mut l.online.prior, &mut l.target.prior) {
            scramble(a, &mut rng, 0.6);
            scramble(b, &mut rng, 0.6);
        }
        // SVG(0) does not differentiate the critics' latent input; finite differences do. So
        // that both see the same loss, the online critics here ignore the latent (zero weights
        // on its inputs, the last rows of the first layer).
        let width = spec().width() + A + 2;
        for c in [Some(&mut l.online.critic), l.online.critic2.as_mut()]
            .into_iter()
            .flatten()
        {
            let mut done = false;
            c.visit_mut("", &mut |_, mut w| {
                if !done && w.ndim() == 2 && w.shape()[0] == width {
                    for r in width - 2..width {
                        w.index_axis_mut(ndarray::Axis(0), r).fill(0.0);
                    }
                    done = true;
                }
            });
            assert!(done, "found the critic's first layer");
        }
        let b = squash_batch();
        let noise = l.next_noise(&b);
        let (m, grads) = l.losses(&b, &noise).unwrap();
        assert!(m.entropy.is_finite() && m.std > 0.0);
        let with_policy = |p: &bprl_policy::HierarchicalPolicy<f64>| {
            let mut k = l.clone();
            k.online.policy = p.clone();
            k.losses(&b, &noise).unwrap().0.policy_loss
        };
        let fd = finite_difference(&l.online.policy, 1e-6, with_policy);
        assert_close(
            "hierarchical policy gradient (squash, twins)",
            &grads.policy.flatten(),
            &fd,
            1e-6,
        );
        let with_critic2 = |c: &Critic<f64>| {
            let mut k = l.clone();
            k.online.critic2 = Some(c.clone());
            let (m, _) = k.losses(&b, &noise).unwrap();
            // The reported loss is the mean of the two critics' losses.
            2.0 * m.critic_loss
        };
        let fd = finite_difference(l.online.critic2.as_ref().unwrap(), 1e-6, with_critic2);
        assert_close(
            "hierarchical critic 2 gradient",
            &grads.critic2.as_ref().unwrap().flatten(),
            &fd,
            1e-6,
        );
    }
}
