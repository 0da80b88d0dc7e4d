//! Trajectory pictures: the arena, the targets and paths of the effector, as a PNG.

use crate::env::EnvError;
use plotters::prelude::*;
use std::path::Path;

/// What to draw.
#[derive(Debug, Clone, Default)]
pub struct Scene {
    /// Target positions.
    pub targets: Vec<[f32; 2]>,
    /// Index of the goal target to highlight, if any.
    pub goal: Option<usize>,
    /// Effector paths, one per rollout.
    pub trajectories: Vec<Vec<[f32; 2]>>,
    /// Target radius.
    pub radius: f32,
}

/// Renders a scene of the arena `[-1, 1]^2` to a `size x size` PNG, written atomically
/// (temporary file in the same folder, then rename).
///
/// A learned prior's rollouts from one start state should fan out towards the targets.
///
/// # Errors
/// [`EnvError::Render`] naming the file.
pub fn render_png(scene: &Scene, path: &Path, size: u32) -> Result<(), EnvError> {
    let err = |reason: String| EnvError::Render {
        path: path.to_path_buf(),
        reason,
    };
    let name = path
        .file_name()
        .map_or_else(|| "render.png".into(), |n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{name}.tmp{}.png", std::process::id()));
    {
        let root = BitMapBackend::new(&tmp, (size, size)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
        let s = size as f32;
        let px = |p: [f32; 2]| -> (i32, i32) {
            (
                ((p[0] + 1.0) * 0.5 * s) as i32,
                ((1.0 - (p[1] + 1.0) * 0.5) * s) as i32,
            )
        };
        let r = ((scene.radius * 0.5 * s) as i32).max(3);
        for (i, t) in scene.targets.iter().enumerate() {
            let color = if Some(i) == scene.goal { RED } else { BLUE };
            root.draw(&Circle::new(px(*t), r, color.mix(0.6).filled()))
                .map_err(|e| err(e.to_string()))?;
        }
        let n = scene.trajectories.len().max(1) as f64;
        for (j, path) in scene.trajectories.iter().enumerate() {
            let color = HSLColor(j as f64 / n * 0.8, 0.7, 0.4);
            root.draw(&PathElement::new(
                path.iter().map(|p| px(*p)).collect::<Vec<_>>(),
                color.stroke_width(2),
            ))
            .map_err(|e| err(e.to_string()))?;
            if let Some(start) = path.first() {
                root.draw(&Circle::new(px(*start), 4, BLACK.filled()))
                    .map_err(|e| err(e.to_string()))?;
            }
        }
        root.present().map_err(|e| err(e.to_string()))?;
    }
    std::fs::rename(&tmp, path).map_err(|e| err(e.to_string()))
}
