//! Typed errors of the agents. Configuration problems are [`ConfigError`]; everything that
//! happens while running is [`AgentError`].

use std::path::PathBuf;
use thiserror::Error;

/// A configuration that cannot run; names the field and the bad value.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// A field outside its allowed range.
    #[error("config field `{field}` = {value}: {requirement}")]
    Invalid {
        /// Dotted path of the field (for example `learner.gamma`).
        field: String,
        /// The value, as text.
        value: String,
        /// What it must satisfy.
        requirement: String,
    },
    /// A configuration names an observation group the environment does not have.
    #[error(
        "config field `{field}` names observation group `{group}`, which the environment does not have (its groups: {available:?})"
    )]
    UnknownGroup {
        /// Dotted path of the field (for example `prior.learned.groups`).
        field: String,
        /// The unknown name.
        group: String,
        /// The groups of the environment's observation spec.
        available: Vec<String>,
    },
    /// A key the configuration does not have (a typo, or a field of another section); the
    /// nearest known key is suggested when one is close.
    #[error("config {path}: unknown key `{key}`{}", did_you_mean.as_ref().map_or_else(String::new, |s| format!(" (did you mean `{s}`?)")))]
    UnknownKey {
        /// The file (or `<string>`).
        path: PathBuf,
        /// Dotted path of the unknown key (for example `learner.polcy_lr`).
        key: String,
        /// The nearest known key, dotted, when one is within a small edit distance.
        did_you_mean: Option<String>,
    },
    /// A size or weight above the bound the configuration accepts (so that no allocation
    /// aborts and no loop runs for practically ever).
    #[error("config field `{field}` = {value} is too large: the limit is {limit}")]
    TooLarge {
        /// Dotted path of the field (for example `learner.batch_size`).
        field: String,
        /// The value, as text.
        value: String,
        /// The largest value accepted, as text.
        limit: String,
    },
    /// The TOML text could not be parsed into a configuration.
    #[error("config {path}: {reason}")]
    Parse {
        /// The file (or `<string>`).
        path: PathBuf,
        /// The parser's message (it names the field and line).
        reason: String,
    },
    /// The configuration file could not be read.
    #[error("config {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

impl ConfigError {
    /// The same error, naming `path` as its file where it names one (`<string>` before).
    pub fn in_file(self, path: &std::path::Path) -> Self {
        match self {
            ConfigError::Parse { reason, .. } => ConfigError::Parse {
                path: path.to_path_buf(),
                reason,
            },
            ConfigError::UnknownKey {
                key, did_you_mean, ..
            } => ConfigError::UnknownKey {
                path: path.to_path_buf(),
                key,
                did_you_mean,
            },
            other => other,
        }
    }
}

/// What went wrong while training, acting, checkpointing or evaluating.
#[derive(Debug, Error)]
pub enum AgentError {
    /// An invalid configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A loss, observation, reward or gradient became NaN or infinite.
    #[error("non-finite {what} at learner step {step} (the last good checkpoint is kept)")]
    NonFinite {
        /// Where it appeared (for example `critic loss`, `observation`).
        what: String,
        /// The learner step.
        step: u64,
    },
    /// A checkpoint could not be read or written.
    #[error("checkpoint {path}: {reason}")]
    Checkpoint {
        /// The file or folder.
        path: PathBuf,
        /// What failed (I/O, truncation, checksum, version, decoding).
        reason: String,
    },
    /// An output file could not be written.
    #[error("writing {path}: {reason}")]
    Output {
        /// The file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// Two learners (a checkpoint and its configuration, or a transfer's source and target)
    /// whose parameter arrays differ: the first differing array, by name, and both shapes.
    #[error("{context}: parameter `{name}` has shape {found:?}, expected {expected:?}")]
    ParameterShape {
        /// What was being matched (for example `transfer of the prior`).
        context: String,
        /// Dotted name of the array.
        name: String,
        /// The shape the receiving learner has.
        expected: Vec<usize>,
        /// The shape of the array offered.
        found: Vec<usize>,
    },
    /// A checkpoint whose parts do not belong together: a state file of another run, or of
    /// another episode than its name and `LATEST` say, or a replay file not written with it.
    #[error("checkpoint {path}: {what} is {found}, expected {expected}")]
    CheckpointMismatch {
        /// The file.
        path: PathBuf,
        /// What differs (`run id`, `episode`, `replay digest`).
        what: String,
        /// The value the rest of the checkpoint requires.
        expected: String,
        /// The value found.
        found: String,
    },
    /// A batch or network shape that does not fit.
    #[error("shape: {0}")]
    Shape(String),
    /// The environment reported an error.
    #[error(transparent)]
    Env(#[from] bprl_envs::EnvError),
    /// The replay reported an error.
    #[error(transparent)]
    Replay(#[from] bprl_replay::ReplayError),
    /// A policy module reported an error.
    #[error(transparent)]
    Policy(#[from] bprl_policy::PolicyError),
    /// The network layer reported an error.
    #[error(transparent)]
    Network(#[from] bprl_nn::NnError),
    /// The Retrace estimator reported an error.
    #[error(transparent)]
    Retrace(#[from] bprl_retrace::RetraceError),
    /// A distribution reported an error.
    #[error(transparent)]
    Distribution(#[from] bprl_distributions::DistError),
}

impl From<bprl_replay::ConfigError> for AgentError {
    fn from(e: bprl_replay::ConfigError) -> Self {
        AgentError::Config(ConfigError::Invalid {
            field: "replay".into(),
            value: String::new(),
            requirement: e.to_string(),
        })
    }
}

/// Shorthand for `Result<T, AgentError>`.
pub type Result<T> = std::result::Result<T, AgentError>;
