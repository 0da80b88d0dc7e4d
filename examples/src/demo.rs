//! The claims experiment (`bprl demo`; `make demo` at demo size, `make paper` at full size).
//!
//! Six variants train on the point-mass suite's "go to target k" tasks (no prior, a fixed
//! `N(0, I)` prior, a learned flat prior with information asymmetry, a learned flat prior with
//! full information, and hierarchical priors with a shared and with a separate low level);
//! then the priors transfer, frozen or still learning, to two held-out families:
//!
//! - **mismarked goal** ([`HeldOutTasks::Mismarked`]): the goal group marks target `i`, the
//!   reward is for target `i + 1 mod K`. Its encoding is the training one, its meaning is not:
//!   a prior that learnt "go where the goal points" pulls the policy to the wrong target,
//!   while a prior that never saw the goal only knows "go to some target".
//! - **tours** ([`HeldOutTasks::Tours`]): visit all `K` targets in order, the goal marking the
//!   next; longer episodes, and each leg's best prior (not knowing which target is next) is a
//!   mixture over the targets (Eq. 7): the case for a hierarchical prior.
//!
//! Every run has its own folder; a finished run keeps `result.json` and is skipped by a rerun
//! of the same preset, an interrupted one resumes from its checkpoint, and a run whose
//! configuration changed starts over. Each family is also scored for trivial baselines (zero,
//! random and constant actions, scripted controllers) on the same 100 fixed start states as
//! the learners' final evaluation. `summary.md` holds the tables (the claims table with
//! bootstrap intervals and permutation p-values), next to the learning curves and prior
//! rollouts as PNG.

use crate::plot::{self, Panel, Series, Spread};
use crate::run::{RunDir, Start, write_atomic};
use bprl_agents::trainer::seeds::{eval_seed, mix};
use bprl_agents::{HierarchyConfig, LowLevel, PriorConfig, TaskSplit, Trainer};
use bprl_envs::{BodyKind, Env, HeldOutTasks, PriorView, Suite, SuiteEnv, TaskFamily};
use bprl_examples::experiment::Experiment;
use bprl_examples::stats::{self, Alternative};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// How big the experiment is.
#[derive(Debug, Clone, Copy)]
pub struct Preset {
    /// `demo` or `paper` (written in the summary).
    pub name: &'static str,
    /// Seeds of the headline variants (no prior, the two flat learned priors, and their
    /// transfers).
    pub headline_seeds: u64,
    /// Seeds of every other variant.
    pub seeds: u64,
    /// Environment steps of multi-task training.
    pub train_steps: u64,
    /// Environment steps of transfer to the mismarked-goal tasks.
    pub transfer_steps: u64,
    /// Environment steps of transfer to the tours.
    pub tours_steps: u64,
    /// Episodes of each greedy evaluation during training (the learning curves).
    pub curve_episodes: usize,
    /// Training episodes between evaluations.
    pub eval_every_episodes: u64,
    /// Fixed start states of each run's final greedy evaluation (and of the baselines).
    pub final_episodes: usize,
    /// Which body.
    pub body: BodyKind,
}

impl Preset {
    /// `make demo`: the same experiment with fewer seeds and steps (under 10 minutes on 2
    /// cores).
    pub fn demo() -> Self {
        Self {
            name: "demo",
            headline_seeds: 3,
            seeds: 2,
            train_steps: 12_000,
            transfer_steps: 8_000,
            tours_steps: 8_000,
            curve_episodes: 20,
            eval_every_episodes: 10,
            final_episodes: 100,
            body: BodyKind::PointMass,
        }
    }

    /// `make paper`: 10 seeds for the headline comparison, 5 for every other variant (about
    /// an hour on 2 cores).
    pub fn paper(body: BodyKind) -> Self {
        Self {
            name: "paper",
            headline_seeds: 10,
            seeds: 5,
            train_steps: 16_000,
            transfer_steps: 12_000,
            tours_steps: 24_000,
            curve_episodes: 20,
            eval_every_episodes: 10,
            final_episodes: 100,
            body,
        }
    }
}

/// A training variant: its prior and hierarchy.
struct Variant {
    name: &'static str,
    prior: PriorConfig,
    hierarchy: Option<HierarchyConfig>,
    headline: bool,
}

fn hierarchy(low_level: LowLevel) -> Option<HierarchyConfig> {
    Some(HierarchyConfig {
        latent_dim: 4,
        hold_steps: 1,
        low_level,
        low_level_groups: None,
    })
}

/// The variants of multi-task training.
fn train_variants() -> Vec<Variant> {
    let asym = PriorConfig::learned(PriorView::ProprioTargets.groups());
    let v = |name, prior, hierarchy, headline| Variant {
        name,
        prior,
        hierarchy,
        headline,
    };
    vec![
        v("no_prior", PriorConfig::None, None, true),
        v(
            "fixed_normal_prior",
            PriorConfig::StandardNormal,
            None,
            false,
        ),
        v("flat_prior_asymmetric", asym.clone(), None, true),
        v(
            "flat_prior_full_info",
            PriorConfig::learned(PriorView::Full.groups()),
            None,
            true,
        ),
        v(
            "hierarchical_prior_shared",
            asym.clone(),
            hierarchy(LowLevel::Shared),
            false,
        ),
        v(
            "hierarchical_prior_separate",
            asym,
            hierarchy(LowLevel::Separate),
            false,
        ),
    ]
}

/// A transfer variant: a fresh agent, with the prior of a training variant (frozen or still
/// learning) or a prior of its own kind.
struct TransferVariant {
    name: &'static str,
    /// The training variant whose prior (of the same seed index) it starts from.
    source: Option<&'static str>,
    /// Without a source: the prior it has.
    own_prior: PriorConfig,
    frozen: bool,
    headline: bool,
}

/// A held-out family and the variants transferred to it.
struct Family {
    name: &'static str,
    title: &'static str,
    held_out: HeldOutTasks,
    variants: Vec<TransferVariant>,
}

fn families() -> Vec<Family> {
    let t = |name, source, own_prior, frozen, headline| TransferVariant {
        name,
        source,
        own_prior,
        frozen,
        headline,
    };
    let asym = Some("flat_prior_asymmetric");
    let full = Some("flat_prior_full_info");
    vec![
        Family {
            name: "mismarked",
            title: "Transfer to the mismarked-goal tasks (the goal marks i, target i+1 pays)",
            held_out: HeldOutTasks::Mismarked,
            variants: vec![
                t("no_prior", None, PriorConfig::None, false, true),
                t(
                    "fixed_normal_prior",
                    None,
                    PriorConfig::StandardNormal,
                    false,
                    false,
                ),
                t("asymmetric_frozen", asym, PriorConfig::None, true, true),
                t("asymmetric_learning", asym, PriorConfig::None, false, false),
                t("full_info_frozen", full, PriorConfig::None, true, true),
                t("full_info_learning", full, PriorConfig::None, false, false),
            ],
        },
        Family {
            name: "tours",
            title: "Transfer to the tours (visit all three targets in order)",
            held_out: HeldOutTasks::Tours,
            variants: vec![
                t("no_prior", None, PriorConfig::None, false, false),
                t("asymmetric_frozen", asym, PriorConfig::None, true, false),
                t("full_info_frozen", full, PriorConfig::None, true, false),
                t(
                    "hierarchical_shared_frozen",
                    Some("hierarchical_prior_shared"),
                    PriorConfig::None,
                    true,
                    false,
                ),
                t(
                    "hierarchical_separate_frozen",
                    Some("hierarchical_prior_separate"),
                    PriorConfig::None,
                    true,
                    false,
                ),
            ],
        },
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
    c.run.eval_every_episodes = p.eval_every_episodes;
    c.run.eval_episodes = p.curve_episodes;
    c.run.checkpoint_every_episodes = 50;
    e
}

/// The time limit of the tours (three legs instead of one).
pub const TOURS_MAX_STEPS: usize = 150;

/// What a finished run keeps in `result.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunResult {
    /// `(env steps, mean return, success rate)` of each evaluation during the run.
    pub curve: Vec<(f64, f64, f64)>,
    /// Greedy success on the final evaluation's fixed start states.
    pub final_success: f64,
    /// Greedy mean return there.
    pub final_return: f64,
    /// Start states of the final evaluation.
    pub final_episodes: usize,
    /// The normalized area under the success curve ([`stats::area_under_curve`]).
    pub auc_success: f64,
    /// Wall seconds of the run's last stretch (since it last started or resumed).
    pub wall_seconds: f64,
}

struct Job {
    group: &'static str,
    name: String,
    seed: u64,
    config: Experiment,
    split: TaskSplit,
    /// The checkpoint the prior comes from (in the source training run's folder), and
    /// whether the prior stays frozen.
    prior_from: Option<PathBuf>,
    frozen: bool,
    dir: PathBuf,
}

/// How a job's folder was used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Ran,
    Resumed,
    Reused,
}

type JobResult = Result<(RunResult, Outcome), String>;

const RESULT_FILE: &str = "result.json";

/// Whether `dir/config.toml` holds exactly `config` (parsed, so that a field added later with
/// its old behavior as the default does not count as a change).
fn same_config(dir: &Path, config: &Experiment) -> bool {
    std::fs::read_to_string(dir.join("config.toml"))
        .ok()
        .and_then(|text| Experiment::from_toml(&text).ok())
        .is_some_and(|on_disk| on_disk == *config)
}

/// The training run folder a transfer's prior comes from.
fn source_dir(job: &Job) -> Option<&Path> {
    job.prior_from.as_deref().and_then(Path::parent)
}

fn modified(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// A finished result of `job`, given that its folder holds its configuration, if there is
/// one. A transfer's result also needs its source training run finished *before* it (a
/// source run redone since makes the transfer stale).
fn cached(job: &Job) -> Option<RunResult> {
    let own = job.dir.join(RESULT_FILE);
    if let Some(src) = source_dir(job)
        && modified(&src.join(RESULT_FILE))? > modified(&own)?
    {
        return None;
    }
    serde_json::from_str(&std::fs::read_to_string(own).ok()?).ok()
}

fn run_job(job: &Job, final_episodes: usize) -> JobResult {
    let started = std::time::Instant::now();
    let same_config = same_config(&job.dir, &job.config);
    if let Some(r) = same_config.then(|| cached(job)).flatten() {
        return Ok((r, Outcome::Reused));
    }
    if let Some(src) = source_dir(job)
        && !src.join(RESULT_FILE).is_file()
    {
        return Err(format!(
            "its prior's training run {} did not finish",
            src.display()
        ));
    }
    // A result left from another configuration or an older source must not outlive this run.
    match std::fs::remove_file(job.dir.join(RESULT_FILE)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(format!("{}: {e}", job.dir.join(RESULT_FILE).display()));
        }
        _ => {}
    }
    let checkpoint = job.dir.join("checkpoint");
    // A transfer's checkpoint from before its source run last finished holds the old prior.
    let stale = source_dir(job).is_some_and(|src| {
        match (
            modified(&src.join(RESULT_FILE)),
            modified(&checkpoint.join("LATEST")),
        ) {
            (Some(source), Some(own)) => source > own,
            _ => true,
        }
    });
    let resumable = same_config && !stale && checkpoint.join("LATEST").exists();
    let mut resumed = None;
    if resumable {
        let run = RunDir::open(&job.dir, Start::Resume)?;
        match Trainer::<Suite>::load(&checkpoint) {
            Ok(t) => {
                run.rewrite_metrics(&t.history, &t.evals)?;
                resumed = Some((run, t));
            }
            Err(e) => eprintln!(
                "  {}: checkpoint not usable ({e}); starting the run over",
                job.dir.display()
            ),
        }
    }
    let outcome = if resumed.is_some() {
        Outcome::Resumed
    } else {
        Outcome::Ran
    };
    let (run, mut t) = match resumed {
        Some(x) => x,
        None => {
            let run = RunDir::create(&job.dir, &job.config)?;
            let mut t = Trainer::new(job.config.agent.clone(), job.config.suite(), job.split)
                .map_err(|e| e.to_string())?;
            if let Some(src) = &job.prior_from {
                let source = Trainer::<Suite>::load(src)
                    .map_err(|e| format!("loading prior from {}: {e}", src.display()))?;
                let with_low_level = job.config.agent.hierarchy.is_some();
                t.learner
                    .load_prior_from(&source.learner, with_low_level)
                    .map_err(|e| e.to_string())?;
            }
            (run, t)
        }
    };
    if job.frozen {
        t.learner.set_prior_frozen(true);
    }
    crate::run::train(
        &mut t,
        &run,
        &format!("{}/{} seed {}", job.group, job.name, job.seed),
        true,
    )?;
    let curve: Vec<(f64, f64, f64)> = t
        .evals
        .iter()
        .map(|e| (e.env_steps as f64, e.mean_return, e.success_rate))
        .collect();
    let fin = t.evaluate(final_episodes).map_err(|e| e.to_string())?;
    let success_curve: Vec<(f64, f64)> = curve.iter().map(|&(x, _, s)| (x, s)).collect();
    let result = RunResult {
        auc_success: stats::area_under_curve(&success_curve).unwrap_or(0.0),
        curve,
        final_success: fin.success_rate,
        final_return: fin.mean_return,
        final_episodes,
        wall_seconds: started.elapsed().as_secs_f64(),
    };
    let text = serde_json::to_string_pretty(&result).map_err(|e| e.to_string())?;
    write_atomic(&job.dir.join(RESULT_FILE), &text)?;
    Ok((result, outcome))
}

/// Runs jobs on `workers` threads; returns results in job order.
fn run_all(jobs: &[Job], workers: usize, final_episodes: usize) -> Vec<JobResult> {
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
                    let r = run_job(job, final_episodes);
                    eprintln!(
                        "  {}/{} seed {}: {} in {:.0}s",
                        job.group,
                        job.name,
                        job.seed,
                        match &r {
                            Ok((r, o)) => format!(
                                "{}final success {:.2} (AUC {:.2}), return {:.2}",
                                match o {
                                    Outcome::Reused => "reused: ",
                                    Outcome::Resumed => "resumed: ",
                                    Outcome::Ran => "",
                                },
                                r.final_success,
                                r.auc_success,
                                r.final_return
                            ),
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

/// The finished runs of one variant in one group.
#[derive(Debug, Clone)]
struct Row {
    group: &'static str,
    name: String,
    runs: Vec<RunResult>,
}

impl Row {
    fn values(&self, metric: Metric) -> Vec<f64> {
        self.runs
            .iter()
            .map(|r| match metric {
                Metric::FinalSuccess => r.final_success,
                Metric::Auc => r.auc_success,
                Metric::FinalReturn => r.final_return,
                Metric::ReturnAuc => {
                    let c: Vec<(f64, f64)> = r.curve.iter().map(|&(x, y, _)| (x, y)).collect();
                    stats::area_under_curve(&c).unwrap_or(0.0)
                }
            })
            .collect()
    }
}

/// A per-run number the tables compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Metric {
    /// Greedy success on the 100 fixed start states at the end.
    FinalSuccess,
    /// Area under the success curve (learning speed).
    Auc,
    /// Greedy return at the end (counts every arrival: partial progress on the tours).
    FinalReturn,
    /// Area under the return curve (the evaluations' mean return, averaged over the run).
    ReturnAuc,
}

impl Metric {
    fn label(self) -> &'static str {
        match self {
            Metric::FinalSuccess => "final success",
            Metric::Auc => "success AUC",
            Metric::FinalReturn => "final return",
            Metric::ReturnAuc => "return AUC",
        }
    }
}

/// One row of the claims table: the claim predicts `mean(a) > mean(b)` on `metric`.
struct Claim {
    claim: &'static str,
    group: &'static str,
    a: &'static str,
    b: &'static str,
    metric: Metric,
}

fn claims() -> Vec<Claim> {
    let c = |claim, group, a, b, metric| Claim {
        claim,
        group,
        a,
        b,
        metric,
    };
    use Metric::{Auc, FinalReturn, FinalSuccess, ReturnAuc};
    vec![
        c(
            "1: an asymmetric prior speeds up learning",
            "train",
            "flat_prior_asymmetric",
            "no_prior",
            Auc,
        ),
        c(
            "1: an asymmetric prior speeds up learning",
            "train",
            "flat_prior_asymmetric",
            "no_prior",
            FinalSuccess,
        ),
        c(
            "1: an asymmetric prior speeds up transfer",
            "mismarked",
            "asymmetric_frozen",
            "no_prior",
            Auc,
        ),
        c(
            "1: an asymmetric prior speeds up transfer",
            "mismarked",
            "asymmetric_frozen",
            "no_prior",
            FinalSuccess,
        ),
        c(
            "1: ... still learning during transfer",
            "mismarked",
            "asymmetric_learning",
            "no_prior",
            Auc,
        ),
        c(
            "2: full information transfers worse",
            "mismarked",
            "asymmetric_frozen",
            "full_info_frozen",
            Auc,
        ),
        c(
            "2: full information transfers worse",
            "mismarked",
            "asymmetric_frozen",
            "full_info_frozen",
            FinalSuccess,
        ),
        c(
            "3: a hierarchical prior helps more (multi-task training)",
            "train",
            "hierarchical_prior_shared",
            "flat_prior_asymmetric",
            Auc,
        ),
        c(
            "3: a hierarchical prior (shared low level) helps more",
            "tours",
            "hierarchical_shared_frozen",
            "asymmetric_frozen",
            ReturnAuc,
        ),
        c(
            "3: a hierarchical prior (shared low level) helps more",
            "tours",
            "hierarchical_shared_frozen",
            "asymmetric_frozen",
            FinalReturn,
        ),
        c(
            "3: a hierarchical prior (separate low level) helps more",
            "tours",
            "hierarchical_separate_frozen",
            "asymmetric_frozen",
            ReturnAuc,
        ),
        c(
            "3: a hierarchical prior (separate low level) helps more",
            "tours",
            "hierarchical_separate_frozen",
            "asymmetric_frozen",
            FinalReturn,
        ),
    ]
}

/// Bootstrap resamples of every interval, and random relabelings of a permutation test too
/// large to enumerate.
const RESAMPLES: usize = 10_000;

/// The suite of one group: training tasks, or a held-out family with its time limit.
fn suite_config(base: &Experiment, held_out: Option<HeldOutTasks>) -> Experiment {
    let mut e = base.clone();
    if let Some(h) = held_out {
        e.env.held_out = h;
        if h == HeldOutTasks::Tours {
            e.env.targets.max_steps = TOURS_MAX_STEPS;
        }
    }
    e
}

/// Builds the jobs: training first, then the transfers (which need the training runs'
/// checkpoints); transfers without a source go with the training jobs.
fn jobs(out: &Path, preset: &Preset) -> (Vec<Job>, Vec<Job>) {
    let base = base_config(preset);
    let variants = train_variants();
    let mut first = Vec::new();
    let mut second = Vec::new();
    for v in &variants {
        let seeds = if v.headline {
            preset.headline_seeds
        } else {
            preset.seeds
        };
        for seed in 0..seeds {
            let mut e = base.clone();
            let c = &mut e.agent;
            c.prior = v.prior.clone();
            c.hierarchy = v.hierarchy.clone();
            c.run.env_steps = preset.train_steps;
            c.run.seed = seed;
            first.push(Job {
                group: "train",
                name: v.name.into(),
                seed,
                config: e,
                split: TaskSplit::Train,
                prior_from: None,
                frozen: false,
                dir: out.join("train").join(v.name).join(format!("seed{seed}")),
            });
        }
    }
    for f in families() {
        for tv in &f.variants {
            let seeds = if tv.headline {
                preset.headline_seeds
            } else {
                preset.seeds
            };
            let source = tv
                .source
                .and_then(|s| variants.iter().find(|v| v.name == s));
            for seed in 0..seeds {
                let mut e = suite_config(&base, Some(f.held_out));
                let c = &mut e.agent;
                c.run.env_steps = if f.held_out == HeldOutTasks::Tours {
                    preset.tours_steps
                } else {
                    preset.transfer_steps
                };
                c.run.seed = 100 + seed;
                match source {
                    Some(v) => {
                        c.prior = v.prior.clone();
                        c.hierarchy = v.hierarchy.clone();
                    }
                    None => c.prior = tv.own_prior.clone(),
                }
                let job = Job {
                    group: f.name,
                    name: tv.name.into(),
                    seed,
                    config: e,
                    split: TaskSplit::HeldOut,
                    prior_from: source.map(|v| {
                        out.join("train")
                            .join(v.name)
                            .join(format!("seed{seed}"))
                            .join("checkpoint")
                    }),
                    frozen: tv.frozen,
                    dir: out.join(f.name).join(tv.name).join(format!("seed{seed}")),
                };
                if source.is_some() {
                    second.push(job);
                } else {
                    first.push(job);
                }
            }
        }
    }
    (first, second)
}

/// Runs the experiment into `out` (resuming what an earlier run of it left there) and
/// returns the summary text.
///
/// # Errors
/// A folder or file that cannot be written, a plot that cannot be drawn, or a baseline's
/// environment error. A run that fails is reported in the summary, not as an error.
pub fn run(out: &Path, preset: Preset) -> Result<String, String> {
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let started = std::time::Instant::now();
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 4);
    let (first, second) = jobs(out, &preset);
    eprintln!(
        "bprl demo ({}): {} training and independent transfer runs on {workers} workers",
        preset.name,
        first.len()
    );
    let first_results = run_all(&first, workers, preset.final_episodes);
    eprintln!(
        "bprl demo ({}): {} transfer runs from the trained priors",
        preset.name,
        second.len()
    );
    let second_results = run_all(&second, workers, preset.final_episodes);

    let mut rows: Vec<Row> = Vec::new();
    let mut failures = Vec::new();
    let mut outcomes = [0usize; 3];
    for (jobs, results) in [(&first, &first_results), (&second, &second_results)] {
        for (job, r) in jobs.iter().zip(results) {
            match r {
                Ok((run, outcome)) => {
                    outcomes[*outcome as usize] += 1;
                    match rows
                        .iter_mut()
                        .find(|row| row.group == job.group && row.name == job.name)
                    {
                        Some(row) => row.runs.push(run.clone()),
                        None => rows.push(Row {
                            group: job.group,
                            name: job.name.clone(),
                            runs: vec![run.clone()],
                        }),
                    }
                }
                Err(e) => {
                    failures.push(format!("{}/{} seed {}: {e}", job.group, job.name, job.seed))
                }
            }
        }
    }
    let base = base_config(&preset);
    let mut groups: Vec<(&str, String, Experiment)> = vec![(
        "train",
        "Multi-task training (go to the marked target of three)".to_string(),
        suite_config(&base, None),
    )];
    for f in families() {
        groups.push((
            f.name,
            f.title.to_string(),
            suite_config(&base, Some(f.held_out)),
        ));
    }
    for (group, title, _) in &groups {
        let series: Vec<Series> = rows
            .iter()
            .filter(|r| r.group == *group)
            .map(|r| Series {
                label: r.name.clone(),
                seeds: r
                    .runs
                    .iter()
                    .map(|run| run.curve.iter().map(|&(x, _, s)| (x, s)).collect())
                    .collect(),
            })
            .collect();
        plot::curves_with(
            &out.join(format!("curves_{group}.png")),
            title,
            "environment steps",
            "greedy success rate (fixed start states)",
            &series,
            Spread::Ci95,
        )?;
    }
    let mut baselines = Vec::new();
    for (group, _, e) in &groups {
        let split = if *group == "train" {
            TaskSplit::Train
        } else {
            TaskSplit::HeldOut
        };
        let suite = e.suite();
        let rows = baseline_rows(&suite, split, preset.final_episodes)?;
        baselines.push((group.to_string(), rows));
    }
    let mut pictures = Vec::new();
    for (group, split) in [
        ("train", TaskSplit::Train),
        ("mismarked", TaskSplit::HeldOut),
    ] {
        let e = &groups
            .iter()
            .find(|g| g.0 == group)
            .ok_or("no such group")?
            .2;
        let file = format!("prior_rollouts_{group}.png");
        match prior_rollouts(out, &e.suite(), split, &out.join(&file)) {
            Ok(()) => pictures.push(file),
            Err(err) => failures.push(format!("prior rollouts on {group}: {err}")),
        }
    }
    let summary = summary(&Summary {
        rows: &rows,
        failures: &failures,
        preset: &preset,
        seconds: started.elapsed().as_secs_f64(),
        outcomes,
        baselines: &baselines,
        pictures: &pictures,
        groups: &groups,
    });
    write_atomic(&out.join("summary.md"), &summary)?;
    Ok(summary)
}

/// A baseline's greedy score on the fixed start states.
#[derive(Debug, Clone)]
struct BaselineRow {
    name: String,
    mean_return: f64,
    success: f64,
}

/// A proportional-derivative controller of the point mass towards `target` (critically
/// damped for its dynamics: acceleration `4 a - v`), clipped to the action box.
fn steer(env: &SuiteEnv, obs: &[Vec<f32>], target: [f32; 2]) -> Vec<f32> {
    let p = env.effector();
    let v = obs.first().map_or([0.0; 2], |o| {
        [
            o.get(2).copied().unwrap_or(0.0),
            o.get(3).copied().unwrap_or(0.0),
        ]
    });
    (0..2)
        .map(|i| (4.0 * (target[i] - p[i]) - 1.75 * v[i]).clamp(-1.0, 1.0))
        .collect()
}

/// Scores one fixed policy on `episodes` fixed start states (the learners' evaluation
/// seeds).
fn score(
    env: &mut SuiteEnv,
    episodes: usize,
    mut policy: impl FnMut(&SuiteEnv, &[Vec<f32>], &mut StdRng) -> Vec<f32>,
) -> Result<(f64, f64), String> {
    let (mut total, mut wins) = (0.0f64, 0usize);
    for e in 0..episodes {
        let seed = eval_seed(e as u64);
        let mut rng = StdRng::seed_from_u64(mix(seed, 7));
        let mut ts = env.reset(seed);
        loop {
            let a = policy(env, &ts.observation, &mut rng);
            ts = env.step(&a).map_err(|e| e.to_string())?;
            total += f64::from(ts.reward);
            if ts.is_last() {
                wins += usize::from(ts.end.is_some_and(|end| end.is_success()));
                break;
            }
        }
    }
    let n = episodes.max(1) as f64;
    Ok((total / n, wins as f64 / n))
}

/// The trivial baselines of a family: zero, uniform random and the best of eight constant
/// actions, and (for the point mass) two scripted controllers: one steering to the target
/// that pays (it knows the task), one to the target the goal group marks.
fn baseline_rows(
    suite: &Suite,
    split: TaskSplit,
    episodes: usize,
) -> Result<Vec<BaselineRow>, String> {
    let mut env = suite.make_env(split).map_err(|e| e.to_string())?;
    let mut rows = Vec::new();
    let mut push = |name: String, (mean_return, success): (f64, f64)| {
        rows.push(BaselineRow {
            name,
            mean_return,
            success,
        });
    };
    push(
        "zero action".into(),
        score(&mut env, episodes, |_, _, _| vec![0.0, 0.0])?,
    );
    push(
        "uniform random actions".into(),
        score(&mut env, episodes, |_, _, rng| {
            (0..2).map(|_| rng.random_range(-1.0f32..=1.0)).collect()
        })?,
    );
    let mut best: Option<(String, (f64, f64))> = None;
    for k in 0..8 {
        let angle = std::f32::consts::TAU * k as f32 / 8.0;
        let a = vec![angle.cos(), angle.sin()];
        let s = score(&mut env, episodes, |_, _, _| a.clone())?;
        if best.as_ref().is_none_or(|b| s.1 > b.1.1) {
            best = Some((
                format!(
                    "constant action ({:.2}, {:.2}), best of 8 directions",
                    a[0], a[1]
                ),
                s,
            ));
        }
    }
    if let Some((name, s)) = best {
        push(name, s);
    }
    if suite.body == BodyKind::PointMass {
        push(
            "scripted: steer to the target that pays (knows the task)".into(),
            score(&mut env, episodes, |env, obs, _| {
                steer(env, obs, env.current_target())
            })?,
        );
        push(
            "scripted: steer to the target the goal marks".into(),
            score(&mut env, episodes, |env, obs, _| {
                steer(env, obs, env.cued_target())
            })?,
        );
    }
    Ok(rows)
}

/// The learned-prior training variants pictured, with their panel titles.
const PICTURED: [(&str, &str); 4] = [
    ("flat_prior_asymmetric", "flat prior, asymmetric"),
    ("flat_prior_full_info", "flat prior, full information"),
    (
        "hierarchical_prior_shared",
        "hierarchical, shared low level",
    ),
    (
        "hierarchical_prior_separate",
        "hierarchical, separate low level",
    ),
];

/// The fixed start state of the prior-rollout pictures.
const PICTURE_SEED: u64 = 2024;

/// Renders 16 rollouts of each pictured variant's prior (training seed 0) from one start
/// state of `suite`'s `split`, side by side.
fn prior_rollouts(out: &Path, suite: &Suite, split: TaskSplit, file: &Path) -> Result<(), String> {
    let mut panels = Vec::new();
    for (variant, title) in PICTURED {
        let src = out.join("train").join(variant).join("seed0/checkpoint");
        let t = Trainer::<Suite>::load(&src).map_err(|e| format!("{}: {e}", src.display()))?;
        let mut env = suite.make_env(split).map_err(|e| e.to_string())?;
        let paths =
            rollout_prior(&t.learner, &mut env, PICTURE_SEED, 16, 60).map_err(|e| e.to_string())?;
        let marked = env.task().cue.first().copied();
        let pays = env.task().order.first().copied();
        let title = match (marked, pays) {
            (Some(m), Some(p)) if m != p => format!("{title} (T{p} pays)"),
            _ => title.to_string(),
        };
        panels.push(Panel {
            title,
            targets: env.targets().to_vec(),
            marked,
            paths,
        });
    }
    let what = match split {
        TaskSplit::Train => "a training task",
        TaskSplit::HeldOut => "a mismarked-goal task",
    };
    plot::rollout_panels(
        file,
        &format!("Rollouts of each learned prior (training seed 0) from one start state of {what}"),
        &panels,
        suite.config.radius,
    )
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
    let mut rng = StdRng::seed_from_u64(mix(seed, 99));
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

/// Everything the summary reports.
struct Summary<'a> {
    rows: &'a [Row],
    failures: &'a [String],
    preset: &'a Preset,
    seconds: f64,
    outcomes: [usize; 3],
    baselines: &'a [(String, Vec<BaselineRow>)],
    pictures: &'a [String],
    groups: &'a [(&'a str, String, Experiment)],
}

/// `mean [lo, hi]` with the bootstrap 95% interval of the mean.
fn mean_ci(v: &[f64], seed: u64) -> String {
    match (
        stats::mean(v),
        stats::bootstrap_mean_ci(v, 0.95, RESAMPLES, seed),
    ) {
        (Some(m), Some((lo, hi))) => format!("{m:.2} [{lo:.2}, {hi:.2}]"),
        _ => "n/a".into(),
    }
}

/// The verdict of a claim row from the bootstrap interval `[lo, hi]` of `A - B`, the
/// one-sided p of `A > B` and the one-sided p of `B > A`: supported when the interval
/// excludes 0 upwards and `p <= 0.05`, contradicted when it excludes 0 downwards and the
/// reverse p is `<= 0.05`, else not shown.
fn verdict(lo: f64, hi: f64, p: f64, reverse_p: f64) -> &'static str {
    if lo > 0.0 && p <= 0.05 {
        "supported"
    } else if hi < 0.0 && reverse_p <= 0.05 {
        "contradicted (the opposite holds)"
    } else {
        "not shown"
    }
}

/// A p-value as text: three decimals, or two significant digits below 0.001.
fn p_text(p: f64) -> String {
    if p < 0.001 {
        format!("{p:.1e}")
    } else {
        format!("{p:.3}")
    }
}

/// The generator seed of an interval: from the variant, its group and the metric, so that
/// the same interval is printed wherever it appears.
fn ci_seed(group: &str, name: &str, metric: Metric) -> u64 {
    let text = format!("{group}/{name}/{}", metric.label());
    bprl_agents::checkpoint::fnv1a(text.as_bytes())
}

fn summary(s: &Summary) -> String {
    let mut out = String::new();
    let p = s.preset;
    let _ = writeln!(
        out,
        "# bprl {}: behavior priors against the paper's claims, point-mass suite\n",
        p.name
    );
    let [ran, resumed, reused] = s.outcomes;
    let run_seconds: f64 = s
        .rows
        .iter()
        .flat_map(|r| &r.runs)
        .map(|r| r.wall_seconds)
        .sum();
    let _ = writeln!(
        out,
        "Preset `{}`: {} seeds for the headline variants (no prior, the two flat learned priors and their transfers), {} for every other. Multi-task training: {} environment steps; transfer: {} (mismarked goal), {} (tours). Body: {:?}. Wall time of this invocation: {:.0} s ({ran} runs trained, {resumed} resumed from a checkpoint, {reused} reused from an earlier invocation); the runs' own wall times add up to {run_seconds:.0} s (the runs go in parallel, one per core, at most 4).\n",
        p.name,
        p.headline_seeds,
        p.seeds,
        p.train_steps,
        p.transfer_steps,
        p.tours_steps,
        p.body,
        s.seconds
    );
    if p.name == "demo" {
        let _ = writeln!(
            out,
            "**Demo size**: fewer seeds and steps than `make paper`; intervals are wide and the verdicts are not the experiment's (docs/results.md reports `make paper`).\n"
        );
    }
    let _ = writeln!(
        out,
        "Evaluation: the greedy (mean-action) policy. Final success: {} fixed start states (the same for every run, baseline and variant). Success AUC: the normalized area under the success curve of the evaluations on {} of those start states every {} training episodes (0 = never succeeds, 1 = always from the first evaluation). Intervals: percentile bootstrap, 95%, {} resamples over seeds.\n",
        p.final_episodes, p.curve_episodes, p.eval_every_episodes, RESAMPLES
    );
    let _ = writeln!(out, "## Claims\n");
    let _ = writeln!(
        out,
        "Each row: the claim predicts `A > B` on the metric. Difference = mean(A) - mean(B) with its bootstrap 95% interval; p = one-sided permutation test of the difference of means (exact over all relabelings of the seeds when there are at most 200,000, else 10,000 random ones). In brackets beside p: the smallest p the seeds allow (1 / the number of relabelings). Verdict: *supported* when the interval excludes 0 upwards and p <= 0.05; *contradicted* when it excludes 0 downwards and the reverse one-sided p is <= 0.05; else *not shown*. Rows are not corrected for multiple comparisons. The runs of different variants share seed indices and evaluation start states, but their learning diverges from the first update, so the tests treat them as independent samples.\n"
    );
    let _ = writeln!(
        out,
        "| claim | family | A (seeds) vs B (seeds) | metric | A [95% CI] | B [95% CI] | difference [95% CI] | p (smallest possible) | verdict |\n|---|---|---|---|---|---|---|---|---|"
    );
    for (i, c) in claims().iter().enumerate() {
        let find = |name: &str| s.rows.iter().find(|r| r.group == c.group && r.name == name);
        let (Some(a), Some(b)) = (find(c.a), find(c.b)) else {
            let _ = writeln!(
                out,
                "| {} | {} | {} vs {} | {} | - | - | missing runs | - | not run |",
                c.claim,
                c.group,
                c.a,
                c.b,
                c.metric.label()
            );
            continue;
        };
        let (va, vb) = (a.values(c.metric), b.values(c.metric));
        let seed = 1000 + i as u64;
        let diff = stats::mean(&va).unwrap_or(0.0) - stats::mean(&vb).unwrap_or(0.0);
        let ci = stats::bootstrap_diff_ci(&va, &vb, 0.95, RESAMPLES, seed);
        let pv = stats::permutation_p(&va, &vb, Alternative::Greater, RESAMPLES, seed);
        let reverse = stats::permutation_p(&vb, &va, Alternative::Greater, RESAMPLES, seed);
        let (ci_text, pv_text, v) = match (ci, pv, reverse) {
            (Some((lo, hi)), Some(pv), Some(q)) => (
                format!("{diff:+.3} [{lo:+.3}, {hi:+.3}]"),
                p_text(pv),
                verdict(lo, hi, pv, q),
            ),
            _ => ("n/a".into(), "n/a".into(), "not shown"),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} ({}) vs {} ({}) | {} | {} | {} | {} | {} ({}) | {} |",
            c.claim,
            c.group,
            c.a,
            va.len(),
            c.b,
            vb.len(),
            c.metric.label(),
            mean_ci(&va, ci_seed(c.group, c.a, c.metric)),
            mean_ci(&vb, ci_seed(c.group, c.b, c.metric)),
            ci_text,
            pv_text,
            p_text(stats::smallest_exact_p(va.len(), vb.len())),
            v
        );
    }
    let _ = writeln!(out);
    for (group, title, e) in s.groups {
        let _ = writeln!(out, "## {title}\n");
        let t = &e.env.targets;
        let tasks = if *group == "train" {
            e.suite().train
        } else {
            e.suite().held_out
        };
        let _ = writeln!(
            out,
            "Tasks (order, cue): {}; {} steps per episode.\n",
            tasks
                .iter()
                .map(|t| format!("{:?} marked {:?}", t.order, t.cue))
                .collect::<Vec<_>>()
                .join(", "),
            t.max_steps
        );
        let _ = writeln!(
            out,
            "| variant or baseline | seeds | final success [95% CI] | success AUC [95% CI] | final return [95% CI] | return AUC [95% CI] |\n|---|---|---|---|---|---|"
        );
        for r in s.rows.iter().filter(|r| r.group == *group) {
            let cell = |m: Metric| mean_ci(&r.values(m), ci_seed(group, &r.name, m));
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                r.name,
                r.runs.len(),
                cell(Metric::FinalSuccess),
                cell(Metric::Auc),
                cell(Metric::FinalReturn),
                cell(Metric::ReturnAuc)
            );
        }
        if let Some((_, rows)) = s.baselines.iter().find(|b| b.0 == *group) {
            for b in rows {
                let _ = writeln!(
                    out,
                    "| baseline: {} | - | {:.2} | - | {:.2} | - |",
                    b.name, b.success, b.mean_return
                );
            }
        }
        let _ = writeln!(out, "\nLearning curves: `curves_{group}.png`.\n");
    }
    if !s.pictures.is_empty() {
        let _ = writeln!(
            out,
            "Prior rollouts (16 per learned prior from one start state): {}.\n",
            s.pictures
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if !s.failures.is_empty() {
        let _ = writeln!(out, "## Failed runs\n");
        for f in s.failures {
            let _ = writeln!(out, "- {f}");
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(
        out,
        "These are the numbers this run produced, whatever they show; `docs/results.md` discusses them against the paper's claims."
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_follow_the_interval_and_p() {
        assert_eq!(verdict(0.01, 0.2, 0.01, 0.99), "supported");
        assert_eq!(verdict(0.01, 0.2, 0.05, 0.99), "supported");
        assert_eq!(verdict(0.01, 0.2, 0.2, 0.8), "not shown");
        assert_eq!(verdict(-0.1, 0.2, 0.01, 0.99), "not shown");
        assert!(verdict(-0.3, -0.01, 0.99, 0.01).starts_with("contradicted"));
        assert_eq!(
            verdict(-0.3, -0.01, 0.9, 0.1),
            "not shown",
            "a narrow interval alone does not contradict"
        );
    }

    #[test]
    fn every_claim_names_variants_that_run() {
        let preset = Preset::demo();
        let (first, second) = jobs(Path::new("/nonexistent"), &preset);
        let all: Vec<&Job> = first.iter().chain(&second).collect();
        for c in claims() {
            for name in [c.a, c.b] {
                assert!(
                    all.iter().any(|j| j.group == c.group && j.name == name),
                    "claim {} names {}/{name}, which no job runs",
                    c.claim,
                    c.group
                );
            }
        }
        // Each transfer with a source has a training run of the same seed index to load.
        for j in &second {
            let src = j.prior_from.as_ref().unwrap();
            assert!(
                first
                    .iter()
                    .any(|t| t.group == "train" && src.starts_with(&t.dir)),
                "{} has no training run at {}",
                j.dir.display(),
                src.display()
            );
        }
    }

    /// A preset small enough for a test: every variant and family, a few hundred steps.
    fn tiny() -> Preset {
        Preset {
            name: "tiny",
            headline_seeds: 2,
            seeds: 1,
            train_steps: 200,
            transfer_steps: 170,
            tours_steps: 160,
            curve_episodes: 2,
            eval_every_episodes: 1,
            final_episodes: 4,
            body: BodyKind::PointMass,
        }
    }

    fn counts(summary: &str) -> (usize, usize, usize) {
        let grab = |what: &str| -> usize {
            let end = summary
                .find(what)
                .unwrap_or_else(|| panic!("{what} in {summary}"));
            let head = &summary[..end];
            let start = head.trim_end().rfind([' ', '(']).map_or(0, |i| i + 1);
            head[start..].trim().parse().unwrap()
        };
        (
            grab(" runs trained"),
            grab(" resumed from a checkpoint"),
            grab(" reused from an earlier"),
        )
    }

    #[test]
    fn the_experiment_writes_its_tables_and_figures_and_a_rerun_resumes_instead_of_repeating() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        let first = run(out, tiny()).unwrap();
        let (first_jobs, second_jobs) = jobs(out, &tiny());
        let total = first_jobs.len() + second_jobs.len();
        assert_eq!(counts(&first), (total, 0, 0), "{first}");
        assert!(!first.contains("## Failed runs"), "{first}");
        for c in claims() {
            assert!(first.contains(c.claim), "the claims table has {}", c.claim);
        }
        for f in [
            "curves_train.png",
            "curves_mismarked.png",
            "curves_tours.png",
            "prior_rollouts_train.png",
            "prior_rollouts_mismarked.png",
            "summary.md",
        ] {
            assert!(out.join(f).is_file(), "{f}");
        }
        // A rerun reuses every finished run and writes the same tables.
        let second = run(out, tiny()).unwrap();
        assert_eq!(counts(&second), (0, 0, total), "{second}");
        let tables = |s: &str| s[s.find("## Claims").unwrap()..].to_string();
        assert_eq!(tables(&first), tables(&second));
        // A run that lost its result resumes from its final checkpoint and gives the same
        // result; one whose configuration changed starts over.
        let lost = out.join("train/no_prior/seed1");
        let before = std::fs::read_to_string(lost.join(RESULT_FILE)).unwrap();
        std::fs::remove_file(lost.join(RESULT_FILE)).unwrap();
        let changed = out.join("mismarked/no_prior/seed0");
        let text = std::fs::read_to_string(changed.join("config.toml")).unwrap();
        std::fs::write(
            changed.join("config.toml"),
            text.replace("seed = 100", "seed = 7"),
        )
        .unwrap();
        let third = run(out, tiny()).unwrap();
        assert_eq!(counts(&third), (1, 1, total - 2), "{third}");
        let after: RunResult =
            serde_json::from_str(&std::fs::read_to_string(lost.join(RESULT_FILE)).unwrap())
                .unwrap();
        let before: RunResult = serde_json::from_str(&before).unwrap();
        assert_eq!(after.curve, before.curve);
        assert_eq!(after.final_success, before.final_success);
        assert_eq!(after.final_return, before.final_return);
        assert_eq!(tables(&third), tables(&first));
        // A source training run finished again (here: its result rewritten) makes the
        // transfers from its prior stale: the three of seed 0 (mismarked frozen and
        // learning, tours frozen) run again, the same runs giving the same tables.
        std::thread::sleep(std::time::Duration::from_millis(20));
        let src = out
            .join("train/flat_prior_asymmetric/seed0")
            .join(RESULT_FILE);
        let text = std::fs::read_to_string(&src).unwrap();
        std::fs::write(&src, text).unwrap();
        let fourth = run(out, tiny()).unwrap();
        assert_eq!(counts(&fourth), (3, 0, total - 3), "{fourth}");
        assert_eq!(tables(&fourth), tables(&first));
    }

    #[test]
    fn the_scripted_controller_solves_the_tasks_and_the_cue_follower_fails_the_mismarked() {
        let e = suite_config(&base_config(&Preset::demo()), Some(HeldOutTasks::Mismarked));
        let rows = baseline_rows(&e.suite(), TaskSplit::HeldOut, 30).unwrap();
        let get = |prefix: &str| rows.iter().find(|r| r.name.starts_with(prefix)).unwrap();
        assert!(get("scripted: steer to the target that pays").success > 0.9);
        assert!(get("scripted: steer to the target the goal").success < 0.5);
        let train = baseline_rows(&e.suite(), TaskSplit::Train, 30).unwrap();
        let follow = train
            .iter()
            .find(|r| r.name.starts_with("scripted: steer to the target the goal"))
            .unwrap();
        assert!(
            follow.success > 0.9,
            "on training tasks the mark is the target"
        );
    }
}
