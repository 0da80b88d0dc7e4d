//! The crate's error type.

use std::path::PathBuf;

/// What can go wrong between actors, Redis and the learner.
#[derive(Debug, thiserror::Error)]
pub enum DistError {
    /// A message or parameter blob that does not decode (rejected and counted by the learner).
    #[error("bad {what}: {reason}")]
    Wire {
        /// Which format (`item message`, `parameters`, `run record`).
        what: &'static str,
        /// Why: magic, version, length, checksum, payload.
        reason: String,
    },
    /// A message or blob of another run.
    #[error("{what} of run {found:016x}, this run is {expected:016x}")]
    ForeignRun {
        /// Which format.
        what: &'static str,
        /// This run's id.
        expected: u64,
        /// The id in the message.
        found: u64,
    },
    /// Redis could not be reached within the reconnect budget, or answered with an error.
    #[error("redis {url}: {op}: {reason}")]
    Redis {
        /// The server.
        url: String,
        /// The command that failed.
        op: String,
        /// The client's error.
        reason: String,
    },
    /// A local `redis-server` that could not be started or stopped.
    #[error("redis-server ({dir}): {reason}")]
    Server {
        /// Its data folder.
        dir: PathBuf,
        /// What failed.
        reason: String,
    },
    /// A bad setting.
    #[error("{field} = {value}: {requirement}")]
    Invalid {
        /// The setting.
        field: &'static str,
        /// Its value.
        value: String,
        /// What it must be.
        requirement: String,
    },
    /// An error of the agent (learner, replay, environment, checkpoint).
    #[error(transparent)]
    Agent(#[from] bprl_agents::AgentError),
}

impl From<bprl_replay::ReplayError> for DistError {
    fn from(e: bprl_replay::ReplayError) -> Self {
        DistError::Agent(e.into())
    }
}

impl From<bprl_envs::EnvError> for DistError {
    fn from(e: bprl_envs::EnvError) -> Self {
        DistError::Agent(e.into())
    }
}

/// The crate's result type.
pub type Result<T, E = DistError> = std::result::Result<T, E>;
