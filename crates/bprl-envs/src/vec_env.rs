//! Stepping `N` environments together, with automatic resets.

use crate::env::{Env, EnvError, TimeStep};

/// `N` environments stepped in lockstep. After an environment's `Last` step, the next `step`
/// resets it (with the next seed of its own stream) and returns that `First` step instead of
/// using the action, as dm_env's auto-reset convention.
///
/// Seeds: environment `i`'s `e`-th episode uses seed `base_seed + i + e * N`, so runs are
/// reproducible and streams never share a seed.
#[derive(Debug, Clone)]
pub struct VecEnv<E: Env> {
    envs: Vec<E>,
    base_seed: u64,
    episodes: Vec<u64>,
    needs_reset: Vec<bool>,
}

impl<E: Env> VecEnv<E> {
    /// Wraps environments (at least one).
    ///
    /// # Errors
    /// [`EnvError::Config`] for an empty list.
    pub fn new(envs: Vec<E>, base_seed: u64) -> Result<Self, EnvError> {
        if envs.is_empty() {
            return Err(EnvError::Config {
                field: "envs",
                value: 0.0,
                requirement: "need at least one environment",
            });
        }
        let n = envs.len();
        Ok(Self {
            envs,
            base_seed,
            episodes: vec![0; n],
            needs_reset: vec![true; n],
        })
    }

    /// Number of environments.
    pub fn len(&self) -> usize {
        self.envs.len()
    }

    /// Always false (construction requires one environment).
    pub fn is_empty(&self) -> bool {
        self.envs.is_empty()
    }

    /// The environments.
    pub fn envs(&self) -> &[E] {
        &self.envs
    }

    fn reset_one(&mut self, i: usize) -> TimeStep {
        let n = self.envs.len() as u64;
        let seed = self.base_seed + i as u64 + self.episodes[i] * n;
        self.episodes[i] += 1;
        self.needs_reset[i] = false;
        self.envs[i].reset(seed)
    }

    /// Resets every environment.
    pub fn reset(&mut self) -> Vec<TimeStep> {
        (0..self.envs.len()).map(|i| self.reset_one(i)).collect()
    }

    /// Steps every environment with its action (`actions[i]`), auto-resetting finished ones.
    ///
    /// # Errors
    /// [`EnvError::ActionShape`] if the number of actions differs from `N`, or the first
    /// environment error (environments before it have already stepped).
    pub fn step(&mut self, actions: &[Vec<f32>]) -> Result<Vec<TimeStep>, EnvError> {
        if actions.len() != self.envs.len() {
            return Err(EnvError::ActionShape {
                expected: self.envs.len(),
                actual: actions.len(),
            });
        }
        let mut out = Vec::with_capacity(actions.len());
        for (i, a) in actions.iter().enumerate() {
            let ts = if self.needs_reset[i] {
                self.reset_one(i)
            } else {
                let ts = self.envs[i].step(a)?;
                self.needs_reset[i] = ts.is_last();
                ts
            };
            out.push(ts);
        }
        Ok(out)
    }
}
