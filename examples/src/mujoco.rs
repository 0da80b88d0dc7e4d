//! The MuJoCo tasks on the command line (feature `mujoco`): how a run writes its `[mujoco]`
//! section back, and after training a random policy's return on the same evaluation starts and
//! top-down pictures of rollouts.

use crate::family::Described;
use crate::run::write_atomic;
use bprl_agents::trainer::seeds::{eval_seed, mix};
use bprl_agents::{AgentConfig, Learner, TaskFamily, Trainer};
use bprl_envs::Env;
use bprl_examples::experiment::{Experiment, mujoco_table};
use bprl_mujoco::{GoToTarget, GoToTargetFamily, TopDown};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use std::path::Path;

impl Described for GoToTargetFamily {
    fn experiment(&self, agent: &AgentConfig) -> Experiment {
        Experiment {
            agent: agent.clone(),
            mujoco: Some(mujoco_table(self)),
            ..Experiment::default()
        }
    }

    fn after_training(trainer: &mut Trainer<Self>, out: &Path) -> Result<(), String> {
        let episodes = trainer.config.run.eval_episodes.max(1);
        let mut env = trainer
            .family()
            .make_env(trainer.split())
            .map_err(|e| e.to_string())?;
        let random = random_return(&mut env, episodes)?;
        println!("random policy on the same {episodes} evaluation starts: return {random:.3}");
        write_atomic(
            &out.join("random_policy.txt"),
            &format!("mean_return={random:.6}\nepisodes={episodes}\n"),
        )?;
        for (name, learner) in [
            ("rollouts.png", Some(&trainer.learner)),
            ("rollouts_random.png", None),
        ] {
            let picture = rollouts(learner, &mut env, eval_seed(0), 6)?;
            picture
                .render(&out.join(name), 480)
                .map_err(|e| e.to_string())?;
        }
        println!(
            "wrote {} and rollouts_random.png",
            out.join("rollouts.png").display()
        );
        Ok(())
    }
}

/// Mean return of uniform random actions over the evaluation starts `eval_seed(0..episodes)`.
fn random_return(env: &mut GoToTarget, episodes: usize) -> Result<f64, String> {
    let dim = env.action_spec().dim;
    let mut rng = StdRng::seed_from_u64(7);
    let mut total = 0.0;
    for e in 0..episodes {
        env.reset(eval_seed(e as u64));
        loop {
            let a: Vec<f32> = (0..dim).map(|_| rng.random_range(-1.0..1.0)).collect();
            let ts = env.step(&a).map_err(|e| e.to_string())?;
            total += f64::from(ts.reward);
            if ts.is_last() {
                break;
            }
        }
    }
    Ok(total / episodes as f64)
}

/// Torso paths from the start of `seed`: the greedy policy's first, then `sampled` of the
/// stochastic policy (or, without a learner, `sampled + 1` of random actions).
fn rollouts(
    learner: Option<&Learner>,
    env: &mut GoToTarget,
    seed: u64,
    sampled: usize,
) -> Result<TopDown, String> {
    let mut rng = StdRng::seed_from_u64(mix(seed, 99));
    let dim = env.action_spec().dim;
    let mut paths = Vec::new();
    for r in 0..=sampled {
        let mut ts = env.reset(seed);
        let mut actor = learner
            .map(Learner::actor)
            .transpose()
            .map_err(|e| e.to_string())?;
        let mut path = vec![env.torso_xy()];
        let mut first = true;
        while !ts.is_last() {
            let a = match (learner, actor.as_mut()) {
                (Some(l), Some(state)) => {
                    l.act(state, &ts.flat_observation(), first, r == 0, &mut rng)
                        .map_err(|e| e.to_string())?
                        .action
                }
                _ => (0..dim).map(|_| rng.random_range(-1.0..1.0)).collect(),
            };
            first = false;
            ts = env.step(&a).map_err(|e| e.to_string())?;
            path.push(env.torso_xy());
        }
        paths.push(path);
    }
    Ok(TopDown {
        half_size: env.config().half_size(),
        targets: env.targets().to_vec(),
        radius: env.config().target_radius,
        goal: Some(env.task().order[0]),
        paths,
    })
}
