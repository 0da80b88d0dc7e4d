//! The command line's configuration file: the agent's configuration plus the built-in suite it
//! trains on (the `[env]` section), or the MuJoCo tasks (the `[mujoco]` section).

use bprl_agents::{AgentConfig, ConfigError};
use bprl_envs::{Suite, SuiteConfig};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// An agent configuration and the suite it runs on, as one TOML file.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Experiment {
    /// Prior, hierarchy, learner and loop (the top-level sections).
    #[serde(flatten)]
    pub agent: AgentConfig,
    /// The built-in suite: body and targets.
    pub env: SuiteConfig,
    /// The MuJoCo go-to-target tasks instead of the suite, when present: the fields of
    /// `bprl_mujoco::TaskConfig` (missing ones from its `walker`'s defaults) and
    /// `held_out_grid`. Needs the command line's `mujoco` feature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mujoco: Option<toml::Table>,
}

impl Experiment {
    /// Reads and validates a TOML file (missing fields take their preset's defaults).
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::Io {
                path: path.to_path_buf(),
                source: e,
            }
            .to_string()
        })?;
        let parse = |reason: String| {
            ConfigError::Parse {
                path: path.to_path_buf(),
                reason,
            }
            .to_string()
        };
        let mut table: toml::Table = toml::from_str(&text).map_err(|e| parse(e.to_string()))?;
        let env: SuiteConfig = match table.remove("env") {
            Some(v) => v
                .try_into()
                .map_err(|e: toml::de::Error| parse(e.to_string()))?,
            None => SuiteConfig::default(),
        };
        let mujoco = match table.remove("mujoco") {
            Some(toml::Value::Table(t)) => Some(t),
            Some(_) => return Err(parse("`mujoco` must be a table ([mujoco])".into())),
            None => None,
        };
        // Missing agent fields come from the file's preset (`preset = "acme"` or the default).
        let agent = AgentConfig::from_table(table).map_err(|e| match e {
            ConfigError::Parse { reason, .. } => parse(reason),
            other => other.to_string(),
        })?;
        let e = Self { agent, env, mujoco };
        e.agent.validate().map_err(|e| e.to_string())?;
        Ok(e)
    }

    /// The configuration of a run on a suite (for `config.toml` of a resumed run).
    pub fn of(agent: &AgentConfig, suite: &Suite) -> Self {
        Self {
            agent: agent.clone(),
            env: SuiteConfig {
                body: suite.body,
                targets: suite.config.clone(),
            },
            mujoco: None,
        }
    }

    /// The suite.
    pub fn suite(&self) -> Suite {
        Suite::from_config(&self.env)
    }

    /// The configuration as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# could not encode config: {e}\n"))
    }
}
