//! Observation groups, shapes and frames; deterministic resets per seed.
use bprl_envs::{Env, Task};
use bprl_mujoco::{GoToTarget, TaskConfig};
use proptest::prelude::*;

fn names(env: &GoToTarget) -> Vec<(String, usize)> {
    env.observation_spec().to_vec()
}

#[test]
fn the_groups_are_proprio_targets_task() {
    let spec = |n: &[(&str, usize)]| -> Vec<(String, usize)> {
        n.iter().map(|(s, w)| (s.to_string(), *w)).collect()
    };
    // Quadruped proprio: 8 + 8 joints, height, z-axis 3, sensors 9, four feet x 3 = 41.
    assert_eq!(
        names(&crate::quadruped()),
        spec(&[("proprio", 41), ("targets", 9), ("task", 3)])
    );
    assert_eq!(
        names(&crate::point_mass()),
        spec(&[("proprio", 20), ("targets", 9), ("task", 3)])
    );
    let five = GoToTarget::go_to_any(TaskConfig {
        num_targets: 5,
        ..TaskConfig::point_mass()
    })
    .expect("env");
    assert_eq!(names(&five)[1..], spec(&[("targets", 15), ("task", 5)])[..]);
}

#[test]
fn observations_match_the_spec_and_the_task_is_one_hot() {
    for mut env in [crate::quadruped(), crate::point_mass()] {
        let dim = env.action_spec().dim;
        for seed in 0..4 {
            let ts = env.reset(seed);
            let widths: Vec<usize> = ts.observation.iter().map(Vec::len).collect();
            let spec: Vec<usize> = env.observation_spec().iter().map(|g| g.1).collect();
            assert_eq!(widths, spec);
            let task = &ts.observation[2];
            assert_eq!(task.iter().sum::<f32>(), 1.0);
            assert_eq!(task[env.task().order[0]], 1.0);
            let ts = env.step(&vec![0.5; dim]).expect("step");
            assert!(ts.flat_observation().iter().all(|v| v.is_finite()));
        }
    }
}

#[test]
fn targets_are_egocentric() {
    let mut env = crate::quadruped();
    // Heading +90 deg: the world's +x is the torso's -y.
    let ts = env
        .reset_to(
            vec![[2.25, 0.75], [0.75, 2.25], [-2.25, 0.75]],
            [0.75, 0.75],
            std::f64::consts::FRAC_PI_2,
            Task::go_to(0),
        )
        .expect("start");
    let t = &ts.observation[1];
    let z = env.physics().torso_position()[2] as f32;
    let close = |a: &[f32], b: [f32; 3]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-3);
    assert!(close(&t[0..3], [0.0, -1.5, -z]), "{:?}", &t[0..3]);
    assert!(close(&t[3..6], [1.5, 0.0, -z]), "{:?}", &t[3..6]);
    assert!(close(&t[6..9], [0.0, 3.0, -z]), "{:?}", &t[6..9]);
    // Upright: the world z-axis in the torso frame is (0, 0, 1); proprio[17..20].
    assert!(close(&ts.observation[0][17..20], [0.0, 0.0, 1.0]));
    // Height: proprio[16].
    assert!((ts.observation[0][16] - z).abs() < 1e-6);
}

#[test]
fn the_feet_are_below_the_torso_in_its_frame() {
    let ts = crate::quadruped().reset(9);
    let feet = &ts.observation[0][29..41];
    for foot in feet.chunks(3) {
        assert!(foot[2] < -0.2, "foot {foot:?}");
        let horizontal = (foot[0].powi(2) + foot[1].powi(2)).sqrt();
        assert!((0.5..1.3).contains(&horizontal), "foot {foot:?}");
    }
}

#[test]
fn reset_is_deterministic_per_seed() {
    let (mut a, mut b) = (crate::quadruped(), crate::quadruped());
    for seed in [0, 1, 77] {
        assert_eq!(a.reset(seed), b.reset(seed));
        assert_eq!(a.targets(), b.targets());
        assert_eq!(a.task(), b.task());
        for i in 0..5 {
            let act = [0.3 * i as f32 - 0.5; 8];
            assert_eq!(a.step(&act).expect("a"), b.step(&act).expect("b"));
        }
    }
}

#[test]
fn seeds_draw_different_layouts_on_distinct_cells() {
    let mut env = crate::quadruped();
    let mut layouts = Vec::new();
    for seed in 0..10 {
        env.reset(seed);
        let mut cells: Vec<[f64; 2]> = env.targets().to_vec();
        cells.push(env.torso_xy());
        for (i, p) in cells.iter().enumerate() {
            for q in &cells[i + 1..] {
                let d = ((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2)).sqrt();
                assert!(d > 1.0, "seed {seed}: {p:?} and {q:?} share a cell");
            }
        }
        layouts.push(env.targets().to_vec());
    }
    layouts.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
    layouts.dedup();
    assert!(
        layouts.len() >= 8,
        "only {} distinct layouts",
        layouts.len()
    );
}

#[test]
fn reset_to_rejects_bad_starts() {
    let mut env = crate::point_mass();
    let row = vec![[-0.6, -0.6], [0.0, -0.6], [0.6, -0.6]];
    assert!(
        env.reset_to(row[..2].to_vec(), [0.0, 0.0], 0.0, Task::go_to(0))
            .is_err()
    );
    assert!(
        env.reset_to(row.clone(), [5.0, 0.0], 0.0, Task::go_to(0))
            .is_err()
    );
    assert!(
        env.reset_to(row.clone(), [f64::NAN, 0.0], 0.0, Task::go_to(0))
            .is_err()
    );
    assert!(
        env.reset_to(row.clone(), [0.0, 0.0], f64::INFINITY, Task::go_to(0))
            .is_err()
    );
    assert!(env.reset_to(row, [0.0, 0.0], 0.0, Task::go_to(3)).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn random_seeds_and_actions_keep_the_spec(seed in 0u64..10_000, acts in prop::collection::vec(prop::array::uniform2(-3.0f32..3.0), 1..20)) {
        let mut env = crate::point_mass();
        env.reset(seed);
        for a in acts {
            let ts = env.step(&a).expect("step");
            let widths: Vec<usize> = ts.observation.iter().map(Vec::len).collect();
            prop_assert_eq!(widths, vec![20, 9, 3]);
            prop_assert!(ts.flat_observation().iter().all(|v| v.is_finite()));
            prop_assert!(ts.reward.is_finite());
            if ts.is_last() { break; }
        }
    }
}
