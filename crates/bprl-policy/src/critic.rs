//! Critics `Q(x, a)` and the latent critic `Q(x, a, z)`, with input gradients for SVG(0).

use crate::Float;
use crate::error::{PolicyError, Result, check_finite, check_shape};
use crate::obs::Selection;
use bprl_nn::{Linear, Mlp, MlpCache, Parameters, join};
use ndarray::{
    Array1, Array2, ArrayView1, ArrayView2, ArrayViewD, ArrayViewMutD, Axis, concatenate, s,
};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Sizes of a critic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CriticConfig {
    /// Torso layer sizes of the LayerNormMLP (Acme: `[400, 300]`).
    pub hidden: Vec<usize>,
    /// Action dimension.
    pub action_dim: usize,
    /// Latent dimension: 0 for `Q(x, a)`, `> 0` for `Q(x, a, z)` (Algorithm 2).
    pub latent_dim: usize,
    /// Standard deviation of the near-zero output layer's weights (Acme: `1e-4`).
    pub output_init_std: f64,
}

/// `Q(x, a)` or `Q(x, a, z)`: a LayerNormMLP on `[x_selected, clip(a, -1, 1), z]` and a linear
/// output initialized near zero.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound = "F: Float")]
pub struct Critic<F> {
    /// Observation groups the critic reads.
    pub selection: Selection,
    /// Action dimension.
    pub action_dim: usize,
    /// Latent dimension (0 for a flat critic).
    pub latent_dim: usize,
    /// Torso (`activate_final = true`).
    pub torso: Mlp<F>,
    /// Output layer, `[hidden, 1]`.
    pub output: Linear<F>,
}

/// A forward pass: `Q` per row and what backward needs.
#[derive(Debug, Clone)]
pub struct CriticForward<F> {
    /// `Q`, `[B]`.
    pub q: Array1<F>,
    action: Array2<F>,
    torso: MlpCache<F>,
}

/// Input gradients of `Q`.
#[derive(Debug, Clone, PartialEq)]
pub struct CriticInputGrad<F> {
    /// `dL/da` (zero where the action was clipped), `[B, A]`: the SVG(0) signal.
    pub d_action: Array2<F>,
    /// `dL/dz`, `[B, Z]` for a latent critic (the learner may stop this gradient).
    pub d_latent: Option<Array2<F>>,
}

impl<F: Float> Critic<F> {
    /// A freshly initialized critic.
    ///
    /// # Errors
    /// [`PolicyError::Config`] for no hidden layer or `action_dim = 0`.
    pub fn new<R: Rng + ?Sized>(
        selection: Selection,
        config: &CriticConfig,
        rng: &mut R,
    ) -> Result<Self> {
        if config.hidden.is_empty() || config.action_dim == 0 {
            return Err(PolicyError::Config {
                field: "hidden/action_dim",
                value: config.action_dim as f64,
                requirement: "need at least one hidden layer and action_dim >= 1",
            });
        }
        let input = selection.width() + config.action_dim + config.latent_dim;
        let torso = Mlp::layer_norm_mlp(input, &config.hidden, true, rng);
        let last = *config.hidden.last().unwrap_or(&1);
        Ok(Self {
            selection,
            action_dim: config.action_dim,
            latent_dim: config.latent_dim,
            torso,
            output: Linear::near_zero(last, 1, config.output_init_std, rng),
        })
    }

    /// `Q(x, a[, z])` per row.
    ///
    /// # Errors
    /// Bad shapes, non-finite inputs, or a latent given to a flat critic (or missing for a
    /// latent one).
    pub fn forward(
        &self,
        obs: ArrayView2<'_, F>,
        action: ArrayView2<'_, F>,
        latent: Option<ArrayView2<'_, F>>,
    ) -> Result<CriticForward<F>> {
        let n = obs.nrows();
        check_shape("action", &[n, self.action_dim], action.shape())?;
        check_finite("obs", obs)?;
        check_finite("action", action)?;
        let x = self.selection.gather(obs)?;
        let clipped = action.mapv(|a| a.max(-F::one()).min(F::one()));
        let input = match (latent, self.latent_dim) {
            (None, 0) => concatenate(Axis(1), &[x.view(), clipped.view()]),
            (Some(z), d) if d > 0 => {
                check_shape("latent", &[n, d], z.shape())?;
                check_finite("latent", z)?;
                concatenate(Axis(1), &[x.view(), clipped.view(), z])
            }
            (z, d) => {
                return Err(PolicyError::Shape {
                    what: "latent",
                    expected: vec![n, d],
                    actual: z.map_or(vec![0, 0], |z| z.shape().to_vec()),
                });
            }
        }
        .unwrap_or_else(|_| unreachable!("rows checked"));
        let torso = self.torso.forward(input.view());
        let q = self
            .output
            .forward(torso.output().view())
            .column(0)
            .to_owned();
        Ok(CriticForward {
            q,
            action: action.to_owned(),
            torso,
        })
    }

    /// Accumulates parameter gradients from `dL/dQ` (`[B]`) and returns the input gradients.
    pub fn backward(
        &self,
        fwd: &CriticForward<F>,
        d_q: ArrayView1<'_, F>,
        grad: &mut Self,
    ) -> CriticInputGrad<F> {
        let d_out = d_q.insert_axis(Axis(1));
        let dh = self
            .output
            .backward(fwd.torso.output().view(), d_out, &mut grad.output);
        let d_in = self.torso.backward(&fwd.torso, dh.view(), &mut grad.torso);
        self.split_input_grad(fwd, d_in)
    }

    /// The input gradients only (no parameter gradients): SVG(0) through a target critic.
    pub fn backward_input(
        &self,
        fwd: &CriticForward<F>,
        d_q: ArrayView1<'_, F>,
    ) -> CriticInputGrad<F> {
        let d_out = d_q.insert_axis(Axis(1));
        let dh = self.output.backward_input(d_out);
        let d_in = self.torso.backward_input(&fwd.torso, dh.view());
        self.split_input_grad(fwd, d_in)
    }

    fn split_input_grad(&self, fwd: &CriticForward<F>, d_in: Array2<F>) -> CriticInputGrad<F> {
        let s0 = self.selection.width();
        let mut d_action = d_in.slice(s![.., s0..s0 + self.action_dim]).to_owned();
        ndarray::Zip::from(&mut d_action)
            .and(&fwd.action)
            .for_each(|d, &a| {
                if a.abs() > F::one() {
                    *d = F::zero();
                }
            });
        let d_latent =
            (self.latent_dim > 0).then(|| d_in.slice(s![.., s0 + self.action_dim..]).to_owned());
        CriticInputGrad { d_action, d_latent }
    }

    /// `Q` only.
    ///
    /// # Errors
    /// As [`Critic::forward`].
    pub fn q(
        &self,
        obs: ArrayView2<'_, F>,
        action: ArrayView2<'_, F>,
        latent: Option<ArrayView2<'_, F>>,
    ) -> Result<Array1<F>> {
        Ok(self.forward(obs, action, latent)?.q)
    }
}

impl<F: Float> Parameters<F> for Critic<F> {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, ArrayViewD<'_, F>)) {
        self.torso.visit(&join(prefix, "torso"), f);
        self.output.visit(&join(prefix, "output"), f);
    }
    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, ArrayViewMutD<'_, F>)) {
        self.torso.visit_mut(&join(prefix, "torso"), f);
        self.output.visit_mut(&join(prefix, "output"), f);
    }
}
