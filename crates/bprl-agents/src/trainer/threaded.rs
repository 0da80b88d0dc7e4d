//! The threaded mode: `run.actor_threads` actors and one learner around a samples-per-insert
//! rate-limited replay. Faster on several cores but not bit-reproducible: thread interleaving
//! decides which data each update sees.

use super::acting::{Host, Recorder, run_episode};
use super::records::Counters;
use super::seeds::mix;
use crate::actor::Action;
use crate::agent::{ActorState, Learner};
use crate::batch::LearnerBatch;
use crate::config::AgentConfig;
use crate::error::{AgentError, Result};
use bprl_envs::{Env, TimeStep};
use bprl_policy::ObservationSpec;
use bprl_replay::{RateLimiterConfig, Replay, ReplayConfig, ReplayError, StepSpec};
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

fn poisoned() -> AgentError {
    AgentError::Shape("poisoned learner lock (a thread panicked)".into())
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

/// The rate-limited replay of the threaded mode.
fn threaded_replay(config: &AgentConfig, step_spec: &StepSpec) -> Result<Replay> {
    let run = &config.run;
    Ok(Replay::new(
        step_spec.clone(),
        ReplayConfig {
            capacity: run.replay_capacity,
            sequence_length: config.learner.sequence_length,
            rate_limiter: RateLimiterConfig {
                min_size_to_sample: run.min_replay as u64,
                samples_per_insert: run.samples_per_insert,
                error_buffer: (run.samples_per_insert + config.learner.batch_size as f64) * 4.0,
            },
            seed: mix(run.seed, 0x7468),
        },
    )?)
}

/// What the threaded mode needs of a trainer.
pub(crate) struct Threaded<'a, E> {
    pub config: &'a AgentConfig,
    pub learner: &'a mut Learner,
    pub counters: &'a mut Counters,
    pub spec: &'a ObservationSpec,
    pub step_spec: &'a StepSpec,
    /// One environment per actor thread.
    pub envs: Vec<E>,
}

impl<E: Env + Send> Threaded<'_, E> {
    /// Runs the actors and the learner until `run.env_steps`.
    ///
    /// # Errors
    /// The first error of any thread.
    pub fn run(self) -> Result<()> {
        let Threaded {
            config,
            learner,
            counters,
            spec,
            step_spec,
            envs,
        } = self;
        let replay = threaded_replay(config, step_spec)?;
        let budget = config.run.env_steps;
        let steps = AtomicU64::new(counters.env_steps);
        let episodes = AtomicU64::new(counters.episodes);
        let stop = AtomicBool::new(false);
        let shared = RwLock::new(learner);
        let result = std::thread::scope(|scope| {
            let handles: Vec<_> = envs
                .into_iter()
                .enumerate()
                .map(|(i, mut env)| {
                    let (replay, shared, steps, stop, episodes) =
                        (&replay, &shared, &steps, &stop, &episodes);
                    let seed = mix(config.run.seed, 1000 + i as u64);
                    scope.spawn(move || -> Result<()> {
                        let mut rng = StdRng::seed_from_u64(seed);
                        let mut episode = 0u64;
                        while !stop.load(Ordering::Relaxed)
                            && steps.load(Ordering::Relaxed) < budget
                        {
                            episode += 1;
                            let mut host = ThreadActor {
                                learner: shared,
                                replay,
                                steps,
                                recorder: Recorder::new(step_spec, config.learner.sequence_length)?,
                            };
                            let out =
                                run_episode(&mut env, &mut host, mix(seed, episode), &mut rng)?;
                            if !out.finished {
                                break;
                            }
                            episodes.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(())
                    })
                })
                .collect();
            let learned = learn(&replay, &shared, spec, config, &handles);
            stop.store(true, Ordering::Relaxed);
            replay.shutdown();
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
        counters.env_steps = steps.load(Ordering::Relaxed);
        counters.episodes = episodes.load(Ordering::Relaxed);
        result
    }
}

/// The learner's loop: sample (waiting on the rate limiter) and update until every actor has
/// stopped (the step budget is spent) and the limiter allows no more samples, so the run ends
/// with the updates its samples-per-insert ratio owes, however the threads were scheduled.
fn learn<T>(
    replay: &Replay,
    shared: &RwLock<&mut Learner>,
    spec: &ObservationSpec,
    config: &AgentConfig,
    actors: &[std::thread::ScopedJoinHandle<'_, T>],
) -> Result<()> {
    loop {
        match replay.sample(config.learner.batch_size, Some(Duration::from_millis(50))) {
            Ok(b) => {
                let batch = LearnerBatch::from_replay(&b, spec)?;
                shared.write().map_err(|_| poisoned())?.update(&batch)?;
            }
            Err(ReplayError::Timeout { .. }) => {
                if actors.iter().all(|h| h.is_finished()) {
                    return Ok(());
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
}
