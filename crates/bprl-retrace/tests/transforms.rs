//! Value transforms: inverse pairs over a wide range, derivatives against finite differences,
//! and value-transformed Retrace against plain Retrace (identity) and a direct double loop.

use crate::common::{Batch, assert_close, batch, config};
use bprl_retrace::{
    Lambda, RetraceError, SIGNED_HYPERBOLIC_EPS, Sequence, ValueTransform, retrace,
    signed_hyperbolic, signed_parabolic, transformed_general_off_policy_returns,
    transformed_retrace,
};
use ndarray::{Array2, array};
use proptest::prelude::*;

/// Relative tolerance of an `f64` round trip `h^{-1}(h(x))`.
const ROUND_TRIP_TOL: f64 = 1e-10;
/// Relative step and tolerance of central finite differences in `f64`.
const FD_STEP: f64 = 1e-6;
const FD_TOL: f64 = 1e-6;
/// Tolerance of the transformed targets against the brute-force loop.
const LOOP_TOL: f64 = 1e-9;

fn all_transforms(eps: f64) -> [ValueTransform<f64>; 4] {
    [
        ValueTransform::Identity,
        ValueTransform::SignedLogp1,
        ValueTransform::SignedHyperbolic { eps },
        ValueTransform::HyperbolicSin,
    ]
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + a.abs().max(b.abs()))
}

fn fd(f: impl Fn(f64) -> f64, x: f64) -> f64 {
    let h = FD_STEP * x.abs().max(1.0);
    (f(x + h) - f(x - h)) / (2.0 * h)
}

/// Values from `1e-9` to `1e8` in magnitude, of either sign.
fn wide() -> impl Strategy<Value = f64> {
    (-9.0f64..8.0, any::<bool>())
        .prop_map(|(e, neg)| if neg { -(10f64.powf(e)) } else { 10f64.powf(e) })
}

/// `h(Retrace(h^{-1}(q), h^{-1}(v), r, gamma, c))` by the double sum
/// `Q^ret_t = Q_t + sum_{s>=t} (prod_{i=t}^{s-1} gamma_i)(prod_{i=t+1}^{s} c_i) delta_s`.
fn brute_force_transformed(b: &Batch, tx: ValueTransform<f64>) -> Array2<f64> {
    let (steps, width) = b.q_t.dim();
    let q = b.q_t.mapv(|y| tx.inverse(y));
    let v = b.v_tp1.mapv(|y| tx.inverse(y));
    let c = b.log_rho_t.mapv(|l| b.lambda * l.exp().min(1.0));
    Array2::from_shape_fn((steps, width), |(t, j)| {
        let mut total = q[(t, j)];
        for s in t..steps {
            let delta = b.r_t[(s, j)] + b.discount_t[(s, j)] * v[(s, j)] - q[(s, j)];
            let gammas: f64 = (t..s).map(|i| b.discount_t[(i, j)]).product();
            let traces: f64 = (t + 1..=s).map(|i| c[(i, j)]).product();
            total += gammas * traces * delta;
        }
        tx.apply(total)
    })
}

#[test]
fn signed_hyperbolic_known_values() {
    // h(3) = sqrt(4) - 1 + 3 eps; h(-8) = -(3 - 1) - 8 eps.
    let eps = SIGNED_HYPERBOLIC_EPS;
    assert!(close(signed_hyperbolic(3.0, eps), 1.0 + 3.0 * eps, 1e-15));
    assert!(close(signed_hyperbolic(-8.0, eps), -2.0 - 8.0 * eps, 1e-15));
    assert_eq!(
        ValueTransform::signed_hyperbolic(),
        ValueTransform::SignedHyperbolic { eps }
    );
    assert_eq!(signed_parabolic(0.0, eps), 0.0);
}

#[test]
fn transformed_retrace_errors() {
    let q = array![1.0f64, 2.0];
    let v = array![1.0f64, 1000.0];
    let r = array![0.0f64, 0.0];
    let d = array![0.9f64, 0.9];
    let rho = array![0.0f64, 0.0];
    let seq = Sequence {
        q_t: q.view(),
        v_tp1: v.view(),
        r_t: r.view(),
        discount_t: d.view(),
    };
    let e = transformed_retrace(
        &seq,
        rho.view(),
        Lambda::Constant(1.0),
        ValueTransform::SignedLogp1,
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            RetraceError::NonFinite {
                what: "h^-1(v_tp1)",
                index: 1,
                ..
            }
        ),
        "{e}"
    );
    let e = transformed_retrace(
        &seq,
        rho.view(),
        Lambda::Constant(1.0),
        ValueTransform::SignedHyperbolic { eps: -1e-3 },
    )
    .unwrap_err();
    assert!(
        matches!(e, RetraceError::OutOfRange { what: "eps", .. }),
        "{e}"
    );
    let nan = array![f64::NAN, 0.0];
    let bad = Sequence {
        q_t: nan.view(),
        ..seq
    };
    let e = transformed_retrace(
        &bad,
        rho.view(),
        Lambda::Constant(1.0),
        ValueTransform::HyperbolicSin,
    )
    .unwrap_err();
    assert!(
        matches!(e, RetraceError::NonFinite { what: "q_t", .. }),
        "{e}"
    );
    let short = array![0.0f64];
    let e = transformed_retrace(
        &seq,
        short.view(),
        Lambda::Constant(1.0),
        ValueTransform::Identity,
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            RetraceError::ShapeMismatch {
                what: "log_rho_t",
                ..
            }
        ),
        "{e}"
    );
    let big = array![0.0f64, 1e3];
    let e = ValueTransform::HyperbolicSin
        .inverse_array("y", big.view())
        .unwrap_err();
    assert!(
        matches!(
            e,
            RetraceError::NonFinite {
                what: "h^-1(y)",
                index: 1,
                ..
            }
        ),
        "{e}"
    );
    let e = ValueTransform::SignedHyperbolic { eps: f64::NAN }
        .apply_array("x", q.view())
        .unwrap_err();
    assert!(
        matches!(e, RetraceError::NonFinite { what: "eps", .. }),
        "{e}"
    );
}

proptest! {
    #![proptest_config(config())]

    /// `h^{-1}(h(x)) = x` over sixteen orders of magnitude, and `h(h^{-1}(y)) = y` wherever
    /// `h^{-1}(y)` is finite.
    #[test]
    fn each_transform_and_its_inverse_compose_to_identity(
        x in wide(),
        y in -30.0f64..30.0,
        eps in prop_oneof![Just(0.0), Just(SIGNED_HYPERBOLIC_EPS), 1e-6f64..0.1],
    ) {
        for tx in all_transforms(eps) {
            let back = tx.inverse(tx.apply(x));
            prop_assert!(close(back, x, ROUND_TRIP_TOL), "{tx:?}: {x} -> {back}");
            let fwd = tx.apply(tx.inverse(y));
            prop_assert!(close(fwd, y, ROUND_TRIP_TOL), "{tx:?}: {y} -> {fwd}");
        }
    }

    /// The cancellation-free forms equal rlax's literal formulas where those are accurate.
    #[test]
    fn hyperbolic_pair_matches_rlax_formulas(x in 1.0f64..1e6, neg in any::<bool>(), eps in 1e-3f64..0.1) {
        let x = if neg { -x } else { x };
        let rlax_h = x.signum() * ((x.abs() + 1.0).sqrt() - 1.0) + eps * x;
        prop_assert!(close(signed_hyperbolic(x, eps), rlax_h, 1e-12));
        let z = (1.0 + 4.0 * eps * (eps + 1.0 + x.abs())).sqrt() / 2.0 / eps - 1.0 / 2.0 / eps;
        let rlax_inv = x.signum() * (z * z - 1.0);
        prop_assert!(close(signed_parabolic(x, eps), rlax_inv, 1e-9));
    }

    /// Every provided derivative matches a central finite difference.
    #[test]
    fn derivatives_match_finite_differences(
        x in -50.0f64..50.0,
        y in -5.0f64..5.0,
        eps in prop_oneof![Just(0.0), Just(SIGNED_HYPERBOLIC_EPS), 1e-6f64..0.1],
    ) {
        for tx in all_transforms(eps) {
            let (a, n) = (tx.apply_derivative(x), fd(|v| tx.apply(v), x));
            prop_assert!(close(a, n, FD_TOL), "{tx:?} h'({x}): {a} vs {n}");
            let (a, n) = (tx.inverse_derivative(y), fd(|v| tx.inverse(v), y));
            prop_assert!(close(a, n, FD_TOL), "{tx:?} (h^-1)'({y}): {a} vs {n}");
        }
    }

    /// The identity transform reproduces plain Retrace bit for bit.
    #[test]
    fn identity_transform_is_plain_retrace(b in batch()) {
        let plain = retrace(&b.seq(), b.log_rho_t.view(), Lambda::Constant(b.lambda)).unwrap();
        let tx = transformed_retrace(
            &b.seq(), b.log_rho_t.view(), Lambda::Constant(b.lambda), ValueTransform::Identity,
        ).unwrap();
        prop_assert_eq!(&tx.targets, &plain.targets);
        prop_assert_eq!(tx.untransformed, plain);
    }

    /// Transformed Retrace equals `h` of the brute-force double sum on `h^{-1}` of the values,
    /// for every transform; the general form with Retrace's `c_t` agrees.
    #[test]
    fn transformed_retrace_equals_direct_loop(b in batch()) {
        for tx in all_transforms(SIGNED_HYPERBOLIC_EPS) {
            let out = transformed_retrace(&b.seq(), b.log_rho_t.view(), Lambda::Constant(b.lambda), tx)
                .unwrap();
            assert_close(&format!("{tx:?}"), &out.targets, &brute_force_transformed(&b, tx), LOOP_TOL);
            let back = out.targets.mapv(|y| tx.inverse(y));
            assert_close("h^-1 of targets", &back, &out.untransformed.targets, LOOP_TOL);
            let c = b.log_rho_t.mapv(|l| b.lambda * l.exp().min(1.0));
            let general = transformed_general_off_policy_returns(&b.seq(), c.view(), tx).unwrap();
            assert_close("general form", &general.targets, &out.targets, LOOP_TOL);
        }
    }
}
