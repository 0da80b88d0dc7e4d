//! The two bodies: a point mass and a planar two-link arm. A body turns actions into motion
//! of an effector and reports its proprioception.

use serde::{Deserialize, Serialize};

/// Simulation step, seconds.
pub const DT: f32 = 0.05;

/// A controllable body: its state, dynamics and proprioceptive observation.
pub trait Body: Clone {
    /// Length of the proprioception group.
    fn proprio_dim(&self) -> usize;
    /// Number of action dimensions (all in `[-1, 1]`).
    fn action_dim(&self) -> usize;
    /// Resets to a start state drawn from `u`, a slice of uniforms in `[0, 1)`
    /// (`start_randomness()` of them).
    fn reset(&mut self, u: &[f32]);
    /// How many uniforms `reset` consumes.
    fn start_randomness(&self) -> usize;
    /// One step of `DT` with an action already clipped to `[-1, 1]`.
    fn step(&mut self, action: &[f32]);
    /// The effector position in the arena.
    fn effector(&self) -> [f32; 2];
    /// The proprioceptive observation.
    fn proprio(&self) -> Vec<f32>;
    /// The radius of the disc in which targets can be placed (reachable region).
    fn target_region(&self) -> (f32, f32);
}

/// A point mass in the arena `[-1, 1]^2`, pushed by a force.
///
/// # Dynamics
/// `v <- v (1 - damping dt) + accel a dt`, `p <- p + v dt`; the walls at `|p| = 1` stop the
/// velocity component into them. Proprioception: `[p_x, p_y, v_x, v_y]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointMass {
    /// Position.
    pub position: [f32; 2],
    /// Velocity.
    pub velocity: [f32; 2],
    /// Acceleration per unit action (default 4).
    pub accel: f32,
    /// Velocity damping rate (default 1).
    pub damping: f32,
}

impl Default for PointMass {
    fn default() -> Self {
        Self {
            position: [0.0; 2],
            velocity: [0.0; 2],
            accel: 4.0,
            damping: 1.0,
        }
    }
}

impl Body for PointMass {
    fn proprio_dim(&self) -> usize {
        4
    }
    fn action_dim(&self) -> usize {
        2
    }
    fn start_randomness(&self) -> usize {
        2
    }
    fn reset(&mut self, u: &[f32]) {
        self.position = [0.4 * u[0] - 0.2, 0.4 * u[1] - 0.2];
        self.velocity = [0.0; 2];
    }
    fn step(&mut self, action: &[f32]) {
        for (i, &a) in action.iter().enumerate().take(2) {
            self.velocity[i] = self.velocity[i] * (1.0 - self.damping * DT) + self.accel * a * DT;
            self.position[i] += self.velocity[i] * DT;
            if self.position[i].abs() > 1.0 {
                self.position[i] = self.position[i].clamp(-1.0, 1.0);
                self.velocity[i] = 0.0;
            }
        }
    }
    fn effector(&self) -> [f32; 2] {
        self.position
    }
    fn proprio(&self) -> Vec<f32> {
        vec![
            self.position[0],
            self.position[1],
            self.velocity[0],
            self.velocity[1],
        ]
    }
    fn target_region(&self) -> (f32, f32) {
        (0.3, 0.8)
    }
}

/// A planar two-link arm anchored at the origin (a reacher), driven by joint torques.
///
/// # Dynamics
/// `qd <- qd (1 - damping dt) + gain a dt`, `q <- q + qd dt` per joint; the fingertip is
/// `l1 (cos q1, sin q1) + l2 (cos(q1 + q2), sin(q1 + q2))`. Proprioception:
/// `[cos q1, sin q1, cos q2, sin q2, qd1, qd2, tip_x, tip_y]`, so movement patterns a prior
/// learns are joint-space skills.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TwoLinkArm {
    /// Joint angles.
    pub angles: [f32; 2],
    /// Joint velocities.
    pub velocities: [f32; 2],
    /// Link lengths (default 0.5, 0.4).
    pub lengths: [f32; 2],
    /// Angular acceleration per unit torque (default 10).
    pub gain: f32,
    /// Joint damping rate (default 2).
    pub damping: f32,
}

impl Default for TwoLinkArm {
    fn default() -> Self {
        Self {
            angles: [0.0; 2],
            velocities: [0.0; 2],
            lengths: [0.5, 0.4],
            gain: 10.0,
            damping: 2.0,
        }
    }
}

impl Body for TwoLinkArm {
    fn proprio_dim(&self) -> usize {
        8
    }
    fn action_dim(&self) -> usize {
        2
    }
    fn start_randomness(&self) -> usize {
        2
    }
    fn reset(&mut self, u: &[f32]) {
        let two_pi = std::f32::consts::TAU;
        self.angles = [two_pi * u[0], 0.5 + 2.0 * u[1]];
        self.velocities = [0.0; 2];
    }
    fn step(&mut self, action: &[f32]) {
        for (i, &a) in action.iter().enumerate().take(2) {
            self.velocities[i] =
                self.velocities[i] * (1.0 - self.damping * DT) + self.gain * a * DT;
            self.angles[i] =
                (self.angles[i] + self.velocities[i] * DT).rem_euclid(std::f32::consts::TAU);
        }
    }
    fn effector(&self) -> [f32; 2] {
        let [l1, l2] = self.lengths;
        let [q1, q2] = self.angles;
        [
            l1 * q1.cos() + l2 * (q1 + q2).cos(),
            l1 * q1.sin() + l2 * (q1 + q2).sin(),
        ]
    }
    fn proprio(&self) -> Vec<f32> {
        let [q1, q2] = self.angles;
        let tip = self.effector();
        vec![
            q1.cos(),
            q1.sin(),
            q2.cos(),
            q2.sin(),
            self.velocities[0],
            self.velocities[1],
            tip[0],
            tip[1],
        ]
    }
    fn target_region(&self) -> (f32, f32) {
        let [l1, l2] = self.lengths;
        ((l1 - l2).abs() + 0.1, l1 + l2 - 0.05)
    }
}
