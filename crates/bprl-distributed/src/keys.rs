//! The Redis keys of a run, all under one prefix (default `bprl`; one run per prefix).
//!
//! | key | type | written by | holds |
//! |---|---|---|---|
//! | `{p}:run` | hash | learner | `kind` (the task family's kind, for the command line), `record` ([`crate::wire::RunRecord`]) |
//! | `{p}:items` | stream | actors | entries with one field `m` ([`crate::wire::Envelope`]); capped by the actors' script, trimmed by the learner after each checkpoint |
//! | `{p}:params` | hash | learner | `version` (a counter, +1 per publication), `blob` ([`crate::wire::Parameters`]) |
//! | `{p}:sent` | hash | actors | `<actor>.<incarnation>` → the last sequence number that actor start put on the stream |
//! | `{p}:incarnations` | hash | actors | `<actor>` → how many times it has started |
//! | `{p}:steps` | string | actors | environment steps in the messages put on the stream (the actors stop at the budget) |
//! | `{p}:progress` | hash | learner | `env_steps`, `updates`, `episodes`, `rejected`, `done` (for launchers and monitors) |
//! | `{p}:stop` | string | learner | present once the step budget is spent: actors finish and exit |

/// The key names of one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    /// The keys under `prefix`.
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_string(),
        }
    }

    fn key(&self, name: &str) -> String {
        format!("{}:{name}", self.prefix)
    }

    /// The run record.
    pub fn run(&self) -> String {
        self.key("run")
    }

    /// The item stream.
    pub fn items(&self) -> String {
        self.key("items")
    }

    /// The parameter hash.
    pub fn params(&self) -> String {
        self.key("params")
    }

    /// The actors' sent counters.
    pub fn sent(&self) -> String {
        self.key("sent")
    }

    /// The actors' start counters.
    pub fn incarnations(&self) -> String {
        self.key("incarnations")
    }

    /// The actors' step counter.
    pub fn steps(&self) -> String {
        self.key("steps")
    }

    /// The learner's progress.
    pub fn progress(&self) -> String {
        self.key("progress")
    }

    /// The stop flag.
    pub fn stop(&self) -> String {
        self.key("stop")
    }
}

/// The consumer group the learner reads with.
pub const GROUP: &str = "learner";
/// The learner's consumer name (one learner per run).
pub const CONSUMER: &str = "learner";
