//! A run folder: config, metrics as CSV and JSON lines, a checkpoint folder, progress on stderr.
//!
//! # What a folder promises
//! - `metrics.csv` and `metrics.jsonl` hold exactly one row per finished episode, `eval.csv`
//!   one per evaluation: each row is formatted whole and appended with one `write_all`, and on
//!   `--resume` the three files are rewritten (atomically) from the checkpoint's history, so
//!   rows written after the last checkpoint by a run that then crashed are dropped, not
//!   duplicated, and a torn last row cannot survive.
//! - A failed write of a row or of a checkpoint stops the run with the error naming the file;
//!   the last good checkpoint stays.
//! - A new run refuses a non-empty folder unless told to continue it (`--resume`) or to
//!   start over (`--overwrite`); temporary files left by a crash are removed on start.

use bprl_agents::{AgentError, EpisodeRecord, EvalRecord, TaskFamily, Trainer};
use bprl_examples::experiment::Experiment;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `text` to `path` atomically (temporary file, fsync, rename).
pub fn write_atomic(path: &Path, text: &str) -> Result<(), String> {
    bprl_agents::checkpoint::write_atomic(path, text.as_bytes()).map_err(|e| e.to_string())
}

/// How a run starts in its folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// A new run: the folder must be empty or absent.
    Fresh,
    /// Continue the run whose checkpoint is in the folder.
    Resume,
    /// A new run replacing the folder's run files (config, metrics, checkpoint).
    Overwrite,
}

/// The files of one run.
#[derive(Debug, Clone)]
pub struct RunDir {
    /// The folder.
    pub dir: PathBuf,
}

/// The files a run writes in its folder (what `--overwrite` removes).
pub const RUN_FILES: [&str; 5] = [
    "config.toml",
    "metrics.csv",
    "eval.csv",
    "metrics.jsonl",
    "checkpoint",
];

/// The columns of `metrics.csv`.
pub const METRICS_HEADER: &str = "episode,env_steps,learner_steps,return,success,length,critic_loss,policy_loss,prior_loss,kl,q,entropy,std,alpha,beta";

/// The columns of `eval.csv`.
pub const EVAL_HEADER: &str = "episode,env_steps,mean_return,success_rate,discounted_return,q_start,entropy,std,kl,alpha,beta";

fn output_error(path: &Path, e: impl std::fmt::Display) -> AgentError {
    AgentError::Output {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

impl RunDir {
    /// Opens `dir` for a run started as `start`: creates it, removes leftover temporary files
    /// (in it and in its checkpoint folder), and for [`Start::Fresh`] refuses a non-empty
    /// folder; [`Start::Overwrite`] removes the run files first.
    ///
    /// # Errors
    /// A folder that cannot be created or cleaned, or a non-empty one for a fresh run.
    pub fn open(dir: &Path, start: Start) -> Result<Self, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let run = Self {
            dir: dir.to_path_buf(),
        };
        let mut removed = 0;
        for d in [run.dir.clone(), run.checkpoints()] {
            removed +=
                bprl_agents::checkpoint::remove_temporaries(&d).map_err(|e| e.to_string())?;
        }
        if removed > 0 {
            eprintln!(
                "{}: removed {removed} temporary file(s) left by an interrupted write",
                dir.display()
            );
        }
        match start {
            Start::Fresh => {
                let held: Vec<String> = std::fs::read_dir(dir)
                    .map_err(|e| format!("{}: {e}", dir.display()))?
                    .flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect();
                if !held.is_empty() {
                    return Err(format!(
                        "run folder {} is not empty (it holds {}): pass --resume to continue its \
                         run or --overwrite to start a new one there",
                        dir.display(),
                        held.join(", ")
                    ));
                }
            }
            Start::Overwrite => {
                for name in RUN_FILES {
                    let p = dir.join(name);
                    let r = if p.is_dir() {
                        std::fs::remove_dir_all(&p)
                    } else if p.exists() {
                        std::fs::remove_file(&p)
                    } else {
                        Ok(())
                    };
                    r.map_err(|e| format!("--overwrite: removing {}: {e}", p.display()))?;
                }
            }
            Start::Resume => {}
        }
        Ok(run)
    }

    /// Creates a fresh run folder (replacing its run files) and writes `config.toml`: for
    /// jobs that always start over, as the demo's.
    ///
    /// # Errors
    /// As [`RunDir::open`] and [`RunDir::write_config`].
    pub fn create(dir: &Path, config: &Experiment) -> Result<Self, String> {
        let run = Self::open(dir, Start::Overwrite)?;
        run.write_config(config)?;
        Ok(run)
    }

    /// Writes `config.toml` atomically.
    ///
    /// # Errors
    /// The write's error, naming the file.
    pub fn write_config(&self, config: &Experiment) -> Result<(), String> {
        write_atomic(&self.dir.join("config.toml"), &config.to_toml())
    }

    /// The checkpoint folder.
    pub fn checkpoints(&self) -> PathBuf {
        self.dir.join("checkpoint")
    }

    /// Appends one whole row (header first for a new file) with a single `write_all`.
    fn append(&self, name: &str, header: &str, row: &str) -> Result<(), AgentError> {
        let path = self.dir.join(name);
        let mut text = String::with_capacity(header.len() + row.len() + 2);
        let new = std::fs::metadata(&path).map_or(true, |m| m.len() == 0);
        if new && !header.is_empty() {
            text.push_str(header);
            text.push('\n');
        }
        text.push_str(row);
        text.push('\n');
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| output_error(&path, e))?;
        f.write_all(text.as_bytes())
            .map_err(|e| output_error(&path, e))
    }

    /// Appends one episode (and its evaluation) to `metrics.csv`, `eval.csv`, `metrics.jsonl`.
    ///
    /// # Errors
    /// [`AgentError::Output`] naming the file that could not be written.
    pub fn record(&self, r: &EpisodeRecord, e: Option<&EvalRecord>) -> Result<(), AgentError> {
        self.append("metrics.csv", METRICS_HEADER, &metrics_row(r))?;
        if let Some(e) = e {
            self.append("eval.csv", EVAL_HEADER, &eval_row(e))?;
        }
        self.append("metrics.jsonl", "", &json_row(r, e))
    }

    /// Rewrites the three metrics files atomically from a checkpoint's history (on resume):
    /// exactly the rows of the episodes and evaluations it holds.
    ///
    /// # Errors
    /// A write's error, naming the file.
    pub fn rewrite_metrics(
        &self,
        history: &[EpisodeRecord],
        evals: &[EvalRecord],
    ) -> Result<(), String> {
        let mut metrics = format!("{METRICS_HEADER}\n");
        let mut eval = format!("{EVAL_HEADER}\n");
        let mut json = String::new();
        let mut pending = evals.iter().peekable();
        for r in history {
            let mut e = None;
            while let Some(x) = pending.peek()
                && x.episode <= r.episode
            {
                if x.episode == r.episode {
                    e = Some(**x);
                }
                pending.next();
            }
            metrics.push_str(&metrics_row(r));
            metrics.push('\n');
            if let Some(e) = &e {
                eval.push_str(&eval_row(e));
                eval.push('\n');
            }
            json.push_str(&json_row(r, e.as_ref()));
            json.push('\n');
        }
        write_atomic(&self.dir.join("metrics.csv"), &metrics)?;
        write_atomic(&self.dir.join("eval.csv"), &eval)?;
        write_atomic(&self.dir.join("metrics.jsonl"), &json)
    }
}

fn metrics_row(r: &EpisodeRecord) -> String {
    let m = &r.metrics;
    format!(
        "{},{},{},{:.6},{},{},{:.6e},{:.6e},{:.6e},{:.6e},{:.6e},{:.6e},{:.6e},{:.6e},{:.6e}",
        r.episode,
        r.env_steps,
        r.learner_steps,
        r.episode_return,
        u8::from(r.success),
        r.length,
        m.critic_loss,
        m.policy_loss,
        m.prior_loss,
        m.kl,
        m.q,
        m.entropy,
        m.std,
        m.alpha,
        m.beta
    )
}

fn eval_row(e: &EvalRecord) -> String {
    let d = &e.start;
    format!(
        "{},{},{:.6},{:.6},{:.6},{:.6},{:.6e},{:.6e},{:.6e},{:.6e},{:.6e}",
        e.episode,
        e.env_steps,
        e.mean_return,
        e.success_rate,
        e.discounted_return,
        d.q,
        d.entropy,
        d.std,
        d.kl,
        d.alpha,
        d.beta
    )
}

fn json_row(r: &EpisodeRecord, e: Option<&EvalRecord>) -> String {
    let m = &r.metrics;
    let eval_json = e.map_or_else(String::new, |e| {
        let d = &e.start;
        format!(
            ",\"eval_return\":{:.6},\"eval_success\":{:.6},\"eval_discounted_return\":{:.6},\"eval_q\":{:.6},\"eval_entropy\":{:.6e},\"eval_std\":{:.6e},\"eval_kl\":{:.6e},\"alpha\":{:.6e},\"beta\":{:.6e}",
            e.mean_return,
            e.success_rate,
            e.discounted_return,
            d.q,
            d.entropy,
            d.std,
            d.kl,
            d.alpha,
            d.beta
        )
    });
    format!(
        "{{\"episode\":{},\"env_steps\":{},\"learner_steps\":{},\"return\":{:.6},\"success\":{},\"critic_loss\":{:.6e},\"policy_loss\":{:.6e},\"prior_loss\":{:.6e},\"kl\":{:.6e}{eval_json}}}",
        r.episode,
        r.env_steps,
        r.learner_steps,
        r.episode_return,
        r.success,
        m.critic_loss,
        m.policy_loss,
        m.prior_loss,
        m.kl
    )
}

/// A progress bar on stderr (indicatif; hidden when `quiet` or when stderr is not a
/// terminal), counting environment steps up to `total` from `done`.
pub fn progress_bar(label: &str, done: u64, total: u64, quiet: bool) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(
        Some(total),
        if quiet {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        },
    );
    let style = ProgressStyle::with_template(
        "{prefix} [{bar:30}] {percent:>3}% {pos}/{len} steps, {elapsed_precise} (eta {eta}) {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("#>-");
    pb.set_style(style);
    pb.set_prefix(label.to_string());
    pb.set_position(done.min(total));
    pb
}

/// Shows one episode (and its evaluation) on the bar.
fn show(pb: &ProgressBar, r: &EpisodeRecord, e: Option<&EvalRecord>) {
    pb.set_position(r.env_steps.min(pb.length().unwrap_or(u64::MAX)));
    let eval = e.map_or(String::new(), |e| {
        format!(
            ", eval return {:.2} success {:.0}%",
            e.mean_return,
            100.0 * e.success_rate
        )
    });
    pb.set_message(format!(
        "episode {}, return {:.2}{eval}",
        r.episode, r.episode_return
    ));
}

/// Trains (synchronously, or threaded with `run.actor_threads > 0`) with progress, metrics
/// files and checkpoints in `run`. A failed metrics or checkpoint write stops the run with
/// the error naming the file.
///
/// # Errors
/// The trainer's error (a write, an environment, a checkpoint), as text.
pub fn train<T>(
    trainer: &mut Trainer<T>,
    run: &RunDir,
    label: &str,
    quiet: bool,
) -> Result<(), String>
where
    T: TaskFamily + Serialize,
    T::Env: Send,
{
    let total = trainer.config.run.env_steps;
    let pb = progress_bar(label, trainer.counters.env_steps, total, quiet);
    let ckpt = run.checkpoints();
    let mut on_episode = |r: &EpisodeRecord, e: Option<&EvalRecord>| -> bprl_agents::Result<()> {
        run.record(r, e)?;
        if let Some(warning) = e.and_then(EvalRecord::divergence) {
            pb.suspend(|| {
                eprintln!("{label}: warning at {} env steps: {warning}", r.env_steps);
            });
        }
        show(&pb, r, e);
        Ok(())
    };
    let result = if trainer.config.run.actor_threads > 0 {
        let mut on_stall = |m: &str| {
            pb.suspend(|| eprintln!("{label}: threaded mode: {m}"));
            Ok(())
        };
        trainer.train_threaded(Some(&ckpt), &mut on_episode, &mut on_stall)
    } else {
        trainer.train(Some(&ckpt), &mut on_episode)
    };
    pb.finish();
    result.map_err(|e| e.to_string())
}
