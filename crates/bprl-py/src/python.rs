//! The PyO3 bindings: the `bprl_py._native` extension module (re-exported by the Python
//! package `bprl_py`).

use crate::{BindError, SuiteOptions, body_name, episode_flags, group_ranges, parse_split};
use bprl_envs::{Env, EnvError, Suite, SuiteConfig, TaskFamily, TaskSplit};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

fn bind_err(e: BindError) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// `NeedsReset` is a use-order error (`RuntimeError`); the rest are bad values (`ValueError`).
fn env_err(e: EnvError) -> PyErr {
    match e {
        EnvError::NeedsReset => PyRuntimeError::new_err(e.to_string()),
        other => PyValueError::new_err(other.to_string()),
    }
}

/// A built-in suite's multi-task environment (`bprl_envs::SuiteEnv`): point mass or reacher,
/// `K` targets, a task per episode drawn from the training (or held-out) tasks.
///
/// Keyword arguments are the TOML's `[env]` / `[env.targets]` fields; left out, a field keeps
/// its Rust default. Observations are lists of float32 values, all groups concatenated.
#[pyclass(name = "SuiteEnv", module = "bprl_py")]
pub struct PySuiteEnv {
    env: bprl_envs::SuiteEnv,
    config: SuiteConfig,
    split: TaskSplit,
}

#[pymethods]
impl PySuiteEnv {
    /// Builds the environment; `split` is `"train"` (default) or `"held_out"`.
    #[new]
    #[pyo3(signature = (*, body=None, num_targets=None, radius=None, arrival_reward=None,
        completion_bonus=None, shaping=None, max_steps=None, min_separation=None, split="train"))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        body: Option<String>,
        num_targets: Option<usize>,
        radius: Option<f32>,
        arrival_reward: Option<f32>,
        completion_bonus: Option<f32>,
        shaping: Option<f32>,
        max_steps: Option<usize>,
        min_separation: Option<f32>,
        split: &str,
    ) -> PyResult<Self> {
        let options = SuiteOptions {
            body,
            num_targets,
            radius,
            arrival_reward,
            completion_bonus,
            shaping,
            max_steps,
            min_separation,
        };
        let config = options.to_config().map_err(bind_err)?;
        let split = parse_split(split).map_err(bind_err)?;
        let env = Suite::from_config(&config)
            .make_env(split)
            .map_err(env_err)?;
        Ok(Self { env, config, split })
    }

    /// Starts an episode from reset seed `seed`: `(obs, info)` with `info["task"]`, the
    /// target indices of the episode's task in order.
    fn reset<'py>(
        &mut self,
        py: Python<'py>,
        seed: u64,
    ) -> PyResult<(Vec<f32>, Bound<'py, PyDict>)> {
        let ts = self.env.reset(seed);
        let info = PyDict::new(py);
        info.set_item("task", self.env.task().order.clone())?;
        Ok((ts.flat_observation(), info))
    }

    /// One step: `(obs, reward, terminated, truncated, info)` with `info["success"]`
    /// (`== terminated`) and `info["discount"]`. The action is clipped to the box; a wrong
    /// length or a NaN is a `ValueError`, a step after the episode's end a `RuntimeError`.
    #[allow(clippy::type_complexity)]
    fn step<'py>(
        &mut self,
        py: Python<'py>,
        action: Vec<f32>,
    ) -> PyResult<(Vec<f32>, f32, bool, bool, Bound<'py, PyDict>)> {
        let ts = self.env.step(&action).map_err(env_err)?;
        let (terminated, truncated, success) = episode_flags(&ts);
        let info = PyDict::new(py);
        info.set_item("success", success)?;
        info.set_item("discount", ts.discount)?;
        Ok((
            ts.flat_observation(),
            ts.reward,
            terminated,
            truncated,
            info,
        ))
    }

    /// Length of the flat observation.
    #[getter]
    fn observation_size(&self) -> usize {
        self.env.observation_spec().iter().map(|g| g.1).sum()
    }

    /// Number of action dimensions.
    #[getter]
    fn action_size(&self) -> usize {
        self.env.action_spec().dim
    }

    /// Lower bound of every action dimension.
    #[getter]
    fn action_low(&self) -> f32 {
        self.env.action_spec().low
    }

    /// Upper bound of every action dimension.
    #[getter]
    fn action_high(&self) -> f32 {
        self.env.action_spec().high
    }

    /// The observation group names in order (`proprio`, `targets`, `goal`).
    #[getter]
    fn group_names(&self) -> Vec<String> {
        self.env
            .observation_spec()
            .iter()
            .map(|g| g.0.clone())
            .collect()
    }

    /// `(name, start, end)` of each group in the flat observation.
    #[getter]
    fn group_ranges(&self) -> Vec<(String, usize, usize)> {
        group_ranges(self.env.observation_spec())
    }

    /// The body name, `"point_mass"` or `"reacher"`.
    #[getter]
    fn body(&self) -> &'static str {
        body_name(self.config.body)
    }

    /// The time limit in steps.
    #[getter]
    fn max_steps(&self) -> usize {
        self.config.targets.max_steps
    }

    /// The full settings as a dict (the defaults filled in), with `split`.
    fn config<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let t = &self.config.targets;
        let d = PyDict::new(py);
        d.set_item("body", body_name(self.config.body))?;
        d.set_item("num_targets", t.num_targets)?;
        d.set_item("radius", t.radius)?;
        d.set_item("arrival_reward", t.arrival_reward)?;
        d.set_item("completion_bonus", t.completion_bonus)?;
        d.set_item("shaping", t.shaping)?;
        d.set_item("max_steps", t.max_steps)?;
        d.set_item("min_separation", t.min_separation)?;
        let split = match self.split {
            TaskSplit::Train => "train",
            TaskSplit::HeldOut => "held_out",
        };
        d.set_item("split", split)?;
        Ok(d)
    }
}

/// The reset seed of evaluation episode `e`: bprl's greedy evaluations (in-loop and
/// `bprl eval`) start episode `e` from `reset(eval_seed(e))`.
#[pyfunction]
fn eval_seed(e: u64) -> u64 {
    crate::eval_seed(e)
}

/// The extension module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySuiteEnv>()?;
    m.add_function(wrap_pyfunction!(eval_seed, m)?)?;
    Ok(())
}
