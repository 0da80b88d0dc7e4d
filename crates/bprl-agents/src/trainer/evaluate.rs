//! Greedy evaluation: the policy's mean action on fixed start states, the same every time.

use super::acting::{Host, run_episode};
use super::seeds::eval_seed;
use crate::actor::Action;
use crate::agent::{ActorState, Learner};
use crate::error::Result;
use bprl_envs::{Env, TimeStep};
use rand::SeedableRng;
use rand::rngs::StdRng;

/// The greedy host: the policy's mean action (the latent's mean for Algorithm 2), rewards
/// summed over every step of every episode.
struct Greedy<'a> {
    learner: &'a Learner,
    total: f64,
}

impl Host for Greedy<'_> {
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
        self.learner.act(state, obs, first, true, rng)
    }

    fn transition(&mut self, _: &TimeStep, _: Action, next: &TimeStep, _: bool) -> Result<bool> {
        self.total += f64::from(next.reward);
        Ok(true)
    }
}

/// The mean return and success rate of the greedy policy over `episodes` episodes started
/// from [`eval_seed`]`(0..episodes)`.
///
/// # Errors
/// Environment or acting errors.
pub fn evaluate<E: Env + ?Sized>(
    learner: &Learner,
    env: &mut E,
    episodes: usize,
) -> Result<(f64, f64)> {
    let mut rng = StdRng::seed_from_u64(0);
    let mut host = Greedy {
        learner,
        total: 0.0,
    };
    let mut successes = 0usize;
    for e in 0..episodes {
        let out = run_episode(env, &mut host, eval_seed(e as u64), &mut rng)?;
        successes += usize::from(out.success);
    }
    let n = episodes.max(1) as f64;
    Ok((host.total / n, successes as f64 / n))
}
