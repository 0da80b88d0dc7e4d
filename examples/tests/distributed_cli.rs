//! `bprl train --distributed` as a user runs it: Redis, a learner and actors as processes on
//! loopback, with the learner, an actor and Redis each SIGKILLed once mid-run and started
//! again by the launcher; the run must end with nothing lost or duplicated and leave no
//! process behind. Skipped without `redis-server` unless `BPRL_REQUIRE_REDIS=1`.

use std::process::Command;

const TINY: &str = r#"
[learner]
batch_size = 8
sequence_length = 5
policy_hidden = [16]
critic_hidden = [16]
action_samples = 2
[run]
env_steps = 3000
min_replay = 8
samples_per_insert = 8.0
checkpoint_every_episodes = 5
eval_every_episodes = 0
[env.targets]
num_targets = 1
radius = 0.2
arrival_reward = 1.0
completion_bonus = 1.0
shaping = 1.0
max_steps = 20
min_separation = 0.35
"#;

fn redis_or_skip() -> bool {
    let ok = Command::new("redis-server")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok || std::env::var("BPRL_REQUIRE_REDIS").as_deref() != Ok("1"),
        "BPRL_REQUIRE_REDIS=1 and no redis-server"
    );
    ok
}

/// Every process the launcher started (each Redis, learner and actor process id it recorded in
/// the run's summary) is gone. (`pgrep -f <folder>` cannot see a leaked server: redis-server
/// rewrites its command line to `redis-server 127.0.0.1:PORT`.)
fn no_process_left(summary: &str) {
    let v: serde_json::Value = serde_json::from_str(summary).unwrap();
    let pids: Vec<u64> = ["redis_pids", "process_pids"]
        .iter()
        .flat_map(|k| v[*k].as_array().cloned().unwrap_or_default())
        .filter_map(|p| p.as_u64())
        .collect();
    assert!(
        pids.len() >= 2 + 2 + 3,
        "redis twice, learner twice, three actor starts: {pids:?}"
    );
    for pid in pids {
        let alive =
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z "));
        assert!(!alive, "process {pid} outlived the run");
    }
}

#[test]
fn killed_learner_actor_and_redis_come_back_and_nothing_is_lost_or_duplicated() {
    if !redis_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tiny.toml");
    std::fs::write(&config, TINY).unwrap();
    let out = dir.path().join("run");
    let o = Command::new(env!("CARGO_BIN_EXE_bprl"))
        .args([
            "train",
            "--distributed",
            "--actors",
            "2",
            "--quiet",
            "--stream-cap",
            "40",
        ])
        .arg("--config")
        .arg(&config)
        .arg("--out")
        .arg(&out)
        .args([
            "--kill",
            "actor:0@600",
            "--kill",
            "learner@1200",
            "--kill",
            "redis@1800",
        ])
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert!(o.status.success(), "{stdout}\n{stderr}");
    let last = stdout.lines().last().unwrap_or("");
    assert!(
        last.starts_with("distributed: ") && last.ends_with(" 0 lost, 0 duplicated"),
        "{stdout}"
    );
    for who in ["actor-0@", "learner@", "redis@"] {
        assert!(stdout.contains(who), "restart of {who} missing: {stdout}");
    }
    // The learner resumed from its checkpoint, and the run's files are whole.
    let log = std::fs::read_to_string(out.join("logs/learner.log")).unwrap();
    assert!(log.contains("learner: resuming"), "{log}");
    let summary = std::fs::read_to_string(out.join("distributed-summary.json")).unwrap();
    assert!(summary.contains("\"lost\": 0"), "{summary}");
    let eval = Command::new(env!("CARGO_BIN_EXE_bprl"))
        .args(["eval", "--episodes", "2", "--checkpoint"])
        .arg(out.join("checkpoint"))
        .output()
        .unwrap();
    assert!(
        eval.status.success(),
        "{}",
        String::from_utf8_lossy(&eval.stderr)
    );
    no_process_left(&summary);
}

#[test]
fn an_actor_without_a_reachable_redis_fails_with_the_url() {
    // Port 1 on loopback: nothing listens there.
    let o = Command::new(env!("CARGO_BIN_EXE_bprl"))
        .args(["actor", "--redis", "redis://127.0.0.1:1/", "--id", "0"])
        .env("BPRL_REDIS_GIVE_UP_SECS", "1")
        .output()
        .unwrap();
    assert!(!o.status.success());
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("redis://127.0.0.1:1/"), "{e}");
}

#[test]
fn a_bad_kill_spec_is_refused_by_name() {
    let o = Command::new(env!("CARGO_BIN_EXE_bprl"))
        .args(["train", "--distributed", "--kill", "actor@5"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("actor:ID@STEPS"), "{e}");
}
