//! The multi-target task family on any body: "go to target k" and "visit targets in order",
//! with information-asymmetric observation groups.

use crate::body::Body;
use crate::env::{ActionSpec, Env, EnvError, EpisodeEnd, StepType, TimeStep, clip_action};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

/// A task: the targets to reach, in order (one for "go to target k"), and the target the
/// `goal` group marks while each of them is the next one.
///
/// For every built-in task but [`Task::mismarked`] the cue is the target itself (the goal
/// group says where to go). A task whose cue differs from its order keeps the goal group's
/// *encoding* and changes its *meaning*: an agent or prior that learnt "go where the goal
/// points" is misled there, while its movement skills still apply.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Task {
    /// Target indices to visit in order.
    pub order: Vec<usize>,
    /// The target index the `goal` group marks at each leg (the same length as `order`).
    pub cue: Vec<usize>,
}

impl Task {
    /// "Go to target `k`".
    pub fn go_to(k: usize) -> Self {
        Self::sequence(vec![k])
    }

    /// "Visit these targets in this order" (the goal marks the next one).
    pub fn sequence(order: Vec<usize>) -> Self {
        Self {
            cue: order.clone(),
            order,
        }
    }

    /// A task whose goal group marks `cue[i]` while `order[i]` is the target that pays.
    pub fn cued(order: Vec<usize>, cue: Vec<usize>) -> Self {
        Self { order, cue }
    }

    /// The held-out "mismarked goal" tasks of `k` targets: the goal marks target `i`, the
    /// reward is for target `(i + shift) mod k`, one task per `i` (`shift` in `1..k`).
    /// Training never pairs a mark with another target, so the goal group's meaning differs.
    /// (For `k = 1`, or `shift` a multiple of `k`, the cue is the target: nothing is
    /// mismarked.)
    pub fn mismarked(k: usize, shift: usize) -> Vec<Self> {
        (0..k)
            .map(|i| Self::cued(vec![(i + shift) % k], vec![i]))
            .collect()
    }

    /// The held-out tasks "visit every target in order" of `k` targets: the `k` cyclic orders
    /// `i, i+1, ...` and their `k` reverses (for `k = 3`, all six permutations; for `k <= 2`
    /// the distinct ones), the goal marking the next target.
    pub fn tours(k: usize) -> Vec<Self> {
        let mut out: Vec<Self> = Vec::new();
        for i in 0..k {
            let forward: Vec<usize> = (0..k).map(|j| (i + j) % k).collect();
            let backward: Vec<usize> = (0..k).map(|j| (i + k - j) % k).collect();
            for order in [forward, backward] {
                let t = Self::sequence(order);
                if !out.contains(&t) {
                    out.push(t);
                }
            }
        }
        out
    }

    /// The training tasks of `k` targets: "go to target i" for each i.
    pub fn go_to_each(k: usize) -> Vec<Self> {
        (0..k).map(Self::go_to).collect()
    }

    /// The held-out tasks of `k` targets: "visit i, then j" for every ordered pair i != j.
    pub fn ordered_pairs(k: usize) -> Vec<Self> {
        (0..k)
            .flat_map(|i| {
                (0..k)
                    .filter(move |&j| j != i)
                    .map(move |j| Self::sequence(vec![i, j]))
            })
            .collect()
    }
}

/// Which observation groups a prior is given (the policy and critic always see all three).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriorView {
    /// `proprio` only.
    Proprio,
    /// `proprio` and `targets`: the prior knows where the targets are, not which one counts,
    /// so its best form is a mixture over targets (Eq. 7).
    ProprioTargets,
    /// Everything, including `goal` (no asymmetry).
    Full,
}

impl PriorView {
    /// The group names this view selects.
    pub fn groups(self) -> &'static [&'static str] {
        match self {
            PriorView::Proprio => &["proprio"],
            PriorView::ProprioTargets => &["proprio", "targets"],
            PriorView::Full => &["proprio", "targets", "goal"],
        }
    }
}

/// Settings of a multi-target environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetsConfig {
    /// Number of targets `K` (default 3).
    pub num_targets: usize,
    /// Distance at which a target counts as reached (default 0.1).
    pub radius: f32,
    /// Reward on arriving at the next target of the task (default 1).
    pub arrival_reward: f32,
    /// Extra reward on the terminating step, when the task is complete (default 1).
    pub completion_bonus: f32,
    /// Potential-based shaping weight: each step adds `shaping * (d_before - d_after)` for the
    /// distance to the current target (default 0: sparse).
    pub shaping: f32,
    /// Time limit in steps (default 100); the episode is truncated there.
    pub max_steps: usize,
    /// Minimum distance between targets in a random layout (default 0.35).
    pub min_separation: f32,
}

impl Default for TargetsConfig {
    fn default() -> Self {
        Self {
            num_targets: 3,
            radius: 0.1,
            arrival_reward: 1.0,
            completion_bonus: 1.0,
            shaping: 0.0,
            max_steps: 100,
            min_separation: 0.35,
        }
    }
}

/// The most targets a layout may have (`K`; the held-out tasks are the `K (K - 1)` ordered
/// pairs).
pub const MAX_TARGETS: usize = 64;
/// The longest time limit accepted, in steps.
pub const MAX_EPISODE_STEPS: usize = 1_000_000;

impl TargetsConfig {
    /// Checks every field: counts within `[1, MAX_TARGETS]` and `[1, MAX_EPISODE_STEPS]`,
    /// a finite positive radius, finite rewards and separation.
    ///
    /// # Errors
    /// [`EnvError::Config`] naming the field.
    pub fn validate(&self) -> Result<(), EnvError> {
        let bad = |field, value: f64, requirement| {
            Err(EnvError::Config {
                field,
                value,
                requirement,
            })
        };
        if self.num_targets == 0 || self.num_targets > MAX_TARGETS {
            return bad(
                "num_targets",
                self.num_targets as f64,
                "must be in [1, 64] (MAX_TARGETS)",
            );
        }
        if !(self.radius.is_finite() && self.radius > 0.0) {
            return bad("radius", f64::from(self.radius), "must be finite and > 0");
        }
        if self.max_steps == 0 || self.max_steps > MAX_EPISODE_STEPS {
            return bad(
                "max_steps",
                self.max_steps as f64,
                "must be in [1, 1000000] (MAX_EPISODE_STEPS)",
            );
        }
        for (field, v) in [
            ("arrival_reward", self.arrival_reward),
            ("completion_bonus", self.completion_bonus),
            ("shaping", self.shaping),
            ("min_separation", self.min_separation),
        ] {
            if !v.is_finite() {
                return bad(field, f64::from(v), "must be finite");
            }
        }
        Ok(())
    }
}

/// A body in the arena with `K` targets and a task drawn per episode.
///
/// # Observation groups
/// - `proprio`: the body's proprioception (task-agnostic);
/// - `targets`: the `K` target positions, `2K` floats (task-agnostic: the layout, not the goal);
/// - `goal`: a one-hot over the `K` targets marking the *next* target of the task.
///
/// # Rewards (sparse, as DeepMind's `box_arrangement` tasks)
/// Reaching the next target of the task (distance `<= radius`) gives `arrival_reward` and
/// advances the task; reaching the last one also gives `completion_bonus` and terminates
/// (discount 0). After `max_steps` steps the episode is truncated (discount 1). With
/// `shaping > 0`, each step adds `shaping * (d_before - d_after)`.
///
/// # Actions
/// `[-1, 1]^2`, clipped; NaN or a wrong length is a typed error.
#[derive(Debug, Clone)]
pub struct MultiTarget<B: Body> {
    body: B,
    config: TargetsConfig,
    tasks: Vec<Task>,
    spec: Vec<(String, usize)>,
    targets: Vec<[f32; 2]>,
    task: Task,
    progress: usize,
    steps: usize,
    running: bool,
}

impl<B: Body> MultiTarget<B> {
    /// An environment drawing each episode's task uniformly from `tasks`.
    ///
    /// # Errors
    /// [`EnvError::Config`] for a bad setting, [`EnvError::InvalidTask`] for no task or a
    /// target index `>= K`.
    pub fn new(body: B, config: TargetsConfig, tasks: Vec<Task>) -> Result<Self, EnvError> {
        config.validate()?;
        validate_tasks(&tasks, config.num_targets)?;
        let k = config.num_targets;
        let spec = vec![
            ("proprio".to_string(), body.proprio_dim()),
            ("targets".to_string(), 2 * k),
            ("goal".to_string(), k),
        ];
        Ok(Self {
            task: tasks[0].clone(),
            body,
            config,
            tasks,
            spec,
            targets: Vec::new(),
            progress: 0,
            steps: 0,
            running: false,
        })
    }

    /// The settings.
    pub fn config(&self) -> &TargetsConfig {
        &self.config
    }

    /// The body (for inspection and rendering).
    pub fn body(&self) -> &B {
        &self.body
    }

    /// The current target layout.
    pub fn targets(&self) -> &[[f32; 2]] {
        &self.targets
    }

    /// The current episode's task.
    pub fn task(&self) -> &Task {
        &self.task
    }

    /// Replaces the task distribution (for example with held-out tasks for transfer).
    ///
    /// # Errors
    /// [`EnvError::InvalidTask`].
    pub fn set_tasks(&mut self, tasks: Vec<Task>) -> Result<(), EnvError> {
        validate_tasks(&tasks, self.config.num_targets)?;
        self.tasks = tasks;
        Ok(())
    }

    /// Starts an episode from a given layout, body state and task (for hand-made cases and for
    /// rollouts from a fixed start state).
    ///
    /// # Errors
    /// [`EnvError::InvalidTask`] for a layout of the wrong size or a bad task.
    pub fn reset_to(
        &mut self,
        targets: Vec<[f32; 2]>,
        body: B,
        task: Task,
    ) -> Result<TimeStep, EnvError> {
        if targets.len() != self.config.num_targets {
            return Err(EnvError::InvalidTask {
                reason: format!(
                    "{} targets given, environment has {}",
                    targets.len(),
                    self.config.num_targets
                ),
            });
        }
        validate_tasks(std::slice::from_ref(&task), self.config.num_targets)?;
        self.targets = targets;
        self.body = body;
        self.task = task;
        self.progress = 0;
        self.steps = 0;
        self.running = true;
        Ok(self.time_step(StepType::First, 0.0, 1.0, None))
    }

    /// The leg of the task under way (the last one once the task is complete).
    fn leg(&self) -> usize {
        self.progress.min(self.task.order.len() - 1)
    }

    /// The position of the target that pays next (what a scripted controller with the task's
    /// knowledge steers to).
    pub fn current_target(&self) -> [f32; 2] {
        self.targets[self.task.order[self.leg()]]
    }

    /// The position of the target the `goal` group marks now (the same as
    /// [`MultiTarget::current_target`] unless the task's cue differs from its order).
    pub fn cued_target(&self) -> [f32; 2] {
        self.targets[self.task.cue[self.leg()]]
    }

    fn distance(&self) -> f32 {
        let (p, t) = (self.body.effector(), self.current_target());
        ((p[0] - t[0]).powi(2) + (p[1] - t[1]).powi(2)).sqrt()
    }

    fn observation(&self) -> Vec<Vec<f32>> {
        let k = self.config.num_targets;
        let mut goal = vec![0.0; k];
        goal[self.task.cue[self.leg()]] = 1.0;
        vec![
            self.body.proprio(),
            self.targets
                .iter()
                .flat_map(|t| t.iter().copied())
                .collect(),
            goal,
        ]
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

    fn random_layout(&self, rng: &mut StdRng) -> Vec<[f32; 2]> {
        let (r_min, r_max) = self.body.target_region();
        let k = self.config.num_targets;
        let mut out: Vec<[f32; 2]> = Vec::with_capacity(k);
        let mut attempts = 0;
        while out.len() < k {
            let angle = rng.random::<f32>() * std::f32::consts::TAU;
            let radius = r_min + (r_max - r_min) * rng.random::<f32>().sqrt();
            let p = [radius * angle.cos(), radius * angle.sin()];
            attempts += 1;
            let far = out.iter().all(|q| {
                ((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2)).sqrt() >= self.config.min_separation
            });
            if far || attempts > 1000 {
                out.push(p);
            }
        }
        out
    }
}

/// Checks a task list for `k` targets: at least one task, and every task a non-empty visiting
/// order of target indices below `k` with a cue of the same length, also below `k` (shared by
/// every environment with [`Task`]s).
///
/// # Errors
/// [`EnvError::InvalidTask`] naming the first bad task (or "no tasks given").
pub fn validate_tasks(tasks: &[Task], k: usize) -> Result<(), EnvError> {
    if tasks.is_empty() {
        return Err(EnvError::InvalidTask {
            reason: "no tasks given".into(),
        });
    }
    for t in tasks {
        if t.order.is_empty() || t.order.iter().any(|&i| i >= k) {
            return Err(EnvError::InvalidTask {
                reason: format!("task {:?} is empty or names a target >= {k}", t.order),
            });
        }
        if t.cue.len() != t.order.len() || t.cue.iter().any(|&i| i >= k) {
            return Err(EnvError::InvalidTask {
                reason: format!(
                    "task {:?}: its cue {:?} must mark one target below {k} per leg",
                    t.order, t.cue
                ),
            });
        }
    }
    Ok(())
}

impl<B: Body> Env for MultiTarget<B> {
    fn observation_spec(&self) -> &[(String, usize)] {
        &self.spec
    }

    fn action_spec(&self) -> ActionSpec {
        ActionSpec {
            dim: self.body.action_dim(),
            low: -1.0,
            high: 1.0,
        }
    }

    fn reset(&mut self, seed: u64) -> TimeStep {
        let mut rng = StdRng::seed_from_u64(seed);
        self.targets = self.random_layout(&mut rng);
        let u: Vec<f32> = (0..self.body.start_randomness())
            .map(|_| rng.random())
            .collect();
        self.body.reset(&u);
        self.task = self.tasks[rng.random_range(0..self.tasks.len())].clone();
        self.progress = 0;
        self.steps = 0;
        self.running = true;
        self.time_step(StepType::First, 0.0, 1.0, None)
    }

    fn step(&mut self, action: &[f32]) -> Result<TimeStep, EnvError> {
        if !self.running {
            return Err(EnvError::NeedsReset);
        }
        let action = clip_action(self.action_spec(), action)?;
        let before = self.distance();
        self.body.step(&action);
        self.steps += 1;
        let after = self.distance();
        let mut reward = self.config.shaping * (before - after);
        if after <= self.config.radius {
            reward += self.config.arrival_reward;
            self.progress += 1;
            if self.progress == self.task.order.len() {
                reward += self.config.completion_bonus;
                self.running = false;
                return Ok(self.time_step(
                    StepType::Last,
                    reward,
                    0.0,
                    Some(EpisodeEnd::Terminated),
                ));
            }
        }
        if self.steps >= self.config.max_steps {
            self.running = false;
            return Ok(self.time_step(StepType::Last, reward, 1.0, Some(EpisodeEnd::Truncated)));
        }
        Ok(self.time_step(StepType::Mid, reward, 1.0, None))
    }
}
