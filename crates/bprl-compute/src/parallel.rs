//! Data parallelism over rows, on persistent worker threads.
//!
//! Every batch of the network passes is a stack of independent rows, so the one parallel
//! pattern needed is: split `0..n` into contiguous ranges, run one range per thread, collect the
//! results in range order ([`map_ranges`]). Splitting is static (the `k`-th range of a split of
//! `n` is always the same and always runs on the same thread).
//!
//! A result that *sums* partial values (a gradient) must not sum per thread: the ranges, and so
//! the order of the floating-point additions, would depend on the thread count (the machine's
//! core count, or `BPRL_NUM_THREADS`). Reductions use [`map_chunks`] instead: a fixed number of
//! chunks ([`REDUCTION_CHUNKS`], fewer for small inputs), each with its own partial sum, the
//! partial sums added in chunk order; threads only decide who computes which chunks. Their
//! results are bit-identical for every thread count.
//!
//! The first range runs on the calling thread, the others on worker threads started once per
//! process (on first use) and kept, so a pass pays neither a thread start nor a cold heap per
//! call. A split lends its closure to the workers the way [`std::thread::scope`] lends to its
//! threads: [`map_ranges`] returns (or resumes a panic) only after every range has finished.
//! A split inside a split (from a worker, or from the caller's own range) runs on the current
//! thread as one range.
//!
//! The thread count is [`num_threads`]: the `BPRL_NUM_THREADS` environment variable if set to a
//! positive integer, else the machine's available parallelism.

use crate::cpu::Kernel;
use crate::element::Element;
use crate::gemm::{gemm, gemm_on};
use ndarray::{Array2, ArrayView2, ArrayViewMut2, s};
use std::cell::Cell;
use std::ops::Range;
use std::panic::AssertUnwindSafe;
use std::sync::{Mutex, OnceLock, mpsc};

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

/// A job for a worker thread.
type Job = Box<dyn FnOnce() + Send + 'static>;

/// The persistent worker threads: [`num_threads`]` - 1` of them, started on first use. Worker
/// `k` always runs the `(k + 1)`-th range of a split, so per-thread results stay with the same
/// thread from call to call.
struct Pool {
    workers: Vec<Mutex<mpsc::Sender<Job>>>,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let workers = (1..num_threads())
            .map_while(|k| {
                let (tx, rx) = mpsc::channel::<Job>();
                std::thread::Builder::new()
                    .name(format!("bprl-worker-{k}"))
                    .stack_size(WORKER_STACK)
                    .spawn(move || {
                        IN_PARALLEL.with(|p| p.set(true));
                        while let Ok(job) = rx.recv() {
                            job();
                        }
                    })
                    .ok()
                    .map(|_| Mutex::new(tx))
            })
            .collect();
        Pool { workers }
    })
}

thread_local! {
    /// Set on worker threads, and on a caller while it runs its own range: a split inside a
    /// split runs on the current thread (the workers are already busy with the outer one).
    static IN_PARALLEL: Cell<bool> = const { Cell::new(false) };
    /// [`with_threads`]'s thread count for splits started on this thread.
    static THREADS_OVERRIDE: Cell<Option<usize>> = const { Cell::new(None) };
}

/// Runs `f` with the splits it starts on this thread ([`map_ranges`], and so everything built on
/// it) made as on a machine with `threads` threads, every range run in order on this thread.
/// For tests: a result computed under `with_threads(1, ..)`, `with_threads(3, ..)`, ... is what
/// a machine with that many cores computes, so reductions can be checked to be independent of
/// the thread count.
pub fn with_threads<R>(threads: usize, f: impl FnOnce() -> R) -> R {
    let previous = THREADS_OVERRIDE.with(|t| t.replace(Some(threads.max(1))));
    let out = std::panic::catch_unwind(AssertUnwindSafe(f));
    THREADS_OVERRIDE.with(|t| t.set(previous));
    out.unwrap_or_else(|p| std::panic::resume_unwind(p))
}

/// Splits `0..n` into at most [`num_threads`] contiguous ranges of at least `min_per_thread`
/// items (one range if `n` is small), runs `f` on each range (the first on the calling
/// thread, the others on the persistent workers), and returns the results in range order.
/// A panic in any range is resumed on the caller after every range has finished.
pub fn map_ranges<R, G>(n: usize, min_per_thread: usize, f: G) -> Vec<R>
where
    R: Send,
    G: Fn(Range<usize>) -> R + Sync,
{
    map_ranges_indexed(n, min_per_thread, |_, range| f(range))
}

/// As [`map_ranges`], with each range's index in the split passed to `f` along with the range:
/// `0` for the first range (run on the calling thread), `k` for the `k`-th. Indices are below
/// [`num_threads`], and the same `(n, min_per_thread)` gives the same ranges with the same
/// indices on every call, so per-range state (a scratch slot) can be chosen by index.
pub fn map_ranges_indexed<R, G>(n: usize, min_per_thread: usize, f: G) -> Vec<R>
where
    R: Send,
    G: Fn(usize, Range<usize>) -> R + Sync,
{
    let nested = IN_PARALLEL.with(Cell::get);
    let emulated = THREADS_OVERRIDE.with(Cell::get);
    let threads = match emulated {
        Some(t) => t,
        None => pool().workers.len() + 1,
    };
    let parts = if nested {
        1
    } else {
        threads.min(n / min_per_thread.max(1)).max(1).min(n.max(1))
    };
    if parts == 1 {
        return vec![f(0, 0..n)];
    }
    let bounds: Vec<Range<usize>> = (0..parts)
        .map(|k| (k * n / parts)..((k + 1) * n / parts))
        .collect();
    if emulated.is_some() {
        // `with_threads`: the same ranges, one after the other on this thread (so every range
        // uses the calling thread's scratch slot, index 0).
        return bounds
            .into_iter()
            .map(|range| {
                IN_PARALLEL.with(|p| p.set(true));
                let out = std::panic::catch_unwind(AssertUnwindSafe(|| f(0, range)));
                IN_PARALLEL.with(|p| p.set(false));
                out.unwrap_or_else(|p| std::panic::resume_unwind(p))
            })
            .collect();
    }
    let (tx, rx) = mpsc::channel::<Message<R>>();
    // Declared before the jobs exist, so it is dropped (and waits) on every way out of here.
    let mut join = Join {
        tx: Some(tx),
        rx,
        outstanding: 0,
    };
    let f = &f;
    for (k, range) in bounds.iter().enumerate().skip(1) {
        let tx = join.tx.clone();
        let range = range.clone();
        let job: Box<dyn FnOnce() + Send + '_> = Box::new(move || {
            let out = std::panic::catch_unwind(AssertUnwindSafe(|| f(k, range)));
            if let Some(tx) = tx {
                // The receiver lives until this message is received (`Join::wait`).
                let _ = tx.send((k, out));
            }
        });
        // SAFETY: the job borrows `f` (and what `f` borrows), and may carry a result `R` that
        // does, for less than 'static; erasing that lifetime is sound because no job uses a
        // borrow after this call's frame is gone, as a `std::thread::scope` thread does not
        // outlive its scope:
        // (1) a job's uses of borrows (the call of `f`, whose panic is caught, and its result)
        //     all come before its one message, which moves the result into the channel; after
        //     the send it only releases its sender, i.e. the channel's own reference-counted
        //     memory, which by then holds no message of this split to drop (see (2));
        // (2) `Join::wait` returns only after one message per job counted in `outstanding`
        //     (counted below, before the job can run), or once the channel has no sender left,
        //     which means the jobs not heard from were dropped unrun (their sender with them);
        //     receiving a message synchronizes with its send, so a job's uses of borrows
        //     happen before the return;
        // (3) `join` waits both below and in its `Drop`, so an unwinding caller also blocks
        //     until every job is done before `f` and its borrows go away.
        let job: Job = unsafe {
            std::mem::transmute::<Box<dyn FnOnce() + Send + '_>, Box<dyn FnOnce() + Send + 'static>>(
                job,
            )
        };
        join.outstanding += 1;
        let sent = match pool().workers[k - 1].lock() {
            Ok(w) => w.send(job),
            Err(poisoned) => poisoned.into_inner().send(job),
        };
        if let Err(mpsc::SendError(job)) = sent {
            // The worker is gone: run its range here.
            job();
        }
    }
    IN_PARALLEL.with(|p| p.set(true));
    let first = std::panic::catch_unwind(AssertUnwindSafe(|| f(0, bounds[0].clone())));
    IN_PARALLEL.with(|p| p.set(false));
    let mut slots: Vec<Option<R>> = (0..parts).map(|_| None).collect();
    let mut panic = None;
    join.wait(|(k, out)| match out {
        Ok(r) => slots[k] = Some(r),
        Err(p) => panic = Some(p),
    });
    let first = match first {
        Ok(r) => r,
        Err(p) => std::panic::resume_unwind(p),
    };
    if let Some(p) = panic {
        std::panic::resume_unwind(p);
    }
    slots[0] = Some(first);
    slots
        .into_iter()
        .map(|r| r.unwrap_or_else(|| panic!("a worker thread lost its job")))
        .collect()
}

/// What a job reports: its range index and its result (or its panic).
type Message<R> = (usize, std::thread::Result<R>);

/// The receiving end of one split's jobs, which waits for every job: explicitly through
/// [`Join::wait`], and again when dropped, so that no exit from [`map_ranges_indexed`] (a
/// return or an unwinding panic) leaves a job running with borrows of its frame.
struct Join<R> {
    /// The original sender; jobs hold clones. Dropped when waiting starts, so that the channel
    /// disconnects if the last jobs are dropped unrun.
    tx: Option<mpsc::Sender<Message<R>>>,
    rx: mpsc::Receiver<Message<R>>,
    /// Jobs made (each sends one message when it has run) and not yet heard from.
    outstanding: usize,
}

impl<R> Join<R> {
    /// Hands each job's message to `each` until every job has reported, or the channel has no
    /// sender left (the jobs not heard from were dropped without running). It returns as soon
    /// as the last message arrives, without waiting for the jobs to release their senders.
    fn wait(&mut self, mut each: impl FnMut(Message<R>)) {
        self.tx = None;
        while self.outstanding > 0 {
            match self.rx.recv() {
                Ok(message) => {
                    self.outstanding -= 1;
                    each(message);
                }
                Err(mpsc::RecvError) => self.outstanding = 0,
            }
        }
    }
}

impl<R> Drop for Join<R> {
    fn drop(&mut self) {
        self.wait(drop);
    }
}

/// Chunks of a reduction ([`map_chunks`]): a constant, so that partial sums, and the order in
/// which they are added, do not depend on the machine. Eight keeps up to eight threads busy at a
/// cost of eight accumulators per reduction.
pub const REDUCTION_CHUNKS: usize = 8;

/// Splits `0..n` into `min(chunks, n)` (at least one) contiguous chunks, the same whatever the
/// thread count, runs `f` once per chunk (the chunks spread over threads as by
/// [`map_ranges`]) and returns the results in chunk order. For reductions: give each chunk its
/// own accumulator and add the results in order, and the sum is bit-identical for every
/// thread count.
pub fn map_chunks<R, G>(n: usize, chunks: usize, f: G) -> Vec<R>
where
    R: Send,
    G: Fn(Range<usize>) -> R + Sync,
{
    map_chunks_indexed(n, chunks, |_, range| f(range))
}

/// As [`map_chunks`], with the index of the range (thread) a chunk runs in passed to `f`, as
/// [`map_ranges_indexed`] passes it: per-thread scratch (a tile slot) can be chosen by it; the
/// chunks, and so the sums, do not depend on it.
pub fn map_chunks_indexed<R, G>(n: usize, chunks: usize, f: G) -> Vec<R>
where
    R: Send,
    G: Fn(usize, Range<usize>) -> R + Sync,
{
    let chunks = chunks.clamp(1, n.max(1));
    let bound = |c: usize| c * n / chunks;
    map_ranges_indexed(chunks, 1, |slot, cs| {
        cs.map(|c| f(slot, bound(c)..bound(c + 1)))
            .collect::<Vec<R>>()
    })
    .into_iter()
    .flatten()
    .collect()
}

/// Stack of a worker thread. The passes keep their data on the heap; a stack below 2 MiB is
/// also never backed by a transparent huge page, which the kernel would zero on every spawn.
const WORKER_STACK: usize = 512 * 1024;

/// Rows times columns times depth below which a product runs on one thread.
const PARALLEL_FLOPS: usize = 1 << 21;

/// `x w` for `x: [N, k]`, `w: [k, m]`, with the rows of `x` split across threads when the
/// product is large.
pub fn dot<F: Element>(x: ArrayView2<'_, F>, w: ArrayView2<'_, F>) -> Array2<F> {
    dot_on(Kernel::selected(), x, w)
}

/// [`dot`] on the path `kernel` (for benchmarks that compare paths).
pub fn dot_on<F: Element>(kernel: Kernel, x: ArrayView2<'_, F>, w: ArrayView2<'_, F>) -> Array2<F> {
    let (n, k) = x.dim();
    let m = w.ncols();
    let mut out = Array2::zeros((n, m));
    if n * k * m < PARALLEL_FLOPS || num_threads() == 1 {
        gemm_on(kernel, &x, &w, &mut out.view_mut(), false);
        return out;
    }
    let min_rows = (PARALLEL_FLOPS / (k * m).max(1)).max(1);
    let parts = map_ranges(n, min_rows, |r| {
        let mut part = Array2::zeros((r.len(), m));
        gemm_on(kernel, &x.slice(s![r, ..]), &w, &mut part.view_mut(), false);
        part
    });
    let mut row = 0;
    for p in parts {
        out.slice_mut(s![row..row + p.nrows(), ..]).assign(&p);
        row += p.nrows();
    }
    out
}

/// `acc += x^T dy` for `x: [N, k]`, `dy: [N, m]`: for large products, partial sums over a
/// fixed split of the rows ([`map_chunks`]: the same for every thread count), added in order.
pub fn add_at_b<F: Element>(
    x: ArrayView2<'_, F>,
    dy: ArrayView2<'_, F>,
    acc: &mut ArrayViewMut2<'_, F>,
) {
    let (n, k) = x.dim();
    let m = dy.ncols();
    let min_rows = (PARALLEL_FLOPS / (k * m).max(1)).max(1);
    let chunks = REDUCTION_CHUNKS.min(n / min_rows);
    if n * k * m < PARALLEL_FLOPS || chunks <= 1 {
        gemm(&x.t(), &dy, acc, true);
        return;
    }
    let parts = map_chunks(n, chunks, |r| {
        let mut part = Array2::zeros((k, m));
        gemm(
            &x.slice(s![r.clone(), ..]).t(),
            &dy.slice(s![r, ..]),
            &mut part.view_mut(),
            false,
        );
        part
    });
    for p in parts {
        *acc += &p;
    }
}
