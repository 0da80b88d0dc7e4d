//! Diagonal Gaussian: closed forms vs statrs, KL properties, gradients vs finite differences,
//! numerical range, reparameterized sampling.

use crate::common::{array2, assert_grad_close, config, fd_grad};
use approx::assert_relative_eq;
use bprl_distributions::DiagGaussian;
use bprl_distributions::prec::{F32_TOL, F64_TOL, MC_SIGMAS};
use ndarray::{Array2, Axis, array};
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use statrs::distribution::{Continuous, Normal};
use statrs::statistics::Distribution as _;

fn gauss(m: &Array2<f64>, s: &Array2<f64>) -> DiagGaussian<f64> {
    DiagGaussian::new(m.clone(), s.clone()).expect("valid test parameters")
}

/// `KL(p || q)` summed over the batch, as a function of one of the four parameter arrays.
fn total_kl(mp: &Array2<f64>, sp: &Array2<f64>, mq: &Array2<f64>, sq: &Array2<f64>) -> f64 {
    gauss(mp, sp).kl(&gauss(mq, sq)).expect("same shape").sum()
}

#[test]
fn kl_direction_is_policy_first() {
    // Closed forms by hand: p = N(0, 1), q = N(1, 2^2).
    // KL(p||q) = ln 2 + (1 + 1)/8 - 1/2;  KL(q||p) = -ln 2 + (4 + 1)/2 - 1/2.
    let p = DiagGaussian::new(array![[0.0f64]], array![[1.0]]).unwrap();
    let q = DiagGaussian::new(array![[1.0f64]], array![[2.0]]).unwrap();
    let ln2 = std::f64::consts::LN_2;
    assert_relative_eq!(p.kl(&q).unwrap()[0], ln2 + 0.25 - 0.5, epsilon = F64_TOL);
    assert_relative_eq!(q.kl(&p).unwrap()[0], -ln2 + 2.5 - 0.5, epsilon = F64_TOL);
}

#[test]
fn entropy_grad_is_reciprocal_std() {
    let g = DiagGaussian::new(array![[0.0f64, 1.0]], array![[0.5, 4.0]]).unwrap();
    let fd = fd_grad(&g.std().to_owned(), |s| {
        gauss(&g.mean().to_owned(), s).entropy().sum()
    });
    assert_grad_close("d H / d sigma", &g.entropy_grad_std(), &fd);
}

#[test]
fn rsample_moments_match_parameters() {
    let g = DiagGaussian::new(array![[1.5f64, -2.0]], array![[0.5, 3.0]]).unwrap();
    let mut rng = StdRng::seed_from_u64(7);
    let n = 20_000;
    let r = g.rsample_n(n, &mut rng);
    let mean = r.sample.mean_axis(Axis(0)).unwrap();
    let var = r.sample.var_axis(Axis(0), 1.0);
    for d in 0..2 {
        let (m, s) = (g.mean()[(0, d)], g.std()[(0, d)]);
        let se = s / (n as f64).sqrt();
        assert!((mean[(0, d)] - m).abs() < MC_SIGMAS * se, "mean dim {d}");
        // Var of the sample variance is about 2 s^4 / n.
        let se_var = s * s * (2.0 / n as f64).sqrt();
        assert!(
            (var[(0, d)] - s * s).abs() < MC_SIGMAS * se_var,
            "variance dim {d}"
        );
    }
    // The returned noise is what made the sample.
    let again = g.sample_from_noise(r.noise.index_axis(Axis(0), 3)).unwrap();
    assert_eq!(again, r.sample.index_axis(Axis(0), 3));
}

#[test]
fn same_seed_same_samples() {
    let g = DiagGaussian::<f32>::standard_normal(3, 4);
    let a = g.rsample(&mut StdRng::seed_from_u64(11));
    let b = g.rsample(&mut StdRng::seed_from_u64(11));
    let c = g.rsample(&mut StdRng::seed_from_u64(12));
    assert_eq!(a, b);
    assert_ne!(a.sample, c.sample);
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn log_prob_and_entropy_match_statrs(
        m in array2(3, 2, -3.0..3.0),
        s in array2(3, 2, 0.05..4.0),
        x in array2(3, 2, -5.0..5.0),
    ) {
        let g = gauss(&m, &s);
        let lp = g.log_prob(x.view()).unwrap();
        let h = g.entropy();
        for b in 0..3 {
            let mut lp_ref = 0.0;
            let mut h_ref = 0.0;
            for d in 0..2 {
                let n = Normal::new(m[(b, d)], s[(b, d)]).unwrap();
                lp_ref += n.ln_pdf(x[(b, d)]);
                h_ref += n.entropy().unwrap();
            }
            prop_assert!((lp[b] - lp_ref).abs() <= F64_TOL * (1.0 + lp_ref.abs()));
            prop_assert!((h[b] - h_ref).abs() <= F64_TOL * (1.0 + h_ref.abs()));
        }
    }

    #[test]
    fn kl_is_nonnegative_and_zero_on_equal(
        mp in array2(4, 3, -3.0..3.0),
        sp in array2(4, 3, 0.05..4.0),
        mq in array2(4, 3, -3.0..3.0),
        sq in array2(4, 3, 0.05..4.0),
    ) {
        let (p, q) = (gauss(&mp, &sp), gauss(&mq, &sq));
        for v in p.kl(&q).unwrap() {
            prop_assert!(v >= -F64_TOL);
        }
        for v in p.kl(&p).unwrap() {
            prop_assert!(v.abs() <= F64_TOL);
        }
        // KL to N(0, I) is the general KL with that second argument.
        let n = DiagGaussian::standard_normal(4, 3);
        let a = p.kl_to_standard_normal();
        let b = p.kl(&n).unwrap();
        for (a, b) in a.iter().zip(b.iter()) {
            prop_assert!((a - b).abs() <= F64_TOL * (1.0 + b.abs()));
        }
    }

    #[test]
    fn kl_grad_matches_finite_differences(
        mp in array2(2, 3, -2.0..2.0),
        sp in array2(2, 3, 0.2..3.0),
        mq in array2(2, 3, -2.0..2.0),
        sq in array2(2, 3, 0.2..3.0),
    ) {
        let g = gauss(&mp, &sp).kl_grad(&gauss(&mq, &sq)).unwrap();
        assert_grad_close("d/dmp", &g.d_mean_p, &fd_grad(&mp, |v| total_kl(v, &sp, &mq, &sq)));
        assert_grad_close("d/dsp", &g.d_std_p, &fd_grad(&sp, |v| total_kl(&mp, v, &mq, &sq)));
        assert_grad_close("d/dmq", &g.d_mean_q, &fd_grad(&mq, |v| total_kl(&mp, &sp, v, &sq)));
        assert_grad_close("d/dsq", &g.d_std_q, &fd_grad(&sq, |v| total_kl(&mp, &sp, &mq, v)));
        let (lsp, lsq) = (sp.mapv(f64::ln), sq.mapv(f64::ln));
        let via_log_p = fd_grad(&lsp, |v| total_kl(&mp, &v.mapv(f64::exp), &mq, &sq));
        let via_log_q = fd_grad(&lsq, |v| total_kl(&mp, &sp, &mq, &v.mapv(f64::exp)));
        assert_grad_close("d/dlog sp", &g.d_log_std_p, &via_log_p);
        assert_grad_close("d/dlog sq", &g.d_log_std_q, &via_log_q);
    }

    #[test]
    fn log_prob_grad_matches_finite_differences(
        m in array2(2, 3, -2.0..2.0),
        s in array2(2, 3, 0.2..3.0),
        x in array2(2, 3, -4.0..4.0),
    ) {
        let g = gauss(&m, &s).log_prob_grad(x.view()).unwrap();
        let lp = |m: &Array2<f64>, s: &Array2<f64>, x: &Array2<f64>| {
            gauss(m, s).log_prob(x.view()).unwrap().sum()
        };
        assert_grad_close("d/dx", &g.d_x, &fd_grad(&x, |v| lp(&m, &s, v)));
        assert_grad_close("d/dm", &g.d_mean, &fd_grad(&m, |v| lp(v, &s, &x)));
        assert_grad_close("d/ds", &g.d_std, &fd_grad(&s, |v| lp(&m, v, &x)));
        let ls = s.mapv(f64::ln);
        let fd_ls = fd_grad(&ls, |v| lp(&m, &v.mapv(f64::exp), &x));
        assert_grad_close("d/dlog s", &g.d_log_std, &fd_ls);
    }

    #[test]
    fn rsample_backward_matches_finite_differences(
        m in array2(2, 2, -2.0..2.0),
        s in array2(2, 2, 0.2..3.0),
        eps in array2(2, 2, -2.0..2.0),
        w in array2(2, 2, -1.0..1.0),
    ) {
        // L(x) = sum w * x^2 at x = m + s * eps.
        let loss = |m: &Array2<f64>, s: &Array2<f64>| {
            let x = gauss(m, s).sample_from_noise(eps.view()).unwrap();
            (&w * &x * &x).sum()
        };
        let x = gauss(&m, &s).sample_from_noise(eps.view()).unwrap();
        let d_x = 2.0 * &w * &x;
        let (dm, ds) = gauss(&m, &s).rsample_backward(d_x.view(), eps.view()).unwrap();
        assert_grad_close("dL/dm", &dm, &fd_grad(&m, |v| loss(v, &s)));
        assert_grad_close("dL/ds", &ds, &fd_grad(&s, |v| loss(&m, v)));
    }

    /// Safe for std in [1e-6, 1e6] in f32: finite, non-negative, and equal to the f64 value
    /// of the same (f32-rounded) inputs within F32_TOL relative.
    #[test]
    fn f32_kl_is_safe_over_the_std_range(
        mp in array2(2, 2, -10.0..10.0),
        log_sp in array2(2, 2, -13.8..13.8),
        mq in array2(2, 2, -10.0..10.0),
        log_sq in array2(2, 2, -13.8..13.8),
    ) {
        let f = |a: &Array2<f64>| a.mapv(|v| v as f32);
        let (mp32, sp32) = (f(&mp), f(&log_sp.mapv(f64::exp)));
        let (mq32, sq32) = (f(&mq), f(&log_sq.mapv(f64::exp)));
        let p32 = DiagGaussian::new(mp32.clone(), sp32.clone()).unwrap();
        let q32 = DiagGaussian::new(mq32.clone(), sq32.clone()).unwrap();
        let up = |a: &Array2<f32>| a.mapv(f64::from);
        let kl64 = gauss(&up(&mp32), &up(&sp32)).kl(&gauss(&up(&mq32), &up(&sq32))).unwrap();
        let kl32 = p32.kl(&q32).unwrap();
        for (a, b) in kl32.iter().zip(kl64.iter()) {
            prop_assert!(a.is_finite() && *a >= 0.0, "f32 KL {a}");
            prop_assert!((f64::from(*a) - b).abs() <= F32_TOL * (1e-3 + b.abs()), "{a} vs {b}");
        }
        let g = p32.kl_grad(&q32).unwrap();
        for a in [&g.d_mean_p, &g.d_std_p, &g.d_log_std_p, &g.d_mean_q, &g.d_std_q, &g.d_log_std_q] {
            prop_assert!(a.iter().all(|v| v.is_finite()));
        }
        let x = DiagGaussian::new(mq32, sq32).unwrap().rsample(&mut StdRng::seed_from_u64(1)).sample;
        prop_assert!(p32.log_prob(x.view()).unwrap().iter().all(|v| v.is_finite()));
        prop_assert!(p32.log_prob_grad(x.view()).unwrap().d_std.iter().all(|v| v.is_finite()));
    }
}
