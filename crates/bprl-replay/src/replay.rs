//! The thread-safe replay: a table behind a mutex, with a rate limiter that blocks inserters
//! and samplers (with timeouts) and a shutdown that releases everyone.

use crate::error::{
    ConfigError, MAX_BATCH, MAX_BATCH_FLOATS, MAX_CAPACITY, MAX_SEQUENCE_LENGTH, ReplayError,
    Result, at_most,
};
use crate::item::Item;
use crate::limiter::RateLimiterConfig;
use crate::spec::StepSpec;
use crate::table::{Batch, SplitMix64, Table};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How the replay is sized, limited and seeded.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReplayConfig {
    /// Maximum number of items; inserting into a full table evicts the oldest (FIFO).
    pub capacity: usize,
    /// Transitions per item `L` (items hold `L+1` steps). Acme's default is 10.
    pub sequence_length: usize,
    /// The samples-per-insert limiter.
    pub rate_limiter: RateLimiterConfig,
    /// Seed of the sampler; the same seed and the same operations give the same batches.
    pub seed: u64,
}

impl ReplayConfig {
    pub(crate) fn validate(&self) -> std::result::Result<(), ConfigError> {
        if self.sequence_length == 0 {
            return Err(ConfigError::Invalid {
                field: "sequence_length",
                value: 0.0,
                requirement: "must be >= 1",
            });
        }
        at_most("sequence_length", self.sequence_length, MAX_SEQUENCE_LENGTH)?;
        at_most("capacity", self.capacity, MAX_CAPACITY)?;
        if self.capacity == 0 {
            return Err(ConfigError::Invalid {
                field: "capacity",
                value: 0.0,
                requirement: "must be >= 1",
            });
        }
        self.rate_limiter.validate()?;
        if (self.capacity as u64) < self.rate_limiter.min_size_to_sample {
            return Err(ConfigError::Invalid {
                field: "capacity",
                value: self.capacity as f64,
                requirement: "must be >= rate_limiter.min_size_to_sample",
            });
        }
        Ok(())
    }
}

/// Counters and sizes, for monitoring.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    /// Items in the table now.
    pub size: usize,
    /// The table's capacity.
    pub capacity: usize,
    /// Items inserted since creation (including restored history).
    pub inserts: u64,
    /// Items sampled since creation (a batch of `B` counts `B`).
    pub samples: u64,
    /// Bytes of float storage held now.
    pub memory_bytes: usize,
    /// The bound on `memory_bytes`: `capacity` full items.
    pub max_memory_bytes: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct State {
    pub(crate) config: ReplayConfig,
    pub(crate) table: Table,
    pub(crate) rng: SplitMix64,
    pub(crate) inserts: u64,
    pub(crate) samples: u64,
    #[serde(skip)]
    pub(crate) closed: bool,
}

impl State {
    /// Whether a decoded state is one [`Replay::new`] and its operations could have made:
    /// a valid configuration and spec, a table of `L+1`-step items within capacity, each item
    /// fitting the spec, keys increasing and below `next_key`.
    pub(crate) fn check(&self) -> std::result::Result<(), String> {
        self.config.validate().map_err(|e| e.to_string())?;
        let t = &self.table;
        t.spec.validate().map_err(|e| e.to_string())?;
        if t.steps != self.config.sequence_length + 1 || t.capacity != self.config.capacity {
            return Err(format!(
                "table of {} steps and capacity {} does not match the configuration's sequence \
                 length {} and capacity {}",
                t.steps, t.capacity, self.config.sequence_length, self.config.capacity
            ));
        }
        if t.items.len() > t.capacity {
            return Err(format!(
                "{} items, more than the capacity {}",
                t.items.len(),
                t.capacity
            ));
        }
        let mut previous: Option<u64> = None;
        for (key, item) in &t.items {
            item.check(&t.spec, t.steps).map_err(|e| e.to_string())?;
            if previous.is_some_and(|p| p >= *key) || *key >= t.next_key {
                return Err(format!(
                    "item key {key} out of order (next key {})",
                    t.next_key
                ));
            }
            previous = Some(*key);
        }
        Ok(())
    }
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    insert_ready: Condvar,
    sample_ready: Condvar,
}

/// A replay shared by actor threads (which insert) and a learner (which samples): clone the
/// handle to share it.
///
/// `insert` and `sample` block while the rate limiter forbids them, up to their timeout
/// (`None` waits forever); [`Replay::shutdown`] wakes every blocked call with
/// [`ReplayError::Shutdown`]. A panic in another thread while holding the lock does not poison
/// the replay: the state is plain data and stays consistent between operations.
#[derive(Debug, Clone)]
pub struct Replay {
    shared: Arc<Shared>,
}

impl Replay {
    /// An empty replay for steps of `spec`.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming the bad field; [`ConfigError::TooLarge`] for a
    /// capacity above [`crate::MAX_CAPACITY`] or a sequence length above
    /// [`crate::MAX_SEQUENCE_LENGTH`].
    pub fn new(spec: StepSpec, config: ReplayConfig) -> std::result::Result<Self, ConfigError> {
        config.validate()?;
        let table = Table::new(spec, config.sequence_length + 1, config.capacity);
        Ok(Self::from_state(State {
            config,
            table,
            rng: SplitMix64(config.seed),
            inserts: 0,
            samples: 0,
            closed: false,
        }))
    }

    pub(crate) fn from_state(state: State) -> Self {
        Self {
            shared: Arc::new(Shared {
                state: Mutex::new(state),
                insert_ready: Condvar::new(),
                sample_ready: Condvar::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn with_state<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        f(&self.lock())
    }

    /// Waits on `cv` until `ready(state)` or the deadline; returns the guard when ready.
    fn wait_until<'a>(
        &'a self,
        op: &'static str,
        cv: &Condvar,
        timeout: Option<Duration>,
        ready: impl Fn(&State) -> bool,
    ) -> Result<MutexGuard<'a, State>> {
        let start = Instant::now();
        let mut guard = self.lock();
        loop {
            if guard.closed {
                return Err(ReplayError::Shutdown);
            }
            if ready(&guard) {
                return Ok(guard);
            }
            guard = match timeout {
                None => cv.wait(guard).unwrap_or_else(|p| p.into_inner()),
                Some(limit) => {
                    let waited = start.elapsed();
                    if waited >= limit {
                        return Err(ReplayError::Timeout {
                            op,
                            waited_ms: waited.as_millis(),
                        });
                    }
                    cv.wait_timeout(guard, limit - waited)
                        .unwrap_or_else(|p| p.into_inner())
                        .0
                }
            };
        }
    }

    /// Inserts an item, blocking while the rate limiter forbids it.
    ///
    /// # Errors
    /// [`ReplayError::ItemMismatch`] for an item of another spec or length,
    /// [`ReplayError::Timeout`], [`ReplayError::Shutdown`].
    pub fn insert(&self, item: Item, timeout: Option<Duration>) -> Result<()> {
        {
            let guard = self.lock();
            item.check(&guard.table.spec, guard.table.steps)?;
        }
        let mut guard = self.wait_until("insert", &self.shared.insert_ready, timeout, |s| {
            s.config.rate_limiter.can_insert(s.inserts, s.samples)
        })?;
        guard.table.insert(item)?;
        guard.inserts += 1;
        drop(guard);
        self.shared.sample_ready.notify_all();
        Ok(())
    }

    /// Samples `batch` items uniformly (with replacement), blocking while the rate limiter
    /// forbids it, and returns them time-major.
    ///
    /// # Errors
    /// [`ReplayError::CannotSample`] for `batch = 0`; [`ReplayError::TooLarge`] for a batch
    /// above [`crate::MAX_BATCH`] items or [`crate::MAX_BATCH_FLOATS`] floats;
    /// [`ReplayError::BatchExceedsWindow`] when
    /// the limiter could never allow the batch; [`ReplayError::Timeout`];
    /// [`ReplayError::Shutdown`].
    pub fn sample(&self, batch: usize, timeout: Option<Duration>) -> Result<Batch> {
        {
            let guard = self.lock();
            let limiter = guard.config.rate_limiter;
            if batch == 0 {
                return Err(ReplayError::CannotSample {
                    batch,
                    size: guard.table.len(),
                });
            }
            if batch > MAX_BATCH {
                return Err(ReplayError::TooLarge {
                    what: "batch",
                    value: batch as u64,
                    limit: MAX_BATCH as u64,
                });
            }
            let floats = (guard.table.steps as u64)
                .saturating_mul(batch as u64)
                .saturating_mul(guard.table.spec.floats_per_step() as u64);
            if floats > MAX_BATCH_FLOATS as u64 {
                return Err(ReplayError::TooLarge {
                    what: "batch floats",
                    value: floats,
                    limit: MAX_BATCH_FLOATS as u64,
                });
            }
            if !limiter.admits_batch(batch) {
                return Err(ReplayError::BatchExceedsWindow {
                    batch,
                    needed: limiter.samples_per_insert + batch as f64,
                });
            }
        }
        let mut guard = self.wait_until("sample", &self.shared.sample_ready, timeout, |s| {
            s.config
                .rate_limiter
                .can_sample(s.table.len(), s.inserts, s.samples, batch)
        })?;
        let state = &mut *guard;
        let out = state.table.sample(batch, &mut state.rng)?;
        state.samples += batch as u64;
        drop(guard);
        self.shared.insert_ready.notify_all();
        Ok(out)
    }

    /// A new replay with this one's items, sampler state and configuration but another rate
    /// limiter (switching a run between a synchronous and a threaded mode). The insert and
    /// sample counters restart balanced for the new limiter (`inserts` = the items held,
    /// `samples` such that the ratio sits at its target), so neither side starts blocked.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] for a limiter [`Replay::new`] would refuse.
    pub fn with_rate_limiter(
        &self,
        rate_limiter: RateLimiterConfig,
    ) -> std::result::Result<Replay, ConfigError> {
        let s = self.lock();
        let config = ReplayConfig {
            rate_limiter,
            ..s.config
        };
        config.validate()?;
        let inserts = s.table.len() as u64;
        let target = inserts as f64 * rate_limiter.samples_per_insert
            - rate_limiter.min_size_to_sample as f64 * rate_limiter.samples_per_insert;
        Ok(Replay::from_state(State {
            config,
            table: s.table.clone(),
            rng: s.rng,
            inserts,
            samples: if target.is_finite() && target > 0.0 {
                target as u64
            } else {
                0
            },
            closed: false,
        }))
    }

    /// Closes the replay: every blocked and future `insert`/`sample` returns
    /// [`ReplayError::Shutdown`]. Idempotent.
    pub fn shutdown(&self) {
        self.lock().closed = true;
        self.shared.insert_ready.notify_all();
        self.shared.sample_ready.notify_all();
    }

    /// Items in the table now (cheap, unlike [`Replay::stats`], which sums every item's size).
    pub fn len(&self) -> usize {
        self.lock().table.len()
    }

    /// Whether the table holds no item.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Current counters and memory use.
    pub fn stats(&self) -> Stats {
        let s = self.lock();
        let item_bytes = s.table.item_bytes();
        Stats {
            size: s.table.len(),
            capacity: s.table.capacity,
            inserts: s.inserts,
            samples: s.samples,
            memory_bytes: s
                .table
                .items
                .iter()
                .map(|(_, i)| i.payload_bytes())
                .fold(0, usize::saturating_add),
            max_memory_bytes: s.table.capacity.saturating_mul(item_bytes),
        }
    }

    /// The spec items are checked against.
    pub fn spec(&self) -> StepSpec {
        self.lock().table.spec.clone()
    }

    /// The configuration.
    pub fn config(&self) -> ReplayConfig {
        self.lock().config
    }

    /// The keys of the items in the table, oldest first.
    pub fn keys(&self) -> Vec<u64> {
        self.lock().table.items.iter().map(|(k, _)| *k).collect()
    }
}
