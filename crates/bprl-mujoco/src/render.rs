//! Top-down pictures of rollouts: the arena, the targets and the torso's paths, as a PNG
//! (drawn by [`bprl_envs::render_png`], the 2-D suite's renderer).

use bprl_envs::{EnvError, Scene, render_png};
use std::path::Path;

/// Torso paths over a walled arena seen from above.
#[derive(Debug, Clone, Default)]
pub struct TopDown {
    /// Half-width of the arena, metres (the picture spans `[-half_size, half_size]^2`).
    pub half_size: f64,
    /// Target centres, metres.
    pub targets: Vec<[f64; 2]>,
    /// Target radius, metres.
    pub radius: f64,
    /// The target to highlight (the task's), if any.
    pub goal: Option<usize>,
    /// Torso paths, one per rollout, metres.
    pub paths: Vec<Vec<[f64; 2]>>,
}

impl TopDown {
    /// Writes the picture, `size x size` pixels, atomically.
    ///
    /// # Errors
    /// [`EnvError::Config`] for a non-positive or non-finite `half_size`; [`EnvError::Render`]
    /// naming the file.
    pub fn render(&self, path: &Path, size: u32) -> Result<(), EnvError> {
        let h = self.half_size;
        if !(h.is_finite() && h > 0.0) {
            return Err(EnvError::Config {
                field: "half_size",
                value: h,
                requirement: "must be finite and > 0",
            });
        }
        let unit = |p: &[f64; 2]| [(p[0] / h) as f32, (p[1] / h) as f32];
        let scene = Scene {
            targets: self.targets.iter().map(unit).collect(),
            goal: self.goal,
            trajectories: self
                .paths
                .iter()
                .map(|path| path.iter().map(unit).collect())
                .collect(),
            radius: (self.radius / h) as f32,
        };
        render_png(&scene, path, size)
    }
}
