//! Regression tests of issue 15 ("Reliability"): checkpoints bind state, replay and run;
//! transfer checks every array's shape; a failed write stops a run and keeps the last good
//! checkpoint; the threaded mode checkpoints, records every episode and reports a starved
//! rate limiter. Each test opens with the failure it pins.

use bprl_agents::checkpoint::{self, files};

/// The state and replay files `LATEST` of `dir` names.
fn latest_files(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    checkpoint::latest_entry(dir).unwrap().files(dir)
}
use bprl_agents::{AgentConfig, AgentError, PriorConfig, TaskSplit, Trainer};
use bprl_envs::{BodyKind, PriorView, Suite, TargetsConfig};
use std::path::Path;

fn suite(targets: usize) -> Suite {
    Suite::new(
        BodyKind::PointMass,
        TargetsConfig {
            num_targets: targets,
            max_steps: 20,
            shaping: 1.0,
            radius: 0.2,
            ..TargetsConfig::default()
        },
    )
}

/// A small, fast run: 20-step episodes, checkpoints every 2 episodes.
fn tiny(seed: u64, env_steps: u64) -> AgentConfig {
    let mut c = AgentConfig::default();
    c.learner.batch_size = 8;
    c.learner.sequence_length = 5;
    c.learner.action_samples = 2;
    c.learner.policy_hidden = vec![16];
    c.learner.critic_hidden = vec![16];
    c.run.env_steps = env_steps;
    c.run.updates_per_env_step = 0.5;
    c.run.min_replay = 8;
    c.run.replay_capacity = 1_000;
    c.run.eval_every_episodes = 0;
    c.run.checkpoint_every_episodes = 2;
    c.run.seed = seed;
    c
}

fn run_into(dir: &Path, config: AgentConfig) -> Trainer<Suite> {
    let mut t = Trainer::new(config, suite(1), TaskSplit::Train).unwrap();
    t.train(Some(dir), &mut |_, _| Ok(())).unwrap();
    t
}

/// Issue 15: a state file from another run was accepted with this run's replay (11 cases).
#[test]
fn state_file_from_another_run_is_refused() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    run_into(a.path(), tiny(1, 100));
    let mut other = tiny(2, 100);
    other.learner.gamma = 0.95;
    run_into(b.path(), other);
    let (ep_a, _) = checkpoint::latest(a.path()).unwrap();
    let (ep_b, _) = checkpoint::latest(b.path()).unwrap();
    assert_eq!(ep_a, ep_b, "both runs end at the same episode");
    let (state_a, _) = latest_files(a.path());
    let (state_b, _) = latest_files(b.path());
    std::fs::copy(&state_b, &state_a).unwrap();
    match Trainer::<Suite>::load(a.path()) {
        Err(AgentError::CheckpointMismatch { what, .. }) => assert_eq!(what, "run id"),
        other => panic!("expected a run id mismatch, got {other:?}"),
    }
}

/// Issue 15: a replay file of another checkpoint (same run, other episode) was accepted.
#[test]
fn replay_file_of_another_checkpoint_is_refused() {
    let a = tempfile::tempdir().unwrap();
    run_into(a.path(), tiny(1, 100));
    let (_, replay) = latest_files(a.path());
    let bytes = std::fs::read(&replay).unwrap();
    // Another run's replay of the same shape and length.
    let b = tempfile::tempdir().unwrap();
    run_into(b.path(), tiny(5, 100));
    let (_, other) = latest_files(b.path());
    std::fs::copy(&other, &replay).unwrap();
    assert_ne!(std::fs::read(&replay).unwrap(), bytes);
    match Trainer::<Suite>::load(a.path()) {
        Err(AgentError::CheckpointMismatch { what, .. }) => assert_eq!(what, "replay digest"),
        other => panic!("expected a replay digest mismatch, got {other:?}"),
    }
}

/// Issue 15: a `state-00000020.bin` that holds episode 24 was accepted.
#[test]
fn state_named_for_one_episode_holding_another_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    run_into(dir.path(), tiny(1, 100));
    let latest = checkpoint::latest_entry(dir.path()).unwrap();
    let (ep, run_id, digest) = (latest.episode, latest.run_id, latest.digest);
    let (state, replay) = latest.files(dir.path());
    let (state2, replay2) = files(dir.path(), ep - 1, digest);
    std::fs::rename(&state, &state2).unwrap();
    std::fs::rename(&replay, &replay2).unwrap();
    std::fs::write(
        dir.path().join("LATEST"),
        format!("{} {run_id:016x} {digest:016x}\n", ep - 1),
    )
    .unwrap();
    match Trainer::<Suite>::load(dir.path()) {
        Err(AgentError::CheckpointMismatch {
            what,
            expected,
            found,
            ..
        }) => {
            assert_eq!(what, "episode counter");
            assert_eq!(expected, (ep - 1).to_string());
            assert_eq!(found, ep.to_string());
        }
        other => panic!("expected an episode mismatch, got {other:?}"),
    }
}

/// Issue 15: a failed checkpoint write did not stop the run (and a full disk lost it all at
/// the end); now the run stops at the first failed write and the last good checkpoint loads.
#[test]
fn failed_checkpoint_write_stops_the_run_and_keeps_the_last_good_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = Trainer::new(tiny(1, 60), suite(1), TaskSplit::Train).unwrap();
    t.train(Some(dir.path()), &mut |_, _| Ok(())).unwrap();
    let (good, _) = checkpoint::latest(dir.path()).unwrap();
    // The next checkpoint cannot be committed: a folder sits at the name of `LATEST`'s
    // temporary file, so the atomic replacement of `LATEST` fails.
    t.config.run.env_steps = 200;
    let next = (good / 2 + 1) * 2;
    let blocked = dir.path().join("LATEST");
    let tmp = dir
        .path()
        .join(format!(".LATEST.tmp{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let mut episodes = 0;
    let e = t
        .train(Some(dir.path()), &mut |_, _| {
            episodes += 1;
            Ok(())
        })
        .unwrap_err();
    assert!(
        matches!(e, AgentError::Checkpoint { ref path, .. } if *path == blocked),
        "{e}"
    );
    assert_eq!(
        episodes,
        next - good,
        "the run stopped at the failed checkpoint"
    );
    let back = Trainer::<Suite>::load(dir.path()).unwrap();
    assert_eq!(back.counters.episodes, good);
    std::fs::remove_dir(&tmp).unwrap();
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter(|e| checkpoint::is_temporary(&e.file_name().to_string_lossy()))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// Issue 15: a failed metrics write did not stop training (53 episodes lost, the error only
/// at exit); an error of the episode callback now stops the run at that episode.
#[test]
fn failed_metrics_write_stops_the_run() {
    let mut t = Trainer::new(tiny(1, 400), suite(1), TaskSplit::Train).unwrap();
    let mut seen = 0;
    let e = t
        .train(None, &mut |r, _| {
            seen += 1;
            if r.episode == 3 {
                return Err(AgentError::Output {
                    path: "metrics.csv".into(),
                    reason: "disk full".into(),
                });
            }
            Ok(())
        })
        .unwrap_err();
    assert!(matches!(e, AgentError::Output { .. }), "{e}");
    assert_eq!(seen, 3);
    assert_eq!(t.counters.episodes, 3);
}

/// Issue 15: a read-only folder reported `.config.toml.tmpPID`; the error names the file
/// asked for, and no temporary file is left.
#[test]
fn atomic_write_error_names_the_real_path() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("missing-folder").join("config.toml");
    let e = checkpoint::write_atomic(&target, b"x").unwrap_err();
    match e {
        AgentError::Checkpoint { path, reason } => {
            assert_eq!(path, target);
            assert!(!reason.contains(".tmp"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert!(checkpoint::is_temporary(".config.toml.tmp1234"));
    assert!(!checkpoint::is_temporary("config.toml"));
    assert!(!checkpoint::is_temporary(".config.toml.tmp"));
}

/// Issue 15: a leftover partial `.replay-*.tmp` made a later resume fail; loading removes
/// temporaries first.
#[test]
fn leftover_temporaries_are_removed_on_load() {
    let dir = tempfile::tempdir().unwrap();
    run_into(dir.path(), tiny(1, 60));
    let junk = dir.path().join(".replay-00000099.snap.tmp4242");
    std::fs::write(&junk, b"partial").unwrap();
    Trainer::<Suite>::load(dir.path()).unwrap();
    assert!(!junk.exists());
}

/// Issue 15: transfer checked parameter counts only (a prior of shape [1, 5] loaded into
/// [3, 2], [4, 1] or [5]); every array's shape is compared and the first mismatch named.
#[test]
fn transfer_names_the_first_mismatched_array() {
    let shapes = |v: &[&[usize]]| -> Vec<(String, Vec<usize>)> {
        v.iter()
            .map(|s| ("prior.w".to_string(), s.to_vec()))
            .collect()
    };
    for other in [&[3usize, 2][..], &[4, 1], &[5], &[5, 1]] {
        let m = bprl_nn::first_shape_mismatch(&shapes(&[&[1, 5]]), &shapes(&[other])).unwrap();
        assert_eq!(m, ("prior.w".into(), vec![1, 5], other.to_vec()));
    }
    assert_eq!(
        bprl_nn::first_shape_mismatch(&shapes(&[&[1, 5]]), &shapes(&[&[1, 5]])),
        None
    );
    // Learners whose priors see different groups: the error names the array and both shapes.
    let mut src_cfg = tiny(1, 40);
    src_cfg.prior = PriorConfig::learned(PriorView::ProprioTargets.groups());
    let source = Trainer::new(src_cfg.clone(), suite(2), TaskSplit::Train).unwrap();
    let mut dst_cfg = src_cfg;
    dst_cfg.prior = PriorConfig::learned(PriorView::Proprio.groups());
    let mut dst = Trainer::new(dst_cfg, suite(2), TaskSplit::HeldOut).unwrap();
    match dst.learner.load_prior_from(&source.learner, false) {
        Err(AgentError::ParameterShape {
            name,
            expected,
            found,
            ..
        }) => {
            assert!(name.starts_with("prior"), "{name}");
            assert_ne!(expected, found);
        }
        other => panic!("expected ParameterShape, got {other:?}"),
    }
}

/// Issue 15: the threaded mode wrote no periodic checkpoint and no metrics (`kill -9` lost the
/// whole run). Now every finished episode reaches the callback once, in order, and the
/// checkpoint (with the replay) loads with a history of one record per episode.
#[test]
fn threaded_mode_checkpoints_and_records_every_episode_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = tiny(3, 300);
    c.run.actor_threads = 2;
    c.run.samples_per_insert = 4.0;
    c.run.eval_every_episodes = 4;
    c.run.eval_episodes = 1;
    let mut t = Trainer::new(c, suite(1), TaskSplit::Train).unwrap();
    let mut seen = Vec::new();
    let mut evals = 0;
    let mut checkpoints = Vec::new();
    t.train_threaded(
        Some(dir.path()),
        &mut |r, e| {
            seen.push(r.episode);
            evals += usize::from(e.is_some());
            if let Ok((ep, _)) = checkpoint::latest(dir.path()) {
                checkpoints.push(ep);
            }
            Ok(())
        },
        &mut |_| Ok(()),
    )
    .unwrap();
    let n = t.counters.episodes;
    assert!(n >= 10, "episodes {n}");
    assert_eq!(seen, (1..=n).collect::<Vec<_>>());
    assert_eq!(evals as u64, n / 4);
    assert!(
        checkpoints.contains(&2) && checkpoints.contains(&4),
        "periodic checkpoints during the run: {checkpoints:?}"
    );
    let back = Trainer::<Suite>::load(dir.path()).unwrap();
    assert_eq!(back.counters.episodes, n);
    assert_eq!(back.history.len() as u64, n);
    assert_eq!(back.replay.len(), t.replay.len());
    assert!(!back.replay.is_empty());
}

/// Issue 15: a starved rate limiter (`samples_per_insert = 1e6`) stalled with no output; the
/// stall is reported with the limiter's numbers (and the callback can stop the run).
#[test]
fn starved_rate_limiter_is_reported() {
    let mut c = tiny(3, 2_000);
    c.run.actor_threads = 1;
    c.run.samples_per_insert = 1e6;
    c.run.stall_warning_secs = 1;
    let mut t = Trainer::new(c, suite(1), TaskSplit::Train).unwrap();
    let mut message = String::new();
    let e = t
        .train_threaded(None, &mut |_, _| Ok(()), &mut |m| {
            message = m.to_string();
            Err(AgentError::Shape("stopped by the test".into()))
        })
        .unwrap_err();
    assert!(e.to_string().contains("stopped by the test"), "{e}");
    assert!(
        message.contains("samples_per_insert = 1000000"),
        "{message}"
    );
    assert!(message.contains("no environment step"), "{message}");
}

/// Found by `make fuzz` (checkpoint_state): a state header whose length field is near
/// `u64::MAX` overflowed `HEADER + len` (a panic in debug builds, a wrong comparison in
/// release); it is a typed truncation error.
#[test]
fn checkpoint_header_with_a_huge_length_is_a_typed_error() {
    let mut bytes = checkpoint::MAGIC.to_vec();
    bytes.extend_from_slice(&checkpoint::VERSION.to_le_bytes());
    bytes.extend_from_slice(&u64::MAX.to_le_bytes());
    bytes.extend_from_slice(&0u64.to_le_bytes());
    let e = bprl_agents::inspect_state::<Suite>(&bytes, Path::new("x.bin"), None).unwrap_err();
    assert!(e.to_string().contains("truncated"), "{e}");
}

/// Found while building the distributed learner: a second checkpoint at the same episode (the
/// threaded mode's final one after its last periodic one) overwrote `state-<episode>.bin` and
/// then `replay-<episode>.snap` in place, so a crash between the two writes left a new state
/// beside the old replay, and the run could not resume (replay digest mismatch). Pairs are now
/// named by episode and replay digest: the crashed second save leaves the first pair whole.
#[test]
fn crash_during_a_second_checkpoint_at_the_same_episode_keeps_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = run_into(dir.path(), tiny(1, 100));
    let first = checkpoint::latest_entry(dir.path()).unwrap();
    let steps = t.learner.steps();
    // More learning at the same episode: the learner and the replay (its sampling state) change.
    t.learn_once().unwrap();
    let bytes = t.replay.to_snapshot_bytes(Path::new("r")).unwrap();
    let digest = checkpoint::fnv1a(&bytes);
    assert_ne!(digest, first.digest, "the replay changed");
    // The crash: the second save writes its state file, then fails at its replay file.
    let (state2, replay2) = files(dir.path(), first.episode, digest);
    std::fs::create_dir_all(&replay2).unwrap();
    assert!(t.save(dir.path()).is_err());
    assert!(
        state2.exists(),
        "the second state was written before the failure"
    );
    assert_eq!(checkpoint::latest_entry(dir.path()).unwrap(), first);
    let back = Trainer::<Suite>::load(dir.path()).unwrap();
    assert_eq!(back.learner.steps(), steps, "the first checkpoint, whole");
    // Without the failure the second save commits and replaces the first pair.
    std::fs::remove_dir(&replay2).unwrap();
    t.save(dir.path()).unwrap();
    let second = checkpoint::latest_entry(dir.path()).unwrap();
    assert_eq!((second.episode, second.digest), (first.episode, digest));
    assert!(!first.files(dir.path()).0.exists(), "older pair removed");
    assert_eq!(
        Trainer::<Suite>::load(dir.path()).unwrap().learner.steps(),
        steps + 1
    );
}
