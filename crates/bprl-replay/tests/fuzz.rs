//! Issue 15: property fuzz of the public constructors and entry points (NaN, inf, empty,
//! huge, mismatched shapes): every call returns `Ok` or a typed error, never panics, and what
//! is accepted keeps the table's invariants.

use bprl_replay::{
    Item, RateLimiterConfig, Replay, ReplayConfig, SequenceAdder, Step, StepKind, StepSpec,
    TimeMajor,
};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

fn wild() -> impl Strategy<Value = f32> {
    prop_oneof![
        6 => -2.0f32..2.0,
        2 => 0.0f32..=1.0,
        1 => Just(f32::NAN),
        1 => Just(f32::INFINITY),
        1 => Just(3e38f32),
        1 => Just(7.0f32),
    ]
}

fn size() -> impl Strategy<Value = usize> {
    prop_oneof![
        6 => 0usize..4,
        1 => Just(usize::MAX),
        1 => Just(1usize << 40),
        1 => Just(1usize << 21),
    ]
}

fn wild_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => 0.0f64..100.0,
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(-1.0),
        1 => Just(1e300),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn constructors_never_panic(
        obs in size(), act in size(), extra in size(),
        capacity in size(), seq in size(), min_size in 0u64..4,
        spi in wild_f64(), buffer in wild_f64(), batch in size(),
    ) {
        let Ok(spec) = StepSpec::new(vec![("o".into(), obs)], act, vec![("z".into(), extra)]) else {
            return Ok(());
        };
        let _ = SequenceAdder::new(spec.clone(), seq);
        let config = ReplayConfig {
            capacity,
            sequence_length: seq,
            rate_limiter: RateLimiterConfig { min_size_to_sample: min_size, samples_per_insert: spi, error_buffer: buffer },
            seed: 1,
        };
        if let Ok(r) = Replay::new(spec, config) {
            prop_assert!(r.is_empty());
            let _ = r.sample(batch, Some(Duration::ZERO));
            let _ = r.stats();
        }
    }

    #[test]
    fn steps_and_items_never_panic_and_bad_values_never_enter(
        values in proptest::collection::vec(wild(), 48),
        kinds in proptest::collection::vec(0u8..3, 12),
        lens in proptest::collection::vec(0usize..4, 12),
        batch in 0usize..5,
    ) {
        let spec = StepSpec::new(vec![("o".into(), 2)], 1, vec![]).unwrap();
        let replay = Replay::new(spec.clone(), ReplayConfig {
            capacity: 4,
            sequence_length: 2,
            rate_limiter: RateLimiterConfig::min_size(1),
            seed: 3,
        }).unwrap();
        let mut adder = SequenceAdder::new(spec, 2).unwrap();
        let mut v = values.iter().copied().cycle();
        for (k, len) in kinds.iter().zip(&lens) {
            let kind = [StepKind::First, StepKind::Mid, StepKind::Last][*k as usize];
            let step = Step {
                observation: BTreeMap::from([("o".into(), (0..*len).map(|_| v.next().unwrap()).collect())]),
                action: vec![v.next().unwrap()],
                reward: v.next().unwrap(),
                discount: v.next().unwrap(),
                log_prob: v.next().unwrap(),
                extras: BTreeMap::new(),
                kind,
            };
            if let Ok(items) = adder.add(&step) {
                for item in items {
                    replay.insert(item, Some(Duration::ZERO)).unwrap();
                }
            }
        }
        // A hand-made item with wild values is refused or fits every check.
        let raw = Item {
            steps: 3,
            observations: (0..6).map(|_| v.next().unwrap()).collect(),
            actions: (0..3).map(|_| v.next().unwrap()).collect(),
            extras: vec![],
            rewards: (0..3).map(|_| v.next().unwrap()).collect(),
            discounts: (0..3).map(|_| v.next().unwrap()).collect(),
            log_probs: (0..3).map(|_| v.next().unwrap()).collect(),
            mask: vec![1.0; 3],
            last: vec![0.0; 3],
            episode: 1,
            offset: 0,
        };
        let _ = replay.insert(raw, Some(Duration::ZERO));
        if let Ok(b) = replay.sample(batch, Some(Duration::ZERO)) {
            for t in [&b.rewards, &b.discounts, &b.mask] {
                prop_assert!(t.data.iter().all(|x| x.is_finite()));
            }
            prop_assert!(b.discounts.data.iter().all(|d| (0.0..=1.0).contains(d)));
            prop_assert!(b.observations["o"].data.iter().all(|x| x.is_finite()));
        }
        // The snapshot round trip keeps everything.
        let bytes = replay.to_snapshot_bytes(Path::new("p.snap")).unwrap();
        let back = Replay::from_snapshot_bytes(&bytes, Path::new("p.snap")).unwrap();
        prop_assert_eq!(back.keys(), replay.keys());
        // A flipped or cut snapshot is an error, never a panic.
        let mut flipped = bytes.clone();
        let i = values.len() % flipped.len();
        flipped[i] ^= 0x40;
        prop_assert!(Replay::from_snapshot_bytes(&flipped, Path::new("p.snap")).is_err());
        prop_assert!(Replay::from_snapshot_bytes(&bytes[..bytes.len() / 2], Path::new("p.snap")).is_err());
    }

    #[test]
    fn time_major_never_panics(
        shape in (size(), size(), size()),
        len in 0usize..30,
        at in (size(), size(), size()),
    ) {
        let t = TimeMajor { shape: [shape.0, shape.1, shape.2], data: vec![0.5; len] };
        let _ = t.get(at.0, at.1, at.2);
        if let Ok(ok) = TimeMajor::new(t.shape, t.data.clone()) {
            prop_assert_eq!(ok.data.len(), len);
        }
    }
}
