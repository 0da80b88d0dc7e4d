//! A replay batch in the learner's layout: flat rows `t * B + b` for the `T+1` steps.

use crate::error::{AgentError, Result};
use bprl_policy::{Float, ObservationSpec};
use ndarray::{Array2, Axis, s};

/// A sampled batch, time-major, flattened for the networks.
///
/// Row `t * B + b` of `obs` and `actions` is step `t` of sequence `b`, `t in [0, T]`.
#[derive(Debug, Clone)]
pub struct LearnerBatch<F> {
    /// Transitions per sequence `T`.
    pub steps: usize,
    /// Sequences `B`.
    pub batch: usize,
    /// Observations in spec order, `[(T+1) B, W]`.
    pub obs: Array2<F>,
    /// Actions, `[(T+1) B, A]` (row block `T` is unused).
    pub actions: Array2<F>,
    /// Rewards `r_t`, `[T, B]`.
    pub rewards: Array2<F>,
    /// Environment discounts `d_t`, `[T, B]`.
    pub discounts: Array2<F>,
    /// Behavior log-probabilities `log mu(a_t | x_t)`, `[T+1, B]`.
    pub log_mu: Array2<F>,
    /// 1 for a real step, 0 for padding, `[T+1, B]`.
    pub mask: Array2<F>,
}

impl<F: Float> LearnerBatch<F> {
    /// Transition `t` is usable when step `t+1` is real: `[T, B]`.
    pub fn valid(&self) -> Array2<F> {
        self.mask.slice(s![1.., ..]).to_owned()
    }

    /// Converts a replay batch, concatenating observation groups in `spec` order.
    ///
    /// # Errors
    /// [`AgentError::Shape`] when a group of the spec is missing or has another width.
    pub fn from_replay(b: &bprl_replay::Batch, spec: &ObservationSpec) -> Result<Self> {
        let [t1, bs, _] = b.rewards.shape;
        if t1 < 2 {
            return Err(AgentError::Shape(format!(
                "sequences need at least 2 steps, got {t1}"
            )));
        }
        let rows = t1 * bs;
        let mut obs = Array2::zeros((rows, spec.width()));
        let mut col = 0;
        for (name, width) in spec.groups() {
            let g = b.observations.get(name).ok_or_else(|| {
                AgentError::Shape(format!("replay batch has no observation group `{name}`"))
            })?;
            if g.shape != [t1, bs, *width] {
                return Err(AgentError::Shape(format!(
                    "group `{name}` has shape {:?}, expected {:?}",
                    g.shape,
                    [t1, bs, *width]
                )));
            }
            let block = Array2::from_shape_vec((rows, *width), g.data.clone())
                .map_err(|e| AgentError::Shape(e.to_string()))?;
            obs.slice_mut(s![.., col..col + width])
                .assign(&block.mapv(|v| crate::cst::<F>(f64::from(v))));
            col += width;
        }
        let grid = |tm: &bprl_replay::TimeMajor| -> Result<Array2<F>> {
            Array2::from_shape_vec(
                (tm.shape[0], tm.shape[1] * tm.shape[2]),
                tm.data
                    .iter()
                    .map(|&v| crate::cst::<F>(f64::from(v)))
                    .collect(),
            )
            .map_err(|e| AgentError::Shape(e.to_string()))
        };
        let [_, _, a] = b.actions.shape;
        let actions = Array2::from_shape_vec(
            (rows, a),
            b.actions
                .data
                .iter()
                .map(|&v| crate::cst::<F>(f64::from(v)))
                .collect(),
        )
        .map_err(|e| AgentError::Shape(e.to_string()))?;
        let rewards = grid(&b.rewards)?;
        let discounts = grid(&b.discounts)?;
        Ok(Self {
            steps: t1 - 1,
            batch: bs,
            obs,
            actions,
            rewards: rewards.slice(s![..t1 - 1, ..]).to_owned(),
            discounts: discounts.slice(s![..t1 - 1, ..]).to_owned(),
            log_mu: grid(&b.log_probs)?,
            mask: grid(&b.mask)?,
        })
    }

    /// Checks that every value is finite (guard rail against NaN in observations or rewards).
    ///
    /// # Errors
    /// [`AgentError::NonFinite`] naming the field.
    pub fn check_finite(&self, step: u64) -> Result<()> {
        for (what, a) in [
            ("observation", &self.obs),
            ("action", &self.actions),
            ("reward", &self.rewards),
            ("discount", &self.discounts),
            ("behavior log-prob", &self.log_mu),
        ] {
            if a.iter().any(|v| !v.is_finite()) {
                return Err(AgentError::NonFinite {
                    what: what.into(),
                    step,
                });
            }
        }
        Ok(())
    }

    /// The first `T` row blocks of a `[(T+1) B, k]` array.
    pub fn head<'a>(&self, a: &'a Array2<F>) -> ndarray::ArrayView2<'a, F> {
        a.slice_axis(Axis(0), (0..self.steps * self.batch).into())
    }
}
