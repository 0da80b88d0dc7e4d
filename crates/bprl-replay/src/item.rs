//! Items (sequences of `L+1` steps) and the adder that cuts a step stream into them.

use crate::error::{ReplayError, Result};
use crate::spec::{Step, StepKind, StepSpec};
use serde::{Deserialize, Serialize};

/// One replay item: `L+1` consecutive steps of one episode, stored row-major (`[L+1, width]`
/// per field) so a batch can be assembled by row copies.
///
/// Row `t` is step `t`. `mask[t] = 1` for a real step and 0 for padding after an episode's
/// end; `last[t] = 1` on an episode's final observation. Transition `t` (`t < L`) is usable
/// for learning exactly when `mask[t + 1] = 1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// Number of rows, `L+1`.
    pub steps: usize,
    /// Observation groups concatenated in spec order, `[L+1, observation_len]`.
    pub observations: Vec<f32>,
    /// Actions, `[L+1, action_dim]`.
    pub actions: Vec<f32>,
    /// Extras concatenated in spec order, `[L+1, extras_len]`.
    pub extras: Vec<f32>,
    /// Rewards, `[L+1]`.
    pub rewards: Vec<f32>,
    /// Environment discounts, `[L+1]`.
    pub discounts: Vec<f32>,
    /// Behavior log-probabilities of the actions, `[L+1]`.
    pub log_probs: Vec<f32>,
    /// 1 for a real step, 0 for padding, `[L+1]`.
    pub mask: Vec<f32>,
    /// 1 on an episode's final observation, `[L+1]`.
    pub last: Vec<f32>,
    /// The adder's episode counter (1 for its first episode).
    pub episode: u64,
    /// Index within the episode of row 0.
    pub offset: u64,
}

impl Item {
    fn empty(spec: &StepSpec, steps: usize, episode: u64, offset: u64) -> Self {
        Self {
            steps,
            observations: Vec::with_capacity(steps * spec.observation_len()),
            actions: Vec::with_capacity(steps * spec.action_dim()),
            extras: Vec::with_capacity(steps * spec.extras_len()),
            rewards: Vec::with_capacity(steps),
            discounts: Vec::with_capacity(steps),
            log_probs: Vec::with_capacity(steps),
            mask: Vec::with_capacity(steps),
            last: Vec::with_capacity(steps),
            episode,
            offset,
        }
    }

    /// Checks the item's lengths against a spec and a row count, and its values: every float
    /// finite, discounts in `[0, 1]`, mask and last flags 0 or 1.
    ///
    /// # Errors
    /// [`ReplayError::ItemMismatch`] naming the first field of the wrong length;
    /// [`ReplayError::BadItemValue`] naming the first bad value.
    pub fn check(&self, spec: &StepSpec, steps: usize) -> Result<()> {
        self.check_lengths(spec, steps)?;
        self.check_values()
    }

    fn check_values(&self) -> Result<()> {
        let bad = |field: &'static str, v: &[f32], ok: fn(f32) -> bool, requirement| match v
            .iter()
            .position(|&x| !ok(x))
        {
            None => Ok(()),
            Some(index) => Err(ReplayError::BadItemValue {
                field,
                index,
                value: v[index],
                requirement,
            }),
        };
        let finite: fn(f32) -> bool = f32::is_finite;
        bad("observations", &self.observations, finite, "must be finite")?;
        bad("actions", &self.actions, finite, "must be finite")?;
        bad("extras", &self.extras, finite, "must be finite")?;
        bad("rewards", &self.rewards, finite, "must be finite")?;
        bad("log_probs", &self.log_probs, finite, "must be finite")?;
        bad(
            "discounts",
            &self.discounts,
            |x| (0.0..=1.0).contains(&x),
            "must be in [0, 1]",
        )?;
        let flag: fn(f32) -> bool = |x| x == 0.0 || x == 1.0;
        bad("mask", &self.mask, flag, "must be 0 or 1")?;
        bad("last", &self.last, flag, "must be 0 or 1")
    }

    fn check_lengths(&self, spec: &StepSpec, steps: usize) -> Result<()> {
        let fields = [
            (
                "observations",
                self.observations.len(),
                spec.observation_len(),
            ),
            ("actions", self.actions.len(), spec.action_dim()),
            ("extras", self.extras.len(), spec.extras_len()),
            ("rewards", self.rewards.len(), 1),
            ("discounts", self.discounts.len(), 1),
            ("log_probs", self.log_probs.len(), 1),
            ("mask", self.mask.len(), 1),
            ("last", self.last.len(), 1),
        ];
        if self.steps != steps {
            return Err(ReplayError::ItemMismatch {
                reason: format!("item has {} steps, table holds {steps}", self.steps),
            });
        }
        for (name, len, width) in fields {
            if Some(len) != steps.checked_mul(width) {
                return Err(ReplayError::ItemMismatch {
                    reason: format!(
                        "`{name}` has {len} values, expected {}",
                        steps.saturating_mul(width)
                    ),
                });
            }
        }
        Ok(())
    }

    /// Bytes of float storage this item holds.
    pub fn payload_bytes(&self) -> usize {
        [
            self.observations.len(),
            self.actions.len(),
            self.extras.len(),
            self.steps.saturating_mul(5),
        ]
        .into_iter()
        .fold(0usize, usize::saturating_add)
        .saturating_mul(4)
    }
}

/// One validated, flattened step awaiting its item.
#[derive(Debug, Clone)]
struct Flat {
    obs: Vec<f32>,
    action: Vec<f32>,
    extras: Vec<f32>,
    reward: f32,
    discount: f32,
    log_prob: f32,
    last: bool,
}

/// Cuts a stream of steps into items of `L+1` consecutive steps with period `L` (consecutive
/// items overlap by one step, which is the bootstrap step of the earlier one), as Acme's
/// `SequenceAdder`.
///
/// Episodes must follow the grammar `First, Mid*, Last`. When an episode ends, its remaining
/// steps (at least one transition) become a final item padded with zero rows whose `mask` is 0,
/// so short episodes are kept, and no item ever mixes two episodes.
#[derive(Debug, Clone)]
pub struct SequenceAdder {
    spec: StepSpec,
    period: usize,
    pending: Vec<Flat>,
    episode: u64,
    offset: u64,
    open: bool,
}

impl SequenceAdder {
    /// An adder for items of `sequence_length + 1` steps (`L = sequence_length >= 1`).
    ///
    /// # Errors
    /// [`crate::ConfigError::Invalid`] for `sequence_length = 0`;
    /// [`crate::ConfigError::TooLarge`] above [`crate::MAX_SEQUENCE_LENGTH`].
    pub fn new(
        spec: StepSpec,
        sequence_length: usize,
    ) -> std::result::Result<Self, crate::ConfigError> {
        if sequence_length == 0 {
            return Err(crate::ConfigError::Invalid {
                field: "sequence_length",
                value: 0.0,
                requirement: "must be >= 1",
            });
        }
        crate::error::at_most(
            "sequence_length",
            sequence_length,
            crate::MAX_SEQUENCE_LENGTH,
        )?;
        Ok(Self {
            spec,
            period: sequence_length,
            pending: Vec::with_capacity(sequence_length + 1),
            episode: 0,
            offset: 0,
            open: false,
        })
    }

    /// Rows per item, `L+1`.
    pub fn steps_per_item(&self) -> usize {
        self.period + 1
    }

    /// The spec steps are checked against.
    pub fn spec(&self) -> &StepSpec {
        &self.spec
    }

    /// Adds one step and returns the items it completed (zero or one).
    ///
    /// # Errors
    /// A step that does not match the spec ([`ReplayError::StepShape`],
    /// [`ReplayError::UnknownGroup`], [`ReplayError::NonFinite`],
    /// [`ReplayError::DiscountOutOfRange`]) or breaks the episode grammar
    /// ([`ReplayError::EpisodeOrder`]). A rejected step leaves the adder unchanged.
    pub fn add(&mut self, step: &Step) -> Result<Vec<Item>> {
        match (self.open, step.kind) {
            (false, StepKind::Mid | StepKind::Last) => {
                return Err(ReplayError::EpisodeOrder {
                    found: step.kind,
                    after: "the end of an episode (expected First)",
                });
            }
            (true, StepKind::First) => {
                return Err(ReplayError::EpisodeOrder {
                    found: step.kind,
                    after: "an unfinished episode (expected Mid or Last; call reset to drop it)",
                });
            }
            _ => {}
        }
        let mut flat = Flat {
            obs: Vec::with_capacity(self.spec.observation_len()),
            action: Vec::with_capacity(self.spec.action_dim()),
            extras: Vec::with_capacity(self.spec.extras_len()),
            reward: step.reward,
            discount: step.discount,
            log_prob: step.log_prob,
            last: step.kind == StepKind::Last,
        };
        self.spec
            .flatten(step, &mut flat.obs, &mut flat.action, &mut flat.extras)?;
        if flat.last {
            flat.reward = 0.0;
            flat.discount = 0.0;
            flat.log_prob = 0.0;
            flat.action.fill(0.0);
            flat.extras.fill(0.0);
        }
        if step.kind == StepKind::First {
            self.open = true;
            self.episode += 1;
            self.offset = 0;
            self.pending.clear();
        }
        self.pending.push(flat);
        let mut out = Vec::new();
        if self.pending.len() == self.period + 1 {
            out.push(self.build());
            let keep = self.pending.pop();
            self.pending.clear();
            self.offset += self.period as u64;
            if step.kind == StepKind::Last {
                self.open = false;
            } else {
                self.pending.extend(keep);
            }
        } else if step.kind == StepKind::Last {
            out.push(self.build());
            self.pending.clear();
            self.open = false;
        }
        Ok(out)
    }

    /// Drops an unfinished episode (for example after an actor crash) and returns how many
    /// pending steps were discarded; the next step must be `First`.
    pub fn reset(&mut self) -> usize {
        let n = self.pending.len();
        self.pending.clear();
        self.open = false;
        n
    }

    /// The item of the pending steps, padded to `L+1` rows.
    fn build(&self) -> Item {
        let steps = self.period + 1;
        let mut item = Item::empty(&self.spec, steps, self.episode, self.offset);
        for s in &self.pending {
            item.observations.extend_from_slice(&s.obs);
            item.actions.extend_from_slice(&s.action);
            item.extras.extend_from_slice(&s.extras);
            item.rewards.push(s.reward);
            item.discounts.push(s.discount);
            item.log_probs.push(s.log_prob);
            item.mask.push(1.0);
            item.last.push(if s.last { 1.0 } else { 0.0 });
        }
        let pad = steps - self.pending.len();
        item.observations
            .extend(std::iter::repeat_n(0.0, pad * self.spec.observation_len()));
        item.actions
            .extend(std::iter::repeat_n(0.0, pad * self.spec.action_dim()));
        item.extras
            .extend(std::iter::repeat_n(0.0, pad * self.spec.extras_len()));
        for v in [
            &mut item.rewards,
            &mut item.discounts,
            &mut item.log_probs,
            &mut item.mask,
            &mut item.last,
        ] {
            v.extend(std::iter::repeat_n(0.0, pad));
        }
        item
    }
}
