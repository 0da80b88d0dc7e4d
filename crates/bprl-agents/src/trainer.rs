//! The actor/learner loop: synchronous (seeded, bit-reproducible) or threaded, with
//! evaluation, metrics and checkpoints.

use crate::actor::Action;
use crate::batch::LearnerBatch;
use crate::checkpoint;
use crate::config::AgentConfig;
use crate::error::{AgentError, Result};
use crate::flat::Metrics;
use crate::learner::Learner;
use bprl_envs::{Env, EpisodeEnd, Suite, SuiteEnv, Task};
use bprl_policy::ObservationSpec;
use bprl_replay::{
    RateLimiterConfig, Replay, ReplayConfig, SequenceAdder, Step, StepKind, StepSpec,
};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// Progress counters (part of a checkpoint).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Counters {
    /// Environment steps taken.
    pub env_steps: u64,
    /// Episodes finished.
    pub episodes: u64,
    /// Fractional learner updates owed (synchronous mode).
    pub update_credit: f64,
}

/// One training episode.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EpisodeRecord {
    /// Episode index (1-based).
    pub episode: u64,
    /// Environment steps after it.
    pub env_steps: u64,
    /// Learner steps after it.
    pub learner_steps: u64,
    /// Undiscounted return.
    pub episode_return: f64,
    /// Whether the task was completed (terminated).
    pub success: bool,
    /// Steps in the episode.
    pub length: u64,
    /// Mean learner metrics over the episode's updates.
    pub metrics: Metrics,
}

/// One evaluation (greedy policy, fixed seeds).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EvalRecord {
    /// Episodes of training before it.
    pub episode: u64,
    /// Environment steps of training before it.
    pub env_steps: u64,
    /// Mean return.
    pub mean_return: f64,
    /// Fraction of episodes that completed the task.
    pub success_rate: f64,
}

#[derive(Serialize, Deserialize)]
struct State {
    config: AgentConfig,
    learner: Learner,
    counters: Counters,
    history: Vec<EpisodeRecord>,
    evals: Vec<EvalRecord>,
    held_out: bool,
}

/// Which tasks the run trains on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tasks {
    /// The suite's training tasks (multi-task).
    Train,
    /// The held-out tasks (transfer).
    HeldOut,
}

fn mix(a: u64, b: u64) -> u64 {
    let mut z = a ^ b.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A training run: config, learner, replay, environments, counters and history.
pub struct Trainer {
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
    env: SuiteEnv,
    eval_env: SuiteEnv,
    spec: ObservationSpec,
    step_spec: StepSpec,
    held_out: bool,
}

impl std::fmt::Debug for Trainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trainer")
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

fn suite(config: &AgentConfig) -> Suite {
    Suite::new(config.env.body, config.env.targets.clone())
}

fn envs(config: &AgentConfig, tasks: Tasks) -> Result<(SuiteEnv, SuiteEnv, Vec<Task>)> {
    let s = suite(config);
    let (env, list) = match tasks {
        Tasks::Train => (s.train_env()?, s.train.clone()),
        Tasks::HeldOut => (s.held_out_env()?, s.held_out.clone()),
    };
    Ok((env.clone(), env, list))
}

impl Trainer {
    /// A fresh run.
    ///
    /// # Errors
    /// An invalid configuration.
    pub fn new(config: AgentConfig, tasks: Tasks) -> Result<Self> {
        config.validate()?;
        let (env, eval_env, _) = envs(&config, tasks)?;
        let groups = env.observation_spec().to_vec();
        let spec = ObservationSpec::new(groups.clone())?;
        let action_dim = env.action_spec().dim;
        let learner = Learner::new(&config, &spec, action_dim)?;
        let extras = config
            .hierarchy
            .map(|h| vec![("latent".to_string(), h.latent_dim)])
            .unwrap_or_default();
        let step_spec = StepSpec::new(groups, action_dim, extras)?;
        let replay = Replay::new(
            step_spec.clone(),
            ReplayConfig {
                capacity: config.run.replay_capacity,
                sequence_length: config.learner.sequence_length,
                rate_limiter: RateLimiterConfig::min_size(config.run.min_replay as u64),
                seed: mix(config.run.seed, 0x7265_706c),
            },
        )?;
        Ok(Self {
            config,
            learner,
            replay,
            counters: Counters::default(),
            history: Vec::new(),
            evals: Vec::new(),
            env,
            eval_env,
            spec,
            step_spec,
            held_out: tasks == Tasks::HeldOut,
        })
    }

    /// The observation spec.
    pub fn spec(&self) -> &ObservationSpec {
        &self.spec
    }

    /// The replay step for observation `obs`: with the action taken there and the reward and
    /// discount that followed, or `None` for an episode's final observation.
    fn replay_step(
        &self,
        obs: &[Vec<f32>],
        taken: Option<(Action, f32, f32)>,
        kind: StepKind,
    ) -> Step {
        let observation: BTreeMap<String, Vec<f32>> = self
            .spec
            .groups()
            .iter()
            .map(|(n, _)| n.clone())
            .zip(obs.iter().cloned())
            .collect();
        let Some((a, reward, discount)) = taken else {
            return Step {
                observation,
                action: Vec::new(),
                reward: 0.0,
                discount: 0.0,
                log_prob: 0.0,
                extras: BTreeMap::new(),
                kind,
            };
        };
        let extras = match a.latent {
            Some(z) => BTreeMap::from([("latent".to_string(), z)]),
            None => self
                .step_spec
                .extras()
                .iter()
                .map(|(n, w)| (n.clone(), vec![0.0; *w]))
                .collect(),
        };
        Step {
            observation,
            action: a.action,
            reward,
            discount,
            log_prob: a.log_prob,
            extras,
            kind,
        }
    }

    /// Samples a batch and updates the learner once.
    ///
    /// # Errors
    /// Replay or learner errors.
    pub fn learn_once(&mut self) -> Result<Metrics> {
        let b = self
            .replay
            .sample(self.config.learner.batch_size, Some(Duration::ZERO))?;
        let batch = LearnerBatch::from_replay(&b, &self.spec)?;
        self.learner.update(&batch)
    }

    /// Runs one training episode (acting, adding to replay, learning on schedule).
    ///
    /// # Errors
    /// Environment, replay or learner errors.
    pub fn run_episode(&mut self) -> Result<EpisodeRecord> {
        let episode = self.counters.episodes + 1;
        let seed = mix(self.config.run.seed, episode);
        let mut rng = StdRng::seed_from_u64(mix(seed, 1));
        let mut adder =
            SequenceAdder::new(self.step_spec.clone(), self.config.learner.sequence_length)?;
        let mut actor = self.learner.actor()?;
        let mut ts = self.env.reset(seed);
        let (mut ret, mut length, mut success) = (0.0f64, 0u64, false);
        let (mut sum, mut updates) = (Metrics::default(), 0u32);
        loop {
            let obs = ts.flat_observation();
            let a = self
                .learner
                .act(&mut actor, &obs, length == 0, false, &mut rng)?;
            let next = self.env.step(&a.action)?;
            let kind = if length == 0 {
                StepKind::First
            } else {
                StepKind::Mid
            };
            let step =
                self.replay_step(&ts.observation, Some((a, next.reward, next.discount)), kind);
            let mut items = adder.add(&step)?;
            ret += f64::from(next.reward);
            length += 1;
            self.counters.env_steps += 1;
            if next.is_last() {
                success = next.end == Some(EpisodeEnd::Terminated);
                let last = self.replay_step(&next.observation, None, StepKind::Last);
                items.extend(adder.add(&last)?);
            }
            for item in items {
                self.replay.insert(item, Some(Duration::ZERO))?;
            }
            self.counters.update_credit += self.config.run.updates_per_env_step;
            while self.counters.update_credit >= 1.0
                && self.replay.len() >= self.config.run.min_replay
            {
                let m = self.learn_once()?;
                accumulate(&mut sum, &m);
                updates += 1;
                self.counters.update_credit -= 1.0;
            }
            if next.is_last() {
                break;
            }
            ts = next;
        }
        self.counters.episodes = episode;
        let record = EpisodeRecord {
            episode,
            env_steps: self.counters.env_steps,
            learner_steps: self.learner.steps(),
            episode_return: ret,
            success,
            length,
            metrics: scale(sum, updates),
        };
        self.history.push(record);
        Ok(record)
    }

    /// Greedy evaluation on fixed seeds (the same every time), on the run's tasks.
    ///
    /// # Errors
    /// Environment errors.
    pub fn evaluate(&mut self, episodes: usize) -> Result<EvalRecord> {
        let mut rng = StdRng::seed_from_u64(0);
        let (mut total, mut successes) = (0.0, 0usize);
        for e in 0..episodes {
            let mut actor = self.learner.actor()?;
            let mut ts = self.eval_env.reset(mix(0xE7A1, e as u64));
            let mut first = true;
            loop {
                let a =
                    self.learner
                        .act(&mut actor, &ts.flat_observation(), first, true, &mut rng)?;
                first = false;
                ts = self.eval_env.step(&a.action)?;
                total += f64::from(ts.reward);
                if ts.is_last() {
                    successes += usize::from(ts.end == Some(EpisodeEnd::Terminated));
                    break;
                }
            }
        }
        let r = EvalRecord {
            episode: self.counters.episodes,
            env_steps: self.counters.env_steps,
            mean_return: total / episodes.max(1) as f64,
            success_rate: successes as f64 / episodes.max(1) as f64,
        };
        self.evals.push(r);
        Ok(r)
    }

    /// Trains synchronously until `run.env_steps`, evaluating and checkpointing on schedule.
    /// `on_episode` sees every record (for progress and metrics files).
    ///
    /// # Errors
    /// Any error of an episode, an evaluation or a checkpoint.
    pub fn train(
        &mut self,
        checkpoint_dir: Option<&Path>,
        on_episode: &mut dyn FnMut(&EpisodeRecord, Option<&EvalRecord>),
    ) -> Result<()> {
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

    /// Writes a checkpoint into `dir` (created if needed).
    ///
    /// # Errors
    /// [`AgentError::Checkpoint`].
    pub fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| AgentError::Checkpoint {
            path: dir.to_path_buf(),
            reason: e.to_string(),
        })?;
        let (state_path, replay_path) = checkpoint::files(dir, self.counters.episodes);
        let state = StateRef {
            config: &self.config,
            learner: &self.learner,
            counters: &self.counters,
            history: &self.history,
            evals: &self.evals,
            held_out: self.held_out,
        };
        checkpoint::write_atomic(&state_path, &checkpoint::encode(&state, &state_path)?)?;
        self.replay.save(&replay_path)?;
        checkpoint::commit(dir, self.counters.episodes)
    }

    /// Resumes the run whose newest checkpoint is in `dir`.
    ///
    /// # Errors
    /// [`AgentError::Checkpoint`] for a missing, truncated or corrupted checkpoint; replay
    /// snapshot errors.
    pub fn load(dir: &Path) -> Result<Self> {
        let episode = checkpoint::latest(dir)?;
        let (state_path, replay_path) = checkpoint::files(dir, episode);
        let bytes = std::fs::read(&state_path).map_err(|e| AgentError::Checkpoint {
            path: state_path.clone(),
            reason: e.to_string(),
        })?;
        let state: State = checkpoint::decode(&bytes, &state_path)?;
        let tasks = if state.held_out {
            Tasks::HeldOut
        } else {
            Tasks::Train
        };
        let mut t = Trainer::new(state.config, tasks)?;
        t.learner = state.learner;
        t.counters = state.counters;
        t.history = state.history;
        t.evals = state.evals;
        t.replay = Replay::load(&replay_path)?;
        Ok(t)
    }

    /// Threaded mode: `run.actor_threads` actors and one learner around the rate-limited
    /// replay until `run.env_steps`. Faster on several cores but not bit-reproducible (thread
    /// interleaving decides which data each update sees). The learner, the step and episode
    /// counters carry over to checkpoints; the threaded replay (with its samples-per-insert
    /// limiter) does not: a checkpoint written after this mode holds the synchronous replay.
    ///
    /// # Errors
    /// The first error of any thread.
    pub fn train_threaded(&mut self) -> Result<()> {
        let threads = self.config.run.actor_threads.max(1);
        let budget = self.config.run.env_steps;
        let replay = Replay::new(
            self.step_spec.clone(),
            ReplayConfig {
                capacity: self.config.run.replay_capacity,
                sequence_length: self.config.learner.sequence_length,
                rate_limiter: RateLimiterConfig {
                    min_size_to_sample: self.config.run.min_replay as u64,
                    samples_per_insert: self.config.run.samples_per_insert,
                    error_buffer: (self.config.run.samples_per_insert
                        + self.config.learner.batch_size as f64)
                        * 4.0,
                },
                seed: mix(self.config.run.seed, 0x7468),
            },
        )?;
        let shared = Arc::new(RwLock::new(std::mem::replace(
            &mut self.learner,
            Learner::new(&self.config, &self.spec, 1)?,
        )));
        let steps = Arc::new(AtomicU64::new(self.counters.env_steps));
        let episodes = Arc::new(AtomicU64::new(self.counters.episodes));
        let stop = Arc::new(AtomicBool::new(false));
        let mut handles = Vec::new();
        for i in 0..threads {
            let (replay, shared, steps, stop, episodes) = (
                replay.clone(),
                shared.clone(),
                steps.clone(),
                stop.clone(),
                episodes.clone(),
            );
            let (mut env, spec, step_spec, seq_len, seed) = (
                self.env.clone(),
                self.spec.clone(),
                self.step_spec.clone(),
                self.config.learner.sequence_length,
                mix(self.config.run.seed, 1000 + i as u64),
            );
            handles.push(std::thread::spawn(move || -> Result<()> {
                let mut rng = StdRng::seed_from_u64(seed);
                let mut episode = 0u64;
                while !stop.load(Ordering::Relaxed) && steps.load(Ordering::Relaxed) < budget {
                    episode += 1;
                    let mut adder = SequenceAdder::new(step_spec.clone(), seq_len)?;
                    let mut actor = shared
                        .read()
                        .map_err(|_| AgentError::Shape("poisoned learner".into()))?
                        .actor()?;
                    let mut ts = env.reset(mix(seed, episode));
                    let mut first = true;
                    loop {
                        let a = shared
                            .read()
                            .map_err(|_| AgentError::Shape("poisoned learner".into()))?
                            .act(&mut actor, &ts.flat_observation(), first, false, &mut rng)?;
                        let next = env.step(&a.action)?;
                        let names = spec.groups().iter().map(|(n, _)| n.clone());
                        let extras = match a.latent {
                            Some(z) => BTreeMap::from([("latent".to_string(), z)]),
                            None => BTreeMap::new(),
                        };
                        let kind = if first {
                            StepKind::First
                        } else {
                            StepKind::Mid
                        };
                        let step = Step {
                            observation: names
                                .clone()
                                .zip(ts.observation.iter().cloned())
                                .collect(),
                            action: a.action,
                            reward: next.reward,
                            discount: next.discount,
                            log_prob: a.log_prob,
                            extras,
                            kind,
                        };
                        let mut items = adder.add(&step)?;
                        if next.is_last() {
                            let last = Step {
                                observation: names.zip(next.observation.iter().cloned()).collect(),
                                action: vec![],
                                reward: 0.0,
                                discount: 0.0,
                                log_prob: 0.0,
                                extras: BTreeMap::new(),
                                kind: StepKind::Last,
                            };
                            items.extend(adder.add(&last)?);
                        }
                        for item in items {
                            match replay.insert(item, None) {
                                Err(bprl_replay::ReplayError::Shutdown) => return Ok(()),
                                r => r?,
                            }
                        }
                        steps.fetch_add(1, Ordering::Relaxed);
                        first = false;
                        if next.is_last() {
                            episodes.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                        ts = next;
                    }
                }
                Ok(())
            }));
        }
        let spec = self.spec.clone();
        let batch_size = self.config.learner.batch_size;
        let mut learner_result = Ok(());
        while steps.load(Ordering::Relaxed) < budget {
            match replay.sample(batch_size, Some(Duration::from_millis(50))) {
                Ok(b) => {
                    let batch = LearnerBatch::from_replay(&b, &spec)?;
                    let r = shared
                        .write()
                        .map_err(|_| AgentError::Shape("poisoned learner".into()))?
                        .update(&batch);
                    if let Err(e) = r {
                        learner_result = Err(e);
                        break;
                    }
                }
                Err(bprl_replay::ReplayError::Timeout { .. }) => {
                    if handles.iter().all(|h| h.is_finished()) {
                        break;
                    }
                }
                Err(e) => {
                    learner_result = Err(e.into());
                    break;
                }
            }
        }
        stop.store(true, Ordering::Relaxed);
        replay.shutdown();
        let mut first_err = learner_result;
        for h in handles {
            let r = h
                .join()
                .unwrap_or_else(|_| Err(AgentError::Shape("an actor thread panicked".into())));
            if first_err.is_ok() {
                first_err = r;
            }
        }
        self.counters.env_steps = steps.load(Ordering::Relaxed);
        self.counters.episodes = episodes.load(Ordering::Relaxed);
        self.learner = Arc::try_unwrap(shared)
            .map_err(|_| AgentError::Shape("learner still shared".into()))?
            .into_inner()
            .map_err(|_| AgentError::Shape("poisoned learner".into()))?;
        first_err
    }

    /// Rolls out the learned prior from the start state of `seed` (for the fan-out picture):
    /// effector paths, and the target layout.
    ///
    /// # Errors
    /// Environment errors; `None` paths when the prior is not learned.
    pub fn prior_rollouts(
        &mut self,
        seed: u64,
        rollouts: usize,
        steps: usize,
    ) -> Result<PriorRollouts> {
        let mut rng = StdRng::seed_from_u64(mix(seed, 99));
        let mut paths = Vec::new();
        let mut env = self.eval_env.clone();
        for _ in 0..rollouts {
            let mut ts = env.reset(seed);
            let mut path = vec![env.effector()];
            for _ in 0..steps {
                let Some(a) = self.learner.act_prior(&ts.flat_observation(), &mut rng)? else {
                    return Ok(PriorRollouts {
                        targets: env.targets().to_vec(),
                        paths: Vec::new(),
                    });
                };
                ts = env.step(&a)?;
                path.push(env.effector());
                if ts.is_last() {
                    break;
                }
            }
            paths.push(path);
        }
        Ok(PriorRollouts {
            targets: env.targets().to_vec(),
            paths,
        })
    }
}

/// Effector paths of prior rollouts and the target layout they ran in.
#[derive(Debug, Clone, PartialEq)]
pub struct PriorRollouts {
    /// Target positions.
    pub targets: Vec<[f32; 2]>,
    /// One effector path per rollout (empty without a learned prior).
    pub paths: Vec<Vec<[f32; 2]>>,
}

#[derive(Serialize)]
struct StateRef<'a> {
    config: &'a AgentConfig,
    learner: &'a Learner,
    counters: &'a Counters,
    history: &'a Vec<EpisodeRecord>,
    evals: &'a Vec<EvalRecord>,
    held_out: bool,
}

fn accumulate(sum: &mut Metrics, m: &Metrics) {
    sum.critic_loss += m.critic_loss;
    sum.policy_loss += m.policy_loss;
    sum.prior_loss += m.prior_loss;
    sum.kl += m.kl;
    sum.q += m.q;
    sum.entropy += m.entropy;
    sum.target += m.target;
}

fn scale(mut m: Metrics, n: u32) -> Metrics {
    if n > 0 {
        let k = f64::from(n);
        m.critic_loss /= k;
        m.policy_loss /= k;
        m.prior_loss /= k;
        m.kl /= k;
        m.q /= k;
        m.entropy /= k;
        m.target /= k;
    }
    m
}
