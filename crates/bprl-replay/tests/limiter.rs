//! The samples-per-insert rate limiter under threads, timeouts and shutdown.

use crate::common::{items, spec};
use bprl_replay::{ConfigError, RateLimiterConfig, Replay, ReplayConfig, ReplayError};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

fn limited(spi: f64, error_buffer: f64, min_size: u64) -> Replay {
    Replay::new(
        spec(),
        ReplayConfig {
            capacity: 1000,
            sequence_length: 1,
            rate_limiter: RateLimiterConfig {
                min_size_to_sample: min_size,
                samples_per_insert: spi,
                error_buffer,
            },
            seed: 3,
        },
    )
    .unwrap()
}

#[test]
fn threads_keep_the_ratio_within_the_error_buffer() {
    let (spi, buffer, min_size, batch) = (4.0, 40.0, 10u64, 8usize);
    let replay = limited(spi, buffer, min_size);
    let writers = 3;
    let per_writer = 150;
    let done = Arc::new(AtomicUsize::new(0));
    let mut handles = Vec::new();
    for w in 0..writers {
        let (r, done) = (replay.clone(), done.clone());
        handles.push(thread::spawn(move || {
            let lengths = vec![per_writer];
            for mut item in items(&lengths, 1) {
                item.episode = w;
                r.insert(item, Some(Duration::from_secs(20))).unwrap();
            }
            done.fetch_add(1, Ordering::SeqCst);
        }));
    }
    let center = min_size as f64 * spi;
    let mut batches = 0;
    loop {
        match replay.sample(batch, Some(Duration::from_millis(200))) {
            Ok(_) => {
                batches += 1;
                let s = replay.stats();
                let diff = s.inserts as f64 * spi - s.samples as f64;
                assert!(
                    diff >= center - buffer && diff <= center + buffer,
                    "diff {diff} left [{}, {}] at {s:?}",
                    center - buffer,
                    center + buffer
                );
            }
            Err(ReplayError::Timeout { .. }) if done.load(Ordering::SeqCst) == writers as usize => {
                break;
            }
            Err(ReplayError::Timeout { .. }) => {}
            Err(e) => panic!("unexpected {e}"),
        }
    }
    for h in handles {
        h.join().unwrap();
    }
    let s = replay.stats();
    assert_eq!(s.inserts, (writers as usize * per_writer) as u64);
    let ratio = s.samples as f64 / s.inserts as f64;
    assert!(
        (ratio - spi).abs() * s.inserts as f64 <= buffer + center,
        "ratio {ratio}"
    );
    assert!(batches > 0);
}

#[test]
fn shutdown_unblocks_a_waiting_sampler_and_inserter() {
    // A sampler on an empty replay blocks (nothing to sample).
    let empty = limited(1.0, 2.0, 1);
    let sampler = {
        let r = empty.clone();
        thread::spawn(move || r.sample(1, None))
    };
    // An inserter with no sampler blocks once `diff + spi > center + error_buffer` (3 inserts).
    let replay = limited(1.0, 2.0, 1);
    let inserter = {
        let r = replay.clone();
        thread::spawn(move || {
            for item in items(&[10], 1) {
                r.insert(item, None)?;
            }
            Ok::<(), ReplayError>(())
        })
    };
    thread::sleep(Duration::from_millis(100));
    assert_eq!(
        replay.stats().inserts,
        3,
        "the inserter is blocked by the limiter"
    );
    empty.shutdown();
    replay.shutdown();
    assert!(matches!(
        sampler.join().unwrap(),
        Err(ReplayError::Shutdown)
    ));
    assert!(matches!(
        inserter.join().unwrap(),
        Err(ReplayError::Shutdown)
    ));
    assert!(matches!(replay.sample(1, None), Err(ReplayError::Shutdown)));
    assert!(matches!(
        replay.insert(items(&[1], 1).remove(0), None),
        Err(ReplayError::Shutdown)
    ));
}

#[test]
fn a_blocked_sample_times_out() {
    let replay = limited(1.0, 2.0, 5);
    let e = replay
        .sample(1, Some(Duration::from_millis(50)))
        .unwrap_err();
    assert!(matches!(e, ReplayError::Timeout { op: "sample", waited_ms } if waited_ms >= 50));
}

#[test]
fn an_impossible_batch_and_bad_configs_are_typed_errors() {
    let replay = limited(1.0, 2.0, 1);
    assert!(matches!(
        replay.sample(8, None),
        Err(ReplayError::BatchExceedsWindow { batch: 8, .. })
    ));
    let bad = |rate_limiter, capacity| {
        Replay::new(
            spec(),
            ReplayConfig {
                capacity,
                sequence_length: 1,
                rate_limiter,
                seed: 0,
            },
        )
    };
    let spi = |s| RateLimiterConfig {
        min_size_to_sample: 1,
        samples_per_insert: s,
        error_buffer: 1.0,
    };
    assert!(matches!(
        bad(spi(0.0), 10),
        Err(ConfigError::Invalid {
            field: "samples_per_insert",
            ..
        })
    ));
    assert!(matches!(
        bad(spi(f64::NAN), 10),
        Err(ConfigError::Invalid { .. })
    ));
    assert!(matches!(
        bad(RateLimiterConfig::min_size(20), 10),
        Err(ConfigError::Invalid {
            field: "capacity",
            ..
        })
    ));
    assert!(matches!(
        bad(RateLimiterConfig::min_size(0), 10),
        Err(ConfigError::Invalid { .. })
    ));
}
