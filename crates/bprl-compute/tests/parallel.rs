//! The row splits: coverage and order, and split products against one product.

use crate::common::{config, max_abs_diff, rng, uniform};
use bprl_compute::parallel;
use proptest::prelude::*;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The thread split covers every index once, in order.
#[test]
fn map_ranges_covers_in_order() {
    for n in [0usize, 1, 2, 7, 100, 1001] {
        for min in [1usize, 3, 50] {
            let parts = parallel::map_ranges(n, min, |r| r);
            let flat: Vec<usize> = parts.into_iter().flatten().collect();
            assert_eq!(flat, (0..n).collect::<Vec<_>>(), "n={n} min={min}");
        }
    }
}

/// Each range comes with its index in the split, `0..parts` in order, below `num_threads`.
#[test]
fn indexed_ranges_count_from_zero() {
    for n in [0usize, 1, 5, 1000] {
        let parts = parallel::map_ranges_indexed(n, 1, |k, r| (k, r));
        let plain = parallel::map_ranges(n, 1, |r| r);
        assert!(parts.len() <= parallel::num_threads());
        for (i, ((k, r), p)) in parts.into_iter().zip(plain).enumerate() {
            assert_eq!((k, &r), (i, &p), "n={n}");
        }
    }
}

/// A panic in one range reaches the caller only after every other range has finished, and
/// the workers keep serving later splits.
#[test]
fn a_panic_in_a_range_is_resumed_after_every_range() {
    let finished = AtomicUsize::new(0);
    let n = 1000;
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
        parallel::map_ranges(n, 1, |r| {
            if r.end == n {
                panic!("the last range fails (expected by this test)");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
            finished.fetch_add(1, Ordering::SeqCst);
        })
    }));
    assert!(result.is_err());
    let parts = parallel::map_ranges(n, 1, |r| r).len();
    assert_eq!(finished.load(Ordering::SeqCst), parts - 1);
    let sums = parallel::map_ranges(n, 1, |r| r.sum::<usize>());
    assert_eq!(sums.iter().sum::<usize>(), n * (n - 1) / 2);
}

proptest! {
    #![proptest_config(config(32))]

    /// The row-split products equal one product.
    #[test]
    fn parallel_products_match(seed in 0u64..1000, n in 1usize..3000, k in 1usize..40, m in 1usize..40) {
        let mut rng = rng(seed);
        let x = uniform(n, k, &mut rng);
        let w = uniform(k, m, &mut rng);
        let dy = uniform(n, m, &mut rng);
        let y = parallel::dot(x.view(), w.view());
        prop_assert!(max_abs_diff(&y, &x.dot(&w)) < 1e-9);
        let mut acc = ndarray::Array2::ones((k, m));
        parallel::add_at_b(x.view(), dy.view(), &mut acc.view_mut());
        let expect = x.t().dot(&dy) + 1.0;
        prop_assert!(max_abs_diff(&acc, &expect) < 1e-9);
    }
}
