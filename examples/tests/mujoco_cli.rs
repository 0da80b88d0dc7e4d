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

fn bprl_fails(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_bprl"))
        .args(args)
        .output()
        .expect("run bprl");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "bprl {args:?} succeeded:\n{text}");
    text
}

#[test]
fn a_mujoco_section_is_strict() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (body, wanted) in [
        (
            "walker = \"point_mass\"\nmax_step = 40\n",
            "did you mean `mujoco.max_steps`",
        ),
        ("walker = \"point_mas\"\n", "point_mass"),
        ("num_targets = 100\ngrid = 64\n", "num_targets"),
        ("max_steps = 2000000\n", "max_steps"),
        ("control_dt = 100.0\n", "control_dt"),
        (
            "walker = \"point_mass\"\nheld_out_grid = 1\n",
            "held_out_grid",
        ),
        (
            "walker = \"point_mass\"\nheld_out_grid = -1\n",
            "held_out_grid",
        ),
    ] {
        let config = dir.path().join("bad.toml");
        std::fs::write(&config, format!("[mujoco]\n{body}")).expect("write");
        let run = dir.path().join("r");
        let text = bprl_fails(&["train", "--config", s(&config), "--out", s(&run)]);
        assert!(text.contains(wanted), "{body}: {text}");
        assert!(
            !run.exists(),
            "{body}: a refused configuration made a run folder"
        );
    }
}

#[test]
fn a_mujoco_run_resumes_with_the_resume_checks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("pm.toml");
    std::fs::write(&config, CONFIG.replace("env_steps = 240", "env_steps = 80")).expect("write");
    let run = dir.path().join("run");
    bprl(&["train", "--config", s(&config), "--out", s(&run), "--quiet"]);
    // A fresh start into the finished run is refused (rel's run-folder safety).
    bprl_fails(&["train", "--config", s(&config), "--out", s(&run), "--quiet"]);
    // The same (partial) file is the same run; another seed is not.
    let text = bprl(&[
        "train",
        "--resume",
        "--config",
        s(&config),
        "--out",
        s(&run),
        "--steps",
        "160",
        "--quiet",
    ]);
    assert!(text.contains("resuming"), "{text}");
    let text = bprl_fails(&[
        "train",
        "--resume",
        "--out",
        s(&run),
        "--seed",
        "12345",
        "--quiet",
    ]);
    assert!(text.contains("--seed 12345 conflicts"), "{text}");
    let other = dir.path().join("other.toml");
    std::fs::write(&other, CONFIG.replace("shaping = 5.0", "shaping = 1.0")).expect("write");
    let text = bprl_fails(&[
        "train",
        "--resume",
        "--config",
        s(&other),
        "--out",
        s(&run),
        "--quiet",
    ]);
    assert!(text.contains("mujoco.shaping"), "{text}");
}
