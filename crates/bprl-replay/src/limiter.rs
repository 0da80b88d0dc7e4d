//! The samples-per-insert rate limiter (Reverb's `SampleToInsertRatio`).

use crate::error::ConfigError;
use serde::{Deserialize, Serialize};

/// Keeps the ratio of sampled to inserted items near `samples_per_insert`.
///
/// With `diff = inserts * samples_per_insert - samples` and
/// `min_diff = min_size_to_sample * samples_per_insert - error_buffer`,
/// `max_diff = min_size_to_sample * samples_per_insert + error_buffer`:
///
/// - an insert is allowed while fewer than `min_size_to_sample` items were inserted, or when
///   `diff + samples_per_insert <= max_diff`;
/// - a sample of `n` items is allowed when the table holds at least `min_size_to_sample` items
///   and `diff - n >= min_diff`.
///
/// So over any stretch, `samples / inserts` stays within `error_buffer / inserts` of the target.
/// A batch of `n` can always eventually proceed when `2 error_buffer >= samples_per_insert + n`
/// (checked at sampling time). `error_buffer = inf` turns the limiter off after the warm-up.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RateLimiterConfig {
    /// Items the table must hold before the first sample (default 1).
    pub min_size_to_sample: u64,
    /// Target number of sampled items per inserted item, `> 0`.
    pub samples_per_insert: f64,
    /// Allowed deviation of `diff` from its target, in sampled items, `>= 0` (may be `inf`).
    pub error_buffer: f64,
}

impl RateLimiterConfig {
    /// No ratio control: sampling is allowed once `min_size_to_sample` items are in.
    pub fn min_size(min_size_to_sample: u64) -> Self {
        Self {
            min_size_to_sample,
            samples_per_insert: 1.0,
            error_buffer: f64::INFINITY,
        }
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if self.min_size_to_sample == 0 {
            return Err(ConfigError::Invalid {
                field: "min_size_to_sample",
                value: 0.0,
                requirement: "must be >= 1",
            });
        }
        if !(self.samples_per_insert.is_finite() && self.samples_per_insert > 0.0) {
            return Err(ConfigError::Invalid {
                field: "samples_per_insert",
                value: self.samples_per_insert,
                requirement: "must be finite and > 0",
            });
        }
        if self.error_buffer.is_nan() || self.error_buffer < 0.0 {
            return Err(ConfigError::Invalid {
                field: "error_buffer",
                value: self.error_buffer,
                requirement: "must be >= 0 (inf allowed)",
            });
        }
        Ok(())
    }

    fn center(&self) -> f64 {
        self.min_size_to_sample as f64 * self.samples_per_insert
    }

    pub(crate) fn diff(&self, inserts: u64, samples: u64) -> f64 {
        inserts as f64 * self.samples_per_insert - samples as f64
    }

    pub(crate) fn can_insert(&self, inserts: u64, samples: u64) -> bool {
        inserts < self.min_size_to_sample
            || self.diff(inserts, samples) + self.samples_per_insert
                <= self.center() + self.error_buffer
    }

    pub(crate) fn can_sample(&self, size: usize, inserts: u64, samples: u64, n: usize) -> bool {
        size as u64 >= self.min_size_to_sample
            && inserts >= self.min_size_to_sample
            && self.diff(inserts, samples) - n as f64 >= self.center() - self.error_buffer
    }

    /// Whether a batch of `n` can ever proceed: `2 error_buffer >= samples_per_insert + n`.
    pub(crate) fn admits_batch(&self, n: usize) -> bool {
        2.0 * self.error_buffer >= self.samples_per_insert + n as f64
    }
}
