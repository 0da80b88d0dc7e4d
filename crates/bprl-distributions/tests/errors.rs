//! Bad input returns the typed error that names the problem; nothing panics.

use bprl_distributions::{
    Categorical, DiagGaussian, DiagGaussianMixture, DistError, TanhGaussian, theory,
};
use ndarray::{Array2, Array3, array};

#[test]
fn shape_mismatch_is_named() {
    let e = DiagGaussian::new(Array2::<f32>::zeros((2, 3)), Array2::ones((2, 2))).unwrap_err();
    assert_eq!(
        e,
        DistError::ShapeMismatch {
            what: "std",
            expected: vec![2, 3],
            actual: vec![2, 2]
        }
    );
    let p = DiagGaussian::<f32>::standard_normal(2, 3);
    let q = DiagGaussian::<f32>::standard_normal(3, 3);
    assert!(matches!(p.kl(&q), Err(DistError::ShapeMismatch { .. })));
    assert!(matches!(
        p.log_prob(Array2::zeros((2, 4)).view()),
        Err(DistError::ShapeMismatch { what: "x", .. })
    ));
    let c = Categorical::new(Array2::<f64>::zeros((2, 3))).unwrap();
    assert!(matches!(
        c.log_prob(&[0]),
        Err(DistError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        c.log_prob(&[0, 3]),
        Err(DistError::CategoryOutOfRange {
            row: 1,
            index: 3,
            categories: 3,
            ..
        })
    ));
    let m = DiagGaussianMixture::new(
        Array2::<f64>::zeros((1, 2)),
        Array3::zeros((1, 3, 2)),
        Array3::ones((1, 3, 2)),
    );
    assert!(matches!(
        m,
        Err(DistError::ShapeMismatch { what: "means", .. })
    ));
}

#[test]
fn non_positive_std_is_named_with_its_index() {
    let e = DiagGaussian::new(array![[0.0f64, 0.0]], array![[1.0, 0.0]]).unwrap_err();
    assert_eq!(
        e,
        DistError::NonPositive {
            what: "std",
            index: 1,
            value: 0.0
        }
    );
    let e = DiagGaussian::new(array![[0.0f32]], array![[-2.0]]).unwrap_err();
    assert!(matches!(
        e,
        DistError::NonPositive {
            what: "std",
            index: 0,
            ..
        }
    ));
    let e = Categorical::with_temperature(array![[0.0f64, 1.0]], 0.0).unwrap_err();
    assert!(matches!(
        e,
        DistError::NonPositive {
            what: "temperature",
            ..
        }
    ));
    let e = DiagGaussian::from_log_std(array![[0.0f32]], array![[-200.0]]).unwrap_err();
    assert!(
        matches!(e, DistError::NonPositive { what: "std", .. }),
        "exp underflow: {e}"
    );
}

#[test]
fn nan_is_named_with_its_index() {
    let e = DiagGaussian::new(array![[0.0f64, f64::NAN]], array![[1.0, 1.0]]).unwrap_err();
    assert!(matches!(
        e,
        DistError::NonFinite {
            what: "mean",
            index: 1,
            ..
        }
    ));
    let e = DiagGaussian::new(array![[0.0f64]], array![[f64::INFINITY]]).unwrap_err();
    assert!(matches!(e, DistError::NonFinite { what: "std", .. }));
    let p = DiagGaussian::<f64>::standard_normal(1, 2);
    let e = p.log_prob(array![[0.0, f64::NAN]].view()).unwrap_err();
    assert!(matches!(
        e,
        DistError::NonFinite {
            what: "x",
            index: 1,
            ..
        }
    ));
    assert!(Categorical::new(array![[f64::NAN, 0.0]]).is_err());
    let e = theory::soft_optimal_policy(array![f64::NAN, 0.0].view(), array![0.5, 0.5].view(), 1.0)
        .unwrap_err();
    assert!(matches!(
        e,
        DistError::NonFinite {
            what: "q_values",
            ..
        }
    ));
}

#[test]
fn out_of_support_and_range() {
    let t = TanhGaussian::new(DiagGaussian::<f64>::standard_normal(1, 2));
    let e = t.log_prob(array![[0.5, 1.0]].view()).unwrap_err();
    assert!(matches!(
        e,
        DistError::OutOfSupport {
            what: "a",
            index: 1,
            ..
        }
    ));
    let e = theory::kl_discrete(array![0.5, 0.6].view(), array![0.5, 0.5].view()).unwrap_err();
    assert!(matches!(e, DistError::NotNormalized { what: "p", .. }));
    let e = theory::kl_discrete(array![1.5, -0.5].view(), array![0.5, 0.5].view()).unwrap_err();
    assert!(matches!(e, DistError::OutOfRange { what: "p", .. }));
    let e = theory::soft_optimal_policy(array![0.0, 0.0].view(), array![0.5, 0.5].view(), 0.0)
        .unwrap_err();
    assert!(matches!(e, DistError::OutOfRange { what: "alpha", .. }));
    // The message carries the numbers.
    let msg = DiagGaussian::new(array![[0.0f64]], array![[-2.5]])
        .unwrap_err()
        .to_string();
    assert!(msg.contains("std") && msg.contains("-2.5"), "{msg}");
}

#[test]
fn bounded_squash_and_clipped_entropy_errors() {
    use bprl_distributions::ActionBounds;
    let g = DiagGaussian::<f64>::standard_normal(1, 2);
    let e = TanhGaussian::with_bounds(g.clone(), array![-1.0], array![1.0]).unwrap_err();
    assert!(matches!(e, DistError::ShapeMismatch { what: "low", .. }));
    let e = TanhGaussian::with_bounds(g.clone(), array![-1.0, 0.0], array![1.0]).unwrap_err();
    assert!(matches!(e, DistError::ShapeMismatch { what: "high", .. }));
    let e =
        TanhGaussian::with_bounds(g.clone(), array![-1.0, 0.0], array![1.0, f64::NAN]).unwrap_err();
    assert!(matches!(
        e,
        DistError::NonFinite {
            what: "high",
            index: 1,
            ..
        }
    ));
    let e = TanhGaussian::with_bounds(g.clone(), array![f64::NEG_INFINITY, 0.0], array![1.0, 1.0])
        .unwrap_err();
    assert!(matches!(
        e,
        DistError::NonFinite {
            what: "low",
            index: 0,
            ..
        }
    ));
    let e = TanhGaussian::with_bounds(g.clone(), array![-1.0, 2.0], array![1.0, 2.0]).unwrap_err();
    assert!(matches!(e, DistError::EmptyBox { index: 1, .. }));
    assert!(e.to_string().contains("low = 2"), "{e}");
    assert!(matches!(
        ActionBounds::<f64>::new(array![], array![]).unwrap_err(),
        DistError::Empty { what: "low" }
    ));
    let t = TanhGaussian::with_bounds(g.clone(), array![-1.0, 0.0], array![1.0, 3.0]).unwrap();
    let e = t.log_prob(array![[0.5, 3.0]].view()).unwrap_err();
    assert!(matches!(
        e,
        DistError::OutOfSupport {
            what: "a",
            index: 1,
            ..
        }
    ));
    let e = t.log_prob(array![[0.5, 1.0, 2.0]].view()).unwrap_err();
    assert!(matches!(e, DistError::ShapeMismatch { what: "a", .. }));
    let e = t
        .entropy_estimate(ndarray::Array3::zeros((0, 1, 2)).view())
        .unwrap_err();
    assert!(matches!(e, DistError::Empty { what: "noise" }));
    let e = t
        .entropy_estimate(ndarray::Array3::zeros((3, 1, 3)).view())
        .unwrap_err();
    assert!(matches!(e, DistError::ShapeMismatch { what: "noise", .. }));
    let mut nan = ndarray::Array3::zeros((2, 1, 2));
    nan[(1, 0, 0)] = f64::NAN;
    assert!(matches!(
        t.entropy_estimate(nan.view()).unwrap_err(),
        DistError::NonFinite {
            what: "noise",
            index: 2,
            ..
        }
    ));
    let e = t.kl(&TanhGaussian::new(g)).unwrap_err();
    assert!(matches!(e, DistError::BoundsMismatch { index: 1, .. }));
    let c = Categorical::new(array![[0.0f64, 1.0]]).unwrap();
    assert!(matches!(
        c.clipped_entropy(-0.1).unwrap_err(),
        DistError::OutOfRange {
            what: "entropy_clip",
            ..
        }
    ));
    assert!(matches!(
        c.clipped_entropy_grad(f64::NAN).unwrap_err(),
        DistError::NonFinite {
            what: "entropy_clip",
            ..
        }
    ));
}
