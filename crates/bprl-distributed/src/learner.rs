//! The learner process: reads the stream with a consumer group, validates every message,
//! inserts items into its replay behind the run's rate limiter, acknowledges after the insert,
//! learns, publishes parameters, keeps the books (episodes, evaluations, checkpoints) and a
//! [`Ledger`] of what each actor start delivered.
//!
//! # Exactly once, across a learner crash
//! A checkpoint stores, with the learner and the replay, the ledger: the id of the last stream
//! entry the learner processed (its *position*) and, per actor start, the last sequence number
//! it took. After the checkpoint is committed the learner trims the stream below the position
//! (`XTRIM MINID`): entries after it stay on the stream until a later checkpoint covers them.
//! A restarted learner loads the checkpoint and moves the group back to the position
//! (`XGROUP SETID`), so entries it had acknowledged after its last checkpoint are delivered
//! again and inserted once; entries before the position are in the checkpoint's replay and are
//! not delivered again. The same resynchronisation follows every reconnection to Redis (a
//! lost `XREADGROUP` reply would otherwise strand entries in the pending list). A message whose
//! sequence number is at or below the ledger's is a duplicate delivery: counted, acknowledged,
//! not inserted.
//!
//! # Bounded memory
//! The learner reads at most `read_count` entries at a time and only when its buffer is empty;
//! an item the rate limiter refuses stays at the head of the buffer while the learner samples.
//! Since entries leave the stream only at checkpoints, the learner also checkpoints whenever
//! it has processed half the stream's cap since its last one, so capped actors never wait on a
//! checkpoint that is not coming.

use crate::error::{DistError, Result};
use crate::keys::{CONSUMER, GROUP, Keys};
use crate::link::Link;
use crate::wire::{Body, Envelope, Parameters, RunRecord};
use bprl_agents::AgentConfig;
use bprl_agents::trainer::threaded::threaded_limiter;
use bprl_agents::{AgentError, EpisodeRecord, EvalRecord, Metrics, TaskFamily, TaskSplit, Trainer};
use bprl_replay::ReplayError;
use redis::Value;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::time::{Duration, Instant};

/// A stream entry id `<ms>-<seq>`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StreamId {
    /// Milliseconds part.
    pub ms: u64,
    /// Sequence part.
    pub seq: u64,
}

impl std::fmt::Display for StreamId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

impl std::str::FromStr for StreamId {
    type Err = DistError;
    fn from_str(s: &str) -> Result<Self> {
        let bad = || DistError::Wire {
            what: "stream id",
            reason: format!("`{s}` is not <ms>-<seq>"),
        };
        let (ms, seq) = s.split_once('-').ok_or_else(bad)?;
        Ok(Self {
            ms: ms.parse().map_err(|_| bad())?,
            seq: seq.parse().map_err(|_| bad())?,
        })
    }
}

/// What one actor start delivered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivered {
    /// The highest sequence number taken.
    pub last_seq: u64,
    /// Messages taken (each sequence number once).
    pub received: u64,
    /// Of those, items inserted into the replay.
    pub inserted: u64,
}

/// The learner's books of the stream, saved in every checkpoint (the trainer's sidecar). It
/// keeps one small entry per actor start it has heard from (about 40 bytes), for the whole run:
/// a run whose actors restart millions of times would want them pruned, which is not done.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ledger {
    /// The last entry processed.
    pub position: StreamId,
    /// Per actor start (`<actor>.<incarnation>`).
    pub starts: BTreeMap<String, Delivered>,
    /// Rejected entries by reason.
    pub rejected: BTreeMap<String, u64>,
    /// Deliveries of a sequence number already taken (not inserted).
    pub duplicates: u64,
    /// Sequence numbers skipped over (a message missing between two delivered ones).
    pub gaps: u64,
    /// Entries processed since the last checkpoint (not saved as such: 0 in every checkpoint).
    pub since_checkpoint: u64,
}

impl Ledger {
    /// Entries rejected, all reasons.
    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }

    fn reject(&mut self, reason: &str) {
        *self.rejected.entry(reason.to_string()).or_default() += 1;
    }
}

/// How the learner runs.
#[derive(Debug, Clone, PartialEq)]
pub struct LearnerSettings {
    /// Key prefix of the run.
    pub prefix: String,
    /// The task family's kind, published for actors' command lines (e.g. `suite`).
    pub kind: String,
    /// The stream's cap (entries), as the actors'.
    pub stream_cap: u64,
    /// Publish parameters every this many updates.
    pub publish_every: u64,
    /// Entries read per `XREADGROUP`.
    pub read_count: usize,
    /// How long a read waits for entries when there is nothing to learn.
    pub block: Duration,
    /// After the stop flag: how long the stream must stay quiet (no new entry) before the
    /// learner ends, once it has taken every message the actors' counters say was sent (long
    /// enough for every actor to see the flag: each looks every `fetch_every` steps).
    pub drain_quiet: Duration,
    /// After the stop flag: how long without new entries before the learner ends even though
    /// the actors' counters say more was sent (reported as lost).
    pub drain_timeout: Duration,
}

impl Default for LearnerSettings {
    fn default() -> Self {
        Self {
            prefix: "bprl".into(),
            kind: "suite".into(),
            stream_cap: 20_000,
            publish_every: 20,
            read_count: 256,
            block: Duration::from_millis(50),
            drain_quiet: Duration::from_secs(2),
            drain_timeout: Duration::from_secs(15),
        }
    }
}

/// What a learner run did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LearnerReport {
    /// Environment steps the actors reported (summed over delivered messages).
    pub env_steps: u64,
    /// Learner updates (the learner's step count).
    pub updates: u64,
    /// Episodes recorded.
    pub episodes: u64,
    /// Items inserted.
    pub items: u64,
    /// Entries rejected.
    pub rejected: u64,
    /// Rejected entries by reason.
    pub rejected_by_reason: BTreeMap<String, u64>,
    /// Messages the actors' counters say were put on the stream and the learner never took.
    pub lost: u64,
    /// Deliveries of a message already taken (detected, not inserted).
    pub duplicated: u64,
    /// Messages the actors' counters say were sent.
    pub sent: u64,
    /// Parameter publications of this process.
    pub published: u64,
    /// The episode of the checkpoint this process resumed from.
    pub resumed_from: Option<u64>,
    /// Reconnections to Redis.
    pub reconnects: u64,
}

/// A stream entry as read: its id (parsed and as text) and its field `m`, if any.
type Entry = (StreamId, String, Option<Vec<u8>>);

/// What happened to one entry.
enum Outcome {
    /// Processed (inserted, rejected or a duplicate); an episode summary to record.
    Taken(Option<(f64, bool, u64)>),
    /// The rate limiter refuses its item now.
    Blocked,
}

/// The learner process's state.
struct Process<'a, T: TaskFamily> {
    link: &'a mut Link,
    keys: Keys,
    settings: &'a LearnerSettings,
    trainer: Trainer<T>,
    ledger: Ledger,
    checkpoint_dir: &'a Path,
    metrics: Metrics,
    updates: u32,
    published: u64,
    reconnects_seen: u64,
    on_episode: &'a mut dyn FnMut(&EpisodeRecord, Option<&EvalRecord>) -> Result<()>,
}

/// Runs the learner of a run until its step budget is spent and the stream is drained.
///
/// A checkpoint in `checkpoint_dir` is resumed (its configuration, family and ledger; `config`
/// and `family` are then not used); otherwise a fresh run of `config` on `family` starts.
/// `on_episode` sees every episode record (with its evaluation, if one was due) before the
/// checkpoint that may follow it.
///
/// # Errors
/// Redis unreachable past the reconnect budget; learner, replay, environment or checkpoint
/// errors; an error of `on_episode`.
pub fn run_learner<T>(
    link: &mut Link,
    settings: &LearnerSettings,
    fresh: (AgentConfig, T, TaskSplit),
    checkpoint_dir: &Path,
    on_episode: &mut dyn FnMut(&EpisodeRecord, Option<&EvalRecord>) -> Result<()>,
) -> Result<LearnerReport>
where
    T: TaskFamily + Serialize + DeserializeOwned + Clone,
{
    if settings.stream_cap < 2 || settings.publish_every == 0 || settings.read_count == 0 {
        return Err(DistError::Invalid {
            field: "stream_cap / publish_every / read_count",
            value: format!(
                "{} / {} / {}",
                settings.stream_cap, settings.publish_every, settings.read_count
            ),
            requirement: "at least 2 / 1 / 1".into(),
        });
    }
    // Only a missing `LATEST` starts afresh: an unreadable one is an error, never a new run
    // that would clear the stream.
    let resumed = checkpoint_dir.join("LATEST").exists();
    let (trainer, ledger) = if resumed {
        let (t, sidecar) = Trainer::<T>::load_with(checkpoint_dir)?;
        let ledger: Ledger = postcard::from_bytes(&sidecar).map_err(|e| DistError::Wire {
            what: "ledger in checkpoint",
            reason: e.to_string(),
        })?;
        (t, ledger)
    } else {
        let (config, family, split) = fresh;
        (Trainer::new(config, family, split)?, Ledger::default())
    };
    let resumed_from = resumed.then_some(trainer.counters.episodes);
    let limiter = threaded_limiter(&trainer.config);
    let mut p = Process::new(
        link,
        settings,
        trainer,
        ledger,
        checkpoint_dir,
        limiter,
        on_episode,
    )?;
    p.publish_run(!resumed)?;
    p.resync()?;
    p.publish_parameters()?;
    let report = p.run()?;
    Ok(LearnerReport {
        resumed_from,
        ..report
    })
}

/// What [`ingest_only`] measured.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct IngestStats {
    /// Entries taken.
    pub entries: u64,
    /// Of those, items inserted.
    pub items: u64,
    /// Wall seconds of the whole drain (reads, validation, inserts, acknowledgements).
    pub seconds: f64,
}

/// The learner's ingest path alone: takes every entry on the run's stream as [`run_learner`]
/// does (read with the group, decode, validate, insert, acknowledge) into `trainer`'s replay
/// with no rate limiter and no learning, until the stream is drained. The learner's ingest
/// ceiling (items/s with nothing competing for the CPU) for the scale benchmark.
///
/// # Errors
/// Redis, replay or decoding errors.
pub fn ingest_only<T>(
    link: &mut Link,
    settings: &LearnerSettings,
    trainer: Trainer<T>,
) -> Result<IngestStats>
where
    T: TaskFamily + Serialize + DeserializeOwned + Clone,
{
    let dir = std::env::temp_dir();
    let mut ignore = |_: &EpisodeRecord, _: Option<&EvalRecord>| Ok(());
    let limiter = bprl_replay::RateLimiterConfig::min_size(1);
    let mut p = Process::new(
        link,
        settings,
        trainer,
        Ledger::default(),
        &dir,
        limiter,
        &mut ignore,
    )?;
    p.create_group()?;
    let start = Instant::now();
    let mut entries = 0u64;
    loop {
        let batch = p.read(false)?;
        if batch.is_empty() {
            break;
        }
        let mut acks = Vec::with_capacity(batch.len());
        for (id, raw, m) in batch {
            if let Outcome::Taken(_) = p.take(m.as_deref())? {
                p.ledger.position = id;
            }
            acks.push(raw);
            entries += 1;
        }
        p.ack(&acks)?;
    }
    Ok(IngestStats {
        entries,
        items: p.ledger.starts.values().map(|d| d.inserted).sum(),
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Publishes a run's record and its learner's current parameters without running a learner
/// (for actors to act against: benchmarks, tests of backpressure).
///
/// # Errors
/// Redis or encoding errors.
pub fn publish_without_learner<T>(
    link: &mut Link,
    settings: &LearnerSettings,
    trainer: &Trainer<T>,
) -> Result<()>
where
    T: TaskFamily + Serialize + DeserializeOwned + Clone,
{
    let keys = Keys::new(&settings.prefix);
    let record = RunRecord {
        run_id: trainer.run_id,
        config: trainer.config.clone(),
        family: trainer.family().clone(),
        split: trainer.split(),
        stream_cap: settings.stream_cap,
    }
    .encode()?;
    let blob = Parameters {
        run_id: trainer.run_id,
        learner_steps: trainer.learner.steps(),
        policy: trainer.learner.policy(),
    }
    .encode()?;
    let kind = settings.kind.clone();
    link.call("publish run and parameters", |c| {
        redis::pipe()
            .cmd("HSET")
            .arg(keys.run())
            .arg("kind")
            .arg(&kind)
            .arg("record")
            .arg(&record[..])
            .ignore()
            .cmd("HSET")
            .arg(keys.params())
            .arg("version")
            .arg(1)
            .arg("blob")
            .arg(&blob[..])
            .ignore()
            .query::<()>(c)
    })
}

impl<'a, T> Process<'a, T>
where
    T: TaskFamily + Serialize + DeserializeOwned + Clone,
{
    /// A learner process around `trainer`, its replay behind `limiter`.
    fn new(
        link: &'a mut Link,
        settings: &'a LearnerSettings,
        mut trainer: Trainer<T>,
        ledger: Ledger,
        checkpoint_dir: &'a Path,
        limiter: bprl_replay::RateLimiterConfig,
        on_episode: &'a mut dyn FnMut(&EpisodeRecord, Option<&EvalRecord>) -> Result<()>,
    ) -> Result<Self> {
        trainer.replay = trainer
            .replay
            .with_rate_limiter(limiter)
            .map_err(AgentError::from)?;
        Ok(Self {
            keys: Keys::new(&settings.prefix),
            reconnects_seen: link.reconnects(),
            link,
            settings,
            trainer,
            ledger,
            checkpoint_dir,
            metrics: Metrics::default(),
            updates: 0,
            published: 0,
            on_episode,
        })
    }

    /// Publishes the run record; a fresh run also clears what an earlier run of another id
    /// under the same prefix left (its stop flag, progress, parameters, counters, stream), and
    /// the group starts at the stream's beginning.
    fn publish_run(&mut self, fresh: bool) -> Result<()> {
        let record = RunRecord {
            run_id: self.trainer.run_id,
            config: self.trainer.config.clone(),
            family: self.trainer.family().clone(),
            split: self.trainer.split(),
            stream_cap: self.settings.stream_cap,
        }
        .encode()?;
        let keys = self.keys.clone();
        let kind = self.settings.kind.clone();
        // A learner of this very run that died before its first checkpoint left the run's
        // record, stream and counters: keep them all (nothing was trimmed before a checkpoint,
        // so its ledger at 0-0 takes the whole stream again). Only another run's keys, or none,
        // are cleared.
        let published: Option<Vec<u8>> = self.link.call("HGET run record", |c| {
            redis::cmd("HGET").arg(keys.run()).arg("record").query(c)
        })?;
        let same_run = published
            .and_then(|b| RunRecord::<T>::decode(&b).ok())
            .is_some_and(|r| r.run_id == self.trainer.run_id);
        if fresh && !same_run {
            self.link.call("DEL run keys", |c| {
                redis::cmd("DEL")
                    .arg(keys.stop())
                    .arg(keys.progress())
                    .arg(keys.params())
                    .arg(keys.sent())
                    .arg(keys.incarnations())
                    .arg(keys.steps())
                    .arg(keys.items())
                    .query::<()>(c)
            })?;
        }
        self.link.call("HSET run", |c| {
            redis::cmd("HSET")
                .arg(keys.run())
                .arg("kind")
                .arg(&kind)
                .arg("record")
                .arg(&record[..])
                .query::<()>(c)
        })?;
        self.create_group()
    }

    /// Creates the consumer group at the stream's start (and the stream), unless it exists.
    fn create_group(&mut self) -> Result<()> {
        let items = self.keys.items();
        self.link.call("XGROUP CREATE", |c| {
            match redis::cmd("XGROUP")
                .arg("CREATE")
                .arg(&items)
                .arg(GROUP)
                .arg("0")
                .arg("MKSTREAM")
                .query::<()>(c)
            {
                Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
                r => r,
            }
        })
    }

    /// Moves the group back to the ledger's position (entries after it are delivered again)
    /// and acknowledges pending entries at or before it (they are in the replay).
    fn resync(&mut self) -> Result<()> {
        let keys = self.keys.clone();
        let position = self.ledger.position.to_string();
        self.link.call("XGROUP SETID", |c| {
            redis::cmd("XGROUP")
                .arg("SETID")
                .arg(keys.items())
                .arg(GROUP)
                .arg(&position)
                .query::<()>(c)
        })?;
        loop {
            let pending: Value = self.link.call("XPENDING", |c| {
                redis::cmd("XPENDING")
                    .arg(keys.items())
                    .arg(GROUP)
                    .arg("-")
                    .arg(&position)
                    .arg(1000)
                    .query(c)
            })?;
            let ids: Vec<String> = match pending {
                Value::Array(rows) => rows
                    .into_iter()
                    .filter_map(|r| match r {
                        Value::Array(mut f) if !f.is_empty() => text(f.swap_remove(0)),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            if ids.is_empty() {
                break;
            }
            self.ack(&ids)?;
        }
        self.reconnects_seen = self.link.reconnects();
        Ok(())
    }

    fn ack(&mut self, ids: &[String]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let items = self.keys.items();
        self.link.call("XACK", |c| {
            redis::cmd("XACK")
                .arg(&items)
                .arg(GROUP)
                .arg(ids)
                .query::<u64>(c)
        })?;
        Ok(())
    }

    fn publish_parameters(&mut self) -> Result<()> {
        let blob = Parameters {
            run_id: self.trainer.run_id,
            learner_steps: self.trainer.learner.steps(),
            policy: self.trainer.learner.policy(),
        }
        .encode()?;
        let params = self.keys.params();
        self.link.call("publish parameters", |c| {
            redis::pipe()
                .atomic()
                .cmd("HSET")
                .arg(&params)
                .arg("blob")
                .arg(&blob[..])
                .ignore()
                .cmd("HINCRBY")
                .arg(&params)
                .arg("version")
                .arg(1)
                .query::<(u64,)>(c)
        })?;
        self.published += 1;
        Ok(())
    }

    /// Reads up to `read_count` new entries (waiting up to `block` when `wait`).
    fn read(&mut self, wait: bool) -> Result<Vec<Entry>> {
        let keys = self.keys.clone();
        let (count, block) = (self.settings.read_count, self.settings.block);
        let reply: Value = self.link.call("XREADGROUP", |c| {
            let mut cmd = redis::cmd("XREADGROUP");
            cmd.arg("GROUP")
                .arg(GROUP)
                .arg(CONSUMER)
                .arg("COUNT")
                .arg(count);
            if wait {
                cmd.arg("BLOCK").arg(block.as_millis().max(1) as u64);
            }
            cmd.arg("STREAMS").arg(keys.items()).arg(">").query(c)
        })?;
        if self.link.reconnects() != self.reconnects_seen {
            // A reply may have been lost with the connection: go back to the position.
            self.resync()?;
            return Ok(Vec::new());
        }
        Ok(entries(reply))
    }

    /// Validates and takes one entry's message; `Blocked` when the rate limiter refuses its
    /// item now.
    fn take(&mut self, message: Option<&[u8]>) -> Result<Outcome> {
        let Some(bytes) = message else {
            self.ledger.reject("no field m");
            return Ok(Outcome::Taken(None));
        };
        let envelope = match Envelope::decode(bytes, self.trainer.run_id) {
            Ok(e) => e,
            Err(DistError::ForeignRun { .. }) => {
                self.ledger.reject("foreign run");
                return Ok(Outcome::Taken(None));
            }
            Err(_) => {
                self.ledger.reject("malformed");
                return Ok(Outcome::Taken(None));
            }
        };
        // The checksum finds corruption, it does not authenticate: bound what a message of this
        // run may claim before it is counted.
        let budget = self.trainer.config.run.env_steps;
        let bad_summary = matches!(envelope.body, Body::Episode { episode_return, .. } if !episode_return.is_finite());
        if envelope.env_steps > budget || bad_summary {
            self.ledger.reject("bad item");
            return Ok(Outcome::Taken(None));
        }
        let start = format!("{}.{}", envelope.actor, envelope.incarnation);
        let last = self.ledger.starts.get(&start).map_or(0, |d| d.last_seq);
        if envelope.seq <= last {
            self.ledger.duplicates += 1;
            return Ok(Outcome::Taken(None));
        }
        let c = &mut self.trainer.counters;
        c.env_steps = c.env_steps.saturating_add(envelope.env_steps);
        let (inserted, episode) = match envelope.body {
            Body::Item(item) => match self.trainer.replay.insert(item, Some(Duration::ZERO)) {
                Ok(()) => (true, None),
                Err(ReplayError::Timeout { .. }) => {
                    self.trainer.counters.env_steps -= envelope.env_steps;
                    return Ok(Outcome::Blocked);
                }
                Err(ReplayError::ItemMismatch { .. } | ReplayError::BadItemValue { .. }) => {
                    self.ledger.reject("bad item");
                    (false, None)
                }
                Err(e) => return Err(e.into()),
            },
            Body::Episode {
                episode_return,
                success,
                length,
            } => (false, Some((episode_return, success, length))),
        };
        let d = self.ledger.starts.entry(start).or_default();
        self.ledger.gaps += envelope.seq - d.last_seq - 1;
        d.last_seq = envelope.seq;
        d.received += 1;
        d.inserted += u64::from(inserted);
        Ok(Outcome::Taken(episode))
    }

    /// Records a finished episode: history, `on_episode`, evaluation and checkpoint on the
    /// run's schedule.
    fn record_episode(&mut self, episode_return: f64, success: bool, length: u64) -> Result<()> {
        let t = &mut self.trainer;
        t.counters.episodes += 1;
        let record = EpisodeRecord {
            episode: t.counters.episodes,
            env_steps: t.counters.env_steps,
            learner_steps: t.learner.steps(),
            episode_return,
            success,
            length,
            metrics: std::mem::take(&mut self.metrics).mean_of(self.updates),
        };
        self.updates = 0;
        t.history.push(record);
        let run = t.config.run.clone();
        let eval = if run.eval_every_episodes > 0
            && record.episode.is_multiple_of(run.eval_every_episodes)
        {
            Some(t.evaluate(run.eval_episodes)?)
        } else {
            None
        };
        (self.on_episode)(&record, eval.as_ref())?;
        if run.checkpoint_every_episodes > 0
            && record.episode.is_multiple_of(run.checkpoint_every_episodes)
        {
            self.checkpoint()?;
        }
        Ok(())
    }

    /// Writes a checkpoint with the ledger, then trims the stream below the position.
    fn checkpoint(&mut self) -> Result<()> {
        self.ledger.since_checkpoint = 0;
        let sidecar = postcard::to_allocvec(&self.ledger).map_err(|e| DistError::Wire {
            what: "ledger",
            reason: e.to_string(),
        })?;
        self.trainer.save_with(self.checkpoint_dir, &sidecar)?;
        let (items, position) = (self.keys.items(), self.ledger.position.to_string());
        self.link.call("XTRIM MINID", |c| {
            redis::cmd("XTRIM")
                .arg(&items)
                .arg("MINID")
                .arg(&position)
                .query::<u64>(c)
        })?;
        Ok(())
    }

    fn progress(&mut self, done: bool) -> Result<()> {
        let keys = self.keys.clone();
        let (c, steps, rejected) = (
            self.trainer.counters,
            self.trainer.learner.steps(),
            self.ledger.rejected_total(),
        );
        self.link.call("HSET progress", |con| {
            redis::cmd("HSET")
                .arg(keys.progress())
                .arg("env_steps")
                .arg(c.env_steps)
                .arg("updates")
                .arg(steps)
                .arg("episodes")
                .arg(c.episodes)
                .arg("rejected")
                .arg(rejected)
                .arg("done")
                .arg(u8::from(done))
                .query::<()>(con)
        })
    }

    /// `(sent, lost)`: the actors' counters against the ledger.
    fn count_sent(&mut self) -> Result<(u64, u64)> {
        let sent_key = self.keys.sent();
        let sent: BTreeMap<String, u64> = self.link.call("HGETALL sent", |c| {
            redis::cmd("HGETALL").arg(&sent_key).query(c)
        })?;
        let total = sent.values().sum();
        let lost = sent
            .iter()
            .map(|(k, &n)| n.saturating_sub(self.ledger.starts.get(k).map_or(0, |d| d.received)))
            .sum();
        Ok((total, lost))
    }

    /// The loop: take entries, learn, publish, checkpoint, until the budget is spent and the
    /// stream drained.
    fn run(&mut self) -> Result<LearnerReport> {
        let budget = self.trainer.config.run.env_steps;
        let mut buffer: VecDeque<Entry> = VecDeque::new();
        let mut stopping = false;
        let mut last_entry = Instant::now();
        let mut last_progress: Option<Instant> = None;
        loop {
            let mut acks = Vec::new();
            while let Some((id, raw, m)) = buffer.front() {
                let (id, raw) = (*id, raw.clone());
                match self.take(m.as_deref())? {
                    Outcome::Blocked => break,
                    Outcome::Taken(episode) => {
                        buffer.pop_front();
                        self.ledger.position = id;
                        self.ledger.since_checkpoint += 1;
                        acks.push(raw);
                        if let Some((r, s, l)) = episode {
                            self.record_episode(r, s, l)?;
                        }
                    }
                }
            }
            self.ack(&acks)?;
            // Learn what the rate limiter allows (a bounded burst, so ingest keeps up).
            let mut learned = 0;
            while learned < 32 {
                match self.trainer.learn_once() {
                    Ok(m) => {
                        self.metrics.accumulate(&m);
                        self.updates += 1;
                        learned += 1;
                        if self
                            .trainer
                            .learner
                            .steps()
                            .is_multiple_of(self.settings.publish_every)
                        {
                            self.publish_parameters()?;
                        }
                    }
                    Err(AgentError::Replay(ReplayError::Timeout { .. })) => break,
                    Err(e) => return Err(e.into()),
                }
            }
            if self.ledger.since_checkpoint >= self.settings.stream_cap / 2 {
                self.checkpoint()?;
            }
            if !stopping && self.trainer.counters.env_steps >= budget {
                stopping = true;
                let stop = self.keys.stop();
                self.link.call("SET stop", |c| {
                    redis::cmd("SET").arg(&stop).arg(1).query::<()>(c)
                })?;
            }
            if last_progress.is_none_or(|t| t.elapsed() >= Duration::from_millis(250)) {
                self.progress(false)?;
                last_progress = Some(Instant::now());
            }
            if buffer.is_empty() {
                let fresh = self.read(learned == 0)?;
                if !fresh.is_empty() {
                    last_entry = Instant::now();
                }
                buffer.extend(fresh);
                if stopping && buffer.is_empty() && learned == 0 {
                    let (_, lost) = self.count_sent()?;
                    let quiet = last_entry.elapsed();
                    if (lost == 0 && quiet >= self.settings.drain_quiet)
                        || quiet >= self.settings.drain_timeout
                    {
                        break;
                    }
                }
            }
        }
        self.checkpoint()?;
        self.progress(true)?;
        let (sent, lost) = self.count_sent()?;
        Ok(LearnerReport {
            env_steps: self.trainer.counters.env_steps,
            updates: self.trainer.learner.steps(),
            episodes: self.trainer.counters.episodes,
            items: self.ledger.starts.values().map(|d| d.inserted).sum(),
            rejected: self.ledger.rejected_total(),
            rejected_by_reason: self.ledger.rejected.clone(),
            lost,
            duplicated: self.ledger.duplicates,
            sent,
            published: self.published,
            resumed_from: None,
            reconnects: self.link.reconnects(),
        })
    }
}

/// The text of a reply value.
fn text(v: Value) -> Option<String> {
    match v {
        Value::BulkString(b) => String::from_utf8(b).ok(),
        Value::SimpleString(s) => Some(s),
        _ => None,
    }
}

/// The entries of an `XREADGROUP` reply (RESP2 arrays or RESP3 maps): id and field `m`.
fn entries(reply: Value) -> Vec<Entry> {
    let streams: Vec<Value> = match reply {
        Value::Array(a) => a
            .into_iter()
            .filter_map(|s| match s {
                Value::Array(mut kv) if kv.len() == 2 => Some(kv.swap_remove(1)),
                _ => None,
            })
            .collect(),
        Value::Map(m) => m.into_iter().map(|(_, v)| v).collect(),
        _ => Vec::new(),
    };
    let mut out = Vec::new();
    for s in streams {
        let Value::Array(list) = s else { continue };
        for e in list {
            let Value::Array(mut pair) = e else { continue };
            if pair.len() != 2 {
                continue;
            }
            let fields = pair.pop();
            let Some(id) = pair.pop().and_then(text) else {
                continue;
            };
            let Ok(sid) = id.parse::<StreamId>() else {
                continue;
            };
            let mut m = None;
            let flat: Vec<Value> = match fields {
                Some(Value::Array(f)) => f,
                Some(Value::Map(kv)) => kv.into_iter().flat_map(|(k, v)| [k, v]).collect(),
                _ => Vec::new(),
            };
            let mut it = flat.into_iter();
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                if text(k).as_deref() == Some("m")
                    && let Value::BulkString(b) = v
                {
                    m = Some(b);
                }
            }
            out.push((sid, id, m));
        }
    }
    out
}
