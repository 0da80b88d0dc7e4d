//! The agent's configuration: every default of Acme's `svg0_prior` (DESIGN.md section 3),
//! loaded from TOML and validated (a bad field is a typed error naming it).
//!
//! The configuration says nothing about the environment: the trainer takes any
//! [`bprl_envs::TaskFamily`], and the prior's input is a list of the environment's observation
//! group names, checked against its spec by [`AgentConfig::validate_for`].

use crate::error::ConfigError;
use bprl_policy::ObservationSpec;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Which prior regularizes the policy; baselines are configurations of the same code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriorConfig {
    /// No prior: the KL term is dropped (as `alpha = 0`).
    None,
    /// A fixed `N(0, I)` prior (on actions, or on the latent for Algorithm 2).
    StandardNormal,
    /// A learned prior that sees only the named observation groups (information asymmetry when
    /// they leave out the task groups, full information when they name every group).
    Learned {
        /// The observation groups the prior sees, in this order (for the built-in suite, for
        /// example `["proprio"]` or `["proprio", "targets"]`).
        groups: Vec<String>,
    },
}

impl PriorConfig {
    /// A learned prior over the named groups.
    pub fn learned<S: AsRef<str>>(groups: &[S]) -> Self {
        PriorConfig::Learned {
            groups: groups.iter().map(|g| g.as_ref().to_string()).collect(),
        }
    }

    /// The groups a learned prior sees (`None` for the other kinds).
    pub fn groups(&self) -> Option<Vec<&str>> {
        match self {
            PriorConfig::Learned { groups } => Some(groups.iter().map(String::as_str).collect()),
            _ => None,
        }
    }

    /// Whether the prior is learned.
    pub fn is_learned(&self) -> bool {
        matches!(self, PriorConfig::Learned { .. })
    }
}

/// Whether the prior's low level is the policy's own or separate (Algorithm 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LowLevel {
    /// Shared parameters: the low-level KL is exactly 0.
    Shared,
    /// A separate prior low level `pi0^L(a | z, x^D)`.
    Separate,
}

/// Algorithm 2's latent hierarchy (absent: Algorithm 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HierarchyConfig {
    /// Latent dimension of `z` (default 8).
    pub latent_dim: usize,
    /// Acting: keep each latent for this many steps (default 1).
    pub hold_steps: usize,
    /// Shared or separate low level (default shared).
    pub low_level: LowLevel,
    /// The observation groups the low level `pi^L(a | z, x_L)` sees. Default (absent): the
    /// learned prior's groups, so that a shared low level is a valid prior component; every
    /// group when the prior is not learned.
    pub low_level_groups: Option<Vec<String>>,
}

impl Default for HierarchyConfig {
    fn default() -> Self {
        Self {
            latent_dim: 8,
            hold_steps: 1,
            low_level: LowLevel::Shared,
            low_level_groups: None,
        }
    }
}

/// Which policy's probabilities form the importance ratios `pi(a|x) / mu(a|x)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RatioPolicy {
    /// The target policy (Acme's `svg0_prior`, the default).
    Target,
    /// The online policy (the paper's algorithm box).
    Online,
}

/// Network sizes and the learner's hyperparameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LearnerConfig {
    /// Discount `gamma` (0.99).
    pub gamma: f32,
    /// Batch size in sequences (256).
    pub batch_size: usize,
    /// Sequence length `T` in transitions (10).
    pub sequence_length: usize,
    /// Target networks are hard-copied every `target_period` learner steps (100).
    pub target_period: u64,
    /// Adam learning rate of the policy (1e-4).
    pub policy_lr: f64,
    /// Adam learning rate of the critic (1e-4).
    pub critic_lr: f64,
    /// Adam learning rate of the prior (1e-4).
    pub prior_lr: f64,
    /// KL weight `alpha` (1e-3).
    pub alpha: f32,
    /// Entropy weight `beta` (1e-3; the analytic entropy).
    pub beta: f32,
    /// Action samples `S` for the soft value and the policy loss (10).
    pub action_samples: usize,
    /// Retrace `lambda` (1.0).
    pub lambda: f32,
    /// Policy and prior torso sizes ([200, 100]).
    pub policy_hidden: Vec<usize>,
    /// Critic torso sizes ([400, 300]).
    pub critic_hidden: Vec<usize>,
    /// Gaussian heads' `min_scale` (0.1).
    pub min_scale: f64,
    /// Importance ratios from the target (Acme) or online (paper) policy.
    pub ratio_policy: RatioPolicy,
    /// Optional global gradient-norm clipping per network (off).
    pub max_grad_norm: Option<f64>,
}

impl Default for LearnerConfig {
    fn default() -> Self {
        Self {
            gamma: 0.99,
            batch_size: 256,
            sequence_length: 10,
            target_period: 100,
            policy_lr: 1e-4,
            critic_lr: 1e-4,
            prior_lr: 1e-4,
            alpha: 1e-3,
            beta: 1e-3,
            action_samples: 10,
            lambda: 1.0,
            policy_hidden: vec![200, 100],
            critic_hidden: vec![400, 300],
            min_scale: 0.1,
            ratio_policy: RatioPolicy::Target,
            max_grad_norm: None,
        }
    }
}

/// The actor/learner loop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunConfig {
    /// Environment steps to train for.
    pub env_steps: u64,
    /// Learner updates per environment step (synchronous mode; may be fractional).
    pub updates_per_env_step: f64,
    /// Replay capacity in items.
    pub replay_capacity: usize,
    /// Items in replay before learning starts.
    pub min_replay: usize,
    /// Threaded mode: actor threads (0 = synchronous, deterministic mode).
    pub actor_threads: usize,
    /// Threaded mode: target samples per insert of the rate limiter.
    pub samples_per_insert: f64,
    /// Checkpoint every this many episodes (0 = only at the end).
    pub checkpoint_every_episodes: u64,
    /// Evaluate (greedy, mean action) every this many episodes (0 = never).
    pub eval_every_episodes: u64,
    /// Episodes per evaluation.
    pub eval_episodes: usize,
    /// The run's seed: environments, sampling and initialization derive from it.
    pub seed: u64,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            env_steps: 100_000,
            updates_per_env_step: 0.25,
            replay_capacity: 100_000,
            min_replay: 100,
            actor_threads: 0,
            samples_per_insert: 32.0,
            checkpoint_every_episodes: 50,
            eval_every_episodes: 20,
            eval_episodes: 10,
            seed: 0,
        }
    }
}

/// Everything a run needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AgentConfig {
    /// The prior.
    pub prior: PriorConfig,
    /// Algorithm 2's hierarchy; absent for Algorithm 1.
    pub hierarchy: Option<HierarchyConfig>,
    /// The learner.
    pub learner: LearnerConfig,
    /// The loop.
    pub run: RunConfig,
}

impl Default for AgentConfig {
    fn default() -> Self {
        Self {
            prior: PriorConfig::learned(&["proprio"]),
            hierarchy: None,
            learner: LearnerConfig::default(),
            run: RunConfig::default(),
        }
    }
}

fn invalid(field: &str, value: impl std::fmt::Display, requirement: &str) -> ConfigError {
    ConfigError::Invalid {
        field: field.into(),
        value: value.to_string(),
        requirement: requirement.into(),
    }
}

impl AgentConfig {
    /// Parses TOML (missing fields take their defaults) and validates.
    ///
    /// # Errors
    /// [`ConfigError::Parse`] naming the field and line, or [`ConfigError::Invalid`].
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let cfg: Self = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: "<string>".into(),
            reason: e.to_string(),
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Reads and validates a TOML file.
    ///
    /// # Errors
    /// [`ConfigError::Io`], [`ConfigError::Parse`], [`ConfigError::Invalid`].
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml(&text).map_err(|e| match e {
            ConfigError::Parse { reason, .. } => ConfigError::Parse {
                path: path.to_path_buf(),
                reason,
            },
            other => other,
        })
    }

    /// The configuration as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# could not encode config: {e}\n"))
    }

    /// Checks every field and the relations between fields; the error quotes the bad value.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`].
    pub fn validate(&self) -> Result<(), ConfigError> {
        let l = &self.learner;
        if !(l.gamma > 0.0 && l.gamma <= 1.0) {
            return Err(invalid("learner.gamma", l.gamma, "must be in (0, 1]"));
        }
        if !(0.0..=1.0).contains(&l.lambda) {
            return Err(invalid("learner.lambda", l.lambda, "must be in [0, 1]"));
        }
        for (f, v) in [("learner.alpha", l.alpha), ("learner.beta", l.beta)] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(invalid(f, v, "must be finite and >= 0"));
            }
        }
        for (f, v) in [
            ("learner.policy_lr", l.policy_lr),
            ("learner.critic_lr", l.critic_lr),
            ("learner.prior_lr", l.prior_lr),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(invalid(f, v, "must be finite and > 0"));
            }
        }
        for (f, v) in [
            ("learner.batch_size", l.batch_size),
            ("learner.sequence_length", l.sequence_length),
            ("learner.action_samples", l.action_samples),
        ] {
            if v == 0 {
                return Err(invalid(f, v, "must be >= 1"));
            }
        }
        if l.target_period == 0 {
            return Err(invalid("learner.target_period", 0, "must be >= 1"));
        }
        for (f, h) in [
            ("learner.policy_hidden", &l.policy_hidden),
            ("learner.critic_hidden", &l.critic_hidden),
        ] {
            if h.is_empty() || h.contains(&0) {
                return Err(invalid(
                    f,
                    format!("{h:?}"),
                    "needs at least one layer, all sizes >= 1",
                ));
            }
        }
        if !(l.min_scale.is_finite() && l.min_scale > 0.0) {
            return Err(invalid(
                "learner.min_scale",
                l.min_scale,
                "must be finite and > 0",
            ));
        }
        if let Some(h) = &self.hierarchy {
            if h.latent_dim == 0 {
                return Err(invalid("hierarchy.latent_dim", 0, "must be >= 1"));
            }
            if h.hold_steps == 0 {
                return Err(invalid("hierarchy.hold_steps", 0, "must be >= 1"));
            }
            if h.low_level == LowLevel::Separate
                && !matches!(self.prior, PriorConfig::Learned { .. })
            {
                return Err(invalid(
                    "hierarchy.low_level",
                    "separate",
                    "a separate low level needs a learned prior",
                ));
            }
        }
        let r = &self.run;
        if !(r.updates_per_env_step.is_finite() && r.updates_per_env_step >= 0.0) {
            return Err(invalid(
                "run.updates_per_env_step",
                r.updates_per_env_step,
                "must be finite and >= 0",
            ));
        }
        if r.min_replay == 0 || r.replay_capacity < r.min_replay {
            return Err(invalid(
                "run.min_replay",
                r.min_replay,
                "must be >= 1 and <= run.replay_capacity",
            ));
        }
        if !(r.samples_per_insert.is_finite() && r.samples_per_insert > 0.0) {
            return Err(invalid(
                "run.samples_per_insert",
                r.samples_per_insert,
                "must be finite and > 0",
            ));
        }
        if r.eval_every_episodes > 0 && r.eval_episodes == 0 {
            return Err(invalid(
                "run.eval_episodes",
                0,
                "must be >= 1 when evaluating",
            ));
        }
        if let PriorConfig::Learned { groups } = &self.prior
            && groups.is_empty()
        {
            return Err(invalid(
                "prior.learned.groups",
                "[]",
                "a learned prior needs at least one observation group",
            ));
        }
        Ok(())
    }

    /// [`AgentConfig::validate`], then checks every group name the configuration uses against
    /// an environment's observation spec.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`], or [`ConfigError::UnknownGroup`] naming the field, the group
    /// and the groups the environment has.
    pub fn validate_for(&self, spec: &ObservationSpec) -> Result<(), ConfigError> {
        self.validate()?;
        let mut named: Vec<(&str, &[String])> = Vec::new();
        if let PriorConfig::Learned { groups } = &self.prior {
            named.push(("prior.learned.groups", groups));
        }
        if let Some(Some(groups)) = self.hierarchy.as_ref().map(|h| h.low_level_groups.as_ref()) {
            named.push(("hierarchy.low_level_groups", groups));
        }
        if let (Some(h), PriorConfig::Learned { groups: prior }) = (&self.hierarchy, &self.prior)
            && h.low_level == LowLevel::Shared
            && let Some(low) = &h.low_level_groups
            && let Some(g) = low.iter().find(|g| !prior.contains(g))
        {
            return Err(invalid(
                "hierarchy.low_level_groups",
                g,
                "a shared low level is part of the prior, so it may see only the prior's groups",
            ));
        }
        for (field, groups) in named {
            for (i, g) in groups.iter().enumerate() {
                if spec.range(g).is_err() {
                    return Err(ConfigError::UnknownGroup {
                        field: field.into(),
                        group: g.clone(),
                        available: spec.groups().iter().map(|(n, _)| n.clone()).collect(),
                    });
                }
                if groups[..i].contains(g) {
                    return Err(invalid(field, g, "names a group twice"));
                }
            }
        }
        Ok(())
    }
}
