//! `bprl train`, `eval` and `transfer` on a `[mujoco]` configuration (the point mass, a few
//! hundred steps): the run folder records the MuJoCo family, a random-policy baseline and
//! top-down pictures, and the other commands find the family from it.
#![cfg(feature = "mujoco")]

use std::path::Path;
use std::process::Command;

const CONFIG: &str = r#"
[prior.learned]
groups = ["proprio"]

[learner]
batch_size = 8
policy_hidden = [16]
critic_hidden = [16]
action_samples = 2

[run]
env_steps = 240
min_replay = 20
eval_every_episodes = 2
eval_episodes = 2
checkpoint_every_episodes = 2

[mujoco]
walker = "point_mass"
max_steps = 40
shaping = 5.0
held_out_grid = 4
"#;

fn bprl(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_bprl"))
        .args(args)
        .output()
        .expect("run bprl");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "bprl {args:?} failed:\n{text}");
    text
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn a_mujoco_run_trains_evaluates_and_transfers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("pm.toml");
    std::fs::write(&config, CONFIG).expect("write config");
    let run = dir.path().join("run");
    let text = bprl(&["train", "--config", s(&config), "--out", s(&run), "--quiet"]);
    assert!(
        text.contains("random policy on the same 2 evaluation starts"),
        "{text}"
    );
    for file in [
        "eval.csv",
        "rollouts.png",
        "rollouts_random.png",
        "random_policy.txt",
    ] {
        assert!(run.join(file).exists(), "{file} missing");
    }
    let saved = std::fs::read_to_string(run.join("config.toml")).expect("config.toml");
    assert!(
        saved.contains("[mujoco]") && saved.contains("point_mass"),
        "{saved}"
    );
    assert!(saved.contains("held_out_grid = 4"), "{saved}");
    let checkpoint = run.join("checkpoint");
    let text = bprl(&["eval", "--checkpoint", s(&checkpoint), "--episodes", "2"]);
    assert!(text.contains("greedy evaluation: return"), "{text}");
    let transfer = dir.path().join("transfer");
    let text = bprl(&[
        "transfer",
        "--from",
        s(&checkpoint),
        "--out",
        s(&transfer),
        "--steps",
        "80",
        "--quiet",
    ]);
    assert!(text.contains("held-out tasks"), "{text}");
}

#[test]
fn a_bad_mujoco_section_names_the_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("bad.toml");
    std::fs::write(
        &config,
        "[mujoco]\nwalker = \"point_mass\"\ntarget_radius = 0.9\n",
    )
    .expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_bprl"))
        .args([
            "train",
            "--config",
            s(&config),
            "--out",
            s(&dir.path().join("r")),
        ])
        .output()
        .expect("run bprl");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("target_radius"), "{err}");
}
