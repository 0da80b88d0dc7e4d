//! Bad input is a typed error naming the argument; nothing panics.

use bprl_retrace::{
    DiscreteSequence, Lambda, RetraceError, Sequence, kl_regularized_value, n_step_returns,
    retrace, retrace_discrete,
};
use ndarray::{Array1, Array2, Array3, array};

fn ok_seq() -> [Array2<f64>; 5] {
    let z = Array2::zeros((3, 2));
    [
        z.clone(),
        z.clone(),
        z.clone(),
        Array2::from_elem((3, 2), 0.9),
        z,
    ]
}

fn run(a: &[Array2<f64>; 5], lambda: f64) -> Result<(), RetraceError> {
    let seq = Sequence {
        q_t: a[0].view(),
        v_tp1: a[1].view(),
        r_t: a[2].view(),
        discount_t: a[3].view(),
    };
    retrace(&seq, a[4].view(), Lambda::Constant(lambda)).map(|_| ())
}

#[test]
fn mismatched_shapes() {
    let mut a = ok_seq();
    a[2] = Array2::zeros((3, 3));
    assert_eq!(
        run(&a, 1.0).unwrap_err(),
        RetraceError::ShapeMismatch {
            what: "r_t",
            expected: vec![3, 2],
            actual: vec![3, 3]
        }
    );
    let mut a = ok_seq();
    a[4] = Array2::zeros((2, 2));
    assert!(matches!(
        run(&a, 1.0),
        Err(RetraceError::ShapeMismatch {
            what: "log_rho_t",
            ..
        })
    ));
    let l = Array2::from_elem((2, 2), 0.5);
    let a = ok_seq();
    let seq = Sequence {
        q_t: a[0].view(),
        v_tp1: a[1].view(),
        r_t: a[2].view(),
        discount_t: a[3].view(),
    };
    assert!(matches!(
        retrace(&seq, a[4].view(), Lambda::PerStep(l.view())),
        Err(RetraceError::ShapeMismatch { what: "lambda", .. })
    ));
}

#[test]
fn nan_and_ranges() {
    let mut a = ok_seq();
    a[0][(1, 1)] = f64::NAN;
    assert!(matches!(
        run(&a, 1.0),
        Err(RetraceError::NonFinite {
            what: "q_t",
            index: 3,
            ..
        })
    ));
    let mut a = ok_seq();
    a[4][(0, 0)] = f64::NAN;
    assert!(matches!(
        run(&a, 1.0),
        Err(RetraceError::NonFinite {
            what: "log_rho_t",
            ..
        })
    ));
    assert!(matches!(
        run(&ok_seq(), 1.5),
        Err(RetraceError::OutOfRange { what: "lambda", .. })
    ));
    assert!(matches!(
        run(&ok_seq(), -0.1),
        Err(RetraceError::OutOfRange { what: "lambda", .. })
    ));
    let mut a = ok_seq();
    a[3][(2, 0)] = 1.01;
    assert_eq!(
        run(&a, 1.0).unwrap_err(),
        RetraceError::OutOfRange {
            what: "discount_t",
            index: 4,
            value: 1.01,
            range: "[0, 1]"
        }
    );
    let mut a = ok_seq();
    a[3][(0, 0)] = -0.5;
    assert!(matches!(
        run(&a, 1.0),
        Err(RetraceError::OutOfRange {
            what: "discount_t",
            ..
        })
    ));
    let e = Array2::<f64>::zeros((0, 2));
    let seq = Sequence {
        q_t: e.view(),
        v_tp1: e.view(),
        r_t: e.view(),
        discount_t: e.view(),
    };
    assert!(matches!(
        retrace(&seq, e.view(), Lambda::Constant(1.0)),
        Err(RetraceError::EmptySequence { .. })
    ));
    let z = Array1::<f64>::zeros(3);
    assert!(matches!(
        n_step_returns(z.view(), z.view(), z.view(), 0),
        Err(RetraceError::OutOfRange { what: "n", .. })
    ));
    let q = Array2::<f64>::zeros((2, 3));
    let kl = array![1.0, -1.0, 0.0];
    assert!(matches!(
        kl_regularized_value(q.view(), kl.view(), 0.1),
        Err(RetraceError::OutOfRange { what: "kl_t", .. })
    ));
    let message = run(
        &{
            let mut a = ok_seq();
            a[3][(0, 1)] = 2.0;
            a
        },
        1.0,
    )
    .unwrap_err()
    .to_string();
    assert!(
        message.contains("discount_t") && message.contains('2'),
        "{message}"
    );
}

#[test]
fn discrete_bad_actions_and_probabilities() {
    let q = Array3::<f64>::zeros((3, 1, 2));
    let pi = Array3::from_elem((3, 1, 2), 0.5);
    let a = array![[0usize], [2], [0]];
    let mu = array![[0.5], [0.5], [0.5]];
    let r = Array2::<f64>::zeros((2, 1));
    let d = Array2::from_elem((2, 1), 0.9);
    let seq = DiscreteSequence {
        q_t: q.view(),
        a_t: a.view(),
        pi_t: pi.view(),
        mu_t: mu.view(),
        r_t: r.view(),
        discount_t: d.view(),
    };
    assert!(matches!(
        retrace_discrete(&seq, 1.0),
        Err(RetraceError::ActionOutOfRange {
            action: 2,
            num_actions: 2,
            ..
        })
    ));
    let a = array![[0usize], [1], [0]];
    let mu0 = array![[0.5], [0.0], [0.5]];
    let seq = DiscreteSequence {
        a_t: a.view(),
        mu_t: mu0.view(),
        ..seq
    };
    assert!(matches!(
        retrace_discrete(&seq, 1.0),
        Err(RetraceError::OutOfRange { what: "mu_t", .. })
    ));
    let pi_bad = Array3::from_elem((3, 1, 2), 1.5);
    let seq = DiscreteSequence {
        pi_t: pi_bad.view(),
        mu_t: mu.view(),
        ..seq
    };
    assert!(matches!(
        retrace_discrete(&seq, 1.0),
        Err(RetraceError::OutOfRange { what: "pi_t", .. })
    ));
}
