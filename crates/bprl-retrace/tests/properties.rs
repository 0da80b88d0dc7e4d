//! Retrace against its brute-force double sum, its limits, episode cuts, precision.

use crate::common::{Batch, assert_close, batch, brute_force_retrace, config};
use bprl_retrace::{Lambda, Sequence, n_step_returns, retrace};
use ndarray::{Array1, Array2, Axis, s};
use proptest::prelude::*;

const TOL: f64 = 1e-10;

proptest! {
    #![proptest_config(config())]

    #[test]
    fn equals_brute_force_double_sum(b in batch()) {
        let out = retrace(&b.seq(), b.log_rho_t.view(), Lambda::Constant(b.lambda)).unwrap();
        assert_close("targets", &out.targets, &brute_force_retrace(&b), TOL);
        // The diagnostics are consistent with the targets.
        assert_close("Q + A", &(&b.q_t + &out.corrections), &out.targets, TOL);
        let delta = &b.r_t + &(&b.discount_t * &b.v_tp1) - &b.q_t;
        assert_close("delta", &out.delta_t, &delta, TOL);
    }

    #[test]
    fn per_step_lambda_equal_to_constant_agrees(b in batch()) {
        let per_step = Array2::from_elem(b.q_t.raw_dim(), b.lambda);
        let a = retrace(&b.seq(), b.log_rho_t.view(), Lambda::Constant(b.lambda)).unwrap();
        let c = retrace(&b.seq(), b.log_rho_t.view(), Lambda::PerStep(per_step.view())).unwrap();
        prop_assert_eq!(a, c);
    }

    /// lambda = 0: the one-step expected-SARSA target r_t + gamma_t V(x_{t+1}).
    #[test]
    fn lambda_zero_is_one_step_expected_sarsa(b in batch()) {
        let out = retrace(&b.seq(), b.log_rho_t.view(), Lambda::Constant(0.0)).unwrap();
        let one_step = &b.r_t + &(&b.discount_t * &b.v_tp1);
        assert_close("lambda = 0", &out.targets, &one_step, TOL);
    }

    /// On-policy (rho = 1), lambda = 1, deterministic policies (V(x_{t+1}) = Q'(x_{t+1}, a_{t+1})):
    /// the discounted Monte-Carlo return plus the bootstrap value.
    #[test]
    fn on_policy_lambda_one_is_monte_carlo_return(b in batch()) {
        let steps = b.q_t.nrows();
        let mut v_tp1 = b.v_tp1.clone();
        v_tp1.slice_mut(s![..steps - 1, ..]).assign(&b.q_t.slice(s![1.., ..]));
        let seq = Sequence { v_tp1: v_tp1.view(), ..b.seq() };
        let zeros = Array2::zeros(b.q_t.raw_dim());
        let out = retrace(&seq, zeros.view(), Lambda::Constant(1.0)).unwrap();
        let mc = Array2::from_shape_fn(b.q_t.raw_dim(), |(t, j)| {
            let mut g = 0.0;
            let mut scale = 1.0;
            for s in t..steps {
                g += scale * b.r_t[(s, j)];
                scale *= b.discount_t[(s, j)];
            }
            g + scale * v_tp1[(steps - 1, j)]
        });
        assert_close("Monte-Carlo return", &out.targets, &mc, 1e-9);
        let n_step = n_step_returns(b.r_t.view(), b.discount_t.view(), v_tp1.view(), steps).unwrap();
        assert_close("n = T", &n_step, &mc, 1e-9);
    }

    /// An episode end (discount 0) at step k: nothing after it changes any target at or before it.
    #[test]
    fn episode_end_cuts_the_trace(b in batch(), k_frac in 0.0f64..1.0, other in batch()) {
        let steps = b.q_t.nrows();
        let k = ((steps as f64 * k_frac) as usize).min(steps - 1);
        let mut b1 = b.clone();
        b1.discount_t.row_mut(k).fill(0.0);
        let mut b2 = b1.clone();
        let width = b.q_t.ncols();
        // Overwrite everything after k (and the ignored bootstrap at k) with other values.
        let scramble = |dst: &mut Array2<f64>, src: &Array2<f64>, from: usize| {
            for t in from..steps {
                for j in 0..width {
                    dst[(t, j)] = src[(t % src.nrows(), j % src.ncols())];
                }
            }
        };
        scramble(&mut b2.q_t, &other.q_t, k + 1);
        scramble(&mut b2.r_t, &other.r_t, k + 1);
        scramble(&mut b2.discount_t, &other.discount_t, k + 1);
        scramble(&mut b2.log_rho_t, &other.log_rho_t, k + 1);
        scramble(&mut b2.v_tp1, &other.v_tp1, k);
        let t1 = retrace(&b1.seq(), b1.log_rho_t.view(), Lambda::Constant(b1.lambda)).unwrap();
        let t2 = retrace(&b2.seq(), b2.log_rho_t.view(), Lambda::Constant(b2.lambda)).unwrap();
        prop_assert_eq!(t1.targets.slice(s![..=k, ..]), t2.targets.slice(s![..=k, ..]));
    }

    /// A single 1-D sequence gives the same numbers as the same sequence as a [T, 1] batch.
    #[test]
    fn single_sequence_equals_batch_of_one(b in batch()) {
        let col = |a: &Array2<f64>| a.column(0).to_owned();
        let [q, v, r, d, l]: [Array1<f64>; 5] =
            [&b.q_t, &b.v_tp1, &b.r_t, &b.discount_t, &b.log_rho_t].map(col);
        let seq = Sequence { q_t: q.view(), v_tp1: v.view(), r_t: r.view(), discount_t: d.view() };
        let single = retrace(&seq, l.view(), Lambda::Constant(b.lambda)).unwrap();
        let batched = retrace(&b.seq(), b.log_rho_t.view(), Lambda::Constant(b.lambda)).unwrap();
        prop_assert_eq!(single.targets, batched.targets.index_axis(Axis(1), 0).to_owned());
    }

    /// f32 agrees with f64 to single precision.
    #[test]
    fn f32_matches_f64(b in batch()) {
        let f = |a: &Array2<f64>| a.mapv(|x| x as f32);
        let (q, v, r, d, l) = (f(&b.q_t), f(&b.v_tp1), f(&b.r_t), f(&b.discount_t), f(&b.log_rho_t));
        let seq = Sequence { q_t: q.view(), v_tp1: v.view(), r_t: r.view(), discount_t: d.view() };
        let out32 = retrace(&seq, l.view(), Lambda::Constant(b.lambda as f32)).unwrap();
        let up = |a: &Array2<f32>| a.mapv(f64::from);
        let bb = Batch { q_t: up(&q), v_tp1: up(&v), r_t: up(&r), discount_t: up(&d), log_rho_t: up(&l), lambda: f64::from(b.lambda as f32) };
        assert_close("f32", &up(&out32.targets), &brute_force_retrace(&bb), 1e-5);
    }

    /// n-step returns against their definition.
    #[test]
    fn n_step_matches_definition(b in batch(), n in 1usize..10) {
        let steps = b.q_t.nrows();
        let got = n_step_returns(b.r_t.view(), b.discount_t.view(), b.v_tp1.view(), n).unwrap();
        let want = Array2::from_shape_fn(b.q_t.raw_dim(), |(t, j)| {
            let m = n.min(steps - t);
            let mut g = 0.0;
            for k in 0..m {
                let scale: f64 = (0..k).map(|i| b.discount_t[(t + i, j)]).product();
                g += scale * b.r_t[(t + k, j)];
            }
            let scale: f64 = (0..m).map(|i| b.discount_t[(t + i, j)]).product();
            g + scale * b.v_tp1[(t + m - 1, j)]
        });
        assert_close("n-step", &got, &want, 1e-10);
        if n == 1 {
            assert_close("1-step", &got, &(&b.r_t + &(&b.discount_t * &b.v_tp1)), 1e-12);
        }
    }
}
