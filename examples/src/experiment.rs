//! The command line's configuration file: the agent's configuration plus the built-in suite it
//! trains on (the `[env]` section), or the MuJoCo tasks (the `[mujoco]` section, feature
//! `mujoco`).

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
    /// The MuJoCo go-to-target tasks instead of the suite, when present: the fields of
    /// `bprl_mujoco::TaskConfig` (missing ones from its `walker`'s defaults) and
    /// `held_out_grid`. Needs the command line's `mujoco` feature; a loaded file holds every
    /// field (the defaults filled in), so two files of the same tasks compare equal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mujoco: Option<toml::Table>,
}

/// The error for a `[mujoco]` section in a build without the `mujoco` feature.
pub const NO_MUJOCO: &str = "this configuration has a [mujoco] section, but this `bprl` was \
built without MuJoCo: rebuild with `--features mujoco` (cargo run --release -p bprl-examples \
--features mujoco -- ...; `make deps` installs the library)";

impl Experiment {
    /// Every key the file may hold: the agent's sections, `[env]` and `[mujoco]` (whose
    /// keys are known only with the `mujoco` feature; without it the section is refused).
    pub fn schema() -> bprl_agents::strict::Schema {
        use bprl_agents::strict::keys_of;
        let mut schema = AgentConfig::schema();
        if let Some(top) = schema.get_mut("") {
            top.push("env".into());
            top.push("mujoco".into());
        }
        let env = SuiteConfig::default();
        schema.insert("env".into(), keys_of(&env));
        schema.insert("env.targets".into(), keys_of(&env.targets));
        #[cfg(feature = "mujoco")]
        {
            let mut keys = keys_of(&bprl_mujoco::TaskConfig::quadruped());
            keys.push("held_out_grid".into());
            schema.insert("mujoco".into(), keys);
        }
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
        let mujoco = match table.remove("mujoco") {
            None => None,
            Some(toml::Value::Table(t)) => Some(mujoco_section(&t)?),
            Some(_) => return Err(parse(&"`mujoco` must be a table ([mujoco])")),
        };
        // Missing agent fields come from the file's preset (`preset = "acme"` or the default).
        let agent = AgentConfig::from_table(table)?;
        agent.validate()?;
        Ok(Self { agent, env, mujoco })
    }

    /// The configuration of a run on a suite (for `config.toml` of a resumed run).
    pub fn of(agent: &AgentConfig, suite: &Suite) -> Self {
        Self {
            agent: agent.clone(),
            env: SuiteConfig {
                body: suite.body,
                targets: suite.config.clone(),
                held_out: bprl_envs::HeldOutTasks::of(&suite.held_out, suite.config.num_targets)
                    .unwrap_or_default(),
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

/// A `[mujoco]` section with every field filled in (checked: known keys, valid values).
#[cfg(feature = "mujoco")]
fn mujoco_section(table: &toml::Table) -> Result<toml::Table, ConfigError> {
    Ok(mujoco_table(&mujoco_family(table)?))
}

/// Without the `mujoco` feature a `[mujoco]` section is an error.
#[cfg(not(feature = "mujoco"))]
fn mujoco_section(_table: &toml::Table) -> Result<toml::Table, ConfigError> {
    Err(ConfigError::Parse {
        path: "<string>".into(),
        reason: NO_MUJOCO.into(),
    })
}

/// The family of a `[mujoco]` section: `walker` picks the defaults of the missing fields
/// (`TaskConfig::quadruped` or `TaskConfig::point_mass`), `held_out_grid` the held-out arena
/// (cells per side, within the same bounds as `grid`).
///
/// # Errors
/// An unknown key (with the nearest known one), an unknown walker or a bad field.
#[cfg(feature = "mujoco")]
pub fn mujoco_family(table: &toml::Table) -> Result<bprl_mujoco::GoToTargetFamily, ConfigError> {
    use bprl_mujoco::{GoToTargetFamily, TaskConfig, WalkerKind};
    let schema = Experiment::schema();
    let parse = |e: &dyn std::fmt::Display| {
        let inner = parse_error("<string>", &schema, e);
        match inner {
            ConfigError::Parse { path, reason } => ConfigError::Parse {
                path,
                reason: format!("[mujoco]: {reason}"),
            },
            other => other,
        }
    };
    let mut wrapped = toml::Table::new();
    wrapped.insert("mujoco".into(), toml::Value::Table(table.clone()));
    check_keys(&wrapped, &schema, "<string>")?;
    let mut table = table.clone();
    let held_out_grid = match table.remove("held_out_grid") {
        None => None,
        Some(v) => Some(
            v.as_integer()
                .and_then(|g| usize::try_from(g).ok())
                .ok_or_else(|| ConfigError::Invalid {
                    field: "mujoco.held_out_grid".into(),
                    value: v.to_string(),
                    requirement: "must be a count of cells per side".into(),
                })?,
        ),
    };
    let walker: WalkerKind = match table.get("walker") {
        None => WalkerKind::Quadruped,
        Some(v) => v
            .clone()
            .try_into()
            .map_err(|e: toml::de::Error| parse(&e))?,
    };
    let base = match walker {
        WalkerKind::Quadruped => TaskConfig::quadruped(),
        WalkerKind::PointMass => TaskConfig::point_mass(),
    };
    let mut merged = toml::Table::try_from(&base).map_err(|e| parse(&e))?;
    merged.extend(table);
    let config: TaskConfig = merged.try_into().map_err(|e: toml::de::Error| parse(&e))?;
    let invalid = |e: bprl_mujoco::MujocoError| ConfigError::Parse {
        path: "<string>".into(),
        reason: format!("[mujoco]: {e}"),
    };
    config.validate().map_err(invalid)?;
    let family = GoToTargetFamily {
        held_out_grid,
        ..GoToTargetFamily::new(config)
    };
    if held_out_grid.is_some() {
        family
            .split_config(bprl_agents::TaskSplit::HeldOut)
            .validate()
            .map_err(|e| ConfigError::Parse {
                path: "<string>".into(),
                reason: format!("[mujoco] held_out_grid: {e}"),
            })?;
    }
    Ok(family)
}

/// The `[mujoco]` section of a family: every field of its configuration and, when it has
/// one, `held_out_grid`.
#[cfg(feature = "mujoco")]
pub fn mujoco_table(family: &bprl_mujoco::GoToTargetFamily) -> toml::Table {
    let mut table = toml::Table::try_from(&family.config).unwrap_or_default();
    if let Some(g) = family.held_out_grid {
        let g = i64::try_from(g).unwrap_or(i64::MAX);
        table.insert("held_out_grid".into(), toml::Value::Integer(g));
    }
    table
}
