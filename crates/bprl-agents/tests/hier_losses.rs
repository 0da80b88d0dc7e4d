//! Algorithm 2's losses against a straightforward computation on tiny networks, as
//! `losses.rs` does for Algorithm 1: per-row chains `z = mu^H + sigma^H eta`,
//! `a = mu^L(z) + sigma^L(z) eps` for the soft value, the latent Retrace targets by the
//! brute-force double sum, the critic, policy and prior losses with Eq. 11's KL (Eq. 12 for a
//! shared low level); every gradient against central finite differences of those direct
//! losses (f64), with a shared and a separate low level.

use crate::losses::{
    A, B, T, assert_close, batch, brute_force_retrace, config, kl_row, row, scramble, spec, weights,
};
use bprl_agents::batch::LearnerBatch;
use bprl_agents::{HierLearner, HierNoise, HierarchyConfig, LowLevel, PriorConfig};
use bprl_nn::Parameters;
use bprl_nn::gradcheck::finite_difference;
use bprl_policy::{Critic, GaussianPolicy, HierarchicalPolicy, HierarchicalPrior, LowLevelPrior};
use ndarray::Array2;
use rand::SeedableRng;
use rand::rngs::StdRng;

/// Latent dimension of the tests.
const Z: usize = 2;
/// `ln(2 pi)`.
const LN_2PI: f64 = 1.837_877_066_409_345_5;

fn learner(prior: PriorConfig, low_level: LowLevel) -> HierLearner<f64> {
    let h = HierarchyConfig {
        latent_dim: Z,
        hold_steps: 1,
        low_level,
        low_level_groups: None,
    };
    let mut l = HierLearner::<f64>::new(&spec(), A, config(0.3, 0.9), h, prior, 3).unwrap();
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

/// Mean and std of a Gaussian policy at one row (with the latent as extra input).
fn mean_std(p: &GaussianPolicy<f64>, x: &Array2<f64>, z: Option<&[f64]>) -> (Vec<f64>, Vec<f64>) {
    let z = z.map(|z| Array2::from_shape_vec((1, z.len()), z.to_vec()).unwrap());
    let d = p
        .forward(x.view(), z.as_ref().map(|z| z.view()))
        .unwrap()
        .dist;
    (d.mean().row(0).to_vec(), d.std().row(0).to_vec())
}

fn log_normal(x: &[f64], m: &[f64], s: &[f64]) -> f64 {
    (0..x.len())
        .map(|d| -0.5 * ((x[d] - m[d]) / s[d]).powi(2) - s[d].ln() - 0.5 * LN_2PI)
        .sum()
}

fn entropy(s: &[f64]) -> f64 {
    s.iter().map(|s| s.ln() + 0.5 * (1.0 + LN_2PI)).sum()
}

/// One reparameterized chain at a row.
struct Chain {
    z: Vec<f64>,
    a: Vec<f64>,
    high: (Vec<f64>, Vec<f64>),
    low: (Vec<f64>, Vec<f64>),
}

fn chain(p: &HierarchicalPolicy<f64>, x: &Array2<f64>, eta: &[f64], eps: &[f64]) -> Chain {
    let (hm, hs) = mean_std(&p.high, x, None);
    let z: Vec<f64> = (0..Z).map(|d| hm[d] + hs[d] * eta[d]).collect();
    let (lm, ls) = mean_std(&p.low, x, Some(&z));
    let a = (0..A).map(|d| lm[d] + ls[d] * eps[d]).collect();
    Chain {
        z,
        a,
        high: (hm, hs),
        low: (lm, ls),
    }
}

fn q(c: &Critic<f64>, x: &Array2<f64>, a: &[f64], z: &[f64]) -> f64 {
    let a = Array2::from_shape_vec((1, A), a.to_vec()).unwrap();
    let z = Array2::from_shape_vec((1, Z), z.to_vec()).unwrap();
    c.q(x.view(), a.view(), Some(z.view())).unwrap()[0]
}

/// Eq. 11's per-row bound `KL_H + KL_L` of a chain to a prior (Eq. 12: `KL_H` alone for a
/// shared low level); the standard normal prior is on the latent.
fn kl_eq11(
    kind: &PriorConfig,
    prior: Option<&HierarchicalPrior<f64>>,
    x: &Array2<f64>,
    c: &Chain,
) -> f64 {
    let (hm, hs) = &c.high;
    match (kind, prior) {
        (PriorConfig::None, _) => 0.0,
        (PriorConfig::StandardNormal, _) => kl_row(hm, hs, &[0.0; Z], &[1.0; Z]),
        (PriorConfig::Learned { .. }, Some(p)) => {
            let (pm, ps) = mean_std(&p.high, x, None);
            let low = match &p.low {
                LowLevelPrior::Shared => 0.0,
                LowLevelPrior::Separate(q) => {
                    let (qm, qs) = mean_std(q, x, Some(&c.z));
                    kl_row(&c.low.0, &c.low.1, &qm, &qs)
                }
            };
            kl_row(hm, hs, &pm, &ps) + low
        }
        (PriorConfig::Learned { .. }, None) => panic!("learned prior missing"),
    }
}

fn alpha(l: &HierLearner<f64>) -> f64 {
    if l.prior_kind == PriorConfig::None {
        0.0
    } else {
        f64::from(l.config.alpha)
    }
}

/// Row `k` of a noise array.
fn at(a: &Array2<f64>, k: usize) -> Vec<f64> {
    a.row(k).to_vec()
}

/// `z_t = mu^H'(x_t) + sigma^H'(x_t) eta_t`, the latent Retrace resamples, at row `i`.
fn retrace_latent(
    l: &HierLearner<f64>,
    b: &LearnerBatch<f64>,
    noise: &HierNoise<f64>,
    i: usize,
) -> Vec<f64> {
    let (m, s) = mean_std(&l.target.policy.high, &row(&b.obs, i), None);
    let eta = at(&noise.retrace_latent, i);
    (0..Z).map(|d| m[d] + s[d] * eta[d]).collect()
}

/// Direct Retrace targets: soft value by loops over target chains, then the double sum.
fn direct_targets(
    l: &HierLearner<f64>,
    b: &LearnerBatch<f64>,
    noise: &HierNoise<f64>,
) -> Array2<f64> {
    let s_count = l.config.action_samples;
    let n_all = (T + 1) * B;
    let v: Vec<f64> = (0..n_all)
        .map(|i| {
            let x = row(&b.obs, i);
            let q_mean = (0..s_count)
                .map(|s| {
                    let k = s * n_all + i;
                    let c = chain(
                        &l.target.policy,
                        &x,
                        &at(&noise.value_latent, k),
                        &at(&noise.value_action, k),
                    );
                    q(&l.target.critic, &x, &c.a, &c.z)
                })
                .sum::<f64>()
                / s_count as f64;
            let c = chain(
                &l.online.policy,
                &x,
                &at(&noise.kl_latent, i),
                &at(&noise.kl_action, i),
            );
            q_mean - alpha(l) * kl_eq11(&l.prior_kind, l.target.prior.as_ref(), &x, &c)
        })
        .collect();
    let valid = b.valid();
    let gamma = f64::from(l.config.gamma);
    let lambda = f64::from(l.config.lambda);
    let c = |t: usize, j: usize| {
        let i = t * B + j;
        let x = row(&b.obs, i);
        let z = retrace_latent(l, b, noise, i);
        let (hm, hs) = mean_std(&l.target.policy.high, &x, None);
        let (lm, ls) = mean_std(&l.target.policy.low, &x, Some(&z));
        let log_pi = log_normal(&z, &hm, &hs) + log_normal(&b.actions.row(i).to_vec(), &lm, &ls);
        lambda * (log_pi - b.log_mu[(t, j)]).exp().min(1.0) * valid[(t, j)]
    };
    let q_at = |i: usize| {
        let z = retrace_latent(l, b, noise, i);
        q(
            &l.target.critic,
            &row(&b.obs, i),
            &b.actions.row(i).to_vec(),
            &z,
        )
    };
    brute_force_retrace(b, gamma, &v, &q_at, &c)
}

fn direct_critic_loss(
    l: &HierLearner<f64>,
    critic: &Critic<f64>,
    b: &LearnerBatch<f64>,
    noise: &HierNoise<f64>,
    targets: &Array2<f64>,
) -> f64 {
    let (w, _) = weights(b);
    (0..T * B)
        .map(|i| {
            let z = retrace_latent(l, b, noise, i);
            let qi = q(critic, &row(&b.obs, i), &b.actions.row(i).to_vec(), &z);
            w[i] * 0.5 * (targets[(i / B, i % B)] - qi).powi(2)
        })
        .sum()
}

/// `sum_i w_i / S sum_s f(x_i, eta, eps)` over the policy loss's noise: `S` chains per
/// transition, sample-major (`k = s T B + i`), weights `valid / n_valid`.
fn mean_over_policy_chains(
    l: &HierLearner<f64>,
    b: &LearnerBatch<f64>,
    noise: &HierNoise<f64>,
    f: impl Fn(&Array2<f64>, &[f64], &[f64]) -> f64,
) -> f64 {
    let (w, _) = weights(b);
    let s_count = l.config.action_samples;
    let n = T * B;
    (0..n)
        .map(|i| {
            let x = row(&b.obs, i);
            let sum: f64 = (0..s_count)
                .map(|s| {
                    let k = s * n + i;
                    f(
                        &x,
                        &at(&noise.policy_latent, k),
                        &at(&noise.policy_action, k),
                    )
                })
                .sum();
            w[i] / s_count as f64 * sum
        })
        .sum()
}

/// The policy loss of `policy` (perturbed by the finite differences); `Q'`'s latent input is
/// the latent of the learner's own policy, held fixed (the gradient is stopped there).
fn direct_policy_loss(
    l: &HierLearner<f64>,
    policy: &HierarchicalPolicy<f64>,
    b: &LearnerBatch<f64>,
    noise: &HierNoise<f64>,
) -> f64 {
    let beta = f64::from(l.config.beta);
    mean_over_policy_chains(l, b, noise, |x, eta, eps| {
        let c = chain(policy, x, eta, eps);
        let z_stopped = chain(&l.online.policy, x, eta, eps).z;
        let h = entropy(&c.high.1) + entropy(&c.low.1);
        let kl = kl_eq11(&l.prior_kind, l.target.prior.as_ref(), x, &c);
        let qv = q(&l.target.critic, x, &c.a, &z_stopped);
        -qv - beta * h + alpha(l) * kl
    })
}

/// `KL(sg(pi) || pi0)` through Eq. 11's terms at the policy loss's chains.
fn direct_prior_loss(
    l: &HierLearner<f64>,
    prior: &HierarchicalPrior<f64>,
    b: &LearnerBatch<f64>,
    noise: &HierNoise<f64>,
) -> f64 {
    mean_over_policy_chains(l, b, noise, |x, eta, eps| {
        let c = chain(&l.online.policy, x, eta, eps);
        kl_eq11(&l.prior_kind, Some(prior), x, &c)
    })
}

/// The Algorithm 2 variants the tests cover: learned priors with a shared and a separate low
/// level, and the fixed and absent priors (shared low level).
fn variants() -> Vec<(PriorConfig, LowLevel)> {
    vec![
        (PriorConfig::learned(&["proprio"]), LowLevel::Shared),
        (PriorConfig::learned(&["proprio"]), LowLevel::Separate),
        (PriorConfig::StandardNormal, LowLevel::Shared),
        (PriorConfig::None, LowLevel::Shared),
    ]
}

#[test]
fn hierarchical_losses_and_gradients_match_a_direct_computation() {
    for (prior, low_level) in variants() {
        let what = format!("{prior:?}, {low_level:?} low level");
        let l = learner(prior, low_level);
        let b = batch();
        let noise = l.next_noise(&b);
        let (metrics, grads) = l.losses(&b, &noise).unwrap();

        let targets = direct_targets(&l, &b, &noise);
        let got = l.critic_targets(&b, &noise).unwrap();
        assert_close(
            &format!("{what}: latent Retrace targets"),
            &got.iter().copied().collect::<Vec<_>>(),
            &targets.iter().copied().collect::<Vec<_>>(),
            1e-10,
        );

        let critic = direct_critic_loss(&l, &l.online.critic, &b, &noise, &targets);
        assert!(
            (metrics.critic_loss - critic).abs() < 1e-10,
            "{what}: critic {} vs {critic}",
            metrics.critic_loss
        );
        let fd = finite_difference(&l.online.critic, 1e-6, |c| {
            direct_critic_loss(&l, c, &b, &noise, &targets)
        });
        assert_close(
            &format!("{what}: critic gradient"),
            &grads.critic.flatten(),
            &fd,
            1e-6,
        );

        let policy = direct_policy_loss(&l, &l.online.policy, &b, &noise);
        assert!(
            (metrics.policy_loss - policy).abs() < 1e-10,
            "{what}: policy {} vs {policy}",
            metrics.policy_loss
        );
        let fd = finite_difference(&l.online.policy, 1e-6, |p| {
            direct_policy_loss(&l, p, &b, &noise)
        });
        assert_close(
            &format!("{what}: policy gradient"),
            &grads.policy.flatten(),
            &fd,
            1e-6,
        );

        match &l.online.prior {
            Some(p) => {
                let prior_loss = direct_prior_loss(&l, p, &b, &noise);
                assert!(
                    (metrics.prior_loss - prior_loss).abs() < 1e-10,
                    "{what}: prior {} vs {prior_loss}",
                    metrics.prior_loss
                );
                let fd = finite_difference(p, 1e-6, |q| direct_prior_loss(&l, q, &b, &noise));
                assert_close(
                    &format!("{what}: prior gradient"),
                    &grads.prior.as_ref().unwrap().flatten(),
                    &fd,
                    1e-6,
                );
            }
            None => assert!(grads.prior.is_none() && metrics.prior_loss == 0.0, "{what}"),
        }
    }
}

/// Eq. 12: with a shared low level the prior has no low level of its own, so the KL the
/// policy pays is `KL_H` alone; a separate low level adds `E KL_L > 0`.
#[test]
fn a_shared_low_level_pays_only_the_latent_kl() {
    let b = batch();
    let mut kl = Vec::new();
    for low_level in [LowLevel::Shared, LowLevel::Separate] {
        let l = learner(PriorConfig::learned(&["proprio"]), low_level);
        let noise = l.next_noise(&b);
        let (m, _) = l.losses(&b, &noise).unwrap();
        let direct = mean_over_policy_chains(&l, &b, &noise, |x, eta, eps| {
            let c = chain(&l.online.policy, x, eta, eps);
            let (pm, ps) = mean_std(&l.target.prior.as_ref().unwrap().high, x, None);
            kl_row(&c.high.0, &c.high.1, &pm, &ps)
        });
        kl.push((m.kl, direct));
    }
    let ((shared, shared_high), (separate, separate_high)) = (kl[0], kl[1]);
    assert!(
        (shared - shared_high).abs() < 1e-12,
        "shared: KL {shared} vs KL_H {shared_high}"
    );
    assert!(
        separate > separate_high + 1e-6,
        "separate: KL {separate} vs KL_H {separate_high}"
    );
}
