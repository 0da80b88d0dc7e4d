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

impl ActionBox {
    fn bounds<F: Float>(&self) -> (F, F) {
        (cst(self.low), cst(self.high))
    }

    /// `a = c + s tanh(u)` ([`bprl_distributions::squash()`]).
    pub fn squash<F: Float>(&self, u: F) -> F {
        let (lo, hi) = self.bounds();
        bprl_distributions::squash(u, lo, hi)
    }

    /// `u = atanh((a - c) / s)`, clamped just inside the box's edge so stored actions on it
    /// give a finite `u` ([`bprl_distributions::unsquash`]).
    pub fn unsquash<F: Float>(&self, a: F) -> F {
        let (lo, hi) = self.bounds();
        bprl_distributions::unsquash(a, lo, hi)
    }

    /// `da/du = s (1 - tanh^2 u)`.
    pub fn d_squash<F: Float>(&self, u: F) -> F {
        let (lo, hi) = self.bounds();
        bprl_distributions::squash_derivative(u, lo, hi)
    }

    /// `log |da/du| = log s + log(1 - tanh^2 u)`, in the stable form
    /// ([`bprl_distributions::log_abs_det_jacobian`]).
    pub fn log_det<F: Float>(&self, u: F) -> F {
        let (lo, hi) = self.bounds();
        bprl_distributions::log_abs_det_jacobian(u, lo, hi)
    }

    /// `d log |da/du| / du = -2 tanh u`.
    pub fn d_log_det<F: Float>(&self, u: F) -> F {
        bprl_distributions::log_abs_det_jacobian_derivative(u)
    }
}
