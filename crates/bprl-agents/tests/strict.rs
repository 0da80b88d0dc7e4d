//! Issue 15: strict configuration files. Unknown or misspelled keys were ignored
//! (`polcy_lr = 1e9`, a `[learnr]` section, `env_step = 500` all exited 0) and nine size
//! fields had no upper bound; each case is pinned here.

use bprl_agents::config::limits;
use bprl_agents::{AgentConfig, ConfigError, Preset};

fn unknown(text: &str) -> (String, Option<String>) {
    match AgentConfig::from_toml(text) {
        Err(ConfigError::UnknownKey {
            key, did_you_mean, ..
        }) => (key, did_you_mean),
        other => panic!("expected UnknownKey for {text:?}, got {other:?}"),
    }
}

/// Issue 15: `polcy_lr = 1e9` was ignored.
#[test]
fn misspelled_polcy_lr_is_an_unknown_key_with_a_suggestion() {
    let (key, hint) = unknown("[learner]\npolcy_lr = 1e9\n");
    assert_eq!(key, "learner.polcy_lr");
    assert_eq!(hint.as_deref(), Some("learner.policy_lr"));
    let e = AgentConfig::from_toml("[learner]\npolcy_lr = 1e9\n").unwrap_err();
    assert!(
        e.to_string().contains("did you mean `learner.policy_lr`"),
        "{e}"
    );
}

/// Issue 15: a `[learnr]` section with `gamma = 2.0` was ignored.
#[test]
fn misspelled_learnr_section_is_an_unknown_key() {
    let (key, hint) = unknown("[learnr]\ngamma = 2.0\n");
    assert_eq!(key, "learnr");
    assert_eq!(hint.as_deref(), Some("learner"));
}

/// Issue 15: `env_step = 500` at the top level was ignored (the run took 100,000 steps).
#[test]
fn top_level_env_step_is_an_unknown_key_pointing_at_run_env_steps() {
    let (key, hint) = unknown("env_step = 500\n");
    assert_eq!(key, "env_step");
    assert_eq!(hint.as_deref(), Some("run.env_steps"));
    // Far from every key: no suggestion, still an error.
    let (key, hint) = unknown("[run]\nzzzzzzzzzzzz = 1\n");
    assert_eq!(key, "run.zzzzzzzzzzzz");
    assert_eq!(hint, None);
}

/// Unknown keys inside the prior and hierarchy sections are refused too.
#[test]
fn unknown_keys_in_prior_and_hierarchy_are_refused() {
    let (key, hint) = unknown("[prior.learned]\ngroup = [\"proprio\"]\n");
    assert_eq!(key, "prior.learned.group");
    assert_eq!(hint.as_deref(), Some("prior.learned.groups"));
    let (key, _) = unknown("[hierarchy]\nlatent = 4\n");
    assert_eq!(key, "hierarchy.latent");
}

fn too_large(text: &str) -> (String, String, String) {
    match AgentConfig::from_toml(text) {
        Err(ConfigError::TooLarge {
            field,
            value,
            limit,
        }) => (field, value, limit),
        other => panic!("expected TooLarge for {text:?}, got {other:?}"),
    }
}

/// Issue 15: `critic_hidden = [1e18]` panicked in ndarray; `replay_capacity = usize::MAX`
/// (as large as TOML can write) panicked; `batch_size = 1e12` aborted on allocation;
/// `updates_per_env_step = 1e9` and a huge `eval_episodes` hung; `beta = 1e30` was accepted.
#[test]
fn every_size_field_has_an_upper_bound_naming_field_value_and_limit() {
    let cases: [(&str, &str, String); 14] = [
        (
            "[learner]\ncritic_hidden = [1000000000000000000]\n",
            "learner.critic_hidden",
            limits::MAX_LAYER_WIDTH.to_string(),
        ),
        (
            "[learner]\npolicy_hidden = [100000]\n",
            "learner.policy_hidden",
            limits::MAX_LAYER_WIDTH.to_string(),
        ),
        (
            "[run]\nreplay_capacity = 9223372036854775807\n",
            "run.replay_capacity",
            limits::MAX_REPLAY_CAPACITY.to_string(),
        ),
        (
            "[learner]\nbatch_size = 1000000000000\n",
            "learner.batch_size",
            limits::MAX_BATCH_SIZE.to_string(),
        ),
        (
            "[learner]\nsequence_length = 100000\n",
            "learner.sequence_length",
            limits::MAX_SEQUENCE_LENGTH.to_string(),
        ),
        (
            "[learner]\naction_samples = 100000\n",
            "learner.action_samples",
            limits::MAX_ACTION_SAMPLES.to_string(),
        ),
        (
            "[run]\nupdates_per_env_step = 1e9\n",
            "run.updates_per_env_step",
            limits::MAX_UPDATES_PER_ENV_STEP.to_string(),
        ),
        (
            "[run]\neval_episodes = 1000000000\n",
            "run.eval_episodes",
            limits::MAX_EVAL_EPISODES.to_string(),
        ),
        (
            "[learner]\nbeta = 1e30\n",
            "learner.beta",
            limits::MAX_WEIGHT.to_string(),
        ),
        (
            "[learner]\npolicy_lr = 1e9\n",
            "learner.policy_lr",
            limits::MAX_LEARNING_RATE.to_string(),
        ),
        (
            "[run]\nactor_threads = 100000\n",
            "run.actor_threads",
            limits::MAX_ACTOR_THREADS.to_string(),
        ),
        (
            "[run]\nsamples_per_insert = 1e9\n",
            "run.samples_per_insert",
            limits::MAX_SAMPLES_PER_INSERT.to_string(),
        ),
        (
            "[hierarchy]\nlatent_dim = 100000\n",
            "hierarchy.latent_dim",
            limits::MAX_LATENT_DIM.to_string(),
        ),
        (
            "[hierarchy]\nhold_steps = 100000000\n",
            "hierarchy.hold_steps",
            limits::MAX_HOLD_STEPS.to_string(),
        ),
    ];
    for (text, field, limit) in cases {
        let (f, value, l) = too_large(text);
        assert_eq!(f, field, "{text}");
        assert_eq!(l, limit, "{text}");
        assert!(!value.is_empty());
    }
    // Within every single bound, the product of the batch shape is bounded too.
    let (f, _, _) =
        too_large("[learner]\nbatch_size = 65536\nsequence_length = 1000\naction_samples = 1024\n");
    assert!(f.contains("batch_size"), "{f}");
    // A float where a size belongs is a parse error naming the field, not a panic.
    let e = AgentConfig::from_toml("[learner]\ncritic_hidden = [1e18]\n").unwrap_err();
    assert!(matches!(e, ConfigError::Parse { .. }), "{e:?}");
}

/// Strict keys keep both presets and partial sections working, the optional fields included.
#[test]
fn presets_still_load_with_strict_keys() {
    let acme =
        AgentConfig::from_toml("preset = \"acme\"\n[learner]\ntau = 0.01\nalpha = 0.5\n").unwrap();
    assert_eq!(acme.preset, Preset::Acme);
    assert_eq!(acme.learner.tau, Some(0.01));
    assert_eq!(
        acme.learner.max_scale,
        Preset::Acme.config().learner.max_scale
    );
    let full = AgentConfig::from_toml(&AgentConfig::default().to_toml()).unwrap();
    assert_eq!(full, AgentConfig::default());
    let hier = AgentConfig::from_toml(
        "[hierarchy]\nlatent_dim = 4\nlow_level_groups = [\"proprio\"]\n[prior.learned]\ngroups = [\"proprio\"]\n",
    )
    .unwrap();
    assert_eq!(hier.hierarchy.unwrap().latent_dim, 4);
}
