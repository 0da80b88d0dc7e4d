//! The `bprl` command line: train, transfer, eval, plot, bench, demo.

mod args;
mod bench;
mod demo;
mod experiment;
mod family;
#[cfg(feature = "mujoco")]
mod mujoco;
mod plot;
mod run;

use args::Args;
use bprl_agents::{TaskSplit, Trainer};
use bprl_envs::BodyKind;
use experiment::Experiment;
use family::{Described, kind_of, run_config_of_checkpoint, with_family, with_kind};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str = "\
bprl: KL-regularized RL with learned behavior priors (Tirumala et al. 2020)

USAGE:
    bprl <COMMAND> [OPTIONS]

COMMANDS:
    train      multi-task training (Algorithm 1, or 2 with a [hierarchy] section)
    transfer   train on the held-out tasks, starting from a learned prior
    eval       evaluate a checkpoint (greedy policy)
    plot       learning curves with seed bands from run folders
    bench      time learner updates at the reference sizes
    demo       the built-in experiment (what `make demo` runs)

Run `bprl <COMMAND> --help` for the options of a command.";

const TRAIN_HELP: &str = "\
bprl train: multi-task training on the suite's training tasks

OPTIONS:
    --config FILE    TOML configuration; missing fields come from its `preset`: \"bprl\"
                     (default: twin critics, Polyak targets, a squashed policy, tuned
                     entropy) or \"acme\" (Acme's svg0_prior, the paper's setting); see
                     `bprl train --print-config` for every field
    --out DIR        run folder: config.toml, metrics.csv, eval.csv, metrics.jsonl,
                     checkpoint/ (default runs/train)
    --seed N         override run.seed
    --steps N        override run.env_steps
    --threads N      threaded mode with N actor threads (not bit-reproducible)
    --resume         continue from DIR/checkpoint (the run's own config is used)
    --print-config   print the full default configuration as TOML and exit
    --quiet          no progress bar

FILES:
    metrics.csv    one row per episode: return, success, length and the mean of its
                   updates' losses, kl, q, entropy, std and the weights alpha, beta
    eval.csv       one row per evaluation (greedy, fixed start states): mean_return,
                   success_rate, discounted_return, and at the start states the critics'
                   q_start (compare with discounted_return: a critic that overestimates
                   shows), the policy's entropy and mean std, kl to the prior, alpha, beta
    metrics.jsonl  the same as JSON lines
A run whose policy std or critic diverges says so on stderr at the evaluation.";

const TRANSFER_HELP: &str = "\
bprl transfer: train on the held-out (sequential) tasks with a prior from a checkpoint

OPTIONS:
    --from DIR          checkpoint folder of a training run (its prior is loaded)
    --config FILE       TOML configuration of the new run (default: the source run's)
    --out DIR           run folder (default runs/transfer)
    --freeze-prior      keep the loaded prior fixed (default: it keeps learning)
    --with-low-level    Algorithm 2: also copy the policy's low level
    --no-prior          ignore --from and train without a prior (the baseline)
    --seed N, --steps N, --quiet   as for train";

const EVAL_HELP: &str = "\
bprl eval: evaluate a checkpoint's greedy policy

OPTIONS:
    --checkpoint DIR   checkpoint folder
    --episodes N       episodes (default 20)";

const PLOT_HELP: &str = "\
bprl plot: learning curves (mean over seeds, min-max band) from eval.csv files

OPTIONS:
    --run LABEL=DIR,DIR,...   a curve from one or more seed folders (repeatable)
    --out FILE.png            output picture (default curves.png)
    --metric return|success   which column (default return)";

const BENCH_HELP: &str = "\
bprl bench learner: Algorithm 1 (or 2) learner updates on random data at the sizes of
../shared/reference/jax_svg0_prior.py (batch 256 x (10+1), 10 samples, obs 55, prior 41, act 8);
prints median ms per update, updates/s, and the GFLOP/s of the update's matrix products.
bprl bench sgemm: single-precision throughput at 25600x400x300 of matrixmultiply and of
bprl's kernel (one thread and every thread)

OPTIONS:
    --steps N     timed updates (default 10)
    --alg2        Algorithm 2 with a latent of 8 and a shared low level
    --batch N     batch size (default 256)";

const DEMO_HELP: &str = "\
bprl demo: multi-task training of four variants (no prior, flat asymmetric prior, flat
full-information prior, hierarchical prior with a shared low level) over 3 seeds, then transfer
to held-out tasks with and without the learned prior; writes curves, prior rollouts and
summary.md

OPTIONS:
    --out DIR         output folder (default runs/demo)
    --preset NAME     demo (default, about 8 minutes on 2 cores) or paper (hours)
    --body NAME       point_mass (default) or reacher
    --print-config    print the base configuration of the runs (TOML, for `bprl train
                      --config`: the variants change only [prior] and [hierarchy]) and exit";

fn main() -> ExitCode {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = raw.first().cloned() else {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    };
    let rest = &raw[1..];
    let wants_help = rest.iter().any(|a| a == "--help" || a == "-h");
    let result = match (cmd.as_str(), wants_help) {
        ("--help" | "-h" | "help", _) => {
            println!("{USAGE}");
            Ok(())
        }
        ("train", true) => help(TRAIN_HELP),
        ("transfer", true) => help(TRANSFER_HELP),
        ("eval", true) => help(EVAL_HELP),
        ("plot", true) => help(PLOT_HELP),
        ("bench", true) => help(BENCH_HELP),
        ("demo", true) => help(DEMO_HELP),
        ("train", false) => train(rest),
        ("transfer", false) => transfer(rest),
        ("eval", false) => eval(rest),
        ("plot", false) => plot_cmd(rest),
        ("bench", false) => bench_cmd(rest),
        ("demo", false) => demo_cmd(rest),
        (other, _) => Err(format!("unknown command `{other}`\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bprl {cmd}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn help(text: &str) -> Result<(), String> {
    println!("{text}");
    Ok(())
}

fn load_config(args: &Args) -> Result<Experiment, String> {
    let mut e = match args.get("config") {
        Some(p) => Experiment::load(Path::new(p))?,
        None => Experiment::default(),
    };
    let c = &mut e.agent;
    c.run.seed = args.parsed("seed", c.run.seed)?;
    c.run.env_steps = args.parsed("steps", c.run.env_steps)?;
    c.run.actor_threads = args.parsed("threads", c.run.actor_threads)?;
    c.validate().map_err(|e| e.to_string())?;
    Ok(e)
}

fn train(raw: &[String]) -> Result<(), String> {
    let args = Args::parse(
        raw,
        &["config", "out", "seed", "steps", "threads"],
        &["resume", "print-config", "quiet"],
    )?;
    if args.flag("print-config") {
        print!("{}", Experiment::default().to_toml());
        return Ok(());
    }
    let out = PathBuf::from(args.get("out").unwrap_or("runs/train"));
    if args.flag("resume") {
        let kind = kind_of(&out.join("config.toml"))?;
        return with_kind!(kind, T => {
            let t = Trainer::<T>::load(&out.join("checkpoint")).map_err(|e| e.to_string())?;
            train_with(t, &out, &args)
        });
    }
    let e = load_config(&args)?;
    with_family!(e.family()?, family => {
        let t = Trainer::new(e.agent.clone(), family, TaskSplit::Train).map_err(|e| e.to_string())?;
        train_with(t, &out, &args)
    })
}

/// Trains, writes the run folder and prints the final greedy evaluation.
fn train_with<T: Described>(mut trainer: Trainer<T>, out: &Path, args: &Args) -> Result<(), String>
where
    T::Env: Send,
{
    let config = trainer.config.clone();
    let run = run::RunDir::create(out, &trainer.family().experiment(&config))?;
    if config.run.actor_threads > 0 {
        eprintln!("threaded mode: {} actor threads", config.run.actor_threads);
        trainer.train_threaded().map_err(|e| e.to_string())?;
        trainer
            .save(&run.checkpoints())
            .map_err(|e| e.to_string())?;
    } else {
        run::train(&mut trainer, &run, "train", args.flag("quiet"))?;
    }
    let e = trainer
        .evaluate(config.run.eval_episodes.max(1))
        .map_err(|e| e.to_string())?;
    println!(
        "final greedy evaluation: return {:.3}, success {:.0}% ({})",
        e.mean_return,
        100.0 * e.success_rate,
        out.display()
    );
    T::after_training(&mut trainer, out)
}

fn transfer(raw: &[String]) -> Result<(), String> {
    let args = Args::parse(
        raw,
        &["from", "config", "out", "seed", "steps"],
        &["freeze-prior", "with-low-level", "no-prior", "quiet"],
    )?;
    let kind = match (args.flag("no-prior"), args.get("from"), args.get("config")) {
        (false, Some(dir), _) => kind_of(&run_config_of_checkpoint(Path::new(dir)))?,
        (_, _, Some(config)) => kind_of(Path::new(config))?,
        (true, _, None) => family::Kind::Suite,
        (false, None, _) => return Err("--from DIR is required (or --no-prior)".into()),
    };
    with_kind!(kind, T => transfer_with::<T>(&args))
}

fn transfer_with<T: Described>(args: &Args) -> Result<(), String>
where
    T::Env: Send,
{
    let out = PathBuf::from(args.get("out").unwrap_or("runs/transfer"));
    let source = match (args.flag("no-prior"), args.get("from")) {
        (true, _) => None,
        (false, Some(dir)) => Some(Trainer::<T>::load(Path::new(dir)).map_err(|e| e.to_string())?),
        (false, None) => return Err("--from DIR is required (or --no-prior)".into()),
    };
    let mut experiment = match (args.get("config"), &source) {
        (None, Some(s)) => {
            let mut e = s.family().experiment(&s.config);
            let c = &mut e.agent;
            c.run.seed = args.parsed("seed", c.run.seed.wrapping_add(100))?;
            c.run.env_steps = args.parsed("steps", c.run.env_steps)?;
            e
        }
        _ => load_config(args)?,
    };
    if args.flag("no-prior") {
        experiment.agent.prior = bprl_agents::PriorConfig::None;
    }
    let config = experiment.agent.clone();
    with_family!(experiment.family()?, family => {
        let mut t = Trainer::new(config.clone(), family, TaskSplit::HeldOut)
            .map_err(|e| e.to_string())?;
        if let Some(s) = &source {
            t.learner
                .load_prior_from(&s.learner, args.flag("with-low-level"))
                .map_err(|e| e.to_string())?;
            t.learner.set_prior_frozen(args.flag("freeze-prior"));
        }
        let run = run::RunDir::create(&out, &experiment)?;
        run::train(&mut t, &run, "transfer", args.flag("quiet"))?;
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

fn eval(raw: &[String]) -> Result<(), String> {
    let args = Args::parse(raw, &["checkpoint", "episodes"], &[])?;
    let dir = args
        .get("checkpoint")
        .ok_or("--checkpoint DIR is required")?;
    let kind = kind_of(&run_config_of_checkpoint(Path::new(dir)))?;
    with_kind!(kind, T => eval_with(Trainer::<T>::load(Path::new(dir)).map_err(|e| e.to_string())?, &args))
}

fn eval_with<T: Described>(mut t: Trainer<T>, args: &Args) -> Result<(), String>
where
    T::Env: Send,
{
    let e = t
        .evaluate(args.parsed("episodes", 20usize)?)
        .map_err(|e| e.to_string())?;
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
    Ok(())
}

fn read_eval(dir: &Path, success: bool) -> Result<Vec<(f64, f64)>, String> {
    let path = dir.join("eval.csv");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    text.lines()
        .skip(1)
        .map(|l| {
            let cols: Vec<&str> = l.split(',').collect();
            let num = |i: usize| {
                cols.get(i)
                    .and_then(|v| v.parse::<f64>().ok())
                    .ok_or_else(|| format!("{}: bad line `{l}`", path.display()))
            };
            Ok((num(1)?, if success { num(3)? } else { num(2)? }))
        })
        .collect()
}

fn plot_cmd(raw: &[String]) -> Result<(), String> {
    let args = Args::parse(raw, &["run", "out", "metric"], &[])?;
    let success = match args.get("metric").unwrap_or("return") {
        "return" => false,
        "success" => true,
        m => return Err(format!("--metric must be return or success, got `{m}`")),
    };
    let mut series = Vec::new();
    for spec in args.all("run") {
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
    if series.is_empty() {
        return Err("give at least one --run LABEL=DIR".into());
    }
    let out = PathBuf::from(args.get("out").unwrap_or("curves.png"));
    plot::curves(
        &out,
        "Learning curves",
        "environment steps",
        if success { "success rate" } else { "return" },
        &series,
    )?;
    println!("wrote {}", out.display());
    Ok(())
}

fn bench_cmd(raw: &[String]) -> Result<(), String> {
    let args = Args::parse(raw, &["steps", "batch"], &["alg2"])?;
    let sizes = bench::BenchSizes {
        batch: args.parsed("batch", 256usize)?,
        ..bench::BenchSizes::default()
    };
    match args.positional.first().map(String::as_str) {
        None | Some("learner") => {
            let median = bench::learner(sizes, args.parsed("steps", 10usize)?, args.flag("alg2"))?;
            if !args.flag("alg2") {
                let flops = bench::algorithm1_flops(&sizes, &[200, 100], &[400, 300]);
                println!(
                    "matmul_gflop_per_update={:.2} achieved_gflops={:.1}",
                    flops / 1e9,
                    flops / median / 1e9
                );
            }
            Ok(())
        }
        Some("sgemm") => {
            bench::sgemm();
            Ok(())
        }
        Some(other) => Err(format!("unknown benchmark `{other}` (learner or sgemm)")),
    }
}

fn demo_cmd(raw: &[String]) -> Result<(), String> {
    let args = Args::parse(raw, &["out", "preset", "body"], &["print-config"])?;
    let body = match args.get("body").unwrap_or("point_mass") {
        "point_mass" => BodyKind::PointMass,
        "reacher" => BodyKind::Reacher,
        b => return Err(format!("--body must be point_mass or reacher, got `{b}`")),
    };
    let preset = match args.get("preset").unwrap_or("demo") {
        "demo" => demo::Preset {
            body,
            ..demo::Preset::demo()
        },
        "paper" => demo::Preset::paper(body),
        p => return Err(format!("--preset must be demo or paper, got `{p}`")),
    };
    if args.flag("print-config") {
        print!("{}", demo::base_config(&preset).to_toml());
        return Ok(());
    }
    let out = PathBuf::from(args.get("out").unwrap_or("runs/demo"));
    let summary = demo::run(&out, preset)?;
    println!("{summary}");
    println!("wrote {}", out.join("summary.md").display());
    Ok(())
}
