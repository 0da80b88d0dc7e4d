//! FIFO eviction, uniform sampling (chi-square), batch layout, memory bound.

use crate::common::{items, replay};
use bprl_replay::ReplayError;

#[test]
fn fifo_evicts_the_oldest_first() {
    let r = replay(5, 2, 0);
    for item in items(&[24], 2) {
        r.insert(item, None).unwrap();
    }
    assert_eq!(r.keys(), vec![7, 8, 9, 10, 11]);
    let s = r.stats();
    assert_eq!((s.size, s.inserts), (5, 12));
    assert_eq!(r.len(), s.size);
    assert!(s.memory_bytes <= s.max_memory_bytes);
    assert_eq!(s.max_memory_bytes, 5 * 4 * 3 * (3 + 1 + 1 + 5));
}

#[test]
fn sampling_is_uniform_chi_square() {
    let k = 20;
    let r = replay(k, 1, 12345);
    for item in items(&[k], 1) {
        r.insert(item, None).unwrap();
    }
    let n = 20_000;
    let mut counts = vec![0usize; k];
    for _ in 0..n / 100 {
        for key in r.sample(100, None).unwrap().keys {
            counts[key as usize] += 1;
        }
    }
    let expected = n as f64 / k as f64;
    let chi2: f64 = counts
        .iter()
        .map(|&c| (c as f64 - expected).powi(2) / expected)
        .sum();
    // 19 degrees of freedom: the 0.999 quantile is 43.82.
    assert!(chi2 < 43.82, "chi-square {chi2}, counts {counts:?}");
    assert!(counts.iter().all(|&c| c > 0));
}

#[test]
fn batch_is_time_major_and_matches_items() {
    let r = replay(100, 3, 7);
    let all = items(&[7, 2], 3);
    for item in all.clone() {
        r.insert(item, None).unwrap();
    }
    let b = r.sample(6, None).unwrap();
    assert_eq!(b.observations["proprio"].shape, [4, 6, 2]);
    assert_eq!(b.observations["goal"].shape, [4, 6, 1]);
    assert_eq!(b.actions.shape, [4, 6, 1]);
    assert_eq!(b.extras["z"].shape, [4, 6, 1]);
    for (j, &key) in b.keys.iter().enumerate() {
        let item = &all[key as usize];
        for t in 0..4 {
            assert_eq!(
                b.observations["proprio"].get(t, j, 1),
                Some(item.observations[t * 3 + 1])
            );
            assert_eq!(
                b.observations["goal"].get(t, j, 0),
                Some(item.observations[t * 3 + 2])
            );
            assert_eq!(b.rewards.get(t, j, 0), Some(item.rewards[t]));
            assert_eq!(b.mask.get(t, j, 0), Some(item.mask[t]));
            assert_eq!(b.log_probs.get(t, j, 0), Some(item.log_probs[t]));
        }
    }
    assert_eq!(b.rewards.get(4, 0, 0), None);
}

#[test]
fn same_seed_same_batches() {
    let fill = |seed| {
        let r = replay(50, 2, seed);
        for item in items(&[30], 2) {
            r.insert(item, None).unwrap();
        }
        r
    };
    let (a, b, c) = (fill(1), fill(1), fill(2));
    for _ in 0..5 {
        let (x, y, z) = (
            a.sample(8, None).unwrap(),
            b.sample(8, None).unwrap(),
            c.sample(8, None).unwrap(),
        );
        assert_eq!(x, y);
        assert_ne!(x.keys, z.keys);
    }
}

#[test]
fn wrong_items_and_batches_are_typed_errors() {
    let r = replay(10, 2, 0);
    let other = items(&[5], 3).remove(0);
    assert!(matches!(
        r.insert(other, None),
        Err(ReplayError::ItemMismatch { .. })
    ));
    assert!(matches!(
        r.sample(0, None),
        Err(ReplayError::CannotSample { batch: 0, .. })
    ));
}
