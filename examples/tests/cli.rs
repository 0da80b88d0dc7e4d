//! The `bprl` command line as a user meets it, run as a subprocess. Regression tests of
//! issue 15 ("Reliability"): each opens with the failure it pins.

use std::path::Path;
use std::process::{Command, Output};

const TINY: &str = r#"
[learner]
batch_size = 8
sequence_length = 5
policy_hidden = [16]
critic_hidden = [16]
action_samples = 2
[run]
env_steps = 200
min_replay = 8
updates_per_env_step = 0.5
checkpoint_every_episodes = 3
eval_every_episodes = 2
eval_episodes = 1
[env.targets]
num_targets = 2
radius = 0.1
arrival_reward = 1.0
completion_bonus = 1.0
shaping = 1.0
max_steps = 20
min_separation = 0.35
"#;

fn bprl(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bprl"))
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn folder() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("tiny.toml"), TINY).unwrap();
    d
}

/// Data rows of a CSV file (header dropped).
fn rows(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(str::to_string)
        .collect()
}

/// Issue 15: the hand-written parser had no `--version`, no `-h`, no suggestion for a
/// misspelled flag; clap gives all three and shell completions.
#[test]
fn version_help_suggestions_and_completions() {
    let d = folder();
    let v = bprl(&["--version"], d.path());
    assert!(v.status.success());
    assert!(String::from_utf8_lossy(&v.stdout).starts_with("bprl "));
    assert!(bprl(&["train", "-h"], d.path()).status.success());
    let typo = bprl(&["train", "--resum"], d.path());
    assert!(!typo.status.success());
    assert!(stderr(&typo).contains("--resume"), "{}", stderr(&typo));
    let c = bprl(&["completions", "bash"], d.path());
    assert!(c.status.success());
    assert!(String::from_utf8_lossy(&c.stdout).contains("complete"));
}

/// Issue 15: `eval --episodes 0` and `bench --batch 0` were accepted.
#[test]
fn eval_episodes_0_and_bench_batch_0_are_refused() {
    let d = folder();
    let e = bprl(&["eval", "--checkpoint", "x", "--episodes", "0"], d.path());
    assert!(!e.status.success());
    assert!(stderr(&e).contains("--episodes"), "{}", stderr(&e));
    let b = bprl(&["bench", "--batch", "0"], d.path());
    assert!(!b.status.success());
    assert!(stderr(&b).contains("--batch"), "{}", stderr(&b));
}

/// Issue 15: `polcy_lr = 1e9`, a `[learnr]` section and `env_step = 500` all exited 0.
#[test]
fn misspelled_config_keys_exit_with_a_suggestion() {
    let d = folder();
    for (text, hint) in [
        ("[learner]\npolcy_lr = 1e9\n", "learner.policy_lr"),
        ("[learnr]\ngamma = 2.0\n", "`learner`"),
        ("env_step = 500\n", "run.env_steps"),
        ("[env.targets]\nnum_target = 3\n", "env.targets.num_targets"),
    ] {
        std::fs::write(d.path().join("bad.toml"), text).unwrap();
        let o = bprl(&["train", "--config", "bad.toml", "--out", "r"], d.path());
        assert!(!o.status.success(), "{text}");
        assert!(stderr(&o).contains(hint), "{text}: {}", stderr(&o));
        assert!(!d.path().join("r").join("config.toml").exists());
    }
}

/// Issue 15: `train` without `--resume` into an existing run folder deleted its checkpoint,
/// overwrote `config.toml` and appended to the old metrics.
#[test]
fn train_into_a_non_empty_run_folder_is_refused() {
    let d = folder();
    let first = bprl(
        &["train", "--config", "tiny.toml", "--out", "r", "--quiet"],
        d.path(),
    );
    assert!(first.status.success(), "{}", stderr(&first));
    let run = d.path().join("r");
    let before: Vec<_> = ["config.toml", "metrics.csv", "checkpoint/LATEST"]
        .iter()
        .map(|f| std::fs::read(run.join(f)).unwrap())
        .collect();
    let again = bprl(&["train", "--config", "tiny.toml", "--out", "r"], d.path());
    assert!(!again.status.success());
    assert!(stderr(&again).contains("--resume"), "{}", stderr(&again));
    let after: Vec<_> = ["config.toml", "metrics.csv", "checkpoint/LATEST"]
        .iter()
        .map(|f| std::fs::read(run.join(f)).unwrap())
        .collect();
    assert_eq!(before, after, "the refused run touched nothing");
    let over = bprl(
        &[
            "train",
            "--config",
            "tiny.toml",
            "--out",
            "r",
            "--overwrite",
            "--quiet",
        ],
        d.path(),
    );
    assert!(over.status.success(), "{}", stderr(&over));
    assert_eq!(
        rows(&run.join("metrics.csv")),
        rows(&run.join("metrics.csv"))
    );
}

/// Issue 15: every crash + resume duplicated the metric rows written since the last
/// checkpoint, and a torn row survived. Resume rewrites the files from the checkpoint's
/// history: one row per episode, in order, none torn.
#[test]
fn resume_leaves_one_metrics_row_per_episode() {
    let d = folder();
    let run = d.path().join("r");
    let first = bprl(
        &["train", "--config", "tiny.toml", "--out", "r", "--quiet"],
        d.path(),
    );
    assert!(first.status.success(), "{}", stderr(&first));
    // What a crash after the checkpoint leaves: rows of episodes the checkpoint lacks, a
    // torn row, and temporary files.
    let mut m = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    m.push_str("99,1,1,0.5,0,20,1\n100,2,2,0.");
    std::fs::write(run.join("metrics.csv"), m).unwrap();
    std::fs::write(run.join(".metrics.csv.tmp999"), "partial").unwrap();
    std::fs::write(run.join("checkpoint/.state-00000099.bin.tmp999"), "partial").unwrap();
    let resumed = bprl(
        &[
            "train", "--out", "r", "--resume", "--steps", "400", "--quiet",
        ],
        d.path(),
    );
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    assert!(!run.join(".metrics.csv.tmp999").exists());
    assert!(!run.join("checkpoint/.state-00000099.bin.tmp999").exists());
    let episodes: Vec<u64> = rows(&run.join("metrics.csv"))
        .iter()
        .map(|r| {
            assert_eq!(r.split(',').count(), 15, "whole row: {r}");
            r.split(',').next().unwrap().parse().unwrap()
        })
        .collect();
    assert_eq!(episodes, (1..=episodes.len() as u64).collect::<Vec<_>>());
    let n = episodes.len() as u64;
    let latest = std::fs::read_to_string(run.join("checkpoint/LATEST")).unwrap();
    assert!(latest.starts_with(&format!("{n} ")), "{latest} vs {n} rows");
    let last_steps: u64 = rows(&run.join("metrics.csv"))
        .last()
        .unwrap()
        .split(',')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert!(last_steps >= 400, "{last_steps}");
    let jsonl = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    assert_eq!(jsonl.lines().count() as u64, n);
    let evals: Vec<u64> = rows(&run.join("eval.csv"))
        .iter()
        .map(|r| r.split(',').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(evals, (1..=n / 2).map(|e| 2 * e).collect::<Vec<_>>());
    // --steps was applied and recorded.
    assert!(
        std::fs::read_to_string(run.join("config.toml"))
            .unwrap()
            .contains("env_steps = 400")
    );
}

/// Issue 15: `--resume` silently ignored `--steps` and `--config`: a conflicting `--config`
/// (or `--seed`) is an error naming the field; a failed rewrite of a metrics file stops the
/// resume with the file's name.
#[test]
fn resume_with_a_conflicting_config_is_an_error() {
    let d = folder();
    let first = bprl(
        &["train", "--config", "tiny.toml", "--out", "r", "--quiet"],
        d.path(),
    );
    assert!(first.status.success(), "{}", stderr(&first));
    let other = TINY.replace("batch_size = 8", "batch_size = 9");
    std::fs::write(d.path().join("other.toml"), other).unwrap();
    let o = bprl(
        &["train", "--out", "r", "--resume", "--config", "other.toml"],
        d.path(),
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("learner.batch_size"), "{}", stderr(&o));
    let o = bprl(
        &["train", "--out", "r", "--resume", "--seed", "7"],
        d.path(),
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("seed"), "{}", stderr(&o));
    // The same file with more steps is a continuation.
    let more = TINY.replace("env_steps = 200", "env_steps = 240");
    std::fs::write(d.path().join("more.toml"), more).unwrap();
    let o = bprl(
        &[
            "train",
            "--out",
            "r",
            "--resume",
            "--config",
            "more.toml",
            "--quiet",
        ],
        d.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let last = rows(&d.path().join("r/metrics.csv"))
        .last()
        .unwrap()
        .clone();
    let steps: u64 = last.split(',').nth(1).unwrap().parse().unwrap();
    assert!((240..260).contains(&steps), "{last}");
    // An unwritable metrics file stops the run, naming it.
    let jsonl = d.path().join("r/metrics.jsonl");
    std::fs::remove_file(&jsonl).unwrap();
    std::fs::create_dir(&jsonl).unwrap();
    let o = bprl(
        &["train", "--out", "r", "--resume", "--steps", "300"],
        d.path(),
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("metrics.jsonl"), "{}", stderr(&o));
}

/// Issue 15: the threaded mode wrote none of `metrics.csv`, `eval.csv`, `metrics.jsonl` and
/// no periodic checkpoint.
#[test]
fn threaded_mode_writes_the_same_files() {
    let d = folder();
    let o = bprl(
        &[
            "train",
            "--config",
            "tiny.toml",
            "--out",
            "r",
            "--threads",
            "2",
            "--quiet",
        ],
        d.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let run = d.path().join("r");
    let episodes: Vec<u64> = rows(&run.join("metrics.csv"))
        .iter()
        .map(|r| r.split(',').next().unwrap().parse().unwrap())
        .collect();
    assert!(episodes.len() >= 8, "{episodes:?}");
    assert_eq!(episodes, (1..=episodes.len() as u64).collect::<Vec<_>>());
    assert!(!rows(&run.join("eval.csv")).is_empty());
    assert_eq!(
        std::fs::read_to_string(run.join("metrics.jsonl"))
            .unwrap()
            .lines()
            .count(),
        episodes.len()
    );
    let latest = std::fs::read_to_string(run.join("checkpoint/LATEST")).unwrap();
    assert!(
        latest.starts_with(&format!("{} ", episodes.len())),
        "{latest}"
    );
}

/// Issue 15: a row torn by a kill between two writes merged with the next one, and
/// `bprl plot` accepted it. Rows are now one write each, and `plot` refuses a row with the
/// wrong column count.
#[test]
fn plot_refuses_a_merged_row() {
    let d = folder();
    let run = d.path().join("r");
    std::fs::create_dir_all(&run).unwrap();
    let header = "episode,env_steps,mean_return,success_rate,discounted_return,q_start,entropy,std,kl,alpha,beta";
    let good = "2,40,0.5,0.0,0.4,0.3,1.0,0.5,0.1,0.001,0.05";
    std::fs::write(
        run.join("eval.csv"),
        format!("{header}\n{good}\n4,80,0.5{good}\n"),
    )
    .unwrap();
    let o = bprl(&["plot", "--run", "a=r", "--out", "c.png"], d.path());
    assert!(!o.status.success());
    assert!(stderr(&o).contains("columns"), "{}", stderr(&o));
}

/// A `[mujoco]` section is a known key of the strict checker: without the `mujoco` feature
/// it is refused with how to get the feature (not as an unknown key), and no run folder is
/// made.
#[cfg(not(feature = "mujoco"))]
#[test]
fn a_mujoco_section_without_the_feature_says_how_to_get_it() {
    let dir = folder();
    std::fs::write(
        dir.path().join("m.toml"),
        "[mujoco]\nwalker = \"point_mass\"\n",
    )
    .unwrap();
    let o = bprl(
        &["train", "--config", "m.toml", "--out", "run", "--quiet"],
        dir.path(),
    );
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("--features mujoco"), "{err}");
    assert!(!err.contains("unknown key"), "{err}");
    assert!(!dir.path().join("run").exists());
}
