//! The actor/learner loop on any environment: synchronous (seeded, bit-reproducible) or
//! threaded, with evaluation, metrics and checkpoints.
//!
//! A [`Trainer`] takes a [`TaskFamily`] (any [`bprl_envs::Env`] with its training and held-out
//! tasks) and an [`AgentConfig`], whose prior groups are checked against the environment's
//! observation spec.
//!
//! | module | what |
//! |---|---|
//! | `acting` | the one acting loop and the recorder of replay items every mode uses |
//! | `sync` | the synchronous mode: learning on schedule between steps |
//! | [`threaded`] | the threaded mode: actor threads and a rate-limited replay |
//! | [`evaluate`] | greedy evaluation on fixed start states |
//! | `records` | what a run reports: counters, episode and evaluation records |
//! | [`seeds`] | every seed the loop derives from `run.seed` |

mod acting;
pub mod evaluate;
mod records;
pub mod seeds;
mod sync;
pub mod threaded;

pub use crate::learner::Diagnostics;
pub use records::{Counters, EpisodeRecord, EvalRecord, STD_DIVERGED};

use crate::agent::Learner;
use crate::checkpoint;
use crate::config::AgentConfig;
use crate::error::{AgentError, Result};
use crate::learner::Metrics;
use acting::{Recorder, run_episode};
use bprl_envs::{Env, TaskFamily, TaskSplit};
use bprl_policy::ObservationSpec;
use bprl_replay::{RateLimiterConfig, Replay, ReplayConfig, StepSpec};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A training run: config, task family, learner, replay, environments, counters and history.
pub struct Trainer<T: TaskFamily> {
    /// The configuration.
    pub config: AgentConfig,
    /// The learner.
    pub learner: Learner,
    /// The replay.
    pub replay: Replay,
    /// Progress.
    pub counters: Counters,
    /// Every finished episode.
    pub history: Vec<EpisodeRecord>,
    /// Every evaluation.
    pub evals: Vec<EvalRecord>,
    family: T,
    split: TaskSplit,
    env: T::Env,
    eval_env: T::Env,
    spec: ObservationSpec,
    step_spec: StepSpec,
}

impl<T: TaskFamily> std::fmt::Debug for Trainer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trainer")
            .field("counters", &self.counters)
            .field("split", &self.split)
            .finish_non_exhaustive()
    }
}

impl<T: TaskFamily> Trainer<T> {
    /// A fresh run on the `split` tasks of `family` (training tasks, or held-out tasks for
    /// transfer).
    ///
    /// # Errors
    /// An invalid configuration, a prior group the environment lacks
    /// ([`crate::ConfigError::UnknownGroup`]), or an environment that cannot be built.
    pub fn new(config: AgentConfig, family: T, split: TaskSplit) -> Result<Self> {
        let env = family.make_env(split)?;
        let eval_env = family.make_env(split)?;
        let groups = env.observation_spec().to_vec();
        let spec = ObservationSpec::new(groups.clone())?;
        let action_dim = env.action_spec().dim;
        // Validates the configuration, its groups against the environment's spec included.
        let learner = Learner::new(&config, &spec, &env.action_spec())?;
        let extras = config
            .hierarchy
            .as_ref()
            .map(|h| vec![("latent".to_string(), h.latent_dim)])
            .unwrap_or_default();
        let step_spec = StepSpec::new(groups, action_dim, extras)?;
        let replay = Replay::new(
            step_spec.clone(),
            ReplayConfig {
                capacity: config.run.replay_capacity,
                sequence_length: config.learner.sequence_length,
                rate_limiter: RateLimiterConfig::min_size(config.run.min_replay as u64),
                seed: seeds::mix(config.run.seed, 0x7265_706c),
            },
        )?;
        Ok(Self {
            config,
            learner,
            replay,
            counters: Counters::default(),
            history: Vec::new(),
            evals: Vec::new(),
            family,
            split,
            env,
            eval_env,
            spec,
            step_spec,
        })
    }

    /// The observation spec of the environment.
    pub fn spec(&self) -> &ObservationSpec {
        &self.spec
    }

    /// The task family.
    pub fn family(&self) -> &T {
        &self.family
    }

    /// Which of the family's task sets the run trains on.
    pub fn split(&self) -> TaskSplit {
        self.split
    }

    /// Samples a batch and updates the learner once.
    ///
    /// # Errors
    /// Replay or learner errors.
    pub fn learn_once(&mut self) -> Result<Metrics> {
        let batch_size = self.config.learner.batch_size;
        sync::learn_once(&mut self.learner, &self.replay, &self.spec, batch_size)
    }

    /// Runs one training episode (acting, adding to replay, learning on schedule).
    ///
    /// # Errors
    /// Environment, replay or learner errors.
    pub fn run_episode(&mut self) -> Result<EpisodeRecord> {
        let episode = self.counters.episodes + 1;
        let (seed, mut rng) = seeds::episode_seeds(self.config.run.seed, episode);
        let mut host = sync::SyncHost {
            learner: &mut self.learner,
            replay: &self.replay,
            spec: &self.spec,
            run: &self.config.run,
            batch_size: self.config.learner.batch_size,
            counters: &mut self.counters,
            recorder: Recorder::new(&self.step_spec, self.config.learner.sequence_length)?,
            metrics: Metrics::default(),
            updates: 0,
        };
        let out = run_episode(&mut self.env, &mut host, seed, &mut rng)?;
        let (metrics, updates) = (host.metrics, host.updates);
        self.counters.episodes = episode;
        let record = EpisodeRecord {
            episode,
            env_steps: self.counters.env_steps,
            learner_steps: self.learner.steps(),
            episode_return: out.episode_return,
            success: out.success,
            length: out.length,
            metrics: metrics.mean_of(updates),
        };
        self.history.push(record);
        Ok(record)
    }

    /// Greedy evaluation on fixed seeds (the same every time), on the run's tasks.
    ///
    /// # Errors
    /// Environment errors.
    pub fn evaluate(&mut self, episodes: usize) -> Result<EvalRecord> {
        let stats = evaluate::evaluate(&self.learner, &mut self.eval_env, episodes)?;
        let r = EvalRecord {
            episode: self.counters.episodes,
            env_steps: self.counters.env_steps,
            mean_return: stats.mean_return,
            success_rate: stats.success_rate,
            discounted_return: stats.discounted_return,
            start: stats.start,
        };
        self.evals.push(r);
        Ok(r)
    }

    /// Evaluation with actions drawn from the policy (a fixed generator, so the same every
    /// time) on the same start states as [`Trainer::evaluate`]; not recorded in the history.
    ///
    /// # Errors
    /// Environment errors.
    pub fn evaluate_stochastic(&mut self, episodes: usize) -> Result<evaluate::EvalStats> {
        evaluate::evaluate_policy(&self.learner, &mut self.eval_env, episodes, false)
    }

    /// Trains synchronously until `run.env_steps`, evaluating and checkpointing on schedule.
    /// `on_episode` sees every record (for progress and metrics files). Checkpoints need a
    /// family that can be saved with the run ([`Trainer::save`]).
    ///
    /// # Errors
    /// Any error of an episode, an evaluation or a checkpoint.
    pub fn train(
        &mut self,
        checkpoint_dir: Option<&Path>,
        on_episode: &mut dyn FnMut(&EpisodeRecord, Option<&EvalRecord>),
    ) -> Result<()>
    where
        T: Serialize,
    {
        let run = self.config.run.clone();
        while self.counters.env_steps < run.env_steps {
            let rec = self.run_episode()?;
            let eval = if run.eval_every_episodes > 0 && rec.episode % run.eval_every_episodes == 0
            {
                Some(self.evaluate(run.eval_episodes)?)
            } else {
                None
            };
            on_episode(&rec, eval.as_ref());
            if let Some(dir) = checkpoint_dir
                && run.checkpoint_every_episodes > 0
                && rec.episode % run.checkpoint_every_episodes == 0
            {
                self.save(dir)?;
            }
        }
        if let Some(dir) = checkpoint_dir {
            self.save(dir)?;
        }
        Ok(())
    }

    /// Threaded mode: `run.actor_threads` actors (each with its own environment from the
    /// family) and one learner around a rate-limited replay until `run.env_steps`. Faster on
    /// several cores but not bit-reproducible (thread interleaving decides which data each
    /// update sees). The learner, the step and episode counters carry over to checkpoints; the
    /// threaded replay (with its samples-per-insert limiter) does not: a checkpoint written
    /// after this mode holds the synchronous replay.
    ///
    /// # Errors
    /// The first error of any thread, or an environment that cannot be built.
    pub fn train_threaded(&mut self) -> Result<()>
    where
        T::Env: Send,
    {
        let envs = (0..self.config.run.actor_threads.max(1))
            .map(|_| self.family.make_env(self.split))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        threaded::Threaded {
            config: &self.config,
            learner: &mut self.learner,
            counters: &mut self.counters,
            spec: &self.spec,
            step_spec: &self.step_spec,
            envs,
        }
        .run()
    }

    /// Writes a checkpoint into `dir` (created if needed): the configuration, the task family
    /// and split, the learner, the counters, the history and the replay.
    ///
    /// # Errors
    /// [`AgentError::Checkpoint`].
    pub fn save(&self, dir: &Path) -> Result<()>
    where
        T: Serialize,
    {
        std::fs::create_dir_all(dir).map_err(|e| AgentError::Checkpoint {
            path: dir.to_path_buf(),
            reason: e.to_string(),
        })?;
        let (state_path, replay_path) = checkpoint::files(dir, self.counters.episodes);
        let state = StateRef {
            config: &self.config,
            family: &self.family,
            split: self.split,
            learner: &self.learner,
            counters: &self.counters,
            history: &self.history,
            evals: &self.evals,
        };
        checkpoint::write_atomic(&state_path, &checkpoint::encode(&state, &state_path)?)?;
        self.replay.save(&replay_path)?;
        checkpoint::commit(dir, self.counters.episodes)
    }

    /// Resumes the run whose newest checkpoint is in `dir`, with the task family saved in it.
    ///
    /// # Errors
    /// [`AgentError::Checkpoint`] for a missing, truncated or corrupted checkpoint; replay
    /// snapshot errors; an environment that cannot be built.
    pub fn load(dir: &Path) -> Result<Self>
    where
        T: DeserializeOwned,
    {
        let episode = checkpoint::latest(dir)?;
        let (state_path, replay_path) = checkpoint::files(dir, episode);
        let bytes = std::fs::read(&state_path).map_err(|e| AgentError::Checkpoint {
            path: state_path.clone(),
            reason: e.to_string(),
        })?;
        let state: State<T> = checkpoint::decode(&bytes, &state_path)?;
        let mut t = Trainer::new(state.config, state.family, state.split)?;
        if !t.learner.same_architecture(&state.learner) {
            return Err(AgentError::Checkpoint {
                path: state_path,
                reason: "the saved learner does not fit the task family's environment".into(),
            });
        }
        t.learner = state.learner;
        t.counters = state.counters;
        t.history = state.history;
        t.evals = state.evals;
        t.replay = Replay::load(&replay_path)?;
        Ok(t)
    }
}

#[derive(Deserialize)]
struct State<T> {
    config: AgentConfig,
    family: T,
    split: TaskSplit,
    learner: Learner,
    counters: Counters,
    history: Vec<EpisodeRecord>,
    evals: Vec<EvalRecord>,
}

#[derive(Serialize)]
struct StateRef<'a, T> {
    config: &'a AgentConfig,
    family: &'a T,
    split: TaskSplit,
    learner: &'a Learner,
    counters: &'a Counters,
    history: &'a Vec<EpisodeRecord>,
    evals: &'a Vec<EvalRecord>,
}
