//! Training Algorithm 1 on an environment of your own.
//!
//! `Beacons` below is not part of bprl: a point on a plane must reach a beacon, and which of
//! three beacons counts is the task. Its observation has two named groups: `position` (what
//! the body knows; task-agnostic) and `goal` (where the task's beacon is). The behavior prior
//! sees only `position` (information asymmetry), chosen by group name in the configuration.
//!
//! Everything an environment needs is the `Env` trait (named observation groups, a box of
//! actions, `reset(seed)`, `step`) and a `TaskFamily` that makes environments over the training
//! tasks and the held-out ones. Derive `Serialize`/`Deserialize` on the family so a run can
//! write checkpoints and resume.
//!
//! Run: `cargo run --release -p bprl-examples --example custom_env`

use bprl_agents::trainer::seeds::eval_seed;
use bprl_agents::{AgentConfig, PriorConfig, TaskFamily, TaskSplit, Trainer};
use bprl_envs::{ActionSpec, Env, EnvError, EpisodeEnd, StepType, TimeStep, clip_action};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

/// Distance at which a beacon counts as reached.
const REACH: f32 = 0.15;
/// Time limit in steps.
const MAX_STEPS: usize = 40;
/// How far one step moves at full action.
const SPEED: f32 = 0.1;

/// A point on the plane `[-1.5, 1.5]^2` moving toward one of several beacons.
#[derive(Debug, Clone)]
struct Beacons {
    /// The beacons one of which each episode's task names.
    goals: Vec<[f32; 2]>,
    spec: Vec<(String, usize)>,
    position: [f32; 2],
    goal: [f32; 2],
    steps: usize,
    running: bool,
}

impl Beacons {
    fn new(goals: Vec<[f32; 2]>) -> Self {
        Self {
            goals,
            spec: vec![("position".into(), 2), ("goal".into(), 2)],
            position: [0.0; 2],
            goal: [0.0; 2],
            steps: 0,
            running: false,
        }
    }

    fn distance(&self) -> f32 {
        let [dx, dy] = [
            self.position[0] - self.goal[0],
            self.position[1] - self.goal[1],
        ];
        (dx * dx + dy * dy).sqrt()
    }

    fn time_step(&self, step_type: StepType, reward: f32, end: Option<EpisodeEnd>) -> TimeStep {
        TimeStep {
            step_type,
            observation: vec![self.position.to_vec(), self.goal.to_vec()],
            reward,
            discount: if end == Some(EpisodeEnd::Terminated) {
                0.0
            } else {
                1.0
            },
            end,
        }
    }
}

impl Env for Beacons {
    fn observation_spec(&self) -> &[(String, usize)] {
        &self.spec
    }

    fn action_spec(&self) -> ActionSpec {
        ActionSpec {
            dim: 2,
            low: -1.0,
            high: 1.0,
        }
    }

    fn reset(&mut self, seed: u64) -> TimeStep {
        let mut rng = StdRng::seed_from_u64(seed);
        self.position = [rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0)];
        self.goal = self.goals[rng.random_range(0..self.goals.len())];
        self.steps = 0;
        self.running = true;
        self.time_step(StepType::First, 0.0, None)
    }

    fn step(&mut self, action: &[f32]) -> Result<TimeStep, EnvError> {
        if !self.running {
            return Err(EnvError::NeedsReset);
        }
        let a = clip_action(self.action_spec(), action)?;
        let before = self.distance();
        for (p, a) in self.position.iter_mut().zip(&a) {
            *p = (*p + SPEED * a).clamp(-1.5, 1.5);
        }
        self.steps += 1;
        // Shaped: the distance gained this step, plus 1 on arrival.
        let mut reward = before - self.distance();
        let end = if self.distance() <= REACH {
            reward += 1.0;
            Some(EpisodeEnd::Terminated)
        } else if self.steps >= MAX_STEPS {
            Some(EpisodeEnd::Truncated)
        } else {
            None
        };
        self.running = end.is_none();
        let kind = if end.is_some() {
            StepType::Last
        } else {
            StepType::Mid
        };
        Ok(self.time_step(kind, reward, end))
    }
}

/// The tasks: three training beacons, one held out for transfer.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct BeaconTasks {
    train: Vec<[f32; 2]>,
    held_out: Vec<[f32; 2]>,
}

impl TaskFamily for BeaconTasks {
    type Env = Beacons;

    fn make_env(&self, split: TaskSplit) -> Result<Beacons, EnvError> {
        Ok(Beacons::new(match split {
            TaskSplit::Train => self.train.clone(),
            TaskSplit::HeldOut => self.held_out.clone(),
        }))
    }
}

/// Small networks and Adam at 1e-3: a run of a few thousand steps learns on two cores in
/// seconds.
fn config(env_steps: u64, seed: u64) -> AgentConfig {
    let mut c = AgentConfig {
        prior: PriorConfig::learned(&["position"]),
        ..AgentConfig::default()
    };
    let l = &mut c.learner;
    l.batch_size = 32;
    l.policy_hidden = vec![64, 64];
    l.critic_hidden = vec![64, 64];
    l.action_samples = 4;
    l.policy_lr = 1e-3;
    l.critic_lr = 1e-3;
    l.prior_lr = 1e-3;
    l.target_period = 50;
    l.alpha = 0.05;
    c.run.env_steps = env_steps;
    c.run.updates_per_env_step = 0.5;
    c.run.min_replay = 50;
    c.run.replay_capacity = 20_000;
    c.run.eval_every_episodes = 0;
    c.run.seed = seed;
    c
}

/// Mean return of uniformly random actions from the evaluation's start states.
fn random_return(env: &mut Beacons, episodes: usize) -> Result<f64, EnvError> {
    let mut rng = StdRng::seed_from_u64(0);
    let mut total = 0.0;
    for e in 0..episodes {
        env.reset(eval_seed(e as u64));
        loop {
            let a = [rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0)];
            let ts = env.step(&a)?;
            total += f64::from(ts.reward);
            if ts.is_last() {
                break;
            }
        }
    }
    Ok(total / episodes as f64)
}

/// Trains for `env_steps` steps and returns the greedy policy's mean return and a random
/// policy's, over `episodes` evaluation episodes.
pub fn run(
    env_steps: u64,
    seed: u64,
    episodes: usize,
) -> Result<(f64, f64), Box<dyn std::error::Error>> {
    let tasks = BeaconTasks {
        train: vec![[0.6, 0.6], [-0.6, 0.6], [0.0, -0.7]],
        held_out: vec![[0.6, -0.6]],
    };
    let random = random_return(&mut tasks.make_env(TaskSplit::Train)?, episodes)?;
    let mut trainer = Trainer::new(config(env_steps, seed), tasks, TaskSplit::Train)?;
    trainer.train(None, &mut |_, _| Ok(()))?;
    let greedy = trainer.evaluate(episodes)?;
    Ok((greedy.mean_return, random))
}

#[allow(dead_code)] // The test that includes this file calls `run` alone.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let started = std::time::Instant::now();
    let (trained, random) = run(6_000, 0, 100)?;
    eprintln!(
        "trained 6000 steps in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    println!("final greedy return: {trained:.3} (random policy: {random:.3})");
    Ok(())
}
