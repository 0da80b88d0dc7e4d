//! Data parallelism over rows, on scoped standard-library threads.
//!
//! Every batch in this crate is a stack of independent rows, so the one parallel pattern needed
//! is: split `0..n` into contiguous ranges, run one range per thread, collect the results in
//! range order. Splitting is static (thread `k` always gets the `k`-th range), so a result that
//! sums per-thread partial values (a gradient) is the same from run to run on one machine.
//!
//! The thread count is [`num_threads`]: the `BPRL_NUM_THREADS` environment variable if set to a
//! positive integer, else the machine's available parallelism.

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2, ArrayViewMut2, s};
use std::ops::Range;
use std::sync::OnceLock;

use crate::scalar::Scalar;

/// Threads the parallel passes use: `BPRL_NUM_THREADS` if it is a positive integer, else
/// [`std::thread::available_parallelism`] (1 if unknown). Read once per process.
pub fn num_threads() -> usize {
    static N: OnceLock<usize> = OnceLock::new();
    *N.get_or_init(|| {
        std::env::var("BPRL_NUM_THREADS")
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|&n| n > 0)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    })
}

/// Splits `0..n` into at most [`num_threads`] contiguous ranges of at least `min_per_thread`
/// items (one range if `n` is small), runs `f` on each range (the first on the calling
/// thread), and returns the results in range order.
pub fn map_ranges<R, G>(n: usize, min_per_thread: usize, f: G) -> Vec<R>
where
    R: Send,
    G: Fn(Range<usize>) -> R + Sync,
{
    let parts = num_threads()
        .min(n / min_per_thread.max(1))
        .max(1)
        .min(n.max(1));
    if parts == 1 {
        return vec![f(0..n)];
    }
    let bounds: Vec<Range<usize>> = (0..parts)
        .map(|k| (k * n / parts)..((k + 1) * n / parts))
        .collect();
    std::thread::scope(|scope| {
        let f = &f;
        let handles: Vec<_> = bounds[1..]
            .iter()
            .cloned()
            .map(|r| scope.spawn(move || f(r)))
            .collect();
        let mut out = Vec::with_capacity(parts);
        out.push(f(bounds[0].clone()));
        for h in handles {
            match h.join() {
                Ok(r) => out.push(r),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        out
    })
}

/// Rows times columns times depth below which a product runs on one thread.
const PARALLEL_FLOPS: usize = 1 << 21;

/// `x w` for `x: [N, k]`, `w: [k, m]`, with the rows of `x` split across threads when the
/// product is large.
pub fn dot<F: Scalar>(x: ArrayView2<'_, F>, w: ArrayView2<'_, F>) -> Array2<F> {
    let (n, k) = x.dim();
    let m = w.ncols();
    let mut out = Array2::zeros((n, m));
    if n * k * m < PARALLEL_FLOPS || num_threads() == 1 {
        general_mat_mul(F::one(), &x, &w, F::zero(), &mut out);
        return out;
    }
    let min_rows = (PARALLEL_FLOPS / (k * m).max(1)).max(1);
    let parts = map_ranges(n, min_rows, |r| {
        let mut part = Array2::zeros((r.len(), m));
        general_mat_mul(F::one(), &x.slice(s![r, ..]), &w, F::zero(), &mut part);
        part
    });
    let mut row = 0;
    for p in parts {
        out.slice_mut(s![row..row + p.nrows(), ..]).assign(&p);
        row += p.nrows();
    }
    out
}

/// `acc += x^T dy` for `x: [N, k]`, `dy: [N, m]`: per-thread partial sums over row ranges,
/// added in range order.
pub fn add_at_b<F: Scalar>(
    x: ArrayView2<'_, F>,
    dy: ArrayView2<'_, F>,
    acc: &mut ArrayViewMut2<'_, F>,
) {
    let (n, k) = x.dim();
    let m = dy.ncols();
    if n * k * m < PARALLEL_FLOPS || num_threads() == 1 {
        general_mat_mul(F::one(), &x.t(), &dy, F::one(), acc);
        return;
    }
    let min_rows = (PARALLEL_FLOPS / (k * m).max(1)).max(1);
    let parts = map_ranges(n, min_rows, |r| {
        let mut part = Array2::zeros((k, m));
        general_mat_mul(
            F::one(),
            &x.slice(s![r.clone(), ..]).t(),
            &dy.slice(s![r, ..]),
            F::zero(),
            &mut part,
        );
        part
    });
    for p in parts {
        *acc += &p;
    }
}
