//! The FIFO item table, uniform sampling, and time-major batch assembly.

use crate::error::{ReplayError, Result};
use crate::item::Item;
use crate::spec::StepSpec;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

/// SplitMix64 (Steele et al. 2014): a tiny generator whose whole state is one `u64`, so a
/// snapshot can store it and a restored table continues the same sample sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SplitMix64(pub(crate) u64);

impl SplitMix64 {
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, n)` by Lemire's multiply-shift (bias below `n / 2^64`).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}

/// A `[T, B, D]` time-major block of `f32`, row-major (`D` fastest).
#[derive(Debug, Clone, PartialEq)]
pub struct TimeMajor {
    /// `[T, B, D]`.
    pub shape: [usize; 3],
    /// `T * B * D` values.
    pub data: Vec<f32>,
}

impl TimeMajor {
    /// A block after checking that `data` holds `T * B * D` values.
    ///
    /// # Errors
    /// [`ReplayError::ItemMismatch`] when the lengths disagree (or `T * B * D` overflows).
    pub fn new(shape: [usize; 3], data: Vec<f32>) -> Result<Self> {
        let [t, b, d] = shape;
        let want = t.checked_mul(b).and_then(|n| n.checked_mul(d));
        if want != Some(data.len()) {
            return Err(ReplayError::ItemMismatch {
                reason: format!(
                    "time-major shape {shape:?} needs {} values, data has {}",
                    want.map_or_else(|| "more than usize::MAX".into(), |n| n.to_string()),
                    data.len()
                ),
            });
        }
        Ok(Self { shape, data })
    }

    /// The value at `(t, b, d)`, or `None` outside the shape (or, for a block built from its
    /// public fields whose `data` is shorter than its shape, outside `data`).
    pub fn get(&self, t: usize, b: usize, d: usize) -> Option<f32> {
        let [tt, bb, dd] = self.shape;
        if !(t < tt && b < bb && d < dd) {
            return None;
        }
        let index = t
            .checked_mul(bb)?
            .checked_add(b)?
            .checked_mul(dd)?
            .checked_add(d)?;
        self.data.get(index).copied()
    }
}

/// A sampled batch, time-major `[L+1, B, ...]`, ready for a learner.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// Observation groups by name, each `[L+1, B, len]`.
    pub observations: BTreeMap<String, TimeMajor>,
    /// `[L+1, B, action_dim]`.
    pub actions: TimeMajor,
    /// Extras by name, each `[L+1, B, len]`.
    pub extras: BTreeMap<String, TimeMajor>,
    /// `[L+1, B, 1]`.
    pub rewards: TimeMajor,
    /// `[L+1, B, 1]`.
    pub discounts: TimeMajor,
    /// Behavior log-probabilities, `[L+1, B, 1]`.
    pub log_probs: TimeMajor,
    /// 1 for real steps, 0 for padding, `[L+1, B, 1]`.
    pub mask: TimeMajor,
    /// 1 on an episode's final observation, `[L+1, B, 1]`.
    pub last: TimeMajor,
    /// The table key of each sampled item, `[B]`.
    pub keys: Vec<u64>,
}

/// A FIFO table of items: inserting into a full table evicts the oldest item.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Table {
    pub(crate) spec: StepSpec,
    pub(crate) steps: usize,
    pub(crate) capacity: usize,
    pub(crate) items: VecDeque<(u64, Item)>,
    pub(crate) next_key: u64,
}

impl Table {
    pub(crate) fn new(spec: StepSpec, steps: usize, capacity: usize) -> Self {
        Self {
            spec,
            steps,
            capacity,
            // Grows on demand: a large capacity costs nothing until it is filled.
            items: VecDeque::with_capacity(capacity.min(1024)),
            next_key: 0,
        }
    }

    /// Inserts (after checking the item fits) and returns the evicted oldest item, if any.
    pub(crate) fn insert(&mut self, item: Item) -> Result<Option<(u64, Item)>> {
        item.check(&self.spec, self.steps)?;
        let evicted = if self.items.len() == self.capacity {
            self.items.pop_front()
        } else {
            None
        };
        self.items.push_back((self.next_key, item));
        self.next_key += 1;
        Ok(evicted)
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    pub(crate) fn item_bytes(&self) -> usize {
        4 * self.steps * self.spec.floats_per_step()
    }

    /// Samples `batch` items uniformly with replacement and assembles them time-major.
    pub(crate) fn sample(&self, batch: usize, rng: &mut SplitMix64) -> Result<Batch> {
        if batch == 0 || self.items.is_empty() {
            return Err(ReplayError::CannotSample {
                batch,
                size: self.items.len(),
            });
        }
        let picks: Vec<&(u64, Item)> = (0..batch)
            .map(|_| &self.items[rng.below(self.items.len())])
            .collect();
        let t = self.steps;
        let gather = |width: usize, offset: usize, stride: usize, field: fn(&Item) -> &[f32]| {
            let mut data = Vec::with_capacity(t * batch * width);
            for row in 0..t {
                for (_, item) in &picks {
                    let start = row * stride + offset;
                    data.extend_from_slice(&field(item)[start..start + width]);
                }
            }
            TimeMajor {
                shape: [t, batch, width],
                data,
            }
        };
        let groups = |spec: &[(String, usize)], field: fn(&Item) -> &[f32]| {
            let stride: usize = spec.iter().map(|(_, n)| n).sum();
            let mut offset = 0;
            let mut out = BTreeMap::new();
            for (name, len) in spec {
                out.insert(name.clone(), gather(*len, offset, stride, field));
                offset += len;
            }
            out
        };
        let a = self.spec.action_dim();
        Ok(Batch {
            observations: groups(self.spec.observations(), |i| &i.observations),
            actions: gather(a, 0, a, |i| &i.actions),
            extras: groups(self.spec.extras(), |i| &i.extras),
            rewards: gather(1, 0, 1, |i| &i.rewards),
            discounts: gather(1, 0, 1, |i| &i.discounts),
            log_probs: gather(1, 0, 1, |i| &i.log_probs),
            mask: gather(1, 0, 1, |i| &i.mask),
            last: gather(1, 0, 1, |i| &i.last),
            keys: picks.iter().map(|(k, _)| *k).collect(),
        })
    }
}
