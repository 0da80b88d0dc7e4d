//! Reward and termination semantics on scripted trajectories: the torso is teleported into
//! targets and flipped by writing the root joint, then the environment steps.
use bprl_envs::{Env, EnvError, EpisodeEnd, StepType, Task};
use bprl_mujoco::{GoToTarget, TaskConfig};

/// Point-mass targets at three cell centres of the bottom row; the walker starts top middle.
const ROW: [[f64; 2]; 3] = [[-0.6, -0.6], [0.0, -0.6], [0.6, -0.6]];

fn teleport(env: &mut GoToTarget, xy: [f64; 2]) {
    let z = env.physics().torso_position()[2];
    let p = env.physics_mut();
    p.set_root([xy[0], xy[1], z], 0.0);
    p.forward();
}

#[test]
fn entering_the_target_gives_10_then_50_and_ends() {
    let mut env = crate::point_mass();
    env.reset_to(ROW.to_vec(), [0.0, 0.6], 0.0, Task::go_to(1))
        .expect("start");
    let ts = env.step(&[0.0, 0.0]).expect("step");
    assert_eq!((ts.reward, ts.step_type), (0.0, StepType::Mid));
    teleport(&mut env, ROW[1]);
    let ts = env.step(&[0.0, 0.0]).expect("step");
    assert_eq!(
        (ts.reward, ts.step_type, ts.discount),
        (10.0, StepType::Mid, 1.0)
    );
    assert_eq!(env.satisfied(), &[true]);
    let ts = env.step(&[0.0, 0.0]).expect("step");
    assert_eq!(ts.reward, 50.0);
    assert_eq!(ts.step_type, StepType::Last);
    assert_eq!(ts.end, Some(EpisodeEnd::Terminated));
    assert_eq!(ts.discount, 0.0);
    assert!(matches!(env.step(&[0.0, 0.0]), Err(EnvError::NeedsReset)));
}

#[test]
fn the_step_starting_satisfied_pays_50_even_if_it_leaves() {
    let mut env = crate::point_mass();
    env.reset_to(ROW.to_vec(), [0.0, 0.6], 0.0, Task::go_to(2))
        .expect("start");
    teleport(&mut env, ROW[2]);
    assert_eq!(env.step(&[0.0, 0.0]).expect("step").reward, 10.0);
    teleport(&mut env, [0.0, 0.6]);
    let ts = env.step(&[0.0, 0.0]).expect("step");
    assert_eq!((ts.reward, ts.end), (50.0, Some(EpisodeEnd::Terminated)));
}

#[test]
fn other_targets_pay_nothing() {
    let mut env = crate::point_mass();
    env.reset_to(ROW.to_vec(), [0.0, 0.6], 0.0, Task::go_to(0))
        .expect("start");
    for xy in [ROW[1], ROW[2], [0.6, 0.6]] {
        teleport(&mut env, xy);
        let ts = env.step(&[0.0, 0.0]).expect("step");
        assert_eq!((ts.reward, ts.step_type), (0.0, StepType::Mid), "at {xy:?}");
    }
}

#[test]
fn the_scale_and_the_final_reward_are_settings() {
    let config = TaskConfig {
        reward_scale: 2.0,
        all_satisfied_reward: 3.0,
        ..TaskConfig::point_mass()
    };
    let mut env = GoToTarget::go_to_any(config).expect("env");
    env.reset_to(ROW.to_vec(), [0.0, 0.6], 0.0, Task::go_to(0))
        .expect("start");
    teleport(&mut env, ROW[0]);
    assert_eq!(env.step(&[0.0, 0.0]).expect("step").reward, 2.0);
    assert_eq!(env.step(&[0.0, 0.0]).expect("step").reward, 6.0);
}

#[test]
fn a_sequence_pays_each_target_in_order_only() {
    let mut env =
        GoToTarget::new(TaskConfig::point_mass(), vec![Task::sequence(vec![0, 2])]).expect("env");
    env.reset_to(ROW.to_vec(), [0.0, 0.6], 0.0, Task::sequence(vec![0, 2]))
        .expect("start");
    let mut reward_at = |xy: [f64; 2]| {
        teleport(&mut env, xy);
        let ts = env.step(&[0.0, 0.0]).expect("step");
        (ts.reward, ts.step_type, env.satisfied().to_vec())
    };
    // The second target first: out of order, nothing.
    assert_eq!(reward_at(ROW[2]), (0.0, StepType::Mid, vec![false, false]));
    // The first: +10, and it stays visited after leaving.
    assert_eq!(reward_at(ROW[0]), (10.0, StepType::Mid, vec![true, false]));
    assert_eq!(reward_at(ROW[1]), (0.0, StepType::Mid, vec![true, false]));
    // Then the second: +10, then the final 50.
    assert_eq!(reward_at(ROW[2]), (10.0, StepType::Mid, vec![true, true]));
    let (r, t, _) = reward_at(ROW[2]);
    assert_eq!((r, t), (50.0, StepType::Last));
}

#[test]
fn the_task_group_follows_the_sequence() {
    let mut env =
        GoToTarget::new(TaskConfig::point_mass(), vec![Task::sequence(vec![1, 0])]).expect("env");
    let first = env
        .reset_to(ROW.to_vec(), [0.0, 0.6], 0.0, Task::sequence(vec![1, 0]))
        .expect("start");
    assert_eq!(first.observation[2], vec![0.0, 1.0, 0.0]);
    teleport(&mut env, ROW[1]);
    let ts = env.step(&[0.0, 0.0]).expect("step");
    assert_eq!(ts.observation[2], vec![1.0, 0.0, 0.0]);
}

#[test]
fn shaping_pays_the_distance_progress() {
    let config = TaskConfig {
        shaping: 2.0,
        ..TaskConfig::point_mass()
    };
    let mut env = GoToTarget::go_to_any(config).expect("env");
    env.reset_to(ROW.to_vec(), [0.0, 0.6], 0.0, Task::go_to(1))
        .expect("start");
    let dist = |xy: [f64; 2]| ((xy[0] - ROW[1][0]).powi(2) + (xy[1] - ROW[1][1]).powi(2)).sqrt();
    let before = dist(env.torso_xy());
    let ts = env.step(&[0.0, -1.0]).expect("step");
    let after = dist(env.torso_xy());
    assert!(after < before - 1e-3, "moved towards the target");
    let expected = 2.0 * (before - after) as f32;
    assert!(
        (ts.reward - expected).abs() < 1e-5,
        "{} vs {expected}",
        ts.reward
    );
    // Away from it, from rest: negative.
    env.reset_to(ROW.to_vec(), [0.0, 0.6], 0.0, Task::go_to(1))
        .expect("start");
    assert!(env.step(&[0.0, 1.0]).expect("step").reward < 0.0);
}

#[test]
fn sparse_rewards_are_zero_on_the_way() {
    let mut env = crate::point_mass();
    env.reset_to(ROW.to_vec(), [0.0, 0.6], 0.0, Task::go_to(1))
        .expect("start");
    for _ in 0..3 {
        assert_eq!(env.step(&[0.0, -1.0]).expect("step").reward, 0.0);
    }
}

#[test]
fn the_episode_is_truncated_at_max_steps() {
    let config = TaskConfig {
        max_steps: 5,
        ..TaskConfig::point_mass()
    };
    let mut env = GoToTarget::go_to_any(config).expect("env");
    env.reset_to(ROW.to_vec(), [0.0, 0.6], 0.0, Task::go_to(1))
        .expect("start");
    for _ in 0..4 {
        assert_eq!(
            env.step(&[0.0, 0.0]).expect("step").step_type,
            StepType::Mid
        );
    }
    let ts = env.step(&[0.0, 0.0]).expect("step");
    assert_eq!((ts.end, ts.discount), (Some(EpisodeEnd::Truncated), 1.0));
}

fn quadruped_at_origin() -> GoToTarget {
    let mut env = crate::quadruped();
    env.reset_to(
        vec![[2.25, 2.25], [-2.25, 2.25], [2.25, -2.25]],
        [0.0, 0.0],
        0.0,
        Task::go_to(0),
    )
    .expect("start");
    env
}

/// The quaternion of a rotation by `deg` degrees about the x-axis.
fn about_x(deg: f64) -> [f64; 4] {
    let (s, c) = (0.5 * deg.to_radians()).sin_cos();
    [c, s, 0.0, 0.0]
}

#[test]
fn a_flipped_torso_terminates() {
    let mut env = quadruped_at_origin();
    let p = env.physics_mut();
    p.set_root_quat([0.0, 0.0, 0.6], about_x(180.0));
    p.forward();
    assert!(env.physics().upright() < -0.99);
    let ts = env.step(&[0.0; 8]).expect("step");
    assert_eq!(ts.step_type, StepType::Last);
    // Issue 18: a flip ended the episode as `Terminated`, which the trainer and the
    // evaluations count as a success; it is a failure.
    assert_eq!((ts.end, ts.discount), (Some(EpisodeEnd::Failed), 0.0));
    assert!(!ts.end.unwrap().is_success() && ts.end.unwrap().is_terminal());
    assert_eq!(ts.reward, 0.0);
}

#[test]
fn a_tilted_torso_lives_on() {
    let mut env = quadruped_at_origin();
    let p = env.physics_mut();
    p.set_root_quat([0.0, 0.0, 0.6], about_x(45.0));
    p.forward();
    assert!((env.physics().upright() - 45f64.to_radians().cos()).abs() < 1e-9);
    let ts = env.step(&[0.0; 8]).expect("step");
    assert_eq!(ts.step_type, StepType::Mid);
}

#[test]
fn the_quadruped_entering_a_target_is_paid() {
    let mut env = quadruped_at_origin();
    let p = env.physics_mut();
    p.set_root([2.25, 2.25, 0.6], 1.0);
    p.forward();
    let ts = env.step(&[0.0; 8]).expect("step");
    assert_eq!((ts.reward, ts.step_type), (10.0, StepType::Mid));
    let ts = env.step(&[0.0; 8]).expect("step");
    assert_eq!((ts.reward, ts.end), (50.0, Some(EpisodeEnd::Terminated)));
}
