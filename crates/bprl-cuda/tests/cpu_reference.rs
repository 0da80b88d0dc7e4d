//! The CPU references agree with `bprl-distributions`' formulas: KL and its gradients, sample
//! log-probs (plain and tanh-squashed), and the fused head.

use crate::common::{batch, values};
use bprl_cuda::{CudaError, GaussianBatch, StdParam, cpu};
use bprl_distributions::{DiagGaussian, TanhGaussian};
use ndarray::Array2;
use proptest::prelude::*;

fn dist(mean: &[f32], std: &[f32], rows: usize, dim: usize) -> DiagGaussian<f32> {
    DiagGaussian::new(
        Array2::from_shape_vec((rows, dim), mean.to_vec()).unwrap(),
        Array2::from_shape_vec((rows, dim), std.to_vec()).unwrap(),
    )
    .unwrap()
}

fn close(a: &[f32], b: &[f32], tol: f32) -> bool {
    a.iter()
        .zip(b)
        .all(|(x, y)| (x - y).abs() <= tol * (1.0 + y.abs()))
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 48,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x6375),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn kl_and_gradients_match_distributions(seed in 0u64..10_000, rows in 1usize..6, dim in 1usize..70) {
        let n = rows * dim;
        let (mp, sp) = (values(n, seed, -2.0, 2.0), values(n, seed + 1, 0.1, 3.0));
        let (mq, sq) = (values(n, seed + 2, -2.0, 2.0), values(n, seed + 3, 0.1, 3.0));
        let (p, q) = (batch(&mp, &sp, rows, dim), batch(&mq, &sq, rows, dim));
        let kl = cpu::kl_rows(&p, &q).unwrap();
        let (dp, dq) = (dist(&mp, &sp, rows, dim), dist(&mq, &sq, rows, dim));
        let want = dp.kl(&dq).unwrap();
        prop_assert!(close(&kl, want.as_slice().unwrap(), 1e-5));
        prop_assert!(close(&cpu::kl_rows_warp_order(&p, &q).unwrap(), &kl, 1e-5));
        let g = cpu::kl_rows_grad(&p, &q).unwrap();
        let wg = dp.kl_grad(&dq).unwrap();
        prop_assert!(close(&g.d_mean_p, wg.d_mean_p.as_slice().unwrap(), 1e-5));
        prop_assert!(close(&g.d_scale_p, wg.d_std_p.as_slice().unwrap(), 1e-5));
        prop_assert!(close(&g.d_mean_q, wg.d_mean_q.as_slice().unwrap(), 1e-5));
        prop_assert!(close(&g.d_scale_q, wg.d_std_q.as_slice().unwrap(), 1e-5));
        // Log-std parameterization: same KL, log-std gradients.
        let (lsp, lsq): (Vec<f32>, Vec<f32>) = (sp.iter().map(|s| s.ln()).collect(), sq.iter().map(|s| s.ln()).collect());
        let lp = GaussianBatch { mean: &mp, scale: &lsp, param: StdParam::LogStd, rows, dim };
        let lq = GaussianBatch { mean: &mq, scale: &lsq, param: StdParam::LogStd, rows, dim };
        let lg = cpu::kl_rows_grad(&lp, &lq).unwrap();
        prop_assert!(close(&lg.kl, &kl, 1e-4));
        prop_assert!(close(&lg.d_scale_p, wg.d_log_std_p.as_slice().unwrap(), 1e-4));
        prop_assert!(close(&lg.d_scale_q, wg.d_log_std_q.as_slice().unwrap(), 1e-4));
    }

    #[test]
    fn sample_log_probs_match_distributions(seed in 0u64..10_000, rows in 1usize..5, dim in 1usize..9, samples in 1usize..4) {
        let n = rows * dim;
        let (m, s) = (values(n, seed, -1.0, 1.0), values(n, seed + 9, 0.2, 1.5));
        let b = batch(&m, &s, rows, dim);
        let d = dist(&m, &s, rows, dim);
        for squash in [false, true] {
            let out = cpu::sample(&b, samples, seed, squash).unwrap();
            for k in 0..samples {
                let start = k * rows * dim;
                let a = Array2::from_shape_vec((rows, dim), out.actions[start..start + n].to_vec()).unwrap();
                let lp = &out.log_prob[k * rows..(k + 1) * rows];
                let want = if squash {
                    // Recover the pre-squash values from the same noise.
                    let eps = Array2::from_shape_fn((rows, dim), |(r, j)| bprl_cuda::philox::normal(seed, r as u32, k as u32, j as u32));
                    let u = d.sample_from_noise(eps.view()).unwrap();
                    prop_assert!(close(a.as_slice().unwrap(), u.mapv(f32::tanh).as_slice().unwrap(), 1e-6));
                    TanhGaussian::new(d.clone()).log_prob_pre_tanh(u.view()).unwrap()
                } else {
                    d.log_prob(a.view()).unwrap()
                };
                prop_assert!(close(lp, want.as_slice().unwrap(), 1e-4), "{lp:?} vs {want:?}");
            }
        }
    }

    #[test]
    fn fused_head_matches_head_then_distributions(seed in 0u64..10_000, rows in 1usize..5, dim in 1usize..9) {
        let raw = values(2 * rows * dim, seed, -2.0, 2.0);
        let (pm, ps) = (values(rows * dim, seed + 5, -1.0, 1.0), values(rows * dim, seed + 6, 0.2, 1.5));
        let out = cpu::fused_policy_head(&raw, &batch(&pm, &ps, rows, dim), 0.1, 3, seed).unwrap();
        let k = 0.7 / std::f32::consts::LN_2;
        for r in 0..rows {
            for j in 0..dim {
                let i = r * dim + j;
                prop_assert!((out.mean[i] - raw[r * 2 * dim + j].tanh()).abs() < 1e-6);
                let x = raw[r * 2 * dim + dim + j];
                prop_assert!((out.std[i] - ((1.0 + x.exp()).ln() * k + 0.1)).abs() < 1e-5);
            }
        }
        let head = dist(&out.mean, &out.std, rows, dim);
        let kl = head.kl(&dist(&pm, &ps, rows, dim)).unwrap();
        prop_assert!(close(&out.kl, kl.as_slice().unwrap(), 1e-5));
        let plain = cpu::sample(&batch(&out.mean, &out.std, rows, dim), 3, seed, false).unwrap();
        prop_assert!(close(&out.actions, &plain.actions, 1e-6));
        prop_assert!(close(&out.log_prob, &plain.log_prob, 1e-5));
    }
}

/// Log-std inputs sample the same actions as the stds they encode (`exp` of the log), and the
/// log-prob uses the log-std itself (no `ln(exp(x))` round trip).
#[test]
fn log_std_sampling_matches_std_sampling() {
    let (rows, dim) = (37, 7);
    let m = values(rows * dim, 3, -1.0, 1.0);
    let ls = values(rows * dim, 4, -1.5, 0.5);
    let s: Vec<f32> = ls.iter().map(|x| x.exp()).collect();
    let log = GaussianBatch {
        mean: &m,
        scale: &ls,
        param: StdParam::LogStd,
        rows,
        dim,
    };
    for squash in [false, true] {
        let a = cpu::sample(&log, 4, 9, squash).unwrap();
        let b = cpu::sample(&batch(&m, &s, rows, dim), 4, 9, squash).unwrap();
        assert_eq!(a.actions, b.actions);
        assert!(close(&a.log_prob, &b.log_prob, 1e-5));
    }
}

#[test]
fn bad_inputs_are_typed_errors() {
    let (m, s) = (vec![0.0f32; 6], vec![1.0f32; 6]);
    let short = vec![1.0f32; 5];
    assert!(matches!(
        cpu::kl_rows(&batch(&m, &short, 2, 3), &batch(&m, &s, 2, 3)),
        Err(CudaError::Shape { what: "scale", .. })
    ));
    let zero = vec![1.0, 1.0, 0.0, 1.0, 1.0, 1.0f32];
    assert!(matches!(
        cpu::sample(&batch(&m, &zero, 2, 3), 1, 0, false),
        Err(CudaError::NonPositive {
            what: "std",
            index: 2,
            ..
        })
    ));
    let nan = vec![0.0, f32::NAN, 0.0, 0.0, 0.0, 0.0];
    assert!(matches!(
        cpu::kl_rows(&batch(&nan, &s, 2, 3), &batch(&m, &s, 2, 3)),
        Err(CudaError::NonFinite {
            what: "mean",
            index: 1,
            ..
        })
    ));
    assert!(matches!(
        cpu::kl_rows(&batch(&m, &s, 2, 3), &batch(&m, &s, 3, 2)),
        Err(CudaError::Shape { .. })
    ));
    assert!(matches!(
        cpu::fused_policy_head(&m, &batch(&m, &s, 2, 3), 0.1, 1, 0),
        Err(CudaError::Shape { what: "raw", .. })
    ));
    let raw = vec![0.0f32; 12];
    assert!(matches!(
        cpu::fused_policy_head(&raw, &batch(&m, &s, 2, 3), 0.0, 1, 0),
        Err(CudaError::NonPositive {
            what: "min_scale",
            ..
        })
    ));
}
