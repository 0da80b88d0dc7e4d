//! Philox4x32-10 against the published known-answer vectors (Random123's `kat_vectors`), and
//! the normals it yields against N(0, 1).

use bprl_cuda::philox::{normal, normals4, philox4x32_10};

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

/// Regression (issue 20): each normal took two of Philox's four words and dropped the sine
/// half of Box-Muller. Now one call gives four normals: both outputs of both pairs.
#[test]
fn one_philox_call_gives_four_normals() {
    let (seed, row, sample, quad) = (0x1234_5678_9abc_def0u64, 17, 3, 2);
    let w = philox4x32_10([quad, sample, row, 0], [seed as u32, (seed >> 32) as u32]);
    let pair = |a: u32, b: u32| {
        let u1 = (a as f32 + 1.0) * 2.328_306_4e-10;
        let th = std::f32::consts::TAU * (b as f32 * 2.328_306_4e-10);
        let rho = (-2.0 * u1.ln()).sqrt();
        (rho * th.cos(), rho * th.sin())
    };
    let ((c1, s1), (c2, s2)) = (pair(w[0], w[1]), pair(w[2], w[3]));
    assert_eq!(normals4(seed, row, sample, quad), [c1, s1, c2, s2]);
    for k in 0..4 {
        assert_eq!(
            normal(seed, row, sample, 4 * quad + k),
            [c1, s1, c2, s2][k as usize]
        );
    }
}

#[test]
fn normals_have_standard_moments_and_pass_ks() {
    // Every position in a quad (cosine and sine halves of both pairs).
    for dim in 0..4 {
        moments_and_ks(dim);
    }
}

fn moments_and_ks(dim: u32) {
    let n = 100_000u32;
    let mut xs: Vec<f64> = (0..n).map(|i| f64::from(normal(42, i, 3, dim))).collect();
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
