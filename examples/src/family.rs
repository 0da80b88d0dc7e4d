//! Which task family a run trains on: the built-in 2-D suite (`[env]`) or, with the `mujoco`
//! feature, the MuJoCo go-to-target tasks (`[mujoco]`). Every command is written once over a
//! [`Described`] family and dispatched here.

use crate::experiment::Experiment;
use bprl_agents::{AgentConfig, TaskFamily, Trainer};
use bprl_envs::Suite;
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

const NO_MUJOCO: &str = "this configuration has a [mujoco] section, but this `bprl` was built \
without MuJoCo: rebuild with `--features mujoco` (cargo run --release -p bprl-examples \
--features mujoco -- ...; `make deps` installs the library)";

impl Experiment {
    /// The family this configuration trains on.
    ///
    /// # Errors
    /// A `[mujoco]` section without the `mujoco` feature, or a bad section.
    pub fn family(&self) -> Result<Family, String> {
        match &self.mujoco {
            None => Ok(Family::Suite(self.suite())),
            #[cfg(feature = "mujoco")]
            Some(table) => Ok(Family::Mujoco(family_of(table)?)),
            #[cfg(not(feature = "mujoco"))]
            Some(_) => Err(NO_MUJOCO.into()),
        }
    }
}

/// The family of a `[mujoco]` section: `walker` picks the defaults of the missing fields
/// (`TaskConfig::quadruped` or `TaskConfig::point_mass`), `held_out_grid` the held-out arena.
///
/// # Errors
/// An unknown walker or a bad field, as text naming it.
#[cfg(feature = "mujoco")]
pub fn family_of(table: &toml::Table) -> Result<bprl_mujoco::GoToTargetFamily, String> {
    let mut table = table.clone();
    let held_out_grid = match table.remove("held_out_grid") {
        None => None,
        Some(v) => Some(
            v.as_integer()
                .and_then(|g| usize::try_from(g).ok())
                .ok_or_else(|| format!("[mujoco] held_out_grid = {v}: must be a count"))?,
        ),
    };
    let walker: bprl_mujoco::WalkerKind = match table.get("walker") {
        None => bprl_mujoco::WalkerKind::Quadruped,
        Some(v) => v
            .clone()
            .try_into()
            .map_err(|e: toml::de::Error| format!("[mujoco] walker: {e}"))?,
    };
    let base = match walker {
        bprl_mujoco::WalkerKind::Quadruped => bprl_mujoco::TaskConfig::quadruped(),
        bprl_mujoco::WalkerKind::PointMass => bprl_mujoco::TaskConfig::point_mass(),
    };
    let mut merged = toml::Table::try_from(&base).map_err(|e| e.to_string())?;
    merged.extend(table);
    let config: bprl_mujoco::TaskConfig = merged
        .try_into()
        .map_err(|e: toml::de::Error| format!("[mujoco]: {e}"))?;
    config.validate().map_err(|e| format!("[mujoco]: {e}"))?;
    Ok(bprl_mujoco::GoToTargetFamily {
        held_out_grid,
        ..bprl_mujoco::GoToTargetFamily::new(config)
    })
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
