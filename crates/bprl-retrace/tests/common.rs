//! Shared strategies and the brute-force reference.

use ndarray::Array2;
use proptest::prelude::*;

/// A random batch of sequences, `[T, B]` each.
#[derive(Debug, Clone)]
pub struct Batch {
    pub q_t: Array2<f64>,
    pub v_tp1: Array2<f64>,
    pub r_t: Array2<f64>,
    pub discount_t: Array2<f64>,
    pub log_rho_t: Array2<f64>,
    pub lambda: f64,
}

impl Batch {
    pub fn seq(&self) -> bprl_retrace::Sequence<'_, f64, ndarray::Ix2> {
        bprl_retrace::Sequence {
            q_t: self.q_t.view(),
            v_tp1: self.v_tp1.view(),
            r_t: self.r_t.view(),
            discount_t: self.discount_t.view(),
        }
    }
}

fn array(t: usize, b: usize, range: std::ops::Range<f64>) -> impl Strategy<Value = Array2<f64>> {
    proptest::collection::vec(range, t * b)
        .prop_map(move |v| Array2::from_shape_vec((t, b), v).expect("t * b values"))
}

/// Sequences with `T in [1, 8]`, `B in [1, 4]`; discounts in `[0, 1]` with some exact zeros
/// (episode ends) and ones.
pub fn batch() -> impl Strategy<Value = Batch> {
    (1usize..9, 1usize..5).prop_flat_map(|(t, b)| {
        (
            array(t, b, -5.0..5.0),
            array(t, b, -5.0..5.0),
            array(t, b, -5.0..5.0),
            array(t, b, -0.3..1.3),
            array(t, b, -3.0..3.0),
            0.0f64..=1.0,
        )
            .prop_map(|(q_t, v_tp1, r_t, d, log_rho_t, lambda)| Batch {
                q_t,
                v_tp1,
                r_t,
                discount_t: d.mapv(|x| x.clamp(0.0, 1.0)),
                log_rho_t,
                lambda,
            })
    })
}

/// `Q^ret_t = Q'_t + sum_{s>=t} (prod_{i=t}^{s-1} gamma_i)(prod_{i=t+1}^{s} c_i) delta_s`,
/// computed by the double loop, with `c_i = lambda min(1, exp(log_rho_i))`.
pub fn brute_force_retrace(b: &Batch) -> Array2<f64> {
    let (steps, batch) = b.q_t.dim();
    let c = b.log_rho_t.mapv(|l| b.lambda * l.exp().min(1.0));
    Array2::from_shape_fn((steps, batch), |(t, j)| {
        let mut total = b.q_t[(t, j)];
        for s in t..steps {
            let delta = b.r_t[(s, j)] + b.discount_t[(s, j)] * b.v_tp1[(s, j)] - b.q_t[(s, j)];
            let gammas: f64 = (t..s).map(|i| b.discount_t[(i, j)]).product();
            let traces: f64 = (t + 1..=s).map(|i| c[(i, j)]).product();
            total += gammas * traces * delta;
        }
        total
    })
}

/// Fixed seed, 64 cases: reproducible in CI; `BPRL_PROPTEST_SEED` explores others.
pub fn config() -> ProptestConfig {
    let seed = std::env::var("BPRL_PROPTEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x7265_7472);
    ProptestConfig {
        cases: 64,
        rng_seed: proptest::test_runner::RngSeed::Fixed(seed),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// `|a - b| <= tol (1 + |b|)` elementwise.
pub fn assert_close(what: &str, a: &Array2<f64>, b: &Array2<f64>, tol: f64) {
    assert_eq!(a.shape(), b.shape(), "{what}: shapes");
    for ((idx, x), y) in a.indexed_iter().zip(b.iter()) {
        assert!(
            (x - y).abs() <= tol * (1.0 + y.abs()),
            "{what}{idx:?}: {x} vs {y}"
        );
    }
}
