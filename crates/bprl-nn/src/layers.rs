//! Linear and LayerNorm, each with a forward pass that returns what backward
//! needs and a backward pass that accumulates parameter gradients and returns input gradients.

use crate::params::{Parameters, join};
use crate::scalar::Scalar;
use ndarray::{Array1, Array2, ArrayView2, ArrayViewD, ArrayViewMutD, Axis, Zip};
use rand::Rng;
use rand_distr::{Distribution, Normal, Uniform};
use serde::{Deserialize, Serialize};

/// An affine map `y = x W + b` on `[N, in]` batches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound = "F: Scalar + Serialize + for<'a> Deserialize<'a>")]
pub struct Linear<F> {
    /// `W`, `[in, out]`.
    pub weight: Array2<F>,
    /// `b`, `[out]`.
    pub bias: Array1<F>,
}

impl<F: Scalar> Linear<F> {
    /// Zero weights and biases (a gradient accumulator).
    pub fn zeros(input: usize, output: usize) -> Self {
        Self {
            weight: Array2::zeros((input, output)),
            bias: Array1::zeros(output),
        }
    }

    /// Acme's default: variance scaling, fan-out mode, uniform, `scale = 0.333`:
    /// `W ~ U(-l, l)`, `l = sqrt(3 scale / fan_out)`; `b = 0`.
    pub fn variance_scaling<R: Rng + ?Sized>(input: usize, output: usize, rng: &mut R) -> Self {
        let limit = (3.0 * 0.333 / output.max(1) as f64).sqrt();
        let u = Uniform::new_inclusive(-limit, limit).unwrap_or_else(|_| unreachable!());
        Self {
            weight: Array2::from_shape_simple_fn((input, output), || F::c(u.sample(rng))),
            bias: Array1::zeros(output),
        }
    }

    /// A near-zero output layer: `W ~ N(0, std^2)`, `b = 0` (Acme initializes the critic's
    /// output with `std = 1e-4` and Gaussian heads with `1e-2 / sqrt(in)`).
    pub fn near_zero<R: Rng + ?Sized>(input: usize, output: usize, std: f64, rng: &mut R) -> Self {
        let n = Normal::new(0.0, std.abs()).unwrap_or_else(|_| unreachable!());
        Self {
            weight: Array2::from_shape_simple_fn((input, output), || F::c(n.sample(rng))),
            bias: Array1::zeros(output),
        }
    }

    /// Input width.
    pub fn input_dim(&self) -> usize {
        self.weight.nrows()
    }

    /// Output width.
    pub fn output_dim(&self) -> usize {
        self.weight.ncols()
    }

    /// `y = x W + b`, `[N, out]`.
    pub fn forward(&self, x: ArrayView2<'_, F>) -> Array2<F> {
        let mut y = bprl_compute::parallel::dot(x, self.weight.view());
        y += &self.bias;
        y
    }

    /// Accumulates `dW += x^T dy`, `db += sum_n dy` into `grad` and returns `dx = dy W^T`.
    pub fn backward(
        &self,
        x: ArrayView2<'_, F>,
        dy: ArrayView2<'_, F>,
        grad: &mut Self,
    ) -> Array2<F> {
        bprl_compute::parallel::add_at_b(x, dy, &mut grad.weight.view_mut());
        grad.bias += &dy.sum_axis(Axis(0));
        bprl_compute::parallel::dot(dy, self.weight.t())
    }

    /// The input gradient `dx = dy W^T` only (for a network held fixed, such as a target critic
    /// differentiated with respect to its input).
    pub fn backward_input(&self, dy: ArrayView2<'_, F>) -> Array2<F> {
        bprl_compute::parallel::dot(dy, self.weight.t())
    }

    /// As [`Linear::backward`] without the input gradient (for a first layer).
    pub fn backward_params(&self, x: ArrayView2<'_, F>, dy: ArrayView2<'_, F>, grad: &mut Self) {
        bprl_compute::parallel::add_at_b(x, dy, &mut grad.weight.view_mut());
        grad.bias += &dy.sum_axis(Axis(0));
    }
}

impl<F: Scalar> Parameters<F> for Linear<F> {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, ArrayViewD<'_, F>)) {
        f(&join(prefix, "weight"), self.weight.view().into_dyn());
        f(&join(prefix, "bias"), self.bias.view().into_dyn());
    }
    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, ArrayViewMutD<'_, F>)) {
        f(&join(prefix, "weight"), self.weight.view_mut().into_dyn());
        f(&join(prefix, "bias"), self.bias.view_mut().into_dyn());
    }
}

/// Layer normalization over the feature axis with a learned scale and offset
/// (Ba et al. 2016): `y = gamma (x - mean) / sqrt(var + eps) + beta`, per row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound = "F: Scalar + Serialize + for<'a> Deserialize<'a>")]
pub struct LayerNorm<F> {
    /// `gamma`, `[D]`, initialized to 1.
    pub scale: Array1<F>,
    /// `beta`, `[D]`, initialized to 0.
    pub offset: Array1<F>,
    /// `eps` (Haiku's and the JAX reference's `1e-5`).
    pub eps: F,
}

/// What [`LayerNorm::backward`] needs from the forward pass.
#[derive(Debug, Clone)]
pub struct LayerNormCache<F> {
    /// `x_hat = (x - mean) / sqrt(var + eps)`, `[N, D]`.
    pub normalized: Array2<F>,
    /// `1 / sqrt(var + eps)` per row, `[N]`.
    pub inv_std: Array1<F>,
}

impl<F: Scalar> LayerNorm<F> {
    /// Unit scale, zero offset.
    pub fn new(dim: usize) -> Self {
        Self {
            scale: Array1::ones(dim),
            offset: Array1::zeros(dim),
            eps: F::c(1e-5),
        }
    }

    /// Zero scale and offset (a gradient accumulator).
    pub fn zeros(dim: usize) -> Self {
        Self {
            scale: Array1::zeros(dim),
            offset: Array1::zeros(dim),
            eps: F::c(1e-5),
        }
    }

    /// Normalizes each row of `[N, D]`, writing `x_hat` and `y = gamma x_hat + beta` in one
    /// pass after the row's moments.
    pub fn forward(&self, x: ArrayView2<'_, F>) -> (Array2<F>, LayerNormCache<F>) {
        let (n, d) = x.dim();
        let df = F::c(d as f64);
        let mut normalized = Array2::zeros((n, d));
        let mut y = Array2::zeros((n, d));
        let mut inv_std = Array1::zeros(n);
        let scale = self.scale.as_slice();
        let offset = self.offset.as_slice();
        Zip::from(x.rows())
            .and(normalized.rows_mut())
            .and(y.rows_mut())
            .and(&mut inv_std)
            .for_each(|row, mut xh, mut out, inv| {
                let (sum, sum_sq) =
                    row.fold((F::zero(), F::zero()), |(s, q), &v| (s + v, q + v * v));
                let mean = sum / df;
                let var = (sum_sq / df - mean * mean).max(F::zero());
                *inv = F::one() / (var + self.eps).sqrt();
                let k = *inv;
                match (
                    row.as_slice(),
                    xh.as_slice_mut(),
                    out.as_slice_mut(),
                    scale,
                    offset,
                ) {
                    (Some(r), Some(h), Some(o), Some(g), Some(b)) => {
                        for j in 0..r.len() {
                            let v = (r[j] - mean) * k;
                            h[j] = v;
                            o[j] = v * g[j] + b[j];
                        }
                    }
                    _ => {
                        Zip::from(&mut xh)
                            .and(&row)
                            .for_each(|h, &v| *h = (v - mean) * k);
                        Zip::from(&mut out)
                            .and(&xh)
                            .and(&self.scale)
                            .and(&self.offset)
                            .for_each(|o, &h, &g, &b| *o = h * g + b);
                    }
                }
            });
        (
            y,
            LayerNormCache {
                normalized,
                inv_std,
            },
        )
    }

    /// Accumulates `d gamma`, `d beta` and returns `dx`:
    /// `dx = inv_std (g - mean(g) - x_hat mean(g x_hat))` with `g = dy gamma`, per row.
    pub fn backward(
        &self,
        cache: &LayerNormCache<F>,
        dy: ArrayView2<'_, F>,
        grad: &mut Self,
    ) -> Array2<F> {
        grad.scale += &(&dy * &cache.normalized).sum_axis(Axis(0));
        grad.offset += &dy.sum_axis(Axis(0));
        self.backward_input(cache, dy)
    }

    /// The input gradient only (no parameter gradients), as in [`LayerNorm::backward`].
    pub fn backward_input(&self, cache: &LayerNormCache<F>, dy: ArrayView2<'_, F>) -> Array2<F> {
        let d = F::c(dy.ncols() as f64);
        let mut g = &dy * &self.scale;
        Zip::from(g.rows_mut())
            .and(cache.normalized.rows())
            .and(&cache.inv_std)
            .for_each(|mut g, xh, &inv| {
                let mean_g = g.sum() / d;
                let mean_gx = g.dot(&xh) / d;
                Zip::from(&mut g)
                    .and(&xh)
                    .for_each(|g, &x| *g = inv * (*g - mean_g - x * mean_gx));
            });
        g
    }
}

impl<F: Scalar> Parameters<F> for LayerNorm<F> {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, ArrayViewD<'_, F>)) {
        f(&join(prefix, "scale"), self.scale.view().into_dyn());
        f(&join(prefix, "offset"), self.offset.view().into_dyn());
    }
    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, ArrayViewMutD<'_, F>)) {
        f(&join(prefix, "scale"), self.scale.view_mut().into_dyn());
        f(&join(prefix, "offset"), self.offset.view_mut().into_dyn());
    }
}
