//! The bodies' dynamics against their closed forms, and target layouts inside the reachable
//! region.

use bprl_envs::{Body, DT, Env, PointMass, Suite, SuiteEnv, TwoLinkArm};

#[test]
fn point_mass_walls_stop_motion() {
    let mut m = PointMass {
        position: [0.99, 0.0],
        velocity: [1.0, 0.0],
        ..PointMass::default()
    };
    m.step(&[1.0, 0.0]);
    assert_eq!(m.position[0], 1.0);
    assert_eq!(m.velocity[0], 0.0);
}

#[test]
fn arm_fingertip_is_forward_kinematics() {
    let arm = TwoLinkArm {
        angles: [std::f32::consts::FRAC_PI_2, std::f32::consts::FRAC_PI_2],
        ..TwoLinkArm::default()
    };
    let tip = arm.effector();
    // Up 0.5, then left 0.4.
    assert!(
        (tip[0] + 0.4).abs() < 1e-6 && (tip[1] - 0.5).abs() < 1e-6,
        "{tip:?}"
    );
    let mut arm = TwoLinkArm::default();
    arm.step(&[1.0, -1.0]);
    assert!((arm.velocities[0] - 10.0 * DT).abs() < 1e-6);
    assert!((arm.angles[0] - 10.0 * DT * DT).abs() < 1e-6);
    assert_eq!(arm.proprio().len(), arm.proprio_dim());
}

#[test]
fn layouts_are_reachable_and_separated() {
    for suite in [Suite::point_mass_default(), Suite::reacher_default()] {
        let mut env = suite.train_env().unwrap();
        for seed in 0..50 {
            env.reset(seed);
            let (lo, hi) = match &env {
                SuiteEnv::PointMass(e) => e.body().target_region(),
                SuiteEnv::Reacher(e) => e.body().target_region(),
            };
            let t = env.targets().to_vec();
            for (i, p) in t.iter().enumerate() {
                let r = (p[0] * p[0] + p[1] * p[1]).sqrt();
                assert!(r >= lo - 1e-5 && r <= hi + 1e-5, "target at radius {r}");
                for q in &t[..i] {
                    let d = ((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2)).sqrt();
                    assert!(d >= suite.config.min_separation - 1e-5);
                }
            }
        }
    }
}

#[test]
fn training_and_held_out_tasks() {
    let suite = Suite::point_mass_default();
    assert_eq!(suite.train.len(), 3);
    assert_eq!(suite.held_out.len(), 6);
    assert!(
        suite
            .held_out
            .iter()
            .all(|t| t.order.len() == 2 && t.order[0] != t.order[1])
    );
    let mut env = suite.held_out_env().unwrap();
    let seen: std::collections::BTreeSet<_> = (0..200)
        .map(|s| {
            env.reset(s);
            env.task().order.clone()
        })
        .collect();
    assert_eq!(seen.len(), 6, "every held-out task is drawn");
}

#[test]
fn held_out_families_hold_the_tasks_they_name() {
    use bprl_envs::{HeldOutTasks, SuiteConfig, Task};
    let k = 3;
    let tours = Task::tours(k);
    assert_eq!(
        tours.len(),
        6,
        "for three targets the tours are the six permutations"
    );
    for t in &tours {
        let mut seen = t.order.clone();
        seen.sort_unstable();
        assert_eq!(seen, vec![0, 1, 2]);
        assert_eq!(t.cue, t.order, "the goal marks the next target");
    }
    let mis = Task::mismarked(k, 1);
    assert_eq!(mis.len(), 3);
    for t in &mis {
        assert_eq!(
            t.order,
            vec![(t.cue[0] + 1) % k],
            "the mark is never the target"
        );
    }
    for family in [
        HeldOutTasks::OrderedPairs,
        HeldOutTasks::Tours,
        HeldOutTasks::Mismarked,
    ] {
        let suite = Suite::from_config(&SuiteConfig {
            held_out: family,
            ..SuiteConfig::default()
        });
        assert_eq!(suite.held_out, family.tasks(k));
        assert_eq!(HeldOutTasks::of(&suite.held_out, k), Some(family));
        assert_eq!(
            suite.train,
            Task::go_to_each(k),
            "training tasks stay the same"
        );
    }
}
