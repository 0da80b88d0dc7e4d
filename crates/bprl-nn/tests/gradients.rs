//! Every backward pass against central finite differences in f64: parameters and inputs.

use bprl_nn::gradcheck::{finite_difference, max_error};
use bprl_nn::{Activation, LayerNorm, Linear, Mlp, Parameters};
use ndarray::Array2;
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, StandardNormal};

const STEP: f64 = 1e-6;
const TOL: f64 = 1e-6;

fn randn(rows: usize, cols: usize, rng: &mut StdRng) -> Array2<f64> {
    Array2::from_shape_simple_fn((rows, cols), || StandardNormal.sample(rng))
}

/// Finite differences of a scalar function of an input array.
fn fd_input(x: &Array2<f64>, f: impl Fn(&Array2<f64>) -> f64) -> Vec<f64> {
    let mut out = Vec::new();
    for i in 0..x.len() {
        let h = STEP * x.as_slice().unwrap()[i].abs().max(1.0);
        let mut p = x.clone();
        p.as_slice_mut().unwrap()[i] += h;
        let mut m = x.clone();
        m.as_slice_mut().unwrap()[i] -= h;
        out.push((f(&p) - f(&m)) / (2.0 * h));
    }
    out
}

fn assert_close(what: &str, analytic: &[f64], numeric: &[f64]) {
    assert_eq!(analytic.len(), numeric.len(), "{what}: lengths");
    let (err, i) = max_error(analytic, numeric);
    assert!(
        err < TOL,
        "{what}[{i}]: analytic {} vs numeric {} (error {err})",
        analytic[i],
        numeric[i]
    );
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 24,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x6e6e),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn linear(seed in 0u64..1000, n in 1usize..5, i in 1usize..5, o in 1usize..5) {
        let mut rng = StdRng::seed_from_u64(seed);
        let lin = Linear::<f64>::near_zero(i, o, 1.0, &mut rng);
        let x = randn(n, i, &mut rng);
        let w = randn(n, o, &mut rng);
        let loss = |l: &Linear<f64>, x: &Array2<f64>| (&l.forward(x.view()) * &w).sum();
        let mut g = Linear::zeros(i, o);
        let dx = lin.backward(x.view(), w.view(), &mut g);
        assert_close("linear params", &g.flatten(), &finite_difference(&lin, STEP, |l| loss(l, &x)));
        assert_close("linear input", &dx.iter().copied().collect::<Vec<_>>(), &fd_input(&x, |x| loss(&lin, x)));
    }

    #[test]
    fn layer_norm(seed in 0u64..1000, n in 1usize..5, d in 2usize..6) {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut ln = LayerNorm::<f64>::new(d);
        ln.scale = randn(1, d, &mut rng).row(0).to_owned();
        ln.offset = randn(1, d, &mut rng).row(0).to_owned();
        let x = randn(n, d, &mut rng) * 2.0;
        let w = randn(n, d, &mut rng);
        let loss = |l: &LayerNorm<f64>, x: &Array2<f64>| (&l.forward(x.view()).0 * &w).sum();
        let (_, cache) = ln.forward(x.view());
        let mut g = LayerNorm::zeros(d);
        let dx = ln.backward(&cache, w.view(), &mut g);
        assert_close("layer norm params", &g.flatten(), &finite_difference(&ln, STEP, |l| loss(l, &x)));
        assert_close("layer norm input", &dx.iter().copied().collect::<Vec<_>>(), &fd_input(&x, |x| loss(&ln, x)));
    }

    #[test]
    fn activations(seed in 0u64..1000) {
        let mut rng = StdRng::seed_from_u64(seed);
        // Keep inputs away from the kinks of ReLU and ELU at 0.
        let x = randn(3, 4, &mut rng).mapv(|v| if v.abs() < 1e-3 { 0.5 } else { v * 2.0 });
        let w = randn(3, 4, &mut rng);
        for act in [Activation::Identity, Activation::Tanh, Activation::Elu, Activation::Relu, Activation::Softplus] {
            let loss = |x: &Array2<f64>| (&act.forward(x.view()) * &w).sum();
            let y = act.forward(x.view());
            let dx = act.backward(x.view(), y.view(), w.view());
            assert_close(&format!("{act:?}"), &dx.iter().copied().collect::<Vec<_>>(), &fd_input(&x, loss));
        }
    }

    #[test]
    fn layer_norm_mlp(seed in 0u64..1000, n in 1usize..4, activate_final in proptest::bool::ANY) {
        let mut rng = StdRng::seed_from_u64(seed);
        let net = Mlp::<f64>::layer_norm_mlp(5, &[7, 6, 3], activate_final, &mut rng);
        let x = randn(n, 5, &mut rng);
        let w = randn(n, 3, &mut rng);
        let loss = |m: &Mlp<f64>, x: &Array2<f64>| (&m.predict(x.view()) * &w).sum();
        let cache = net.forward(x.view());
        let mut g = net.zeros_like();
        let dx = net.backward(&cache, w.view(), &mut g);
        assert_close("mlp params", &g.flatten(), &finite_difference(&net, STEP, |m| loss(m, &x)));
        assert_close("mlp input", &dx.iter().copied().collect::<Vec<_>>(), &fd_input(&x, |x| loss(&net, x)));
        // The input-only backward pass gives the same input gradient.
        prop_assert_eq!(net.backward_input(&cache, w.view()), dx);
    }

    #[test]
    fn plain_mlp(seed in 0u64..1000) {
        let mut rng = StdRng::seed_from_u64(seed);
        let net = Mlp::<f64>::new(3, &[5, 2], Activation::Softplus, false, &mut rng);
        let x = randn(4, 3, &mut rng);
        let w = randn(4, 2, &mut rng);
        let loss = |m: &Mlp<f64>, x: &Array2<f64>| (&m.predict(x.view()) * &w).sum();
        let cache = net.forward(x.view());
        let mut g = net.zeros_like();
        let dx = net.backward(&cache, w.view(), &mut g);
        assert_close("mlp params", &g.flatten(), &finite_difference(&net, STEP, |m| loss(m, &x)));
        assert_close("mlp input", &dx.iter().copied().collect::<Vec<_>>(), &fd_input(&x, |x| loss(&net, x)));
    }
}

#[test]
fn backward_accumulates() {
    // Two backward passes into one accumulator give the sum of the two gradients.
    let mut rng = StdRng::seed_from_u64(1);
    let net = Mlp::<f64>::layer_norm_mlp(3, &[4, 2], true, &mut rng);
    let (x1, x2) = (randn(2, 3, &mut rng), randn(5, 3, &mut rng));
    let (w1, w2) = (randn(2, 2, &mut rng), randn(5, 2, &mut rng));
    let grad = |x: &Array2<f64>, w: &Array2<f64>| {
        let mut g = net.zeros_like();
        net.backward(&net.forward(x.view()), w.view(), &mut g);
        g.flatten()
    };
    let mut both = net.zeros_like();
    net.backward(&net.forward(x1.view()), w1.view(), &mut both);
    net.backward(&net.forward(x2.view()), w2.view(), &mut both);
    let sum: Vec<f64> = grad(&x1, &w1)
        .iter()
        .zip(grad(&x2, &w2))
        .map(|(a, b)| a + b)
        .collect();
    assert_close("accumulated", &both.flatten(), &sum);
}
