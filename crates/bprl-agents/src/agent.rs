//! Either algorithm's learner behind one type, with its acting: what the loop, checkpoints and
//! the command line hold, so they treat Algorithms 1 and 2 alike.

use crate::actor::{Action, HierActor, act_flat};
use crate::batch::LearnerBatch;
use crate::config::AgentConfig;
use crate::error::Result;
use crate::learner::{ActionBox, Diagnostics, FlatLearner, HierLearner, Metrics};
use bprl_envs::ActionSpec;
use bprl_policy::ObservationSpec;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// The learner of Algorithm 1 or 2 (`f32`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Learner {
    /// Algorithm 1.
    Flat(Box<FlatLearner<f32>>),
    /// Algorithm 2.
    Hierarchical(Box<HierLearner<f32>>),
}

impl Learner {
    /// A fresh learner for a configuration.
    ///
    /// # Errors
    /// An invalid configuration, a group the spec lacks ([`crate::ConfigError::UnknownGroup`]),
    /// bad sizes.
    pub fn new(config: &AgentConfig, spec: &ObservationSpec, action: &ActionSpec) -> Result<Self> {
        config.validate_for(spec)?;
        if config.learner.squash
            && !(action.low.is_finite() && action.high.is_finite() && action.low < action.high)
        {
            return Err(crate::ConfigError::Invalid {
                field: "learner.squash".into(),
                value: format!("action box [{}, {}]", action.low, action.high),
                requirement: "a squashed policy needs finite action bounds with low < high".into(),
            }
            .into());
        }
        let action_box = ActionBox {
            low: f64::from(action.low),
            high: f64::from(action.high),
        };
        let action_dim = action.dim;
        let seed = config.run.seed.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ 0x5eed;
        let mut learner = match &config.hierarchy {
            None => Learner::Flat(Box::new(FlatLearner::new(
                spec,
                action_dim,
                config.learner.clone(),
                config.prior.clone(),
                seed,
            )?)),
            Some(h) => Learner::Hierarchical(Box::new(HierLearner::new(
                spec,
                action_dim,
                config.learner.clone(),
                h.clone(),
                config.prior.clone(),
                seed,
            )?)),
        };
        match &mut learner {
            Learner::Flat(l) => l.action_box = action_box,
            Learner::Hierarchical(l) => l.action_box = action_box,
        }
        Ok(learner)
    }

    /// One update.
    ///
    /// # Errors
    /// As the algorithms' `update`.
    pub fn update(&mut self, batch: &LearnerBatch<f32>) -> Result<Metrics> {
        match self {
            Learner::Flat(l) => l.update(batch),
            Learner::Hierarchical(l) => l.update(batch),
        }
    }

    /// Whether two learners run the same algorithm on networks of the same sizes (a
    /// checkpoint's learner fits a fresh one built for the environment).
    pub fn same_architecture(&self, other: &Learner) -> bool {
        self.architecture_mismatch(other, "").is_none()
    }

    /// Every online parameter array's dotted name and shape.
    pub fn parameter_shapes(&self) -> Vec<(String, Vec<usize>)> {
        match self {
            Learner::Flat(l) => l.parameter_shapes(),
            Learner::Hierarchical(l) => l.parameter_shapes(),
        }
    }

    /// The first parameter array whose shape differs between `self` (expected) and `other`,
    /// as [`crate::AgentError::ParameterShape`] with `context`; `None` when every array
    /// matches (and both are the same algorithm).
    pub fn architecture_mismatch(
        &self,
        other: &Learner,
        context: &str,
    ) -> Option<crate::AgentError> {
        let kind = |l: &Learner| match l {
            Learner::Flat(_) => "algorithm 1 (flat)",
            Learner::Hierarchical(_) => "algorithm 2 (hierarchical)",
        };
        if kind(self) != kind(other) {
            return Some(crate::AgentError::ParameterShape {
                context: format!(
                    "{context}: {} learner offered to an {} one",
                    kind(other),
                    kind(self)
                ),
                name: String::new(),
                expected: Vec::new(),
                found: Vec::new(),
            });
        }
        bprl_nn::first_shape_mismatch(&self.parameter_shapes(), &other.parameter_shapes()).map(
            |(name, expected, found)| crate::AgentError::ParameterShape {
                context: context.into(),
                name,
                expected,
                found,
            },
        )
    }

    /// The discount `gamma`.
    pub fn gamma(&self) -> f64 {
        f64::from(match self {
            Learner::Flat(l) => l.config.gamma,
            Learner::Hierarchical(l) => l.config.gamma,
        })
    }

    /// The learner's diagnostics at states `x` with the actions taken there (and latents, for
    /// Algorithm 2): the online critics' minimum `Q(x, a[, z])`, the policy's entropy, mean
    /// std and KL to the prior, and the multipliers. Zeros for no states.
    ///
    /// # Errors
    /// Observations or actions of the wrong width.
    pub fn diagnose(&self, at: &[(Vec<f32>, Action)]) -> Result<Diagnostics> {
        use ndarray::{Array2, Axis};
        let shape = |e: ndarray::ShapeError| crate::AgentError::Shape(e.to_string());
        type Row<'a> = &'a dyn Fn(&(Vec<f32>, Action)) -> Vec<f32>;
        let rows = |f: Row<'_>| -> Result<Array2<f32>> {
            let v: Vec<Vec<f32>> = at.iter().map(f).collect();
            let w = v.first().map_or(0, Vec::len);
            Array2::from_shape_vec((v.len(), w), v.concat()).map_err(shape)
        };
        if at.is_empty() {
            return Ok(Diagnostics::default());
        }
        let x = rows(&|(o, _)| o.clone())?;
        let a = rows(&|(_, a)| a.action.clone())?;
        let mean = |v: ndarray::Array1<f32>| f64::from(v.mean().unwrap_or(0.0));
        // The online critics' minimum at the taken actions: the learner's own clipped double Q.
        let q_min = |tiles, critics: Vec<&bprl_policy::Critic<f32>>, z: Option<&Array2<f32>>| {
            let q = crate::learner::targets::min_q_samples(
                tiles,
                &critics,
                x.view(),
                a.view().insert_axis(Axis(0)),
                z.map(|z| z.view().insert_axis(Axis(0))),
            )?;
            Ok::<f64, crate::AgentError>(f64::from(q.mean().unwrap_or(0.0)))
        };
        // KL(d || prior) of the policy (or its latent level) to a learned or fixed N(0, I)
        // prior; `learned` is the learned prior's distribution at `x`, if any.
        let kl_to_prior = |kind: &crate::PriorConfig,
                           d: &bprl_distributions::DiagGaussian<f32>,
                           learned: Option<bprl_distributions::DiagGaussian<f32>>|
         -> Result<f64> {
            Ok(match (kind, learned) {
                (crate::PriorConfig::Learned { .. }, Some(p)) => mean(d.kl(&p)?),
                (crate::PriorConfig::StandardNormal, _) => mean(d.kl(
                    &bprl_distributions::DiagGaussian::standard_normal(x.nrows(), d.dim()),
                )?),
                _ => 0.0,
            })
        };
        use crate::learner::Networks;
        Ok(match self {
            Learner::Flat(l) => {
                let d = l.online.policy.forward(x.view(), None)?.dist;
                let learned = match &l.online.prior {
                    Some(p) => Some(p.forward(x.view(), None)?.dist),
                    None => None,
                };
                let kl = kl_to_prior(&l.prior_kind, &d, learned)?;
                Diagnostics {
                    q: q_min(&l.tiles, l.online.critics(), None)?,
                    entropy: mean(d.entropy()),
                    std: mean(d.std().mean_axis(Axis(1)).unwrap_or_default()),
                    kl,
                    alpha: l.alpha().into(),
                    beta: l.beta().into(),
                }
            }
            Learner::Hierarchical(l) => {
                let z = rows(&|(_, a)| a.latent.clone().unwrap_or_default())?;
                let high = l.online.policy.high.forward(x.view(), None)?.dist;
                let low = l.online.policy.low.forward(x.view(), Some(z.view()))?.dist;
                let learned = match &l.online.prior {
                    Some(p) => Some(p.high.forward(x.view(), None)?.dist),
                    None => None,
                };
                let kl = kl_to_prior(&l.prior_kind, &high, learned)?;
                Diagnostics {
                    q: q_min(&l.tiles, l.online.critics(), Some(&z))?,
                    entropy: mean(high.entropy() + low.entropy()),
                    std: mean(low.std().mean_axis(Axis(1)).unwrap_or_default()),
                    kl,
                    alpha: l.alpha().into(),
                    beta: l.beta().into(),
                }
            }
        })
    }

    /// Learner steps taken.
    pub fn steps(&self) -> u64 {
        match self {
            Learner::Flat(l) => l.steps,
            Learner::Hierarchical(l) => l.steps,
        }
    }

    /// Freezes (or unfreezes) the prior (transfer).
    pub fn set_prior_frozen(&mut self, frozen: bool) {
        match self {
            Learner::Flat(l) => l.prior_frozen = frozen,
            Learner::Hierarchical(l) => l.prior_frozen = frozen,
        }
    }

    /// A fresh acting state for an episode.
    ///
    /// # Errors
    /// A zero hold length.
    pub fn actor(&self) -> Result<ActorState> {
        Ok(match self {
            Learner::Flat(_) => ActorState::Flat,
            Learner::Hierarchical(l) => {
                ActorState::Hierarchical(HierActor::new(l.hierarchy().hold_steps)?)
            }
        })
    }

    /// The acting half of the learner: a copy of the online policy with its action box and
    /// latent schedule, all an actor in another process needs to act as [`Learner::act`] does.
    pub fn policy(&self) -> Policy {
        match self {
            Learner::Flat(l) => Policy::Flat {
                policy: Box::new(l.online.policy.clone()),
                squash: l.config.squash.then_some(l.action_box),
            },
            Learner::Hierarchical(l) => Policy::Hierarchical {
                policy: Box::new(l.online.policy.clone()),
                squash: l.config.squash.then_some(l.action_box),
                hold_steps: l.hierarchy().hold_steps,
            },
        }
    }

    /// Acts with the online policy.
    ///
    /// # Errors
    /// A bad observation.
    pub fn act<R: Rng + ?Sized>(
        &self,
        state: &mut ActorState,
        obs: &[f32],
        episode_start: bool,
        greedy: bool,
        rng: &mut R,
    ) -> Result<Action> {
        let view = match self {
            Learner::Flat(l) => {
                PolicyRef::Flat(&l.online.policy, l.config.squash.then_some(l.action_box))
            }
            Learner::Hierarchical(l) => PolicyRef::Hierarchical(
                &l.online.policy,
                l.config.squash.then_some(l.action_box),
                l.hierarchy().hold_steps,
            ),
        };
        view.act(state, obs, episode_start, greedy, rng)
    }

    /// Acts with the *prior* (for prior rollouts), if the prior is learned.
    ///
    /// # Errors
    /// A bad observation.
    pub fn act_prior<R: Rng + ?Sized>(&self, obs: &[f32], rng: &mut R) -> Result<Option<Vec<f32>>> {
        let x = ndarray::Array2::from_shape_vec((1, obs.len()), obs.to_vec())
            .map_err(|e| crate::AgentError::Shape(e.to_string()))?;
        Ok(match self {
            Learner::Flat(l) => match &l.online.prior {
                Some(p) => Some(
                    p.forward(x.view(), None)?
                        .dist
                        .rsample(rng)
                        .sample
                        .row(0)
                        .to_vec(),
                ),
                None => None,
            },
            Learner::Hierarchical(l) => match &l.online.prior {
                Some(p) => {
                    let z = p.high.forward(x.view(), None)?.dist.rsample(rng).sample;
                    let low = match &p.low {
                        bprl_policy::LowLevelPrior::Shared => &l.online.policy.low,
                        bprl_policy::LowLevelPrior::Separate(q) => q,
                    };
                    Some(
                        low.forward(x.view(), Some(z.view()))?
                            .dist
                            .rsample(rng)
                            .sample
                            .row(0)
                            .to_vec(),
                    )
                }
                None => None,
            },
        })
    }

    /// Copies the prior (and, for Algorithm 2, optionally the low level) from another learner
    /// of the same architecture (transfer).
    ///
    /// # Errors
    /// [`crate::AgentError::Shape`] when the architectures differ.
    pub fn load_prior_from(&mut self, other: &Learner, with_low_level: bool) -> Result<()> {
        use bprl_nn::Parameters;
        /// The first array of `src` whose shape differs from `dst`'s, named under `prefix`.
        fn check<P: Parameters<f32>>(prefix: &str, dst: &P, src: &P) -> Result<()> {
            match bprl_nn::first_shape_mismatch(&dst.shapes(), &src.shapes()) {
                None => Ok(()),
                Some((name, expected, found)) => Err(crate::AgentError::ParameterShape {
                    context: "transfer".into(),
                    name: bprl_nn::join(prefix, &name),
                    expected,
                    found,
                }),
            }
        }
        /// Copies a prior into another of the same shapes (online and target).
        fn copy_prior<P: Parameters<f32> + Clone>(
            online: &mut Option<P>,
            target: &mut Option<P>,
            source: &Option<P>,
        ) -> Result<()> {
            match (online.as_mut(), source) {
                (Some(dst), Some(src)) => {
                    check("prior", dst, src)?;
                    dst.copy_from(src);
                    target.clone_from(online);
                    Ok(())
                }
                (dst, src) => Err(crate::AgentError::Shape(format!(
                    "transfer: the target learner {} a learned prior, the source {}",
                    if dst.is_some() { "has" } else { "has no" },
                    if src.is_some() { "has one" } else { "has none" },
                ))),
            }
        }
        match (self, other) {
            (Learner::Flat(a), Learner::Flat(b)) => {
                copy_prior(&mut a.online.prior, &mut a.target.prior, &b.online.prior)?;
            }
            (Learner::Hierarchical(a), Learner::Hierarchical(b)) => {
                if with_low_level {
                    check("policy.low", &a.online.policy.low, &b.online.policy.low)?;
                }
                copy_prior(&mut a.online.prior, &mut a.target.prior, &b.online.prior)?;
                if with_low_level {
                    a.online.policy.low.copy_from(&b.online.policy.low);
                    a.target.policy.low.copy_from(&b.online.policy.low);
                }
            }
            _ => {
                return Err(crate::AgentError::Shape(
                    "transfer: source and target learners are different algorithms".into(),
                ));
            }
        }
        Ok(())
    }
}

/// Per-episode acting state.
#[derive(Debug, Clone)]
pub enum ActorState {
    /// Nothing to hold.
    Flat,
    /// The held latent.
    Hierarchical(HierActor),
}

/// The acting half of a [`Learner`] ([`Learner::policy`]): the online policy `pi(a|x)` (or
/// `pi^H(z|x)`, `pi^L(a|z,x)` with the latent hold of Algorithm 2) and the action box a squashed
/// policy maps onto. What a learner publishes to actors in other processes; acting with it
/// gives the actions and behavior log-probabilities [`Learner::act`] gives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Policy {
    /// Algorithm 1's policy.
    Flat {
        /// `pi(a | x)`.
        policy: Box<bprl_policy::GaussianPolicy<f32>>,
        /// The action box of a squashed policy.
        squash: Option<ActionBox>,
    },
    /// Algorithm 2's policy.
    Hierarchical {
        /// `pi^H(z | x)` and `pi^L(a | z, x_L)`.
        policy: Box<bprl_policy::HierarchicalPolicy<f32>>,
        /// The action box of a squashed policy.
        squash: Option<ActionBox>,
        /// Steps each latent is held.
        hold_steps: usize,
    },
}

impl Policy {
    /// A fresh acting state for an episode.
    ///
    /// # Errors
    /// A zero hold length.
    pub fn actor(&self) -> Result<ActorState> {
        Ok(match self {
            Policy::Flat { .. } => ActorState::Flat,
            Policy::Hierarchical { hold_steps, .. } => {
                ActorState::Hierarchical(HierActor::new(*hold_steps)?)
            }
        })
    }

    /// Acts on one observation (greedy: the mean), as [`Learner::act`].
    ///
    /// # Errors
    /// A bad observation; a zero hold length.
    pub fn act<R: Rng + ?Sized>(
        &self,
        state: &mut ActorState,
        obs: &[f32],
        episode_start: bool,
        greedy: bool,
        rng: &mut R,
    ) -> Result<Action> {
        let view = match self {
            Policy::Flat { policy, squash } => PolicyRef::Flat(policy, *squash),
            Policy::Hierarchical {
                policy,
                squash,
                hold_steps,
            } => PolicyRef::Hierarchical(policy, *squash, *hold_steps),
        };
        view.act(state, obs, episode_start, greedy, rng)
    }

    /// `(name, shape)` of every parameter array, in a fixed order (to check a published policy
    /// against the architecture an actor expects).
    pub fn parameter_shapes(&self) -> Vec<(String, Vec<usize>)> {
        use bprl_nn::Parameters;
        match self {
            Policy::Flat { policy, .. } => policy.shapes(),
            Policy::Hierarchical { policy, .. } => policy.shapes(),
        }
    }
}

/// A borrowed acting policy: what [`Learner::act`] and [`Policy::act`] both act through.
enum PolicyRef<'a> {
    Flat(&'a bprl_policy::GaussianPolicy<f32>, Option<ActionBox>),
    Hierarchical(
        &'a bprl_policy::HierarchicalPolicy<f32>,
        Option<ActionBox>,
        usize,
    ),
}

impl PolicyRef<'_> {
    fn act<R: Rng + ?Sized>(
        &self,
        state: &mut ActorState,
        obs: &[f32],
        episode_start: bool,
        greedy: bool,
        rng: &mut R,
    ) -> Result<Action> {
        match (self, state) {
            (PolicyRef::Flat(policy, squash), _) => act_flat(policy, *squash, obs, greedy, rng),
            (PolicyRef::Hierarchical(policy, squash, _), ActorState::Hierarchical(a)) => {
                a.act(policy, *squash, obs, episode_start, greedy, rng)
            }
            (PolicyRef::Hierarchical(_, _, hold), s) => {
                *s = ActorState::Hierarchical(HierActor::new(*hold)?);
                self.act(s, obs, episode_start, greedy, rng)
            }
        }
    }
}
