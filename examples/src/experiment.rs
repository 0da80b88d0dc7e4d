//! The command line's configuration file: the agent's configuration plus the built-in suite it
//! trains on (the `[env]` section).

use bprl_agents::strict::{check_keys, parse_error};
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
}

impl Experiment {
    /// Every key the file may hold: the agent's sections and `[env]`.
    pub fn schema() -> bprl_agents::strict::Schema {
        use bprl_agents::strict::keys_of;
        let mut schema = AgentConfig::schema();
        if let Some(top) = schema.get_mut("") {
            top.push("env".into());
        }
        let env = SuiteConfig::default();
        schema.insert("env".into(), keys_of(&env));
        schema.insert("env.targets".into(), keys_of(&env.targets));
        schema
    }

    /// Reads and validates a TOML file (missing fields take their preset's defaults; an
    /// unknown key is an error with the nearest known key; every size is bounded).
    pub fn load(path: &Path) -> Result<Self, String> {
        Self::load_typed(path).map_err(|e| e.to_string())
    }

    /// [`Experiment::load`] with the typed error.
    pub fn load_typed(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        Self::from_toml(&text).map_err(|e| e.in_file(path))
    }

    /// Parses and validates the text of a configuration file.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let schema = Self::schema();
        let parse = |e: &dyn std::fmt::Display| parse_error("<string>", &schema, e);
        let mut table: toml::Table = toml::from_str(text).map_err(|e| parse(&e))?;
        check_keys(&table, &schema, "<string>")?;
        let env: SuiteConfig = match table.remove("env") {
            Some(v) => v.try_into().map_err(|e: toml::de::Error| parse(&e))?,
            None => SuiteConfig::default(),
        };
        env.targets.validate().map_err(|e| ConfigError::Invalid {
            field: "env.targets".into(),
            value: String::new(),
            requirement: e.to_string(),
        })?;
        // Missing agent fields come from the file's preset (`preset = "acme"` or the default).
        let agent = AgentConfig::from_table(table)?;
        agent.validate()?;
        Ok(Self { agent, env })
    }

    /// The configuration of a run on a suite (for `config.toml` of a resumed run).
    pub fn of(agent: &AgentConfig, suite: &Suite) -> Self {
        Self {
            agent: agent.clone(),
            env: SuiteConfig {
                body: suite.body,
                targets: suite.config.clone(),
            },
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
