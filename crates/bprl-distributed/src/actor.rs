//! An actor process: acts with the newest parameters it has, puts every sequence item (and a
//! summary of every finished episode) on the run's stream, and refreshes its parameters every
//! `fetch_every` environment steps.
//!
//! # Backpressure rule
//! The stream is capped at the run's `stream_cap` entries (from the run record, the same for
//! every process). An actor's add goes through one Lua script
//! that checks the cap, the sequence number and appends atomically; at the cap the script adds
//! nothing and the actor **waits** (sleeping 5 ms doubling to 200 ms, counted in
//! [`ActorReport::full_waits`]) and tries the same message again. Nothing is dropped while the
//! run goes on: a slow learner slows the actors down, and Redis holds at most `stream_cap`
//! entries of the run. Once the learner has set the stop flag the script adds nothing more
//! (so the learner's final count of what was sent is final): a waiting or late actor gives its
//! message up (it was never added, so it is not counted as sent) and ends.
//!
//! # The step budget
//! The same script adds each message's environment steps to the run's counter (`{p}:steps`)
//! and tells the actor when the counter has reached `run.env_steps`; the actor then stops. So
//! the actors together take about the budget (plus at most one message per actor), however far
//! ahead of the learner the stream lets them run; the learner's stop flag ends them too.
//!
//! # Idempotent adds
//! The script also refuses a sequence number at or below the one it last recorded for this
//! actor start (`{p}:sent`), so an add retried after a lost reply (Redis restarted in
//! between) is not appended twice.

use crate::error::{DistError, Result};
use crate::keys::Keys;
use crate::link::Link;
use crate::wire::{Body, Envelope, Parameters, RunRecord};
use bprl_agents::actor::Action;
use bprl_agents::trainer::acting::{Host, Recorder, run_episode};
use bprl_agents::trainer::seeds::mix;
use bprl_agents::trainer::step_spec_of;
use bprl_agents::{ActorState, Learner, Policy};
use bprl_envs::{Env, TaskFamily, TimeStep};
use bprl_policy::ObservationSpec;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::time::{Duration, Instant};

/// Appends `ARGV[4]` as field `m` to stream `KEYS[1]` unless the run's stop flag `KEYS[4]`
/// is set (returns 3: the learner has its budget, nothing more is taken), sequence number
/// `ARGV[3]` is not above the one recorded under field `ARGV[2]` of hash `KEYS[2]` (returns
/// -1) or the stream holds `ARGV[1]` entries (returns 0); on success records `ARGV[3]` there,
/// adds the message's `ARGV[5]` environment steps to the run's counter `KEYS[3]` and returns 1,
/// or 2 when the counter has reached the run's budget `ARGV[6]` (the actor stops).
const ADD_SCRIPT: &str = r"
if redis.call('EXISTS', KEYS[4]) == 1 then return 3 end
local last = tonumber(redis.call('HGET', KEYS[2], ARGV[2]) or '0')
if tonumber(ARGV[3]) <= last then return -1 end
if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('XADD', KEYS[1], '*', 'm', ARGV[4])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
local steps = redis.call('INCRBY', KEYS[3], ARGV[5])
if steps >= tonumber(ARGV[6]) then return 2 end
return 1
";

/// An actor's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ActorSettings {
    /// The actor's id (distinct per actor of a run).
    pub id: u32,
    /// Key prefix of the run.
    pub prefix: String,
    /// Check for new parameters (and the stop flag) every this many environment steps.
    pub fetch_every: u64,
    /// How long to wait for the run record and the first parameters.
    pub start_timeout: Duration,
    /// Stop after this many environment steps of this start (`None`: until the learner's stop
    /// flag), e.g. for benchmarks.
    pub max_steps: Option<u64>,
}

impl Default for ActorSettings {
    fn default() -> Self {
        Self {
            id: 0,
            prefix: "bprl".into(),
            fetch_every: 100,
            start_timeout: Duration::from_secs(120),
            max_steps: None,
        }
    }
}

/// What one start of an actor did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ActorReport {
    /// The actor's id.
    pub actor: u32,
    /// Which start this was.
    pub incarnation: u32,
    /// Messages put on the stream (items and episode summaries): the last sequence number.
    pub sent: u64,
    /// Of those, items.
    pub items: u64,
    /// Episodes finished.
    pub episodes: u64,
    /// Environment steps taken.
    pub env_steps: u64,
    /// Times an add found the stream at its cap and waited.
    pub full_waits: u64,
    /// Parameter versions taken up (the first included).
    pub param_updates: u64,
    /// The parameter version acted with at the end.
    pub param_version: u64,
    /// Parameter blobs refused (bad bytes, another run, other shapes).
    pub bad_params: u64,
    /// Reconnections to Redis.
    pub reconnects: u64,
    /// Environment steps taken after the last message (the episode the stop flag cut short):
    /// never reported, so `env_steps - unreported_steps` is what the learner counted.
    pub unreported_steps: u64,
}

/// One finished episode of an actor, for its metrics.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ActorEpisode {
    /// The actor's id.
    pub actor: u32,
    /// Which start.
    pub incarnation: u32,
    /// The episode's number in this start.
    pub episode: u64,
    /// Undiscounted return.
    pub episode_return: f64,
    /// Whether it terminated.
    pub success: bool,
    /// Steps.
    pub length: u64,
    /// The parameter version that acted at its first step.
    pub param_version_first: u64,
    /// The parameter version that acted at its last step (every item carries its own).
    pub param_version_last: u64,
    /// Items it produced.
    pub items: u64,
}

/// The family kind a run was published with (`{p}:run` field `kind`), waiting up to `timeout`
/// for a learner to publish it: lets a command line pick the family type before it decodes the
/// record.
///
/// # Errors
/// [`DistError::Redis`]; [`DistError::Invalid`] if no record appears in time.
pub fn run_kind(link: &mut Link, keys: &Keys, timeout: Duration) -> Result<String> {
    let start = Instant::now();
    loop {
        let kind: Option<String> = link.call("HGET run kind", |c| {
            redis::cmd("HGET").arg(keys.run()).arg("kind").query(c)
        })?;
        if let Some(k) = kind {
            return Ok(k);
        }
        if start.elapsed() > timeout {
            return Err(DistError::Invalid {
                field: "run record",
                value: keys.run(),
                requirement: format!("a learner must publish it (waited {} s)", timeout.as_secs()),
            });
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Reads the run record (present once [`run_kind`] returned).
///
/// # Errors
/// [`DistError::Redis`]; [`DistError::Wire`].
pub fn read_run<T: Serialize + DeserializeOwned>(
    link: &mut Link,
    keys: &Keys,
) -> Result<RunRecord<T>> {
    let bytes: Option<Vec<u8>> = link.call("HGET run record", |c| {
        redis::cmd("HGET").arg(keys.run()).arg("record").query(c)
    })?;
    RunRecord::decode(&bytes.unwrap_or_default())
}

/// The actor's connection to the run: adds, parameters, the stop flag.
struct Outbox<'a> {
    link: &'a mut Link,
    keys: &'a Keys,
    script: redis::Script,
    settings: &'a ActorSettings,
    run_id: u64,
    incarnation: u32,
    field: String,
    report: ActorReport,
    /// Environment steps since the last message.
    unsent_steps: u64,
    policy: Policy,
    expected_shapes: Vec<(String, Vec<usize>)>,
    steps_since_fetch: u64,
    stopped: bool,
    /// The run's `run.env_steps`: actors stop once their sent messages hold that many steps.
    budget: u64,
    /// The run's stream cap (from the run record).
    stream_cap: u64,
}

impl Outbox<'_> {
    fn send(&mut self, body: Body) -> Result<()> {
        let seq = self.report.sent + 1;
        let is_item = matches!(body, Body::Item(_));
        let message = Envelope {
            run_id: self.run_id,
            actor: self.settings.id,
            incarnation: self.incarnation,
            seq,
            param_version: self.report.param_version,
            env_steps: self.unsent_steps,
            body,
        }
        .encode()?;
        let mut wait = Duration::from_millis(5);
        loop {
            let (script, keys, cap, field) =
                (&self.script, self.keys, self.stream_cap, &self.field);
            let reconnects = self.link.reconnects();
            let (steps, budget) = (self.unsent_steps, self.budget);
            let r: i64 = self.link.call("add item (script)", |c| {
                script
                    .key(keys.items())
                    .key(keys.sent())
                    .key(keys.steps())
                    .key(keys.stop())
                    .arg(cap)
                    .arg(field)
                    .arg(seq)
                    .arg(&message[..])
                    .arg(steps)
                    .arg(budget)
                    .invoke(c)
            })?;
            match r {
                1 => break,
                // Added by an earlier try whose reply was lost with the connection. Without a
                // reconnection the number was recorded by another process: refuse to go on.
                -1 if self.link.reconnects() != reconnects => break,
                -1 => {
                    return Err(DistError::Invalid {
                        field: "sequence number",
                        value: format!("{} of actor start {}", seq, self.field),
                        requirement: "not yet recorded: is another process running as this actor?"
                            .into(),
                    });
                }
                // The run is over: the message was not added (and is not counted as sent).
                3 => {
                    self.stopped = true;
                    return Ok(());
                }
                // Added, and the actors have spent the run's step budget.
                2 => {
                    self.stopped = true;
                    break;
                }
                _ => {
                    self.report.full_waits += 1;
                    std::thread::sleep(wait);
                    wait = (wait * 2).min(Duration::from_millis(200));
                }
            }
        }
        self.report.sent = seq;
        self.report.items += u64::from(is_item);
        self.unsent_steps = 0;
        Ok(())
    }

    /// Checks the stop flag and takes up newer parameters; waits for the first ones when
    /// `wait` (the actor's start).
    fn refresh(&mut self, wait: Option<Duration>) -> Result<()> {
        let start = Instant::now();
        loop {
            let keys = self.keys;
            let (stop, version): (Option<String>, Option<u64>) =
                self.link.call("GET stop, HGET params version", |c| {
                    redis::pipe()
                        .cmd("GET")
                        .arg(keys.stop())
                        .cmd("HGET")
                        .arg(keys.params())
                        .arg("version")
                        .query(c)
                })?;
            self.stopped |= stop.is_some();
            if let Some(v) = version
                && v != self.report.param_version
            {
                let blob: Option<Vec<u8>> = self.link.call("HGET params blob", |c| {
                    redis::cmd("HGET").arg(keys.params()).arg("blob").query(c)
                })?;
                match Parameters::decode(&blob.unwrap_or_default(), self.run_id) {
                    Ok(p) if p.policy.parameter_shapes() == self.expected_shapes => {
                        self.policy = p.policy;
                        self.report.param_version = v;
                        self.report.param_updates += 1;
                    }
                    _ => self.report.bad_params += 1,
                }
            }
            match wait {
                Some(t) if self.report.param_updates == 0 && !self.stopped => {
                    if start.elapsed() > t {
                        return Err(DistError::Invalid {
                            field: "parameters",
                            value: keys.params(),
                            requirement: format!(
                                "a learner must publish them (waited {} s)",
                                t.as_secs()
                            ),
                        });
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                _ => return Ok(()),
            }
        }
    }
}

/// The acting host: the outbox's policy, items to the stream.
struct StreamHost<'a, 'b> {
    out: &'b mut Outbox<'a>,
    recorder: Recorder,
    items: u64,
}

impl Host for StreamHost<'_, '_> {
    fn actor(&self) -> bprl_agents::Result<ActorState> {
        self.out.policy.actor()
    }

    fn act(
        &mut self,
        state: &mut ActorState,
        obs: &[f32],
        first: bool,
        rng: &mut StdRng,
    ) -> bprl_agents::Result<Action> {
        self.out.policy.act(state, obs, first, false, rng)
    }

    fn transition(
        &mut self,
        ts: &TimeStep,
        action: Action,
        next: &TimeStep,
        first: bool,
    ) -> bprl_agents::Result<bool> {
        let items = self.recorder.record(ts, action, next, first)?;
        let out = &mut *self.out;
        out.unsent_steps += 1;
        out.report.env_steps += 1;
        out.steps_since_fetch += 1;
        for item in items {
            out.send(Body::Item(item)).map_err(to_agent)?;
            self.items += 1;
        }
        if out.steps_since_fetch >= out.settings.fetch_every {
            out.steps_since_fetch = 0;
            out.refresh(None).map_err(to_agent)?;
        }
        let over = out
            .settings
            .max_steps
            .is_some_and(|m| out.report.env_steps >= m);
        Ok(!out.stopped && !over)
    }
}

/// Carries an error of this crate through the agent crate's acting loop.
fn to_agent(e: DistError) -> bprl_agents::AgentError {
    match e {
        DistError::Agent(a) => a,
        other => bprl_agents::AgentError::Shape(format!("distributed actor: {other}")),
    }
}

/// Runs actor `settings.id` of the run under `settings.prefix` until the learner's stop flag
/// (or `settings.max_steps`): takes the next incarnation number, builds its environment from
/// the run record, waits for parameters, then acts. `on_episode` sees every finished episode
/// (for the actor's metrics file).
///
/// # Errors
/// Redis unreachable past the reconnect budget; no run record or parameters in time; an
/// environment error.
pub fn run_actor<T>(
    link: &mut Link,
    settings: &ActorSettings,
    on_episode: &mut dyn FnMut(&ActorEpisode),
) -> Result<ActorReport>
where
    T: TaskFamily + Serialize + DeserializeOwned,
{
    if settings.fetch_every == 0 {
        return Err(DistError::Invalid {
            field: "fetch_every",
            value: "0".into(),
            requirement: "at least 1".into(),
        });
    }
    let keys = Keys::new(&settings.prefix);
    run_kind(link, &keys, settings.start_timeout)?;
    let run: RunRecord<T> = read_run(link, &keys)?;
    let incarnation: u32 = link.call("HINCRBY incarnations", |c| {
        redis::cmd("HINCRBY")
            .arg(keys.incarnations())
            .arg(settings.id)
            .arg(1)
            .query(c)
    })?;
    let mut env = run.family.make_env(run.split)?;
    let spec = ObservationSpec::new(env.observation_spec().to_vec())
        .map_err(bprl_agents::AgentError::from)?;
    let template = Learner::new(&run.config, &spec, &env.action_spec())?;
    let step_spec = step_spec_of(&run.config, &env)?;
    let policy = template.policy();
    let mut out = Outbox {
        link,
        keys: &keys,
        script: redis::Script::new(ADD_SCRIPT),
        settings,
        run_id: run.run_id,
        incarnation,
        field: format!("{}.{incarnation}", settings.id),
        report: ActorReport {
            actor: settings.id,
            incarnation,
            ..ActorReport::default()
        },
        unsent_steps: 0,
        expected_shapes: policy.parameter_shapes(),
        policy,
        steps_since_fetch: 0,
        stopped: false,
        budget: run.config.run.env_steps,
        stream_cap: run.stream_cap,
    };
    out.refresh(Some(settings.start_timeout))?;
    let seed = mix(
        mix(
            run.config.run.seed,
            0x0061_6374_6f72 + u64::from(settings.id),
        ),
        u64::from(incarnation),
    );
    let mut rng = StdRng::seed_from_u64(seed);
    let mut episode = 0u64;
    while !out.stopped && settings.max_steps.is_none_or(|m| out.report.env_steps < m) {
        episode += 1;
        let first_version = out.report.param_version;
        let mut host = StreamHost {
            out: &mut out,
            recorder: Recorder::new(&step_spec, run.config.learner.sequence_length)?,
            items: 0,
        };
        let result = run_episode(&mut env, &mut host, mix(seed, episode), &mut rng)?;
        let items = host.items;
        if !result.finished {
            break;
        }
        out.send(Body::Episode {
            episode_return: result.episode_return,
            success: result.success,
            length: result.length,
        })?;
        out.report.episodes += 1;
        on_episode(&ActorEpisode {
            actor: settings.id,
            incarnation,
            episode,
            episode_return: result.episode_return,
            success: result.success,
            length: result.length,
            param_version_first: first_version,
            param_version_last: out.report.param_version,
            items,
        });
    }
    out.report.reconnects = out.link.reconnects();
    out.report.unreported_steps = out.unsent_steps;
    Ok(out.report)
}
