//! The built-in experiment: multi-task training of four variants on the point-mass targets
//! suite over several seeds, then transfer to the held-out sequential tasks with and without a
//! learned prior; learning curves, prior rollouts and `summary.md`.

use crate::plot::{self, Series};
use crate::run::{RunDir, write_atomic};
use bprl_agents::{HierarchyConfig, LowLevel, PriorConfig, TaskSplit, Trainer};
use bprl_envs::{BodyKind, Env, PriorView, Scene, Suite, SuiteEnv, TaskFamily, render_png};
use bprl_examples::experiment::Experiment;
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// How big the experiment is.
#[derive(Debug, Clone, Copy)]
pub struct Preset {
    /// Seeds per variant.
    pub seeds: u64,
    /// Environment steps of multi-task training.
    pub train_steps: u64,
    /// Environment steps of transfer.
    pub transfer_steps: u64,
    /// Which body.
    pub body: BodyKind,
}

impl Preset {
    /// `make demo`: about 8 minutes on 2 cores.
    pub fn demo() -> Self {
        Self {
            seeds: 3,
            train_steps: 16_000,
            transfer_steps: 10_000,
            body: BodyKind::PointMass,
        }
    }

    /// `make paper`: more seeds and steps (hours on 2 cores).
    pub fn paper(body: BodyKind) -> Self {
        Self {
            seeds: 5,
            train_steps: 100_000,
            transfer_steps: 50_000,
            body,
        }
    }
}

/// The variants of multi-task training.
fn variants() -> Vec<(&'static str, PriorConfig, Option<HierarchyConfig>)> {
    let asym = PriorConfig::learned(PriorView::ProprioTargets.groups());
    vec![
        ("no_prior", PriorConfig::None, None),
        ("flat_prior_asymmetric", asym.clone(), None),
        (
            "flat_prior_full_info",
            PriorConfig::learned(PriorView::Full.groups()),
            None,
        ),
        (
            "hierarchical_prior_shared",
            asym,
            Some(HierarchyConfig {
                latent_dim: 4,
                hold_steps: 1,
                low_level: LowLevel::Shared,
                low_level_groups: None,
            }),
        ),
    ]
}

/// The demo's base configuration: small networks so each run takes about half a minute on a
/// core. Sizes chosen by issue 14's screen (docs/results.md, "Which options learn"): 128-128
/// networks with 16 sequences of 10 steps and 2 action samples per update learned best at
/// 16,000 steps for their cost (0.70 greedy success over 5 seeds at 31 CPU s per run, against
/// 0.61 at 34 s for 64-64 networks with 32 sequences and 4 samples, and 0.73 at 56 s with 32
/// sequences and 2 samples).
pub fn base_config(p: &Preset) -> Experiment {
    let mut e = Experiment::default();
    e.env.body = p.body;
    e.env.targets.num_targets = 3;
    e.env.targets.radius = 0.2;
    e.env.targets.shaping = 1.0;
    e.env.targets.max_steps = 80;
    let c = &mut e.agent;
    let l = &mut c.learner;
    l.batch_size = 16;
    l.policy_hidden = vec![128, 128];
    l.critic_hidden = vec![128, 128];
    l.action_samples = 2;
    l.policy_lr = 1e-3;
    l.critic_lr = 1e-3;
    l.prior_lr = 1e-3;
    l.target_period = 50;
    l.alpha = 0.05;
    c.run.updates_per_env_step = 0.5;
    c.run.min_replay = 50;
    c.run.replay_capacity = 20_000;
    c.run.eval_every_episodes = 10;
    c.run.eval_episodes = 10;
    c.run.checkpoint_every_episodes = 50;
    e
}

/// `(env steps, mean return, success rate)` per evaluation.
type Curve = Vec<(f64, f64, f64)>;
type JobResult = Result<Curve, String>;

struct Job {
    group: &'static str,
    name: String,
    seed: u64,
    config: Experiment,
    tasks: TaskSplit,
    prior_from: Option<PathBuf>,
    dir: PathBuf,
}

fn run_job(job: &Job) -> JobResult {
    let run = RunDir::create(&job.dir, &job.config)?;
    let mut t = Trainer::new(job.config.agent.clone(), job.config.suite(), job.tasks)
        .map_err(|e| e.to_string())?;
    if let Some(src) = &job.prior_from {
        let source = Trainer::<Suite>::load(src)
            .map_err(|e| format!("loading prior from {}: {e}", src.display()))?;
        t.learner
            .load_prior_from(&source.learner, false)
            .map_err(|e| e.to_string())?;
        t.learner.set_prior_frozen(true);
    }
    crate::run::train(
        &mut t,
        &run,
        &format!("{}/{} seed {}", job.group, job.name, job.seed),
        true,
    )?;
    Ok(t.evals
        .iter()
        .map(|e| (e.env_steps as f64, e.mean_return, e.success_rate))
        .collect())
}

/// Runs jobs on `workers` threads; returns results in job order.
fn run_all(jobs: &[Job], workers: usize) -> Vec<JobResult> {
    let next = Mutex::new(0usize);
    let results: Mutex<Vec<Option<JobResult>>> =
        Mutex::new((0..jobs.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = {
                        let mut n = next.lock().unwrap_or_else(|p| p.into_inner());
                        let i = *n;
                        *n += 1;
                        i
                    };
                    let Some(job) = jobs.get(i) else { break };
                    let start = std::time::Instant::now();
                    let r = run_job(job);
                    eprintln!(
                        "  {}/{} seed {}: {} in {:.0}s",
                        job.group,
                        job.name,
                        job.seed,
                        match &r {
                            Ok(ev) => ev.last().map_or("no evaluation".into(), |e| format!(
                                "final eval return {:.2}, success {:.0}%",
                                e.1,
                                100.0 * e.2
                            )),
                            Err(e) => format!("FAILED: {e}"),
                        },
                        start.elapsed().as_secs_f64()
                    );
                    results.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(r);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err("not run".into())))
        .collect()
}

struct Row {
    group: &'static str,
    name: String,
    curves: Vec<Curve>,
}

fn mean_spread(v: &[f64]) -> String {
    if v.is_empty() {
        return "n/a".into();
    }
    let m = v.iter().sum::<f64>() / v.len() as f64;
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!("{m:.2} [{lo:.2}, {hi:.2}]")
}

/// Runs the experiment into `out` and returns the summary text.
pub fn run(out: &Path, preset: Preset) -> Result<String, String> {
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let started = std::time::Instant::now();
    let base = base_config(&preset);
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 4);
    let mut jobs = Vec::new();
    for (name, prior, hierarchy) in variants() {
        for seed in 0..preset.seeds {
            let mut e = base.clone();
            let c = &mut e.agent;
            c.prior = prior.clone();
            c.hierarchy = hierarchy.clone();
            c.run.env_steps = preset.train_steps;
            c.run.seed = seed;
            jobs.push(Job {
                group: "train",
                name: name.into(),
                seed,
                config: e,
                tasks: TaskSplit::Train,
                prior_from: None,
                dir: out.join("train").join(name).join(format!("seed{seed}")),
            });
        }
    }
    eprintln!(
        "bprl demo: {} multi-task runs on {workers} workers",
        jobs.len()
    );
    let train_results = run_all(&jobs, workers);
    let mut transfer = Vec::new();
    for (name, source) in [
        ("no_prior", None),
        ("asymmetric_prior", Some("flat_prior_asymmetric")),
        ("full_info_prior", Some("flat_prior_full_info")),
    ] {
        for seed in 0..preset.seeds {
            let mut e = base.clone();
            let c = &mut e.agent;
            c.run.env_steps = preset.transfer_steps;
            c.run.seed = 100 + seed;
            c.prior = match source {
                None => PriorConfig::None,
                Some("flat_prior_full_info") => PriorConfig::learned(PriorView::Full.groups()),
                Some(_) => PriorConfig::learned(PriorView::ProprioTargets.groups()),
            };
            let prior_from = source.map(|s| {
                out.join("train")
                    .join(s)
                    .join(format!("seed{seed}"))
                    .join("checkpoint")
            });
            transfer.push(Job {
                group: "transfer",
                name: name.into(),
                seed,
                config: e,
                tasks: TaskSplit::HeldOut,
                prior_from,
                dir: out.join("transfer").join(name).join(format!("seed{seed}")),
            });
        }
    }
    eprintln!("bprl demo: {} transfer runs", transfer.len());
    let transfer_results = run_all(&transfer, workers);

    let mut rows: Vec<Row> = Vec::new();
    let mut failures = Vec::new();
    for (jobs, results) in [(&jobs, &train_results), (&transfer, &transfer_results)] {
        for (job, r) in jobs.iter().zip(results) {
            match r {
                Ok(curve) => match rows
                    .iter_mut()
                    .find(|row| row.group == job.group && row.name == job.name)
                {
                    Some(row) => row.curves.push(curve.clone()),
                    None => rows.push(Row {
                        group: job.group,
                        name: job.name.clone(),
                        curves: vec![curve.clone()],
                    }),
                },
                Err(e) => {
                    failures.push(format!("{}/{} seed {}: {e}", job.group, job.name, job.seed))
                }
            }
        }
    }
    for (group, file, title) in [
        (
            "train",
            "curves_train.png",
            "Multi-task training (point mass, 3 targets)",
        ),
        (
            "transfer",
            "curves_transfer.png",
            "Transfer to held-out sequential tasks",
        ),
    ] {
        let series: Vec<Series> = rows
            .iter()
            .filter(|r| r.group == group)
            .map(|r| Series {
                label: r.name.clone(),
                seeds: r
                    .curves
                    .iter()
                    .map(|c| c.iter().map(|&(x, y, _)| (x, y)).collect())
                    .collect(),
            })
            .collect();
        plot::curves(
            &out.join(file),
            title,
            "environment steps",
            "greedy evaluation return",
            &series,
        )?;
    }
    let rollouts = prior_rollouts(out)?;
    let summary = summary(
        &rows,
        &failures,
        &preset,
        started.elapsed().as_secs_f64(),
        &rollouts,
    );
    write_atomic(&out.join("summary.md"), &summary)?;
    Ok(summary)
}

/// Renders rollouts of the asymmetric flat prior (seed 0) from one start state.
fn prior_rollouts(out: &Path) -> Result<String, String> {
    let src = out.join("train/flat_prior_asymmetric/seed0/checkpoint");
    let t = Trainer::<Suite>::load(&src).map_err(|e| e.to_string())?;
    let mut env = t.family().make_env(t.split()).map_err(|e| e.to_string())?;
    let paths = rollout_prior(&t.learner, &mut env, 2024, 16, 60).map_err(|e| e.to_string())?;
    let scene = Scene {
        targets: env.targets().to_vec(),
        goal: None,
        trajectories: paths,
        radius: t.family().config.radius,
    };
    render_png(&scene, &out.join("prior_rollouts.png"), 480).map_err(|e| e.to_string())?;
    Ok("prior_rollouts.png".into())
}

/// Effector paths of `rollouts` rollouts of the learned prior (empty without one) from the
/// start state of `seed`; `env` is left in the last rollout's layout.
fn rollout_prior(
    learner: &bprl_agents::Learner,
    env: &mut SuiteEnv,
    seed: u64,
    rollouts: usize,
    steps: usize,
) -> bprl_agents::Result<Vec<Vec<[f32; 2]>>> {
    let mut rng = StdRng::seed_from_u64(bprl_agents::trainer::seeds::mix(seed, 99));
    let mut paths = Vec::new();
    for _ in 0..rollouts {
        let mut ts = env.reset(seed);
        let mut path = vec![env.effector()];
        for _ in 0..steps {
            let Some(a) = learner.act_prior(&ts.flat_observation(), &mut rng)? else {
                return Ok(Vec::new());
            };
            ts = env.step(&a)?;
            path.push(env.effector());
            if ts.is_last() {
                break;
            }
        }
        paths.push(path);
    }
    Ok(paths)
}

fn summary(
    rows: &[Row],
    failures: &[String],
    preset: &Preset,
    seconds: f64,
    rollouts: &str,
) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# bprl demo: behavior priors on the point-mass targets suite\n"
    );
    let _ = writeln!(
        s,
        "Seeds per variant: {}. Multi-task training: {} environment steps; transfer: {}. Body: {:?}. Wall time: {:.0} s.\n",
        preset.seeds, preset.train_steps, preset.transfer_steps, preset.body, seconds
    );
    let _ = writeln!(
        s,
        "Evaluation: greedy (mean action) policy, 10 fixed episodes, every 10 training episodes. Success = the task completed before the time limit. Threshold for 'steps to success': a 50% evaluation success rate. Values are the mean over seeds with [min, max].\n"
    );
    for group in ["train", "transfer"] {
        let _ = writeln!(
            s,
            "## {}\n",
            if group == "train" {
                "Multi-task training"
            } else {
                "Transfer to held-out tasks (visit two targets in order)"
            }
        );
        let _ = writeln!(
            s,
            "| variant | final return | final success rate | env steps to 50% success |\n|---|---|---|---|"
        );
        for r in rows.iter().filter(|r| r.group == group) {
            let finals: Vec<&(f64, f64, f64)> = r.curves.iter().filter_map(|c| c.last()).collect();
            let ret: Vec<f64> = finals.iter().map(|f| f.1).collect();
            let succ: Vec<f64> = finals.iter().map(|f| f.2).collect();
            let reach: Vec<Option<f64>> = r
                .curves
                .iter()
                .map(|c| c.iter().find(|p| p.2 >= 0.5).map(|p| p.0))
                .collect();
            let reached: Vec<f64> = reach.iter().flatten().copied().collect();
            let reach_text = if reached.is_empty() {
                "never".to_string()
            } else {
                format!(
                    "{} ({} of {} seeds)",
                    mean_spread(&reached),
                    reached.len(),
                    reach.len()
                )
            };
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} |",
                r.name,
                mean_spread(&ret),
                mean_spread(&succ),
                reach_text
            );
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(
        s,
        "Learning curves: `curves_train.png`, `curves_transfer.png` (mean over seeds, band = min to max). Prior rollouts from one start state: `{rollouts}`.\n"
    );
    if !failures.is_empty() {
        let _ = writeln!(s, "## Failed runs\n");
        for f in failures {
            let _ = writeln!(s, "- {f}");
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(
        s,
        "These are the numbers this run produced, whatever they show; `docs/results.md` discusses them against the paper's claims."
    );
    s
}
