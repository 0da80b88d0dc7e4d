//! Rewards and endings on hand-made layouts, computed by hand.

use bprl_envs::{
    Env, EpisodeEnd, MultiTarget, PointMass, StepType, TargetsConfig, Task, TwoLinkArm,
};

fn mass_at(x: f32, y: f32) -> PointMass {
    PointMass {
        position: [x, y],
        ..PointMass::default()
    }
}

fn env(config: TargetsConfig, tasks: Vec<Task>) -> MultiTarget<PointMass> {
    MultiTarget::new(PointMass::default(), config, tasks).unwrap()
}

#[test]
fn arriving_at_the_only_target_pays_arrival_plus_bonus_and_terminates() {
    let mut e = env(TargetsConfig::default(), vec![Task::go_to(0)]);
    let layout = vec![[0.05, 0.0], [0.7, 0.0], [-0.7, 0.0]];
    let first = e
        .reset_to(layout, mass_at(0.0, 0.0), Task::go_to(0))
        .unwrap();
    assert_eq!(first.observation[2], vec![1.0, 0.0, 0.0]);
    assert_eq!(first.observation[1], vec![0.05, 0.0, 0.7, 0.0, -0.7, 0.0]);
    // Zero action: the mass stays at the origin, 0.05 <= radius 0.1 from target 0.
    let ts = e.step(&[0.0, 0.0]).unwrap();
    assert_eq!(ts.step_type, StepType::Last);
    assert_eq!(ts.reward, 2.0);
    assert_eq!(ts.discount, 0.0);
    assert_eq!(ts.end, Some(EpisodeEnd::Terminated));
}

#[test]
fn another_target_pays_nothing_and_the_time_limit_truncates() {
    let config = TargetsConfig {
        max_steps: 5,
        ..TargetsConfig::default()
    };
    let mut e = env(config, vec![Task::go_to(1)]);
    e.reset_to(
        vec![[0.05, 0.0], [0.7, 0.0], [-0.7, 0.0]],
        mass_at(0.0, 0.0),
        Task::go_to(1),
    )
    .unwrap();
    for t in 1..=5 {
        let ts = e.step(&[0.0, 0.0]).unwrap();
        assert_eq!(ts.reward, 0.0, "sitting on a non-goal target pays nothing");
        if t < 5 {
            assert_eq!(ts.step_type, StepType::Mid);
        } else {
            assert_eq!(
                (ts.step_type, ts.discount, ts.end),
                (StepType::Last, 1.0, Some(EpisodeEnd::Truncated))
            );
        }
    }
}

#[test]
fn sequential_task_pays_each_arrival_and_moves_the_goal() {
    let mut e = env(TargetsConfig::default(), vec![Task::go_to(0)]);
    e.reset_to(
        vec![[0.05, 0.0], [0.0, 0.05], [-0.7, 0.0]],
        mass_at(0.0, 0.0),
        Task::sequence(vec![0, 1]),
    )
    .unwrap();
    // Both targets are within reach of the origin, but only the next one in order counts.
    let ts = e.step(&[0.0, 0.0]).unwrap();
    assert_eq!((ts.reward, ts.step_type), (1.0, StepType::Mid));
    assert_eq!(
        ts.observation[2],
        vec![0.0, 1.0, 0.0],
        "the goal moved to target 1"
    );
    let ts = e.step(&[0.0, 0.0]).unwrap();
    assert_eq!(
        (ts.reward, ts.step_type, ts.discount),
        (2.0, StepType::Last, 0.0)
    );
}

#[test]
fn shaping_is_the_decrease_in_distance() {
    let config = TargetsConfig {
        shaping: 1.0,
        ..TargetsConfig::default()
    };
    let mut e = env(config, vec![Task::go_to(0)]);
    e.reset_to(
        vec![[0.8, 0.0], [0.0, 0.8], [-0.8, 0.0]],
        mass_at(0.0, 0.0),
        Task::go_to(0),
    )
    .unwrap();
    // One step of full force along +x from rest: v = 4 * 0.05 = 0.2, x = 0.2 * 0.05 = 0.01.
    let ts = e.step(&[1.0, 0.0]).unwrap();
    assert!((ts.reward - 0.01).abs() < 1e-6, "{}", ts.reward);
    assert!((ts.observation[0][0] - 0.01).abs() < 1e-7);
    assert!((ts.observation[0][2] - 0.2).abs() < 1e-7);
}

#[test]
fn invalid_tasks_and_configs_are_typed_errors() {
    assert!(MultiTarget::new(PointMass::default(), TargetsConfig::default(), vec![]).is_err());
    assert!(
        MultiTarget::new(
            PointMass::default(),
            TargetsConfig::default(),
            vec![Task::go_to(3)]
        )
        .is_err()
    );
    let bad = TargetsConfig {
        radius: 0.0,
        ..TargetsConfig::default()
    };
    assert!(MultiTarget::new(PointMass::default(), bad, vec![Task::go_to(0)]).is_err());
    let mut e = env(TargetsConfig::default(), vec![Task::go_to(0)]);
    assert!(
        e.reset_to(vec![[0.0, 0.0]], PointMass::default(), Task::go_to(0))
            .is_err()
    );
    let mut arm = MultiTarget::new(
        TwoLinkArm::default(),
        TargetsConfig::default(),
        vec![Task::go_to(0)],
    )
    .unwrap();
    assert!(arm.set_tasks(vec![Task::sequence(vec![])]).is_err());
}

#[test]
fn a_mismarked_task_marks_one_target_and_pays_for_another() {
    // The goal marks target 0, target 1 pays: sitting on the marked target pays nothing,
    // arriving at target 1 pays and terminates.
    let task = Task::cued(vec![1], vec![0]);
    let mut e = env(TargetsConfig::default(), vec![task.clone()]);
    let first = e
        .reset_to(
            vec![[0.05, 0.0], [0.3, 0.0], [-0.7, 0.0]],
            mass_at(0.0, 0.0),
            task,
        )
        .unwrap();
    assert_eq!(
        first.observation[2],
        vec![1.0, 0.0, 0.0],
        "the cue, not the order"
    );
    assert_eq!(e.cued_target(), [0.05, 0.0]);
    assert_eq!(e.current_target(), [0.3, 0.0]);
    let ts = e.step(&[0.0, 0.0]).unwrap();
    assert_eq!((ts.step_type, ts.reward), (StepType::Mid, 0.0));
    // Push towards target 1 until it is reached.
    let mut last = ts;
    for _ in 0..40 {
        last = e.step(&[1.0, 0.0]).unwrap();
        if last.is_last() {
            break;
        }
    }
    assert_eq!(last.end, Some(EpisodeEnd::Terminated));
    assert!(
        last.reward >= 2.0 - 1e-6,
        "arrival + completion: {}",
        last.reward
    );
}

#[test]
fn a_cue_of_the_wrong_length_or_target_is_a_typed_error() {
    let bad_len = Task::cued(vec![0, 1], vec![0]);
    let bad_target = Task::cued(vec![0], vec![3]);
    for t in [bad_len, bad_target] {
        let err = MultiTarget::new(PointMass::default(), TargetsConfig::default(), vec![t])
            .unwrap_err()
            .to_string();
        assert!(err.contains("cue"), "{err}");
    }
}
