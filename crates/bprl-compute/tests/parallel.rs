//! The row splits: coverage and order, and split products against one product.

use crate::common::{config, max_abs_diff, rng, uniform};
use bprl_compute::parallel;
use proptest::prelude::*;

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
