//! Determinism, spec conformance, action handling, vectorized stepping, rendering.

use bprl_envs::{Env, EnvError, PriorView, Scene, StepType, Suite, VecEnv, render_png};
use proptest::prelude::*;

fn rollout(suite: &Suite, seed: u64, actions: &[[f32; 2]]) -> Vec<bprl_envs::TimeStep> {
    let mut env = suite.train_env().unwrap();
    let mut out = vec![env.reset(seed)];
    for a in actions {
        match env.step(a) {
            Ok(ts) => {
                let last = ts.is_last();
                out.push(ts);
                if last {
                    break;
                }
            }
            Err(e) => panic!("{e}"),
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 32,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x656e76),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn same_seed_same_episode_and_specs_hold(
        seed in 0u64..10_000,
        actions in proptest::collection::vec((-1.5f32..1.5, -1.5f32..1.5), 1..60),
        reacher in proptest::bool::ANY,
    ) {
        let suite = if reacher { Suite::reacher_default() } else { Suite::point_mass_default() };
        let actions: Vec<[f32; 2]> = actions.into_iter().map(|(a, b)| [a, b]).collect();
        let a = rollout(&suite, seed, &actions);
        let b = rollout(&suite, seed, &actions);
        prop_assert_eq!(&a, &b);
        let env = suite.train_env().unwrap();
        let spec = env.observation_spec().to_vec();
        for (i, ts) in a.iter().enumerate() {
            prop_assert_eq!(ts.observation.len(), spec.len());
            for (group, (_, len)) in ts.observation.iter().zip(&spec) {
                prop_assert_eq!(group.len(), *len);
                prop_assert!(group.iter().all(|v| v.is_finite()));
            }
            let goal = &ts.observation[2];
            prop_assert_eq!(goal.iter().filter(|&&g| g == 1.0).count(), 1);
            prop_assert_eq!(ts.step_type == StepType::First, i == 0);
            prop_assert!(ts.discount == 0.0 || ts.discount == 1.0);
        }
        // Out-of-bound actions behave as their clipped values.
        let clipped: Vec<[f32; 2]> = actions.iter().map(|a| [a[0].clamp(-1.0, 1.0), a[1].clamp(-1.0, 1.0)]).collect();
        prop_assert_eq!(rollout(&suite, seed, &clipped), a);
    }
}

#[test]
fn prior_views_hide_the_goal_where_they_should() {
    let env = Suite::point_mass_default().train_env().unwrap();
    let names: Vec<&str> = env
        .observation_spec()
        .iter()
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(names, ["proprio", "targets", "goal"]);
    for view in [PriorView::Proprio, PriorView::ProprioTargets] {
        assert!(!view.groups().contains(&"goal"));
        assert!(view.groups().iter().all(|g| names.contains(g)));
    }
    assert!(PriorView::Full.groups().contains(&"goal"));
}

#[test]
fn bad_actions_and_stepping_after_the_end_are_typed_errors() {
    let mut env = Suite::point_mass_default().train_env().unwrap();
    assert!(matches!(env.step(&[0.0, 0.0]), Err(EnvError::NeedsReset)));
    let first = env.reset(1);
    assert!(matches!(
        env.step(&[0.0]),
        Err(EnvError::ActionShape {
            expected: 2,
            actual: 1
        })
    ));
    assert!(matches!(
        env.step(&[0.0, f32::NAN]),
        Err(EnvError::NonFiniteAction { index: 1, .. })
    ));
    // The rejected actions did not advance the episode.
    let mut again = Suite::point_mass_default().train_env().unwrap();
    again.reset(1);
    assert_eq!(
        env.step(&[0.3, 0.3]).unwrap(),
        again.step(&[0.3, 0.3]).unwrap()
    );
    let mut steps = 1;
    while !env.step(&[0.0, 0.0]).unwrap().is_last() {
        steps += 1;
    }
    assert_eq!(steps + 1, 100, "truncated at the time limit");
    assert!(matches!(env.step(&[0.0, 0.0]), Err(EnvError::NeedsReset)));
    assert_eq!(first.step_type, StepType::First);
}

#[test]
fn vec_env_steps_in_lockstep_and_auto_resets() {
    let suite = Suite::point_mass_default();
    let envs: Vec<_> = (0..4).map(|_| suite.train_env().unwrap()).collect();
    let mut v = VecEnv::new(envs, 100).unwrap();
    let first = v.reset();
    assert_eq!(first.len(), 4);
    // Episode seeds are distinct per environment.
    assert_ne!(first[0].observation[1], first[1].observation[1]);
    let mut lasts = 0;
    let mut restarted = 0;
    for _ in 0..210 {
        let ts = v.step(&vec![vec![0.0, 0.0]; 4]).unwrap();
        lasts += ts.iter().filter(|t| t.is_last()).count();
        restarted += ts.iter().filter(|t| t.step_type == StepType::First).count();
    }
    assert_eq!(lasts, 8, "two 100-step episodes each");
    assert_eq!(restarted, 8);
    assert!(v.step(&vec![vec![0.0, 0.0]; 3]).is_err());
    assert!(VecEnv::<bprl_envs::SuiteEnv>::new(vec![], 0).is_err());
}

#[test]
fn renders_a_png() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rollouts.png");
    let scene = Scene {
        targets: vec![[0.5, 0.0], [-0.3, 0.4]],
        goal: Some(1),
        trajectories: vec![
            vec![[0.0, 0.0], [0.2, 0.1], [0.4, 0.0]],
            vec![[0.0, 0.0], [-0.2, 0.3]],
        ],
        radius: 0.1,
    };
    render_png(&scene, &path, 200).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temporary file left"
    );
    let bad = dir.path().join("missing-dir").join("x.png");
    assert!(matches!(
        render_png(&scene, &bad, 100),
        Err(EnvError::Render { .. })
    ));
}
