//! The family: training and held-out tasks with one spec; configuration errors; pictures.
use bprl_envs::{Env, EnvError, Task, TaskFamily, TaskSplit};
use bprl_mujoco::{GoToTargetFamily, MujocoError, TaskConfig, TopDown};

#[test]
fn training_is_go_to_and_held_out_is_ordered_pairs() {
    let f = GoToTargetFamily::quadruped();
    assert_eq!(
        f.train,
        vec![Task::go_to(0), Task::go_to(1), Task::go_to(2)]
    );
    assert_eq!(f.held_out.len(), 6);
    assert!(
        f.held_out
            .iter()
            .all(|t| t.order.len() == 2 && t.order[0] != t.order[1])
    );
}

#[test]
fn both_splits_share_the_specs_even_in_a_larger_arena() {
    let mut f = GoToTargetFamily::point_mass();
    f.held_out_grid = Some(5);
    let mut train = f.make_env(TaskSplit::Train).expect("train");
    let mut held = f.make_env(TaskSplit::HeldOut).expect("held out");
    assert_eq!(train.observation_spec(), held.observation_spec());
    assert_eq!(train.action_spec(), held.action_spec());
    assert_eq!(held.config().grid, 5);
    assert!(held.config().half_size() > train.config().half_size());
    train.reset(1);
    held.reset(1);
    assert_eq!(train.task().order.len(), 1);
    assert_eq!(held.task().order.len(), 2);
}

#[test]
fn a_family_without_held_out_tasks_says_so() {
    let mut f = GoToTargetFamily::point_mass();
    f.held_out.clear();
    assert!(matches!(
        f.make_env(TaskSplit::HeldOut),
        Err(EnvError::InvalidTask { .. })
    ));
}

#[test]
fn bad_settings_are_typed_errors_naming_the_field() {
    let field = |c: TaskConfig| match c.validate() {
        Err(MujocoError::Config { field, .. }) => field,
        other => panic!("expected a config error, got {other:?}"),
    };
    let pm = TaskConfig::point_mass;
    assert_eq!(
        field(TaskConfig {
            target_radius: 0.3,
            ..pm()
        }),
        "target_radius"
    );
    assert_eq!(
        field(TaskConfig {
            control_dt: 0.012,
            ..pm()
        }),
        "control_dt"
    );
    assert_eq!(
        field(TaskConfig {
            num_targets: 9,
            ..pm()
        }),
        "num_targets"
    );
    assert_eq!(
        field(TaskConfig {
            num_targets: 0,
            ..pm()
        }),
        "num_targets"
    );
    assert_eq!(
        field(TaskConfig {
            shaping: f32::NAN,
            ..pm()
        }),
        "shaping"
    );
    assert_eq!(
        field(TaskConfig {
            cell_size: -1.0,
            ..pm()
        }),
        "cell_size"
    );
    assert_eq!(
        field(TaskConfig {
            max_steps: 0,
            ..pm()
        }),
        "max_steps"
    );
    assert!(TaskConfig::quadruped().validate().is_ok());
    assert!(pm().validate().is_ok());
    assert_eq!(pm().substeps(), 10);
}

#[test]
fn a_family_round_trips_through_toml() {
    // Checkpoints and the command line's config.toml store the family as a description.
    let mut f = GoToTargetFamily::quadruped();
    f.config.shaping = 1.5;
    f.held_out_grid = Some(6);
    let text = toml::to_string(&f).expect("encode");
    let back: GoToTargetFamily = toml::from_str(&text).expect("decode");
    assert_eq!(back, f);
    // Missing settings take the quadruped's defaults.
    let partial: TaskConfig = toml::from_str("shaping = 2.0").expect("decode");
    assert_eq!(
        partial,
        TaskConfig {
            shaping: 2.0,
            ..TaskConfig::quadruped()
        }
    );
}

#[test]
fn rollouts_render_as_a_png() {
    let mut env = GoToTargetFamily::point_mass()
        .make_env(TaskSplit::Train)
        .expect("env");
    env.reset(4);
    let mut path = vec![env.torso_xy()];
    for _ in 0..30 {
        env.step(&[0.7, 0.4]).expect("step");
        path.push(env.torso_xy());
    }
    let picture = TopDown {
        half_size: env.config().half_size(),
        targets: env.targets().to_vec(),
        radius: env.config().target_radius,
        goal: Some(env.task().order[0]),
        paths: vec![path],
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("top.png");
    picture.render(&file, 160).expect("render");
    let bytes = std::fs::read(&file).expect("read");
    assert_eq!(&bytes[1..4], b"PNG");
    let bad = TopDown {
        half_size: 0.0,
        ..picture
    };
    assert!(matches!(
        bad.render(&file, 160),
        Err(EnvError::Config { .. })
    ));
}
