//! The learners of Algorithms 1 and 2 on one skeleton ([`crate::Learner`] holds either).
//!
//! | module | what |
//! |---|---|
//! | [`update`] | the skeleton: [`LearnerState`], the [`Algorithm`] trait, the update driver, the step RNG |
//! | [`networks`] | [`FlatNetworks`], [`HierNetworks`] and the [`Networks`] trait the skeleton steps and copies |
//! | [`targets`] | what both algorithms share: loss weights, soft value, Retrace targets, critic loss |
//! | [`optim`] | the three Adam optimizers |
//! | [`metrics`] | [`Metrics`] and the guard rail on non-finite losses |
//! | [`multipliers`] | the tuned `alpha` and `beta` (learned Lagrange multipliers) |
//! | [`squash`] | the tanh squash onto the action box and its log-determinant |
//! | [`flat`] | Algorithm 1's named losses ([`Flat`]) |
//! | [`hierarchical`] | Algorithm 2's named losses ([`Hierarchical`]) |
//!
//! Dependencies run one way: `flat` and `hierarchical` use `targets`, `update`, `networks`;
//! `update` uses `optim`, `networks`, `metrics`; `optim` uses `networks`.

pub mod flat;
pub mod hierarchical;
pub mod metrics;
pub mod multipliers;
pub mod networks;
pub mod optim;
pub mod squash;
pub mod targets;
pub mod update;

pub use flat::{Flat, FlatGradients, FlatLearner, UpdateNoise};
pub use hierarchical::{HierGradients, HierLearner, HierNoise, Hierarchical, LossPasses};
pub use metrics::{Diagnostics, Metrics};
pub use multipliers::{Multiplier, Multipliers};
pub use networks::{FlatNetworks, Gradients, HierNetworks, Networks};
pub use squash::ActionBox;
pub use update::{Algorithm, LearnerState, step_rng};
