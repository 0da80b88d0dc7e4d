//! The kernels' CUDA C compiled as host C++ (`kernels/host_shim.h`, contraction off), run over
//! the exact grids the GPU path launches (`bprl_cuda::launch`), and compared **bit for bit**
//! with the CPU references. This checks the kernels' semantics (indexing, grid-stride loops,
//! the warp reduction's order, Philox and Box-Muller, every formula) without a GPU: both
//! sides use IEEE single-precision operations in the same order and the same libm
//! functions, so any difference is a bug. On a GPU only CUDA's transcendentals differ
//! (`tests/gpu.rs` bounds that).
//!
//! Needs a C++ compiler (`c++`, or `$CXX`); `scripts/install-deps.sh` installs `g++`. A
//! missing compiler fails these tests: they never skip.

use crate::common::{Tol, assert_close, batch, tol, values};
use bprl_cuda::launch::{self, LaunchPlan};
use bprl_cuda::{GaussianBatch, StdParam, cpu};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

const CRATE: &str = env!("CARGO_MANIFEST_DIR");

/// How the host kernels compute transcendentals.
#[derive(Clone, Copy, PartialEq)]
enum Math {
    /// The C library's, as the CPU references.
    Exact,
    /// Moved by up to 3 ulp at random (`BPRL_PERTURB_ULPS`), a stand-in for CUDA's.
    Perturbed,
}

/// Builds `tests/host/run_kernels.cpp` once per test run and kind of math.
fn runner(math: Math) -> &'static PathBuf {
    static EXACT: OnceLock<PathBuf> = OnceLock::new();
    static PERTURBED: OnceLock<PathBuf> = OnceLock::new();
    let (cell, file, define) = match math {
        Math::Exact => (&EXACT, "bprl_run_kernels", None),
        Math::Perturbed => (
            &PERTURBED,
            "bprl_run_kernels_3ulp",
            Some("-DBPRL_PERTURB_ULPS=3"),
        ),
    };
    cell.get_or_init(|| {
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(file);
        let cxx = std::env::var("CXX").unwrap_or_else(|_| "c++".into());
        let status = Command::new(&cxx)
            .args(define)
            .args(["-std=c++17", "-O2", "-ffp-contract=off", "-fno-fast-math"])
            .args(["-Wall", "-Wextra", "-Wno-unknown-pragmas", "-Werror", "-pthread"])
            .arg(format!("-I{CRATE}/kernels"))
            .arg(format!("{CRATE}/tests/host/run_kernels.cpp"))
            .arg("-o")
            .arg(&out)
            .status()
            .unwrap_or_else(|e| {
                panic!("cannot run the C++ compiler `{cxx}` ({e}); install g++ (scripts/install-deps.sh)")
            });
        assert!(status.success(), "compiling the kernels as host C++ failed");
        out
    })
}

/// Runs `plan.kernel` on the host over `plan`'s grid with integer arguments `ints` and input
/// arrays `arrays`; returns the output arrays.
fn run(plan: LaunchPlan, ints: &[u64], arrays: &[&[f32]]) -> Vec<Vec<f32>> {
    run_with(Math::Exact, plan, ints, arrays)
}

fn run_with(math: Math, plan: LaunchPlan, ints: &[u64], arrays: &[&[f32]]) -> Vec<Vec<f32>> {
    let mut input = Vec::new();
    let scalars: Vec<u64> = [u64::from(plan.blocks), u64::from(plan.threads)]
        .into_iter()
        .chain(ints.iter().copied())
        .collect();
    input.extend((scalars.len() as u32).to_le_bytes());
    scalars.iter().for_each(|s| input.extend(s.to_le_bytes()));
    input.extend((arrays.len() as u32).to_le_bytes());
    for a in arrays {
        input.extend((a.len() as u64).to_le_bytes());
        a.iter().for_each(|v| input.extend(v.to_le_bytes()));
    }
    let mut child = Command::new(runner(math))
        .arg(plan.kernel.name())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run the host kernels");
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().expect("host kernels");
    writer.join().expect("writer").expect("write input");
    assert!(
        out.status.success(),
        "host kernel {} failed",
        plan.kernel.name()
    );
    parse(&out.stdout)
}

fn parse(bytes: &[u8]) -> Vec<Vec<f32>> {
    let mut at = 0;
    let mut take = |n: usize| {
        let s = &bytes[at..at + n];
        at += n;
        s
    };
    let k = u32::from_le_bytes(take(4).try_into().unwrap());
    (0..k)
        .map(|_| {
            let n = u64::from_le_bytes(take(8).try_into().unwrap()) as usize;
            take(4 * n)
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                .collect()
        })
        .collect()
}

/// Bit-for-bit equality, reporting the first differing element.
fn assert_bits(name: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{name}: lengths");
    if let Some(i) = (0..got.len()).find(|&i| got[i].to_bits() != want[i].to_bits()) {
        let n = (0..got.len())
            .filter(|&i| got[i].to_bits() != want[i].to_bits())
            .count();
        panic!(
            "{name}: {n} of {} elements differ; first at {i}: host kernel {:e}, CPU {:e}",
            got.len(),
            got[i],
            want[i]
        );
    }
}

fn log_of(v: &[f32]) -> Vec<f32> {
    v.iter().map(|s| s.ln()).collect()
}

/// The shapes of the review (1x1, 257x3, 513x7, 70001x4 for the float4 path) and the warp
/// kernel's (64 x 200, 3 x 65, 5 x 1000).
const KL_SHAPES: [(usize, usize); 8] = [
    (1, 1),
    (257, 3),
    (513, 7),
    (70_001, 4),
    (300, 16),
    (64, 200),
    (3, 65),
    (5, 1000),
];

fn kl_inputs(rows: usize, dim: usize) -> [Vec<f32>; 4] {
    let n = rows * dim;
    [
        values(n, 11, -2.0, 2.0),
        values(n, 12, 0.05, 3.0),
        values(n, 13, -2.0, 2.0),
        values(n, 14, 0.05, 3.0),
    ]
}

#[test]
fn kl_kernels_are_bit_identical_to_cpu() {
    for (rows, dim) in KL_SHAPES {
        let [mp, sp, mq, sq] = kl_inputs(rows, dim);
        let (lsp, lsq) = (log_of(&sp), log_of(&sq));
        for param in [StdParam::Std, StdParam::LogStd] {
            let (s1, s2) = match param {
                StdParam::Std => (&sp, &sq),
                StdParam::LogStd => (&lsp, &lsq),
            };
            let p = GaussianBatch {
                param,
                ..batch(&mp, s1, rows, dim)
            };
            let q = GaussianBatch {
                param,
                ..batch(&mq, s2, rows, dim)
            };
            let plan = launch::kl_plan(rows, dim);
            let ints = [
                rows as u64,
                dim as u64,
                u64::from(param == StdParam::LogStd),
            ];
            let got = run(plan, &ints, &[&mp, s1, &mq, s2]);
            let want = if dim > bprl_cuda::WARP_KL_MIN_DIM {
                cpu::kl_rows_warp_order(&p, &q)
            } else {
                cpu::kl_rows(&p, &q)
            }
            .unwrap();
            assert_bits(
                &format!("{} [{rows}, {dim}] {param:?}", plan.kernel.name()),
                &got[0],
                &want,
            );
        }
    }
}

#[test]
fn kl_grad_kernel_is_bit_identical_to_cpu() {
    for (rows, dim) in [(1, 1), (257, 3), (513, 7), (40, 70)] {
        let [mp, sp, mq, sq] = kl_inputs(rows, dim);
        let (lsp, lsq) = (log_of(&sp), log_of(&sq));
        for param in [StdParam::Std, StdParam::LogStd] {
            let (s1, s2) = match param {
                StdParam::Std => (&sp, &sq),
                StdParam::LogStd => (&lsp, &lsq),
            };
            let p = GaussianBatch {
                param,
                ..batch(&mp, s1, rows, dim)
            };
            let q = GaussianBatch {
                param,
                ..batch(&mq, s2, rows, dim)
            };
            let ints = [
                rows as u64,
                dim as u64,
                u64::from(param == StdParam::LogStd),
            ];
            let got = run(launch::kl_grad_plan(rows), &ints, &[&mp, s1, &mq, s2]);
            let w = cpu::kl_rows_grad(&p, &q).unwrap();
            let name = format!("grad [{rows}, {dim}] {param:?}");
            assert_bits(&format!("{name} kl"), &got[0], &w.kl);
            assert_bits(&format!("{name} d_mean_p"), &got[1], &w.d_mean_p);
            assert_bits(&format!("{name} d_scale_p"), &got[2], &w.d_scale_p);
            assert_bits(&format!("{name} d_mean_q"), &got[3], &w.d_mean_q);
            assert_bits(&format!("{name} d_scale_q"), &got[4], &w.d_scale_q);
        }
    }
}

#[test]
fn sampling_kernel_is_bit_identical_to_cpu() {
    // dims 1, 3, 4, 7, 8 cover a partial quad alone, a full one, and full plus partial.
    for (rows, dim, samples) in [
        (1, 1, 1),
        (257, 3, 2),
        (513, 7, 3),
        (100, 4, 5),
        (64, 8, 10),
    ] {
        let n = rows * dim;
        let (m, s) = (values(n, 21, -1.0, 1.0), values(n, 22, 0.2, 1.5));
        let ls = log_of(&s);
        for seed in [0, 1234, u64::MAX] {
            for squash in [false, true] {
                for (param, scale) in [(StdParam::Std, &s), (StdParam::LogStd, &ls)] {
                    let b = GaussianBatch {
                        param,
                        ..batch(&m, scale, rows, dim)
                    };
                    let ints = [
                        rows as u64,
                        dim as u64,
                        samples as u64,
                        seed,
                        u64::from(squash),
                        u64::from(param == StdParam::LogStd),
                    ];
                    let got = run(launch::sample_plan(rows, samples), &ints, &[&m, scale]);
                    let want = cpu::sample(&b, samples, seed, squash).unwrap();
                    let name = format!(
                        "sample [{rows}, {dim}] x{samples} seed {seed} squash {squash} {param:?}"
                    );
                    assert_bits(&format!("{name} actions"), &got[0], &want.actions);
                    assert_bits(&format!("{name} log_prob"), &got[1], &want.log_prob);
                }
            }
        }
    }
}

#[test]
fn fused_head_kernel_is_bit_identical_to_cpu() {
    for (rows, dim, samples) in [(1, 1, 1), (257, 3, 2), (777, 8, 10), (33, 6, 4)] {
        let n = rows * dim;
        let raw = values(2 * n, 31, -2.0, 2.0);
        let (pm, ps) = (values(n, 32, -1.0, 1.0), values(n, 33, 0.2, 1.5));
        for seed in [0, 5, u64::MAX] {
            let min_scale = 0.1f32;
            let ints = [
                rows as u64,
                dim as u64,
                samples as u64,
                seed,
                u64::from(min_scale.to_bits()),
            ];
            let got = run(launch::head_plan(rows), &ints, &[&raw, &pm, &ps]);
            let w =
                cpu::fused_policy_head(&raw, &batch(&pm, &ps, rows, dim), min_scale, samples, seed)
                    .unwrap();
            let name = format!("head [{rows}, {dim}] x{samples} seed {seed}");
            assert_bits(&format!("{name} mean"), &got[0], &w.mean);
            assert_bits(&format!("{name} std"), &got[1], &w.std);
            assert_bits(&format!("{name} actions"), &got[2], &w.actions);
            assert_bits(&format!("{name} log_prob"), &got[3], &w.log_prob);
            assert_bits(&format!("{name} kl"), &got[4], &w.kl);
        }
    }
}

/// The grid-stride loops: a grid with fewer threads than rows (as the `MAX_BLOCKS` cap gives
/// large batches) makes each thread, or warp, handle several rows.
#[test]
fn grid_stride_loops_cover_rows_beyond_the_grid() {
    let (rows, dim) = (20_000, 2);
    let [mp, sp, mq, sq] = kl_inputs(rows, dim);
    let plan = LaunchPlan {
        blocks: 3,
        ..launch::kl_plan(rows, dim)
    };
    let got = run(plan, &[rows as u64, dim as u64, 0], &[&mp, &sp, &mq, &sq]);
    let want = cpu::kl_rows(&batch(&mp, &sp, rows, dim), &batch(&mq, &sq, rows, dim)).unwrap();
    assert_bits("KL on a 3-block grid", &got[0], &want);
    let warp = LaunchPlan {
        blocks: 2,
        ..launch::kl_plan(40, 100)
    };
    let [mp, sp, mq, sq] = kl_inputs(40, 100);
    let got = run(warp, &[40, 100, 0], &[&mp, &sp, &mq, &sq]);
    let want =
        cpu::kl_rows_warp_order(&batch(&mp, &sp, 40, 100), &batch(&mq, &sq, 40, 100)).unwrap();
    assert_bits("warp KL on a 2-block grid", &got[0], &want);
}

/// The bounds of the GPU tests (`common::tol`) hold when every transcendental is off by up to
/// 3 ulp, as CUDA's may be: the kernels run on the host with perturbed math functions over
/// the GPU tests' shapes and inputs, against the exact CPU references.
#[test]
fn gpu_bounds_hold_for_transcendentals_off_by_3_ulp() {
    let p = Math::Perturbed;
    for (rows, dim) in [(1000, 8), (513, 7), (64, 200), (3, 65)] {
        let n = rows * dim;
        let (mp, sp) = (values(n, 1, -2.0, 2.0), values(n, 2, 0.05, 3.0));
        let (mq, sq) = (values(n, 3, -2.0, 2.0), values(n, 4, 0.05, 3.0));
        let (lsp, lsq) = (log_of(&sp), log_of(&sq));
        for (param, s1, s2) in [(StdParam::Std, &sp, &sq), (StdParam::LogStd, &lsp, &lsq)] {
            let pb = GaussianBatch {
                param,
                ..batch(&mp, s1, rows, dim)
            };
            let qb = GaussianBatch {
                param,
                ..batch(&mq, s2, rows, dim)
            };
            let ints = [
                rows as u64,
                dim as u64,
                u64::from(param == StdParam::LogStd),
            ];
            let (kl_tol, grad_tol) = match param {
                StdParam::Std => (tol::kl(dim), tol::EXACT),
                StdParam::LogStd => (tol::kl_log_std(dim), tol::GRAD_LOG_STD),
            };
            eprintln!("perturbed KL [{rows}, {dim}] {param:?}");
            let got = run_with(p, launch::kl_plan(rows, dim), &ints, &[&mp, s1, &mq, s2]);
            let want = if dim > bprl_cuda::WARP_KL_MIN_DIM {
                cpu::kl_rows_warp_order(&pb, &qb)
            } else {
                cpu::kl_rows(&pb, &qb)
            }
            .unwrap();
            assert_close("kl", &got[0], &want, kl_tol);
            if dim <= bprl_cuda::WARP_KL_MIN_DIM {
                let got = run_with(p, launch::kl_grad_plan(rows), &ints, &[&mp, s1, &mq, s2]);
                let w = cpu::kl_rows_grad(&pb, &qb).unwrap();
                assert_close("grad kl", &got[0], &w.kl, kl_tol);
                assert_close("d_mean_p", &got[1], &w.d_mean_p, grad_tol);
                assert_close("d_scale_p", &got[2], &w.d_scale_p, grad_tol);
                assert_close("d_mean_q", &got[3], &w.d_mean_q, grad_tol);
                assert_close("d_scale_q", &got[4], &w.d_scale_q, grad_tol);
            }
        }
    }
    let (rows, dim, samples) = (2048, 7, 10);
    let n = rows * dim;
    let (m, s) = (values(n, 5, -1.0, 1.0), values(n, 6, 0.2, 1.5));
    let ls = log_of(&s);
    for (param, scale) in [(StdParam::Std, &s), (StdParam::LogStd, &ls)] {
        for squash in [false, true] {
            eprintln!("perturbed sample {param:?} squash={squash}");
            let b = GaussianBatch {
                param,
                ..batch(&m, scale, rows, dim)
            };
            let flag = u64::from(param == StdParam::LogStd);
            let ints = [
                rows as u64,
                dim as u64,
                samples as u64,
                1234,
                u64::from(squash),
                flag,
            ];
            let got = run_with(p, launch::sample_plan(rows, samples), &ints, &[&m, scale]);
            let want = cpu::sample(&b, samples, 1234, squash).unwrap();
            assert_close("actions", &got[0], &want.actions, tol::actions(1.5));
            assert_close("log_prob", &got[1], &want.log_prob, tol::log_prob(dim));
        }
    }
    let (rows, dim) = (777, 8);
    let raw = values(2 * rows * dim, 8, -2.0, 2.0);
    let (pm, ps) = (
        values(rows * dim, 9, -1.0, 1.0),
        values(rows * dim, 10, 0.2, 1.5),
    );
    let ints = [rows as u64, dim as u64, 10, 5, u64::from(0.1f32.to_bits())];
    let got = run_with(p, launch::head_plan(rows), &ints, &[&raw, &pm, &ps]);
    let w = cpu::fused_policy_head(&raw, &batch(&pm, &ps, rows, dim), 0.1, 10, 5).unwrap();
    eprintln!("perturbed fused head");
    let head_actions = Tol {
        atol: tol::actions(2.3).atol + 1e-5,
        ..tol::actions(2.3)
    };
    assert_close("mean", &got[0], &w.mean, tol::HEAD_MEAN);
    assert_close("std", &got[1], &w.std, tol::HEAD_STD);
    assert_close("actions", &got[2], &w.actions, head_actions);
    assert_close("log_prob", &got[3], &w.log_prob, tol::log_prob(dim));
    assert_close("kl", &got[4], &w.kl, tol::kl_log_std(dim));
}
