//! On a GPU: every kernel against its CPU reference, each output within the bound of
//! `common::tol` that says why it holds (the largest difference is printed), sample
//! statistics, determinism for a seed.
//!
//! Without a GPU each test prints that it skipped, but only for a missing driver, NVRTC or
//! device: a kernel that does not compile, load or launch always fails. With
//! `BPRL_REQUIRE_GPU=1` (`make test-gpu` and the device package of `scripts/gpu-check` set
//! it) nothing skips: no GPU is a failure.

use crate::common::{Tol, assert_close, batch, tol, values};
use bprl_cuda::{CudaError, GaussianBatch, Gpu, StdParam, cpu, driver_available};

fn gpu_required() -> bool {
    std::env::var("BPRL_REQUIRE_GPU").is_ok_and(|v| v == "1")
}

/// The GPU, or `None` (after saying so) when there is none and none is required.
fn gpu() -> Option<Gpu> {
    match Gpu::new(0) {
        Ok(g) => {
            eprintln!(
                "{}: kernels {}, NVRTC {:?}, driver CUDA {:?}",
                g.name(),
                g.image(),
                g.nvrtc_version(),
                g.driver_version()
            );
            Some(g)
        }
        Err(e @ (CudaError::NoDriver | CudaError::NoNvrtc | CudaError::NoDevice { .. }))
            if !gpu_required() =>
        {
            eprintln!("skipped: no usable GPU ({e})");
            None
        }
        Err(e) if gpu_required() => panic!("BPRL_REQUIRE_GPU=1 and no usable GPU: {e}"),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn opening_a_gpu_without_a_driver_is_a_typed_error() {
    if driver_available() {
        return;
    }
    assert!(
        !gpu_required(),
        "BPRL_REQUIRE_GPU=1 but no CUDA driver library can be loaded"
    );
    assert!(matches!(Gpu::new(0), Err(CudaError::NoDriver)));
}

fn with_param<'a>(b: GaussianBatch<'a>, scale: &'a [f32], param: StdParam) -> GaussianBatch<'a> {
    GaussianBatch { scale, param, ..b }
}

#[test]
fn kl_kernels_match_cpu() {
    let Some(g) = gpu() else { return };
    for (rows, dim) in [(1000, 8), (513, 7), (70_001, 4), (64, 200), (3, 65)] {
        let n = rows * dim;
        let (mp, sp) = (values(n, 1, -2.0, 2.0), values(n, 2, 0.05, 3.0));
        let (mq, sq) = (values(n, 3, -2.0, 2.0), values(n, 4, 0.05, 3.0));
        let (p, q) = (batch(&mp, &sp, rows, dim), batch(&mq, &sq, rows, dim));
        eprintln!("KL [{rows}, {dim}]");
        let want = if dim > bprl_cuda::WARP_KL_MIN_DIM {
            cpu::kl_rows_warp_order(&p, &q)
        } else {
            cpu::kl_rows(&p, &q)
        }
        .unwrap();
        assert_close("kl", &g.kl_rows(&p, &q).unwrap(), &want, tol::kl(dim));
        let gg = g.kl_rows_grad(&p, &q).unwrap();
        let wg = cpu::kl_rows_grad(&p, &q).unwrap();
        assert_close("grad kl", &gg.kl, &wg.kl, tol::kl(dim));
        for (name, a, b) in [
            ("d_mean_p", &gg.d_mean_p, &wg.d_mean_p),
            ("d_scale_p", &gg.d_scale_p, &wg.d_scale_p),
            ("d_mean_q", &gg.d_mean_q, &wg.d_mean_q),
            ("d_scale_q", &gg.d_scale_q, &wg.d_scale_q),
        ] {
            assert_close(name, a, b, tol::EXACT);
        }
        let (lsp, lsq): (Vec<f32>, Vec<f32>) = (
            sp.iter().map(|s| s.ln()).collect(),
            sq.iter().map(|s| s.ln()).collect(),
        );
        let lp = with_param(p, &lsp, StdParam::LogStd);
        let lq = with_param(q, &lsq, StdParam::LogStd);
        let want = if dim > bprl_cuda::WARP_KL_MIN_DIM {
            cpu::kl_rows_warp_order(&lp, &lq)
        } else {
            cpu::kl_rows(&lp, &lq)
        }
        .unwrap();
        assert_close(
            "log-std kl",
            &g.kl_rows(&lp, &lq).unwrap(),
            &want,
            tol::kl_log_std(dim),
        );
        let gg = g.kl_rows_grad(&lp, &lq).unwrap();
        let wg = cpu::kl_rows_grad(&lp, &lq).unwrap();
        for (name, a, b) in [
            ("log-std d_mean_p", &gg.d_mean_p, &wg.d_mean_p),
            ("log-std d_scale_p", &gg.d_scale_p, &wg.d_scale_p),
            ("log-std d_mean_q", &gg.d_mean_q, &wg.d_mean_q),
            ("log-std d_scale_q", &gg.d_scale_q, &wg.d_scale_q),
        ] {
            assert_close(name, a, b, tol::GRAD_LOG_STD);
        }
    }
}

#[test]
fn sampling_matches_cpu_and_is_deterministic() {
    let Some(g) = gpu() else { return };
    let (rows, dim, samples) = (2048, 7, 10);
    let n = rows * dim;
    let (m, s) = (values(n, 5, -1.0, 1.0), values(n, 6, 0.2, 1.5));
    let ls: Vec<f32> = s.iter().map(|x| x.ln()).collect();
    let b = batch(&m, &s, rows, dim);
    for (param, scale) in [(StdParam::Std, &s), (StdParam::LogStd, &ls)] {
        let b = with_param(b, scale, param);
        for (squash, seed) in [(false, 1234), (true, 1234), (false, u64::MAX)] {
            eprintln!("sample {param:?} squash={squash} seed={seed}");
            let got = g.sample(&b, samples, seed, squash).unwrap();
            let want = cpu::sample(&b, samples, seed, squash).unwrap();
            assert_close("actions", &got.actions, &want.actions, tol::actions(1.5));
            assert_close(
                "log_prob",
                &got.log_prob,
                &want.log_prob,
                tol::log_prob(dim),
            );
            assert_eq!(
                got,
                g.sample(&b, samples, seed, squash).unwrap(),
                "same seed, same numbers"
            );
        }
    }
    // Statistics of the noise (all four Philox words): standardized actions have mean 0 and
    // variance 1, in every dimension of a quad.
    let zero_mean = vec![0.0f32; n];
    let ones = vec![1.0f32; n];
    let out = g
        .sample(&batch(&zero_mean, &ones, rows, dim), samples, 99, false)
        .unwrap();
    for d in 0..dim {
        let xs: Vec<f64> = out
            .actions
            .iter()
            .skip(d)
            .step_by(dim)
            .map(|&x| f64::from(x))
            .collect();
        let k = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / k;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (k - 1.0);
        assert!(
            mean.abs() < 5.0 / k.sqrt() && (var - 1.0).abs() < 5.0 * (2.0 / k).sqrt(),
            "dim {d}: mean {mean}, var {var}"
        );
    }
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
    // The head's std is at most softplus(2) 0.7 / ln 2 + 0.1 < 2.3; its mean and std carry
    // their own few ulps into the actions (<= 1e-5 more) and the KL (as log-std inputs do).
    let max_std = 2.3;
    let head_actions = Tol {
        atol: tol::actions(max_std).atol + 1e-5,
        ..tol::actions(max_std)
    };
    eprintln!("fused head [{rows}, {dim}]");
    for (name, a, b, t) in [
        ("mean", &got.mean, &want.mean, tol::HEAD_MEAN),
        ("std", &got.std, &want.std, tol::HEAD_STD),
        ("actions", &got.actions, &want.actions, head_actions),
        (
            "log_prob",
            &got.log_prob,
            &want.log_prob,
            tol::log_prob(dim),
        ),
        ("kl", &got.kl, &want.kl, tol::kl_log_std(dim)),
    ] {
        assert_close(name, a, b, t);
    }
}
