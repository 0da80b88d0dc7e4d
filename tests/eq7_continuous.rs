//! Eq. 7 in continuous action spaces, through the facade: for task policies pointing at
//! different targets, the posterior mixture prior has a lower expected KL than the best
//! (moment-matched) single Gaussian, and with well-separated tasks it costs `ln K` nats.

use bprl::distributions::{DiagGaussian, DiagGaussianMixture, KlEstimator, monte_carlo_kl};
use ndarray::{Array2, Array3, Axis, array};
use rand::SeedableRng;
use rand::rngs::StdRng;

#[test]
fn mixture_prior_beats_unimodal_prior() {
    let targets = array![[3.0, 0.0], [-1.5, 2.6], [-1.5, -2.6]];
    let std = 0.2;
    let mixture = DiagGaussianMixture::new(
        Array2::zeros((1, 3)),
        targets.clone().insert_axis(Axis(0)),
        Array3::from_elem((1, 3, 2), std),
    )
    .unwrap();
    let var = targets.mapv(|v| v * v).mean_axis(Axis(0)).unwrap() + std * std;
    let gaussian = DiagGaussian::new(
        Array2::zeros((1, 2)),
        var.mapv(f64::sqrt).insert_axis(Axis(0)),
    )
    .unwrap();
    let mut rng = StdRng::seed_from_u64(1);
    for t in targets.rows() {
        let pi = DiagGaussian::new(
            t.to_owned().insert_axis(Axis(0)),
            Array2::from_elem((1, 2), std),
        )
        .unwrap();
        let to_gaussian = pi.kl(&gaussian).unwrap()[0];
        let to_mixture =
            monte_carlo_kl(&pi, &mixture, 5_000, KlEstimator::LogRatio, &mut rng).unwrap();
        let ln3 = 3.0f64.ln();
        assert!((to_mixture.mean[0] - ln3).abs() < 1e-3, "{to_mixture:?}");
        assert!(to_gaussian > to_mixture.mean[0] + 1.0, "{to_gaussian}");
    }
}
