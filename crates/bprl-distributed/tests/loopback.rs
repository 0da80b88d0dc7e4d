//! Actors and learner on loopback against a real `redis-server` each test starts (and kills
//! when it ends): delivery without loss or duplication, rejected messages, a learner that
//! crashes and resumes, a Redis restart, and backpressure at the stream's cap.
//!
//! Without `redis-server` the tests are skipped, unless `BPRL_REQUIRE_REDIS=1` (set by
//! `make test`) makes that a failure.

use bprl_agents::{AgentConfig, TaskSplit, Trainer};
use bprl_distributed::actor::{ActorSettings, run_actor};
use bprl_distributed::learner::{LearnerReport, LearnerSettings, run_learner};
use bprl_distributed::wire::{Body, Envelope};
use bprl_distributed::{Backoff, DistError, Keys, Link, RedisServer, server};
use bprl_envs::{BodyKind, Suite, TargetsConfig};
use std::path::Path;
use std::time::Duration;

fn redis_or_skip() -> bool {
    if server::available() {
        return true;
    }
    assert!(
        std::env::var("BPRL_REQUIRE_REDIS").as_deref() != Ok("1"),
        "BPRL_REQUIRE_REDIS=1 and no redis-server (scripts/install-deps.sh installs it)"
    );
    eprintln!("skipped: no redis-server");
    false
}

fn suite() -> Suite {
    Suite::new(
        BodyKind::PointMass,
        TargetsConfig {
            num_targets: 1,
            max_steps: 20,
            shaping: 1.0,
            radius: 0.2,
            ..TargetsConfig::default()
        },
    )
}

fn tiny(env_steps: u64) -> AgentConfig {
    let mut c = AgentConfig::default();
    c.learner.batch_size = 8;
    c.learner.sequence_length = 5;
    c.learner.action_samples = 2;
    c.learner.policy_hidden = vec![16];
    c.learner.critic_hidden = vec![16];
    c.run.env_steps = env_steps;
    c.run.min_replay = 8;
    c.run.samples_per_insert = 4.0;
    c.run.replay_capacity = 1_000;
    c.run.eval_every_episodes = 0;
    c.run.checkpoint_every_episodes = 5;
    c.run.seed = 3;
    c
}

fn link(url: &str) -> Link {
    Link::open(url, Backoff::default()).unwrap()
}

fn settings(cap: u64) -> LearnerSettings {
    LearnerSettings {
        stream_cap: cap,
        publish_every: 5,
        drain_quiet: Duration::from_millis(500),
        drain_timeout: Duration::from_secs(5),
        ..LearnerSettings::default()
    }
}

fn actor_settings(id: u32) -> ActorSettings {
    ActorSettings {
        id,
        fetch_every: 20,
        start_timeout: Duration::from_secs(30),
        ..ActorSettings::default()
    }
}

/// Runs `n` actor threads until the learner stops them (the stream cap comes from the run
/// record); returns their reports.
fn actors(
    url: &str,
    n: u32,
) -> Vec<std::thread::JoinHandle<bprl_distributed::Result<bprl_distributed::ActorReport>>> {
    (0..n)
        .map(|i| {
            let url = url.to_string();
            std::thread::spawn(move || {
                run_actor::<Suite>(&mut link(&url), &actor_settings(i), &mut |_| {})
            })
        })
        .collect()
}

fn learn(url: &str, dir: &Path, config: AgentConfig, cap: u64) -> LearnerReport {
    run_learner(
        &mut link(url),
        &settings(cap),
        (config, suite(), TaskSplit::Train),
        dir,
        &mut |_, _| Ok(()),
    )
    .unwrap()
}

fn query<T: redis::FromRedisValue>(url: &str, cmd: &mut redis::Cmd) -> T {
    let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
    cmd.query(&mut c).unwrap()
}

/// A learner of `config` in a thread against a fresh server in `dir`, once it has published
/// its parameters: the server (drop it last), its URL, the run id and the learner's handle.
fn learner_in_background(
    dir: &Path,
    config: AgentConfig,
) -> (
    RedisServer,
    String,
    u64,
    std::thread::JoinHandle<LearnerReport>,
) {
    let redis = RedisServer::start(&dir.join("redis")).unwrap();
    let url = redis.url();
    let run_id = bprl_agents::trainer::run_id_of(&config, TaskSplit::Train);
    let learner = {
        let (url, dir) = (url.clone(), dir.join("ckpt"));
        std::thread::spawn(move || learn(&url, &dir, config, 10_000))
    };
    wait_for_parameters(&url);
    (redis, url, run_id, learner)
}

/// An episode callback that fails at `episode`: the learner stops there as a crash would,
/// without its final checkpoint.
fn crash_at(
    episode: u64,
) -> impl FnMut(
    &bprl_agents::EpisodeRecord,
    Option<&bprl_agents::EvalRecord>,
) -> bprl_distributed::Result<()> {
    move |r, _| {
        if r.episode == episode {
            Err(DistError::Invalid {
                field: "test",
                value: "crash".into(),
                requirement: "none".into(),
            })
        } else {
            Ok(())
        }
    }
}

/// Waits until the learner has counted `steps` environment steps.
fn wait_for_progress(url: &str, steps: u64) {
    for _ in 0..1200 {
        let v: Option<u64> = query(
            url,
            redis::cmd("HGET").arg("bprl:progress").arg("env_steps"),
        );
        if v.is_some_and(|v| v >= steps) {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("no progress to {steps} steps");
}

/// Waits until the learner has published parameters.
fn wait_for_parameters(url: &str) {
    for _ in 0..600 {
        let v: Option<u64> = query(url, redis::cmd("HGET").arg("bprl:params").arg("version"));
        if v.is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("no parameters published");
}

fn check_exact(report: &LearnerReport, sent: u64) {
    assert_eq!(report.lost, 0, "{report:?}");
    assert_eq!(report.duplicated, 0, "{report:?}");
    assert_eq!(report.sent, sent, "{report:?}");
}

#[test]
fn two_actors_feed_the_learner_without_loss_or_duplication() {
    if !redis_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let redis = RedisServer::start(&dir.path().join("redis")).unwrap();
    let url = redis.url();
    let handles = actors(&url, 2);
    let report = learn(&url, &dir.path().join("ckpt"), tiny(600), 10_000);
    let reports: Vec<_> = handles
        .into_iter()
        .map(|h| h.join().unwrap().unwrap())
        .collect();
    let sent: u64 = reports.iter().map(|r| r.sent).sum();
    let items: u64 = reports.iter().map(|r| r.items).sum();
    check_exact(&report, sent);
    assert_eq!(report.items, items, "every item inserted once");
    assert!(report.env_steps >= 600, "{report:?}");
    assert_eq!(
        report.env_steps,
        reports
            .iter()
            .map(|r| r.env_steps - r.unreported_steps)
            .sum::<u64>(),
        "env steps summed from messages"
    );
    assert!(report.updates > 0 && report.published > 1, "{report:?}");
    assert!(
        reports.iter().all(|r| r.param_updates >= 2),
        "parameters are fetched again during the run: {reports:?}"
    );
    assert_eq!(report.rejected, 0);
    // The run's checkpoint resumes with every episode recorded.
    let back = Trainer::<Suite>::load(&dir.path().join("ckpt")).unwrap();
    assert_eq!(back.counters.episodes, report.episodes);
    assert_eq!(back.history.len() as u64, report.episodes);
}

#[test]
fn malformed_truncated_foreign_and_bad_messages_are_rejected_and_counted() {
    if !redis_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_redis, url, run_id, learner) = learner_in_background(dir.path(), tiny(300));
    let item = |v: f32| {
        let t = Trainer::new(tiny(300), suite(), TaskSplit::Train).unwrap();
        let spec = t.replay.spec();
        let steps = 6;
        bprl_replay::Item {
            steps,
            observations: vec![v; steps * spec.observation_len()],
            actions: vec![0.0; steps * spec.action_dim()],
            extras: vec![],
            rewards: vec![0.0; steps],
            discounts: vec![1.0; steps],
            log_probs: vec![0.0; steps],
            mask: vec![1.0; steps],
            last: vec![0.0; steps],
            episode: 1,
            offset: 0,
        }
    };
    let envelope = |run_id, seq, body| Envelope {
        run_id,
        actor: 99,
        incarnation: 1,
        seq,
        param_version: 1,
        env_steps: 0,
        body,
    };
    let good = envelope(run_id, 1, Body::Item(item(0.5))).encode().unwrap();
    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x10;
    let wrong_width = {
        let mut i = item(0.5);
        i.actions.pop();
        envelope(run_id, 3, Body::Item(i)).encode().unwrap()
    };
    let messages: Vec<Vec<u8>> = vec![
        b"not a message at all".to_vec(),
        good[..good.len() - 7].to_vec(),
        flipped,
        envelope(run_id ^ 1, 1, Body::Item(item(0.5)))
            .encode()
            .unwrap(),
        envelope(run_id, 2, Body::Item(item(f32::NAN)))
            .encode()
            .unwrap(),
        wrong_width,
    ];
    for m in &messages {
        let _: String = query(
            &url,
            redis::cmd("XADD")
                .arg("bprl:items")
                .arg("*")
                .arg("m")
                .arg(&m[..]),
        );
    }
    let _: String = query(
        &url,
        redis::cmd("XADD")
            .arg("bprl:items")
            .arg("*")
            .arg("other")
            .arg("x"),
    );
    let handles = actors(&url, 1);
    let report = learner.join().unwrap();
    let sent: u64 = handles
        .into_iter()
        .map(|h| h.join().unwrap().unwrap().sent)
        .sum();
    let by = |k: &str| report.rejected_by_reason.get(k).copied().unwrap_or(0);
    assert_eq!(by("malformed"), 3, "{report:?}");
    assert_eq!(by("foreign run"), 1, "{report:?}");
    assert_eq!(by("bad item"), 2, "{report:?}");
    assert_eq!(by("no field m"), 1, "{report:?}");
    assert_eq!(report.rejected, 7);
    // The injected actor 99 never counted its sends: only the real actor's are checked.
    check_exact(&report, sent);
    assert!(report.updates > 0);
}

#[test]
fn a_learner_that_crashes_resumes_from_its_checkpoint_and_the_stream() {
    if !redis_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let redis = RedisServer::start(&dir.path().join("redis")).unwrap();
    let url = redis.url();
    let ckpt = dir.path().join("ckpt");
    let handles = actors(&url, 2);
    // The crash: the learner dies at episode 12, two episodes after its checkpoint at 10,
    // having acknowledged what it took since (it reads one entry at a time here, so episode
    // 11's summary was acknowledged before episode 12's was taken).
    let crashed = run_learner(
        &mut link(&url),
        &LearnerSettings {
            read_count: 1,
            ..settings(10_000)
        },
        (tiny(800), suite(), TaskSplit::Train),
        &ckpt,
        &mut crash_at(12),
    );
    assert!(crashed.is_err());
    assert_eq!(bprl_agents::checkpoint::latest(&ckpt).unwrap().0, 10);
    let pending: Vec<redis::Value> = query(
        &url,
        redis::cmd("XPENDING").arg("bprl:items").arg("learner"),
    );
    assert!(
        matches!(pending[0], redis::Value::Int(n) if n <= 1),
        "acknowledged but for the entry in hand: {pending:?}"
    );
    let mut episodes = Vec::new();
    let report = run_learner(
        &mut link(&url),
        &settings(10_000),
        (tiny(800), suite(), TaskSplit::Train),
        &ckpt,
        &mut |r, _| {
            episodes.push(r.episode);
            Ok(())
        },
    )
    .unwrap();
    assert_eq!(report.resumed_from, Some(10));
    assert_eq!(
        episodes.first(),
        Some(&11),
        "episodes 11 and 12 recorded again"
    );
    let sent: u64 = handles
        .into_iter()
        .map(|h| h.join().unwrap().unwrap().sent)
        .sum();
    check_exact(&report, sent);
    let back = Trainer::<Suite>::load(&ckpt).unwrap();
    assert_eq!(back.history.len() as u64, report.episodes);
}

#[test]
fn everyone_reconnects_after_redis_restarts_from_its_append_only_file() {
    if !redis_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut redis = RedisServer::start(&dir.path().join("redis")).unwrap();
    let url = redis.url();
    let handles = actors(&url, 2);
    let learner = {
        let (url, dir) = (url.clone(), dir.path().join("ckpt"));
        std::thread::spawn(move || learn(&url, &dir, tiny(4_000), 10_000))
    };
    wait_for_progress(&url, 400);
    redis.restart().unwrap();
    let report = learner.join().unwrap();
    let reports: Vec<_> = handles
        .into_iter()
        .map(|h| h.join().unwrap().unwrap())
        .collect();
    check_exact(&report, reports.iter().map(|r| r.sent).sum());
    assert!(report.reconnects > 0, "{report:?}");
    assert!(reports.iter().all(|r| r.reconnects > 0), "{reports:?}");
}

#[test]
fn a_capped_stream_holds_actors_back_and_never_grows_past_its_cap() {
    if !redis_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let redis = RedisServer::start(&dir.path().join("redis")).unwrap();
    let url = redis.url();
    // A run with no learner reading: the record and parameters only.
    let t = Trainer::new(tiny(10_000), suite(), TaskSplit::Train).unwrap();
    let keys = Keys::new("bprl");
    bprl_distributed::learner::publish_without_learner(&mut link(&url), &settings(25), &t).unwrap();
    let cap = 25;
    let handle = actors(&url, 1).pop().unwrap();
    // Until the actor has filled the stream (up to 30 s on a loaded machine), then 1 s more:
    // the length never passes the cap.
    let xlen = || query::<u64>(&url, redis::cmd("XLEN").arg(keys.items()));
    let mut lengths = Vec::new();
    for _ in 0..600 {
        std::thread::sleep(Duration::from_millis(50));
        lengths.push(xlen());
        if *lengths.last().unwrap() >= cap {
            break;
        }
    }
    for _ in 0..10 {
        std::thread::sleep(Duration::from_millis(100));
        lengths.push(xlen());
    }
    assert!(lengths.iter().all(|&n| n <= cap), "{lengths:?}");
    assert_eq!(
        *lengths.last().unwrap(),
        cap,
        "the actor filled the stream: {lengths:?}"
    );
    assert!(!handle.is_finished(), "the actor waits at the cap");
    let _: () = query(&url, redis::cmd("SET").arg(keys.stop()).arg(1));
    let report = handle.join().unwrap().unwrap();
    assert_eq!(
        report.sent, cap,
        "exactly the cap went in, nothing dropped before the stop"
    );
    assert!(report.full_waits > 0);
    let sent: u64 = query(&url, redis::cmd("HGET").arg(keys.sent()).arg("0.1"));
    assert_eq!(sent, cap);
}

/// `make distributed-demo` failed at once: a relative data folder (`runs/x/redis`) made
/// redis-server look for its log file at `runs/x/redis/runs/x/redis/redis.log` (it changes
/// into `--dir` first) and exit.
#[test]
fn a_server_in_a_relative_folder_starts() {
    if !redis_or_skip() {
        return;
    }
    let here = tempfile::tempdir_in(".").unwrap();
    let relative = Path::new(here.path().file_name().unwrap()).join("redis");
    let server = RedisServer::start(&relative).unwrap();
    let pong: String = query(&server.url(), &mut redis::cmd("PING"));
    assert_eq!(pong, "PONG");
    assert!(server.dir().is_absolute());
    assert!(here.path().join("redis").join("redis.log").exists());
}

/// The review of issue 19 found it: a learner that died before its first checkpoint came back
/// as a fresh run and deleted the stream and the actors' counters (123 of 604 messages lost,
/// incarnation numbers reused). The same run's keys are now kept and the stream is read again
/// from its start.
#[test]
fn a_learner_that_dies_before_its_first_checkpoint_takes_the_whole_stream_again() {
    if !redis_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let redis = RedisServer::start(&dir.path().join("redis")).unwrap();
    let url = redis.url();
    let ckpt = dir.path().join("ckpt");
    let mut config = tiny(800);
    config.run.checkpoint_every_episodes = 1_000;
    let handles = actors(&url, 2);
    let crashed = run_learner(
        &mut link(&url),
        &settings(10_000),
        (config.clone(), suite(), TaskSplit::Train),
        &ckpt,
        &mut crash_at(6),
    );
    assert!(crashed.is_err());
    assert!(
        !ckpt.join("LATEST").exists(),
        "no checkpoint before the crash"
    );
    let report = learn(&url, &ckpt, config, 10_000);
    assert_eq!(report.resumed_from, None);
    let reports: Vec<_> = handles
        .into_iter()
        .map(|h| h.join().unwrap().unwrap())
        .collect();
    check_exact(&report, reports.iter().map(|r| r.sent).sum());
    assert!(reports.iter().all(|r| r.incarnation == 1), "{reports:?}");
}

/// The ledger's two alarms can fire: a sequence number delivered twice is a duplicate (taken
/// once), and a number the actor's counter says was sent but never arrived is lost.
#[test]
fn duplicated_and_missing_messages_are_counted() {
    if !redis_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_redis, url, run_id, learner) = learner_in_background(dir.path(), tiny(300));
    let summary = |seq| {
        Envelope {
            run_id,
            actor: 77,
            incarnation: 1,
            seq,
            param_version: 1,
            env_steps: 0,
            body: Body::Episode {
                episode_return: 0.0,
                success: false,
                length: 0,
            },
        }
        .encode()
        .unwrap()
    };
    // Actor start 77.1 "sent" 1, 2, 3, 4: 1 arrives twice, 3 never.
    for seq in [1, 1, 2, 4] {
        let _: String = query(
            &url,
            redis::cmd("XADD")
                .arg("bprl:items")
                .arg("*")
                .arg("m")
                .arg(&summary(seq)[..]),
        );
    }
    let _: () = query(&url, redis::cmd("HSET").arg("bprl:sent").arg("77.1").arg(4));
    let handles = actors(&url, 1);
    let report = learner.join().unwrap();
    let sent: u64 = handles
        .into_iter()
        .map(|h| h.join().unwrap().unwrap().sent)
        .sum();
    assert_eq!(report.duplicated, 1, "{report:?}");
    assert_eq!(report.lost, 1, "{report:?}");
    assert_eq!(report.sent, sent + 4);
}
