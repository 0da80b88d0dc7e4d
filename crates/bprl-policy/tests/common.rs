//! A small observation spec and helpers.

use bprl_nn::gradcheck::max_error;
use bprl_policy::ObservationSpec;
use ndarray::Array2;
use rand::rngs::StdRng;
use rand_distr_like::randn;

pub const STEP: f64 = 1e-6;
pub const TOL: f64 = 1e-6;

/// `proprio` (3), `targets` (2), `goal` (2).
pub fn spec() -> ObservationSpec {
    ObservationSpec::new(vec![
        ("proprio".into(), 3),
        ("targets".into(), 2),
        ("goal".into(), 2),
    ])
    .unwrap()
}

pub fn obs(n: usize, rng: &mut StdRng) -> Array2<f64> {
    randn(n, 7, rng)
}

pub fn assert_close(what: &str, analytic: &[f64], numeric: &[f64]) {
    assert_eq!(analytic.len(), numeric.len(), "{what}: lengths");
    let (err, i) = max_error(analytic, numeric);
    assert!(
        err < TOL,
        "{what}[{i}]: analytic {} vs numeric {} (error {err})",
        analytic[i],
        numeric[i]
    );
}

/// Central differences of a scalar function of an array.
pub fn fd_array(x: &Array2<f64>, f: impl Fn(&Array2<f64>) -> f64) -> Vec<f64> {
    let mut out = Vec::with_capacity(x.len());
    for idx in ndarray::indices(x.raw_dim()) {
        let h = STEP * x[idx].abs().max(1.0);
        let mut p = x.clone();
        p[idx] += h;
        let mut m = x.clone();
        m[idx] -= h;
        out.push((f(&p) - f(&m)) / (2.0 * h));
    }
    out
}

pub fn flat(a: &Array2<f64>) -> Vec<f64> {
    a.iter().copied().collect()
}

pub mod rand_distr_like {
    use ndarray::Array2;
    use rand::RngExt;
    use rand::rngs::StdRng;

    /// Approximately standard-normal entries (sum of uniforms; enough for test inputs).
    pub fn randn(rows: usize, cols: usize, rng: &mut StdRng) -> Array2<f64> {
        Array2::from_shape_simple_fn((rows, cols), || {
            (0..6).map(|_| rng.random::<f64>()).sum::<f64>() - 3.0
        })
    }
}
