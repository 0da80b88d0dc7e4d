//! The networks of both algorithms, behind one trait so the learner skeleton can step, copy and
//! count them without knowing which algorithm it runs.

use crate::config::{HierarchyConfig, LearnerConfig, LowLevel, PriorConfig};
use crate::error::Result;
use bprl_nn::Parameters;
use bprl_policy::{
    Critic, CriticConfig, Float, GaussianPolicy, GaussianPolicyConfig, HierarchicalConfig,
    HierarchicalPolicy, HierarchicalPrior, LowLevelPrior, ObservationSpec, Selection,
};
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

/// The policy, critic and (learned) prior of an algorithm: what the skeleton needs to step the
/// optimizers, copy targets and count parameters.
pub trait Networks<F: Float>: Clone {
    /// The policy `pi`.
    type Policy: Parameters<F> + Clone;
    /// The learned prior `pi0`.
    type Prior: Parameters<F> + Clone;

    /// The policy.
    fn policy(&self) -> &Self::Policy;
    /// The policy, mutably.
    fn policy_mut(&mut self) -> &mut Self::Policy;
    /// The critic.
    fn critic(&self) -> &Critic<F>;
    /// The critic, mutably.
    fn critic_mut(&mut self) -> &mut Critic<F>;
    /// The second critic of twin critics ([`LearnerConfig::twin_critics`]).
    fn critic2(&self) -> Option<&Critic<F>>;
    /// The second critic, mutably.
    fn critic2_mut(&mut self) -> Option<&mut Critic<F>>;
    /// The prior, if learned.
    fn prior(&self) -> Option<&Self::Prior>;
    /// The prior, mutably, if learned.
    fn prior_mut(&mut self) -> Option<&mut Self::Prior>;

    /// Hard copy of every network (targets `<-` online).
    fn copy_from_networks(&mut self, other: &Self) {
        self.policy_mut().copy_from(other.policy());
        self.critic_mut().copy_from(other.critic());
        if let (Some(a), Some(b)) = (self.critic2_mut(), other.critic2()) {
            a.copy_from(b);
        }
        if let (Some(a), Some(b)) = (self.prior_mut(), other.prior()) {
            a.copy_from(b);
        }
    }

    /// Polyak averaging of every network, `self <- (1 - tau) self + tau other` (targets
    /// following the online networks).
    fn polyak_from_networks(&mut self, other: &Self, tau: F) {
        self.policy_mut().polyak_from(other.policy(), tau);
        self.critic_mut().polyak_from(other.critic(), tau);
        if let (Some(a), Some(b)) = (self.critic2_mut(), other.critic2()) {
            a.polyak_from(b, tau);
        }
        if let (Some(a), Some(b)) = (self.prior_mut(), other.prior()) {
            a.polyak_from(b, tau);
        }
    }

    /// The critics: one, or the twins.
    fn critics(&self) -> Vec<&Critic<F>> {
        std::iter::once(self.critic())
            .chain(self.critic2())
            .collect()
    }

    /// Every parameter array's dotted name (`policy.`, `critic.`, `critic2.`, `prior.`) and
    /// shape, in a fixed order.
    fn parameter_shapes(&self) -> Vec<(String, Vec<usize>)> {
        let named = |prefix: &str, shapes: Vec<(String, Vec<usize>)>| {
            shapes
                .into_iter()
                .map(|(n, s)| (bprl_nn::join(prefix, &n), s))
                .collect::<Vec<_>>()
        };
        let mut out = named("policy", self.policy().shapes());
        out.extend(named("critic", self.critic().shapes()));
        if let Some(c) = self.critic2() {
            out.extend(named("critic2", c.shapes()));
        }
        if let Some(p) = self.prior() {
            out.extend(named("prior", p.shapes()));
        }
        out
    }

    /// Parameters per network: policy, critics (both twins), prior (0 without a learned prior).
    fn parameter_counts(&self) -> (usize, usize, usize) {
        (
            self.policy().num_params(),
            self.critics().iter().map(|c| c.num_params()).sum(),
            self.prior().map_or(0, Parameters::num_params),
        )
    }
}

/// Gradients of one update, each the type of its network.
#[derive(Debug, Clone)]
pub struct Gradients<F: Float, N: Networks<F>> {
    /// Policy gradient.
    pub policy: N::Policy,
    /// Critic gradient.
    pub critic: Critic<F>,
    /// The second critic's gradient (twin critics).
    pub critic2: Option<Critic<F>>,
    /// Prior gradient (learned prior only).
    pub prior: Option<N::Prior>,
}

/// The critic of both algorithms: `Q(x, a)`, or `Q(x, a, z)` when `latent_dim > 0`; it sees
/// every group.
fn critic<F: Float>(
    spec: &ObservationSpec,
    action_dim: usize,
    latent_dim: usize,
    cfg: &LearnerConfig,
    rng: &mut StdRng,
) -> Result<Critic<F>> {
    let ccfg = CriticConfig {
        hidden: cfg.critic_hidden.clone(),
        action_dim,
        latent_dim,
        output_init_std: 1e-4,
    };
    Ok(Critic::new(spec.select_all(), &ccfg, rng)?)
}

/// The selection of a learned prior's groups.
fn prior_selection(spec: &ObservationSpec, prior: &PriorConfig) -> Result<Option<Selection>> {
    Ok(match prior.groups() {
        Some(groups) => Some(spec.select(&groups)?),
        None => None,
    })
}

/// The online (or target) networks of Algorithm 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound = "F: Float")]
pub struct FlatNetworks<F> {
    /// `pi(a | x)`, sees every group.
    pub policy: GaussianPolicy<F>,
    /// `Q(x, a)`, sees every group.
    pub critic: Critic<F>,
    /// The second critic `Q_2(x, a)` of twin critics.
    #[serde(default)]
    pub critic2: Option<Critic<F>>,
    /// `pi0(a | x^D)` for a learned prior.
    pub prior: Option<GaussianPolicy<F>>,
}

impl<F: Float> FlatNetworks<F> {
    /// Fresh networks for an observation spec and action dimension.
    ///
    /// # Errors
    /// A prior naming a group the spec lacks, or bad sizes.
    pub fn new(
        spec: &ObservationSpec,
        action_dim: usize,
        cfg: &LearnerConfig,
        prior: &PriorConfig,
        rng: &mut StdRng,
    ) -> Result<Self> {
        let pcfg = GaussianPolicyConfig {
            hidden: cfg.policy_hidden.clone(),
            output_dim: action_dim,
            extra_input_dim: 0,
            min_scale: cfg.min_scale,
        };
        let bounded = |p: GaussianPolicy<F>| p.with_head_bounds(cfg.mean_scale, cfg.max_scale);
        // Initialization order (prior, policy, critic, critic 2) fixes the networks a seed
        // gives.
        let prior = prior_selection(spec, prior)?
            .map(|sel| GaussianPolicy::new(sel, &pcfg, rng).map(bounded))
            .transpose()?;
        let policy = bounded(GaussianPolicy::new(spec.select_all(), &pcfg, rng)?);
        let critic1 = critic(spec, action_dim, 0, cfg, rng)?;
        let critic2 = cfg
            .twin_critics
            .then(|| critic(spec, action_dim, 0, cfg, rng))
            .transpose()?;
        Ok(Self {
            policy,
            critic: critic1,
            critic2,
            prior,
        })
    }
}

impl<F: Float> Networks<F> for FlatNetworks<F> {
    type Policy = GaussianPolicy<F>;
    type Prior = GaussianPolicy<F>;
    fn policy(&self) -> &GaussianPolicy<F> {
        &self.policy
    }
    fn policy_mut(&mut self) -> &mut GaussianPolicy<F> {
        &mut self.policy
    }
    fn critic(&self) -> &Critic<F> {
        &self.critic
    }
    fn critic_mut(&mut self) -> &mut Critic<F> {
        &mut self.critic
    }
    fn critic2(&self) -> Option<&Critic<F>> {
        self.critic2.as_ref()
    }
    fn critic2_mut(&mut self) -> Option<&mut Critic<F>> {
        self.critic2.as_mut()
    }
    fn prior(&self) -> Option<&GaussianPolicy<F>> {
        self.prior.as_ref()
    }
    fn prior_mut(&mut self) -> Option<&mut GaussianPolicy<F>> {
        self.prior.as_mut()
    }
}

/// The online (or target) networks of Algorithm 2.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound = "F: Float")]
pub struct HierNetworks<F> {
    /// `pi^H(z | x)` and `pi^L(a | z, x_L)`.
    pub policy: HierarchicalPolicy<F>,
    /// `Q(x, a, z)`.
    pub critic: Critic<F>,
    /// The second critic `Q_2(x, a, z)` of twin critics.
    #[serde(default)]
    pub critic2: Option<Critic<F>>,
    /// The learned hierarchical prior.
    pub prior: Option<HierarchicalPrior<F>>,
}

impl<F: Float> HierNetworks<F> {
    /// Fresh networks. The low level reads [`HierarchyConfig::low_level_groups`] (default: the
    /// learned prior's groups, so that a shared low level is a valid prior component, or every
    /// group without a learned prior); a separate prior low level reads the prior's groups.
    ///
    /// # Errors
    /// Bad sizes or groups.
    pub fn new(
        spec: &ObservationSpec,
        action_dim: usize,
        cfg: &LearnerConfig,
        h: &HierarchyConfig,
        prior: &PriorConfig,
        rng: &mut StdRng,
    ) -> Result<Self> {
        let hc = HierarchicalConfig {
            hidden: cfg.policy_hidden.clone(),
            latent_dim: h.latent_dim,
            action_dim,
            min_scale: cfg.min_scale,
        };
        let prior_sel = prior_selection(spec, prior)?;
        let low_sel = match (&h.low_level_groups, &prior_sel) {
            (Some(groups), _) => {
                let names: Vec<&str> = groups.iter().map(String::as_str).collect();
                spec.select(&names)?
            }
            (None, Some(sel)) => sel.clone(),
            (None, None) => spec.select_all(),
        };
        let bounded = |p: GaussianPolicy<F>| p.with_head_bounds(cfg.mean_scale, cfg.max_scale);
        // Initialization order (policy, prior, critic, critic 2) fixes the networks a seed
        // gives.
        let mut policy = HierarchicalPolicy::new(spec.select_all(), low_sel, &hc, rng)?;
        policy.high = bounded(policy.high);
        policy.low = bounded(policy.low);
        let prior = prior_sel
            .map(|sel| {
                let low = (h.low_level == LowLevel::Separate).then(|| sel.clone());
                HierarchicalPrior::new(sel, low, &hc, rng).map(|mut p| {
                    p.high = bounded(p.high);
                    if let LowLevelPrior::Separate(q) = p.low {
                        p.low = LowLevelPrior::Separate(Box::new(bounded(*q)));
                    }
                    p
                })
            })
            .transpose()?;
        let critic1 = critic(spec, action_dim, h.latent_dim, cfg, rng)?;
        let critic2 = cfg
            .twin_critics
            .then(|| critic(spec, action_dim, h.latent_dim, cfg, rng))
            .transpose()?;
        Ok(Self {
            policy,
            critic: critic1,
            critic2,
            prior,
        })
    }
}

impl<F: Float> Networks<F> for HierNetworks<F> {
    type Policy = HierarchicalPolicy<F>;
    type Prior = HierarchicalPrior<F>;
    fn policy(&self) -> &HierarchicalPolicy<F> {
        &self.policy
    }
    fn policy_mut(&mut self) -> &mut HierarchicalPolicy<F> {
        &mut self.policy
    }
    fn critic(&self) -> &Critic<F> {
        &self.critic
    }
    fn critic_mut(&mut self) -> &mut Critic<F> {
        &mut self.critic
    }
    fn critic2(&self) -> Option<&Critic<F>> {
        self.critic2.as_ref()
    }
    fn critic2_mut(&mut self) -> Option<&mut Critic<F>> {
        self.critic2.as_mut()
    }
    fn prior(&self) -> Option<&HierarchicalPrior<F>> {
        self.prior.as_ref()
    }
    fn prior_mut(&mut self) -> Option<&mut HierarchicalPrior<F>> {
        self.prior.as_mut()
    }
}
