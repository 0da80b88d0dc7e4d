//! `bprl bench kernels`: the learner's own matrix products on every kernel path this processor
//! has, beside the `gemm` crate (with run-time AVX-512 dispatch, `x86-v4`), one thread each;
//! and the widest product (`25600 x 400 x 300`) with its rows split over every thread.
//!
//! The shapes are those of one tile of the learner's passes (`bprl-nn`'s `MlpTile`): a critic
//! tile is 25 observations x 10 samples = 250 rows, a policy tile 256 rows; forward products
//! read `A` and `B` in place, weight gradients `X^T D` read a transposed `A` and accumulate,
//! input gradients `D W^T` read a transposed `B`.

use bprl_compute::Kernel;
use bprl_compute::gemm::{gemm_micro_kernel_on, gemm_on, uses_gemm_crate};
use ndarray::{Array2, ArrayView2, ArrayViewMut2};
use std::time::Instant;

/// One product of the learner: `C (+)= A B`, `A: [m, k]`, `B: [k, n]`.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// What it is in the learner.
    pub name: &'static str,
    /// Rows of `A` and `C`.
    pub m: usize,
    /// Depth.
    pub k: usize,
    /// Columns of `B` and `C`.
    pub n: usize,
    /// `A` is the transpose of a row-major `[k, m]` array (a weight gradient `X^T D`).
    pub trans_a: bool,
    /// `B` is the transpose of a row-major `[n, k]` array (an input gradient `D W^T`).
    pub trans_b: bool,
    /// `C += A B` (weight gradients accumulate over tiles).
    pub accumulate: bool,
}

const fn shape(name: &'static str, m: usize, k: usize, n: usize, t: (bool, bool, bool)) -> Shape {
    Shape {
        name,
        m,
        k,
        n,
        trans_a: t.0,
        trans_b: t.1,
        accumulate: t.2,
    }
}

const FWD: (bool, bool, bool) = (false, false, false);
const WGRAD: (bool, bool, bool) = (true, false, true);
const IGRAD: (bool, bool, bool) = (false, true, false);

/// The products of one critic tile (obs 55, action 8, layers 400 and 300) and one policy tile
/// (obs 55, layers 200 and 100, head 16).
pub const LEARNER_SHAPES: [Shape; 14] = [
    shape("critic l0 shared obs rows  25x55x400", 25, 55, 400, FWD),
    shape("critic l0 action rows     250x8x400", 250, 8, 400, FWD),
    shape("critic l1 forward         250x400x300", 250, 400, 300, FWD),
    shape(
        "critic l1 weight grad     400x250x300",
        400,
        250,
        300,
        WGRAD,
    ),
    shape(
        "critic l1 input grad      250x300x400",
        250,
        300,
        400,
        IGRAD,
    ),
    shape("critic l0 weight grad     8x250x400", 8, 250, 400, WGRAD),
    shape("critic l0 input grad      250x400x8", 250, 400, 8, IGRAD),
    shape("policy l0 forward         256x55x200", 256, 55, 200, FWD),
    shape("policy l1 forward         256x200x100", 256, 200, 100, FWD),
    shape("policy head forward       256x100x16", 256, 100, 16, FWD),
    shape(
        "policy l1 weight grad     200x256x100",
        200,
        256,
        100,
        WGRAD,
    ),
    shape(
        "policy l1 input grad      256x100x200",
        256,
        100,
        200,
        IGRAD,
    ),
    shape("policy l0 weight grad     55x256x200", 55, 256, 200, WGRAD),
    shape(
        "whole layer            25600x400x300",
        25_600,
        400,
        300,
        FWD,
    ),
];

/// Operands of a shape, stored as the learner stores them.
struct Operands {
    a: Array2<f32>,
    b: Array2<f32>,
    c: Array2<f32>,
}

impl Operands {
    fn new(s: &Shape) -> Self {
        let fill = |r: usize, c: usize, salt: usize| {
            Array2::from_shape_fn((r, c), |(i, j)| {
                ((i * 7 + j * 3 + salt) % 17) as f32 * 0.01 - 0.08
            })
        };
        let a = if s.trans_a {
            fill(s.k, s.m, 1)
        } else {
            fill(s.m, s.k, 1)
        };
        let b = if s.trans_b {
            fill(s.n, s.k, 2)
        } else {
            fill(s.k, s.n, 2)
        };
        Self {
            a,
            b,
            c: Array2::zeros((s.m, s.n)),
        }
    }

    fn views(
        &mut self,
        s: &Shape,
    ) -> (
        ArrayView2<'_, f32>,
        ArrayView2<'_, f32>,
        ArrayViewMut2<'_, f32>,
    ) {
        let a = if s.trans_a { self.a.t() } else { self.a.view() };
        let b = if s.trans_b { self.b.t() } else { self.b.view() };
        (a, b, self.c.view_mut())
    }
}

/// `C (+)= A B` through the `gemm` crate, single-threaded.
fn gemm_crate(
    a: &ArrayView2<'_, f32>,
    b: &ArrayView2<'_, f32>,
    c: &mut ArrayViewMut2<'_, f32>,
    accumulate: bool,
) {
    let (m, k) = a.dim();
    let n = b.ncols();
    // SAFETY: the pointers and strides (in elements) are those of the views `a: [m, k]`,
    // `b: [k, n]` and `c: [m, n]`, which are valid for the whole call; `c` does not alias
    // `a` or `b` (a mutable borrow).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            c.strides()[1],
            c.strides()[0],
            accumulate,
            a.as_ptr(),
            a.strides()[1],
            a.strides()[0],
            b.as_ptr(),
            b.strides()[1],
            b.strides()[0],
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// A product `C (+)= A B` on some path.
type Product<'p> =
    dyn Fn(&ArrayView2<'_, f32>, &ArrayView2<'_, f32>, &mut ArrayViewMut2<'_, f32>) + 'p;

/// Which of the other paths (and the `gemm` crate) give exactly the `avx2` path's bits on the
/// shape (with accumulation onto a non-zero `C`, where the shape accumulates).
fn same_bits(s: &Shape) -> String {
    let Some(avx2) = Kernel::new(bprl_compute::Isa::Avx2) else {
        return "-".into();
    };
    let run = |f: &Product<'_>| {
        let mut ops = Operands::new(s);
        ops.c.mapv_inplace(|_| 0.37);
        let (a, b, mut c) = ops.views(s);
        f(&a, &b, &mut c);
        ops.c
    };
    let reference = run(&|a, b, c| gemm_on(avx2, a, b, c, s.accumulate));
    let mut same: Vec<String> = Kernel::available()
        .into_iter()
        .filter(|&k| k != avx2)
        .filter(|&k| run(&|a, b, c| gemm_on(k, a, b, c, s.accumulate)) == reference)
        .map(|k| k.to_string())
        .collect();
    if run(&|a, b, c| gemm_crate(a, b, c, s.accumulate)) == reference {
        same.push("gemm-crate".into());
    }
    same.join(" ")
}

/// Median seconds of `reps` calls (after one warm-up), repeated in 7 rounds.
fn median_time(reps: usize, f: &mut dyn FnMut()) -> f64 {
    f();
    let mut times: Vec<f64> = (0..7)
        .map(|_| {
            let t0 = Instant::now();
            for _ in 0..reps {
                f();
            }
            t0.elapsed().as_secs_f64() / reps as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[3]
}

/// Prints GFLOP/s of every learner shape on every path (`avx512`: as the learner runs it, the
/// `gemm` crate where [`uses_gemm_crate`] says so), on bprl's AVX-512 micro-kernel alone
/// (`bprl-512`) and on the `gemm` crate alone (one thread), whether the `avx512` path takes the
/// crate, and which give the `avx2` bits; then the widest product on every thread through
/// bprl's row split.
pub fn kernels() {
    println!("kernel path selected: {}", bprl_compute::cpu::selection());
    let paths = Kernel::available();
    let mut header = format!("{:<40}", "product (m x k x n), 1 thread, GFLOP/s");
    for k in &paths {
        header += &format!(" {:>9}", k.to_string());
    }
    let v4 = Kernel::new(bprl_compute::Isa::Avx512);
    if v4.is_some() {
        header += &format!(" {:>9}", "bprl-512");
    }
    header += &format!(" {:>9}", "gemm-crate");
    header += "  crate?  paths with the bits of avx2";
    println!("{header}");
    for s in &LEARNER_SHAPES {
        let mut ops = Operands::new(s);
        let flop = 2.0 * (s.m * s.k * s.n) as f64;
        let reps = ((2e8 / flop) as usize).clamp(1, 20_000);
        let mut line = format!("{:<40}", s.name);
        for &kernel in &paths {
            let t = median_time(reps, &mut || {
                let (a, b, mut c) = ops.views(s);
                gemm_on(kernel, &a, &b, &mut c, s.accumulate);
            });
            line += &format!(" {:>9.1}", flop / t / 1e9);
        }
        if let Some(v4) = v4 {
            let t = median_time(reps, &mut || {
                let (a, b, mut c) = ops.views(s);
                gemm_micro_kernel_on(v4, &a, &b, &mut c, s.accumulate);
            });
            line += &format!(" {:>9.1}", flop / t / 1e9);
        }
        let t = median_time(reps, &mut || {
            let (a, b, mut c) = ops.views(s);
            gemm_crate(&a, &b, &mut c, s.accumulate);
        });
        line += &format!(" {:>9.1}", flop / t / 1e9);
        let crate_used = if uses_gemm_crate(s.m, s.k, s.n) {
            "yes"
        } else {
            "no"
        };
        line += &format!(" {crate_used:>6}  {}", same_bits(s));
        println!("{line}");
    }
    let threads = bprl_compute::parallel::num_threads();
    let a = Array2::<f32>::from_shape_fn((25_600, 400), |(i, j)| ((i * 7 + j) % 13) as f32 * 0.01);
    let b = Array2::<f32>::from_shape_fn((400, 300), |(i, j)| ((i + 3 * j) % 11) as f32 * 0.01);
    let flop = 2.0 * 25_600.0 * 400.0 * 300.0;
    let mut line = format!(
        "{:<40}",
        format!("whole layer 25600x400x300, {threads} threads")
    );
    for &kernel in &paths {
        let t = median_time(1, &mut || {
            std::hint::black_box(bprl_compute::parallel::dot_on(kernel, a.view(), b.view()));
        });
        line += &format!(" {:>9.1}", flop / t / 1e9);
    }
    println!("{line}");
}
