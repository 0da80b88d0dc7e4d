//! The learned Lagrange multipliers: the entropy weight `beta` tuned to a target entropy (SAC's
//! temperature) and the KL weight `alpha` tuned to a target `KL(pi || pi0)` (SPiRL's target
//! divergence). Each is learned in log space with Adam on the dual loss, so it stays positive.
//!
//! # Formula
//! Entropy: `L(log beta) = log beta (H - H_target)`, so `beta` falls while the entropy is above
//! its target and rises below it. KL: `L(log alpha) = -log alpha (KL - KL_target)`, so `alpha`
//! rises while the policy strays further from the prior than the target allows.

use serde::{Deserialize, Serialize};

/// One multiplier: fixed, or tuned towards a target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Multiplier {
    /// The current value (the configured one while fixed, bit for bit).
    value: f64,
    /// The value's logarithm (the tuned parameter).
    log_value: f64,
    /// The target the multiplier is tuned towards; `None`: fixed.
    pub target: Option<f64>,
    m: f64,
    v: f64,
    steps: u64,
}

impl Multiplier {
    /// A multiplier starting at `initial`, tuned towards `target` when given.
    pub fn new(initial: f64, target: Option<f64>) -> Self {
        Self {
            value: initial,
            log_value: initial.ln(),
            target,
            m: 0.0,
            v: 0.0,
            steps: 0,
        }
    }

    /// The current value.
    pub fn value(&self) -> f64 {
        self.value
    }

    /// One Adam step (`beta_1 = 0.9`, `beta_2 = 0.999`, `eps = 1e-8`) on the log value from
    /// the dual loss's gradient `d L / d log value`; nothing when fixed or the gradient is not
    /// finite.
    pub fn step(&mut self, grad: f64, lr: f64) {
        if self.target.is_none() || !grad.is_finite() {
            return;
        }
        self.steps += 1;
        self.m = 0.9 * self.m + 0.1 * grad;
        self.v = 0.999 * self.v + 0.001 * grad * grad;
        let t = self.steps as i32;
        let m_hat = self.m / (1.0 - 0.9f64.powi(t));
        let v_hat = self.v / (1.0 - 0.999f64.powi(t));
        // Bounded so that exp stays finite and positive whatever the losses do.
        self.log_value = (self.log_value - lr * m_hat / (v_hat.sqrt() + 1e-8)).clamp(-30.0, 30.0);
        self.value = self.log_value.exp();
    }
}

/// The learner's two multipliers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Multipliers {
    /// The KL weight `alpha`.
    pub alpha: Multiplier,
    /// The entropy weight `beta`.
    pub beta: Multiplier,
}

impl Multipliers {
    /// One dual step of each tuned multiplier from an update's mean entropy and KL; the
    /// entropy target is `target_per_dim * dims`.
    pub fn step(&mut self, entropy: f64, kl: f64, dims: usize, lr: f64) {
        if let Some(h) = self.beta.target {
            self.beta.step(entropy - h * dims as f64, lr);
        }
        if let Some(k) = self.alpha.target {
            self.alpha.step(-(kl - k), lr);
        }
    }
}
