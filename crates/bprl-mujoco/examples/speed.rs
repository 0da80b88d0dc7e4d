//! Environment steps per second: the raw `mj_step` loop, our environment, and a vector of
//! environments over threads, on the same model with the same random actions.
//!
//! ```sh
//! cargo run --release -p bprl-mujoco --example speed -- --walker quadruped --steps 4000
//! ```
//! Prints one `key=value` line per measurement (control steps per second; one control step
//! is 10 physics steps); `scripts/bench-mujoco` runs it beside the Python bindings.
//! `--xml FILE` writes the walker's model (MJCF) instead, for the Python side.

use bprl_envs::{Env, TaskFamily, TaskSplit};
use bprl_mujoco::{GoToTarget, GoToTargetFamily, TaskConfig, WalkerKind};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use std::time::Instant;

struct Options {
    walker: WalkerKind,
    steps: usize,
    envs: usize,
    threads: usize,
    repeats: usize,
    xml: Option<String>,
}

fn parse() -> Result<Options, String> {
    let mut o = Options {
        walker: WalkerKind::Quadruped,
        steps: 4000,
        envs: 8,
        threads: 2,
        repeats: 3,
        xml: None,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let (key, value) = (pair[0].as_str(), pair.get(1).map(String::as_str));
        let value = value.ok_or_else(|| format!("{key} needs a value"))?;
        let num = || value.parse::<usize>().map_err(|e| format!("{key}: {e}"));
        match key {
            "--walker" => {
                o.walker = match value {
                    "quadruped" => WalkerKind::Quadruped,
                    "point_mass" => WalkerKind::PointMass,
                    w => return Err(format!("--walker quadruped|point_mass, got {w}")),
                }
            }
            "--steps" => o.steps = num()?.max(1),
            "--envs" => o.envs = num()?.max(1),
            "--threads" => o.threads = num()?.max(1),
            "--repeats" => o.repeats = num()?.max(1),
            "--xml" => o.xml = Some(value.to_string()),
            k => return Err(format!("unknown option {k}")),
        }
    }
    Ok(o)
}

fn config(walker: WalkerKind) -> TaskConfig {
    match walker {
        WalkerKind::Quadruped => TaskConfig::quadruped(),
        WalkerKind::PointMass => TaskConfig::point_mass(),
    }
}

fn actions(n: usize, dim: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| (0..dim).map(|_| rng.random_range(-1.0..1.0)).collect())
        .collect()
}

/// The raw loop: write the controls, `substeps` x `mj_step`, nothing else; the episodes
/// restart where the environment's did (`resets[i]`: after step `i`), so both loops simulate
/// the same states.
fn raw(env: &mut GoToTarget, acts: &[Vec<f32>], resets: &[bool]) -> f64 {
    let substeps = env.config().substeps();
    let mut episode = 0;
    env.reset(episode);
    let start = Instant::now();
    for (i, a) in acts.iter().enumerate() {
        if resets.get(i).copied().unwrap_or(false) {
            episode += 1;
            env.reset(episode);
        }
        let data = env.physics_mut().data_mut();
        for (c, v) in data.ctrl_mut().iter_mut().zip(a) {
            *c = f64::from(*v);
        }
        for _ in 0..substeps {
            data.step();
        }
    }
    acts.len() as f64 / start.elapsed().as_secs_f64()
}

/// The environment: checks, clipping, physics, predicates, rewards, observations, resets.
/// Returns the steps per second and, per step, whether the next one starts a new episode.
fn wrapped(env: &mut GoToTarget, acts: &[Vec<f32>]) -> Result<(f64, Vec<bool>), String> {
    let mut episode = 0;
    env.reset(episode);
    let mut resets = vec![false; acts.len() + 1];
    let start = Instant::now();
    for (i, a) in acts.iter().enumerate() {
        let ts = env.step(a).map_err(|e| e.to_string())?;
        if ts.is_last() {
            resets[i + 1] = true;
            episode += 1;
            env.reset(episode);
        }
    }
    Ok((acts.len() as f64 / start.elapsed().as_secs_f64(), resets))
}

/// `envs` environments split over `threads` scoped threads, each stepping its share.
fn vector(o: &Options, acts: &[Vec<f32>]) -> Result<f64, String> {
    let family = GoToTargetFamily::new(config(o.walker));
    let mut envs = (0..o.envs)
        .map(|_| family.make_env(TaskSplit::Train))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let per_env = (acts.len() / o.envs).max(1);
    let chunk = o.envs.div_ceil(o.threads);
    let start = Instant::now();
    std::thread::scope(|s| {
        let handles: Vec<_> = envs
            .chunks_mut(chunk)
            .map(|group| {
                s.spawn(move || -> Result<(), String> {
                    for (i, env) in group.iter_mut().enumerate() {
                        env.reset(i as u64);
                    }
                    for a in acts.iter().take(per_env) {
                        for (i, env) in group.iter_mut().enumerate() {
                            if env.step(a).map_err(|e| e.to_string())?.is_last() {
                                env.reset(1000 + i as u64);
                            }
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        handles
            .into_iter()
            .try_for_each(|h| h.join().map_err(|_| "a thread panicked".to_string())?)
    })?;
    Ok((per_env * o.envs) as f64 / start.elapsed().as_secs_f64())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<(), String> {
    let o = parse()?;
    if let Some(path) = &o.xml {
        // The same model for the Python bindings (scripts/bench_mujoco.py).
        let c = config(o.walker);
        std::fs::write(path, bprl_mujoco::model_xml(o.walker, c.half_size()))
            .map_err(|e| format!("{path}: {e}"))?;
        return Ok(());
    }
    let mut env = GoToTarget::go_to_any(config(o.walker)).map_err(|e| e.to_string())?;
    let acts = actions(o.steps, o.walker.action_dim(), 1);
    // Warm up caches and the allocator; learn where the episodes end.
    let (_, resets) = wrapped(&mut env, &acts)?;
    let ends = resets.iter().filter(|&&r| r).count();
    let (mut raws, mut wraps, mut vecs) = (vec![], vec![], vec![]);
    for _ in 0..o.repeats {
        raws.push(raw(&mut env, &acts, &resets));
        wraps.push(wrapped(&mut env, &acts)?.0);
        vecs.push(vector(&o, &acts)?);
    }
    let (r, w, v) = (median(raws), median(wraps), median(vecs));
    println!("walker={:?}", o.walker);
    println!("control_dt_substeps={}", env.config().substeps());
    println!("raw_mj_step_control_steps_per_s={r:.0}");
    println!("env_steps_per_s={w:.0}");
    println!("wrapper_overhead_percent={:.1}", 100.0 * (r / w - 1.0));
    println!("episode_ends_in_{}_random_steps={ends}", o.steps);
    println!(
        "vector_{}_envs_{}_threads_steps_per_s={v:.0}",
        o.envs, o.threads
    );
    Ok(())
}
