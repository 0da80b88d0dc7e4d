//! Multi-layer perceptrons, including Acme's LayerNormMLP.

use crate::error::{NnError, Result};
use crate::layers::{LayerNorm, LayerNormCache, Linear};
use crate::params::{Parameters, join};
use crate::scalar::Scalar;
use bprl_compute::Activation;
use ndarray::{Array2, ArrayView2, ArrayViewD, ArrayViewMutD};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// One dense layer: `act(norm(x W + b))`, the normalization optional.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound = "F: Scalar + Serialize + for<'a> Deserialize<'a>")]
pub struct Dense<F> {
    /// The affine map.
    pub linear: Linear<F>,
    /// Layer normalization after the affine map, if any.
    pub norm: Option<LayerNorm<F>>,
    /// The nonlinearity.
    pub activation: Activation,
}

/// A stack of [`Dense`] layers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound = "F: Scalar + Serialize + for<'a> Deserialize<'a>")]
pub struct Mlp<F> {
    /// The layers, input first.
    pub layers: Vec<Dense<F>>,
}

/// What [`Mlp::backward`] needs from [`Mlp::forward`], per layer.
#[derive(Debug, Clone)]
pub struct MlpCache<F> {
    inputs: Vec<Array2<F>>,
    norms: Vec<Option<LayerNormCache<F>>>,
    pre_activations: Vec<Array2<F>>,
    output: Array2<F>,
}

impl<F> MlpCache<F> {
    /// The network's output.
    pub fn output(&self) -> &Array2<F> {
        &self.output
    }
}

impl<F: Scalar> Mlp<F> {
    /// Acme's `LayerNormMLP`: `Linear -> LayerNorm -> tanh` for the first layer, then
    /// `Linear -> ELU` for each further size; the last layer's ELU only if `activate_final`
    /// (Acme's torsos use `activate_final = true`). Weights use
    /// [`Linear::variance_scaling`].
    pub fn layer_norm_mlp<R: Rng + ?Sized>(
        input: usize,
        sizes: &[usize],
        activate_final: bool,
        rng: &mut R,
    ) -> Self {
        let mut layers = Vec::with_capacity(sizes.len());
        let mut width = input;
        for (i, &size) in sizes.iter().enumerate() {
            let last = i + 1 == sizes.len();
            layers.push(Dense {
                linear: Linear::variance_scaling(width, size, rng),
                norm: (i == 0).then(|| LayerNorm::new(size)),
                activation: match (i, last && !activate_final) {
                    (_, true) => Activation::Identity,
                    (0, false) => Activation::Tanh,
                    _ => Activation::Elu,
                },
            });
            width = size;
        }
        Self { layers }
    }

    /// A plain MLP with one activation between layers (and after the last if
    /// `activate_final`).
    pub fn new<R: Rng + ?Sized>(
        input: usize,
        sizes: &[usize],
        activation: Activation,
        activate_final: bool,
        rng: &mut R,
    ) -> Self {
        let mut width = input;
        let layers = sizes
            .iter()
            .enumerate()
            .map(|(i, &size)| {
                let act = if i + 1 == sizes.len() && !activate_final {
                    Activation::Identity
                } else {
                    activation
                };
                let layer = Dense {
                    linear: Linear::variance_scaling(width, size, rng),
                    norm: None,
                    activation: act,
                };
                width = size;
                layer
            })
            .collect();
        Self { layers }
    }

    /// Input width.
    pub fn input_dim(&self) -> usize {
        self.layers.first().map_or(0, |l| l.linear.input_dim())
    }

    /// Output width.
    pub fn output_dim(&self) -> usize {
        self.layers.last().map_or(0, |l| l.linear.output_dim())
    }

    /// Checks an input batch: width and finiteness.
    ///
    /// # Errors
    /// [`NnError::Shape`] or [`NnError::NonFinite`].
    pub fn check_input(&self, x: ArrayView2<'_, F>) -> Result<()> {
        if x.ncols() != self.input_dim() {
            return Err(NnError::Shape {
                what: "x",
                expected: vec![x.nrows(), self.input_dim()],
                actual: x.shape().to_vec(),
            });
        }
        match x.iter().position(|v| !v.is_finite()) {
            None => Ok(()),
            Some(index) => Err(NnError::NonFinite { what: "x", index }),
        }
    }

    /// Forward pass on `[N, in]`, keeping what backward needs. The caller guarantees the
    /// width (see [`Mlp::check_input`]).
    pub fn forward(&self, x: ArrayView2<'_, F>) -> MlpCache<F> {
        let n = self.layers.len();
        let mut cache = MlpCache {
            inputs: Vec::with_capacity(n),
            norms: Vec::with_capacity(n),
            pre_activations: Vec::with_capacity(n),
            output: x.to_owned(),
        };
        for layer in &self.layers {
            let input = std::mem::replace(&mut cache.output, Array2::zeros((0, 0)));
            let mut h = layer.linear.forward(input.view());
            let norm = layer.norm.as_ref().map(|ln| {
                let (y, c) = ln.forward(h.view());
                h = y;
                c
            });
            cache.output = layer.activation.forward(h.view());
            cache.inputs.push(input);
            cache.norms.push(norm);
            cache.pre_activations.push(h);
        }
        cache
    }

    /// Forward pass returning only the output.
    pub fn predict(&self, x: ArrayView2<'_, F>) -> Array2<F> {
        self.forward(x).output
    }

    /// Backward pass: accumulates parameter gradients into `grad` (same architecture) and
    /// returns `dL/dx`.
    pub fn backward(
        &self,
        cache: &MlpCache<F>,
        d_out: ArrayView2<'_, F>,
        grad: &mut Self,
    ) -> Array2<F> {
        let mut d = d_out.to_owned();
        let outputs = cache
            .inputs
            .iter()
            .skip(1)
            .chain(std::iter::once(&cache.output));
        let steps: Vec<_> = self
            .layers
            .iter()
            .zip(grad.layers.iter_mut())
            .zip(outputs)
            .enumerate()
            .collect();
        for (i, ((layer, g), out)) in steps.into_iter().rev() {
            d = layer
                .activation
                .backward(cache.pre_activations[i].view(), out.view(), d.view());
            if let (Some(ln), Some(ln_cache), Some(ln_grad)) =
                (&layer.norm, &cache.norms[i], g.norm.as_mut())
            {
                d = ln.backward(ln_cache, d.view(), ln_grad);
            }
            d = layer
                .linear
                .backward(cache.inputs[i].view(), d.view(), &mut g.linear);
        }
        d
    }
}

impl<F: Scalar> Mlp<F> {
    /// The input gradient only, skipping every parameter gradient: for a network that is held
    /// fixed but differentiated with respect to its input (SVG(0) through a target critic).
    pub fn backward_input(&self, cache: &MlpCache<F>, d_out: ArrayView2<'_, F>) -> Array2<F> {
        let mut d = d_out.to_owned();
        let outputs = cache
            .inputs
            .iter()
            .skip(1)
            .chain(std::iter::once(&cache.output));
        let steps: Vec<_> = self.layers.iter().zip(outputs).enumerate().collect();
        for (i, (layer, out)) in steps.into_iter().rev() {
            d = layer
                .activation
                .backward(cache.pre_activations[i].view(), out.view(), d.view());
            if let (Some(ln), Some(ln_cache)) = (&layer.norm, &cache.norms[i]) {
                d = ln.backward_input(ln_cache, d.view());
            }
            d = layer.linear.backward_input(d.view());
        }
        d
    }
}

impl<F: Scalar> Parameters<F> for Mlp<F> {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, ArrayViewD<'_, F>)) {
        for (i, l) in self.layers.iter().enumerate() {
            let p = join(prefix, &format!("layers.{i}"));
            l.linear.visit(&p, f);
            if let Some(n) = &l.norm {
                n.visit(&join(&p, "norm"), f);
            }
        }
    }
    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, ArrayViewMutD<'_, F>)) {
        for (i, l) in self.layers.iter_mut().enumerate() {
            let p = join(prefix, &format!("layers.{i}"));
            l.linear.visit_mut(&p, f);
            if let Some(n) = &mut l.norm {
                n.visit_mut(&join(&p, "norm"), f);
            }
        }
    }
}
