//! The statistics of the claims experiment, over seeds: means, percentile-bootstrap
//! confidence intervals of a mean and of a difference of means, permutation tests, and the
//! area under a learning curve.
//!
//! Every function is deterministic: resampling draws from a generator seeded by the caller,
//! so a table regenerated from the same runs is the same table. Samples are the per-seed
//! values of one metric (one value per independent training run); the two samples of a
//! difference are independent (different runs), so they are resampled independently.
//!
//! Empty samples give `None`, never a panic or a NaN in a table.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// The arithmetic mean (`None` for an empty sample).
pub fn mean(x: &[f64]) -> Option<f64> {
    if x.is_empty() {
        None
    } else {
        Some(x.iter().sum::<f64>() / x.len() as f64)
    }
}

/// The `q`-quantile of sorted values by linear interpolation between order statistics
/// (`q` in `[0, 1]`; `sorted` non-empty).
fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (i, frac) = (pos.floor() as usize, pos - pos.floor());
    if i + 1 < sorted.len() {
        sorted[i] + frac * (sorted[i + 1] - sorted[i])
    } else {
        sorted[i]
    }
}

/// A resampled mean of `x` (with replacement, `x.len()` draws).
fn resample_mean(x: &[f64], rng: &mut StdRng) -> f64 {
    let n = x.len();
    (0..n).map(|_| x[rng.random_range(0..n)]).sum::<f64>() / n as f64
}

/// The percentile interval `[q_(1-level)/2, q_(1+level)/2]` of `stats`.
fn percentile_interval(mut stats: Vec<f64>, level: f64) -> (f64, f64) {
    stats.sort_by(f64::total_cmp);
    let tail = (1.0 - level.clamp(0.0, 1.0)) / 2.0;
    (
        quantile_sorted(&stats, tail),
        quantile_sorted(&stats, 1.0 - tail),
    )
}

/// The percentile-bootstrap `level` interval (e.g. 0.95) of the mean of `x`, from
/// `resamples` resamples drawn with a generator seeded by `seed`. `None` for an empty sample
/// or no resamples.
pub fn bootstrap_mean_ci(x: &[f64], level: f64, resamples: usize, seed: u64) -> Option<(f64, f64)> {
    if x.is_empty() || resamples == 0 {
        return None;
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let stats = (0..resamples).map(|_| resample_mean(x, &mut rng)).collect();
    Some(percentile_interval(stats, level))
}

/// The percentile-bootstrap `level` interval of `mean(a) - mean(b)` for two independent
/// samples, each resampled on its own. `None` when either is empty or `resamples == 0`.
pub fn bootstrap_diff_ci(
    a: &[f64],
    b: &[f64],
    level: f64,
    resamples: usize,
    seed: u64,
) -> Option<(f64, f64)> {
    if a.is_empty() || b.is_empty() || resamples == 0 {
        return None;
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let stats = (0..resamples)
        .map(|_| resample_mean(a, &mut rng) - resample_mean(b, &mut rng))
        .collect();
    Some(percentile_interval(stats, level))
}

/// The alternative hypothesis of a permutation test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alternative {
    /// `mean(a) > mean(b)` (one-sided: what a claim "A is better than B" predicts).
    Greater,
    /// `mean(a) != mean(b)`.
    TwoSided,
}

/// The largest number of relabelings enumerated exactly; above it the test samples
/// `resamples` random relabelings.
pub const EXACT_LIMIT: u64 = 200_000;

/// `n choose k`, saturating at `u64::MAX`.
fn choose(n: u64, k: u64) -> u64 {
    let k = k.min(n - k);
    let mut c: u64 = 1;
    for i in 0..k {
        c = match c.checked_mul(n - i) {
            Some(v) => v / (i + 1),
            None => return u64::MAX,
        };
    }
    c
}

/// The permutation-test p-value of the difference of means `mean(a) - mean(b)` under
/// `alternative`: the fraction of relabelings of the pooled values into groups of the same
/// sizes whose difference is at least as extreme as the observed one (the observed labeling
/// included). Exact when there are at most [`EXACT_LIMIT`] relabelings; otherwise from
/// `resamples` random ones, `(hits + 1) / (resamples + 1)`. `None` for an empty sample.
///
/// Ties count as extreme (a small tolerance absorbs rounding), so identical samples give
/// `p = 1`. A value that is not finite gives `None` (no test is defined).
pub fn permutation_p(
    a: &[f64],
    b: &[f64],
    alternative: Alternative,
    resamples: usize,
    seed: u64,
) -> Option<f64> {
    permutation_p_limited(a, b, alternative, resamples, seed, EXACT_LIMIT)
}

/// The smallest p-value an exact permutation test of samples of sizes `na` and `nb` can give
/// (`1 / (na + nb choose na)`): a row with fewer seeds cannot reach a smaller one.
pub fn smallest_exact_p(na: usize, nb: usize) -> f64 {
    if na == 0 || nb == 0 {
        return 1.0;
    }
    1.0 / choose((na + nb) as u64, na as u64) as f64
}

/// [`permutation_p`] enumerating at most `limit` relabelings exactly.
fn permutation_p_limited(
    a: &[f64],
    b: &[f64],
    alternative: Alternative,
    resamples: usize,
    seed: u64,
    limit: u64,
) -> Option<f64> {
    let (na, nb) = (a.len(), b.len());
    if na == 0 || nb == 0 || a.iter().chain(b).any(|v| !v.is_finite()) {
        return None;
    }
    let pooled: Vec<f64> = a.iter().chain(b).copied().collect();
    let total: f64 = pooled.iter().sum();
    let n = pooled.len();
    let diff_of = |sum_a: f64| sum_a / na as f64 - (total - sum_a) / nb as f64;
    let observed = diff_of(a.iter().sum());
    let scale = pooled.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    let tol = 1e-9 * scale;
    let extreme = |d: f64| match alternative {
        Alternative::Greater => d >= observed - tol,
        Alternative::TwoSided => d.abs() >= observed.abs() - tol,
    };
    if choose(n as u64, na as u64) <= limit {
        // Every subset of `na` indices as group a (lexicographic combinations).
        let mut idx: Vec<usize> = (0..na).collect();
        let (mut hits, mut count) = (0u64, 0u64);
        loop {
            count += 1;
            let s: f64 = idx.iter().map(|&i| pooled[i]).sum();
            hits += u64::from(extreme(diff_of(s)));
            let mut i = na;
            loop {
                if i == 0 {
                    return Some(hits as f64 / count as f64);
                }
                i -= 1;
                if idx[i] < n - na + i {
                    break;
                }
            }
            idx[i] += 1;
            for j in i + 1..na {
                idx[j] = idx[j - 1] + 1;
            }
        }
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let mut perm = pooled.clone();
    let mut hits = 0usize;
    for _ in 0..resamples {
        // A partial Fisher-Yates shuffle: the first `na` slots are a uniform subset.
        for i in 0..na {
            let j = rng.random_range(i..n);
            perm.swap(i, j);
        }
        let s: f64 = perm[..na].iter().sum();
        hits += usize::from(extreme(diff_of(s)));
    }
    Some((hits + 1) as f64 / (resamples + 1) as f64)
}

/// The normalized area under a learning curve `(x, y)`, its points in increasing `x`, by the
/// trapezoid rule, divided by the x range: the curve's mean height, in the units of `y` (a success curve gives a number in
/// `[0, 1]`). A single point gives its `y`; `None` for no points.
pub fn area_under_curve(curve: &[(f64, f64)]) -> Option<f64> {
    match curve {
        [] => None,
        [(_, y)] => Some(*y),
        _ => {
            let span = curve[curve.len() - 1].0 - curve[0].0;
            if span <= 0.0 {
                return mean(&curve.iter().map(|p| p.1).collect::<Vec<_>>());
            }
            let area: f64 = curve
                .windows(2)
                .map(|w| 0.5 * (w[0].1 + w[1].1) * (w[1].0 - w[0].0))
                .sum();
            Some(area / span)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn exact_permutation_p_of_a_hand_case() {
        // a = {3, 4}, b = {1, 2}: of the 6 relabelings only the observed one has a
        // difference >= 2, so the one-sided p is 1/6; the two-sided one counts {1, 2} vs
        // {3, 4} as well: 2/6.
        let p = permutation_p(&[3.0, 4.0], &[1.0, 2.0], Alternative::Greater, 0, 0).unwrap();
        assert!((p - 1.0 / 6.0).abs() < 1e-12, "{p}");
        let p2 = permutation_p(&[3.0, 4.0], &[1.0, 2.0], Alternative::TwoSided, 0, 0).unwrap();
        assert!((p2 - 2.0 / 6.0).abs() < 1e-12, "{p2}");
        // The other direction: the observed labeling is the least extreme, p = 1.
        let p3 = permutation_p(&[1.0, 2.0], &[3.0, 4.0], Alternative::Greater, 0, 0).unwrap();
        assert!((p3 - 1.0).abs() < 1e-12, "{p3}");
    }

    #[test]
    fn sampled_permutation_p_separates_and_accepts() {
        // 12 + 12 values: 2.7e6 relabelings, so the test samples them: a clear separation
        // gives the smallest p the sample can show, identical samples p = 1.
        let a: Vec<f64> = (0..12).map(|i| 1.0 + 0.01 * f64::from(i)).collect();
        let b: Vec<f64> = (0..12).map(|i| 0.0 + 0.01 * f64::from(i)).collect();
        let p = permutation_p(&a, &b, Alternative::Greater, 2000, 1).unwrap();
        assert!(p < 0.002, "separated samples: {p}");
        let p_null = permutation_p(&a, &a, Alternative::TwoSided, 2000, 1).unwrap();
        assert!((p_null - 1.0).abs() < 1e-12, "identical samples: {p_null}");
    }

    #[test]
    fn sampled_permutation_p_estimates_the_exact_one() {
        // 6 + 6 values: 924 relabelings. Sampling 20,000 of them must land within Monte
        // Carlo error (sd <= 0.0036) of the exact p, for a borderline and a clear case.
        for (a, b) in [
            (
                vec![0.31, 0.42, 0.28, 0.55, 0.47, 0.39],
                vec![0.33, 0.25, 0.41, 0.30, 0.22, 0.36],
            ),
            (
                vec![0.61, 0.72, 0.58, 0.65, 0.70, 0.66],
                vec![0.33, 0.45, 0.41, 0.30, 0.52, 0.36],
            ),
        ] {
            for alt in [Alternative::Greater, Alternative::TwoSided] {
                let exact = permutation_p(&a, &b, alt, 0, 0).unwrap();
                let sampled = permutation_p_limited(&a, &b, alt, 20_000, 5, 0).unwrap();
                assert!(
                    (exact - sampled).abs() < 0.015,
                    "{alt:?}: exact {exact}, sampled {sampled}"
                );
            }
        }
        assert!((smallest_exact_p(3, 3) - 0.05).abs() < 1e-12);
    }

    #[test]
    fn a_value_that_is_not_finite_gives_no_p() {
        assert_eq!(
            permutation_p(&[1.0, f64::NAN], &[0.0], Alternative::Greater, 10, 0),
            None
        );
        assert_eq!(
            permutation_p(&[1.0], &[f64::INFINITY], Alternative::TwoSided, 10, 0),
            None
        );
    }

    #[test]
    fn empty_samples_give_none() {
        assert_eq!(mean(&[]), None);
        assert_eq!(bootstrap_mean_ci(&[], 0.95, 100, 0), None);
        assert_eq!(bootstrap_diff_ci(&[1.0], &[], 0.95, 100, 0), None);
        assert_eq!(
            permutation_p(&[], &[1.0], Alternative::Greater, 10, 0),
            None
        );
        assert_eq!(area_under_curve(&[]), None);
    }

    #[test]
    fn area_of_a_ramp_is_its_mean_height() {
        let ramp = [(0.0, 0.0), (10.0, 1.0)];
        assert!((area_under_curve(&ramp).unwrap() - 0.5).abs() < 1e-12);
        let step = [(0.0, 0.0), (5.0, 1.0), (10.0, 1.0)];
        assert!((area_under_curve(&step).unwrap() - 0.75).abs() < 1e-12);
    }

    #[test]
    fn choose_matches_pascal() {
        for n in 1..30u64 {
            for k in 1..n {
                assert_eq!(
                    choose(n, k),
                    choose(n - 1, k - 1) + choose(n - 1, k),
                    "{n} {k}"
                );
            }
        }
    }

    fn sample() -> impl Strategy<Value = Vec<f64>> {
        prop::collection::vec(-10.0f64..10.0, 1..9)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// A p-value is a probability, and the one-sided p of (a, b) plus that of (b, a)
        /// is at least 1 (every relabeling is extreme in one of the two directions).
        #[test]
        fn permutation_p_is_a_probability(a in sample(), b in sample()) {
            let p = permutation_p(&a, &b, Alternative::Greater, 500, 3).unwrap();
            let q = permutation_p(&b, &a, Alternative::Greater, 500, 3).unwrap();
            let t = permutation_p(&a, &b, Alternative::TwoSided, 500, 3).unwrap();
            prop_assert!((0.0..=1.0).contains(&p) && p > 0.0);
            prop_assert!((0.0..=1.0).contains(&t));
            prop_assert!(p + q >= 1.0 - 1e-9, "{p} + {q}");
            // Two-sided is symmetric in its arguments (the same relabelings).
            let t2 = permutation_p(&b, &a, Alternative::TwoSided, 500, 3).unwrap();
            prop_assert!((t - t2).abs() < 1e-12);
        }

        /// Shifting every value by a constant changes no p-value; shifting a alone by a
        /// positive amount never raises its one-sided p.
        #[test]
        fn permutation_p_is_shift_invariant_and_monotone(
            a in sample(), b in sample(), c in -5.0f64..5.0, d in 0.0f64..5.0
        ) {
            let p = permutation_p(&a, &b, Alternative::Greater, 0, 0);
            let shifted_a: Vec<f64> = a.iter().map(|v| v + c).collect();
            let shifted_b: Vec<f64> = b.iter().map(|v| v + c).collect();
            let ps = permutation_p(&shifted_a, &shifted_b, Alternative::Greater, 0, 0);
            if choose((a.len() + b.len()) as u64, a.len() as u64) <= EXACT_LIMIT {
                prop_assert!((p.unwrap() - ps.unwrap()).abs() < 1e-9);
                let up: Vec<f64> = a.iter().map(|v| v + d).collect();
                let pu = permutation_p(&up, &b, Alternative::Greater, 0, 0).unwrap();
                prop_assert!(pu <= p.unwrap() + 1e-12);
            }
        }

        /// The bootstrap interval of a mean lies within the sample's range and contains
        /// nothing outside it; the interval of a difference lies within the range of the
        /// possible differences and shifts exactly with a shift of `a`.
        #[test]
        fn bootstrap_intervals_are_bounded(a in sample(), b in sample(), c in -5.0f64..5.0) {
            let (lo, hi) = bootstrap_mean_ci(&a, 0.95, 400, 9).unwrap();
            let min = a.iter().copied().fold(f64::INFINITY, f64::min);
            let max = a.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            prop_assert!(min - 1e-9 <= lo && lo <= hi && hi <= max + 1e-9);
            let (dlo, dhi) = bootstrap_diff_ci(&a, &b, 0.95, 400, 9).unwrap();
            let bmin = b.iter().copied().fold(f64::INFINITY, f64::min);
            let bmax = b.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            prop_assert!(min - bmax - 1e-9 <= dlo && dlo <= dhi && dhi <= max - bmin + 1e-9);
            let up: Vec<f64> = a.iter().map(|v| v + c).collect();
            let (ulo, uhi) = bootstrap_diff_ci(&up, &b, 0.95, 400, 9).unwrap();
            prop_assert!((ulo - dlo - c).abs() < 1e-9 && (uhi - dhi - c).abs() < 1e-9);
        }

        /// The normalized area lies between the curve's lowest and highest value.
        #[test]
        fn area_is_between_min_and_max(ys in prop::collection::vec(0.0f64..1.0, 1..20)) {
            let curve: Vec<(f64, f64)> =
                ys.iter().enumerate().map(|(i, &y)| (i as f64 * 3.0, y)).collect();
            let a = area_under_curve(&curve).unwrap();
            let min = ys.iter().copied().fold(f64::INFINITY, f64::min);
            let max = ys.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            prop_assert!(min - 1e-12 <= a && a <= max + 1e-12);
        }
    }
}
