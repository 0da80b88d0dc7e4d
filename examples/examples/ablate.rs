//! One learner ablation run on the point-mass targets suite: a comma-separated list of options
//! applied to Acme's learner (or `bprl`, the default preset's) at the demo's sizes, trained for
//! a budget, then evaluated greedily on 100 fixed start states. docs/results.md's screening
//! table comes from this program.
//!
//! ```sh
//! cargo run --release -p bprl-examples --example ablate -- OPTIONS STEPS TARGETS SEED
//! cargo run --release -p bprl-examples --example ablate -- bprl,notwin 16000 3 0
//! ```
//!
//! Options (applied left to right): `acme` or `bprl` (the base learner, default `acme`);
//! `twin`, `online`, `tau`, `squash` (with `mean_scale = 3`), `vent` (entropy in the value),
//! `auto` (beta from 0.05 tuned to -1 nat per dimension), and their negations `notwin`,
//! `target`, `notau`, `nosquash`, `novent`, `noauto`; `rX` (X updates per environment step,
//! default 0.5), `resetN`, `teX` (target entropy -X per dimension), `b01`/`b1`/`b2` (initial
//! beta 0.01/0.1/0.2), `mlr1`/`mlr01` (multiplier learning rate 1e-3/1e-4), `min1`
//! (`min_scale = 0.1`), `lam0` (Retrace lambda 0), `s8` (8 action samples), `prior`/`asym`
//! (a learned prior over `proprio` / `proprio, targets`; default none).

use bprl_agents::{AgentConfig, CriticChoice, LearnerConfig, PriorConfig, TaskSplit, Trainer};
use bprl_envs::{BodyKind, Suite, SuiteConfig, TargetsConfig};
use std::process::ExitCode;

/// A learner at the demo's sizes and rates.
fn demo_sized(l: LearnerConfig) -> LearnerConfig {
    LearnerConfig {
        target_period: 50,
        batch_size: 32,
        action_samples: 4,
        policy_hidden: vec![64, 64],
        critic_hidden: vec![64, 64],
        policy_lr: 1e-3,
        critic_lr: 1e-3,
        prior_lr: 1e-3,
        ..l
    }
}

/// The learner, prior and replay ratio an option list gives.
fn configure(options: &str) -> Result<(LearnerConfig, PriorConfig, f64), String> {
    let mut l = demo_sized(LearnerConfig::acme());
    let mut prior = PriorConfig::None;
    let mut ratio = 0.5;
    let number = |s: &str, what: &str| {
        s.parse::<f64>()
            .map_err(|_| format!("option `{what}`: `{s}` is not a number"))
    };
    for opt in options.split(',').filter(|o| !o.is_empty()) {
        match opt {
            "acme" => l = demo_sized(LearnerConfig::acme()),
            "bprl" => l = demo_sized(LearnerConfig::bprl()),
            "twin" => l.twin_critics = true,
            "notwin" => l.twin_critics = false,
            "online" => l.policy_critic = CriticChoice::Online,
            "target" => l.policy_critic = CriticChoice::Target,
            "tau" => l.tau = Some(0.005),
            "notau" => l.tau = None,
            "squash" => (l.squash, l.mean_scale) = (true, 3.0),
            "nosquash" => (l.squash, l.mean_scale) = (false, 1.0),
            "vent" => l.value_entropy = true,
            "novent" => l.value_entropy = false,
            "auto" => (l.target_entropy, l.beta) = (Some(-1.0), 0.05),
            "noauto" => l.target_entropy = None,
            "b01" => l.beta = 0.01,
            "b1" => l.beta = 0.1,
            "b2" => l.beta = 0.2,
            "mlr1" => l.multiplier_lr = 1e-3,
            "mlr01" => l.multiplier_lr = 1e-4,
            "min1" => l.min_scale = 0.1,
            "lam0" => l.lambda = 0.0,
            "s8" => l.action_samples = 8,
            "prior" => prior = PriorConfig::learned(&["proprio"]),
            "asym" => prior = PriorConfig::learned(&["proprio", "targets"]),
            o if o.starts_with("reset") => {
                l.reset_every_updates = Some(number(&o[5..], o)? as u64);
            }
            o if o.starts_with("te") => l.target_entropy = Some(-number(&o[2..], o)?),
            o if o.starts_with('r') => ratio = number(&o[1..], o)?,
            o => return Err(format!("unknown option `{o}` (see the example's docs)")),
        }
    }
    Ok((l, prior, ratio))
}

fn run(args: &[String]) -> Result<(), String> {
    let get = |i: usize, default: &str| args.get(i).cloned().unwrap_or_else(|| default.into());
    let options = get(1, "bprl");
    let parse = |s: String, what: &str| {
        s.parse::<u64>()
            .map_err(|_| format!("{what}: `{s}` is not a count"))
    };
    let steps = parse(get(2, "16000"), "STEPS")?;
    let targets = parse(get(3, "3"), "TARGETS")? as usize;
    let seed = parse(get(4, "0"), "SEED")?;
    let suite = Suite::from_config(&SuiteConfig {
        body: BodyKind::PointMass,
        targets: TargetsConfig {
            num_targets: targets,
            max_steps: if targets == 1 { 40 } else { 80 },
            shaping: 1.0,
            radius: 0.2,
            ..TargetsConfig::default()
        },
        ..SuiteConfig::default()
    });
    let (l, prior, ratio) = configure(&options)?;
    let mut c = AgentConfig {
        prior,
        learner: l,
        ..AgentConfig::default()
    };
    c.run.env_steps = steps;
    c.run.updates_per_env_step = ratio;
    c.run.min_replay = 20;
    c.run.replay_capacity = 20_000;
    c.run.eval_every_episodes = 0;
    c.run.checkpoint_every_episodes = 0;
    c.run.seed = seed;
    let t0 = std::time::Instant::now();
    let mut t = Trainer::new(c, suite, TaskSplit::Train).map_err(|e| e.to_string())?;
    let mut last = None;
    t.train(None, &mut |r, _| {
        last = Some(r.metrics);
        Ok(())
    })
    .map_err(|e| e.to_string())?;
    let e = t.evaluate(100).map_err(|e| e.to_string())?;
    let m = last.unwrap_or_default();
    println!(
        "{options:30} {:5.0}s ret {:.3} succ {:.2} | q {:.3} ent {:.2} std {:.3} beta {:.4} closs {:.4}",
        t0.elapsed().as_secs_f64(),
        e.mean_return,
        e.success_rate,
        m.q,
        m.entropy,
        m.std,
        m.beta,
        m.critic_loss
    );
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ablate: {e}");
            ExitCode::FAILURE
        }
    }
}
