//! On a GPU: every kernel against its CPU reference (max abs/rel error reported and bounded),
//! sample statistics, determinism for a seed. Without a GPU each test prints that it skipped.

use crate::common::{batch, max_diff, values};
use bprl_cuda::{CudaError, GaussianBatch, Gpu, StdParam, cpu, driver_available};

fn gpu() -> Option<Gpu> {
    if !driver_available() {
        eprintln!("skipped: no CUDA driver on this machine");
        return None;
    }
    match Gpu::new(0) {
        Ok(g) => Some(g),
        Err(e @ (CudaError::Driver(_) | CudaError::NoNvrtc)) => {
            eprintln!("skipped: no usable GPU ({e})");
            None
        }
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn opening_a_gpu_without_a_driver_is_a_typed_error() {
    if !driver_available() {
        assert!(matches!(Gpu::new(0), Err(CudaError::NoDriver)));
    }
}

#[test]
fn kl_kernels_match_cpu() {
    let Some(g) = gpu() else { return };
    for (rows, dim) in [(1000, 8), (513, 7), (64, 200)] {
        let n = rows * dim;
        let (mp, sp) = (values(n, 1, -2.0, 2.0), values(n, 2, 0.05, 3.0));
        let (mq, sq) = (values(n, 3, -2.0, 2.0), values(n, 4, 0.05, 3.0));
        let (p, q) = (batch(&mp, &sp, rows, dim), batch(&mq, &sq, rows, dim));
        let got = g.kl_rows(&p, &q).unwrap();
        let want = if dim > bprl_cuda::WARP_KL_MIN_DIM {
            cpu::kl_rows_warp_order(&p, &q)
        } else {
            cpu::kl_rows(&p, &q)
        }
        .unwrap();
        let (abs, rel) = max_diff(&got, &want);
        eprintln!(
            "{} KL [{rows}, {dim}]: max abs {abs:e}, max rel {rel:e}",
            g.name()
        );
        assert!(rel < 1e-4, "KL rel error {rel}");
        let gg = g.kl_rows_grad(&p, &q).unwrap();
        let wg = cpu::kl_rows_grad(&p, &q).unwrap();
        for (name, a, b) in [
            ("d_mean_p", &gg.d_mean_p, &wg.d_mean_p),
            ("d_scale_p", &gg.d_scale_p, &wg.d_scale_p),
            ("d_mean_q", &gg.d_mean_q, &wg.d_mean_q),
            ("d_scale_q", &gg.d_scale_q, &wg.d_scale_q),
        ] {
            let (abs, rel) = max_diff(a, b);
            eprintln!("  {name}: max abs {abs:e}, max rel {rel:e}");
            assert!(rel < 1e-4, "{name} rel error {rel}");
        }
        let (lsp, lsq): (Vec<f32>, Vec<f32>) = (
            sp.iter().map(|s| s.ln()).collect(),
            sq.iter().map(|s| s.ln()).collect(),
        );
        let lp = GaussianBatch {
            mean: &mp,
            scale: &lsp,
            param: StdParam::LogStd,
            rows,
            dim,
        };
        let lq = GaussianBatch {
            mean: &mq,
            scale: &lsq,
            param: StdParam::LogStd,
            rows,
            dim,
        };
        let (_, rel) = max_diff(&g.kl_rows(&lp, &lq).unwrap(), &want);
        assert!(rel < 1e-3, "log-std KL rel error {rel}");
    }
}

#[test]
fn sampling_matches_cpu_and_is_deterministic() {
    let Some(g) = gpu() else { return };
    let (rows, dim, samples) = (2048, 8, 10);
    let n = rows * dim;
    let (m, s) = (values(n, 5, -1.0, 1.0), values(n, 6, 0.2, 1.5));
    let b = batch(&m, &s, rows, dim);
    for squash in [false, true] {
        let got = g.sample(&b, samples, 1234, squash).unwrap();
        let want = cpu::sample(&b, samples, 1234, squash).unwrap();
        let (aa, ar) = max_diff(&got.actions, &want.actions);
        let (la, lr) = max_diff(&got.log_prob, &want.log_prob);
        eprintln!(
            "{} sample squash={squash}: actions max abs {aa:e} rel {ar:e}; log-prob max abs {la:e} rel {lr:e}",
            g.name()
        );
        assert!(aa < 1e-4 && la < 1e-3);
        assert_eq!(
            got,
            g.sample(&b, samples, 1234, squash).unwrap(),
            "same seed, same numbers"
        );
    }
    // Statistics of the noise: standardized actions have mean 0 and variance 1.
    let zero_mean = vec![0.0f32; n];
    let ones = vec![1.0f32; n];
    let out = g
        .sample(&batch(&zero_mean, &ones, rows, dim), samples, 99, false)
        .unwrap();
    let k = out.actions.len() as f64;
    let mean = out.actions.iter().map(|&x| f64::from(x)).sum::<f64>() / k;
    let var = out
        .actions
        .iter()
        .map(|&x| (f64::from(x) - mean).powi(2))
        .sum::<f64>()
        / (k - 1.0);
    assert!(
        mean.abs() < 5.0 / k.sqrt() && (var - 1.0).abs() < 5.0 * (2.0 / k).sqrt(),
        "mean {mean}, var {var}"
    );
}

#[test]
fn fused_head_matches_cpu() {
    let Some(g) = gpu() else { return };
    let (rows, dim) = (777, 8);
    let raw = values(2 * rows * dim, 8, -2.0, 2.0);
    let (pm, ps) = (
        values(rows * dim, 9, -1.0, 1.0),
        values(rows * dim, 10, 0.2, 1.5),
    );
    let prior = batch(&pm, &ps, rows, dim);
    let got = g.fused_policy_head(&raw, &prior, 0.1, 10, 5).unwrap();
    let want = cpu::fused_policy_head(&raw, &prior, 0.1, 10, 5).unwrap();
    for (name, a, b) in [
        ("mean", &got.mean, &want.mean),
        ("std", &got.std, &want.std),
        ("actions", &got.actions, &want.actions),
        ("log_prob", &got.log_prob, &want.log_prob),
        ("kl", &got.kl, &want.kl),
    ] {
        let (abs, rel) = max_diff(a, b);
        eprintln!(
            "{} fused head {name}: max abs {abs:e}, max rel {rel:e}",
            g.name()
        );
        assert!(abs < 1e-3 && rel < 1e-3, "{name}");
    }
}
