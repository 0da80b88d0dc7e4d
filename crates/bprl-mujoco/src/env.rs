//! The go-to-target environment: a walker, `K` targets in a walled arena, predicates and
//! box_arrangement's sparse rewards.

use crate::config::TaskConfig;
use crate::error::MujocoError;
use crate::mjcf::WalkerKind;
use crate::physics::Physics;
use bprl_envs::{ActionSpec, Env, EnvError, EpisodeEnd, StepType, Task, TimeStep, clip_action};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// A walker going to targets in a walled arena (MuJoCo physics).
///
/// # Observation groups
/// - `proprio` (task-agnostic): non-root joint positions and velocities, torso height, the
///   world z-axis in the torso frame, velocimeter, gyro and accelerometer at the torso, and
///   the end effectors' positions in the torso frame. 41 floats for the quadruped, 20 for the
///   point mass ([`Physics::proprio_dim`]).
/// - `targets` (task-agnostic: the layout, not the goal): each target's position relative to
///   the torso in the torso frame (egocentric), `3K` floats.
/// - `task`: a one-hot over the `K` targets marking the one that counts now (the next
///   unsatisfied one of the task).
///
/// # Rewards and ends (box_arrangement's predicate task)
/// A task is a list of predicates, one per target of [`Task::order`]. "Go to target k" has
/// one: *the torso is in target k* (horizontal distance `<= target_radius`). A sequence
/// `[i, j, ...]` has one per target: *target i has been visited* (it stays satisfied),
/// *then target j*, ..., and the last is *the torso is in the last target, after the others*.
/// Each control step, scaled by `reward_scale` (10):
/// - a step that **starts** with every predicate satisfied gives `all_satisfied_reward` (5,
///   so 50) and ends the episode (termination, discount 0);
/// - otherwise +1 per predicate that became satisfied and -1 per predicate that became
///   unsatisfied during the step (so entering the target gives 10, and staying in it for the
///   next step 50 more);
/// - plus `shaping * (d_before - d_after)` (unscaled; default 0) for the horizontal distance
///   to the target that counts.
///
/// With these predicates the -1 never fires: a go-to predicate ends the episode the step
/// after it holds, and a sequence's earlier predicates stay satisfied once visited, while its
/// last one completes the task. It is kept (and computed) so that tasks whose predicates can
/// be lost, such as box_arrangement's box-on-target ones, get box_arrangement's reward.
///
/// The episode also terminates (discount 0) when the torso flips (`R_zz < 0`: the aliveness
/// `(R_zz - 1) / 2` below -0.5), and is truncated (discount 1) after `max_steps` steps.
///
/// # Actions
/// One per actuator in `[-1, 1]`, clipped; NaN, infinity or a wrong length is a typed error
/// and leaves the state unchanged.
#[derive(Debug)]
pub struct GoToTarget {
    config: TaskConfig,
    tasks: Vec<Task>,
    physics: Physics,
    spec: Vec<(String, usize)>,
    targets: Vec<[f64; 2]>,
    task: Task,
    satisfied: Vec<bool>,
    steps: usize,
    running: bool,
}

impl GoToTarget {
    /// An environment drawing each episode's task uniformly from `tasks`.
    ///
    /// # Errors
    /// [`MujocoError::Config`] for a bad setting, [`MujocoError::InvalidTask`] for no task
    /// or a target index `>= K`, or an error of loading the model.
    pub fn new(config: TaskConfig, tasks: Vec<Task>) -> Result<Self, MujocoError> {
        config.validate()?;
        validate_tasks(&tasks, config.num_targets)?;
        let physics = Physics::new(config.walker, config.half_size())?;
        let k = config.num_targets;
        let spec = vec![
            ("proprio".to_string(), physics.proprio_dim()),
            ("targets".to_string(), 3 * k),
            ("task".to_string(), k),
        ];
        Ok(Self {
            task: tasks[0].clone(),
            satisfied: vec![false; tasks[0].order.len()],
            config,
            tasks,
            physics,
            spec,
            targets: Vec::new(),
            steps: 0,
            running: false,
        })
    }

    /// "Go to target k" for every `k` of `config` (the training tasks of
    /// [`GoToTargetFamily`](crate::GoToTargetFamily)).
    ///
    /// # Errors
    /// As [`GoToTarget::new`].
    pub fn go_to_any(config: TaskConfig) -> Result<Self, MujocoError> {
        let tasks = (0..config.num_targets).map(Task::go_to).collect();
        Self::new(config, tasks)
    }

    /// The settings.
    pub fn config(&self) -> &TaskConfig {
        &self.config
    }

    /// The physics (model, data and the walker's addresses).
    pub fn physics(&self) -> &Physics {
        &self.physics
    }

    /// The physics, mutable: for hand-made states in tests and raw stepping in benchmarks.
    /// The task's predicates are not updated until the next [`Env::step`].
    pub fn physics_mut(&mut self) -> &mut Physics {
        &mut self.physics
    }

    /// The targets' centres, metres.
    pub fn targets(&self) -> &[[f64; 2]] {
        &self.targets
    }

    /// The current episode's task.
    pub fn task(&self) -> &Task {
        &self.task
    }

    /// Which of the task's predicates hold (one per entry of [`Task::order`]).
    pub fn satisfied(&self) -> &[bool] {
        &self.satisfied
    }

    /// Control steps taken in this episode.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// The torso's horizontal position, metres.
    pub fn torso_xy(&self) -> [f64; 2] {
        let p = self.physics.torso_position();
        [p[0], p[1]]
    }

    /// Starts an episode from a given layout, torso position and heading, and task (for
    /// hand-made cases and scripted trajectories). Joints start at their reset angles
    /// without noise.
    ///
    /// # Errors
    /// [`MujocoError::InvalidTask`] for a layout of the wrong size, a non-finite or
    /// out-of-arena position, or a bad task.
    pub fn reset_to(
        &mut self,
        targets: Vec<[f64; 2]>,
        torso_xy: [f64; 2],
        yaw: f64,
        task: Task,
    ) -> Result<TimeStep, MujocoError> {
        let k = self.config.num_targets;
        if targets.len() != k {
            return Err(MujocoError::InvalidTask {
                reason: format!("{} targets given, the environment has {k}", targets.len()),
            });
        }
        let h = self.config.half_size();
        let inside = |p: &[f64; 2]| p.iter().all(|v| v.is_finite() && v.abs() <= h);
        if let Some(p) = targets
            .iter()
            .chain(std::iter::once(&torso_xy))
            .find(|p| !inside(p))
        {
            return Err(MujocoError::InvalidTask {
                reason: format!("position {p:?} is not finite or outside the arena (+-{h} m)"),
            });
        }
        if !yaw.is_finite() {
            return Err(MujocoError::InvalidTask {
                reason: format!("yaw {yaw} is not finite"),
            });
        }
        validate_tasks(std::slice::from_ref(&task), k)?;
        self.start(targets, torso_xy, yaw, task, &[]);
        Ok(self.time_step(StepType::First, 0.0, 1.0, None))
    }

    fn start(
        &mut self,
        targets: Vec<[f64; 2]>,
        torso_xy: [f64; 2],
        yaw: f64,
        task: Task,
        noise: &[f64],
    ) {
        let walker = self.config.walker;
        let p = &mut self.physics;
        p.reset();
        p.set_root([torso_xy[0], torso_xy[1], walker.spawn_height()], yaw);
        if walker == WalkerKind::Quadruped {
            for j in 0..p.num_joints() {
                // Joints alternate hip, ankle per leg; ankles start mid-range (50 deg).
                let base = if j % 2 == 1 { 50f64.to_radians() } else { 0.0 };
                p.set_joint(j, base + noise.get(j).copied().unwrap_or(0.0));
            }
        }
        p.forward();
        self.targets = targets;
        self.satisfied = vec![false; task.order.len()];
        self.task = task;
        self.satisfied = self.predicates();
        self.steps = 0;
        self.running = true;
    }

    /// Whether the torso is in target `k`.
    pub fn in_target(&self, k: usize) -> bool {
        self.targets
            .get(k)
            .is_some_and(|t| horizontal_distance(self.torso_xy(), *t) <= self.config.target_radius)
    }

    /// The predicates after the current physics state, from the ones before (`self.satisfied`).
    fn predicates(&self) -> Vec<bool> {
        let n = self.task.order.len();
        let mut out: Vec<bool> = Vec::with_capacity(n);
        for (i, &k) in self.task.order.iter().enumerate() {
            let before_ok = i == 0 || out[i - 1];
            let now = if i + 1 < n {
                self.satisfied[i] || (before_ok && self.in_target(k))
            } else {
                before_ok && self.in_target(k)
            };
            out.push(now);
        }
        out
    }

    /// Index into `targets` of the target that counts now: the first unsatisfied predicate's
    /// (the last one's when all hold).
    pub fn current_target(&self) -> usize {
        self.task.order[self.leg()]
    }

    /// Index into `targets` of the target the `task` group marks now: the task's cue for the
    /// current leg ([`Task::cue`]; the same as [`GoToTarget::current_target`] unless the task
    /// marks another target than the one that counts).
    pub fn cued_target(&self) -> usize {
        self.task.cue[self.leg()]
    }

    /// The leg under way: the first unsatisfied predicate (the last one when all hold).
    fn leg(&self) -> usize {
        self.satisfied
            .iter()
            .position(|s| !s)
            .unwrap_or(self.task.order.len() - 1)
    }

    fn observation(&self) -> Vec<Vec<f32>> {
        let p = &self.physics;
        let mut proprio = Vec::with_capacity(self.spec[0].1);
        p.proprio_into(&mut proprio);
        let torso = p.torso_position();
        let targets = self
            .targets
            .iter()
            .flat_map(|t| {
                p.to_torso_frame([t[0] - torso[0], t[1] - torso[1], -torso[2]])
                    .map(|v| v as f32)
            })
            .collect();
        let mut task = vec![0.0; self.config.num_targets];
        task[self.cued_target()] = 1.0;
        vec![proprio, targets, task]
    }

    fn time_step(
        &self,
        step_type: StepType,
        reward: f32,
        discount: f32,
        end: Option<EpisodeEnd>,
    ) -> TimeStep {
        TimeStep {
            step_type,
            observation: self.observation(),
            reward,
            discount,
            end,
        }
    }

    fn random_start(&self, rng: &mut StdRng) -> (Vec<[f64; 2]>, [f64; 2], f64, Task, Vec<f64>) {
        let c = &self.config;
        let cells = c.grid * c.grid;
        // A partial Fisher-Yates shuffle: K + 1 distinct cells, the walker's first.
        let mut order: Vec<usize> = (0..cells).collect();
        for i in 0..=c.num_targets {
            let j = rng.random_range(i..cells);
            order.swap(i, j);
        }
        let centre = |cell: usize| {
            let (row, col) = (cell / c.grid, cell % c.grid);
            [
                (col as f64 + 0.5) * c.cell_size - c.half_size(),
                (row as f64 + 0.5) * c.cell_size - c.half_size(),
            ]
        };
        let walker = centre(order[0]);
        let targets = order[1..=c.num_targets]
            .iter()
            .map(|&i| centre(i))
            .collect();
        let yaw = rng.random::<f64>() * std::f64::consts::TAU;
        let task = self.tasks[rng.random_range(0..self.tasks.len())].clone();
        let noise = (0..self.physics.num_joints())
            .map(|_| (2.0 * rng.random::<f64>() - 1.0) * c.joint_noise)
            .collect();
        (targets, walker, yaw, task, noise)
    }
}

fn horizontal_distance(a: [f64; 2], b: [f64; 2]) -> f64 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
}

/// [`bprl_envs::validate_tasks`], its error as this crate's [`MujocoError::InvalidTask`].
fn validate_tasks(tasks: &[Task], k: usize) -> Result<(), MujocoError> {
    bprl_envs::validate_tasks(tasks, k).map_err(|e| match e {
        EnvError::InvalidTask { reason } => MujocoError::InvalidTask { reason },
        other => MujocoError::InvalidTask {
            reason: other.to_string(),
        },
    })
}

impl Env for GoToTarget {
    fn observation_spec(&self) -> &[(String, usize)] {
        &self.spec
    }

    fn action_spec(&self) -> ActionSpec {
        ActionSpec {
            dim: self.config.walker.action_dim(),
            low: -1.0,
            high: 1.0,
        }
    }

    fn reset(&mut self, seed: u64) -> TimeStep {
        let mut rng = StdRng::seed_from_u64(seed);
        let (targets, walker, yaw, task, noise) = self.random_start(&mut rng);
        self.start(targets, walker, yaw, task, &noise);
        self.time_step(StepType::First, 0.0, 1.0, None)
    }

    fn step(&mut self, action: &[f32]) -> Result<TimeStep, EnvError> {
        if !self.running {
            return Err(EnvError::NeedsReset);
        }
        let action = clip_action(self.action_spec(), action)?;
        let c = &self.config;
        let (scale, substeps) = (c.reward_scale, c.substeps());
        let all_before = self.satisfied.iter().all(|&s| s);
        let target = self.targets[self.current_target()];
        let before = horizontal_distance(self.torso_xy(), target);
        self.physics.step(&action, substeps);
        self.steps += 1;
        let after = horizontal_distance(self.torso_xy(), target);
        let shaping = self.config.shaping * (before - after) as f32;
        if all_before {
            self.running = false;
            let r = scale * self.config.all_satisfied_reward + shaping;
            return Ok(self.time_step(StepType::Last, r, 0.0, Some(EpisodeEnd::Terminated)));
        }
        let now = self.predicates();
        let change: i32 = now
            .iter()
            .zip(&self.satisfied)
            .map(|(&n, &b)| i32::from(n) - i32::from(b))
            .sum();
        self.satisfied = now;
        let reward = scale * change as f32 + shaping;
        if self.physics.upright() < 0.0 {
            self.running = false;
            // A failure, not a success (it was counted as one before `EpisodeEnd::Failed`).
            return Ok(self.time_step(StepType::Last, reward, 0.0, Some(EpisodeEnd::Failed)));
        }
        if self.steps >= self.config.max_steps {
            self.running = false;
            return Ok(self.time_step(StepType::Last, reward, 1.0, Some(EpisodeEnd::Truncated)));
        }
        Ok(self.time_step(StepType::Mid, reward, 1.0, None))
    }
}
