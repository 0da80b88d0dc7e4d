//! The tanh-squashed policy's change of variables, element by element: `a = c + s tanh(u)`
//! with `c = (high + low) / 2`, `s = (high - low) / 2` (rlax's `squashed_gaussian`
//! convention), onto an environment's action box.
//!
//! # Invariants
//! `log pi(a) = log N(u) - sum_i log |da_i/du_i|`, `log |da/du| = log s + log(1 - tanh^2 u)`,
//! computed as `log s + 2 (ln 2 - u - softplus(-2 u))`, finite for every finite `u`. A KL
//! between two squashed Gaussians with the same box is the KL of their Gaussians (a bijection
//! leaves KL unchanged), so priors and policies are compared before the squash.

use crate::cst;
use bprl_policy::Float;
use serde::{Deserialize, Serialize};

/// An action box `[low, high]`, the same in every dimension (as [`bprl_envs::ActionSpec`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ActionBox {
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
}

impl Default for ActionBox {
    fn default() -> Self {
        Self {
            low: -1.0,
            high: 1.0,
        }
    }
}

/// Inverse of the squash is clamped to `|tanh u| <= 1 - EDGE` so stored actions on the box's
/// edge give a finite `u`.
const EDGE: f64 = 1e-6;

impl ActionBox {
    fn center<F: Float>(&self) -> F {
        cst((self.high + self.low) / 2.0)
    }

    fn half<F: Float>(&self) -> F {
        cst((self.high - self.low) / 2.0)
    }

    /// `a = c + s tanh(u)`.
    pub fn squash<F: Float>(&self, u: F) -> F {
        self.center::<F>() + self.half::<F>() * u.tanh()
    }

    /// `u = atanh((a - c) / s)`, with `(a - c) / s` clamped to `[-1 + 1e-6, 1 - 1e-6]`.
    pub fn unsquash<F: Float>(&self, a: F) -> F {
        let lim = cst::<F>(1.0 - EDGE);
        let y = ((a - self.center::<F>()) / self.half::<F>())
            .max(-lim)
            .min(lim);
        cst::<F>(0.5) * ((F::one() + y) / (F::one() - y)).ln()
    }

    /// `da/du = s (1 - tanh^2 u)`.
    pub fn d_squash<F: Float>(&self, u: F) -> F {
        let t = u.tanh();
        self.half::<F>() * (F::one() - t * t)
    }

    /// `log |da/du| = log s + 2 (ln 2 - u - softplus(-2 u))` (stable for large `|u|`).
    pub fn log_det<F: Float>(&self, u: F) -> F {
        let two = cst::<F>(2.0);
        self.half::<F>().ln()
            + two * (cst::<F>(std::f64::consts::LN_2) - u - bprl_distributions::softplus(-two * u))
    }

    /// `d log |da/du| / du = -2 tanh u`.
    pub fn d_log_det<F: Float>(&self, u: F) -> F {
        cst::<F>(-2.0) * u.tanh()
    }
}
