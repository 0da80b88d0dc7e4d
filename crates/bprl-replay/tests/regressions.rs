//! Regression tests of issue 15 ("Reliability"): each opens with the failure it pins.

use crate::common::{items, replay, spec};
use bprl_replay::{
    ConfigError, MAX_BATCH, MAX_CAPACITY, MAX_SEQUENCE_LENGTH, RateLimiterConfig, Replay,
    ReplayConfig, ReplayError, SequenceAdder, StepSpec, TimeMajor,
};

fn config(capacity: usize, sequence_length: usize) -> ReplayConfig {
    ReplayConfig {
        capacity,
        sequence_length,
        rate_limiter: RateLimiterConfig::min_size(1),
        seed: 0,
    }
}

/// Issue 15: `Replay::new` with `capacity = usize::MAX` aborted with a capacity overflow.
#[test]
fn replay_new_usize_max_capacity_is_too_large() {
    for capacity in [usize::MAX, 1 << 40] {
        match Replay::new(spec(), config(capacity, 2)) {
            Err(ConfigError::TooLarge {
                field: "capacity",
                value,
                limit,
            }) => {
                assert_eq!(value, capacity as u64);
                assert_eq!(limit, MAX_CAPACITY as u64);
            }
            other => panic!("expected TooLarge, got {other:?}"),
        }
    }
    // The largest accepted capacity allocates nothing up front.
    let r = Replay::new(spec(), config(MAX_CAPACITY, 2)).unwrap();
    assert_eq!(r.stats().capacity, MAX_CAPACITY);
}

/// Issue 15: `Replay::new` with `sequence_length = usize::MAX` overflowed `L + 1`.
#[test]
fn replay_new_usize_max_sequence_length_is_too_large() {
    let e = Replay::new(spec(), config(10, usize::MAX)).unwrap_err();
    assert!(
        matches!(e, ConfigError::TooLarge { field: "sequence_length", limit, .. } if limit == MAX_SEQUENCE_LENGTH as u64),
        "{e:?}"
    );
}

/// Issue 15: `Replay::sample(usize::MAX)` (and `2^40`) overflowed the batch allocation.
#[test]
fn replay_sample_usize_max_batch_is_too_large() {
    let r = replay(100, 2, 0);
    for item in items(&[4, 5], 2) {
        r.insert(item, None).unwrap();
    }
    for batch in [usize::MAX, 1 << 40, MAX_BATCH + 1] {
        match r.sample(batch, None) {
            Err(ReplayError::TooLarge {
                what: "batch",
                value,
                ..
            }) => assert_eq!(value, batch as u64),
            other => panic!("expected TooLarge for {batch}, got {other:?}"),
        }
    }
    // A batch under the item bound but over the float bound is refused too.
    let wide = StepSpec::new(vec![("x".into(), 1 << 20)], 1, vec![]).unwrap();
    let w = Replay::new(wide, config(10, 10)).unwrap();
    assert!(matches!(
        w.sample(1 << 10, None),
        Err(ReplayError::TooLarge {
            what: "batch floats",
            ..
        })
    ));
    assert_eq!(r.sample(4, None).unwrap().rewards.shape, [3, 4, 1]);
}

/// Issue 15: `SequenceAdder::new(spec, usize::MAX)` aborted preallocating `L + 1` steps.
#[test]
fn sequence_adder_new_usize_max_is_too_large() {
    for l in [usize::MAX, 1 << 40] {
        let e = SequenceAdder::new(spec(), l).unwrap_err();
        assert!(
            matches!(e, ConfigError::TooLarge { field: "sequence_length", value, .. } if value == l as u64),
            "{e:?}"
        );
    }
    assert!(SequenceAdder::new(spec(), MAX_SEQUENCE_LENGTH).is_ok());
}

/// Issue 15: a spec with `usize::MAX` group lengths overflowed the per-step sums.
#[test]
fn step_spec_huge_group_is_too_large() {
    let e = StepSpec::new(vec![("x".into(), usize::MAX)], 1, vec![]).unwrap_err();
    assert!(matches!(e, ConfigError::TooLarge { .. }), "{e:?}");
    let e = StepSpec::new(vec![], usize::MAX, vec![]).unwrap_err();
    assert!(
        matches!(
            e,
            ConfigError::TooLarge {
                field: "action_dim",
                ..
            }
        ),
        "{e:?}"
    );
}

/// Issue 15: a `TimeMajor` built from its public fields with too little data panicked in
/// `get`; now `get` answers `None` and `TimeMajor::new` refuses the pair.
#[test]
fn time_major_from_public_fields_get_does_not_panic() {
    let short = TimeMajor {
        shape: [2, 3, 4],
        data: vec![1.0; 5],
    };
    assert_eq!(short.get(0, 0, 4), None);
    assert_eq!(short.get(0, 1, 0), Some(1.0));
    assert_eq!(short.get(1, 2, 3), None);
    let huge = TimeMajor {
        shape: [usize::MAX, usize::MAX, usize::MAX],
        data: vec![],
    };
    assert_eq!(
        huge.get(usize::MAX - 1, usize::MAX - 1, usize::MAX - 1),
        None
    );
    assert!(TimeMajor::new([2, 3, 4], vec![0.0; 5]).is_err());
    assert!(TimeMajor::new([usize::MAX, 2, 1], vec![]).is_err());
    let ok = TimeMajor::new([2, 3, 4], (0..24).map(|i| i as f32).collect()).unwrap();
    assert_eq!(ok.get(1, 2, 3), Some(23.0));
}

/// Issue 15: `Replay::insert` stored an item with a NaN observation and discount 7.
#[test]
fn replay_insert_rejects_nan_observation_and_discount_7() {
    let r = replay(10, 2, 0);
    let good = items(&[4], 2).remove(0);
    let mut nan = good.clone();
    nan.observations[1] = f32::NAN;
    match r.insert(nan, None) {
        Err(ReplayError::BadItemValue {
            field: "observations",
            index: 1,
            ..
        }) => {}
        other => panic!("expected BadItemValue, got {other:?}"),
    }
    let mut seven = good.clone();
    seven.discounts[0] = 7.0;
    match r.insert(seven, None) {
        Err(ReplayError::BadItemValue {
            field: "discounts",
            value,
            ..
        }) => assert_eq!(value, 7.0),
        other => panic!("expected BadItemValue, got {other:?}"),
    }
    let mut mask = good.clone();
    mask.mask[0] = 0.5;
    assert!(matches!(
        r.insert(mask, None),
        Err(ReplayError::BadItemValue { field: "mask", .. })
    ));
    assert!(r.is_empty());
    r.insert(good, None).unwrap();
    assert_eq!(r.len(), 1);
}
