//! Typed errors. Build-time problems (a bad spec or configuration) and run-time problems (bad
//! data, timeouts, shutdown, snapshot files) are separate types.

use std::path::PathBuf;
use thiserror::Error;

/// A [`crate::StepSpec`], [`crate::ReplayConfig`] or [`crate::RateLimiterConfig`] that cannot
/// work.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ConfigError {
    /// Two observation or extra groups share a name.
    #[error("group name `{name}` appears twice in the spec")]
    DuplicateGroup {
        /// The repeated name.
        name: String,
    },
    /// A numeric setting is outside its allowed range.
    #[error("`{field}` = {value} is invalid: {requirement}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// Its value, as `f64`.
        value: f64,
        /// What it must satisfy.
        requirement: &'static str,
    },
    /// A size above the bound this crate accepts (so that no allocation overflows or aborts).
    #[error("`{field}` = {value} is too large: the limit is {limit}")]
    TooLarge {
        /// The field.
        field: &'static str,
        /// Its value.
        value: u64,
        /// The largest value accepted.
        limit: u64,
    },
}

/// What went wrong while adding, inserting, sampling or snapshotting.
#[derive(Debug, Error)]
pub enum ReplayError {
    /// A step's group is missing, unknown, or has the wrong length.
    #[error("step field `{field}`: expected {expected} values, got {actual}")]
    StepShape {
        /// The group or field.
        field: String,
        /// The length the spec requires.
        expected: usize,
        /// The length given.
        actual: usize,
    },
    /// A step names a group the spec does not have.
    #[error("step has unknown group `{field}`")]
    UnknownGroup {
        /// The name.
        field: String,
    },
    /// A NaN or infinity in a step.
    #[error("non-finite value {value} in step field `{field}` at index {index}")]
    NonFinite {
        /// The group or field.
        field: String,
        /// Index within the field.
        index: usize,
        /// The value.
        value: f32,
    },
    /// A discount outside `[0, 1]`.
    #[error("discount {value} is outside [0, 1]")]
    DiscountOutOfRange {
        /// The value.
        value: f32,
    },
    /// The step stream broke the episode grammar (`First`, `Mid`*, `Last`).
    #[error("step kind {found:?} cannot follow {after}")]
    EpisodeOrder {
        /// The kind received.
        found: crate::StepKind,
        /// What came before, in words.
        after: &'static str,
    },
    /// A size above the bound this crate accepts (a batch so large that its arrays could not
    /// be allocated).
    #[error("`{what}` = {value} is too large: the limit is {limit}")]
    TooLarge {
        /// What was too large (`"batch"`, `"batch floats"`).
        what: &'static str,
        /// The value asked for.
        value: u64,
        /// The largest value accepted.
        limit: u64,
    },
    /// An item value outside its allowed set: a non-finite float, a discount outside
    /// `[0, 1]`, or a mask or last flag other than 0 or 1.
    #[error("item field `{field}` at index {index} holds {value}: {requirement}")]
    BadItemValue {
        /// The field.
        field: &'static str,
        /// Index within the field.
        index: usize,
        /// The value.
        value: f32,
        /// What it must satisfy.
        requirement: &'static str,
    },
    /// An item built for another spec or sequence length.
    #[error("item does not fit the table: {reason}")]
    ItemMismatch {
        /// What differs.
        reason: String,
    },
    /// Sampling from an empty table, or a batch size of 0.
    #[error("cannot sample a batch of {batch} from a table of {size} items")]
    CannotSample {
        /// Requested batch size.
        batch: usize,
        /// Items in the table.
        size: usize,
    },
    /// A batch too large for the rate limiter's window: it could never be allowed.
    #[error(
        "batch of {batch} can never be sampled: the rate limiter needs 2 * error_buffer >= samples_per_insert + batch ({needed})"
    )]
    BatchExceedsWindow {
        /// Requested batch size.
        batch: usize,
        /// The smallest `2 * error_buffer` that would allow it.
        needed: f64,
    },
    /// The operation waited longer than its timeout for the rate limiter.
    #[error("timed out after {waited_ms} ms waiting to {op}")]
    Timeout {
        /// `"insert"` or `"sample"`.
        op: &'static str,
        /// How long it waited.
        waited_ms: u128,
    },
    /// The replay was shut down; blocked and later calls return this.
    #[error("replay is shut down")]
    Shutdown,
    /// Reading or writing a snapshot file failed.
    #[error("snapshot file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A snapshot file shorter than its header says.
    #[error("snapshot {path} is truncated: expected {expected} bytes, found {actual}")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Bytes expected.
        expected: u64,
        /// Bytes found.
        actual: u64,
    },
    /// Not a bprl replay snapshot.
    #[error("snapshot {path} does not start with the bprl replay magic bytes")]
    BadMagic {
        /// The file.
        path: PathBuf,
    },
    /// A snapshot written by an incompatible version.
    #[error("snapshot {path} has format version {found}; this build reads version {supported}")]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version in the file.
        found: u32,
        /// The version this build reads.
        supported: u32,
    },
    /// The payload does not match its checksum (corruption).
    #[error("snapshot {path} is corrupted: checksum {actual:#018x} != recorded {expected:#018x}")]
    ChecksumMismatch {
        /// The file.
        path: PathBuf,
        /// Recorded checksum.
        expected: u64,
        /// Checksum of the bytes read.
        actual: u64,
    },
    /// The payload passed its checksum but could not be decoded or is inconsistent.
    #[error("snapshot {path} could not be decoded: {reason}")]
    Decode {
        /// The file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
}

/// Shorthand for `Result<T, ReplayError>`.
pub type Result<T> = std::result::Result<T, ReplayError>;

/// The largest replay capacity accepted, in items (`2^32`). Nothing is allocated up front, so
/// the bound only keeps the size arithmetic from overflowing.
pub const MAX_CAPACITY: usize = 1 << 32;
/// The largest sequence length `L` accepted (`2^16` transitions per item).
pub const MAX_SEQUENCE_LENGTH: usize = 1 << 16;
/// The largest batch accepted by [`crate::Replay::sample`], in items (`2^20`).
pub const MAX_BATCH: usize = 1 << 20;
/// The most floats one sampled batch may hold (`2^30`, 4 GiB of `f32`).
pub const MAX_BATCH_FLOATS: usize = 1 << 30;
/// The largest length of one observation group, extra or action (`2^20` floats).
pub const MAX_GROUP_LEN: usize = 1 << 20;
/// The most floats one step may hold over all its groups (`2^22`).
pub const MAX_STEP_FLOATS: usize = 1 << 22;

/// `value <= limit`, else [`ConfigError::TooLarge`].
pub(crate) fn at_most(
    field: &'static str,
    value: usize,
    limit: usize,
) -> std::result::Result<(), ConfigError> {
    if value > limit {
        Err(ConfigError::TooLarge {
            field,
            value: value as u64,
            limit: limit as u64,
        })
    } else {
        Ok(())
    }
}
