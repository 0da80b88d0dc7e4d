//! A loaded model with its data and the addresses of the walker's parts.

use crate::error::MujocoError;
use crate::mjcf::{WalkerKind, model_xml};
use mujoco_rs::prelude::*;
use std::sync::Arc;

/// The sensors every walker carries at `torso_site`, in `sensordata` order.
pub const SENSORS: [&str; 3] = ["velocimeter", "gyro", "accelerometer"];

/// Standard gravity, m/s^2: the accelerometer is observed in units of it.
///
/// In metres per second squared the accelerometer's three values have an RMS of about 30
/// under random actions (contact spikes past 200), 10 to 100 times every other proprioceptive
/// value, and the networks' first LayerNorm would normalize the other features away; in g
/// they are comparable to the joint velocities (RMS about 2.5), and 1 at rest.
pub const STANDARD_GRAVITY: f64 = 9.80665;

/// A compiled walker-in-arena model, its simulation state and the addresses the environment
/// reads: the torso body, the end-effector sites, the `qpos`/`qvel` addresses of the joints
/// below the root and the sensor data.
///
/// Holds MuJoCo's own types (`mujoco_rs::MjData` over an `Arc<MjModel>`), so it is `Send`.
#[derive(Debug)]
pub struct Physics {
    walker: WalkerKind,
    data: MjData<Arc<MjModel>>,
    torso: usize,
    effectors: Vec<usize>,
    /// `qpos` addresses of the non-root joints.
    joint_qpos: Vec<usize>,
    /// `qvel` addresses of the non-root joints.
    joint_qvel: Vec<usize>,
    /// `qpos` address of the free root joint (the quadruped's), if any.
    root_qpos: Option<usize>,
}

impl Physics {
    /// Compiles `walker` in a walled arena of half-width `half_size` metres.
    ///
    /// # Errors
    /// [`MujocoError::ModelLoad`] if MuJoCo rejects the MJCF, [`MujocoError::MissingObject`]
    /// if a part the environment reads is absent, [`MujocoError::DataAlloc`].
    pub fn new(walker: WalkerKind, half_size: f64) -> Result<Self, MujocoError> {
        let xml = model_xml(walker, half_size);
        let model = MjModel::from_xml_string(&xml).map_err(|e| MujocoError::ModelLoad {
            reason: e.to_string(),
        })?;
        let model = Arc::new(model);
        let id = |kind: &'static str, obj: MjtObjBase, name: &str| {
            model
                .name_to_id(obj, name)
                .ok_or_else(|| MujocoError::MissingObject {
                    kind,
                    name: name.to_string(),
                })
        };
        let torso = id("body", MjtObjBase::mjOBJ_BODY, "torso")?;
        let effectors = walker
            .end_effectors()
            .iter()
            .map(|n| id("site", MjtObjBase::mjOBJ_SITE, n))
            .collect::<Result<Vec<_>, _>>()?;
        for s in SENSORS {
            id("sensor", MjtObjBase::mjOBJ_SENSOR, s)?;
        }
        let (mut joint_qpos, mut joint_qvel, mut root_qpos) = (Vec::new(), Vec::new(), None);
        for (j, ty) in model.jnt_type().iter().enumerate() {
            let (q, v) = (
                model.jnt_qposadr()[j] as usize,
                model.jnt_dofadr()[j] as usize,
            );
            match ty {
                MjtJoint::mjJNT_FREE => root_qpos = Some(q),
                MjtJoint::mjJNT_BALL => {
                    return Err(MujocoError::InvalidTask {
                        reason: "ball joints are not supported in proprioception".into(),
                    });
                }
                _ => {
                    joint_qpos.push(q);
                    joint_qvel.push(v);
                }
            }
        }
        let data = MjData::try_new(Arc::clone(&model)).map_err(|e| MujocoError::DataAlloc {
            reason: e.to_string(),
        })?;
        Ok(Self {
            walker,
            data,
            torso,
            effectors,
            joint_qpos,
            joint_qvel,
            root_qpos,
        })
    }

    /// The walker.
    pub fn walker(&self) -> WalkerKind {
        self.walker
    }

    /// The compiled model.
    pub fn model(&self) -> &MjModel {
        self.data.model()
    }

    /// MuJoCo's simulation data (read-only).
    pub fn data(&self) -> &MjData<Arc<MjModel>> {
        &self.data
    }

    /// MuJoCo's simulation data, for direct stepping (`data_mut().step()` is one raw
    /// `mj_step`) and hand-made states. After writing `qpos` call `forward()` so the derived
    /// quantities (positions, sensors) follow.
    pub fn data_mut(&mut self) -> &mut MjData<Arc<MjModel>> {
        &mut self.data
    }

    /// Number of non-root joints (each contributes one position and one velocity).
    pub fn num_joints(&self) -> usize {
        self.joint_qpos.len()
    }

    /// Number of end effectors.
    pub fn num_effectors(&self) -> usize {
        self.effectors.len()
    }

    /// Resets to the model's reference state (`mj_resetData`).
    pub fn reset(&mut self) {
        self.data.reset();
    }

    /// Writes `ctrl` (one value per actuator; the caller has checked the length) and runs
    /// `substeps` physics steps.
    pub fn step(&mut self, ctrl: &[f32], substeps: usize) {
        for (c, a) in self.data.ctrl_mut().iter_mut().zip(ctrl) {
            *c = f64::from(*a);
        }
        for _ in 0..substeps {
            self.data.step();
        }
    }

    /// Recomputes positions, velocities and sensors from `qpos`/`qvel` (`mj_forward`).
    pub fn forward(&mut self) {
        self.data.forward();
    }

    /// Places the torso at `pos` (metres) with heading `yaw` (radians about the vertical).
    /// The point mass has no height or heading joint: only `pos[0..2]` apply. Joint angles
    /// below the root are left as they are. Call [`Physics::forward`] after.
    pub fn set_root(&mut self, pos: [f64; 3], yaw: f64) {
        let (s, c) = (0.5 * yaw).sin_cos();
        self.set_root_quat(pos, [c, 0.0, 0.0, s]);
    }

    /// Places the torso at `pos` with orientation `quat` (`w, x, y, z`, normalized here; a
    /// zero quaternion means no rotation). The point mass takes only `pos[0..2]`.
    pub fn set_root_quat(&mut self, pos: [f64; 3], quat: [f64; 4]) {
        let n = quat.iter().map(|q| q * q).sum::<f64>().sqrt();
        let quat = if n > 0.0 && n.is_finite() {
            quat.map(|q| q / n)
        } else {
            [1.0, 0.0, 0.0, 0.0]
        };
        let root = self.root_qpos;
        let qpos = self.data.qpos_mut();
        match root {
            Some(a) => {
                qpos[a..a + 3].copy_from_slice(&pos);
                qpos[a + 3..a + 7].copy_from_slice(&quat);
            }
            None => {
                // Slide joints x, y: the body's frame starts at the origin of the arena.
                qpos[0] = pos[0];
                qpos[1] = pos[1];
            }
        }
        let qvel = self.data.qvel_mut();
        qvel.iter_mut().for_each(|v| *v = 0.0);
    }

    /// Sets the angle of non-root joint `j` (radians or metres).
    pub fn set_joint(&mut self, j: usize, value: f64) {
        if let Some(&a) = self.joint_qpos.get(j) {
            self.data.qpos_mut()[a] = value;
        }
    }

    /// The torso's position, metres.
    pub fn torso_position(&self) -> [f64; 3] {
        self.data.xpos()[self.torso]
    }

    /// The torso's rotation matrix (row-major, torso frame to world frame).
    pub fn torso_rotation(&self) -> [f64; 9] {
        self.data.xmat()[self.torso]
    }

    /// `R_zz`, the world-vertical component of the torso's z-axis: 1 upright, < 0 flipped.
    pub fn upright(&self) -> f64 {
        self.torso_rotation()[8]
    }

    /// `v` (world frame) in the torso's frame: `R^T v`.
    pub fn to_torso_frame(&self, v: [f64; 3]) -> [f64; 3] {
        let r = self.torso_rotation();
        [
            r[0] * v[0] + r[3] * v[1] + r[6] * v[2],
            r[1] * v[0] + r[4] * v[1] + r[7] * v[2],
            r[2] * v[0] + r[5] * v[1] + r[8] * v[2],
        ]
    }

    /// The end effectors' world positions.
    pub fn effector_positions(&self) -> Vec<[f64; 3]> {
        let sites = self.data.site_xpos();
        self.effectors.iter().map(|&s| sites[s]).collect()
    }

    /// Width of the proprioception vector: joint positions and velocities, torso height,
    /// the world z-axis in the torso frame (3), velocimeter (m/s), gyro (rad/s),
    /// accelerometer (in g, [`STANDARD_GRAVITY`]) (3 each), end-effector positions in the
    /// torso frame (3 each).
    pub fn proprio_dim(&self) -> usize {
        2 * self.num_joints() + 1 + 3 + 9 + 3 * self.num_effectors()
    }

    /// Appends the proprioception (see [`Physics::proprio_dim`]) to `out`.
    pub fn proprio_into(&self, out: &mut Vec<f32>) {
        let (qpos, qvel) = (self.data.qpos(), self.data.qvel());
        out.extend(self.joint_qpos.iter().map(|&a| qpos[a] as f32));
        out.extend(self.joint_qvel.iter().map(|&a| qvel[a] as f32));
        let torso = self.torso_position();
        out.push(torso[2] as f32);
        out.extend(self.to_torso_frame([0.0, 0.0, 1.0]).map(|v| v as f32));
        let sensors = self.data.sensordata();
        out.extend(sensors[..6].iter().map(|&v| v as f32));
        out.extend(sensors[6..9].iter().map(|&v| (v / STANDARD_GRAVITY) as f32));
        for p in self.effector_positions() {
            let rel = [p[0] - torso[0], p[1] - torso[1], p[2] - torso[2]];
            out.extend(self.to_torso_frame(rel).map(|v| v as f32));
        }
    }
}
