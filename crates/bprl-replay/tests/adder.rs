//! The sequence adder: items are `L+1` consecutive steps of one episode, masks mark padding,
//! every transition lands in exactly one item, and bad steps are typed errors.

use crate::common::{items, spec, step};
use bprl_replay::{ReplayError, SequenceAdder, StepKind};
use proptest::prelude::*;
use std::collections::BTreeMap;

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 128,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x7265_706c),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn items_are_consecutive_steps_of_one_episode(
        lengths in proptest::collection::vec(1usize..25, 1..6),
        seq_len in 1usize..7,
    ) {
        let all = items(&lengths, seq_len);
        let mut covered: BTreeMap<(u64, usize), usize> = BTreeMap::new();
        for item in &all {
            prop_assert_eq!(item.steps, seq_len + 1);
            let ep = item.episode;
            let len = lengths[ep as usize - 1];
            prop_assert_eq!(item.offset as usize % seq_len, 0);
            let real = item.mask.iter().take_while(|&&m| m == 1.0).count();
            prop_assert!(real >= 2, "an item holds at least one transition");
            // Mask is a prefix of ones; padding rows are all zero (nothing leaks).
            prop_assert!(item.mask[real..].iter().all(|&m| m == 0.0));
            for row in 0..item.steps {
                let obs = &item.observations[row * 3..row * 3 + 3];
                if row < real {
                    let t = item.offset as usize + row;
                    prop_assert_eq!(obs, &[ep as f32, t as f32, t as f32][..]);
                    let is_last = t == len;
                    prop_assert_eq!(item.last[row], if is_last { 1.0 } else { 0.0 });
                    if !is_last {
                        let code = ep as f32 * 1000.0 + t as f32;
                        prop_assert_eq!(item.actions[row], code);
                        prop_assert_eq!(item.rewards[row], code);
                        prop_assert_eq!(item.log_probs[row], -code);
                        prop_assert_eq!(item.extras[row], code + 0.5);
                    } else {
                        prop_assert_eq!(real, row + 1, "the final observation ends the item");
                    }
                    if row + 1 < real {
                        *covered.entry((ep, t)).or_default() += 1;
                    }
                } else {
                    prop_assert!(obs.iter().all(|&v| v == 0.0));
                    prop_assert_eq!(item.rewards[row], 0.0);
                    prop_assert_eq!(item.last[row], 0.0);
                }
            }
        }
        // Every transition of every episode is usable in exactly one item.
        for (e, &len) in lengths.iter().enumerate() {
            for t in 0..len {
                prop_assert_eq!(covered.get(&(e as u64 + 1, t)), Some(&1), "transition {} of episode {}", t, e + 1);
            }
        }
        let transitions: usize = lengths.iter().sum();
        prop_assert_eq!(covered.len(), transitions);
    }
}

#[test]
fn terminal_discount_is_kept_and_final_observation_has_no_transition() {
    // Episode of 3 transitions, L = 3: one full item whose last row is the final observation.
    let all = items(&[3], 3);
    assert_eq!(all.len(), 1);
    let item = &all[0];
    assert_eq!(item.discounts, vec![1.0, 1.0, 0.0, 0.0]);
    assert_eq!(item.mask, vec![1.0; 4]);
    assert_eq!(item.last, vec![0.0, 0.0, 0.0, 1.0]);
    assert_eq!(item.actions[3], 0.0, "no action at the final observation");
}

#[test]
fn episode_grammar_is_enforced_and_a_rejected_step_changes_nothing() {
    let mut adder = SequenceAdder::new(spec(), 2).unwrap();
    let e = adder.add(&step(1, 1, 5)).unwrap_err();
    assert!(matches!(
        e,
        ReplayError::EpisodeOrder {
            found: StepKind::Mid,
            ..
        }
    ));
    adder.add(&step(1, 0, 5)).unwrap();
    let e = adder.add(&step(2, 0, 5)).unwrap_err();
    assert!(matches!(
        e,
        ReplayError::EpisodeOrder {
            found: StepKind::First,
            ..
        }
    ));
    let mut bad = step(1, 1, 5);
    bad.observation.insert("goal".into(), vec![1.0, 2.0]);
    assert!(matches!(
        adder.add(&bad),
        Err(ReplayError::StepShape {
            expected: 1,
            actual: 2,
            ..
        })
    ));
    let mut bad = step(1, 1, 5);
    bad.observation.insert("velocity".into(), vec![1.0]);
    assert!(matches!(
        adder.add(&bad),
        Err(ReplayError::UnknownGroup { .. })
    ));
    let mut bad = step(1, 1, 5);
    bad.reward = f32::NAN;
    assert!(matches!(
        adder.add(&bad),
        Err(ReplayError::NonFinite { .. })
    ));
    let mut bad = step(1, 1, 5);
    bad.discount = 1.5;
    assert!(matches!(
        adder.add(&bad),
        Err(ReplayError::DiscountOutOfRange { .. })
    ));
    let mut bad = step(1, 1, 5);
    bad.observation.remove("proprio");
    assert!(matches!(
        adder.add(&bad),
        Err(ReplayError::StepShape { actual: 0, .. })
    ));
    // The rejected steps left the episode as it was: the next good step continues it.
    adder.add(&step(1, 1, 5)).unwrap();
    let out = adder.add(&step(1, 2, 5)).unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(&out[0].observations[..3], &[1.0, 0.0, 0.0]);
    assert_eq!(adder.reset(), 1);
    adder.add(&step(2, 0, 5)).unwrap();
}

#[test]
fn invalid_spec_and_length_are_config_errors() {
    assert!(bprl_replay::StepSpec::new(vec![("a".into(), 1), ("a".into(), 2)], 1, vec![]).is_err());
    assert!(bprl_replay::StepSpec::new(vec![("a".into(), 1)], 1, vec![("a".into(), 2)]).is_err());
    assert!(SequenceAdder::new(spec(), 0).is_err());
}
