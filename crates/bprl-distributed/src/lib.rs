//! Actors and a learner as separate processes, over Redis Streams.
//!
//! The paper's agents (and Acme's) train with many actors feeding one learner. This crate is
//! the path past one process: actors act and put sequence items on a Redis stream, one learner
//! reads them with a consumer group into its replay, learns, and publishes parameters under a
//! versioned key. Redis (7.x, `redis-server` from Debian) is the engine: streams, consumer
//! groups, an append-only file for durability, and replication or cluster as the path past one
//! Redis node (see docs/architecture.md; not built here).
//!
//! ```text
//!  actor 0 ─┐  XADD (script: cap, seq)      XREADGROUP / XACK    ┌─ learner ── checkpoint/
//!  actor 1 ─┼──────────────► {p}:items ─────────────────────────►│   replay + ledger + position
//!  actor K ─┘                                                     │
//!     ▲       HGET version / blob           HSET blob, HINCRBY    │
//!     └─────────────────────  {p}:params  ◄───────────────────────┘
//! ```
//!
//! # Invariants
//! - Every message carries the run id, the actor, its start (incarnation), a sequence number
//!   (1, 2, ... per start), the parameter version it was made with and a checksum
//!   ([`wire`]); the learner validates all of it, and an item's shapes and values against its
//!   replay, before inserting. A message that fails is counted by reason and acknowledged,
//!   never a crash.
//! - **Nothing lost, nothing duplicated**: an actor's add and its sent counter move together
//!   (one Lua script); the learner's [`learner::Ledger`] records the last sequence number taken
//!   per start and is saved with each checkpoint together with the stream position, and the
//!   stream is trimmed only below a committed checkpoint's position. So a restarted learner
//!   sees again exactly what it had not checkpointed, and the actors' counters against the
//!   ledger count what was lost (`0` when the protocol holds).
//! - **Bounded memory**: the stream is capped (actors wait at the cap: [`actor`]); the learner
//!   reads a bounded batch at a time and only when its buffer is empty.
//! - **Faults**: every Redis command goes through [`link::Link`], which reconnects with backoff;
//!   every command is idempotent or made so, so a retried one has no second effect.
//!
//! | module | what |
//! |---|---|
//! | [`wire`] | the message, parameter and run-record formats |
//! | [`keys`] | the Redis keys of a run |
//! | [`link`] | a reconnecting connection |
//! | [`actor`] | the actor process |
//! | [`learner`] | the learner process and its ledger |
//! | [`server`] | a local `redis-server` (loopback, free port, own folder, AOF) |

#![deny(missing_docs)]

pub mod actor;
mod error;
pub mod keys;
pub mod learner;
pub mod link;
pub mod server;
pub mod wire;

pub use actor::{ActorReport, ActorSettings, run_actor};
pub use error::{DistError, Result};
pub use keys::Keys;
pub use learner::{LearnerReport, LearnerSettings, Ledger, run_learner};
pub use link::{Backoff, Link};
/// The Redis client this crate speaks through (for callers that read the run's keys).
pub use redis;
pub use server::RedisServer;
