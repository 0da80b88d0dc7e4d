//! One rollout of a built-in suite as JSON lines, for checking a port of the environment
//! against the Rust one bit for bit (`scripts/compare-sb3` checks the Python module `bprl_py`
//! with it).
//!
//! The environment is the training split of the suite in the `[env]` section of `--config`
//! (any `bprl train` TOML; other sections are ignored; no file: the default suite). Episode `i`
//! starts from `reset(seed + i)`; the actions are taken in order from `--actions`, one action
//! per line as whitespace-separated numbers (each parsed as `f32`), a new episode starting
//! whenever one ends, until the actions run out.
//!
//! Output, one JSON object per line, every `f32` as its IEEE-754 bit pattern (`u32`) so a
//! comparison is exact:
//! - `{"reset": SEED, "obs": [BITS, ...]}` after each reset;
//! - `{"obs": [BITS, ...], "reward": BITS, "terminated": BOOL, "truncated": BOOL}` after each
//!   step.
//!
//! Run: `cargo run --release -p bprl-examples --example rollout -- --seed 3 --actions a.txt
//! [--config run.toml]`

use bprl_envs::{Env, EpisodeEnd, Suite, SuiteConfig, TaskFamily, TaskSplit};
use serde::Deserialize;
use std::process::ExitCode;

/// The part of a `bprl train` TOML this example reads.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct EnvSection {
    env: SuiteConfig,
}

/// `--seed`, `--actions`, `--config` from the command line.
struct Options {
    seed: u64,
    actions: String,
    config: Option<String>,
}

fn parse_args(raw: &[String]) -> Result<Options, String> {
    let mut seed = None;
    let mut actions = None;
    let mut config = None;
    let mut it = raw.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().cloned().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--seed" => {
                let v = value()?;
                seed = Some(v.parse().map_err(|e| format!("--seed {v}: {e}"))?);
            }
            "--actions" => actions = Some(value()?),
            "--config" => config = Some(value()?),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(Options {
        seed: seed.ok_or("--seed N is required")?,
        actions: actions.ok_or("--actions FILE is required")?,
        config,
    })
}

fn read_actions(path: &str) -> Result<Vec<Vec<f32>>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            l.split_whitespace()
                .map(|v| v.parse::<f32>())
                .collect::<Result<Vec<f32>, _>>()
                .map_err(|e| format!("{path}: action {i}: {e}"))
        })
        .collect()
}

fn bits(values: &[f32]) -> String {
    let b: Vec<String> = values.iter().map(|v| v.to_bits().to_string()).collect();
    format!("[{}]", b.join(","))
}

fn run(raw: &[String]) -> Result<(), String> {
    let opts = parse_args(raw)?;
    let section: EnvSection = match &opts.config {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| format!("{p}: {e}"))?;
            toml::from_str(&text).map_err(|e| format!("{p}: {e}"))?
        }
        None => EnvSection::default(),
    };
    let mut env = Suite::from_config(&section.env)
        .make_env(TaskSplit::Train)
        .map_err(|e| e.to_string())?;
    let mut episode = 0u64;
    let mut running = false;
    for action in read_actions(&opts.actions)? {
        if !running {
            let reset_seed = opts.seed.wrapping_add(episode);
            let ts = env.reset(reset_seed);
            println!(
                "{{\"reset\":{reset_seed},\"obs\":{}}}",
                bits(&ts.flat_observation())
            );
            running = true;
        }
        let ts = env.step(&action).map_err(|e| e.to_string())?;
        println!(
            "{{\"obs\":{},\"reward\":{},\"terminated\":{},\"truncated\":{}}}",
            bits(&ts.flat_observation()),
            ts.reward.to_bits(),
            ts.end.is_some_and(EpisodeEnd::is_terminal),
            ts.end == Some(EpisodeEnd::Truncated)
        );
        if ts.is_last() {
            running = false;
            episode += 1;
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    match run(&raw) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rollout: {e}");
            ExitCode::FAILURE
        }
    }
}
