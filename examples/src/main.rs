//! The `bprl` command line: train, transfer, eval, plot, bench, demo, completions.
//!
//! Arguments are parsed by `clap` (derive): `--version`, `-h`/`--help` on every command, a
//! suggestion for a misspelled flag or command, and shell completions
//! (`bprl completions bash`).

mod bench;
mod demo;
mod distributed;
mod family;
mod kernels;
#[cfg(feature = "mujoco")]
mod mujoco;
mod plot;
mod run;

use bprl_agents::config::limits;
use bprl_agents::{TaskSplit, Trainer};
use bprl_envs::BodyKind;
use bprl_examples::experiment::Experiment;
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use family::{Described, kind_of, run_config_of_checkpoint, with_family, with_kind};
use run::{RunDir, Start};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// bprl: KL-regularized RL with learned behavior priors (Tirumala et al. 2020).
#[derive(Debug, Parser)]
#[command(
    name = "bprl",
    version,
    propagate_version = true,
    arg_required_else_help = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Multi-task training (Algorithm 1, or 2 with a [hierarchy] section).
    #[command(after_help = TRAIN_FILES)]
    Train(TrainArgs),
    /// Train on the held-out tasks, starting from a learned prior.
    Transfer(TransferArgs),
    /// The learner process of a distributed run (reads actors' items from Redis).
    Learner(distributed::LearnerArgs),
    /// An actor process of a distributed run (acts, sends items to Redis).
    Actor(distributed::ActorArgs),
    /// Evaluate a checkpoint (greedy policy).
    Eval(EvalArgs),
    /// Learning curves with seed bands from run folders.
    Plot(PlotArgs),
    /// Time learner updates at the reference sizes, or the sgemm kernel.
    #[command(long_about = BENCH_ABOUT)]
    Bench(BenchArgs),
    /// The built-in experiment (what `make demo` runs).
    #[command(long_about = DEMO_ABOUT)]
    Demo(DemoArgs),
    /// Print a shell completion script (for example `bprl completions bash > bprl.bash`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

const TRAIN_FILES: &str = "\
FILES (in --out):
    config.toml    the run's full configuration
    metrics.csv    one row per episode: return, success, length and the mean of its updates'
                   losses, kl, q, entropy, std and the weights alpha, beta
    eval.csv       one row per evaluation (greedy, fixed start states): mean_return,
                   success_rate, discounted_return, and at the start states the critics'
                   q_start (compare with discounted_return: a critic that overestimates shows),
                   the policy's entropy and mean std, kl to the prior, alpha, beta
    metrics.jsonl  the same as JSON lines
    checkpoint/    the newest checkpoint (state, replay, LATEST)
Both modes write all of them. After a crash, `--resume` continues from the checkpoint: the
metrics files are rewritten from its history, so no row is lost twice or duplicated; the
episodes since the checkpoint are trained again (bit-identically in the synchronous mode).
With --resume, --steps N is applied (the run continues to N steps), --threads N switches the
mode, and --config or --seed must agree with the run's configuration (else an error names the
first differing field). A run whose policy std or critic diverges says so on stderr.";

const BENCH_ABOUT: &str = "\
bprl bench learner: Algorithm 1 (or 2) learner updates on random data at the sizes of
../shared/reference/jax_svg0_prior.py (batch 256 x (10+1), 10 samples, obs 55, prior 41, act 8);
prints median ms per update, updates/s, and the GFLOP/s of the update's matrix products.
bprl bench sgemm: single-precision throughput at 25600x400x300 of matrixmultiply and of
bprl's kernel (one thread and every thread).
bprl bench learner --pair: Algorithm 1 and 2 interleaved in one run, both medians and the ratio.
bprl bench kernels: the learner's tile products on every kernel path and on the gemm crate.
bprl bench ingest --steps N: one actor puts N env steps of items of configs/distributed-demo.toml
on a local Redis stream, then the distributed learner's ingest path alone (read, decode,
validate, insert, acknowledge; no learning) drains it: items/s and actor CPU s per 1k steps.";

const DEMO_ABOUT: &str = "\
Multi-task training of four variants (no prior, flat asymmetric prior, flat full-information
prior, hierarchical prior with a shared low level) over 3 seeds, then transfer to held-out tasks
with and without the learned prior; writes curves, prior rollouts and summary.md (each job's
folder is replaced).";

#[derive(Debug, Args)]
struct TrainArgs {
    /// TOML configuration; missing fields come from its `preset`: "bprl" (default: twin
    /// critics, Polyak targets, a squashed policy, tuned entropy) or "acme" (Acme's
    /// svg0_prior, the paper's setting); unknown keys are errors (see --print-config).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Run folder (config.toml, metrics.csv, eval.csv, metrics.jsonl, checkpoint/).
    #[arg(long, value_name = "DIR", default_value = "runs/train")]
    out: PathBuf,
    /// Override run.seed.
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Override run.env_steps (with --resume: continue the run to N steps).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=limits::MAX_ENV_STEPS))]
    steps: Option<u64>,
    /// Threaded mode with N actor threads (not bit-reproducible); 0 is the synchronous mode.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(0..=limits::MAX_ACTOR_THREADS as i64))]
    threads: Option<u16>,
    /// Continue the run in --out from its checkpoint (its own configuration is used).
    #[arg(long, conflicts_with = "overwrite")]
    resume: bool,
    /// Start a new run in a non-empty --out, replacing its run files.
    #[arg(long)]
    overwrite: bool,
    /// Print the full default configuration as TOML and exit.
    #[arg(long)]
    print_config: bool,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    /// Actors and learner as separate processes over a local Redis (started on loopback, data
    /// in OUT/redis), supervised: a process that dies is started again.
    #[arg(long, conflicts_with_all = ["resume", "threads"])]
    distributed: bool,
    /// --distributed: actor processes.
    #[arg(long, value_name = "K", default_value_t = 2, requires = "distributed", value_parser = clap::value_parser!(u32).range(1..=256))]
    actors: u32,
    /// --distributed: SIGKILL a process once the learner has counted STEPS env steps
    /// (`learner@STEPS`, `actor:ID@STEPS`, `redis@STEPS`; repeatable), to test recovery.
    #[arg(long, value_name = "WHO@STEPS", requires = "distributed", value_parser = distributed::parse_kill)]
    kill: Vec<distributed::Kill>,
    /// --distributed: cap of the item stream (entries).
    #[arg(long, value_name = "N", default_value_t = 20_000, requires = "distributed", value_parser = clap::value_parser!(u64).range(2..=10_000_000))]
    stream_cap: u64,
    /// --distributed: actors look for new parameters every N env steps.
    #[arg(long, value_name = "N", default_value_t = 100, requires = "distributed", value_parser = clap::value_parser!(u64).range(1..))]
    fetch_every: u64,
    /// --distributed: the learner publishes parameters every M updates.
    #[arg(long, value_name = "M", default_value_t = 20, requires = "distributed", value_parser = clap::value_parser!(u64).range(1..))]
    publish_every: u64,
}

#[derive(Debug, Args)]
struct TransferArgs {
    /// Checkpoint folder of a training run (its prior is loaded).
    #[arg(long, value_name = "DIR", required_unless_present = "no_prior")]
    from: Option<PathBuf>,
    /// TOML configuration of the new run (default: the source run's).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Run folder (resume it with `bprl train --resume --out DIR`).
    #[arg(long, value_name = "DIR", default_value = "runs/transfer")]
    out: PathBuf,
    /// Keep the loaded prior fixed (default: it keeps learning).
    #[arg(long)]
    freeze_prior: bool,
    /// Algorithm 2: also copy the policy's low level.
    #[arg(long)]
    with_low_level: bool,
    /// Ignore --from and train without a prior (the baseline).
    #[arg(long)]
    no_prior: bool,
    /// Override run.seed (default: the source run's + 100).
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Override run.env_steps.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=limits::MAX_ENV_STEPS))]
    steps: Option<u64>,
    /// Start a new run in a non-empty --out, replacing its run files.
    #[arg(long)]
    overwrite: bool,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

#[derive(Debug, Args)]
struct EvalArgs {
    /// Checkpoint folder.
    #[arg(long, value_name = "DIR")]
    checkpoint: PathBuf,
    /// Episodes.
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=limits::MAX_EVAL_EPISODES as u64))]
    episodes: u64,
    /// Also evaluate with actions drawn from the policy (a fixed generator) on the same
    /// start states.
    #[arg(long)]
    stochastic: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Metric {
    Return,
    Success,
}

#[derive(Debug, Args)]
struct PlotArgs {
    /// A curve from one or more seed folders: LABEL=DIR,DIR,... (repeatable).
    #[arg(long, value_name = "LABEL=DIR,...", required = true)]
    run: Vec<String>,
    /// Output picture.
    #[arg(long, value_name = "FILE.png", default_value = "curves.png")]
    out: PathBuf,
    /// Which column.
    #[arg(long, value_enum, default_value = "return")]
    metric: Metric,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Benchmark {
    Learner,
    Sgemm,
    Kernels,
    /// The distributed learner's ingest ceiling: items/s it validates and inserts from Redis
    /// with nothing else running (`--steps`: env steps of items an actor first puts on the
    /// stream).
    Ingest,
}

#[derive(Debug, Args)]
struct BenchArgs {
    /// What to time.
    #[arg(value_enum, default_value = "learner")]
    which: Benchmark,
    /// Timed updates.
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    steps: u64,
    /// Algorithm 2 with a latent of 8 and a shared low level.
    #[arg(long, conflicts_with = "pair")]
    alg2: bool,
    /// Algorithm 1 and 2 in the same run, their updates interleaved; prints both medians and
    /// their ratio (`learner` only).
    #[arg(long)]
    pair: bool,
    /// Batch size.
    #[arg(long, value_name = "N", default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=limits::MAX_BATCH_SIZE as u64))]
    batch: u64,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DemoPreset {
    /// The claims experiment at demo size (fewer seeds and steps): under 10 minutes on 2 cores.
    Demo,
    /// The claims experiment at full size (10 seeds for the headline comparison): about an
    /// hour on 2 cores; rerun in the same folder to resume.
    Paper,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Body {
    #[value(name = "point_mass")]
    PointMass,
    Reacher,
}

#[derive(Debug, Args)]
struct DemoArgs {
    /// Output folder.
    #[arg(long, value_name = "DIR", default_value = "runs/demo")]
    out: PathBuf,
    /// Size of the experiment.
    #[arg(long, value_enum, default_value = "demo")]
    preset: DemoPreset,
    /// The body.
    #[arg(long, value_enum, default_value = "point_mass")]
    body: Body,
    /// Print the base configuration of the runs (TOML, for `bprl train --config`: the variants
    /// change only [prior] and [hierarchy]) and exit.
    #[arg(long)]
    print_config: bool,
}

/// mimalloc's `mi_option_purge_delay` (`mimalloc.h`, the same index in its v2 and v3).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Tells the allocator never to return freed pages to the OS, unless the user set
/// `MIMALLOC_PURGE_DELAY` (which mimalloc reads itself). By default mimalloc purges pages
/// that stay free for 10 ms; a learner update frees and allocates the same large arrays over a
/// longer span, so every update faulted and zeroed fresh (huge) pages again: 4-8% of an update
/// on the benchmark machines (`perf`: `clear_page_erms`). The process keeps its peak
/// footprint instead.
fn keep_freed_pages() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: `mi_option_set` takes an option index and a value; the index is mimalloc's
        // `mi_option_purge_delay` (checked against the vendored header of libmimalloc-sys
        // 0.1.49), and -1 is its documented "no purging". It is called before any other
        // thread exists.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    }
}

fn main() -> ExitCode {
    keep_freed_pages();
    let cli = Cli::parse();
    let name = match &cli.command {
        Command::Train(_) => "train",
        Command::Transfer(_) => "transfer",
        Command::Learner(_) => "learner",
        Command::Actor(_) => "actor",
        Command::Eval(_) => "eval",
        Command::Plot(_) => "plot",
        Command::Bench(_) => "bench",
        Command::Demo(_) => "demo",
        Command::Completions { .. } => "completions",
    };
    let result = match cli.command {
        Command::Train(a) => train(&a),
        Command::Transfer(a) => transfer(&a),
        Command::Learner(a) => distributed::learner_cmd(&a),
        Command::Actor(a) => distributed::actor_cmd(&a),
        Command::Eval(a) => eval(&a),
        Command::Plot(a) => plot_cmd(&a),
        Command::Bench(a) => bench_cmd(&a),
        Command::Demo(a) => demo_cmd(&a),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "bprl", &mut std::io::stdout());
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bprl {name}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The configuration of a new run: the file (or the defaults) with the command line's
/// overrides, validated.
fn load_config(
    config: Option<&Path>,
    seed: Option<u64>,
    steps: Option<u64>,
    threads: Option<u16>,
) -> Result<Experiment, String> {
    let mut e = match config {
        Some(p) => Experiment::load(p)?,
        None => Experiment::default(),
    };
    let c = &mut e.agent;
    c.run.seed = seed.unwrap_or(c.run.seed);
    c.run.env_steps = steps.unwrap_or(c.run.env_steps);
    c.run.actor_threads = threads.map_or(c.run.actor_threads, usize::from);
    c.validate().map_err(|e| e.to_string())?;
    Ok(e)
}

/// The first dotted field where two configurations differ, with both values.
fn first_difference(
    a: &toml::Value,
    b: &toml::Value,
    at: &str,
) -> Option<(String, String, String)> {
    match (a, b) {
        (toml::Value::Table(x), toml::Value::Table(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter().find_map(|k| {
                let path = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                match (x.get(k), y.get(k)) {
                    (Some(p), Some(q)) => first_difference(p, q, &path),
                    (p, q) => Some((path, show(p), show(q))),
                }
            })
        }
        _ if a == b => None,
        _ => Some((at.to_string(), a.to_string(), b.to_string())),
    }
}

fn show(v: Option<&toml::Value>) -> String {
    v.map_or_else(|| "(absent)".into(), ToString::to_string)
}

/// An error when `given` (a `--config` file, or the folder's `config.toml`) differs from the
/// run's configuration in anything but `run.env_steps` and `run.actor_threads` (which a
/// resume may change).
fn check_same_run(given: &Experiment, run: &Experiment, what: &str) -> Result<(), String> {
    let mut g = given.clone();
    g.agent.run.env_steps = run.agent.run.env_steps;
    g.agent.run.actor_threads = run.agent.run.actor_threads;
    let as_value = |e: &Experiment| toml::Value::try_from(e).map_err(|x| x.to_string());
    match first_difference(&as_value(&g)?, &as_value(run)?, "") {
        None => Ok(()),
        Some((field, ours, theirs)) => Err(format!(
            "--resume: {what} conflicts with the run's configuration at `{field}` ({what}: {ours}, \
             the run: {theirs}); only run.env_steps (--steps) and run.actor_threads (--threads) \
             may change on resume"
        )),
    }
}

fn train(a: &TrainArgs) -> Result<(), String> {
    if a.print_config {
        print!("{}", Experiment::default().to_toml());
        return Ok(());
    }
    if a.resume {
        let run = RunDir::open(&a.out, Start::Resume)?;
        let kind = kind_of(&run.dir.join("config.toml"))?;
        return with_kind!(kind, T => {
            let t = resume::<T>(a, &run)?;
            train_with(t, &run, a)
        });
    }
    let e = load_config(a.config.as_deref(), a.seed, a.steps, a.threads)?;
    if a.distributed {
        RunDir::open(
            &a.out,
            if a.overwrite {
                Start::Overwrite
            } else {
                Start::Fresh
            },
        )?;
        return distributed::launch(&distributed::Launch {
            experiment: e,
            out: a.out.clone(),
            actors: a.actors,
            kills: a.kill.clone(),
            stream_cap: a.stream_cap,
            fetch_every: a.fetch_every,
            publish_every: a.publish_every,
            quiet: a.quiet,
        });
    }
    let family = family::of(&e)?;
    let start = if a.overwrite {
        Start::Overwrite
    } else {
        Start::Fresh
    };
    let run = RunDir::open(&a.out, start)?;
    with_family!(family, family => {
        let t = Trainer::new(e.agent.clone(), family, TaskSplit::Train)
            .map_err(|e| e.to_string())?;
        run.write_config(&e)?;
        train_with(t, &run, a)
    })
}

/// Trains in `run`, prints the final greedy evaluation and writes what the family adds.
fn train_with<T: Described>(
    mut trainer: Trainer<T>,
    run: &RunDir,
    a: &TrainArgs,
) -> Result<(), String>
where
    T::Env: Send,
{
    let config = trainer.config.clone();
    if config.run.actor_threads > 0 {
        eprintln!("threaded mode: {} actor threads", config.run.actor_threads);
    }
    run::train(&mut trainer, run, "train", a.quiet)?;
    let e = trainer
        .evaluate(config.run.eval_episodes.max(1))
        .map_err(|e| e.to_string())?;
    println!(
        "final greedy evaluation: return {:.3}, success {:.0}% ({})",
        e.mean_return,
        100.0 * e.success_rate,
        a.out.display()
    );
    T::after_training(&mut trainer, &run.dir)
}

/// Loads the run in `run` for `--resume`: checks `--config`, `--seed` and the folder's
/// `config.toml` against the checkpoint, applies `--steps` and `--threads`, and rewrites the
/// metrics files from the checkpoint's history.
fn resume<T: Described>(a: &TrainArgs, run: &RunDir) -> Result<Trainer<T>, String>
where
    T::Env: Send,
{
    let ckpt = run.checkpoints();
    if !ckpt.join("LATEST").exists() {
        return Err(format!(
            "--resume: no checkpoint in {} (the run stopped before its first one): start it \
             again with --overwrite",
            ckpt.display()
        ));
    }
    let mut t = Trainer::<T>::load(&ckpt).map_err(|e| e.to_string())?;
    let ours = t.family().experiment(&t.config);
    let file = run.dir.join("config.toml");
    if file.exists() {
        check_same_run(
            &Experiment::load(&file)?,
            &ours,
            &file.display().to_string(),
        )?;
    }
    let mut steps = a.steps;
    if let Some(path) = &a.config {
        let given = Experiment::load(path)?;
        check_same_run(&given, &ours, &format!("--config {}", path.display()))?;
        steps = steps.or(Some(given.agent.run.env_steps));
    }
    if let Some(seed) = a.seed
        && seed != t.config.run.seed
    {
        return Err(format!(
            "--resume: --seed {seed} conflicts with the run's seed {}",
            t.config.run.seed
        ));
    }
    if let Some(s) = steps {
        t.config.run.env_steps = s;
    }
    if let Some(n) = a.threads {
        t.config.run.actor_threads = usize::from(n);
    }
    t.config.validate().map_err(|e| e.to_string())?;
    run.rewrite_metrics(&t.history, &t.evals)?;
    run.write_config(&t.family().experiment(&t.config))?;
    eprintln!(
        "resuming {} at episode {}, {} of {} env steps",
        run.dir.display(),
        t.counters.episodes,
        t.counters.env_steps,
        t.config.run.env_steps
    );
    Ok(t)
}

fn transfer(a: &TransferArgs) -> Result<(), String> {
    let kind = match (a.no_prior, &a.from, &a.config) {
        (false, Some(dir), _) => kind_of(&run_config_of_checkpoint(dir))?,
        (_, _, Some(config)) => kind_of(config)?,
        (true, _, None) => family::Kind::Suite,
        (false, None, _) => return Err("--from DIR is required (or --no-prior)".into()),
    };
    with_kind!(kind, T => transfer_with::<T>(a))
}

fn transfer_with<T: Described>(a: &TransferArgs) -> Result<(), String>
where
    T::Env: Send,
{
    let source = match (a.no_prior, &a.from) {
        (true, _) => None,
        (false, Some(dir)) => Some(Trainer::<T>::load(dir).map_err(|e| e.to_string())?),
        (false, None) => return Err("--from DIR is required (or --no-prior)".into()),
    };
    let mut experiment = match (&a.config, &source) {
        (None, Some(s)) => {
            let mut e = s.family().experiment(&s.config);
            let c = &mut e.agent;
            c.run.seed = a.seed.unwrap_or(c.run.seed.wrapping_add(100));
            c.run.env_steps = a.steps.unwrap_or(c.run.env_steps);
            e
        }
        _ => load_config(a.config.as_deref(), a.seed, a.steps, None)?,
    };
    if a.no_prior {
        experiment.agent.prior = bprl_agents::PriorConfig::None;
    }
    let config = experiment.agent.clone();
    config.validate().map_err(|e| e.to_string())?;
    let family = family::of(&experiment)?;
    let start = if a.overwrite {
        Start::Overwrite
    } else {
        Start::Fresh
    };
    let run = RunDir::open(&a.out, start)?;
    with_family!(family, family => {
        let mut t = Trainer::new(config.clone(), family, TaskSplit::HeldOut)
            .map_err(|e| e.to_string())?;
        if let Some(s) = &source {
            t.learner
                .load_prior_from(&s.learner, a.with_low_level)
                .map_err(|e| e.to_string())?;
            t.learner.set_prior_frozen(a.freeze_prior);
        }
        run.write_config(&experiment)?;
        run::train(&mut t, &run, "transfer", a.quiet)?;
        let e = t
            .evaluate(config.run.eval_episodes.max(1))
            .map_err(|e| e.to_string())?;
        println!(
            "final greedy evaluation on held-out tasks: return {:.3}, success {:.0}%",
            e.mean_return,
            100.0 * e.success_rate
        );
        Ok(())
    })
}

fn eval(a: &EvalArgs) -> Result<(), String> {
    let kind = kind_of(&run_config_of_checkpoint(&a.checkpoint))?;
    with_kind!(kind, T => {
        let t = Trainer::<T>::load(&a.checkpoint).map_err(|e| e.to_string())?;
        eval_with(t, a)
    })
}

fn eval_with<T: Described>(mut t: Trainer<T>, a: &EvalArgs) -> Result<(), String>
where
    T::Env: Send,
{
    let episodes = usize::try_from(a.episodes).map_err(|e| e.to_string())?;
    let e = t.evaluate(episodes).map_err(|e| e.to_string())?;
    println!(
        "episodes trained: {}, env steps: {}",
        t.counters.episodes, t.counters.env_steps
    );
    println!(
        "greedy evaluation: return {:.3}, success {:.0}%",
        e.mean_return,
        100.0 * e.success_rate
    );
    let d = &e.start;
    println!(
        "at the start states: Q {:.3} vs discounted return {:.3}; entropy {:.3}, mean std {:.3}, KL to prior {:.3}; alpha {:.3e}, beta {:.3e}",
        d.q, e.discounted_return, d.entropy, d.std, d.kl, d.alpha, d.beta
    );
    if let Some(w) = e.divergence() {
        println!("warning: {w}");
    }
    if a.stochastic {
        let s = t.evaluate_stochastic(episodes).map_err(|e| e.to_string())?;
        println!(
            "stochastic evaluation: return {:.3}, success {:.0}%, discounted return {:.3}",
            s.mean_return,
            100.0 * s.success_rate,
            s.discounted_return
        );
    }
    Ok(())
}

fn read_eval(dir: &Path, success: bool) -> Result<Vec<(f64, f64)>, String> {
    let path = dir.join("eval.csv");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    text.lines()
        .skip(1)
        .map(|l| {
            let cols: Vec<&str> = l.split(',').collect();
            // A torn or merged row (a crash mid-write, before rows were one write each) has
            // another column count: refuse it rather than plot half of it.
            let want = run::EVAL_HEADER.split(',').count();
            if cols.len() != want {
                return Err(format!(
                    "{}: row `{l}` has {} columns, expected {want}",
                    path.display(),
                    cols.len()
                ));
            }
            let num = |i: usize| {
                cols.get(i)
                    .and_then(|v| v.parse::<f64>().ok())
                    .ok_or_else(|| format!("{}: bad line `{l}`", path.display()))
            };
            Ok((num(1)?, if success { num(3)? } else { num(2)? }))
        })
        .collect()
}

fn plot_cmd(a: &PlotArgs) -> Result<(), String> {
    let success = matches!(a.metric, Metric::Success);
    let mut series = Vec::new();
    for spec in &a.run {
        let (label, dirs) = spec
            .split_once('=')
            .ok_or_else(|| format!("--run expects LABEL=DIR,DIR..., got `{spec}`"))?;
        let seeds = dirs
            .split(',')
            .map(|d| read_eval(Path::new(d), success))
            .collect::<Result<Vec<_>, _>>()?;
        series.push(plot::Series {
            label: label.into(),
            seeds,
        });
    }
    plot::curves(
        &a.out,
        "Learning curves",
        "environment steps",
        if success { "success rate" } else { "return" },
        &series,
    )?;
    println!("wrote {}", a.out.display());
    Ok(())
}

fn bench_cmd(a: &BenchArgs) -> Result<(), String> {
    let sizes = bench::BenchSizes {
        batch: usize::try_from(a.batch).map_err(|e| e.to_string())?,
        ..bench::BenchSizes::default()
    };
    match a.which {
        Benchmark::Learner => {
            let steps = usize::try_from(a.steps).map_err(|e| e.to_string())?;
            if a.pair {
                bench::learner_pair(sizes, steps)?;
                return Ok(());
            }
            let median = bench::learner(sizes, steps, a.alg2)?;
            if !a.alg2 {
                let flops = bench::algorithm1_flops(&sizes, &[200, 100], &[400, 300]);
                println!(
                    "matmul_gflop_per_update={:.2} achieved_gflops={:.1}",
                    flops / 1e9,
                    flops / median / 1e9
                );
            }
            Ok(())
        }
        Benchmark::Sgemm => {
            bench::sgemm();
            Ok(())
        }
        Benchmark::Kernels => {
            kernels::kernels();
            Ok(())
        }
        Benchmark::Ingest => distributed::bench_ingest(a.steps),
    }
}

fn demo_cmd(a: &DemoArgs) -> Result<(), String> {
    let body = match a.body {
        Body::PointMass => BodyKind::PointMass,
        Body::Reacher => BodyKind::Reacher,
    };
    let preset = match a.preset {
        DemoPreset::Demo => demo::Preset {
            body,
            ..demo::Preset::demo()
        },
        DemoPreset::Paper => demo::Preset::paper(body),
    };
    if a.print_config {
        print!("{}", demo::base_config(&preset).to_toml());
        return Ok(());
    }
    let summary = demo::run(&a.out, preset)?;
    println!("{summary}");
    println!("wrote {}", a.out.join("summary.md").display());
    Ok(())
}
