//! The agent's configuration: every default of Acme's `svg0_prior` (DESIGN.md section 3),
//! loaded from TOML and validated (a bad field is a typed error naming it).
//!
//! The configuration says nothing about the environment: the trainer takes any
//! [`bprl_envs::TaskFamily`], and the prior's input is a list of the environment's observation
//! group names, checked against its spec by [`AgentConfig::validate_for`].

use crate::error::ConfigError;
use crate::strict::{Schema, check_keys, keys_of, parse_error};
use bprl_policy::ObservationSpec;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The upper bounds [`AgentConfig::validate`] puts on every size, count and weight, so that a
/// typo (`batch_size = 1e12`) is a [`ConfigError::TooLarge`] naming the field, the value and
/// the limit instead of an allocation abort, an ndarray panic or a run that never ends.
pub mod limits {
    /// `learner.batch_size`.
    pub const MAX_BATCH_SIZE: usize = 65_536;
    /// `learner.sequence_length`.
    pub const MAX_SEQUENCE_LENGTH: usize = 1_000;
    /// `learner.action_samples`.
    pub const MAX_ACTION_SAMPLES: usize = 1_024;
    /// Each entry of `learner.policy_hidden` and `learner.critic_hidden`.
    pub const MAX_LAYER_WIDTH: usize = 16_384;
    /// Entries of `learner.policy_hidden` and `learner.critic_hidden`.
    pub const MAX_LAYERS: usize = 16;
    /// `batch_size * (sequence_length + 1) * action_samples`: the rows of the critic's
    /// largest pass.
    pub const MAX_BATCH_ROWS: usize = 1 << 24;
    /// Those rows times the widest layer: the floats of the largest activation (4 GiB).
    pub const MAX_ACTIVATION_FLOATS: usize = 1 << 30;
    /// `hierarchy.latent_dim`.
    pub const MAX_LATENT_DIM: usize = 4_096;
    /// `hierarchy.hold_steps`.
    pub const MAX_HOLD_STEPS: usize = 1_000_000;
    /// `run.replay_capacity` (items; memory grows as the replay fills).
    pub const MAX_REPLAY_CAPACITY: usize = 1 << 30;
    /// `run.actor_threads`.
    pub const MAX_ACTOR_THREADS: usize = 256;
    /// `run.eval_episodes` (and `bprl eval --episodes`).
    pub const MAX_EVAL_EPISODES: usize = 10_000;
    /// `run.env_steps`.
    pub const MAX_ENV_STEPS: u64 = 1_000_000_000_000;
    /// `run.updates_per_env_step`.
    pub const MAX_UPDATES_PER_ENV_STEP: f64 = 1_000.0;
    /// `run.samples_per_insert`.
    pub const MAX_SAMPLES_PER_INSERT: f64 = 1e6;
    /// `learner.alpha` and `learner.beta`.
    pub const MAX_WEIGHT: f32 = 1e4;
    /// Every learning rate.
    pub const MAX_LEARNING_RATE: f64 = 1.0;
}

fn too_large(
    field: &str,
    value: impl std::fmt::Display,
    limit: impl std::fmt::Display,
) -> ConfigError {
    ConfigError::TooLarge {
        field: field.into(),
        value: value.to_string(),
        limit: limit.to_string(),
    }
}

/// Which prior regularizes the policy; baselines are configurations of the same code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
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
#[serde(default, deny_unknown_fields)]
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

/// Which critics a loss reads: the online ones or their target copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CriticChoice {
    /// The online critics (SAC's actor).
    Online,
    /// The target critics (Acme's `svg0_prior` actor).
    Target,
}

/// A named set of defaults a configuration file starts from (`preset = "..."` at the top).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    /// The setting that learns best on the project's suites (docs/results.md): twin critics
    /// with the minimum, Polyak targets, a tanh-squashed policy with a bounded std, the entropy
    /// in the soft value and its weight tuned to a target entropy; Acme's sizes and rates.
    #[default]
    Bprl,
    /// Acme's `svg0_prior` exactly, as the paper: one critic, hard target copies, the actor on
    /// the target critic, an unsquashed policy, fixed `alpha` and `beta` (DESIGN.md section 3).
    Acme,
}

impl Preset {
    /// The preset's full configuration.
    pub fn config(self) -> AgentConfig {
        let acme = AgentConfig {
            preset: Preset::Acme,
            prior: PriorConfig::learned(&["proprio"]),
            hierarchy: None,
            learner: LearnerConfig::acme(),
            run: RunConfig::default(),
        };
        match self {
            Preset::Acme => acme,
            Preset::Bprl => AgentConfig {
                preset: Preset::Bprl,
                learner: LearnerConfig::bprl(),
                ..acme
            },
        }
    }
}

/// Network sizes and the learner's hyperparameters. [`LearnerConfig::default`] is the
/// [`Preset::Bprl`] learner; [`LearnerConfig::acme`] Acme's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
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
    /// Two critics, each regressed on the same targets, whose minimum is the value of a
    /// sample in the soft value, in the Retrace targets and in the policy loss (clipped double
    /// Q, Fujimoto et al. 2018; SAC). Acme: off (one critic).
    pub twin_critics: bool,
    /// Which critics the policy loss climbs (SVG(0)'s `Q`): online (SAC) or target (Acme).
    pub policy_critic: CriticChoice,
    /// Polyak averaging `target <- (1 - tau) target + tau online` after every step instead of
    /// hard copies every `target_period` steps (SAC: 0.005). Acme: none (hard copies).
    pub tau: Option<f64>,
    /// A tanh-squashed policy: actions `a = low + (high - low) (tanh(u) + 1) / 2` of a Gaussian
    /// `u` onto the environment's action box, log-probabilities with the exact
    /// change-of-variables correction, the entropy of `a` estimated from the samples, so the
    /// critic's action gradient never vanishes at the box's edge. KLs between policy and prior
    /// are those of the Gaussians `u` (a shared bijection leaves KL unchanged). Acme: off.
    pub squash: bool,
    /// The heads' mean is `mean_scale * tanh(.)` (Acme: 1; with `squash`, 3 lets the greedy
    /// action reach `tanh(3) = 0.995` of the box).
    pub mean_scale: f64,
    /// Upper bound of the heads' std (Acme: none; SAC's `exp(2) = 7.39`).
    pub max_scale: Option<f64>,
    /// The soft value also carries the entropy bonus, `V = mean_s [Q'(x, a_s) - beta log
    /// pi(a_s|x)] - alpha KL`, so the critic learns the entropy-regularized return (SAC). Acme:
    /// off (the entropy enters the policy loss only).
    pub value_entropy: bool,
    /// Tune `beta` to a target entropy, in nats per action dimension (SAC: -1); `beta` is
    /// then its initial value. Absent: `beta` is fixed.
    pub target_entropy: Option<f64>,
    /// Tune `alpha` to a target `KL(pi || pi0)`, in nats per step (a Lagrange multiplier, as
    /// SPiRL's target divergence); `alpha` is then its initial value. Absent: fixed.
    pub target_kl: Option<f64>,
    /// Adam learning rate of the tuned multipliers' logarithms (SAC: 3e-4), per update. While
    /// the entropy is above its target the logarithm falls by about this much per update, so
    /// the multiplier's schedule in environment steps scales with the replay ratio: to keep a
    /// schedule measured at `r` updates per step at ratio `r'`, use `multiplier_lr * r / r'`
    /// (docs/results.md, "Which options learn").
    pub multiplier_lr: f64,
    /// Reset the policy, the critics and their optimizers (not the prior, the multipliers or
    /// the replay) every this many updates (D'Oro et al. 2023, SR-SAC), for replay ratios far
    /// above 1. Absent: never.
    pub reset_every_updates: Option<u64>,
}

impl Default for LearnerConfig {
    fn default() -> Self {
        Self::bprl()
    }
}

impl LearnerConfig {
    /// The [`Preset::Bprl`] learner: Acme's sizes and rates with the options that learn best.
    pub fn bprl() -> Self {
        Self {
            beta: 0.05,
            min_scale: 0.01,
            twin_critics: true,
            policy_critic: CriticChoice::Online,
            tau: Some(0.005),
            squash: true,
            mean_scale: 3.0,
            max_scale: Some(2f64.exp()),
            value_entropy: true,
            target_entropy: Some(-1.0),
            ..Self::acme()
        }
    }

    /// Acme's `svg0_prior` learner (DESIGN.md section 3).
    pub fn acme() -> Self {
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
            twin_critics: false,
            policy_critic: CriticChoice::Target,
            tau: None,
            squash: false,
            mean_scale: 1.0,
            max_scale: None,
            value_entropy: false,
            target_entropy: None,
            target_kl: None,
            multiplier_lr: 3e-4,
            reset_every_updates: None,
        }
    }
}

/// The actor/learner loop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
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
    /// Threaded mode: warn on stderr when no environment step (or no learner update) has
    /// happened for this many seconds, naming the rate limiter's state (default 30).
    pub stall_warning_secs: u64,
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
            stall_warning_secs: 30,
        }
    }
}

/// Everything a run needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AgentConfig {
    /// The preset the file's missing fields come from (default `bprl`; `acme` for the paper's
    /// setting).
    pub preset: Preset,
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
        Preset::Bprl.config()
    }
}

/// The learner's optional fields: TOML has no `None`, so a preset's absent option cannot be
/// laid over a file; [`AgentConfig::from_table`] copies these from the preset when the file
/// leaves them out.
const OPTIONAL_LEARNER_FIELDS: [&str; 6] = [
    "tau",
    "max_scale",
    "target_entropy",
    "target_kl",
    "reset_every_updates",
    "max_grad_norm",
];

/// Fills a parsed TOML table's missing fields from its `preset` (default `bprl`): the preset's
/// configuration with the file's values laid over it, section by section. Unknown top-level
/// keys are left for the caller (an experiment file adds its own sections). The preset's
/// absent options cannot be written in TOML: [`AgentConfig::from_table`] completes them.
///
/// # Errors
/// [`ConfigError::Parse`] for an unknown preset name.
pub fn with_preset(mut table: toml::Table) -> Result<toml::Table, ConfigError> {
    let preset = preset_of(&table)?;
    let base = toml::Table::try_from(preset.config()).map_err(|e| ConfigError::Parse {
        path: "<preset>".into(),
        reason: e.to_string(),
    })?;
    for (key, value) in base {
        match (table.get_mut(&key), value) {
            (Some(toml::Value::Table(user)), toml::Value::Table(defaults))
                if key == "learner" || key == "run" =>
            {
                for (k, v) in defaults {
                    user.entry(k).or_insert(v);
                }
            }
            (Some(_), _) => {}
            (None, value) => {
                // `hierarchy` and `prior` are not laid over: absent means the preset's.
                table.insert(key, value);
            }
        }
    }
    Ok(table)
}

/// The `preset` a table names (default `bprl`).
fn preset_of(table: &toml::Table) -> Result<Preset, ConfigError> {
    match table.get("preset") {
        None => Ok(Preset::default()),
        Some(v) => v.clone().try_into().map_err(|e| ConfigError::Parse {
            path: "<string>".into(),
            reason: format!("preset: {e} (expected \"bprl\" or \"acme\")"),
        }),
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
        let parse = |e: &dyn std::fmt::Display| ConfigError::Parse {
            path: "<string>".into(),
            reason: e.to_string(),
        };
        let table: toml::Table = toml::from_str(text).map_err(|e| parse(&e))?;
        let cfg = Self::from_table(table)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// The configuration a parsed TOML table describes, its missing fields from its preset
    /// ([`with_preset`]); not validated.
    ///
    /// # Errors
    /// [`ConfigError::Parse`] for a bad field or preset.
    pub fn from_table(table: toml::Table) -> Result<Self, ConfigError> {
        let schema = Self::schema();
        check_keys(&table, &schema, "<string>")?;
        let preset = preset_of(&table)?;
        let given: Vec<String> = match table.get("learner") {
            Some(toml::Value::Table(l)) => l.keys().cloned().collect(),
            _ => Vec::new(),
        };
        let mut cfg: Self = with_preset(table)?
            .try_into()
            .map_err(|e: toml::de::Error| parse_error("<string>", &schema, &e))?;
        let base = preset.config().learner;
        let l = &mut cfg.learner;
        for field in OPTIONAL_LEARNER_FIELDS {
            if given.iter().any(|g| g == field) {
                continue;
            }
            match field {
                "tau" => l.tau = base.tau,
                "max_scale" => l.max_scale = base.max_scale,
                "target_entropy" => l.target_entropy = base.target_entropy,
                "target_kl" => l.target_kl = base.target_kl,
                "reset_every_updates" => l.reset_every_updates = base.reset_every_updates,
                _ => l.max_grad_norm = base.max_grad_norm,
            }
        }
        Ok(cfg)
    }

    /// Every key a configuration file may hold, by section (for [`crate::strict::check_keys`];
    /// a caller that adds sections, as the command line's `[env]`, extends it).
    pub fn schema() -> Schema {
        let preset = Preset::default().config();
        let mut learner = keys_of(&preset.learner);
        learner.extend(OPTIONAL_LEARNER_FIELDS.iter().map(|f| f.to_string()));
        learner.sort();
        learner.dedup();
        let mut hierarchy = keys_of(&HierarchyConfig::default());
        hierarchy.push("low_level_groups".into());
        hierarchy.dedup();
        let own = ["preset", "prior", "hierarchy", "learner", "run"];
        Schema::from([
            (String::new(), own.iter().map(|k| k.to_string()).collect()),
            ("learner".into(), learner),
            ("run".into(), keys_of(&preset.run)),
            ("hierarchy".into(), hierarchy),
            ("prior".into(), vec!["learned".into()]),
            ("prior.learned".into(), vec!["groups".into()]),
        ])
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
        Self::from_toml(&text).map_err(|e| e.in_file(path))
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
        self.check_bounds()?;
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
        if let Some(tau) = l.tau
            && !(tau > 0.0 && tau <= 1.0)
        {
            return Err(invalid("learner.tau", tau, "must be in (0, 1]"));
        }
        if !(l.mean_scale.is_finite() && l.mean_scale > 0.0) {
            return Err(invalid(
                "learner.mean_scale",
                l.mean_scale,
                "must be finite and > 0",
            ));
        }
        if let Some(m) = l.max_scale
            && !(m.is_finite() && m > l.min_scale)
        {
            return Err(invalid(
                "learner.max_scale",
                m,
                "must be finite and > learner.min_scale",
            ));
        }
        if let Some(h) = l.target_entropy
            && !h.is_finite()
        {
            return Err(invalid("learner.target_entropy", h, "must be finite"));
        }
        if let Some(k) = l.target_kl {
            if !(k.is_finite() && k > 0.0) {
                return Err(invalid("learner.target_kl", k, "must be finite and > 0"));
            }
            if self.prior == PriorConfig::None {
                return Err(invalid(
                    "learner.target_kl",
                    k,
                    "needs a prior (prior = \"none\" has no KL to tune)",
                ));
            }
        }
        if l.target_entropy.is_some() && l.beta <= 0.0 {
            return Err(invalid(
                "learner.beta",
                l.beta,
                "must be > 0 as the initial value of a tuned entropy weight",
            ));
        }
        if l.target_kl.is_some() && l.alpha <= 0.0 {
            return Err(invalid(
                "learner.alpha",
                l.alpha,
                "must be > 0 as the initial value of a tuned KL weight",
            ));
        }
        if !(l.multiplier_lr.is_finite() && l.multiplier_lr > 0.0) {
            return Err(invalid(
                "learner.multiplier_lr",
                l.multiplier_lr,
                "must be finite and > 0",
            ));
        }
        if l.reset_every_updates == Some(0) {
            return Err(invalid("learner.reset_every_updates", 0, "must be >= 1"));
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

    /// The upper bounds of [`limits`]; the error names the field, the value and the limit.
    fn check_bounds(&self) -> Result<(), ConfigError> {
        use limits::*;
        let (l, r) = (&self.learner, &self.run);
        let sizes = [
            ("learner.batch_size", l.batch_size, MAX_BATCH_SIZE),
            (
                "learner.sequence_length",
                l.sequence_length,
                MAX_SEQUENCE_LENGTH,
            ),
            (
                "learner.action_samples",
                l.action_samples,
                MAX_ACTION_SAMPLES,
            ),
            ("learner.policy_hidden", l.policy_hidden.len(), MAX_LAYERS),
            ("learner.critic_hidden", l.critic_hidden.len(), MAX_LAYERS),
            (
                "run.replay_capacity",
                r.replay_capacity,
                MAX_REPLAY_CAPACITY,
            ),
            ("run.min_replay", r.min_replay, MAX_REPLAY_CAPACITY),
            ("run.actor_threads", r.actor_threads, MAX_ACTOR_THREADS),
            ("run.eval_episodes", r.eval_episodes, MAX_EVAL_EPISODES),
        ];
        for (field, value, limit) in sizes {
            if value > limit {
                return Err(too_large(field, value, limit));
            }
        }
        for (field, h) in [
            ("learner.policy_hidden", &l.policy_hidden),
            ("learner.critic_hidden", &l.critic_hidden),
        ] {
            if let Some(w) = h.iter().find(|&&w| w > MAX_LAYER_WIDTH) {
                return Err(too_large(
                    field,
                    format!("{h:?} (width {w})"),
                    MAX_LAYER_WIDTH,
                ));
            }
        }
        if let Some(h) = &self.hierarchy {
            if h.latent_dim > MAX_LATENT_DIM {
                return Err(too_large(
                    "hierarchy.latent_dim",
                    h.latent_dim,
                    MAX_LATENT_DIM,
                ));
            }
            if h.hold_steps > MAX_HOLD_STEPS {
                return Err(too_large(
                    "hierarchy.hold_steps",
                    h.hold_steps,
                    MAX_HOLD_STEPS,
                ));
            }
        }
        let rows = l.batch_size * (l.sequence_length + 1) * l.action_samples;
        if rows > MAX_BATCH_ROWS {
            return Err(too_large(
                "learner.batch_size * (learner.sequence_length + 1) * learner.action_samples",
                rows,
                MAX_BATCH_ROWS,
            ));
        }
        let widest = l
            .policy_hidden
            .iter()
            .chain(&l.critic_hidden)
            .copied()
            .max()
            .unwrap_or(0);
        if rows * widest > MAX_ACTIVATION_FLOATS {
            return Err(too_large(
                "learner: rows of the largest pass * widest layer",
                rows * widest,
                MAX_ACTIVATION_FLOATS,
            ));
        }
        if r.env_steps > MAX_ENV_STEPS {
            return Err(too_large("run.env_steps", r.env_steps, MAX_ENV_STEPS));
        }
        for (field, v, limit) in [
            (
                "run.updates_per_env_step",
                r.updates_per_env_step,
                MAX_UPDATES_PER_ENV_STEP,
            ),
            (
                "run.samples_per_insert",
                r.samples_per_insert,
                MAX_SAMPLES_PER_INSERT,
            ),
            ("learner.policy_lr", l.policy_lr, MAX_LEARNING_RATE),
            ("learner.critic_lr", l.critic_lr, MAX_LEARNING_RATE),
            ("learner.prior_lr", l.prior_lr, MAX_LEARNING_RATE),
            ("learner.multiplier_lr", l.multiplier_lr, MAX_LEARNING_RATE),
            ("learner.alpha", f64::from(l.alpha), f64::from(MAX_WEIGHT)),
            ("learner.beta", f64::from(l.beta), f64::from(MAX_WEIGHT)),
        ] {
            if v > limit {
                return Err(too_large(field, v, limit));
            }
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
