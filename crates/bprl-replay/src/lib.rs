//! # bprl-replay
//!
//! Sequence replay for off-policy actor/learner training, as the behavior-prior agent
//! (Tirumala et al. 2020, Algorithms 1 and 2) needs it: Retrace learns from sequences, so the
//! replay stores sequences.
//!
//! ## The domain
//!
//! Actors produce a stream of [`Step`]s: an observation (named groups such as `proprio` and
//! `task`, so a prior can be given only some of them), the action taken, its reward and
//! discount, the behavior log-probability `log mu(a|x)` that Retrace's importance ratios need,
//! and extras (a latent `z`, a task id). A [`SequenceAdder`] cuts each episode into [`Item`]s of
//! `L+1` consecutive steps with period `L`: consecutive items overlap by one step, the bootstrap
//! step of the earlier one. The end of an episode pads the final item with masked rows; no item
//! mixes two episodes.
//!
//! A [`Replay`] holds items in a FIFO table of fixed capacity, samples batches uniformly, and
//! returns them time-major (`[L+1, B, ...]`, the layout of `bprl-retrace`). A
//! samples-per-insert [`RateLimiterConfig`] keeps actors and learner in step when they run in
//! different threads: blocked calls wait with timeouts and [`Replay::shutdown`] releases them.
//! [`Replay::save`] and [`Replay::load`] snapshot everything to one checksummed file, written
//! atomically.
//!
//! ## Conventions
//!
//! - Step `t` holds `x_t`, `a_t`, and the `r_t`, `d_t` of the transition `(x_t, a_t) -> x_{t+1}`.
//!   In an item, transition `t < L` is usable exactly when `mask[t + 1] = 1`.
//! - Everything is `f32`. Build-time errors ([`ConfigError`]) and run-time errors
//!   ([`ReplayError`]) are separate types; nothing panics on user data.
//! - Sampling is deterministic for a given seed and sequence of operations (in one thread).
//! - Memory is bounded: at most `capacity` items, reported by [`Replay::stats`].
//!
//! ## Example
//!
//! ```
//! use bprl_replay::{RateLimiterConfig, Replay, ReplayConfig, SequenceAdder, Step, StepKind, StepSpec};
//! use std::collections::BTreeMap;
//!
//! let spec = StepSpec::new(vec![("proprio".into(), 2)], 1, vec![])?;
//! let config = ReplayConfig {
//!     capacity: 100,
//!     sequence_length: 2,
//!     rate_limiter: RateLimiterConfig::min_size(1),
//!     seed: 0,
//! };
//! let replay = Replay::new(spec.clone(), config)?;
//! let mut adder = SequenceAdder::new(spec, 2)?;
//! for t in 0..5 {
//!     let kind = match t { 0 => StepKind::First, 4 => StepKind::Last, _ => StepKind::Mid };
//!     let step = Step {
//!         observation: BTreeMap::from([("proprio".into(), vec![t as f32, 0.0])]),
//!         action: vec![0.5], reward: 1.0, discount: 1.0, log_prob: -0.3,
//!         extras: BTreeMap::new(), kind,
//!     };
//!     for item in adder.add(&step)? {
//!         replay.insert(item, None)?;
//!     }
//! }
//! let batch = replay.sample(4, None)?;
//! assert_eq!(batch.rewards.shape, [3, 4, 1]); // [L+1, B, 1]
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

// Every public item is documented: users pick this crate alone, so its docs are the manual.
#![deny(missing_docs)]

mod error;
mod item;
mod limiter;
mod replay;
mod snapshot;
mod spec;
mod table;

pub use error::{
    ConfigError, MAX_BATCH, MAX_BATCH_FLOATS, MAX_CAPACITY, MAX_GROUP_LEN, MAX_SEQUENCE_LENGTH,
    MAX_STEP_FLOATS, ReplayError, Result,
};
pub use item::{Item, SequenceAdder};
pub use limiter::RateLimiterConfig;
pub use replay::{Replay, ReplayConfig, Stats};
pub use snapshot::{FORMAT_VERSION, MAGIC};
pub use spec::{Step, StepKind, StepSpec};
pub use table::{Batch, TimeMajor};
