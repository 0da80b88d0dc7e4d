//! Which task family a run trains on: the built-in 2-D suite (`[env]`) or, with the `mujoco`
//! feature, the MuJoCo go-to-target tasks (`[mujoco]`). Every command is written once over a
//! [`Described`] family and dispatched here.

use bprl_agents::{AgentConfig, TaskFamily, Trainer};
use bprl_envs::Suite;
use bprl_examples::experiment::{Experiment, NO_MUJOCO};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::Path;

/// A family the command line can run: it writes itself back into a configuration file and
/// may add pictures and baselines after training.
pub trait Described: TaskFamily + Serialize + DeserializeOwned
where
    Self::Env: Send,
{
    /// The configuration file of a run of `agent` on this family.
    fn experiment(&self, agent: &AgentConfig) -> Experiment;

    /// What to write into the run folder `out` after training (nothing by default).
    ///
    /// # Errors
    /// Writing or acting errors, as text.
    fn after_training(_trainer: &mut Trainer<Self>, _out: &Path) -> Result<(), String> {
        Ok(())
    }
}

impl Described for Suite {
    fn experiment(&self, agent: &AgentConfig) -> Experiment {
        Experiment::of(agent, self)
    }
}

/// The family a configuration names.
pub enum Family {
    /// The built-in suite (`[env]`).
    Suite(Suite),
    /// The MuJoCo tasks (`[mujoco]`).
    #[cfg(feature = "mujoco")]
    Mujoco(bprl_mujoco::GoToTargetFamily),
}

/// The kind of family a saved run has (read from its `config.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The built-in suite.
    Suite,
    /// The MuJoCo tasks.
    Mujoco,
}

/// The family a configuration trains on.
///
/// # Errors
/// A `[mujoco]` section without the `mujoco` feature, or a bad section.
pub fn of(e: &Experiment) -> Result<Family, String> {
    match &e.mujoco {
        None => Ok(Family::Suite(e.suite())),
        #[cfg(feature = "mujoco")]
        Some(table) => Ok(Family::Mujoco(
            bprl_examples::experiment::mujoco_family(table).map_err(|e| e.to_string())?,
        )),
        #[cfg(not(feature = "mujoco"))]
        Some(_) => Err(NO_MUJOCO.into()),
    }
}

/// The kind of the run whose configuration file is `config` (the suite when there is none:
/// runs from before the MuJoCo tasks).
///
/// # Errors
/// An unreadable or unparsable file; a MuJoCo run without the `mujoco` feature.
pub fn kind_of(config: &Path) -> Result<Kind, String> {
    if !config.exists() {
        return Ok(Kind::Suite);
    }
    let text = std::fs::read_to_string(config).map_err(|e| format!("{}: {e}", config.display()))?;
    let table: toml::Table =
        toml::from_str(&text).map_err(|e| format!("{}: {e}", config.display()))?;
    if !table.contains_key("mujoco") {
        return Ok(Kind::Suite);
    }
    if cfg!(feature = "mujoco") {
        Ok(Kind::Mujoco)
    } else {
        Err(format!("{}: {NO_MUJOCO}", config.display()))
    }
}

/// The `config.toml` of the run a checkpoint folder belongs to (`RUN/checkpoint`).
pub fn run_config_of_checkpoint(checkpoint: &Path) -> std::path::PathBuf {
    checkpoint
        .parent()
        .unwrap_or(Path::new("."))
        .join("config.toml")
}

/// Runs `$body` with `$t` bound to the family type of `$kind`.
macro_rules! with_kind {
    ($kind:expr, $t:ident => $body:expr) => {
        match $kind {
            $crate::family::Kind::Suite => {
                type $t = bprl_envs::Suite;
                $body
            }
            #[cfg(feature = "mujoco")]
            $crate::family::Kind::Mujoco => {
                type $t = bprl_mujoco::GoToTargetFamily;
                $body
            }
            #[cfg(not(feature = "mujoco"))]
            $crate::family::Kind::Mujoco => unreachable!("kind_of refuses MuJoCo runs"),
        }
    };
}

/// Runs `$body` with `$f` bound to the family value of `$family`.
macro_rules! with_family {
    ($family:expr, $f:ident => $body:expr) => {
        match $family {
            $crate::family::Family::Suite($f) => $body,
            #[cfg(feature = "mujoco")]
            $crate::family::Family::Mujoco($f) => $body,
        }
    };
}

pub(crate) use {with_family, with_kind};
