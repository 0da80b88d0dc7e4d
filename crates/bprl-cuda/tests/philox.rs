//! Philox4x32-10 against the published known-answer vectors (Random123's `kat_vectors`), and
//! the normals it yields against N(0, 1).

use bprl_cuda::philox::{normal, philox4x32_10};

#[test]
fn known_answers() {
    assert_eq!(
        philox4x32_10([0; 4], [0; 2]),
        [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]
    );
    assert_eq!(
        philox4x32_10([u32::MAX; 4], [u32::MAX; 2]),
        [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]
    );
    assert_eq!(
        philox4x32_10(
            [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
            [0xa4093822, 0x299f31d0]
        ),
        [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]
    );
}

#[test]
fn normals_have_standard_moments_and_pass_ks() {
    let n = 100_000u32;
    let mut xs: Vec<f64> = (0..n).map(|i| f64::from(normal(42, i, 3, 1))).collect();
    let mean = xs.iter().sum::<f64>() / f64::from(n);
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / f64::from(n - 1);
    assert!(mean.abs() < 5.0 / f64::from(n).sqrt(), "mean {mean}");
    assert!(
        (var - 1.0).abs() < 5.0 * (2.0 / f64::from(n)).sqrt(),
        "variance {var}"
    );
    // Kolmogorov-Smirnov against the standard normal CDF; 1.95 / sqrt(n) is the 0.001 level.
    xs.sort_by(f64::total_cmp);
    let cdf = |x: f64| 0.5 * erfc(-x / std::f64::consts::SQRT_2);
    let d = xs
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            let f = cdf(x);
            (f - i as f64 / f64::from(n))
                .abs()
                .max((f64::from(i as u32 + 1) / f64::from(n) - f).abs())
        })
        .fold(0.0, f64::max);
    assert!(d < 1.95 / f64::from(n).sqrt(), "KS statistic {d}");
    // Different (row, sample, dim) give different streams; the same index the same value.
    assert_eq!(normal(7, 1, 2, 3), normal(7, 1, 2, 3));
    assert_ne!(normal(7, 1, 2, 3), normal(7, 1, 2, 4));
    assert_ne!(normal(7, 1, 2, 3), normal(8, 1, 2, 3));
}

/// Complementary error function (Numerical Recipes' erfcc, relative error < 1.2e-7).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.26551223
            + t * (1.00002368
                + t * (0.37409196
                    + t * (0.09678418
                        + t * (-0.18628806
                            + t * (0.27886807
                                + t * (-1.13520398
                                    + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))))
            .exp();
    if x >= 0.0 { r } else { 2.0 - r }
}
