//! The models load with the expected parts and behave physically.
use bprl_envs::{Env, Task};
use bprl_mujoco::{PHYSICS_DT, Physics, SENSORS, WalkerKind, model_xml};

#[test]
fn the_sensors_are_the_three_torso_sensors() {
    assert_eq!(SENSORS, ["velocimeter", "gyro", "accelerometer"]);
}

#[test]
fn quadruped_has_9_joints_8_actuators_3_sensors() {
    let p = Physics::new(WalkerKind::Quadruped, 3.0).expect("quadruped");
    let m = p.model().ffi();
    // A free root plus a hip and an ankle per leg; one motor per hinge.
    assert_eq!((m.njnt, m.nq, m.nv), (9, 15, 14));
    assert_eq!(m.nu, 8);
    assert_eq!((m.nsensor, m.nsensordata), (3, 9));
    assert_eq!(p.num_joints(), 8);
    assert_eq!(p.num_effectors(), 4);
    assert_eq!(m.opt.timestep, PHYSICS_DT);
    for range in p.model().actuator_ctrlrange() {
        assert_eq!(*range, [-1.0, 1.0]);
    }
    assert!(p.model().actuator_ctrllimited().iter().all(|&l| l));
}

#[test]
fn point_mass_has_2_slides_2_actuators_3_sensors() {
    let p = Physics::new(WalkerKind::PointMass, 1.0).expect("point mass");
    let m = p.model().ffi();
    assert_eq!((m.njnt, m.nq, m.nv, m.nu), (2, 2, 2, 2));
    assert_eq!((m.nsensor, m.nsensordata), (3, 9));
    assert_eq!(p.proprio_dim(), 20);
}

#[test]
fn the_mjcf_names_every_part_the_environment_reads() {
    for walker in [WalkerKind::Quadruped, WalkerKind::PointMass] {
        let xml = model_xml(walker, 2.0);
        for name in ["\"torso\"", "\"torso_site\"", "wall_px", "wall_ny", "floor"] {
            assert!(xml.contains(name), "{walker:?} lacks {name}");
        }
        for site in walker.end_effectors() {
            assert!(xml.contains(&format!("name=\"{site}\"")));
        }
    }
}

#[test]
fn the_quadruped_stands_with_zero_torques() {
    let mut env = crate::quadruped();
    env.reset_to(
        vec![[1.5, 1.5], [-1.5, 1.5], [1.5, -1.5]],
        [0.0, 0.0],
        0.3,
        Task::go_to(0),
    )
    .expect("start");
    for _ in 0..40 {
        let ts = env.step(&[0.0; 8]).expect("step");
        assert!(!ts.is_last());
    }
    let p = env.physics();
    let z = p.torso_position()[2];
    assert!(p.upright() > 0.95, "R_zz {}", p.upright());
    assert!((0.2..0.7).contains(&z), "torso height {z}");
}

#[test]
fn at_rest_the_accelerometer_reads_one_g() {
    let mut env = crate::point_mass();
    env.reset(3);
    let mut last = None;
    for _ in 0..20 {
        last = Some(env.step(&[0.0, 0.0]).expect("step"));
    }
    let proprio = &last.expect("steps").observation[0];
    // proprio: 2 positions, 2 velocities, height, z-axis (3), velocimeter, gyro, accelerometer.
    let accel = &proprio[14..17];
    assert!(accel[0].abs() < 1e-3 && accel[1].abs() < 1e-3, "{accel:?}");
    // In units of g: 1 at rest.
    assert!((accel[2] - 1.0).abs() < 1e-3, "{accel:?}");
}

#[test]
fn a_pushed_point_mass_moves_that_way_and_stops_at_the_wall() {
    let mut env = crate::point_mass();
    env.reset_to(
        vec![[-0.6, -0.6], [0.0, -0.6], [0.6, -0.6]],
        [0.0, 0.0],
        0.0,
        Task::go_to(0),
    )
    .expect("start");
    let x0 = env.torso_xy()[0];
    env.step(&[1.0, 0.0]).expect("step");
    let x1 = env.torso_xy()[0];
    assert!(x1 > x0 + 1e-3, "{x0} -> {x1}");
    for _ in 0..100 {
        env.step(&[1.0, 0.0]).expect("step");
    }
    let (x, h) = (env.torso_xy()[0], env.config().half_size());
    // The wall's inner face is at +h; the sphere's radius is 0.1.
    assert!(x > h - 0.15 && x <= h - 0.09, "x {x}, wall at {h}");
}
