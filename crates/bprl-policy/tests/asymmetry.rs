//! Information asymmetry is real: a network's output does not depend on groups outside its
//! selection; selections of missing groups and wrong widths are typed errors.

use crate::common::{obs, spec};
use bprl_policy::{GaussianPolicy, GaussianPolicyConfig, PolicyError};
use rand::SeedableRng;
use rand::rngs::StdRng;

#[test]
fn prior_ignores_the_goal_and_policy_does_not() {
    let mut rng = StdRng::seed_from_u64(1);
    let s = spec();
    let cfg = GaussianPolicyConfig {
        hidden: vec![8, 8],
        output_dim: 2,
        extra_input_dim: 0,
        min_scale: 0.1,
    };
    let mut prior =
        GaussianPolicy::<f64>::new(s.select(&["proprio", "targets"]).unwrap(), &cfg, &mut rng)
            .unwrap();
    let mut policy = GaussianPolicy::<f64>::new(s.select_all(), &cfg, &mut rng).unwrap();
    for net in [&mut prior, &mut policy] {
        net.head.mean.weight.mapv_inplace(|v| v * 100.0);
    }
    let x = obs(4, &mut rng);
    let mut changed = x.clone();
    let goal = s.range("goal").unwrap();
    for mut row in changed.rows_mut() {
        for c in goal.clone() {
            row[c] += 3.0;
        }
    }
    let p1 = prior.forward(x.view(), None).unwrap().dist;
    let p2 = prior.forward(changed.view(), None).unwrap().dist;
    assert_eq!(p1, p2, "the prior cannot see the goal");
    assert!(!prior.selection.contains("goal"));
    let q1 = policy.forward(x.view(), None).unwrap().dist;
    let q2 = policy.forward(changed.view(), None).unwrap().dist;
    assert_ne!(q1.mean(), q2.mean(), "the policy does see the goal");
}

#[test]
fn missing_groups_and_bad_widths_are_typed_errors() {
    let s = spec();
    let e = s.select(&["proprio", "velocity"]).unwrap_err();
    assert!(
        matches!(&e, PolicyError::MissingGroup { name, available } if name == "velocity" && available.len() == 3)
    );
    assert!(bprl_policy::ObservationSpec::new(vec![("a".into(), 1), ("a".into(), 2)]).is_err());
    let mut rng = StdRng::seed_from_u64(2);
    let cfg = GaussianPolicyConfig {
        hidden: vec![4],
        output_dim: 2,
        extra_input_dim: 0,
        min_scale: 0.1,
    };
    let p = GaussianPolicy::<f32>::new(s.select_all(), &cfg, &mut rng).unwrap();
    let wide = ndarray::Array2::<f32>::zeros((2, 9));
    assert!(matches!(
        p.forward(wide.view(), None),
        Err(PolicyError::Shape { .. })
    ));
    let mut nan = ndarray::Array2::<f32>::zeros((2, 7));
    nan[(1, 3)] = f32::NAN;
    assert!(matches!(
        p.forward(nan.view(), None),
        Err(PolicyError::NonFinite {
            what: "obs",
            index: 10
        })
    ));
    let extra = ndarray::Array2::<f32>::zeros((2, 1));
    assert!(matches!(
        p.forward(ndarray::Array2::zeros((2, 7)).view(), Some(extra.view())),
        Err(PolicyError::Shape { .. })
    ));
}
