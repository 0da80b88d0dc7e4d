//! The hierarchical chain end to end: gradients of both levels through `a = f^L(x, f^H(x, eta), eps)`,
//! SVG(0) with and without the critic's latent gradient, Eq. 11's KL gradients for policy and
//! prior, the exactly-zero shared low level, and latent holds.

use crate::common::{STEP, assert_close, obs, rand_distr_like::randn, spec};
use bprl_nn::gradcheck::finite_difference;
use bprl_nn::{Parameters, TileCache};
use bprl_policy::{
    ChainGrad, Critic, CriticConfig, HierarchicalConfig, HierarchicalPolicy, HierarchicalPrior,
    LatentHold, LowLevelPrior, latent_kl, latent_kl_policy_grad, latent_kl_prior_backward,
};
use ndarray::{Array1, Array2};
use rand::SeedableRng;
use rand::rngs::StdRng;

const B: usize = 3;
const Z: usize = 2;
const A: usize = 2;

fn cfg() -> HierarchicalConfig {
    HierarchicalConfig {
        hidden: vec![6, 5],
        latent_dim: Z,
        action_dim: A,
        min_scale: 0.1,
    }
}

/// Randomizes all parameters (the default heads are near zero, which would hide bugs).
fn scramble<P: Parameters<f64>>(p: &mut P, rng: &mut StdRng) {
    let n = p.num_params();
    let v: Vec<f64> = randn(1, n, rng).row(0).iter().map(|x| 0.5 * x).collect();
    p.assign_flat(&v);
}

struct Setup {
    policy: HierarchicalPolicy<f64>,
    prior: HierarchicalPrior<f64>,
    x: Array2<f64>,
    eta: Array2<f64>,
    eps: Array2<f64>,
}

fn setup(seed: u64, separate: bool) -> Setup {
    let mut rng = StdRng::seed_from_u64(seed);
    let s = spec();
    let mut policy = HierarchicalPolicy::new(
        s.select_all(),
        s.select(&["proprio"]).unwrap(),
        &cfg(),
        &mut rng,
    )
    .unwrap();
    let low = separate.then(|| s.select(&["proprio"]).unwrap());
    let mut prior = HierarchicalPrior::new(
        s.select(&["proprio", "targets"]).unwrap(),
        low,
        &cfg(),
        &mut rng,
    )
    .unwrap();
    scramble(&mut policy, &mut rng);
    scramble(&mut prior, &mut rng);
    Setup {
        policy,
        prior,
        x: obs(B, &mut rng),
        eta: randn(B, Z, &mut rng),
        eps: randn(B, A, &mut rng),
    }
}

#[test]
fn chain_gradient_reaches_both_levels() {
    for seed in 0..4 {
        let s = setup(seed, false);
        let mut rng = StdRng::seed_from_u64(100 + seed);
        let (wa, wz) = (randn(B, A, &mut rng), randn(B, Z, &mut rng));
        let loss = |p: &HierarchicalPolicy<f64>| {
            let c = p
                .sample_with_noise(&TileCache::new(), s.x.view(), s.eta.view(), s.eps.view())
                .unwrap();
            (&c.action * &wa).sum() + (&c.latent * &wz).sum()
        };
        let sample = s
            .policy
            .sample_with_noise(&TileCache::new(), s.x.view(), s.eta.view(), s.eps.view())
            .unwrap();
        let mut g = ChainGrad::zeros(B, Z, A);
        g.d_action = wa.clone();
        g.d_latent = wz.clone();
        let mut grad = s.policy.zeros_like();
        s.policy.backward(&TileCache::new(), &sample, &g, &mut grad);
        assert_close(
            "chain",
            &grad.flatten(),
            &finite_difference(&s.policy, STEP, loss),
        );
        // Both levels receive gradient.
        let names = grad.names();
        let values = grad.flatten();
        let norm = |prefix: &str| -> f64 {
            names
                .iter()
                .zip(&values)
                .filter(|(n, _)| n.starts_with(prefix))
                .map(|(_, v)| v * v)
                .sum()
        };
        assert!(norm("high.") > 0.0 && norm("low.") > 0.0);
    }
}

#[test]
fn svg0_through_a_latent_critic_with_and_without_stopping_the_latent_gradient() {
    let s = setup(7, false);
    let mut rng = StdRng::seed_from_u64(8);
    let ccfg = CriticConfig {
        hidden: vec![5],
        action_dim: A,
        latent_dim: Z,
        output_init_std: 0.5,
    };
    let critic = Critic::<f64>::new(spec().select_all(), &ccfg, &mut rng).unwrap();
    let sample = s
        .policy
        .sample_with_noise(&TileCache::new(), s.x.view(), s.eta.view(), s.eps.view())
        .unwrap();
    let z_fixed = sample.latent.clone();
    let ones = Array1::from_elem(B, 1.0);
    let fwd = critic
        .forward(s.x.view(), sample.action.view(), Some(sample.latent.view()))
        .unwrap();
    let mut cg = critic.zeros_like();
    let d = critic.backward(&fwd, ones.view(), &mut cg);
    for stop in [true, false] {
        let mut g = ChainGrad::zeros(B, Z, A);
        g.d_action = d.d_action.clone();
        if !stop {
            g.d_latent = d.d_latent.clone().unwrap();
        }
        let mut grad = s.policy.zeros_like();
        s.policy.backward(&TileCache::new(), &sample, &g, &mut grad);
        let loss = |p: &HierarchicalPolicy<f64>| {
            let c = p
                .sample_with_noise(&TileCache::new(), s.x.view(), s.eta.view(), s.eps.view())
                .unwrap();
            let z = if stop {
                z_fixed.view()
            } else {
                c.latent.view()
            };
            critic
                .q(s.x.view(), c.action.view(), Some(z))
                .unwrap()
                .sum()
        };
        assert_close(
            &format!("SVG(0), stop = {stop}"),
            &grad.flatten(),
            &finite_difference(&s.policy, STEP, loss),
        );
    }
}

#[test]
fn eq11_kl_gradients_for_policy_and_prior_separately() {
    for separate in [true, false] {
        let s = setup(11, separate);
        let w = Array1::from(vec![0.5, -1.0, 2.0]);
        let kl_of = |p: &HierarchicalPolicy<f64>, q: &HierarchicalPrior<f64>| {
            let c = p
                .sample_with_noise(&TileCache::new(), s.x.view(), s.eta.view(), s.eps.view())
                .unwrap();
            let pf = q
                .forward(&TileCache::new(), s.x.view(), c.latent.view())
                .unwrap();
            latent_kl(&c, &pf).unwrap().total().dot(&w)
        };
        let sample = s
            .policy
            .sample_with_noise(&TileCache::new(), s.x.view(), s.eta.view(), s.eps.view())
            .unwrap();
        let pf = s
            .prior
            .forward(&TileCache::new(), s.x.view(), sample.latent.view())
            .unwrap();
        // Policy side: prior fixed.
        let g = latent_kl_policy_grad(&TileCache::new(), &s.prior, &sample, &pf, w.view()).unwrap();
        let mut grad = s.policy.zeros_like();
        s.policy.backward(&TileCache::new(), &sample, &g, &mut grad);
        let fd = finite_difference(&s.policy, STEP, |p| kl_of(p, &s.prior));
        assert_close(
            &format!("policy side, separate = {separate}"),
            &grad.flatten(),
            &fd,
        );
        // Prior side: policy and its latent fixed.
        let mut pg = s.prior.zeros_like();
        latent_kl_prior_backward(&TileCache::new(), &s.prior, &sample, &pf, w.view(), &mut pg)
            .unwrap();
        let fd = finite_difference(&s.prior, STEP, |q| kl_of(&s.policy, q));
        assert_close(
            &format!("prior side, separate = {separate}"),
            &pg.flatten(),
            &fd,
        );
    }
}

#[test]
fn shared_low_level_has_exactly_zero_low_kl() {
    let s = setup(21, false);
    assert!(matches!(s.prior.low, LowLevelPrior::Shared));
    let sample = s
        .policy
        .sample_with_noise(&TileCache::new(), s.x.view(), s.eta.view(), s.eps.view())
        .unwrap();
    let pf = s
        .prior
        .forward(&TileCache::new(), s.x.view(), sample.latent.view())
        .unwrap();
    let kl = latent_kl(&sample, &pf).unwrap();
    assert!(kl.low.iter().all(|&v| v == 0.0));
    assert!(kl.high.iter().all(|&v| v > 0.0));
    assert_eq!(kl.total(), kl.high);
    // A separate low level has a positive low-level KL.
    let s = setup(21, true);
    let sample = s
        .policy
        .sample_with_noise(&TileCache::new(), s.x.view(), s.eta.view(), s.eps.view())
        .unwrap();
    let pf = s
        .prior
        .forward(&TileCache::new(), s.x.view(), sample.latent.view())
        .unwrap();
    assert!(
        latent_kl(&sample, &pf)
            .unwrap()
            .low
            .iter()
            .all(|&v| v > 0.0)
    );
}

#[test]
fn latent_hold_resamples_every_k_steps_and_at_episode_start() {
    let mut hold = LatentHold::new(3).unwrap();
    let pattern: Vec<bool> = (0..8).map(|t| hold.should_resample(t == 0)).collect();
    assert_eq!(
        pattern,
        [true, false, false, true, false, false, true, false]
    );
    assert!(hold.should_resample(true), "a new episode always resamples");
    assert!(!hold.should_resample(false));
    let mut every = LatentHold::new(1).unwrap();
    assert!((0..5).all(|_| every.should_resample(false)));
    assert!(LatentHold::new(0).is_err());
}

/// `S` chains per observation with the high level evaluated once
/// (`sample_with_noise_shared`) are the chains of `sample_with_noise` on `S` stacked copies of
/// the observations; the backward pass (high-level gradients summed over an observation's
/// chains) and Eq. 11's KL, its policy and prior gradients (separate low level) agree too.
#[test]
fn shared_high_level_equals_stacked_copies() {
    const S: usize = 3;
    for seed in 0..3 {
        let s = setup(seed, true);
        let tiles = TileCache::new();
        let mut rng = StdRng::seed_from_u64(200 + seed);
        let (eta, eps) = (randn(S * B, Z, &mut rng), randn(S * B, A, &mut rng));
        let x_rep = ndarray::concatenate(ndarray::Axis(0), &[s.x.view(); S]).unwrap();
        let shared = s
            .policy
            .sample_with_noise_shared(&tiles, s.x.view(), eta.view(), eps.view())
            .unwrap();
        let stacked = s
            .policy
            .sample_with_noise(&tiles, x_rep.view(), eta.view(), eps.view())
            .unwrap();
        assert_eq!(shared.samples(), S);
        assert_eq!(shared.high.dist.batch_size(), B);
        for (a, b) in [
            (&shared.latent, &stacked.latent),
            (&shared.action, &stacked.action),
        ] {
            assert_close("chains", a.as_slice().unwrap(), b.as_slice().unwrap());
        }
        let lp_shared = shared.latent_log_prob().unwrap();
        let lp_stacked = stacked.high.dist.log_prob(stacked.latent.view()).unwrap();
        assert_close(
            "log pi^H",
            lp_shared.as_slice().unwrap(),
            lp_stacked.as_slice().unwrap(),
        );

        // Backward: per-chain gradients on the action and latent, per-observation gradients
        // on the high level (for the stacked chain: the same rows repeated, divided by S).
        let (wa, wz) = (randn(S * B, A, &mut rng), randn(S * B, Z, &mut rng));
        let wh = randn(B, Z, &mut rng);
        let mut g_shared = ChainGrad::zeros_shared(B, S, Z, A);
        g_shared.d_action = wa.clone();
        g_shared.d_latent = wz.clone();
        g_shared.d_high_std = wh.clone();
        let mut g_stacked = ChainGrad::zeros(S * B, Z, A);
        g_stacked.d_action = wa;
        g_stacked.d_latent = wz;
        g_stacked.d_high_std =
            ndarray::concatenate(ndarray::Axis(0), &[wh.view(); S]).unwrap() / S as f64;
        let (mut p1, mut p2) = (s.policy.zeros_like(), s.policy.zeros_like());
        s.policy.backward(&tiles, &shared, &g_shared, &mut p1);
        s.policy.backward(&tiles, &stacked, &g_stacked, &mut p2);
        assert_close("policy gradients", &p1.flatten(), &p2.flatten());

        // Eq. 11 with a separate low level: per-chain totals, and both gradients.
        let w = Array1::from_shape_fn(S * B, |i| 0.1 + i as f64 * 0.05);
        let pf_shared = s
            .prior
            .forward(&tiles, s.x.view(), shared.latent.view())
            .unwrap();
        let pf_stacked = s
            .prior
            .forward(&tiles, x_rep.view(), stacked.latent.view())
            .unwrap();
        let kl_shared = latent_kl(&shared, &pf_shared).unwrap().total();
        let kl_stacked = latent_kl(&stacked, &pf_stacked).unwrap().total();
        assert_close(
            "KL",
            kl_shared.as_slice().unwrap(),
            kl_stacked.as_slice().unwrap(),
        );
        let gp_shared =
            latent_kl_policy_grad(&tiles, &s.prior, &shared, &pf_shared, w.view()).unwrap();
        let gp_stacked =
            latent_kl_policy_grad(&tiles, &s.prior, &stacked, &pf_stacked, w.view()).unwrap();
        let (mut q1, mut q2) = (s.policy.zeros_like(), s.policy.zeros_like());
        s.policy.backward(&tiles, &shared, &gp_shared, &mut q1);
        s.policy.backward(&tiles, &stacked, &gp_stacked, &mut q2);
        assert_close("KL policy gradients", &q1.flatten(), &q2.flatten());
        let (mut r1, mut r2) = (s.prior.zeros_like(), s.prior.zeros_like());
        latent_kl_prior_backward(&tiles, &s.prior, &shared, &pf_shared, w.view(), &mut r1).unwrap();
        latent_kl_prior_backward(&tiles, &s.prior, &stacked, &pf_stacked, w.view(), &mut r2)
            .unwrap();
        assert_close("KL prior gradients", &r1.flatten(), &r2.flatten());
    }
}
