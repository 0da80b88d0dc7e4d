//! Adam, clipping, target copies and Polyak averaging.

use bprl_nn::{Adam, AdamConfig, Linear, Mlp, NnError, Parameters};
use ndarray::{Array1, Array2, array};
use rand::SeedableRng;
use rand::rngs::StdRng;

#[test]
fn first_adam_step_moves_each_parameter_by_lr_against_its_gradient_sign() {
    // With bias correction, step 1 is lr * g / (|g| + eps): almost exactly lr * sign(g).
    let mut p = Linear {
        weight: array![[1.0f64, -2.0]],
        bias: array![0.5, 0.0],
    };
    let g = Linear {
        weight: array![[3.0f64, -0.01]],
        bias: array![-7.0, 1e-3],
    };
    let cfg = AdamConfig {
        learning_rate: 0.1,
        ..AdamConfig::default()
    };
    let mut opt = Adam::new(cfg, p.num_params()).unwrap();
    opt.step(&mut p, &g).unwrap();
    let want = [1.0 - 0.1, -2.0 + 0.1, 0.5 + 0.1, 0.0 - 0.1];
    for (a, b) in p.flatten().iter().zip(want) {
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }
}

#[test]
fn adam_matches_the_textbook_recursion_over_several_steps() {
    let cfg = AdamConfig {
        learning_rate: 0.05,
        beta1: 0.8,
        beta2: 0.9,
        eps: 1e-3,
        max_grad_norm: None,
    };
    let mut p = Linear {
        weight: array![[0.3f64]],
        bias: array![-0.2],
    };
    let mut opt = Adam::new(cfg, 2).unwrap();
    let (mut theta, mut m, mut v) = ([0.3f64, -0.2], [0.0f64; 2], [0.0f64; 2]);
    for t in 1..=5 {
        // Gradient of (theta - 1)^2 / 2 at the current parameters.
        let g = Linear {
            weight: array![[p.weight[(0, 0)] - 1.0]],
            bias: array![p.bias[0] - 1.0],
        };
        opt.step(&mut p, &g).unwrap();
        for i in 0..2 {
            let gi = theta[i] - 1.0;
            m[i] = 0.8 * m[i] + 0.2 * gi;
            v[i] = 0.9 * v[i] + 0.1 * gi * gi;
            let mh = m[i] / (1.0 - 0.8f64.powi(t));
            let vh = v[i] / (1.0 - 0.9f64.powi(t));
            theta[i] -= 0.05 * mh / (vh.sqrt() + 1e-3);
        }
        assert!((p.weight[(0, 0)] - theta[0]).abs() < 1e-12);
        assert!((p.bias[0] - theta[1]).abs() < 1e-12);
    }
}

#[test]
fn clipping_rescales_large_gradients() {
    let cfg = AdamConfig {
        learning_rate: 1.0,
        max_grad_norm: Some(1.0),
        ..AdamConfig::default()
    };
    let mut a = Linear {
        weight: array![[0.0f64, 0.0]],
        bias: Array1::zeros(2),
    };
    let mut opt = Adam::new(cfg, 4).unwrap();
    let g = Linear {
        weight: array![[30.0f64, 40.0]],
        bias: Array1::zeros(2),
    };
    let norm = opt.step(&mut a, &g).unwrap();
    assert_eq!(norm, 50.0);
    let bad = AdamConfig {
        beta1: 1.0,
        ..AdamConfig::default()
    };
    assert!(matches!(
        Adam::<f64>::new(bad, 1),
        Err(NnError::Config { field: "beta1", .. })
    ));
    let nan = Linear {
        weight: array![[f64::NAN, 0.0]],
        bias: Array1::zeros(2),
    };
    let before = a.clone();
    assert!(matches!(
        opt.step(&mut a, &nan),
        Err(NnError::NonFinite { .. })
    ));
    assert_eq!(
        a, before,
        "a rejected gradient leaves the parameters unchanged"
    );
}

#[test]
fn training_reduces_a_regression_loss() {
    let mut rng = StdRng::seed_from_u64(3);
    let mut net = Mlp::<f32>::layer_norm_mlp(2, &[32, 32, 1], false, &mut rng);
    let x = Array2::from_shape_fn((64, 2), |(i, j)| ((i * 7 + j * 3) % 13) as f32 / 6.0 - 1.0);
    let y = x.column(0).mapv(|a| a.sin()) + x.column(1).mapv(|b| b * b);
    let loss = |net: &Mlp<f32>| {
        let p = net.predict(x.view());
        p.column(0)
            .iter()
            .zip(y.iter())
            .map(|(a, b)| (a - b).powi(2))
            .sum::<f32>()
            / 64.0
    };
    let start = loss(&net);
    let mut opt = Adam::new(
        AdamConfig {
            learning_rate: 3e-3,
            ..AdamConfig::default()
        },
        net.num_params(),
    )
    .unwrap();
    for _ in 0..300 {
        let cache = net.forward(x.view());
        let mut d = cache.output().clone();
        for (i, v) in d.column_mut(0).iter_mut().enumerate() {
            *v = 2.0 * (*v - y[i]) / 64.0;
        }
        let mut g = net.zeros_like();
        net.backward(&cache, d.view(), &mut g);
        opt.step(&mut net, &g).unwrap();
    }
    assert!(loss(&net) < 0.1 * start, "{} -> {}", start, loss(&net));
}

#[test]
fn hard_copy_and_polyak() {
    let mut rng = StdRng::seed_from_u64(4);
    let online = Mlp::<f64>::layer_norm_mlp(3, &[4, 2], true, &mut rng);
    let mut target = Mlp::<f64>::layer_norm_mlp(3, &[4, 2], true, &mut rng);
    assert_ne!(online, target);
    let before = target.flatten();
    target.polyak_from(&online, 0.25);
    for ((t, b), o) in target.flatten().iter().zip(before).zip(online.flatten()) {
        assert!((t - (0.75 * b + 0.25 * o)).abs() < 1e-15);
    }
    target.copy_from(&online);
    assert_eq!(target, online);
    assert_eq!(online.names()[0], "layers.0.weight");
    assert!(online.names().contains(&"layers.0.norm.scale".to_string()));
}
