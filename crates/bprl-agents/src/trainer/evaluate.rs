//! Evaluation on fixed start states, the same every time: greedy (the policy's mean action,
//! what every table reports) or stochastic (actions drawn from the policy, with a fixed seed).

use super::acting::{Host, run_episode};
use super::seeds::eval_seed;
use crate::actor::Action;
use crate::agent::{ActorState, Learner};
use crate::error::Result;
use crate::learner::Diagnostics;
use bprl_envs::{Env, TimeStep};
use rand::SeedableRng;
use rand::rngs::StdRng;

/// The evaluation host: the policy's mean action (the latent's mean for Algorithm 2) when
/// `greedy`, else a draw from it; rewards summed over every step of every episode (and
/// discounted per episode), the first step of each episode kept for the diagnostics.
struct Evaluator<'a> {
    learner: &'a Learner,
    greedy: bool,
    gamma: f64,
    total: f64,
    discounted: f64,
    discount: f64,
    starts: Vec<(Vec<f32>, Action)>,
}

impl Host for Evaluator<'_> {
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
        let a = self.learner.act(state, obs, first, self.greedy, rng)?;
        if first {
            self.starts.push((obs.to_vec(), a.clone()));
            self.discount = 1.0;
        }
        Ok(a)
    }

    fn transition(&mut self, _: &TimeStep, _: Action, next: &TimeStep, _: bool) -> Result<bool> {
        self.total += f64::from(next.reward);
        self.discounted += self.discount * f64::from(next.reward);
        self.discount *= self.gamma * f64::from(next.discount);
        Ok(true)
    }
}

/// What an evaluation measures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EvalStats {
    /// Mean return.
    pub mean_return: f64,
    /// Fraction of episodes that completed the task.
    pub success_rate: f64,
    /// Mean discounted return (the learner's `gamma`).
    pub discounted_return: f64,
    /// The learner's diagnostics at the start states and greedy first actions.
    pub start: Diagnostics,
}

/// The mean return, success rate and discounted return of the greedy policy over `episodes`
/// episodes started from [`eval_seed`]`(0..episodes)`, and the learner's diagnostics at their
/// start states.
///
/// # Errors
/// Environment or acting errors.
pub fn evaluate<E: Env + ?Sized>(
    learner: &Learner,
    env: &mut E,
    episodes: usize,
) -> Result<EvalStats> {
    evaluate_policy(learner, env, episodes, true)
}

/// As [`evaluate`], acting greedily when `greedy`, else with actions drawn from the policy
/// (from a generator seeded with 0, so a stochastic evaluation is also the same every time).
/// The diagnostics are taken at the first actions the evaluation took.
///
/// # Errors
/// Environment or acting errors.
pub fn evaluate_policy<E: Env + ?Sized>(
    learner: &Learner,
    env: &mut E,
    episodes: usize,
    greedy: bool,
) -> Result<EvalStats> {
    let mut rng = StdRng::seed_from_u64(0);
    let mut host = Evaluator {
        learner,
        greedy,
        gamma: learner.gamma(),
        total: 0.0,
        discounted: 0.0,
        discount: 1.0,
        starts: Vec::with_capacity(episodes),
    };
    let mut successes = 0usize;
    for e in 0..episodes {
        let out = run_episode(env, &mut host, eval_seed(e as u64), &mut rng)?;
        successes += usize::from(out.success);
    }
    let n = episodes.max(1) as f64;
    let start = learner.diagnose(&host.starts)?;
    Ok(EvalStats {
        mean_return: host.total / n,
        success_rate: successes as f64 / n,
        discounted_return: host.discounted / n,
        start,
    })
}
