//! The bodies and the arena as MJCF, written here (no third-party model files).
//!
//! A model is one `<mujoco>` document: the physics options (step [`PHYSICS_DT`]), a walled
//! square arena and one walker. The walker's names are fixed so the environment can find its
//! parts: the body `torso`, the site `torso_site` carrying the `velocimeter`, `gyro` and
//! `accelerometer` sensors, and one site per end effector (`foot_0`, ... or `effector`).

use serde::{Deserialize, Serialize};
use std::fmt::Write;

/// The physics step, seconds (box_arrangement's `physics_timestep`).
pub const PHYSICS_DT: f64 = 0.005;

/// Which walker a model carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WalkerKind {
    /// A four-legged walker in the proportions of the Ant (a torso sphere of radius 0.25 m;
    /// each leg a 0.28 m hip link, a 0.28 m thigh and a 0.57 m shin), a free root joint,
    /// a hip hinge (about the vertical, +-30 deg) and an ankle hinge (30 to 70 deg downwards)
    /// per leg: 9 joints, 8 torque actuators with control range `[-1, 1]`.
    Quadruped,
    /// A sphere of radius 0.1 m sliding on the floor (two slide joints, two actuators): the
    /// cheap body for fast tests. It cannot flip.
    PointMass,
}

impl WalkerKind {
    /// The number of actuators (the action dimension).
    pub fn action_dim(self) -> usize {
        match self {
            WalkerKind::Quadruped => 8,
            WalkerKind::PointMass => 2,
        }
    }

    /// The names of the end-effector sites.
    pub fn end_effectors(self) -> &'static [&'static str] {
        match self {
            WalkerKind::Quadruped => &["foot_0", "foot_1", "foot_2", "foot_3"],
            WalkerKind::PointMass => &["effector"],
        }
    }

    /// The torso height the walker is spawned at, metres.
    pub fn spawn_height(self) -> f64 {
        match self {
            WalkerKind::Quadruped => 0.6,
            WalkerKind::PointMass => 0.1,
        }
    }

    fn body_xml(self) -> String {
        match self {
            WalkerKind::Quadruped => quadruped_xml(),
            WalkerKind::PointMass => POINT_MASS.to_string(),
        }
    }
}

/// Ant proportions: hip link, thigh and shin lengths along the leg's direction (the Ant's
/// `fromto` segments 0.2 x 0.2, 0.2 x 0.2 and 0.4 x 0.4 in the plane).
const HIP_LINK: f64 = 0.2 * std::f64::consts::SQRT_2;
const THIGH: f64 = 0.2 * std::f64::consts::SQRT_2;
const SHIN: f64 = 0.4 * std::f64::consts::SQRT_2;

fn quadruped_xml() -> String {
    let mut legs = String::new();
    for i in 0..4 {
        let angle = std::f64::consts::FRAC_PI_4 * (2 * i + 1) as f64;
        let (s, c) = angle.sin_cos();
        let at = |l: f64| format!("{:.6} {:.6} 0", l * c, l * s);
        // Positive ankle angles bend the shin downwards: the axis is z x (leg direction).
        let ankle_axis = format!("{:.6} {:.6} 0", -s, c);
        let _ = write!(
            legs,
            r#"
      <geom name="hip_link_{i}" type="capsule" fromto="0 0 0 {hip}" size="0.08"/>
      <body name="thigh_{i}" pos="{hip}">
        <joint name="hip_{i}" type="hinge" axis="0 0 1" range="-30 30"/>
        <geom name="thigh_{i}" type="capsule" fromto="0 0 0 {thigh}" size="0.08"/>
        <body name="shin_{i}" pos="{thigh}">
          <joint name="ankle_{i}" type="hinge" axis="{ankle_axis}" range="30 70"/>
          <geom name="shin_{i}" type="capsule" fromto="0 0 0 {shin}" size="0.08"/>
          <site name="foot_{i}" pos="{shin}" size="0.09"/>
        </body>
      </body>"#,
            hip = at(HIP_LINK),
            thigh = at(THIGH),
            shin = at(SHIN),
        );
    }
    let mut motors = String::new();
    for i in 0..4 {
        let _ = write!(
            motors,
            r#"
    <motor name="hip_{i}" joint="hip_{i}" gear="60" ctrlrange="-1 1" ctrllimited="true"/>
    <motor name="ankle_{i}" joint="ankle_{i}" gear="60" ctrlrange="-1 1" ctrllimited="true"/>"#
        );
    }
    format!(
        r#"
  <default>
    <joint limited="true" damping="1" armature="1"/>
    <geom density="5" friction="1 0.5 0.5" condim="3" rgba="0.8 0.6 0.4 1"/>
  </default>
  <worldbody>
    <body name="torso" pos="0 0 {z}">
      <freejoint name="root"/>
      <geom name="torso" type="sphere" size="0.25"/>
      <site name="torso_site" size="0.05"/>{legs}
    </body>
  </worldbody>
  <actuator>{motors}
  </actuator>
  <sensor>
    <velocimeter name="velocimeter" site="torso_site"/>
    <gyro name="gyro" site="torso_site"/>
    <accelerometer name="accelerometer" site="torso_site"/>
  </sensor>"#,
        z = WalkerKind::Quadruped.spawn_height(),
    )
}

/// The point mass: collides with the walls (bit 2) but not the floor (bit 1), so it slides
/// without friction against the floor, slowed by joint damping.
const POINT_MASS: &str = r#"
  <worldbody>
    <body name="torso" pos="0 0 0.1">
      <joint name="slide_x" type="slide" axis="1 0 0" damping="5"/>
      <joint name="slide_y" type="slide" axis="0 1 0" damping="5"/>
      <geom name="torso" type="sphere" size="0.1" mass="1" contype="2" conaffinity="2" rgba="0.2 0.4 0.8 1"/>
      <site name="torso_site" size="0.02"/>
      <site name="effector" size="0.02"/>
    </body>
  </worldbody>
  <actuator>
    <motor name="x" joint="slide_x" gear="10" ctrlrange="-1 1" ctrllimited="true"/>
    <motor name="y" joint="slide_y" gear="10" ctrlrange="-1 1" ctrllimited="true"/>
  </actuator>
  <sensor>
    <velocimeter name="velocimeter" site="torso_site"/>
    <gyro name="gyro" site="torso_site"/>
    <accelerometer name="accelerometer" site="torso_site"/>
  </sensor>"#;

/// The MJCF of `walker` in a square arena of half-width `half_size` metres, walled on all
/// four sides (walls 0.1 m thick and 0.5 m high, colliding with both walkers).
pub fn model_xml(walker: WalkerKind, half_size: f64) -> String {
    let h = half_size;
    let t = 0.05;
    let wall = |name: &str, x: f64, y: f64, sx: f64, sy: f64| {
        format!(
            r#"
    <geom name="{name}" type="box" pos="{x:.6} {y:.6} 0.25" size="{sx:.6} {sy:.6} 0.25" contype="3" conaffinity="3" rgba="0.5 0.5 0.5 1"/>"#
        )
    };
    let walls = [
        wall("wall_px", h + t, 0.0, t, h + 2.0 * t),
        wall("wall_nx", -h - t, 0.0, t, h + 2.0 * t),
        wall("wall_py", 0.0, h + t, h, t),
        wall("wall_ny", 0.0, -h - t, h, t),
    ]
    .concat();
    format!(
        r#"<mujoco model="bprl_{walker:?}">
  <compiler angle="degree"/>
  <option timestep="{PHYSICS_DT}" integrator="implicitfast"/>
  <worldbody>
    <geom name="floor" type="plane" size="{h:.6} {h:.6} 0.1" contype="1" conaffinity="1" rgba="0.9 0.9 0.9 1"/>{walls}
  </worldbody>{body}
</mujoco>
"#,
        body = walker.body_xml(),
    )
}
