//! The message formats: what actors put on the stream, what the learner publishes under the
//! parameter key, and the run record actors start from.
//!
//! Every format is a frame: an 8-byte magic, the format version (u32 LE), the payload length
//! (u64 LE), the FNV-1a 64 checksum of the payload (u64 LE), then the postcard-encoded
//! payload. A decoder checks all four before it reads the payload, so a truncated, corrupted
//! or foreign message is a typed [`DistError`], never a panic or a silently wrong value.
//!
//! | format | magic | payload |
//! |---|---|---|
//! | item message (stream field `m`) | `BPRLMSG1` | [`Envelope`]: run id, actor, incarnation, sequence number, parameter version, env steps, and an [`Item`] or an episode summary |
//! | parameters (hash field `blob`) | `BPRLPARM` | [`Parameters`]: run id, learner steps, the acting [`Policy`] |
//! | run record (hash field `record`) | `BPRLRUN1` | [`RunRecord`]: run id, configuration, task family, split and stream cap |

use crate::error::{DistError, Result};
use bprl_agents::checkpoint::fnv1a;
use bprl_agents::{AgentConfig, Policy, TaskSplit};
use bprl_replay::Item;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The version of every format this build writes and reads.
pub const WIRE_VERSION: u32 = 1;
const HEADER: usize = 28;

/// Magic of an item message.
pub const MESSAGE_MAGIC: [u8; 8] = *b"BPRLMSG1";
/// Magic of a parameter blob.
pub const PARAMETERS_MAGIC: [u8; 8] = *b"BPRLPARM";
/// Magic of a run record.
pub const RUN_MAGIC: [u8; 8] = *b"BPRLRUN1";

/// What one stream entry carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// The run the actor acts for.
    pub run_id: u64,
    /// The actor's id (`bprl actor --id N`).
    pub actor: u32,
    /// Which start of that actor (1 for its first; a restarted actor takes the next).
    pub incarnation: u32,
    /// The message's number within the incarnation: 1, 2, 3, ... with no gaps. The learner's
    /// ledger counts lost and duplicated messages against it.
    pub seq: u64,
    /// The parameter version the actor acted with when it made the message.
    pub param_version: u64,
    /// Environment steps the actor took since its previous message (the learner sums them).
    pub env_steps: u64,
    /// The item or the episode summary.
    pub body: Body,
}

/// The content of a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Body {
    /// A replay item, exactly as the in-process adder makes it.
    Item(Item),
    /// An episode the actor finished.
    Episode {
        /// Undiscounted return.
        episode_return: f64,
        /// Whether it terminated (the task was completed).
        success: bool,
        /// Steps.
        length: u64,
    },
}

/// What the learner publishes for actors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Parameters {
    /// The run.
    pub run_id: u64,
    /// The learner's update count when it published.
    pub learner_steps: u64,
    /// The acting policy.
    pub policy: Policy,
}

/// What an actor needs to start: the run's configuration and task family (the actor builds
/// its own environment from them).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord<T> {
    /// The run.
    pub run_id: u64,
    /// The configuration.
    pub config: AgentConfig,
    /// The task family.
    pub family: T,
    /// Which of its task sets the run trains on.
    pub split: TaskSplit,
    /// The item stream's cap (entries): every actor of the run uses this one, so a cap cannot
    /// differ between the processes (a learner trimming for a larger cap than its actors wait
    /// at would never trim).
    pub stream_cap: u64,
}

fn wire(what: &'static str, reason: impl Into<String>) -> DistError {
    DistError::Wire {
        what,
        reason: reason.into(),
    }
}

/// Frames `value` under `magic`.
///
/// # Errors
/// [`DistError::Wire`] if it cannot be encoded.
pub fn frame<V: Serialize>(magic: &[u8; 8], what: &'static str, value: &V) -> Result<Vec<u8>> {
    let payload = postcard::to_allocvec(value).map_err(|e| wire(what, e.to_string()))?;
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.extend_from_slice(magic);
    out.extend_from_slice(&WIRE_VERSION.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&fnv1a(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
    Ok(out)
}

/// Decodes a frame of `magic`. Never panics, whatever the bytes.
///
/// # Errors
/// [`DistError::Wire`] for a wrong magic, version, length (truncation), checksum or payload.
pub fn unframe<V: DeserializeOwned>(
    magic: &[u8; 8],
    what: &'static str,
    bytes: &[u8],
) -> Result<V> {
    if bytes.len() < HEADER {
        return Err(wire(
            what,
            format!(
                "{} bytes, shorter than the {HEADER}-byte header",
                bytes.len()
            ),
        ));
    }
    if bytes[..8] != *magic {
        return Err(wire(what, "bad magic"));
    }
    let word = |r: std::ops::Range<usize>| {
        let mut b = [0u8; 8];
        b[..r.len()].copy_from_slice(&bytes[r]);
        u64::from_le_bytes(b)
    };
    let version = word(8..12) as u32;
    if version != WIRE_VERSION {
        return Err(wire(
            what,
            format!("format version {version}, this build reads {WIRE_VERSION}"),
        ));
    }
    let expected = (HEADER as u64).saturating_add(word(12..20));
    if bytes.len() as u64 != expected {
        return Err(wire(
            what,
            format!("truncated: {} bytes, header says {expected}", bytes.len()),
        ));
    }
    let payload = &bytes[HEADER..];
    if fnv1a(payload) != word(20..28) {
        return Err(wire(what, "checksum mismatch (corrupted)"));
    }
    postcard::from_bytes(payload).map_err(|e| wire(what, format!("decoding: {e}")))
}

impl Envelope {
    /// The message's bytes.
    ///
    /// # Errors
    /// [`DistError::Wire`] if it cannot be encoded.
    pub fn encode(&self) -> Result<Vec<u8>> {
        frame(&MESSAGE_MAGIC, "item message", self)
    }

    /// Decodes a message and checks it belongs to run `run_id`.
    ///
    /// # Errors
    /// [`DistError::Wire`] for bad bytes; [`DistError::ForeignRun`] for another run's message.
    pub fn decode(bytes: &[u8], run_id: u64) -> Result<Self> {
        let e: Envelope = unframe(&MESSAGE_MAGIC, "item message", bytes)?;
        if e.run_id != run_id {
            return Err(DistError::ForeignRun {
                what: "item message",
                expected: run_id,
                found: e.run_id,
            });
        }
        if e.seq == 0 || e.incarnation == 0 {
            return Err(wire(
                "item message",
                format!(
                    "sequence number {} and incarnation {} must both be at least 1",
                    e.seq, e.incarnation
                ),
            ));
        }
        Ok(e)
    }
}

impl Parameters {
    /// The blob's bytes.
    ///
    /// # Errors
    /// [`DistError::Wire`] if it cannot be encoded.
    pub fn encode(&self) -> Result<Vec<u8>> {
        frame(&PARAMETERS_MAGIC, "parameters", self)
    }

    /// Decodes a blob and checks it belongs to run `run_id`.
    ///
    /// # Errors
    /// [`DistError::Wire`]; [`DistError::ForeignRun`].
    pub fn decode(bytes: &[u8], run_id: u64) -> Result<Self> {
        let p: Parameters = unframe(&PARAMETERS_MAGIC, "parameters", bytes)?;
        if p.run_id != run_id {
            return Err(DistError::ForeignRun {
                what: "parameters",
                expected: run_id,
                found: p.run_id,
            });
        }
        Ok(p)
    }
}

impl<T: Serialize + DeserializeOwned> RunRecord<T> {
    /// The record's bytes.
    ///
    /// # Errors
    /// [`DistError::Wire`] if it cannot be encoded.
    pub fn encode(&self) -> Result<Vec<u8>> {
        frame(&RUN_MAGIC, "run record", self)
    }

    /// Decodes a record (and validates its configuration).
    ///
    /// # Errors
    /// [`DistError::Wire`]; an invalid configuration.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let r: RunRecord<T> = unframe(&RUN_MAGIC, "run record", bytes)?;
        r.config.validate().map_err(bprl_agents::AgentError::from)?;
        Ok(r)
    }
}
