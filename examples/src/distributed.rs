//! `bprl learner`, `bprl actor` and the one-machine launcher `bprl train --distributed`: the
//! processes of `bprl-distributed` on the command line.
//!
//! The launcher starts a local `redis-server` (loopback, a free port, its data and AOF in
//! `OUT/redis`), the learner (`OUT` is its run folder) and K actors (metrics in
//! `OUT/actors/actor-<id>.jsonl`), and supervises them: a process that dies is started again
//! (the learner resumes from its checkpoint; an actor rejoins as its next incarnation; Redis
//! restarts on the same port from its AOF). `--kill WHO@STEPS` kills a process (SIGKILL) once
//! the learner has counted STEPS environment steps, to exercise exactly that.

use crate::family::{self, Described, with_family, with_kind};
use crate::run::{RunDir, Start, write_atomic};
use bprl_agents::{EpisodeRecord, EvalRecord, TaskSplit, Trainer};
use bprl_distributed::actor::{ActorSettings, run_actor, run_kind};
use bprl_distributed::learner::{LearnerReport, LearnerSettings, run_learner};
use bprl_distributed::{Backoff, Keys, Link, RedisServer};
use bprl_examples::experiment::Experiment;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Options shared by the learner and the actors.
#[derive(Debug, Clone, clap::Args)]
pub struct Common {
    /// The Redis server (`redis://HOST:PORT/`).
    #[arg(long, value_name = "URL")]
    pub redis: String,
    /// Key prefix of the run (one run per prefix).
    #[arg(long, value_name = "P", default_value = "bprl")]
    pub prefix: String,
}

/// `bprl learner`.
#[derive(Debug, clap::Args)]
pub struct LearnerArgs {
    #[command(flatten)]
    common: Common,
    /// TOML configuration (as `bprl train`'s; ignored when --out holds a checkpoint, which is
    /// resumed).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Run folder (config.toml, metrics files, checkpoint/, learner-report.json).
    #[arg(long, value_name = "DIR", default_value = "runs/learner")]
    out: PathBuf,
    /// Cap of the item stream (entries): actors wait at the cap (they read it from the run
    /// record, so every process uses the learner's).
    #[arg(long, value_name = "N", default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(2..=10_000_000))]
    stream_cap: u64,
    /// Publish parameters every M updates.
    #[arg(long, value_name = "M", default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..))]
    publish_every: u64,
}

/// `bprl actor`.
#[derive(Debug, clap::Args)]
pub struct ActorArgs {
    #[command(flatten)]
    common: Common,
    /// The actor's id (distinct per actor of the run).
    #[arg(long, value_name = "N")]
    id: u32,
    /// Look for new parameters every N environment steps.
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    fetch_every: u64,
    /// Append one JSON line per finished episode here.
    #[arg(long, value_name = "FILE")]
    metrics: Option<PathBuf>,
    /// Stop after N environment steps (default: when the learner says the run is done).
    #[arg(long, value_name = "N")]
    max_steps: Option<u64>,
}

/// A link with the default backoff; `BPRL_REDIS_GIVE_UP_SECS` shortens (or lengthens) how
/// long a command keeps retrying an unreachable server (default 60 s).
fn link(url: &str) -> Result<Link, String> {
    let mut backoff = Backoff::default();
    if let Ok(v) = std::env::var("BPRL_REDIS_GIVE_UP_SECS") {
        let secs: u64 = v
            .parse()
            .map_err(|_| format!("BPRL_REDIS_GIVE_UP_SECS = {v}: expected whole seconds"))?;
        backoff.give_up_after = Duration::from_secs(secs);
    }
    Link::open(url, backoff).map_err(|e| e.to_string())
}

/// The kind name a family is published under.
fn kind_name(f: &family::Family) -> &'static str {
    match f {
        family::Family::Suite(_) => "suite",
        #[cfg(feature = "mujoco")]
        family::Family::Mujoco(_) => "mujoco",
    }
}

/// `bprl learner`: resumes the run in `--out` if it holds a checkpoint, else starts the run of
/// `--config` there; writes `learner-report.json` at the end and prints it.
///
/// # Errors
/// As text: a bad configuration, Redis unreachable, a learner or checkpoint error.
pub fn learner_cmd(a: &LearnerArgs) -> Result<(), String> {
    let ckpt = a.out.join("checkpoint");
    let resuming = ckpt.join("LATEST").exists();
    let (run, e) = if resuming {
        let run = RunDir::open(&a.out, Start::Resume)?;
        let e = Experiment::load(&run.dir.join("config.toml"))?;
        (run, e)
    } else {
        let e = match &a.config {
            Some(p) => Experiment::load(p)?,
            None => Experiment::default(),
        };
        // A learner killed before its first checkpoint starts over in the same folder.
        let run = RunDir::open(&a.out, Start::Overwrite)?;
        run.write_config(&e)?;
        (run, e)
    };
    let family = family::of(&e)?;
    let settings = LearnerSettings {
        prefix: a.common.prefix.clone(),
        kind: kind_name(&family).into(),
        stream_cap: a.stream_cap,
        publish_every: a.publish_every,
        ..LearnerSettings::default()
    };
    let mut link = link(&a.common.redis)?;
    let report = with_family!(family, f => learn_with(&mut link, &settings, &run, e.agent.clone(), f, resuming))?;
    let json = serde_json_line(&report);
    write_atomic(&a.out.join("learner-report.json"), &json)?;
    println!("learner: {json}");
    Ok(())
}

fn learn_with<T: Described + Clone>(
    link: &mut Link,
    settings: &LearnerSettings,
    run: &RunDir,
    config: bprl_agents::AgentConfig,
    family: T,
    resuming: bool,
) -> Result<LearnerReport, String>
where
    T::Env: Send,
{
    let ckpt = run.checkpoints();
    if resuming {
        let t = Trainer::<T>::load(&ckpt).map_err(|e| e.to_string())?;
        run.rewrite_metrics(&t.history, &t.evals)?;
        eprintln!(
            "learner: resuming {} at episode {}, {} env steps",
            run.dir.display(),
            t.counters.episodes,
            t.counters.env_steps
        );
    }
    let mut on_episode = |r: &EpisodeRecord, e: Option<&EvalRecord>| {
        run.record(r, e).map_err(bprl_distributed::DistError::from)
    };
    run_learner(
        link,
        settings,
        (config, family, TaskSplit::Train),
        &ckpt,
        &mut on_episode,
    )
    .map_err(|e| e.to_string())
}

/// `bprl actor`: acts for the run under `--prefix` until the learner stops it; prints its
/// report as a JSON line.
///
/// # Errors
/// As text: Redis unreachable, no run or parameters in time, an environment error.
pub fn actor_cmd(a: &ActorArgs) -> Result<(), String> {
    let mut link = link(&a.common.redis)?;
    let settings = ActorSettings {
        id: a.id,
        prefix: a.common.prefix.clone(),
        fetch_every: a.fetch_every,
        max_steps: a.max_steps,
        ..ActorSettings::default()
    };
    let kind = run_kind(
        &mut link,
        &Keys::new(&a.common.prefix),
        settings.start_timeout,
    )
    .map_err(|e| e.to_string())?;
    let kind = match kind.as_str() {
        "suite" => family::Kind::Suite,
        "mujoco" => family::Kind::Mujoco,
        other => return Err(format!("run kind `{other}` is not one this bprl knows")),
    };
    if kind == family::Kind::Mujoco && !cfg!(feature = "mujoco") {
        return Err(bprl_examples::experiment::NO_MUJOCO.into());
    }
    let mut file = match &a.metrics {
        Some(p) => {
            if let Some(d) = p.parent() {
                std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
            }
            Some(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .map_err(|e| format!("{}: {e}", p.display()))?,
            )
        }
        None => None,
    };
    let mut write_err = None;
    let mut on_episode = |ep: &bprl_distributed::actor::ActorEpisode| {
        if let Some(f) = file.as_mut()
            && let Err(e) = writeln!(f, "{}", serde_json_line(ep))
        {
            write_err.get_or_insert_with(|| e.to_string());
        }
    };
    let report = with_kind!(kind, T => run_actor::<T>(&mut link, &settings, &mut on_episode))
        .map_err(|e| e.to_string())?;
    if let Some(e) = write_err {
        return Err(format!("actor metrics: {e}"));
    }
    println!("actor: {}", serde_json_line(&report));
    Ok(())
}

/// A report as one JSON line.
fn serde_json_line<V: serde::Serialize>(v: &V) -> String {
    serde_json::to_string(v).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// Who `--kill` kills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// The learner process.
    Learner,
    /// Actor `N`.
    Actor(u32),
    /// The Redis server.
    Redis,
}

/// `--kill WHO@STEPS`: SIGKILL `WHO` (`learner`, `actor:N`, `redis`) once the learner has
/// counted `STEPS` environment steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kill {
    /// The process.
    pub who: Who,
    /// When.
    pub at: u64,
}

/// Parses `--kill`.
///
/// # Errors
/// A value that is not `learner@N`, `actor:K@N` or `redis@N`.
pub fn parse_kill(s: &str) -> Result<Kill, String> {
    let bad = || format!("--kill {s}: expected learner@STEPS, actor:ID@STEPS or redis@STEPS");
    let (who, at) = s.split_once('@').ok_or_else(bad)?;
    let at = at.parse().map_err(|_| bad())?;
    let who = match who {
        "learner" => Who::Learner,
        "redis" => Who::Redis,
        w => Who::Actor(
            w.strip_prefix("actor:")
                .and_then(|n| n.parse().ok())
                .ok_or_else(bad)?,
        ),
    };
    Ok(Kill { who, at })
}

/// What the launcher needs.
#[derive(Debug, Clone)]
pub struct Launch {
    /// The experiment (overrides applied).
    pub experiment: Experiment,
    /// The run folder.
    pub out: PathBuf,
    /// Actor processes.
    pub actors: u32,
    /// Kills to inflict.
    pub kills: Vec<Kill>,
    /// Stream cap.
    pub stream_cap: u64,
    /// Actors' parameter refresh interval (steps).
    pub fetch_every: u64,
    /// Learner's publication interval (updates).
    pub publish_every: u64,
    /// No progress lines.
    pub quiet: bool,
}

/// One supervised process.
struct Proc {
    name: String,
    args: Vec<String>,
    child: Option<Child>,
    starts: u32,
    finished: bool,
    cpu: CpuMeter,
    /// Every process id it ran as.
    pids: Vec<u32>,
}

/// CPU seconds of a process and its earlier starts, read from `/proc/<pid>/stat`.
#[derive(Default)]
struct CpuMeter {
    past: f64,
    current: f64,
}

impl CpuMeter {
    fn sample(&mut self, pid: u32, tick: f64) {
        if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            && let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r)
        {
            let f: Vec<&str> = rest.split_whitespace().collect();
            // After the name: state is field 3, utime 14 and stime 15 (1-based, whole line).
            if f.len() > 13
                && let (Ok(u), Ok(s)) = (f[11].parse::<f64>(), f[12].parse::<f64>())
            {
                self.current = (u + s) / tick;
            }
        }
    }

    fn restart(&mut self) {
        self.past += self.current;
        self.current = 0.0;
    }

    fn total(&self) -> f64 {
        self.past + self.current
    }
}

impl Proc {
    fn spawn(&mut self, exe: &Path, logs: &Path) -> Result<(), String> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(logs.join(format!("{}.log", self.name)))
            .map_err(|e| format!("{}: {e}", logs.display()))?;
        let err = log.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new(exe)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("starting {}: {e}", self.name))?;
        self.cpu.restart();
        self.pids.push(child.id());
        self.child = Some(child);
        self.starts += 1;
        Ok(())
    }

    fn kill(&mut self) {
        if let Some(c) = self.child.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
        self.child = None;
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `bprl train --distributed`: Redis, the learner and the actors on this machine, supervised,
/// until the learner ends; prints `distributed: E env steps, U updates, R items rejected,
/// L lost, D duplicated` and writes `distributed-summary.json`.
///
/// # Errors
/// As text: no `redis-server`, a process that keeps dying (10 starts), a bad report.
pub fn launch(l: &Launch) -> Result<(), String> {
    if let Some(k) = l
        .kills
        .iter()
        .find(|k| matches!(k.who, Who::Actor(i) if i >= l.actors))
    {
        return Err(format!(
            "--kill {:?}: there are only actors 0..{} (--actors {})",
            k.who,
            l.actors.saturating_sub(1),
            l.actors
        ));
    }
    let out = &l.out;
    let logs = out.join("logs");
    // The launcher's own folders start empty (the run folder itself was checked or cleared by
    // the caller), so a rerun's logs and actor metrics are its own.
    for d in [&logs, &out.join("actors"), &out.join("redis")] {
        if d.exists() {
            std::fs::remove_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
        }
    }
    std::fs::create_dir_all(&logs).map_err(|e| format!("{}: {e}", logs.display()))?;
    let config = out.join("launch-config.toml");
    write_atomic(&config, &l.experiment.to_toml())?;
    let redis_dir = out.join("redis");
    let mut redis = RedisServer::start(&redis_dir).map_err(|e| e.to_string())?;
    let url = redis.url();
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let common = |v: &mut Vec<String>| v.extend(["--redis".into(), url.clone()]);
    let mut learner_args = vec!["learner".to_string()];
    common(&mut learner_args);
    learner_args.extend([
        "--stream-cap".into(),
        l.stream_cap.to_string(),
        "--config".into(),
        config.display().to_string(),
        "--out".into(),
        out.display().to_string(),
        "--publish-every".into(),
        l.publish_every.to_string(),
    ]);
    let mut procs = vec![Proc {
        name: "learner".into(),
        args: learner_args,
        child: None,
        starts: 0,
        finished: false,
        cpu: CpuMeter::default(),
        pids: Vec::new(),
    }];
    for i in 0..l.actors {
        let mut args = vec!["actor".to_string()];
        common(&mut args);
        args.extend([
            "--id".into(),
            i.to_string(),
            "--fetch-every".into(),
            l.fetch_every.to_string(),
            "--metrics".into(),
            out.join("actors")
                .join(format!("actor-{i}.jsonl"))
                .display()
                .to_string(),
        ]);
        procs.push(Proc {
            name: format!("actor-{i}"),
            args,
            child: None,
            starts: 0,
            finished: false,
            cpu: CpuMeter::default(),
            pids: Vec::new(),
        });
    }
    let _ = std::fs::remove_file(out.join("learner-report.json"));
    for p in &mut procs {
        p.spawn(&exe, &logs)?;
    }
    let tick = clock_tick();
    let start = Instant::now();
    let keys = Keys::new("bprl");
    let mut monitor = Link::open(
        &url,
        Backoff {
            give_up_after: Duration::from_secs(30),
            ..Backoff::default()
        },
    )
    .map_err(|e| e.to_string())?;
    let mut kills: Vec<(Kill, bool)> = l.kills.iter().map(|k| (*k, false)).collect();
    let mut redis_cpu = CpuMeter::default();
    let mut redis_pids: Vec<u32> = Vec::new();
    let mut restarts = Vec::new();
    let mut last_print = Instant::now();
    let mut learner_done_at: Option<Instant> = None;
    loop {
        std::thread::sleep(Duration::from_millis(50));
        let steps: u64 = monitor
            .call("HGET progress", |c| {
                bprl_distributed::redis::cmd("HGET")
                    .arg(keys.progress())
                    .arg("env_steps")
                    .query::<Option<u64>>(c)
            })
            .map_err(|e| e.to_string())?
            .unwrap_or(0);
        for (k, done) in kills.iter_mut().filter(|(k, d)| !*d && steps >= k.at) {
            *done = true;
            eprintln!(
                "distributed: killing {:?} at {steps} env steps (--kill)",
                k.who
            );
            match k.who {
                Who::Redis => {
                    redis_cpu.restart();
                    redis.restart().map_err(|e| e.to_string())?;
                    restarts.push(format!("redis@{steps}"));
                }
                Who::Learner => procs[0].kill(),
                Who::Actor(i) => {
                    if let Some(p) = procs.get_mut(1 + i as usize) {
                        p.kill();
                    }
                }
            }
        }
        if !redis.is_running() {
            // Died on its own (not by --kill): start it again on the same port and folder.
            eprintln!("distributed: redis-server exited; starting it again");
            redis_cpu.restart();
            redis.restart().map_err(|e| e.to_string())?;
            restarts.push(format!("redis@{steps}"));
        }
        if let Some(pid) = redis.pid() {
            redis_cpu.sample(pid, tick);
            if redis_pids.last() != Some(&pid) {
                redis_pids.push(pid);
            }
        }
        for (i, p) in procs.iter_mut().enumerate() {
            if p.finished {
                continue;
            }
            if let Some(c) = p.child.as_mut() {
                p.cpu.sample(c.id(), tick);
                match c.try_wait() {
                    Ok(None) => continue,
                    Ok(Some(status)) if status.success() => {
                        p.finished = true;
                        p.child = None;
                        if i == 0 {
                            learner_done_at = Some(Instant::now());
                        }
                        continue;
                    }
                    _ => {}
                }
            }
            if p.starts >= 10 {
                return Err(format!(
                    "{} died {} times (see {})",
                    p.name,
                    p.starts,
                    logs.join(format!("{}.log", p.name)).display()
                ));
            }
            if learner_done_at.is_some() {
                // The run is over: an actor that died now is not restarted.
                p.finished = true;
                continue;
            }
            eprintln!("distributed: {} exited; starting it again", p.name);
            restarts.push(format!("{}@{steps}", p.name));
            p.spawn(&exe, &logs)?;
        }
        if !l.quiet && last_print.elapsed() >= Duration::from_secs(5) {
            last_print = Instant::now();
            eprintln!(
                "distributed: {steps} / {} env steps, {:.0} s",
                l.experiment.agent.run.env_steps,
                start.elapsed().as_secs_f64()
            );
        }
        if let Some(t) = learner_done_at {
            let actors_done = procs[1..].iter().all(|p| p.finished);
            if actors_done || t.elapsed() > Duration::from_secs(30) {
                break;
            }
        }
    }
    let wall = start.elapsed().as_secs_f64();
    let pids: Vec<u32> = procs.iter().flat_map(|p| p.pids.clone()).collect();
    let text = std::fs::read_to_string(out.join("learner-report.json"))
        .map_err(|e| format!("learner-report.json: {e}"))?;
    let report: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let n = |k: &str| {
        report
            .get(k)
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0)
    };
    let actor_cpu: f64 = procs[1..].iter().map(|p| p.cpu.total()).sum();
    let summary = serde_json::json!({
        "actors": l.actors,
        "wall_s": wall,
        "env_steps": n("env_steps"),
        "updates": n("updates"),
        "env_steps_per_s": n("env_steps") as f64 / wall,
        "updates_per_s": n("updates") as f64 / wall,
        "learner_cpu_s": procs[0].cpu.total(),
        "actors_cpu_s": actor_cpu,
        "actor_cpu_s_per_1k_steps": actor_cpu / (n("env_steps").max(1) as f64 / 1000.0),
        "redis_cpu_s": redis_cpu.total(),
        "restarts": restarts,
        "redis_pids": redis_pids,
        "process_pids": pids,
        "learner": report,
    });
    write_atomic(
        &out.join("distributed-summary.json"),
        &serde_json::to_string_pretty(&summary).map_err(|e| e.to_string())?,
    )?;
    println!(
        "distributed: {} actors, {wall:.1} s: {:.0} env steps/s, {:.1} updates/s; CPU s: learner \
         {:.1}, actors {actor_cpu:.1} ({:.2} per 1k steps), redis {:.1}; restarts: {}",
        l.actors,
        n("env_steps") as f64 / wall,
        n("updates") as f64 / wall,
        procs[0].cpu.total(),
        actor_cpu / (n("env_steps").max(1) as f64 / 1000.0),
        redis_cpu.total(),
        if restarts.is_empty() {
            "none".to_string()
        } else {
            restarts.join(", ")
        }
    );
    println!(
        "distributed: {} env steps, {} updates, {} items rejected, {} lost, {} duplicated",
        n("env_steps"),
        n("updates"),
        n("rejected"),
        n("lost"),
        n("duplicated")
    );
    drop(procs);
    drop(redis);
    if n("lost") > 0 || n("duplicated") > 0 {
        return Err(format!(
            "{} messages lost, {} duplicated (see {})",
            n("lost"),
            n("duplicated"),
            out.join("learner-report.json").display()
        ));
    }
    Ok(())
}

/// Clock ticks per second of `/proc/<pid>/stat` (`getconf CLK_TCK`; 100 if unknown).
fn clock_tick() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// `bprl bench ingest`: fills a local Redis stream with `steps` env steps of one actor's items
/// (configs/distributed-demo.toml, no learner), then times the learner's ingest path alone.
///
/// # Errors
/// As text: no `redis-server`, a Redis or learner error.
pub fn bench_ingest(steps: u64) -> Result<(), String> {
    let mut e = Experiment::from_toml(include_str!("../../configs/distributed-demo.toml"))
        .map_err(|e| e.to_string())?;
    e.agent.run.env_steps = steps;
    let tmp = std::env::temp_dir().join(format!("bprl-bench-ingest-{}", std::process::id()));
    let redis = RedisServer::start(&tmp).map_err(|e| e.to_string())?;
    let settings = LearnerSettings {
        stream_cap: 10_000_000,
        ..LearnerSettings::default()
    };
    let make = || Trainer::new(e.agent.clone(), e.suite(), TaskSplit::Train);
    let trainer = make().map_err(|e| e.to_string())?;
    let mut l = link(&redis.url())?;
    bprl_distributed::learner::publish_without_learner(&mut l, &settings, &trainer)
        .map_err(|e| e.to_string())?;
    let actor = ActorSettings {
        max_steps: Some(steps),
        fetch_every: 1_000_000,
        ..ActorSettings::default()
    };
    let cpu0 = process_cpu_seconds();
    let t0 = Instant::now();
    let report =
        run_actor::<bprl_envs::Suite>(&mut l, &actor, &mut |_| {}).map_err(|e| e.to_string())?;
    let (act_wall, act_cpu) = (t0.elapsed().as_secs_f64(), process_cpu_seconds() - cpu0);
    let cpu1 = process_cpu_seconds();
    let stats = bprl_distributed::learner::ingest_only(
        &mut l,
        &settings,
        make().map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    let ingest_cpu = process_cpu_seconds() - cpu1;
    drop(redis);
    let _ = std::fs::remove_dir_all(&tmp);
    println!(
        "actor: {} env steps, {} items in {act_wall:.2} s ({:.0} steps/s, {:.3} CPU s per 1k steps, \
         this process only; Redis is another)",
        report.env_steps,
        report.items,
        report.env_steps as f64 / act_wall,
        act_cpu / (report.env_steps as f64 / 1000.0)
    );
    println!(
        "ingest: {} entries, {} items in {:.2} s: {:.0} items/s ({:.0} entries/s), {:.2} CPU s",
        stats.entries,
        stats.items,
        stats.seconds,
        stats.items as f64 / stats.seconds,
        stats.entries as f64 / stats.seconds,
        ingest_cpu
    );
    Ok(())
}

/// CPU seconds (user + system) of this process so far, from `/proc/self/stat`.
fn process_cpu_seconds() -> f64 {
    let mut m = CpuMeter::default();
    m.sample(std::process::id(), clock_tick());
    m.total()
}
