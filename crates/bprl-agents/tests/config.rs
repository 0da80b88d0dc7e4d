//! Configuration: Acme's defaults, TOML round trip, typed errors naming the bad field.

use bprl_agents::{
    AgentConfig, ConfigError, CriticChoice, LearnerConfig, Preset, PriorConfig, TaskSplit, Trainer,
};
use bprl_envs::Suite;

#[test]
fn the_acme_preset_is_acme_svg0_prior() {
    let c = Preset::Acme.config();
    let l = &c.learner;
    assert_eq!(
        (l.gamma, l.batch_size, l.sequence_length, l.target_period),
        (0.99, 256, 10, 100)
    );
    assert_eq!((l.policy_lr, l.critic_lr, l.prior_lr), (1e-4, 1e-4, 1e-4));
    assert_eq!(
        (l.alpha, l.beta, l.action_samples, l.lambda),
        (1e-3, 1e-3, 10, 1.0)
    );
    assert_eq!(
        (
            l.policy_hidden.clone(),
            l.critic_hidden.clone(),
            l.min_scale
        ),
        (vec![200, 100], vec![400, 300], 0.1)
    );
    assert!(!l.twin_critics && !l.squash && !l.value_entropy);
    assert_eq!(
        (l.tau, l.max_scale, l.target_entropy, l.target_kl),
        (None, None, None, None)
    );
    assert_eq!((l.policy_critic, l.mean_scale), (CriticChoice::Target, 1.0));
    c.validate().unwrap();
}

#[test]
fn the_default_is_the_bprl_preset_and_a_file_picks_its_preset() {
    let d = AgentConfig::default();
    assert_eq!(d, Preset::Bprl.config());
    assert_eq!(d.learner, LearnerConfig::bprl());
    let l = &d.learner;
    assert!(l.twin_critics && l.squash && l.value_entropy);
    assert_eq!((l.tau, l.target_entropy), (Some(0.005), Some(-1.0)));
    // Sizes and rates are Acme's in both presets.
    let a = LearnerConfig::acme();
    assert_eq!(
        (l.batch_size, l.policy_lr, &l.critic_hidden),
        (a.batch_size, a.policy_lr, &a.critic_hidden)
    );
    // A file's missing fields come from its preset; its own fields win.
    let c = AgentConfig::from_toml("preset = \"acme\"\n[learner]\nalpha = 0.25\n").unwrap();
    assert_eq!(c.preset, Preset::Acme);
    assert_eq!(
        c.learner,
        LearnerConfig {
            alpha: 0.25,
            ..LearnerConfig::acme()
        }
    );
    let c = AgentConfig::from_toml("[learner]\ntwin_critics = false\n").unwrap();
    assert_eq!(
        c.learner,
        LearnerConfig {
            twin_critics: false,
            ..LearnerConfig::bprl()
        }
    );
    let e = AgentConfig::from_toml("preset = \"sac\"\n").unwrap_err();
    assert!(e.to_string().contains("preset"), "{e}");
    // Round trip of a non-default preset.
    let acme = Preset::Acme.config();
    assert_eq!(AgentConfig::from_toml(&acme.to_toml()).unwrap(), acme);
}

#[test]
fn toml_round_trip_and_partial_files() {
    let mut c = AgentConfig::default();
    c.learner.alpha = 0.5;
    c.prior = PriorConfig::StandardNormal;
    c.hierarchy = Some(bprl_agents::HierarchyConfig {
        latent_dim: 3,
        hold_steps: 4,
        low_level: bprl_agents::LowLevel::Shared,
        low_level_groups: Some(vec!["proprio".into()]),
    });
    let back = AgentConfig::from_toml(&c.to_toml()).unwrap();
    assert_eq!(back, c);
    let partial = AgentConfig::from_toml("[learner]\nalpha = 0.25\n").unwrap();
    assert_eq!(partial.learner.alpha, 0.25);
    assert_eq!(
        partial.learner.batch_size, 256,
        "missing fields take defaults"
    );
}

#[test]
fn invalid_configs_name_the_field() {
    let e = AgentConfig::from_toml("[learner]\ngamma = 1.5\n").unwrap_err();
    assert!(
        matches!(&e, ConfigError::Invalid { field, value, .. } if field == "learner.gamma" && value == "1.5"),
        "{e}"
    );
    let e = AgentConfig::from_toml("[learner]\nlambda = -0.1\n").unwrap_err();
    assert!(e.to_string().contains("learner.lambda"));
    let e = AgentConfig::from_toml("[run]\nmin_replay = 10\nreplay_capacity = 5\n").unwrap_err();
    assert!(e.to_string().contains("run.min_replay"));
    let e = AgentConfig::from_toml(
        "[hierarchy]\nlatent_dim = 0\nhold_steps = 1\nlow_level = \"shared\"\n",
    )
    .unwrap_err();
    assert!(e.to_string().contains("hierarchy.latent_dim"));
    let e = AgentConfig::from_toml("[learner]\ngamma = \"high\"\n").unwrap_err();
    assert!(matches!(e, ConfigError::Parse { .. }), "{e}");
    let e = AgentConfig::load(std::path::Path::new("/nonexistent/bprl.toml")).unwrap_err();
    assert!(matches!(e, ConfigError::Io { .. }));
    let mut bad = AgentConfig::default();
    bad.learner.critic_hidden = vec![];
    assert!(Trainer::new(bad, Suite::point_mass_default(), TaskSplit::Train).is_err());
}

/// The prior's input is named by observation groups, checked against the environment's spec:
/// an unknown name is a typed error naming the field, the group and the groups there are.
#[test]
fn prior_groups_are_checked_against_the_environment() {
    use bprl_agents::{AgentError, HierarchyConfig, LowLevel};
    let suite = Suite::point_mass_default;
    let mut c = AgentConfig {
        prior: PriorConfig::learned(&["proprio", "targts"]),
        ..AgentConfig::default()
    };
    let e = Trainer::new(c.clone(), suite(), TaskSplit::Train).unwrap_err();
    match &e {
        AgentError::Config(ConfigError::UnknownGroup {
            field,
            group,
            available,
        }) => {
            assert_eq!(field, "prior.learned.groups");
            assert_eq!(group, "targts");
            assert_eq!(available, &["proprio", "targets", "goal"]);
        }
        other => panic!("expected UnknownGroup, got {other}"),
    }
    assert!(e.to_string().contains("`targts`"), "{e}");
    c.prior = PriorConfig::learned(&["proprio", "proprio"]);
    let e = Trainer::new(c.clone(), suite(), TaskSplit::Train).unwrap_err();
    assert!(e.to_string().contains("twice"), "{e}");
    c.prior = PriorConfig::learned::<&str>(&[]);
    assert!(c.validate().is_err(), "a learned prior needs a group");
    // The low level's groups: known, and within the prior's when the low level is shared.
    c.prior = PriorConfig::learned(&["proprio"]);
    c.hierarchy = Some(HierarchyConfig {
        low_level_groups: Some(vec!["goal".into()]),
        ..HierarchyConfig::default()
    });
    let e = Trainer::new(c.clone(), suite(), TaskSplit::Train).unwrap_err();
    assert!(e.to_string().contains("hierarchy.low_level_groups"), "{e}");
    c.hierarchy = Some(HierarchyConfig {
        low_level: LowLevel::Separate,
        low_level_groups: Some(vec!["goal".into(), "proprio".into()]),
        ..HierarchyConfig::default()
    });
    Trainer::new(c.clone(), suite(), TaskSplit::Train)
        .expect("a separate low level may see the goal");
    c.hierarchy = Some(HierarchyConfig {
        low_level: LowLevel::Separate,
        low_level_groups: Some(vec!["joints".into()]),
        ..HierarchyConfig::default()
    });
    let e = Trainer::new(c, suite(), TaskSplit::Train).unwrap_err();
    assert!(
        matches!(e, AgentError::Config(ConfigError::UnknownGroup { .. })),
        "{e}"
    );
}
