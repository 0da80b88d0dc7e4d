//! A run folder: config, metrics as CSV and JSON lines, a checkpoint folder, progress on stderr.

use crate::experiment::Experiment;
use bprl_agents::{EpisodeRecord, EvalRecord, TaskFamily, Trainer};
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `text` to `path` atomically (temporary file, fsync, rename).
pub fn write_atomic(path: &Path, text: &str) -> Result<(), String> {
    bprl_agents::checkpoint::write_atomic(path, text.as_bytes()).map_err(|e| e.to_string())
}

/// The files of one run.
#[derive(Debug, Clone)]
pub struct RunDir {
    /// The folder.
    pub dir: PathBuf,
}

impl RunDir {
    /// Creates the folder and writes `config.toml`.
    pub fn create(dir: &Path, config: &Experiment) -> Result<Self, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        write_atomic(&dir.join("config.toml"), &config.to_toml())?;
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }

    /// The checkpoint folder.
    pub fn checkpoints(&self) -> PathBuf {
        self.dir.join("checkpoint")
    }

    fn append(&self, name: &str, header: &str, line: &str) -> Result<(), String> {
        let path = self.dir.join(name);
        let new = !path.exists();
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if new && !header.is_empty() {
            writeln!(f, "{header}").map_err(|e| e.to_string())?;
        }
        writeln!(f, "{line}").map_err(|e| e.to_string())
    }

    /// The columns of `eval.csv`.
    pub const EVAL_HEADER: &str = "episode,env_steps,mean_return,success_rate,discounted_return,q_start,entropy,std,kl,alpha,beta";

    /// Appends one episode (and its evaluation) to `metrics.csv`, `eval.csv`, `metrics.jsonl`.
    pub fn record(&self, r: &EpisodeRecord, e: Option<&EvalRecord>) -> Result<(), String> {
        let m = &r.metrics;
        self.append(
            "metrics.csv",
            "episode,env_steps,learner_steps,return,success,length,critic_loss,policy_loss,prior_loss,kl,q,entropy,std,alpha,beta",
            &format!(
                "{},{},{},{:.6},{},{},{:.6e},{:.6e},{:.6e},{:.6e},{:.6e},{:.6e},{:.6e},{:.6e},{:.6e}",
                r.episode, r.env_steps, r.learner_steps, r.episode_return, u8::from(r.success), r.length, m.critic_loss, m.policy_loss, m.prior_loss, m.kl, m.q, m.entropy, m.std, m.alpha, m.beta
            ),
        )?;
        let eval_json = match e {
            Some(e) => {
                let d = &e.start;
                self.append(
                    "eval.csv",
                    Self::EVAL_HEADER,
                    &format!(
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
                    ),
                )?;
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
            }
            None => String::new(),
        };
        self.append(
            "metrics.jsonl",
            "",
            &format!(
                "{{\"episode\":{},\"env_steps\":{},\"learner_steps\":{},\"return\":{:.6},\"success\":{},\"critic_loss\":{:.6e},\"policy_loss\":{:.6e},\"prior_loss\":{:.6e},\"kl\":{:.6e}{eval_json}}}",
                r.episode, r.env_steps, r.learner_steps, r.episode_return, r.success, m.critic_loss, m.policy_loss, m.prior_loss, m.kl
            ),
        )
    }
}

/// A one-line progress bar on stderr.
pub fn progress(label: &str, r: &EpisodeRecord, total: u64, e: Option<&EvalRecord>) {
    let frac = (r.env_steps as f64 / total.max(1) as f64).min(1.0);
    let filled = (frac * 30.0) as usize;
    let eval = e.map_or(String::new(), |e| {
        format!(
            ", eval return {:.2} success {:.0}%",
            e.mean_return,
            100.0 * e.success_rate
        )
    });
    eprint!(
        "\r{label} [{}{}] {:>3.0}% {}/{} steps, episode {}, return {:.2}{eval}   ",
        "#".repeat(filled),
        " ".repeat(30 - filled),
        100.0 * frac,
        r.env_steps,
        total,
        r.episode,
        r.episode_return
    );
    if r.env_steps >= total {
        eprintln!();
    }
}

/// Trains with progress, metrics files and checkpoints in `run`.
pub fn train<T: TaskFamily + Serialize>(
    trainer: &mut Trainer<T>,
    run: &RunDir,
    label: &str,
    quiet: bool,
) -> Result<(), String> {
    let total = trainer.config.run.env_steps;
    let mut write_err = None;
    let ckpt = run.checkpoints();
    trainer
        .train(Some(&ckpt), &mut |r, e| {
            if let Err(err) = run.record(r, e) {
                write_err.get_or_insert(err);
            }
            if let Some(warning) = e.and_then(bprl_agents::EvalRecord::divergence) {
                if !quiet {
                    eprintln!();
                }
                eprintln!("{label}: warning at {} env steps: {warning}", r.env_steps);
            }
            if !quiet {
                progress(label, r, total, e);
            }
        })
        .map_err(|e| e.to_string())?;
    write_err.map_or(Ok(()), Err)
}
