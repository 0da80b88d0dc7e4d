//! Acme's Gaussian policy head and its backward pass.

use crate::Float;
use bprl_nn::{Linear, Parameters, join};
use ndarray::{Array2, ArrayView2, ArrayViewD, ArrayViewMutD, Zip};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// `ln 2`.
const LN_2: f64 = std::f64::consts::LN_2;

/// The diagonal-Gaussian head of Acme's `svg0_prior` networks.
///
/// # Formula
/// `mean = mean_scale * tanh(h W_mu + b_mu)`,
/// `std = min(softplus(h W_sigma + b_sigma) * 0.7 / ln 2 + min_scale, max_scale)`
/// (so a zero pre-activation gives `std = 0.7 + min_scale`). Acme's head is `mean_scale = 1`
/// and no `max_scale`, the defaults.
///
/// # Invariants
/// `min_scale <= std <= max_scale`; `|mean| < mean_scale`. Where the upper bound is active the
/// std's gradient is zero (as a clipped log-std in SAC).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound = "F: Float")]
pub struct GaussianHead<F> {
    /// The mean's affine map, `[hidden, A]`.
    pub mean: Linear<F>,
    /// The standard deviation's affine map, `[hidden, A]`.
    pub std: Linear<F>,
    /// Lower bound added to the standard deviation (Acme: 0.1).
    pub min_scale: F,
    /// Upper bound of the standard deviation (Acme: none).
    #[serde(default)]
    pub max_scale: Option<F>,
    /// Bound of the mean, `mean_scale * tanh(.)` (Acme: 1).
    #[serde(default = "one")]
    pub mean_scale: F,
}

fn one<F: Float>() -> F {
    F::one()
}

/// The head's output nonlinearities and their derivatives, in one place for the plain and the
/// tiled passes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HeadMaps<F> {
    k: F,
    min_scale: F,
    max_scale: Option<F>,
    mean_scale: F,
}

impl<F: Float> HeadMaps<F> {
    /// `mean_scale * tanh(x)`.
    pub(crate) fn mean(&self, x: F) -> F {
        self.mean_scale * x.tanh()
    }
    /// `d mean / d x` from the mean `m`: `mean_scale (1 - (m / mean_scale)^2)`.
    pub(crate) fn d_mean(&self, m: F) -> F {
        let t = m / self.mean_scale;
        self.mean_scale * (F::one() - t * t)
    }
    /// `min(softplus(x) k + min_scale, max_scale)`.
    pub(crate) fn std(&self, x: F) -> F {
        let s = bprl_distributions::softplus(x) * self.k + self.min_scale;
        match self.max_scale {
            Some(m) if s > m => m,
            _ => s,
        }
    }
    /// [`HeadMaps::mean`] as the tiled passes of at least `BATCHED_ROWS` rows compute it, with
    /// the vectorizable `tanh` of [`bprl_nn::fastmath`] for `f32` (libm's for `f64`): the
    /// learner's large passes, where libm's scalar calls were a few percent of an update. The
    /// smaller passes keep libm's functions, and with them the bits they had.
    #[inline(always)]
    pub(crate) fn mean_fast(&self, x: F) -> F {
        self.mean_scale * x.act_tanh()
    }
    /// [`HeadMaps::std`] as the large passes compute it (the vectorizable softplus of
    /// [`bprl_nn::fastmath`] for `f32`; see [`HeadMaps::mean_fast`]).
    #[inline(always)]
    pub(crate) fn std_fast(&self, x: F) -> F {
        let s = x.act_softplus() * self.k + self.min_scale;
        match self.max_scale {
            Some(m) if s > m => m,
            _ => s,
        }
    }
    /// [`HeadMaps::d_std`] as the large passes compute it (see [`HeadMaps::std_fast`]).
    #[inline(always)]
    pub(crate) fn d_std_fast(&self, x: F) -> F {
        if let Some(m) = self.max_scale
            && x.act_softplus() * self.k + self.min_scale > m
        {
            return F::zero();
        }
        self.k / (F::one() + (-x).act_exp())
    }
    /// `d std / d x` from the pre-activation `x` (0 where the upper bound holds).
    pub(crate) fn d_std(&self, x: F) -> F {
        // The bound's test needs the std itself: only computed where there is a bound.
        if let Some(m) = self.max_scale
            && bprl_distributions::softplus(x) * self.k + self.min_scale > m
        {
            return F::zero();
        }
        self.k / (F::one() + (-x).exp())
    }
}

/// What [`GaussianHead::backward`] needs from the forward pass.
#[derive(Debug, Clone)]
pub struct HeadCache<F> {
    input: Array2<F>,
    pre_std: Array2<F>,
    mean: Array2<F>,
}

impl<F: Float> GaussianHead<F> {
    /// A head with near-zero weights (`N(0, (1e-2 / sqrt(hidden))^2)`, as the JAX reference).
    pub fn new<R: Rng + ?Sized>(
        hidden: usize,
        action_dim: usize,
        min_scale: f64,
        rng: &mut R,
    ) -> Self {
        let std = 1e-2 / (hidden.max(1) as f64).sqrt();
        Self {
            mean: Linear::near_zero(hidden, action_dim, std, rng),
            std: Linear::near_zero(hidden, action_dim, std, rng),
            min_scale: <F as bprl_nn::Scalar>::c(min_scale),
            max_scale: None,
            mean_scale: F::one(),
        }
    }

    /// The output maps of this head.
    pub(crate) fn maps(&self) -> HeadMaps<F> {
        HeadMaps {
            k: <F as bprl_nn::Scalar>::c(0.7 / LN_2),
            min_scale: self.min_scale,
            max_scale: self.max_scale,
            mean_scale: self.mean_scale,
        }
    }

    /// The action dimension.
    pub fn action_dim(&self) -> usize {
        self.mean.output_dim()
    }

    /// `(mean, std)`, each `[B, A]`, and the cache.
    pub fn forward(&self, h: ArrayView2<'_, F>) -> (Array2<F>, Array2<F>, HeadCache<F>) {
        let maps = self.maps();
        let mean = self.mean.forward(h).mapv(|x| maps.mean(x));
        let pre_std = self.std.forward(h);
        let std = pre_std.mapv(|x| maps.std(x));
        let cache = HeadCache {
            input: h.to_owned(),
            pre_std,
            mean: mean.clone(),
        };
        (mean, std, cache)
    }

    /// Accumulates parameter gradients from `dL/dmean`, `dL/dstd` and returns `dL/dh`.
    pub fn backward(
        &self,
        cache: &HeadCache<F>,
        d_mean: ArrayView2<'_, F>,
        d_std: ArrayView2<'_, F>,
        grad: &mut Self,
    ) -> Array2<F> {
        let maps = self.maps();
        let mut d_pre_mean = d_mean.to_owned();
        Zip::from(&mut d_pre_mean)
            .and(&cache.mean)
            .for_each(|d, &m| *d *= maps.d_mean(m));
        let mut d_pre_std = d_std.to_owned();
        Zip::from(&mut d_pre_std)
            .and(&cache.pre_std)
            .for_each(|d, &x| *d *= maps.d_std(x));
        let dh = self
            .mean
            .backward(cache.input.view(), d_pre_mean.view(), &mut grad.mean);
        dh + self
            .std
            .backward(cache.input.view(), d_pre_std.view(), &mut grad.std)
    }
}

impl<F: Float> Parameters<F> for GaussianHead<F> {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, ArrayViewD<'_, F>)) {
        self.mean.visit(&join(prefix, "mean"), f);
        self.std.visit(&join(prefix, "std"), f);
    }
    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, ArrayViewMutD<'_, F>)) {
        self.mean.visit_mut(&join(prefix, "mean"), f);
        self.std.visit_mut(&join(prefix, "std"), f);
    }
}
