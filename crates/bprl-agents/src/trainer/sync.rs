//! The synchronous mode: one episode at a time, learning on schedule between steps; seeded
//! and bit-reproducible (environment seeds, action noise and learner noise all derive from
//! `run.seed` and counters).

use super::acting::{Host, Recorder};
use super::records::Counters;
use crate::actor::Action;
use crate::agent::{ActorState, Learner};
use crate::batch::LearnerBatch;
use crate::config::RunConfig;
use crate::error::Result;
use crate::learner::Metrics;
use bprl_envs::TimeStep;
use bprl_policy::ObservationSpec;
use bprl_replay::Replay;
use rand::rngs::StdRng;
use std::time::Duration;

/// Samples a batch and updates the learner once.
///
/// # Errors
/// Replay or learner errors.
pub(crate) fn learn_once(
    learner: &mut Learner,
    replay: &Replay,
    spec: &ObservationSpec,
    batch_size: usize,
) -> Result<Metrics> {
    let b = replay.sample(batch_size, Some(Duration::ZERO))?;
    let batch = LearnerBatch::from_replay(&b, spec)?;
    learner.update(&batch)
}

/// The synchronous host: acts with the learner it owns, inserts every item into the replay and
/// runs the updates owed: `run.updates_per_env_step` per step, accrued only from the step at
/// which the replay holds `run.min_replay` items (so no burst of updates owed from before).
pub(crate) struct SyncHost<'a> {
    pub learner: &'a mut Learner,
    pub replay: &'a Replay,
    pub spec: &'a ObservationSpec,
    pub run: &'a RunConfig,
    pub batch_size: usize,
    pub counters: &'a mut Counters,
    pub recorder: Recorder,
    /// Sum of the metrics of this episode's updates.
    pub metrics: Metrics,
    /// This episode's updates.
    pub updates: u32,
}

impl Host for SyncHost<'_> {
    fn actor(&self) -> Result<ActorState> {
        self.learner.actor()
    }

    fn act(
        &mut self,
        state: &mut ActorState,
        obs: &[f32],
        first: bool,
        rng: &mut StdRng,
    ) -> Result<Action> {
        self.learner.act(state, obs, first, false, rng)
    }

    fn transition(
        &mut self,
        ts: &TimeStep,
        action: Action,
        next: &TimeStep,
        first: bool,
    ) -> Result<bool> {
        let items = self.recorder.record(ts, action, next, first)?;
        self.counters.env_steps += 1;
        for item in items {
            self.replay.insert(item, Some(Duration::ZERO))?;
        }
        if self.replay.len() < self.run.min_replay {
            return Ok(true);
        }
        self.counters.update_credit += self.run.updates_per_env_step;
        while self.counters.update_credit >= 1.0 {
            let m = learn_once(self.learner, self.replay, self.spec, self.batch_size)?;
            self.metrics.accumulate(&m);
            self.updates += 1;
            self.counters.update_credit -= 1.0;
        }
        Ok(true)
    }
}
