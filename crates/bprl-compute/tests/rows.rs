//! The row kernels against a plain f64 implementation of the same formulas, on every path
//! this processor has, and the paths against each other (same bits).

// The references are written index by index, as the formulas are.
#![allow(clippy::needless_range_loop)]

use crate::common::{config, rng};
use bprl_compute::rows::{
    NormBack, NormRows, RowsBackward, RowsForward, rows_backward_on, rows_forward_on,
};
use bprl_compute::{Activation, Element, Kernel};
use proptest::prelude::*;
use rand::RngExt;
use rand::rngs::StdRng;

const ACTIVATIONS: [Activation; 5] = [
    Activation::Identity,
    Activation::Tanh,
    Activation::Elu,
    Activation::Relu,
    Activation::Softplus,
];

/// Tolerance of an `f32` kernel against the f64 formula, for values of order one.
const F32_TOL: f64 = 1e-5;
/// Tolerance of an `f64` kernel against the f64 formula (different summation order only).
const F64_TOL: f64 = 1e-12;

fn values(n: usize, rng: &mut StdRng) -> Vec<f64> {
    (0..n).map(|_| rng.random::<f64>() * 4.0 - 2.0).collect()
}

fn act64(a: Activation, x: f64) -> f64 {
    match a {
        Activation::Identity => x,
        Activation::Tanh => x.tanh(),
        Activation::Elu => {
            if x > 0.0 {
                x
            } else {
                x.exp_m1()
            }
        }
        Activation::Relu => x.max(0.0),
        Activation::Softplus => x.max(0.0) + (-x.abs()).exp().ln_1p(),
    }
}

/// `act'` from the output `y`, as the backward kernel defines it.
fn deriv64(a: Activation, y: f64) -> f64 {
    match a {
        Activation::Identity => 1.0,
        Activation::Tanh => 1.0 - y * y,
        Activation::Elu => {
            if y > 0.0 {
                1.0
            } else {
                y + 1.0
            }
        }
        Activation::Relu => f64::from(u8::from(y > 0.0)),
        Activation::Softplus => 1.0 - (-y).exp(),
    }
}

/// Inputs of one forward row pass, in f64.
#[derive(Debug, Clone)]
struct Forward {
    act: Activation,
    width: usize,
    pre: Vec<f64>,
    bias: Vec<f64>,
    shared: Option<(Vec<f64>, usize)>,
    /// `(gamma, beta)`.
    norm: Option<(Vec<f64>, Vec<f64>)>,
}

/// What a forward row pass writes: `v`, `out`, and with a norm `x_hat` and `inv_std`.
type ForwardOut = (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>);

const EPS: f64 = 1e-5;

impl Forward {
    fn random(
        act: Activation,
        rows: usize,
        width: usize,
        shared: usize,
        norm: bool,
        rng: &mut StdRng,
    ) -> Self {
        Forward {
            act,
            width,
            pre: values(rows * width, rng),
            bias: values(width, rng),
            shared: (shared > 0).then(|| (values(shared * width, rng), shared)),
            norm: norm.then(|| (values(width, rng), values(width, rng))),
        }
    }

    fn reference(&self) -> ForwardOut {
        let w = self.width;
        let rows = self.pre.len() / w;
        let (mut v, mut out) = (self.pre.clone(), vec![0.0; rows * w]);
        let (mut xhat, mut inv_std) = (vec![0.0; rows * w], vec![0.0; rows]);
        for i in 0..rows {
            for j in 0..w {
                v[i * w + j] += self.bias[j];
                if let Some((s, n)) = &self.shared {
                    v[i * w + j] += s[(i % n) * w + j];
                }
            }
            let row = &v[i * w..(i + 1) * w];
            match &self.norm {
                Some((g, b)) => {
                    let mean = row.iter().sum::<f64>() / w as f64;
                    let var = row.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / w as f64;
                    inv_std[i] = 1.0 / (var + EPS).sqrt();
                    for j in 0..w {
                        xhat[i * w + j] = (row[j] - mean) * inv_std[i];
                        out[i * w + j] = act64(self.act, g[j] * xhat[i * w + j] + b[j]);
                    }
                }
                None => {
                    for j in 0..w {
                        out[i * w + j] = act64(self.act, row[j]);
                    }
                }
            }
        }
        (v, out, xhat, inv_std)
    }

    fn run<F: Element>(&self, kernel: Kernel) -> ForwardOut {
        let f = |v: &[f64]| v.iter().map(|&x| F::of_f64(x)).collect::<Vec<F>>();
        let back = |v: &[F]| {
            v.iter()
                .map(|x| x.to_f64().unwrap_or(f64::NAN))
                .collect::<Vec<f64>>()
        };
        let rows = self.pre.len() / self.width;
        let mut pre = f(&self.pre);
        let mut out = vec![F::zero(); pre.len()];
        let mut xhat = vec![F::zero(); pre.len()];
        let mut inv_std = vec![F::zero(); rows];
        let bias = f(&self.bias);
        let shared = self.shared.as_ref().map(|(s, n)| (f(s), *n));
        let norm = self.norm.as_ref().map(|(g, b)| (f(g), f(b)));
        rows_forward_on(
            kernel,
            RowsForward {
                activation: self.act,
                width: self.width,
                pre: &mut pre,
                bias: &bias,
                shared: shared.as_ref().map(|(s, n)| (s.as_slice(), *n)),
                norm: norm.as_ref().map(|(g, b)| NormRows {
                    gamma: g,
                    beta: b,
                    eps: F::of_f64(EPS),
                    xhat: &mut xhat,
                    inv_std: &mut inv_std,
                }),
                out: &mut out,
            },
        );
        (back(&pre), back(&out), back(&xhat), back(&inv_std))
    }
}

/// Inputs of one backward row pass, in f64 (taken as given, not from a forward pass).
#[derive(Debug, Clone)]
struct Backward {
    act: Activation,
    width: usize,
    d: Vec<f64>,
    out: Vec<f64>,
    /// `(gamma, x_hat, inv_std)`.
    norm: Option<(Vec<f64>, Vec<f64>, Vec<f64>)>,
    /// Initial `(d_gamma, d_beta, d_bias)`: the kernel accumulates into them.
    acc: (Vec<f64>, Vec<f64>, Vec<f64>),
}

/// What a backward row pass writes: `d`, `d_gamma`, `d_beta`, `d_bias`.
type BackwardOut = (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>);

impl Backward {
    fn random(act: Activation, rows: usize, width: usize, norm: bool, rng: &mut StdRng) -> Self {
        let inv: Vec<f64> = (0..rows).map(|_| 0.5 + rng.random::<f64>() * 2.0).collect();
        Backward {
            act,
            width,
            d: values(rows * width, rng),
            out: values(rows * width, rng),
            norm: norm.then(|| (values(width, rng), values(rows * width, rng), inv)),
            acc: (values(width, rng), values(width, rng), values(width, rng)),
        }
    }

    fn reference(&self) -> BackwardOut {
        let w = self.width;
        let rows = self.d.len() / w;
        let mut d = self.d.clone();
        let (mut dg, mut db, mut dbias) = self.acc.clone();
        for i in 0..rows {
            let row = &mut d[i * w..(i + 1) * w];
            for j in 0..w {
                row[j] *= deriv64(self.act, self.out[i * w + j]);
            }
            if let Some((g, xhat, inv)) = &self.norm {
                let x = &xhat[i * w..(i + 1) * w];
                for j in 0..w {
                    dg[j] += row[j] * x[j];
                    db[j] += row[j];
                    row[j] *= g[j];
                }
                let mean_g = row.iter().sum::<f64>() / w as f64;
                let mean_gx = row.iter().zip(x).map(|(a, b)| a * b).sum::<f64>() / w as f64;
                for j in 0..w {
                    row[j] = inv[i] * (row[j] - mean_g - x[j] * mean_gx);
                }
            }
            for j in 0..w {
                dbias[j] += row[j];
            }
        }
        (d, dg, db, dbias)
    }

    fn run<F: Element>(&self, kernel: Kernel) -> BackwardOut {
        let f = |v: &[f64]| v.iter().map(|&x| F::of_f64(x)).collect::<Vec<F>>();
        let back = |v: &[F]| {
            v.iter()
                .map(|x| x.to_f64().unwrap_or(f64::NAN))
                .collect::<Vec<f64>>()
        };
        let mut d = f(&self.d);
        let out = f(&self.out);
        let norm = self.norm.as_ref().map(|(g, x, inv)| (f(g), f(x), f(inv)));
        let (mut dg, mut db, mut dbias) = (f(&self.acc.0), f(&self.acc.1), f(&self.acc.2));
        rows_backward_on(
            kernel,
            RowsBackward {
                activation: self.act,
                width: self.width,
                d: &mut d,
                out: &out,
                norm: norm.as_ref().map(|(g, x, inv)| NormBack {
                    gamma: g,
                    xhat: x,
                    inv_std: inv,
                }),
                d_gamma: Some(&mut dg),
                d_beta: Some(&mut db),
                d_bias: Some(&mut dbias),
            },
        );
        (back(&d), back(&dg), back(&db), back(&dbias))
    }
}

/// `|got - want| <= tol (1 + |want|)` everywhere; the worst excess otherwise.
fn check(what: &str, got: &[f64], want: &[f64], tol: f64) -> Result<(), TestCaseError> {
    prop_assert_eq!(got.len(), want.len(), "{} lengths", what);
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        prop_assert!(
            (g - w).abs() <= tol * (1.0 + w.abs()),
            "{} [{}]: {} vs {}",
            what,
            k,
            g,
            w
        );
    }
    Ok(())
}

fn check4(what: &str, got: &ForwardOut, want: &ForwardOut, tol: f64) -> Result<(), TestCaseError> {
    check(&format!("{what} 0"), &got.0, &want.0, tol)?;
    check(&format!("{what} 1"), &got.1, &want.1, tol)?;
    check(&format!("{what} 2"), &got.2, &want.2, tol)?;
    check(&format!("{what} 3"), &got.3, &want.3, tol)
}

fn same_bits(a: &ForwardOut, b: &ForwardOut) -> bool {
    let eq = |x: &[f64], y: &[f64]| x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits());
    eq(&a.0, &b.0) && eq(&a.1, &b.1) && eq(&a.2, &b.2) && eq(&a.3, &b.3)
}

proptest! {
    #![proptest_config(config(96))]

    /// Bias, shared rows, LayerNorm and every activation, `f32` and `f64`, on every path.
    #[test]
    fn forward_rows_match_the_formula(
        seed in 0u64..10_000, act in 0usize..5, rows in 1usize..12, width in 1usize..40,
        shared in 0usize..4, norm in any::<bool>(),
    ) {
        let mut rng = rng(seed);
        let shared = if shared > 0 && rows % shared == 0 { shared } else { 0 };
        let case = Forward::random(ACTIVATIONS[act], rows, width, shared, norm, &mut rng);
        let want = case.reference();
        let mut first: Option<ForwardOut> = None;
        for kernel in Kernel::available() {
            check4(&format!("f64 {kernel}"), &case.run::<f64>(kernel), &want, F64_TOL)?;
            let got = case.run::<f32>(kernel);
            check4(&format!("f32 {kernel}"), &got, &want, F32_TOL)?;
            if let Some(f) = &first {
                prop_assert!(same_bits(f, &got), "paths differ ({kernel})");
            }
            first = Some(got);
        }
    }

    /// The activation derivative from the output, LayerNorm's backward and the accumulated
    /// parameter gradients, `f32` and `f64`, on every path.
    #[test]
    fn backward_rows_match_the_formula(
        seed in 0u64..10_000, act in 0usize..5, rows in 1usize..12, width in 1usize..40,
        norm in any::<bool>(),
    ) {
        let mut rng = rng(seed);
        let case = Backward::random(ACTIVATIONS[act], rows, width, norm, &mut rng);
        let want = case.reference();
        let mut first: Option<BackwardOut> = None;
        for kernel in Kernel::available() {
            check4(&format!("f64 {kernel}"), &case.run::<f64>(kernel), &want, F64_TOL)?;
            // Sums over rows and widths of values up to 2 (times gamma up to 2): an absolute
            // tolerance that grows with the number of terms.
            let tol = F32_TOL * (rows + width) as f64;
            let got = case.run::<f32>(kernel);
            check4(&format!("f32 {kernel}"), &got, &want, tol)?;
            if let Some(f) = &first {
                prop_assert!(same_bits(f, &got), "paths differ ({kernel})");
            }
            first = Some(got);
        }
    }
}

/// Zero width is a no-op, not a division by zero.
#[test]
fn zero_width_does_nothing() {
    for kernel in Kernel::available() {
        let mut pre = [1.0f32, 2.0];
        let mut out = [7.0f32; 2];
        rows_forward_on(
            kernel,
            RowsForward {
                activation: Activation::Tanh,
                width: 0,
                pre: &mut pre,
                bias: &[],
                shared: None,
                norm: None,
                out: &mut out,
            },
        );
        assert_eq!((pre, out), ([1.0, 2.0], [7.0; 2]));
    }
}
