//! The threaded mode: `run.actor_threads` actors and one learner around a samples-per-insert
//! rate-limited replay. Faster on several cores but not bit-reproducible: thread interleaving
//! decides which data each update sees.
//!
//! The learner's thread also keeps the books: each finished episode becomes an
//! [`EpisodeRecord`] handed to a `Bookkeeper` (the trainer, which evaluates, writes metrics
//! and checkpoints on the same schedule as the synchronous mode), and a rate limiter that
//! holds either side for longer than `run.stall_warning_secs` is reported with its numbers.

use super::acting::{Host, Recorder, run_episode};
use super::records::{Counters, EpisodeRecord};
use super::seeds::mix;
use crate::actor::Action;
use crate::agent::{ActorState, Learner};
use crate::batch::LearnerBatch;
use crate::config::AgentConfig;
use crate::error::{AgentError, Result};
use crate::learner::Metrics;
use bprl_envs::{Env, TimeStep};
use bprl_policy::ObservationSpec;
use bprl_replay::{RateLimiterConfig, Replay, ReplayError, StepSpec};
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn poisoned() -> AgentError {
    AgentError::Shape("poisoned learner lock (a thread panicked)".into())
}

/// How one actor's episode went, sent to the learner's thread.
struct Finished {
    episode_return: f64,
    success: bool,
    length: u64,
}

/// An actor thread's host: the learner behind a lock, items into the shared replay (blocking
/// on the rate limiter), the shared step count.
struct ThreadActor<'a> {
    learner: &'a RwLock<&'a mut Learner>,
    replay: &'a Replay,
    steps: &'a AtomicU64,
    recorder: Recorder,
}

impl Host for ThreadActor<'_> {
    fn actor(&self) -> Result<ActorState> {
        self.learner.read().map_err(|_| poisoned())?.actor()
    }

    fn act(
        &mut self,
        state: &mut ActorState,
        obs: &[f32],
        first: bool,
        rng: &mut StdRng,
    ) -> Result<Action> {
        self.learner
            .read()
            .map_err(|_| poisoned())?
            .act(state, obs, first, false, rng)
    }

    fn transition(
        &mut self,
        ts: &TimeStep,
        action: Action,
        next: &TimeStep,
        first: bool,
    ) -> Result<bool> {
        for item in self.recorder.record(ts, action, next, first)? {
            match self.replay.insert(item, None) {
                Err(ReplayError::Shutdown) => return Ok(false),
                r => r?,
            }
        }
        self.steps.fetch_add(1, Ordering::Relaxed);
        Ok(true)
    }
}

/// The rate limiter of the threaded mode (and of every asynchronous mode: actors elsewhere
/// insert, one learner samples): `run.samples_per_insert` with an error buffer of four
/// updates' worth of samples around it, sampling from `run.min_replay` items.
pub fn threaded_limiter(config: &AgentConfig) -> RateLimiterConfig {
    let run = &config.run;
    RateLimiterConfig {
        min_size_to_sample: run.min_replay as u64,
        samples_per_insert: run.samples_per_insert,
        error_buffer: (run.samples_per_insert + config.learner.batch_size as f64) * 4.0,
    }
}

/// What the learner's thread reports as the run goes.
pub(crate) trait Bookkeeper {
    /// A finished episode (its record and the counters after it), with the learner and the
    /// replay as they are now (for evaluations and checkpoints). An error stops the run.
    fn episode(
        &mut self,
        learner: &Learner,
        replay: &Replay,
        record: EpisodeRecord,
        counters: &Counters,
    ) -> Result<()>;

    /// The rate limiter has held the actors or the learner for a long time. An error stops
    /// the run.
    fn stalled(&mut self, message: &str) -> Result<()>;
}

/// What the threaded mode needs of a trainer.
pub(crate) struct Threaded<'a, E> {
    pub config: &'a AgentConfig,
    pub learner: &'a mut Learner,
    pub counters: &'a mut Counters,
    pub spec: &'a ObservationSpec,
    pub step_spec: &'a StepSpec,
    /// The rate-limited replay (holding the run's items so far).
    pub replay: &'a Replay,
    /// One environment per actor thread.
    pub envs: Vec<E>,
}

/// The shared values of one run.
struct Shared<'a> {
    replay: &'a Replay,
    learner: RwLock<&'a mut Learner>,
    steps: AtomicU64,
    stop: AtomicBool,
}

impl<E: Env + Send> Threaded<'_, E> {
    /// Runs the actors and the learner until `run.env_steps`.
    ///
    /// # Errors
    /// The first error of any thread or of the bookkeeper.
    pub fn run(self, books: &mut dyn Bookkeeper) -> Result<()> {
        let Threaded {
            config,
            learner,
            counters,
            spec,
            step_spec,
            replay,
            envs,
        } = self;
        let budget = config.run.env_steps;
        let start_steps = counters.env_steps;
        let shared = Shared {
            replay,
            learner: RwLock::new(learner),
            steps: AtomicU64::new(counters.env_steps),
            stop: AtomicBool::new(false),
        };
        let (tx, rx) = mpsc::channel::<Finished>();
        let result = std::thread::scope(|scope| {
            let handles: Vec<_> = envs
                .into_iter()
                .enumerate()
                .map(|(i, mut env)| {
                    let (shared, tx) = (&shared, tx.clone());
                    // Resumed runs draw new episodes: the seed mixes in the steps so far.
                    let seed = mix(mix(config.run.seed, 1000 + i as u64), start_steps);
                    scope.spawn(move || -> Result<()> {
                        let mut rng = StdRng::seed_from_u64(seed);
                        let mut episode = 0u64;
                        while !shared.stop.load(Ordering::Relaxed)
                            && shared.steps.load(Ordering::Relaxed) < budget
                        {
                            episode += 1;
                            let mut host = ThreadActor {
                                learner: &shared.learner,
                                replay: shared.replay,
                                steps: &shared.steps,
                                recorder: Recorder::new(step_spec, config.learner.sequence_length)?,
                            };
                            let out =
                                run_episode(&mut env, &mut host, mix(seed, episode), &mut rng)?;
                            if !out.finished {
                                break;
                            }
                            let _ = tx.send(Finished {
                                episode_return: out.episode_return,
                                success: out.success,
                                length: out.length,
                            });
                        }
                        Ok(())
                    })
                })
                .collect();
            drop(tx);
            let learned = learn(&shared, spec, config, counters, &rx, &handles, books);
            shared.stop.store(true, Ordering::Relaxed);
            shared.replay.shutdown();
            let mut first_err = learned;
            for h in handles {
                let r = h
                    .join()
                    .unwrap_or_else(|_| Err(AgentError::Shape("an actor thread panicked".into())));
                if first_err.is_ok() {
                    first_err = r;
                }
            }
            first_err
        });
        counters.env_steps = shared.steps.load(Ordering::Relaxed);
        result
    }
}

/// The learner's loop: sample (waiting on the rate limiter) and update until every actor has
/// stopped (the step budget is spent) and the limiter allows no more samples, so the run ends
/// with the updates its samples-per-insert ratio owes, however the threads were scheduled.
/// Between updates it turns finished episodes into records for `books` and watches for a
/// stalled limiter.
fn learn<T>(
    shared: &Shared<'_>,
    spec: &ObservationSpec,
    config: &AgentConfig,
    counters: &mut Counters,
    finished: &mpsc::Receiver<Finished>,
    actors: &[std::thread::ScopedJoinHandle<'_, T>],
    books: &mut dyn Bookkeeper,
) -> Result<()> {
    let mut metrics = Metrics::default();
    let mut updates = 0u32;
    let mut watch = StallWatch::new(config, shared.steps.load(Ordering::Relaxed));
    loop {
        let done = match shared
            .replay
            .sample(config.learner.batch_size, Some(Duration::from_millis(50)))
        {
            Ok(b) => {
                let batch = LearnerBatch::from_replay(&b, spec)?;
                let m = shared
                    .learner
                    .write()
                    .map_err(|_| poisoned())?
                    .update(&batch)?;
                metrics.accumulate(&m);
                updates += 1;
                watch.updated();
                false
            }
            Err(ReplayError::Timeout { .. }) => actors.iter().all(|h| h.is_finished()),
            Err(e) => return Err(e.into()),
        };
        let mut recorded = false;
        while let Ok(f) = finished.try_recv() {
            recorded = true;
            counters.episodes += 1;
            counters.env_steps = shared.steps.load(Ordering::Relaxed);
            let learner = shared.learner.read().map_err(|_| poisoned())?;
            let record = EpisodeRecord {
                episode: counters.episodes,
                env_steps: counters.env_steps,
                learner_steps: learner.steps(),
                episode_return: f.episode_return,
                success: f.success,
                length: f.length,
                metrics: metrics.mean_of(updates),
            };
            books.episode(&learner, shared.replay, record, counters)?;
        }
        if recorded {
            (metrics, updates) = (Metrics::default(), 0);
        }
        if let Some(message) = watch.check(shared, config) {
            books.stalled(&message)?;
        }
        if done {
            return Ok(());
        }
    }
}

/// Watches for a rate limiter that holds the actors (no environment step) or the learner (no
/// update) for longer than `run.stall_warning_secs`; warns once per such period.
struct StallWatch {
    limit: Duration,
    last_steps: u64,
    last_step_at: Instant,
    last_update_at: Instant,
    last_warning: Option<Instant>,
}

impl StallWatch {
    fn new(config: &AgentConfig, steps: u64) -> Self {
        let now = Instant::now();
        Self {
            limit: Duration::from_secs(config.run.stall_warning_secs),
            last_steps: steps,
            last_step_at: now,
            last_update_at: now,
            last_warning: None,
        }
    }

    fn updated(&mut self) {
        self.last_update_at = Instant::now();
    }

    fn check(&mut self, shared: &Shared<'_>, config: &AgentConfig) -> Option<String> {
        let now = Instant::now();
        let steps = shared.steps.load(Ordering::Relaxed);
        if steps != self.last_steps {
            (self.last_steps, self.last_step_at) = (steps, now);
        }
        if self.limit.is_zero()
            || steps >= config.run.env_steps
            || self
                .last_warning
                .is_some_and(|t| now.duration_since(t) < self.limit)
        {
            return None;
        }
        let stats = shared.replay.stats();
        let run = &config.run;
        let idle_actors = now.duration_since(self.last_step_at);
        let idle_learner = now.duration_since(self.last_update_at);
        let message = if idle_actors >= self.limit {
            Some(format!(
                "no environment step for {} s: the rate limiter holds the actors until the learner \
                 has sampled run.samples_per_insert = {} items per inserted item ({:.0} updates of \
                 batch {} each); {} inserts, {} samples so far; lower run.samples_per_insert or \
                 learner.batch_size",
                idle_actors.as_secs(),
                run.samples_per_insert,
                run.samples_per_insert / config.learner.batch_size as f64,
                config.learner.batch_size,
                stats.inserts,
                stats.samples
            ))
        } else if idle_learner >= self.limit {
            Some(format!(
                "no learner update for {} s: the rate limiter holds the learner (replay holds {} \
                 items, run.min_replay = {}, run.samples_per_insert = {}; {} inserts, {} samples)",
                idle_learner.as_secs(),
                stats.size,
                run.min_replay,
                run.samples_per_insert,
                stats.inserts,
                stats.samples
            ))
        } else {
            None
        };
        if message.is_some() {
            self.last_warning = Some(now);
        }
        message
    }
}
