//! Categorical: log-probs and entropy vs statrs, KL properties, gradients vs finite
//! differences, temperature, sampling frequencies.

use crate::common::{array2, assert_grad_close, config, fd_grad};
use bprl_distributions::Categorical;
use bprl_distributions::prec::{F64_TOL, MC_SIGMAS};
use ndarray::{Array2, array};
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use statrs::distribution::Discrete;
use statrs::statistics::Distribution as _;

fn cat(l: &Array2<f64>, tau: f64) -> Categorical<f64> {
    Categorical::with_temperature(l.clone(), tau).expect("valid logits")
}

#[test]
fn kl_direction_is_first_argument_first() {
    // p = (1/2, 1/2), q = (1/4, 3/4): KL(p||q) = ln 2 + ... by hand below.
    let p = Categorical::new(array![[0.0f64, 0.0]]).unwrap();
    let q = Categorical::new(array![[0.0f64, 3.0f64.ln()]]).unwrap();
    let pq = 0.5 * (0.5f64 / 0.25).ln() + 0.5 * (0.5f64 / 0.75).ln();
    let qp = 0.25 * (0.25f64 / 0.5).ln() + 0.75 * (0.75f64 / 0.5).ln();
    assert!((p.kl(&q).unwrap()[0] - pq).abs() < F64_TOL);
    assert!((q.kl(&p).unwrap()[0] - qp).abs() < F64_TOL);
    assert!(
        (pq - qp).abs() > 1e-3,
        "the test case must tell the directions apart"
    );
}

#[test]
fn temperature_limits() {
    let l = array![[1.0f64, 2.0, 0.5]];
    let cold = Categorical::with_temperature(l.clone(), 1e-3)
        .unwrap()
        .probs();
    let hot = Categorical::with_temperature(l, 1e6).unwrap().probs();
    assert!(cold[(0, 1)] > 1.0 - 1e-12, "tau -> 0 is the argmax");
    for v in hot.iter() {
        assert!((v - 1.0 / 3.0).abs() < 1e-5, "tau -> inf is uniform");
    }
}

#[test]
fn sample_frequencies_match_probabilities() {
    let c = Categorical::new(array![[0.0f64, 1.0, -1.0, 0.5]]).unwrap();
    let p = c.probs();
    let mut rng = StdRng::seed_from_u64(3);
    let n = 40_000;
    let mut counts = [0usize; 4];
    for _ in 0..n {
        counts[c.sample(&mut rng)[0]] += 1;
    }
    for k in 0..4 {
        let pk = p[(0, k)];
        let se = (pk * (1.0 - pk) / n as f64).sqrt();
        let freq = counts[k] as f64 / n as f64;
        assert!(
            (freq - pk).abs() < MC_SIGMAS * se,
            "category {k}: {freq} vs {pk}"
        );
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn log_prob_and_entropy_match_statrs(l in array2(3, 4, -4.0..4.0), tau in 0.3f64..3.0) {
        let c = cat(&l, tau);
        let p = c.probs();
        let h = c.entropy();
        let lp = c.log_prob(&[0, 3, 2]).unwrap();
        for (b, &k) in [0usize, 3, 2].iter().enumerate() {
            let row: Vec<f64> = p.row(b).to_vec();
            let s = statrs::distribution::Categorical::new(&row).unwrap();
            prop_assert!((lp[b] - s.ln_pmf(k as u64)).abs() <= F64_TOL);
            prop_assert!((h[b] - s.entropy().unwrap()).abs() <= F64_TOL);
        }
    }

    #[test]
    fn kl_is_nonnegative_and_zero_on_equal(p in array2(3, 5, -4.0..4.0), q in array2(3, 5, -4.0..4.0)) {
        let (p, q) = (cat(&p, 1.0), cat(&q, 1.0));
        prop_assert!(p.kl(&q).unwrap().iter().all(|&v| v >= -F64_TOL));
        prop_assert!(p.kl(&p).unwrap().iter().all(|&v| v.abs() <= F64_TOL));
    }

    #[test]
    fn gradients_match_finite_differences(
        lp in array2(2, 4, -3.0..3.0),
        lq in array2(2, 4, -3.0..3.0),
        tau in 0.5f64..2.0,
    ) {
        let actions = [1usize, 3];
        let c = cat(&lp, tau);
        let g = c.log_prob_grad(&actions).unwrap();
        let fd = fd_grad(&lp, |v| cat(v, tau).log_prob(&actions).unwrap().sum());
        assert_grad_close("d ln p / d logits", &g, &fd);
        let fd_h = fd_grad(&lp, |v| cat(v, tau).entropy().sum());
        assert_grad_close("d H / d logits", &c.entropy_grad(), &fd_h);
        let (dp, dq) = c.kl_grad(&cat(&lq, 1.0)).unwrap();
        let fd_p = fd_grad(&lp, |v| cat(v, tau).kl(&cat(&lq, 1.0)).unwrap().sum());
        let fd_q = fd_grad(&lq, |v| cat(&lp, tau).kl(&cat(v, 1.0)).unwrap().sum());
        assert_grad_close("d KL / d logits_p", &dp, &fd_p);
        assert_grad_close("d KL / d logits_q", &dq, &fd_q);
    }

    /// rlax's `clipped_entropy_softmax`: `min(H, c ln K)`; `c = 1` (rlax's default) is the
    /// plain entropy, `c = 0` is zero; the gradient is the entropy's below the threshold and
    /// zero above, checked against finite differences away from the kink.
    #[test]
    fn clipped_entropy_is_min_of_entropy_and_threshold(
        l in array2(3, 4, -3.0..3.0),
        tau in 0.5f64..2.0,
        clip in 0.0f64..1.2,
    ) {
        let c = cat(&l, tau);
        let h = c.entropy();
        let cap = clip * 4.0f64.ln();
        let clipped = c.clipped_entropy(clip).unwrap();
        for b in 0..3 {
            prop_assert_eq!(clipped[b], h[b].min(cap));
            prop_assert!(clipped[b] <= cap);
        }
        prop_assert_eq!(c.clipped_entropy(1.0).unwrap(), h.clone());
        prop_assert!(c.clipped_entropy(0.0).unwrap().iter().all(|&v| v == 0.0));
        let g = c.clipped_entropy_grad(clip).unwrap();
        // Finite differences are valid only where no row sits at the kink.
        let margin = 1e-4;
        prop_assume!(h.iter().all(|&v| (v - cap).abs() > margin));
        let fd = fd_grad(&l, |v| cat(v, tau).clipped_entropy(clip).unwrap().sum());
        assert_grad_close("d clipped H / d logits", &g, &fd);
        let full = c.entropy_grad();
        for b in 0..3 {
            let expect = if h[b] < cap { full.row(b).to_owned() } else { full.row(b).mapv(|_| 0.0) };
            prop_assert_eq!(g.row(b).to_owned(), expect);
        }
    }
}

#[test]
fn clipped_entropy_tie_takes_half_the_gradient() {
    // A non-uniform row whose own entropy is the threshold: search the few floats around
    // H / ln K for a clip `c` with `c ln K == H` exactly, then the gradient is half of dH/dl.
    let c = Categorical::new(array![[0.3f64, -0.2, 1.0]]).unwrap();
    let h = c.entropy()[0];
    let ln_k = 3.0f64.ln();
    let guess = (h / ln_k).to_bits();
    let clip = (guess - 4..=guess + 4)
        .map(f64::from_bits)
        .find(|&clip| clip * ln_k == h)
        .expect("a float clip within 4 ulps hits the entropy exactly");
    let full = c.entropy_grad();
    assert!(
        full.iter().any(|&v| v.abs() > 1e-3),
        "a row with a non-zero gradient"
    );
    assert_eq!(c.clipped_entropy(clip).unwrap()[0], h);
    assert_eq!(
        c.clipped_entropy_grad(clip).unwrap(),
        full.mapv(|v| 0.5 * v)
    );
}
