//! The Adam optimizer (Kingma & Ba 2015) with bias correction and optional gradient-norm
//! clipping.

use crate::error::{NnError, Result};
use crate::params::Parameters;
use crate::scalar::Scalar;
use serde::{Deserialize, Serialize};

/// Adam's hyperparameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdamConfig {
    /// Step size (Acme `svg0_prior`: `1e-4`).
    pub learning_rate: f64,
    /// First-moment decay (default 0.9).
    pub beta1: f64,
    /// Second-moment decay (default 0.999).
    pub beta2: f64,
    /// Denominator guard (default `1e-8`).
    pub eps: f64,
    /// Rescale the whole gradient to this Euclidean norm when it is larger (off by default).
    pub max_grad_norm: Option<f64>,
}

impl Default for AdamConfig {
    fn default() -> Self {
        Self {
            learning_rate: 1e-4,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            max_grad_norm: None,
        }
    }
}

impl AdamConfig {
    /// Checks the ranges.
    ///
    /// # Errors
    /// [`NnError::Config`] naming the field.
    pub fn validate(&self) -> Result<()> {
        let bad = |field, value, requirement| {
            Err(NnError::Config {
                field,
                value,
                requirement,
            })
        };
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return bad(
                "learning_rate",
                self.learning_rate,
                "must be finite and > 0",
            );
        }
        for (field, v) in [("beta1", self.beta1), ("beta2", self.beta2)] {
            if !(0.0..1.0).contains(&v) {
                return bad(field, v, "must be in [0, 1)");
            }
        }
        if !(self.eps.is_finite() && self.eps > 0.0) {
            return bad("eps", self.eps, "must be finite and > 0");
        }
        if let Some(m) = self.max_grad_norm
            && !(m.is_finite() && m > 0.0)
        {
            return bad("max_grad_norm", m, "must be finite and > 0");
        }
        Ok(())
    }
}

/// Adam's state for one network: moments in visiting order and the step count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Adam<F> {
    /// Hyperparameters.
    pub config: AdamConfig,
    m: Vec<F>,
    v: Vec<F>,
    steps: u64,
}

impl<F: Scalar> Adam<F> {
    /// Fresh state for a network with `num_params` scalars.
    ///
    /// # Errors
    /// An invalid configuration.
    pub fn new(config: AdamConfig, num_params: usize) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            config,
            m: vec![F::zero(); num_params],
            v: vec![F::zero(); num_params],
            steps: 0,
        })
    }

    /// Updates taken so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// One update `theta <- theta - lr m_hat / (sqrt(v_hat) + eps)` from a gradient of the same
    /// architecture; returns the gradient's norm before clipping.
    ///
    /// # Formula
    /// `m <- b1 m + (1 - b1) g`, `v <- b2 v + (1 - b2) g^2`, `m_hat = m / (1 - b1^t)`,
    /// `v_hat = v / (1 - b2^t)`.
    ///
    /// # Errors
    /// [`NnError::Shape`] if the parameter count differs from the state's;
    /// [`NnError::NonFinite`] for a NaN or infinite gradient (parameters are left unchanged).
    pub fn step<P: Parameters<F>>(&mut self, params: &mut P, grads: &P) -> Result<F> {
        let g = grads.flatten();
        if g.len() != self.m.len() || params.num_params() != self.m.len() {
            return Err(NnError::Shape {
                what: "parameters",
                expected: vec![self.m.len()],
                actual: vec![g.len()],
            });
        }
        if let Some(index) = g.iter().position(|v| !v.is_finite()) {
            return Err(NnError::NonFinite {
                what: "gradient",
                index,
            });
        }
        let norm = g.iter().fold(F::zero(), |a, v| a + *v * *v).sqrt();
        let scale = match self.config.max_grad_norm {
            Some(max) if norm > F::c(max) => F::c(max) / norm,
            _ => F::one(),
        };
        self.steps += 1;
        let c = &self.config;
        let (b1, b2) = (F::c(c.beta1), F::c(c.beta2));
        let t = self.steps as i32;
        let lr_t = F::c(c.learning_rate * (1.0 - c.beta2.powi(t)).sqrt() / (1.0 - c.beta1.powi(t)));
        let eps_t = F::c(c.eps * (1.0 - c.beta2.powi(t)).sqrt());
        let (m, v) = (&mut self.m, &mut self.v);
        let one = F::one();
        let mut i = 0;
        params.visit_mut("", &mut |_, mut a| {
            let len = a.len();
            let (gs, ms, vs) = (&g[i..i + len], &mut m[i..i + len], &mut v[i..i + len]);
            let update = |p: &mut F, (&gi, (mi, vi)): (&F, (&mut F, &mut F))| {
                let gi = gi * scale;
                *mi = b1 * *mi + (one - b1) * gi;
                *vi = b2 * *vi + (one - b2) * gi * gi;
                *p -= lr_t * *mi / (vi.sqrt() + eps_t);
            };
            match a.as_slice_mut() {
                // Contiguous (every network here): one zipped loop over slices, which vectorizes.
                Some(ps) => ps
                    .iter_mut()
                    .zip(gs.iter().zip(ms.iter_mut().zip(vs.iter_mut())))
                    .for_each(|(p, rest)| update(p, rest)),
                None => a
                    .iter_mut()
                    .zip(gs.iter().zip(ms.iter_mut().zip(vs.iter_mut())))
                    .for_each(|(p, rest)| update(p, rest)),
            }
            i += len;
        });
        Ok(norm)
    }
}
