//! Actions: clipped to the box; NaN, infinity and wrong lengths are typed errors that leave
//! the state unchanged.
use bprl_envs::{Env, EnvError};

#[test]
fn out_of_range_actions_are_clipped() {
    let (mut a, mut b) = (crate::quadruped(), crate::quadruped());
    a.reset(5);
    b.reset(5);
    let big = [7.0, -3.0, 1.5, -1.0, 0.2, 100.0, -100.0, 0.0];
    let clipped = [1.0, -1.0, 1.0, -1.0, 0.2, 1.0, -1.0, 0.0];
    let ta = a.step(&big).expect("step");
    let tb = b.step(&clipped).expect("step");
    assert_eq!(ta.observation, tb.observation);
    let ctrl: Vec<f64> = a.physics().data().ctrl().to_vec();
    assert_eq!(ctrl, clipped.map(f64::from).to_vec());
}

#[test]
fn nan_and_infinite_actions_are_rejected_and_change_nothing() {
    let mut env = crate::point_mass();
    let first = env.reset(2);
    let time = env.physics().data().time();
    for (bad, index) in [([f32::NAN, 0.0], 0), ([0.0, f32::INFINITY], 1)] {
        match env.step(&bad) {
            Err(EnvError::NonFiniteAction { index: i, .. }) => assert_eq!(i, index),
            other => panic!("expected NonFiniteAction, got {other:?}"),
        }
    }
    assert_eq!(env.physics().data().time(), time);
    assert_eq!(env.steps(), 0);
    // The episode goes on as if the bad calls never happened.
    let mut fresh = crate::point_mass();
    assert_eq!(fresh.reset(2).observation, first.observation);
    assert_eq!(
        env.step(&[0.3, 0.3]).expect("step").observation,
        fresh.step(&[0.3, 0.3]).expect("step").observation
    );
}

#[test]
fn wrong_lengths_are_rejected() {
    let mut env = crate::quadruped();
    env.reset(0);
    match env.step(&[0.0; 3]) {
        Err(EnvError::ActionShape { expected, actual }) => assert_eq!((expected, actual), (8, 3)),
        other => panic!("expected ActionShape, got {other:?}"),
    }
}

#[test]
fn stepping_needs_a_running_episode() {
    let mut env = crate::point_mass();
    assert!(matches!(env.step(&[0.0, 0.0]), Err(EnvError::NeedsReset)));
}
