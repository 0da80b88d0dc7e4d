//! Finite-difference checks (f64) of the head, the flat policy (parameters and inputs), and
//! the critic (parameters, action and latent inputs).

use crate::common::{STEP, assert_close, fd_array, flat, obs, rand_distr_like::randn, spec};
use bprl_nn::Parameters;
use bprl_nn::gradcheck::finite_difference;
use bprl_policy::{Critic, CriticConfig, GaussianHead, GaussianPolicy, GaussianPolicyConfig};
use ndarray::{Array1, Array2};
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 16,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x706f),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn gaussian_head(seed in 0u64..1000) {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut head = GaussianHead::<f64>::new(4, 3, 0.1, &mut rng);
        // Larger weights than the near-zero init, so tanh and softplus are exercised.
        head.assign_flat(&randn(1, head.num_params(), &mut rng).row(0).to_vec());
        let h = randn(5, 4, &mut rng);
        let (wm, ws) = (randn(5, 3, &mut rng), randn(5, 3, &mut rng));
        let loss = |hd: &GaussianHead<f64>, h: &Array2<f64>| {
            let (m, s, _) = hd.forward(h.view());
            (&m * &wm).sum() + (&s * &ws).sum()
        };
        let (_, _, cache) = head.forward(h.view());
        let mut g = head.clone();
        g.fill_zero();
        let dh = head.backward(&cache, wm.view(), ws.view(), &mut g);
        assert_close("head params", &g.flatten(), &finite_difference(&head, STEP, |p| loss(p, &h)));
        assert_close("head input", &flat(&dh), &fd_array(&h, |h| loss(&head, h)));
    }

    #[test]
    fn gaussian_policy_with_extra_input(seed in 0u64..1000) {
        let mut rng = StdRng::seed_from_u64(seed);
        let sel = spec().select(&["proprio", "goal"]).unwrap();
        let cfg = GaussianPolicyConfig { hidden: vec![6, 5], output_dim: 2, extra_input_dim: 2, min_scale: 0.1 };
        let mut pol = GaussianPolicy::<f64>::new(sel, &cfg, &mut rng).unwrap();
        let head_len = pol.head.num_params();
        let mut values = pol.flatten();
        let n = values.len();
        values[n - head_len..].copy_from_slice(randn(1, head_len, &mut rng).row(0).as_slice().unwrap());
        pol.assign_flat(&values);
        let (x, z) = (obs(4, &mut rng), randn(4, 2, &mut rng));
        let (wm, ws) = (randn(4, 2, &mut rng), randn(4, 2, &mut rng));
        let loss = |p: &GaussianPolicy<f64>, x: &Array2<f64>, z: &Array2<f64>| {
            let f = p.forward(x.view(), Some(z.view())).unwrap();
            (&f.dist.mean() * &wm).sum() + (&f.dist.std() * &ws).sum()
        };
        let fwd = pol.forward(x.view(), Some(z.view())).unwrap();
        let mut g = pol.zeros_like();
        let d_in = pol.backward(&fwd, wm.view(), ws.view(), &mut g);
        assert_close("policy params", &g.flatten(), &finite_difference(&pol, STEP, |p| loss(p, &x, &z)));
        // Input gradient: the extra (latent) columns come last.
        let d_z = d_in.slice(ndarray::s![.., 5..]).to_owned();
        assert_close("policy latent input", &flat(&d_z), &fd_array(&z, |z| loss(&pol, &x, z)));
    }

    #[test]
    fn latent_critic_params_action_and_latent(seed in 0u64..1000) {
        let mut rng = StdRng::seed_from_u64(seed);
        let cfg = CriticConfig { hidden: vec![6, 5], action_dim: 2, latent_dim: 3, output_init_std: 0.5 };
        let critic = Critic::<f64>::new(spec().select_all(), &cfg, &mut rng).unwrap();
        let x = obs(4, &mut rng);
        let a = randn(4, 2, &mut rng).mapv(|v| (v * 0.3).clamp(-0.9, 0.9));
        let z = randn(4, 3, &mut rng);
        let w = Array1::from(randn(1, 4, &mut rng).row(0).to_vec());
        let loss = |c: &Critic<f64>, a: &Array2<f64>, z: &Array2<f64>| {
            c.q(x.view(), a.view(), Some(z.view())).unwrap().dot(&w)
        };
        let fwd = critic.forward(x.view(), a.view(), Some(z.view())).unwrap();
        let mut g = critic.zeros_like();
        let d = critic.backward(&fwd, w.view(), &mut g);
        assert_close("critic params", &g.flatten(), &finite_difference(&critic, STEP, |c| loss(c, &a, &z)));
        assert_close("critic action", &flat(&d.d_action), &fd_array(&a, |a| loss(&critic, a, &z)));
        assert_close("critic latent", &flat(&d.d_latent.unwrap()), &fd_array(&z, |z| loss(&critic, &a, z)));
    }
}

#[test]
fn flat_critic_clips_actions_and_zeroes_their_gradient() {
    let mut rng = StdRng::seed_from_u64(2);
    let cfg = CriticConfig {
        hidden: vec![4],
        action_dim: 2,
        latent_dim: 0,
        output_init_std: 0.5,
    };
    let critic = Critic::<f64>::new(spec().select_all(), &cfg, &mut rng).unwrap();
    let x = obs(1, &mut rng);
    let inside = ndarray::array![[1.0, 0.3]];
    let outside = ndarray::array![[3.0, 0.3]];
    let q_in = critic.q(x.view(), inside.view(), None).unwrap()[0];
    let fwd = critic.forward(x.view(), outside.view(), None).unwrap();
    assert_eq!(
        fwd.q[0], q_in,
        "actions are clipped to [-1, 1] before the critic"
    );
    let mut g = critic.zeros_like();
    let d = critic.backward(&fwd, ndarray::array![1.0].view(), &mut g);
    assert_eq!(d.d_action[(0, 0)], 0.0);
    assert!(d.d_latent.is_none());
    assert!(
        critic
            .q(x.view(), inside.view(), Some(inside.view()))
            .is_err()
    );
}
