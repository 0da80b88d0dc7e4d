//! TRFL's published Retrace test case (`trfl/retrace_ops_test.py`), reproduced from its
//! definitions.
//!
//! TRFL's example: two sequences of four steps (three transitions), lambda = 0.9. Its arrays
//! are time-major with the same `[T+1, B, ...]` layout as our `DiscreteSequence`; rows it marks
//! NaN are never read (rewards and discounts at `t = 3`, policy probabilities at `t = 0`). TRFL
//! computes the trace with target-network Q values (`targnet_qs`), and its `target` output is
//! our `targets`. Its expected values are written out below as the same arithmetic TRFL's test
//! states (`r + pcont * E_pi Q' + lambda * pcont * pi/mu * trace'`), which our recursion must
//! reproduce.

use bprl_retrace::{DiscreteSequence, Lambda, Sequence, retrace, retrace_discrete};
use ndarray::{Array2, Array3, array, s};

struct Trfl {
    targnet_qs: Array3<f64>,
    actions: Array2<usize>,
    rewards: Array2<f64>,
    pcontinues: Array2<f64>,
    target_policy: Array3<f64>,
    behaviour: Array2<f64>,
}

fn trfl() -> Trfl {
    let nan = f64::NAN;
    Trfl {
        targnet_qs: Array3::from_shape_vec(
            (4, 2, 3),
            vec![
                2., 3., 4., 5., 6., 7., //
                7., 6., 5., 4., 3., 2., //
                3., 5., 7., 4., 6., 9., //
                2., 8., 4., 9., 1., 8.,
            ],
        )
        .unwrap(),
        actions: array![[2, 0], [1, 2], [0, 1], [2, 0]],
        rewards: array![[1.9, 2.9], [3.9, 4.9], [5.9, 6.9], [nan, nan]],
        pcontinues: array![[0.8, 0.9], [0.7, 0.8], [0.6, 0.5], [nan, nan]],
        target_policy: Array3::from_shape_vec(
            (4, 2, 3),
            vec![
                nan, nan, nan, nan, nan, nan, //
                0.41, 0.28, 0.31, 0.19, 0.77, 0.04, //
                0.22, 0.44, 0.34, 0.14, 0.25, 0.61, //
                0.16, 0.72, 0.12, 0.33, 0.30, 0.37,
            ],
        )
        .unwrap(),
        behaviour: array![[nan, nan], [0.85, 0.86], [0.87, 0.88], [0.89, 0.84]],
    }
}

/// TRFL's expected `target_q`, as its test defines it.
fn expected_target_q() -> Array2<f64> {
    let mut trace = Array2::<f64>::zeros((3, 2));
    trace[(2, 0)] = 5.9 + 0.6 * (0.16 * 2. + 0.72 * 8. + 0.12 * 4.) - 3.;
    trace[(2, 1)] = 6.9 + 0.5 * (0.33 * 9. + 0.30 * 1. + 0.37 * 8.) - 6.;
    trace[(1, 0)] = 3.9 + 0.7 * (0.22 * 3. + 0.44 * 5. + 0.34 * 7.) - 6.
        + 0.9 * 0.7 * 0.22 / 0.87 * trace[(2, 0)];
    trace[(1, 1)] = 4.9 + 0.8 * (0.14 * 4. + 0.25 * 6. + 0.61 * 9.) - 2.
        + 0.9 * 0.8 * 0.25 / 0.88 * trace[(2, 1)];
    let mut q = Array2::<f64>::zeros((3, 2));
    q[(2, 0)] = 5.9 + 0.6 * (0.16 * 2. + 0.72 * 8. + 0.12 * 4.);
    q[(2, 1)] = 6.9 + 0.5 * (0.33 * 9. + 0.30 * 1. + 0.37 * 8.);
    q[(1, 0)] =
        3.9 + 0.7 * (0.22 * 3. + 0.44 * 5. + 0.34 * 7.) + 0.9 * 0.7 * 0.22 / 0.87 * trace[(2, 0)];
    q[(1, 1)] =
        4.9 + 0.8 * (0.14 * 4. + 0.25 * 6. + 0.61 * 9.) + 0.9 * 0.8 * 0.25 / 0.88 * trace[(2, 1)];
    q[(0, 0)] =
        1.9 + 0.8 * (0.41 * 7. + 0.28 * 6. + 0.31 * 5.) + 0.9 * 0.8 * 0.28 / 0.85 * trace[(1, 0)];
    q[(0, 1)] =
        2.9 + 0.9 * (0.19 * 4. + 0.77 * 3. + 0.04 * 2.) + 0.9 * 0.9 * 0.04 / 0.86 * trace[(1, 1)];
    q
}

#[test]
fn trfl_discrete_retrace_targets() {
    let d = trfl();
    let out = retrace_discrete(
        &DiscreteSequence {
            q_t: d.targnet_qs.view(),
            a_t: d.actions.view(),
            pi_t: d.target_policy.view(),
            mu_t: d.behaviour.view(),
            r_t: d.rewards.slice(s![..3, ..]),
            discount_t: d.pcontinues.slice(s![..3, ..]),
        },
        0.9,
    )
    .unwrap();
    let want = expected_target_q();
    for (got, want) in out.targets.iter().zip(want.iter()) {
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    }
    // TRFL's loss uses the learning network's Q(x_t, a_t) = target-network value + 0.2.
    let loss_00 = 0.5 * (want[(0, 0)] - 4.2f64).powi(2);
    assert!((0.5 * (out.targets[(0, 0)] - 4.2).powi(2) - loss_00).abs() < 1e-12);
}

#[test]
fn trfl_case_through_the_continuous_api() {
    // The same case with V and log-ratios precomputed: the continuous op must agree.
    let d = trfl();
    let q_t = Array2::from_shape_fn((3, 2), |(t, b)| d.targnet_qs[(t, b, d.actions[(t, b)])]);
    let v_tp1 = Array2::from_shape_fn((3, 2), |(t, b)| {
        (0..3)
            .map(|a| d.target_policy[(t + 1, b, a)] * d.targnet_qs[(t + 1, b, a)])
            .sum()
    });
    let log_rho = Array2::from_shape_fn((3, 2), |(t, b)| {
        if t == 0 {
            0.0 // unused by the recursion
        } else {
            (d.target_policy[(t, b, d.actions[(t, b)])] / d.behaviour[(t, b)]).ln()
        }
    });
    let seq = Sequence {
        q_t: q_t.view(),
        v_tp1: v_tp1.view(),
        r_t: d.rewards.slice(s![..3, ..]),
        discount_t: d.pcontinues.slice(s![..3, ..]),
    };
    let out = retrace(&seq, log_rho.view(), Lambda::Constant(0.9)).unwrap();
    for (got, want) in out.targets.iter().zip(expected_target_q().iter()) {
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    }
}
