//! The actor/learner loop on any environment: synchronous (seeded, bit-reproducible) or
//! threaded, with evaluation, metrics and checkpoints.
//!
//! A [`Trainer`] takes a [`TaskFamily`] (any [`bprl_envs::Env`] with its training and held-out
//! tasks) and an [`AgentConfig`], whose prior groups are checked against the environment's
//! observation spec.
//!
//! | module | what |
//! |---|---|
//! | [`acting`] | the one acting loop and the recorder of replay items every mode uses |
//! | `sync` | the synchronous mode: learning on schedule between steps |
//! | [`threaded`] | the threaded mode: actor threads and a rate-limited replay |
//! | [`evaluate`] | greedy evaluation on fixed start states |
//! | `records` | what a run reports: counters, episode and evaluation records |
//! | [`seeds`] | every seed the loop derives from `run.seed` |

pub mod acting;
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
    /// The run's id: a fingerprint of the configuration and split the run was created with
    /// ([`run_id_of`]), kept in every checkpoint so that a state of another run is refused.
    pub run_id: u64,
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
        let spec = ObservationSpec::new(env.observation_spec().to_vec())?;
        // Validates the configuration, its groups against the environment's spec included.
        let learner = Learner::new(&config, &spec, &env.action_spec())?;
        let step_spec = step_spec_of(&config, &env)?;
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
            run_id: run_id_of(&config, split),
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
    /// `on_episode` sees every record (for progress and metrics files) before the checkpoint
    /// that may follow it; an error it returns stops the run there (the last good checkpoint
    /// stays). Checkpoints need a family that can be saved with the run ([`Trainer::save`]).
    ///
    /// # Errors
    /// Any error of an episode, an evaluation, a checkpoint or of `on_episode`.
    pub fn train(
        &mut self,
        checkpoint_dir: Option<&Path>,
        on_episode: &mut dyn FnMut(&EpisodeRecord, Option<&EvalRecord>) -> Result<()>,
    ) -> Result<()>
    where
        T: Serialize,
    {
        let run = self.config.run.clone();
        let sync = RateLimiterConfig::min_size(run.min_replay as u64);
        if self.replay.config().rate_limiter != sync {
            // Resumed from a threaded run: the same items under the synchronous limiter.
            self.replay = self.replay.with_rate_limiter(sync)?;
        }
        while self.counters.env_steps < run.env_steps {
            let rec = self.run_episode()?;
            let eval = if run.eval_every_episodes > 0 && rec.episode % run.eval_every_episodes == 0
            {
                Some(self.evaluate(run.eval_episodes)?)
            } else {
                None
            };
            on_episode(&rec, eval.as_ref())?;
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
    /// update sees).
    ///
    /// As durable as [`Trainer::train`]: every finished episode (of any actor, numbered in
    /// the order they finish) goes to `on_episode` with its evaluation on the same schedule,
    /// and a checkpoint holding the learner, the counters, the history *and the threaded
    /// replay* is written into `checkpoint_dir` every `run.checkpoint_every_episodes` episodes
    /// and at the end. A crash loses at most the episodes since the last checkpoint and the
    /// episodes the actors had in progress. `on_stall` hears when the rate limiter has held the
    /// actors or the learner for `run.stall_warning_secs` (an error it returns stops the run).
    ///
    /// # Errors
    /// The first error of any thread, of `on_episode` or of a checkpoint (the run stops
    /// there), or an environment that cannot be built.
    pub fn train_threaded(
        &mut self,
        checkpoint_dir: Option<&Path>,
        on_episode: &mut dyn FnMut(&EpisodeRecord, Option<&EvalRecord>) -> Result<()>,
        on_stall: &mut dyn FnMut(&str) -> Result<()>,
    ) -> Result<()>
    where
        T::Env: Send,
        T: Serialize,
    {
        let envs = (0..self.config.run.actor_threads.max(1))
            .map(|_| self.family.make_env(self.split))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let replay = self
            .replay
            .with_rate_limiter(threaded::threaded_limiter(&self.config))?;
        let mut books = ThreadedBooks {
            checkpoint_dir,
            on_episode,
            on_stall,
            run_id: self.run_id,
            config: &self.config,
            family: &self.family,
            split: self.split,
            history: &mut self.history,
            evals: &mut self.evals,
            eval_env: &mut self.eval_env,
        };
        let result = threaded::Threaded {
            config: &self.config,
            learner: &mut self.learner,
            counters: &mut self.counters,
            spec: &self.spec,
            step_spec: &self.step_spec,
            replay: &replay,
            envs,
        }
        .run(&mut books);
        // The replay goes on with the run (and into its final checkpoint), shut down or not.
        self.replay = replay.with_rate_limiter(self.replay.config().rate_limiter)?;
        result?;
        if let Some(dir) = checkpoint_dir {
            self.save(dir)?;
        }
        Ok(())
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
        self.save_with(dir, &[])
    }

    /// [`Trainer::save`] with `sidecar` bytes stored inside the state file (covered by its
    /// checksum, so committed together with the learner and replay): the state of whatever
    /// drives the trainer from outside, e.g. a distributed learner's stream position and
    /// ledger. [`Trainer::load_with`] gives them back.
    ///
    /// # Errors
    /// [`AgentError::Checkpoint`].
    pub fn save_with(&self, dir: &Path, sidecar: &[u8]) -> Result<()>
    where
        T: Serialize,
    {
        let state = StateRef {
            sidecar,
            run_id: self.run_id,
            replay_digest: 0,
            config: &self.config,
            family: &self.family,
            split: self.split,
            learner: &self.learner,
            counters: &self.counters,
            history: &self.history,
            evals: &self.evals,
        };
        save_parts(dir, state, &self.replay)
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
        Ok(Self::load_with(dir)?.0)
    }

    /// [`Trainer::load`], with the sidecar bytes [`Trainer::save_with`] stored (empty for a
    /// checkpoint written by [`Trainer::save`]).
    ///
    /// # Errors
    /// As [`Trainer::load`].
    pub fn load_with(dir: &Path) -> Result<(Self, Vec<u8>)>
    where
        T: DeserializeOwned,
    {
        checkpoint::remove_temporaries(dir)?;
        let latest = checkpoint::latest_entry(dir)?;
        let (episode, run_id) = (latest.episode, latest.run_id);
        let (state_path, replay_path) = latest.files(dir);
        let bytes = std::fs::read(&state_path).map_err(|e| AgentError::Checkpoint {
            path: state_path.clone(),
            reason: e.to_string(),
        })?;
        let state: State<T> = decode_state(&bytes, &state_path, episode, run_id)?;
        let replay_bytes = std::fs::read(&replay_path).map_err(|e| AgentError::Checkpoint {
            path: replay_path.clone(),
            reason: e.to_string(),
        })?;
        let digest = checkpoint::fnv1a(&replay_bytes);
        if digest != state.replay_digest {
            return Err(checkpoint::mismatch(
                &replay_path,
                "replay digest",
                format!(
                    "{:016x} (recorded in {})",
                    state.replay_digest,
                    state_path.display()
                ),
                format!("{digest:016x}"),
            ));
        }
        let mut t = Trainer::new(state.config, state.family, state.split)?;
        if let Some(e) = t.learner.architecture_mismatch(
            &state.learner,
            &format!("checkpoint {}", state_path.display()),
        ) {
            return Err(e);
        }
        t.run_id = state.run_id;
        t.learner = state.learner;
        t.counters = state.counters;
        t.history = state.history;
        t.evals = state.evals;
        t.replay = Replay::from_snapshot_bytes(&replay_bytes, &replay_path)?;
        Ok((t, state.sidecar))
    }
}

/// What a checkpoint's state file says about itself ([`inspect_state`]).
#[derive(Debug, Clone, PartialEq)]
pub struct StateInfo {
    /// The run id.
    pub run_id: u64,
    /// The counters.
    pub counters: Counters,
    /// The digest the replay file written with it must have.
    pub replay_digest: u64,
    /// Records in its history.
    pub history: usize,
    /// Records of evaluations.
    pub evals: usize,
}

/// Decodes a state file's bytes (the checked format of [`crate::checkpoint`]) and checks it
/// against the episode and run id its name and `LATEST` give (`None`: unchecked), without
/// building the learner's environment: the checkpoint decoder the fuzz targets drive. Never
/// panics, whatever the bytes.
///
/// # Errors
/// [`AgentError::Checkpoint`] for a bad header, checksum or payload;
/// [`AgentError::CheckpointMismatch`] for a run id or episode other than expected, or a
/// history that does not hold one record per episode; [`AgentError::Config`] for an invalid
/// configuration inside.
pub fn inspect_state<T: DeserializeOwned>(
    bytes: &[u8],
    path: &Path,
    expected: Option<(u64, u64)>,
) -> Result<StateInfo> {
    let state: State<T> = match expected {
        Some((episode, run_id)) => decode_state(bytes, path, episode, run_id)?,
        None => {
            let s: State<T> = checkpoint::decode(bytes, path)?;
            check_state(&s, path, s.counters.episodes, s.run_id)?;
            s
        }
    };
    Ok(StateInfo {
        run_id: state.run_id,
        counters: state.counters,
        replay_digest: state.replay_digest,
        history: state.history.len(),
        evals: state.evals.len(),
    })
}

/// Decodes a state and checks it belongs to `episode` of run `run_id`.
fn decode_state<T: DeserializeOwned>(
    bytes: &[u8],
    path: &Path,
    episode: u64,
    run_id: u64,
) -> Result<State<T>> {
    let state: State<T> = checkpoint::decode(bytes, path)?;
    check_state(&state, path, episode, run_id)?;
    Ok(state)
}

fn check_state<T>(state: &State<T>, path: &Path, episode: u64, run_id: u64) -> Result<()> {
    if state.run_id != run_id {
        return Err(checkpoint::mismatch(
            path,
            "run id",
            format!("{run_id:016x} (LATEST)"),
            format!("{:016x}", state.run_id),
        ));
    }
    if state.counters.episodes != episode {
        return Err(checkpoint::mismatch(
            path,
            "episode counter",
            episode,
            state.counters.episodes,
        ));
    }
    if state.history.len() as u64 != episode {
        return Err(checkpoint::mismatch(
            path,
            "episode history length",
            episode,
            state.history.len(),
        ));
    }
    state.config.validate()?;
    Ok(())
}

/// Writes the checkpoint of `state` and `replay` into `dir` (created if needed): state file,
/// replay file, then `LATEST` (the state records the replay file's digest).
fn save_parts<T: Serialize>(dir: &Path, mut state: StateRef<'_, T>, replay: &Replay) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| AgentError::Checkpoint {
        path: dir.to_path_buf(),
        reason: e.to_string(),
    })?;
    let episode = state.counters.episodes;
    let replay_bytes = replay.to_snapshot_bytes(&dir.join("replay.snap"))?;
    let digest = checkpoint::fnv1a(&replay_bytes);
    state.replay_digest = digest;
    let (state_path, replay_path) = checkpoint::files(dir, episode, digest);
    checkpoint::write_atomic(&state_path, &checkpoint::encode(&state, &state_path)?)?;
    checkpoint::write_atomic(&replay_path, &replay_bytes)?;
    checkpoint::commit(dir, episode, state.run_id, digest)
}

/// The threaded mode's books: history, evaluations, the caller's callbacks and checkpoints.
struct ThreadedBooks<'a, T: TaskFamily> {
    checkpoint_dir: Option<&'a Path>,
    on_episode: &'a mut dyn FnMut(&EpisodeRecord, Option<&EvalRecord>) -> Result<()>,
    on_stall: &'a mut dyn FnMut(&str) -> Result<()>,
    run_id: u64,
    config: &'a AgentConfig,
    family: &'a T,
    split: TaskSplit,
    history: &'a mut Vec<EpisodeRecord>,
    evals: &'a mut Vec<EvalRecord>,
    eval_env: &'a mut T::Env,
}

impl<T: TaskFamily + Serialize> threaded::Bookkeeper for ThreadedBooks<'_, T> {
    fn episode(
        &mut self,
        learner: &Learner,
        replay: &Replay,
        record: EpisodeRecord,
        counters: &Counters,
    ) -> Result<()> {
        let run = &self.config.run;
        self.history.push(record);
        let eval = if run.eval_every_episodes > 0
            && record.episode.is_multiple_of(run.eval_every_episodes)
        {
            let stats = evaluate::evaluate(learner, self.eval_env, run.eval_episodes)?;
            let r = EvalRecord {
                episode: counters.episodes,
                env_steps: counters.env_steps,
                mean_return: stats.mean_return,
                success_rate: stats.success_rate,
                discounted_return: stats.discounted_return,
                start: stats.start,
            };
            self.evals.push(r);
            Some(r)
        } else {
            None
        };
        (self.on_episode)(&record, eval.as_ref())?;
        if let Some(dir) = self.checkpoint_dir
            && run.checkpoint_every_episodes > 0
            && record.episode.is_multiple_of(run.checkpoint_every_episodes)
        {
            let state = StateRef {
                sidecar: &[],
                run_id: self.run_id,
                replay_digest: 0,
                config: self.config,
                family: self.family,
                split: self.split,
                learner,
                counters,
                history: self.history,
                evals: self.evals,
            };
            save_parts(dir, state, replay)?;
        }
        Ok(())
    }

    fn stalled(&mut self, message: &str) -> Result<()> {
        (self.on_stall)(message)
    }
}

/// The replay step layout of a run of `config` on `env`: the environment's observation groups,
/// its action width and, for Algorithm 2, the `latent` extra each step stores. What the
/// trainer's replay holds and what an actor elsewhere must record.
///
/// # Errors
/// Empty or duplicate groups.
pub fn step_spec_of<E: Env + ?Sized>(config: &AgentConfig, env: &E) -> Result<StepSpec> {
    let extras = config
        .hierarchy
        .as_ref()
        .map(|h| vec![("latent".to_string(), h.latent_dim)])
        .unwrap_or_default();
    Ok(StepSpec::new(
        env.observation_spec().to_vec(),
        env.action_spec().dim,
        extras,
    )?)
}

/// The run id of a fresh run: FNV-1a 64 of the configuration and split (postcard-encoded).
/// Deterministic, so that two runs of the same configuration and seed, which are
/// bit-identical, also write identical checkpoints; a run keeps the id it was created with
/// when `--steps` later extends it.
pub fn run_id_of(config: &AgentConfig, split: TaskSplit) -> u64 {
    let mut bytes = postcard::to_allocvec(config).unwrap_or_default();
    bytes.push(match split {
        TaskSplit::Train => 0,
        TaskSplit::HeldOut => 1,
    });
    checkpoint::fnv1a(&bytes)
}

#[derive(Deserialize)]
struct State<T> {
    run_id: u64,
    replay_digest: u64,
    config: AgentConfig,
    family: T,
    split: TaskSplit,
    learner: Learner,
    counters: Counters,
    history: Vec<EpisodeRecord>,
    evals: Vec<EvalRecord>,
    sidecar: Vec<u8>,
}

#[derive(Serialize)]
struct StateRef<'a, T> {
    run_id: u64,
    replay_digest: u64,
    config: &'a AgentConfig,
    family: &'a T,
    split: TaskSplit,
    learner: &'a Learner,
    counters: &'a Counters,
    history: &'a Vec<EpisodeRecord>,
    evals: &'a Vec<EvalRecord>,
    sidecar: &'a [u8],
}
