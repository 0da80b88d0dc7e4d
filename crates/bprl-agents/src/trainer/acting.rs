//! The acting loop every mode runs: one episode of an environment with actions from a host,
//! and the recorder that turns its transitions into replay items.
//!
//! The synchronous loop, the threaded actors and the evaluation differ only in their
//! [`Host`]: where the action comes from (a learner they own, one behind a lock, or the greedy
//! mean) and what happens to each transition (replay plus learning on schedule, a shared
//! rate-limited replay, or a running sum of rewards). Public so that an actor elsewhere (another
//! process, e.g. `bprl-distributed`'s) acts and records items exactly as these modes do.

use crate::actor::Action;
use crate::agent::ActorState;
use crate::error::Result;
use bprl_envs::{Env, EpisodeEnd, TimeStep};
use bprl_replay::{Item, SequenceAdder, Step, StepKind, StepSpec};
use rand::rngs::StdRng;
use std::collections::BTreeMap;

/// Where the acting loop gets its actions and sends its transitions.
pub trait Host {
    /// A fresh acting state for an episode.
    fn actor(&self) -> Result<ActorState>;

    /// The action for the observation `obs` (`first`: the episode's first step).
    fn act(
        &mut self,
        state: &mut ActorState,
        obs: &[f32],
        first: bool,
        rng: &mut StdRng,
    ) -> Result<Action>;

    /// Takes the transition `ts --action--> next`; `false` ends the episode early (shutdown).
    fn transition(
        &mut self,
        ts: &TimeStep,
        action: Action,
        next: &TimeStep,
        first: bool,
    ) -> Result<bool>;
}

/// How an episode went.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    /// Undiscounted return.
    pub episode_return: f64,
    /// Steps taken.
    pub length: u64,
    /// Whether the episode terminated (the task was completed).
    pub success: bool,
    /// Whether it reached its last step (not stopped by the host).
    pub finished: bool,
}

/// Runs one episode from `env.reset(seed)` until its last step or until the host stops it.
///
/// # Errors
/// Any error of the environment or the host.
pub fn run_episode<E: Env + ?Sized, H: Host>(
    env: &mut E,
    host: &mut H,
    seed: u64,
    rng: &mut StdRng,
) -> Result<Outcome> {
    let mut state = host.actor()?;
    let mut ts = env.reset(seed);
    let mut out = Outcome {
        episode_return: 0.0,
        length: 0,
        success: false,
        finished: false,
    };
    loop {
        let first = out.length == 0;
        let action = host.act(&mut state, &ts.flat_observation(), first, rng)?;
        let next = env.step(&action.action)?;
        out.episode_return += f64::from(next.reward);
        out.length += 1;
        let go_on = host.transition(&ts, action, &next, first)?;
        if next.is_last() {
            out.success = next.end.is_some_and(EpisodeEnd::is_success);
            out.finished = true;
            return Ok(out);
        }
        if !go_on {
            return Ok(out);
        }
        ts = next;
    }
}

/// Turns an episode's transitions into replay items: the replay step of each observation
/// (with the action taken there and the reward and discount that followed) through the
/// sequence adder.
#[derive(Debug)]
pub struct Recorder {
    adder: SequenceAdder,
}

impl Recorder {
    /// A recorder for one episode.
    ///
    /// # Errors
    /// A zero sequence length.
    pub fn new(spec: &StepSpec, sequence_length: usize) -> Result<Self> {
        Ok(Self {
            adder: SequenceAdder::new(spec.clone(), sequence_length)?,
        })
    }

    /// The items a transition completes (with the episode's final step when `next` is last).
    ///
    /// # Errors
    /// A step that does not fit the spec.
    pub fn record(
        &mut self,
        ts: &TimeStep,
        action: Action,
        next: &TimeStep,
        first: bool,
    ) -> Result<Vec<Item>> {
        let spec = self.adder.spec();
        let kind = if first {
            StepKind::First
        } else {
            StepKind::Mid
        };
        let extras = match action.latent {
            Some(z) => BTreeMap::from([("latent".to_string(), z)]),
            None => spec
                .extras()
                .iter()
                .map(|(n, w)| (n.clone(), vec![0.0; *w]))
                .collect(),
        };
        let step = Step {
            observation: observation(spec, ts),
            action: action.action,
            reward: next.reward,
            discount: next.discount,
            log_prob: action.log_prob,
            extras,
            kind,
        };
        let last = next.is_last().then(|| Step {
            observation: observation(spec, next),
            action: Vec::new(),
            reward: 0.0,
            discount: 0.0,
            log_prob: 0.0,
            extras: BTreeMap::new(),
            kind: StepKind::Last,
        });
        let mut items = self.adder.add(&step)?;
        if let Some(last) = last {
            items.extend(self.adder.add(&last)?);
        }
        Ok(items)
    }
}
/// A time step's observation groups by name.
fn observation(spec: &StepSpec, ts: &TimeStep) -> BTreeMap<String, Vec<f32>> {
    spec.observations()
        .iter()
        .map(|(n, _)| n.clone())
        .zip(ts.observation.iter().cloned())
        .collect()
}
