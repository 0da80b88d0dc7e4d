//! Shared helpers: finite differences, array strategies, tolerance checks.

use bprl_distributions::prec::{FD_STEP, FD_TOL};
use ndarray::Array2;
use proptest::prelude::*;

/// Central finite-difference gradient of a scalar function of a `[B, D]` array.
pub fn fd_grad(x: &Array2<f64>, f: impl Fn(&Array2<f64>) -> f64) -> Array2<f64> {
    let mut g = Array2::zeros(x.raw_dim());
    for (idx, gi) in g.indexed_iter_mut() {
        let h = FD_STEP * x[idx].abs().max(1.0);
        let mut xp = x.clone();
        xp[idx] += h;
        let mut xm = x.clone();
        xm[idx] -= h;
        *gi = (f(&xp) - f(&xm)) / (2.0 * h);
    }
    g
}

/// Asserts two gradients agree within [`FD_TOL`] (relative plus absolute).
pub fn assert_grad_close(name: &str, analytic: &Array2<f64>, numeric: &Array2<f64>) {
    assert_eq!(analytic.shape(), numeric.shape(), "{name}: shapes");
    for ((idx, a), n) in analytic.indexed_iter().zip(numeric.iter()) {
        let tol = FD_TOL * (1.0 + a.abs().max(n.abs()));
        assert!(
            (a - n).abs() <= tol,
            "{name}{idx:?}: analytic {a} vs finite difference {n}"
        );
    }
}

/// `[b, d]` arrays with entries in `range`.
pub fn array2(
    b: usize,
    d: usize,
    range: std::ops::Range<f64>,
) -> impl Strategy<Value = Array2<f64>> {
    proptest::collection::vec(range, b * d)
        .prop_map(move |v| Array2::from_shape_vec((b, d), v).expect("b * d entries"))
}

/// A probability vector of length `n` with every entry at least `floor / n`.
pub fn simplex(n: usize, floor: f64) -> impl Strategy<Value = ndarray::Array1<f64>> {
    proptest::collection::vec(0.0f64..1.0, n).prop_map(move |v| {
        let v: Vec<f64> = v.iter().map(|x| x + floor).collect();
        let s: f64 = v.iter().sum();
        v.iter().map(|x| x / s).collect()
    })
}

/// `rows` probability vectors of length `n`, as a `[rows, n]` array.
pub fn simplex_rows(rows: usize, n: usize, floor: f64) -> impl Strategy<Value = Array2<f64>> {
    proptest::collection::vec(simplex(n, floor), rows).prop_map(move |rs| {
        let flat: Vec<f64> = rs.iter().flat_map(|r| r.iter().copied()).collect();
        Array2::from_shape_vec((rows, n), flat).expect("rows * n entries")
    })
}

/// The proptest configuration of every property here: 64 cases (each is cheap but the suite is
/// large) and a fixed seed, so CI is reproducible; set `BPRL_PROPTEST_SEED` to explore others.
pub fn config() -> ProptestConfig {
    let seed = std::env::var("BPRL_PROPTEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x6270_726c);
    ProptestConfig {
        cases: 64,
        rng_seed: proptest::test_runner::RngSeed::Fixed(seed),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}
