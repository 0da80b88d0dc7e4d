//! Latent hierarchical policies `pi(a|x) = ∫ pi^H(z|x) pi^L(a|z,x) dz` and priors, the
//! reparameterized chain through both levels, and the per-step KL bound of Eq. 11.

use crate::Float;
use crate::error::{PolicyError, Result, check_shape};
use crate::gaussian_policy::{GaussianPolicy, GaussianPolicyConfig, PolicyForward};
use crate::obs::Selection;
use bprl_distributions::DiagGaussian;
use bprl_nn::{Parameters, TileCache, join};
use ndarray::{
    Array1, Array2, ArrayView1, ArrayView2, ArrayViewD, ArrayViewMutD, Axis, CowArray, Ix2, s,
};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Sizes of a hierarchical policy (and prior).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HierarchicalConfig {
    /// Torso sizes of each level (Acme-sized: `[200, 100]`).
    pub hidden: Vec<usize>,
    /// Latent dimension of `z`.
    pub latent_dim: usize,
    /// Action dimension.
    pub action_dim: usize,
    /// Heads' `min_scale`.
    pub min_scale: f64,
}

impl HierarchicalConfig {
    fn level(&self, output_dim: usize, extra_input_dim: usize) -> GaussianPolicyConfig {
        GaussianPolicyConfig {
            hidden: self.hidden.clone(),
            output_dim,
            extra_input_dim,
            min_scale: self.min_scale,
        }
    }
}

/// A two-level policy: `pi^H(z | x)` over a latent, then `pi^L(a | z, x_L)` where the low level
/// may see only a selection `x_L` of the observation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound = "F: Float")]
pub struct HierarchicalPolicy<F> {
    /// `pi^H(z | x)`.
    pub high: GaussianPolicy<F>,
    /// `pi^L(a | z, x_L)` (its extra input is `z`).
    pub low: GaussianPolicy<F>,
}

/// The prior's low level: the policy's own (shared parameters: its KL term is exactly zero), or
/// a separate network `pi0^L(a | z, x^D_L)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound = "F: Float")]
pub enum LowLevelPrior<F> {
    /// Shared with the policy.
    Shared,
    /// A separate low level.
    Separate(Box<GaussianPolicy<F>>),
}

/// A two-level prior: `pi0^H(z | x^D)` and a shared or separate low level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound = "F: Float")]
pub struct HierarchicalPrior<F> {
    /// `pi0^H(z | x^D)`.
    pub high: GaussianPolicy<F>,
    /// The low level.
    pub low: LowLevelPrior<F>,
}

/// Reparameterized draws through both levels: `z = mu^H + sigma^H eta`,
/// `a = mu^L(z) + sigma^L(z) eps`, with everything backward needs.
///
/// A sample holds `S >= 1` chains per observation ([`HierarchicalSample::samples`]; `S = 1`
/// from [`HierarchicalPolicy::sample_with_noise`], any `S` from
/// [`HierarchicalPolicy::sample_with_noise_shared`]). The high level depends on the observation
/// only, so it is evaluated once per observation (`[B, .]`, `B` observations) and shared by the
/// observation's `S` chains; the chains (`z`, `a`, the noise, the low level) are `[S B, .]`,
/// sample-major (chain `s B + b` belongs to observation `b`).
#[derive(Debug, Clone)]
pub struct HierarchicalSample<F: Float> {
    /// `z`, `[S B, Z]`.
    pub latent: Array2<F>,
    /// `eta`, `[S B, Z]`.
    pub latent_noise: Array2<F>,
    /// `a`, `[S B, A]`.
    pub action: Array2<F>,
    /// `eps`, `[S B, A]`.
    pub action_noise: Array2<F>,
    /// The high level's forward pass (`pi^H(.|x)`), once per observation: `[B, Z]`.
    pub high: PolicyForward<F>,
    /// The low level's forward pass at `z` (`pi^L(.|z, x_L)`), `[S B, A]`.
    pub low: PolicyForward<F>,
}

impl<F: Float> HierarchicalSample<F> {
    /// `S`, the chains per observation.
    pub fn samples(&self) -> usize {
        self.latent.nrows() / self.high.dist.batch_size().max(1)
    }

    /// `pi^H(.|x)` with one row per chain (`[S B, Z]`: the high level's rows repeated `S`
    /// times), for per-chain quantities such as `log pi^H(z|x)`.
    ///
    /// # Errors
    /// None in practice (the rows are a valid Gaussian's); typed for the distribution's API.
    pub fn high_per_chain(&self) -> Result<DiagGaussian<F>> {
        let s = self.samples();
        let d = &self.high.dist;
        Ok(DiagGaussian::new(
            repeat_rows(d.mean(), s).into_owned(),
            repeat_rows(d.std(), s).into_owned(),
        )?)
    }

    /// `log pi^H(z|x)` per chain, `[S B]`.
    ///
    /// # Errors
    /// As [`HierarchicalSample::high_per_chain`].
    pub fn latent_log_prob(&self) -> Result<Array1<F>> {
        if self.samples() == 1 {
            return Ok(self.high.dist.log_prob(self.latent.view())?);
        }
        Ok(self.high_per_chain()?.log_prob(self.latent.view())?)
    }
}

/// `[rows, k]` stacked `times` times along rows (sample-major copies), borrowed for one copy.
pub(crate) fn repeat_rows<'a, F: Float>(
    a: ArrayView2<'a, F>,
    times: usize,
) -> CowArray<'a, F, Ix2> {
    if times == 1 {
        return a.into();
    }
    let views: Vec<_> = (0..times).map(|_| a).collect();
    ndarray::concatenate(Axis(0), &views)
        .unwrap_or_else(|_| unreachable!("same widths"))
        .into()
}

/// The sum over the `S` sample-major copies of each of `n` rows: `[S n, k] -> [n, k]`, added
/// in sample order.
fn sum_samples<F: Float>(a: ArrayView2<'_, F>, n: usize) -> Array2<F> {
    let mut out = a.slice(s![..n, ..]).to_owned();
    for k in 1..a.nrows() / n.max(1) {
        out += &a.slice(s![k * n..(k + 1) * n, ..]);
    }
    out
}

/// The per-observation weights of per-chain weights `w`, `[S n] -> [n]`: the high level's
/// terms are shared by the chains of an observation, so their weights add.
fn sum_sample_weights<F: Float>(w: ArrayView1<'_, F>, n: usize) -> Array1<F> {
    sum_samples(w.insert_axis(Axis(1)), n).column(0).to_owned()
}

/// Gradients of a loss with respect to the chain's outputs (zeros where a term does not
/// apply): the high level's `[B, Z]`, one row per observation, the others `[S B, ...]`, one
/// row per chain (see [`HierarchicalSample`]). [`HierarchicalPolicy::backward`] pushes them to
/// both levels.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainGrad<F> {
    /// `dL/da` (for SVG(0): `-dQ/da`).
    pub d_action: Array2<F>,
    /// `dL/dz` from outside the chain (for example from `Q(x, a, z)`'s latent input; zero when
    /// that gradient is stopped).
    pub d_latent: Array2<F>,
    /// `dL/d mu^H`, `dL/d sigma^H` (KL and entropy terms on the high level).
    pub d_high_mean: Array2<F>,
    /// See `d_high_mean`.
    pub d_high_std: Array2<F>,
    /// `dL/d mu^L`, `dL/d sigma^L` (terms on the low level).
    pub d_low_mean: Array2<F>,
    /// See `d_low_mean`.
    pub d_low_std: Array2<F>,
}

impl<F: Float> ChainGrad<F> {
    /// All zeros for a batch of `b` with latent `z` and action `a` dimensions (one chain per
    /// observation).
    pub fn zeros(b: usize, z: usize, a: usize) -> Self {
        Self::zeros_shared(b, 1, z, a)
    }

    /// All zeros for `b` observations with `samples` chains each: the high level's gradients
    /// `[b, z]`, the chains' `[samples b, .]`.
    pub fn zeros_shared(b: usize, samples: usize, z: usize, a: usize) -> Self {
        let chains = b * samples;
        Self {
            d_action: Array2::zeros((chains, a)),
            d_latent: Array2::zeros((chains, z)),
            d_high_mean: Array2::zeros((b, z)),
            d_high_std: Array2::zeros((b, z)),
            d_low_mean: Array2::zeros((chains, a)),
            d_low_std: Array2::zeros((chains, a)),
        }
    }

    /// Adds another gradient of the same shapes.
    pub fn add(&mut self, other: &Self) {
        self.d_action += &other.d_action;
        self.d_latent += &other.d_latent;
        self.d_high_mean += &other.d_high_mean;
        self.d_high_std += &other.d_high_std;
        self.d_low_mean += &other.d_low_mean;
        self.d_low_std += &other.d_low_std;
    }
}

impl<F: Float> HierarchicalPolicy<F> {
    /// A freshly initialized policy: the high level reads `high_selection`, the low level
    /// `low_selection` plus `z`.
    ///
    /// # Errors
    /// [`PolicyError::Config`] for empty sizes.
    pub fn new<R: Rng + ?Sized>(
        high_selection: Selection,
        low_selection: Selection,
        config: &HierarchicalConfig,
        rng: &mut R,
    ) -> Result<Self> {
        Ok(Self {
            high: GaussianPolicy::new(high_selection, &config.level(config.latent_dim, 0), rng)?,
            low: GaussianPolicy::new(
                low_selection,
                &config.level(config.action_dim, config.latent_dim),
                rng,
            )?,
        })
    }

    /// Latent dimension.
    pub fn latent_dim(&self) -> usize {
        self.high.output_dim()
    }

    /// Action dimension.
    pub fn action_dim(&self) -> usize {
        self.low.output_dim()
    }

    /// The chain `a = f^L(x, f^H(x, eta), eps)` for given noise, one per observation; large
    /// batches take their tiles from `tiles` (see [`GaussianPolicy::forward_with`]).
    ///
    /// # Errors
    /// Bad shapes or non-finite inputs.
    pub fn sample_with_noise(
        &self,
        tiles: &TileCache<F>,
        obs: ArrayView2<'_, F>,
        latent_noise: ArrayView2<'_, F>,
        action_noise: ArrayView2<'_, F>,
    ) -> Result<HierarchicalSample<F>> {
        let n = obs.nrows();
        check_shape(
            "latent_noise",
            &[n, self.latent_dim()],
            latent_noise.shape(),
        )?;
        self.sample_with_noise_shared(tiles, obs, latent_noise, action_noise)
    }

    /// `S` chains per observation for given sample-major noise (`[S B, .]`, `S` the noise's
    /// rows over the observations'), with the high level evaluated **once** per observation
    /// and shared by its chains (see [`HierarchicalSample`]): the same chains as
    /// [`HierarchicalPolicy::sample_with_noise`] on `S` stacked copies of `obs`, for a
    /// fraction of the high level's cost.
    ///
    /// # Errors
    /// Noise whose rows are not a multiple of the observations', bad widths, non-finite
    /// inputs.
    pub fn sample_with_noise_shared(
        &self,
        tiles: &TileCache<F>,
        obs: ArrayView2<'_, F>,
        latent_noise: ArrayView2<'_, F>,
        action_noise: ArrayView2<'_, F>,
    ) -> Result<HierarchicalSample<F>> {
        self.sample_with_high(tiles, obs, None, latent_noise, action_noise)
    }

    /// [`HierarchicalPolicy::sample_with_noise_shared`] with the high level's pass on `obs`
    /// given, when the caller has it (e.g. from [`PolicyForward::head_rows`]); `None`
    /// computes it.
    ///
    /// # Errors
    /// As [`HierarchicalPolicy::sample_with_noise_shared`]; a given high level whose rows are
    /// not the observations'.
    pub fn sample_with_high(
        &self,
        tiles: &TileCache<F>,
        obs: ArrayView2<'_, F>,
        high: Option<PolicyForward<F>>,
        latent_noise: ArrayView2<'_, F>,
        action_noise: ArrayView2<'_, F>,
    ) -> Result<HierarchicalSample<F>> {
        let (high, latent) = self.high_and_latent(tiles, obs, high, latent_noise)?;
        check_shape(
            "action_noise",
            &[latent.nrows(), self.action_dim()],
            action_noise.shape(),
        )?;
        // The low level's observation part once per observation, continued per chain.
        let low = self.low.forward_chains_with(tiles, obs, latent.view())?;
        let action = low.dist.sample_from_noise(action_noise)?;
        Ok(HierarchicalSample {
            latent,
            latent_noise: latent_noise.to_owned(),
            action,
            action_noise: action_noise.to_owned(),
            high,
            low,
        })
    }

    /// The chains' first half: `pi^H(.|x)` once per observation (or the given pass of it)
    /// and the latents `z = mu^H + sigma^H eta` for sample-major noise `eta: [S B, Z]` (as
    /// [`HierarchicalPolicy::sample_with_noise_shared`], which continues with the low level).
    ///
    /// # Errors
    /// As [`HierarchicalPolicy::sample_with_high`].
    pub fn high_and_latent(
        &self,
        tiles: &TileCache<F>,
        obs: ArrayView2<'_, F>,
        high: Option<PolicyForward<F>>,
        latent_noise: ArrayView2<'_, F>,
    ) -> Result<(PolicyForward<F>, Array2<F>)> {
        let n = obs.nrows();
        let chains = latent_noise.nrows();
        let samples = if n > 0 && chains.is_multiple_of(n) {
            chains / n
        } else {
            0
        };
        if samples == 0 {
            return Err(PolicyError::Shape {
                what: "latent_noise (rows: a positive multiple of the observations)",
                expected: vec![n, self.latent_dim()],
                actual: latent_noise.shape().to_vec(),
            });
        }
        check_shape(
            "latent_noise",
            &[chains, self.latent_dim()],
            latent_noise.shape(),
        )?;
        let high = match high {
            Some(h) => {
                check_shape("high level", &[n, self.latent_dim()], h.dist.mean().shape())?;
                h
            }
            None => self.high.forward_with(tiles, obs, None)?,
        };
        let latent = if samples == 1 {
            high.dist.sample_from_noise(latent_noise)?
        } else {
            let d = &high.dist;
            let (mean, std) = (
                repeat_rows(d.mean(), samples),
                repeat_rows(d.std(), samples),
            );
            &mean + &(&std * &latent_noise)
        };
        Ok((high, latent))
    }

    /// The chain with fresh standard-normal noise.
    ///
    /// # Errors
    /// As [`HierarchicalPolicy::sample_with_noise`].
    pub fn rsample<R: Rng + ?Sized>(
        &self,
        tiles: &TileCache<F>,
        obs: ArrayView2<'_, F>,
        rng: &mut R,
    ) -> Result<HierarchicalSample<F>> {
        let n = obs.nrows();
        let eta = Array2::from_shape_simple_fn((n, self.latent_dim()), || F::standard_normal(rng));
        let eps = Array2::from_shape_simple_fn((n, self.action_dim()), || F::standard_normal(rng));
        self.sample_with_noise(tiles, obs, eta.view(), eps.view())
    }

    /// Pushes output gradients through both levels into `grad` (large batches take their
    /// tiles from `tiles`). With `S` chains per observation the high level's gradients are
    /// the sums over the observation's chains.
    ///
    /// # Formula
    /// `dL/dmu^L += dL/da`, `dL/dsigma^L += dL/da * eps`; `dL/dz = (dL/d input^L)_z + d_latent`;
    /// `dL/dmu^H += sum_s dL/dz_s`, `dL/dsigma^H += sum_s dL/dz_s * eta_s`.
    pub fn backward(
        &self,
        tiles: &TileCache<F>,
        sample: &HierarchicalSample<F>,
        g: &ChainGrad<F>,
        grad: &mut Self,
    ) {
        let d_low_mean = &g.d_low_mean + &g.d_action;
        let d_low_std = &g.d_low_std + &(&g.d_action * &sample.action_noise);
        let d_z_low = self.low.backward_extra_with(
            tiles,
            &sample.low,
            d_low_mean.view(),
            d_low_std.view(),
            &mut grad.low,
        );
        self.backward_high(tiles, sample, d_z_low, g, grad);
    }

    /// The high level's half of [`HierarchicalPolicy::backward`], from the low level's input
    /// gradient on the latents `d_z_low` (`[S B, Z]`, e.g. from a fused low-level pass,
    /// [`GaussianPolicy::chains_fused_with`]): `dL/dz = d_z_low + d_latent`, then as
    /// `backward`. Only `g`'s high-level and latent fields are read.
    pub fn backward_high(
        &self,
        tiles: &TileCache<F>,
        sample: &HierarchicalSample<F>,
        d_z_low: Array2<F>,
        g: &ChainGrad<F>,
        grad: &mut Self,
    ) {
        let d_z = d_z_low + &g.d_latent;
        let n = sample.high.dist.batch_size();
        let d_z_eta = &d_z * &sample.latent_noise;
        let (d_z, d_z_eta) = if sample.samples() == 1 {
            (d_z, d_z_eta)
        } else {
            (sum_samples(d_z.view(), n), sum_samples(d_z_eta.view(), n))
        };
        let d_high_mean = &g.d_high_mean + &d_z;
        let d_high_std = &g.d_high_std + &d_z_eta;
        self.high.backward_with(
            tiles,
            &sample.high,
            d_high_mean.view(),
            d_high_std.view(),
            &mut grad.high,
        );
    }
}

impl<F: Float> HierarchicalPrior<F> {
    /// A freshly initialized prior: the high level reads `high_selection` (the task-agnostic
    /// groups); a separate low level reads `low_selection` plus `z`.
    ///
    /// # Errors
    /// [`PolicyError::Config`] for empty sizes.
    pub fn new<R: Rng + ?Sized>(
        high_selection: Selection,
        low: Option<Selection>,
        config: &HierarchicalConfig,
        rng: &mut R,
    ) -> Result<Self> {
        Ok(Self {
            high: GaussianPolicy::new(high_selection, &config.level(config.latent_dim, 0), rng)?,
            low: match low {
                None => LowLevelPrior::Shared,
                Some(sel) => LowLevelPrior::Separate(Box::new(GaussianPolicy::new(
                    sel,
                    &config.level(config.action_dim, config.latent_dim),
                    rng,
                )?)),
            },
        })
    }

    /// The prior at given latents: `pi0^H(.|x^D)` once per observation and, if separate,
    /// `pi0^L(.|z, x^D_L)` once per latent (large batches take their tiles from `tiles`).
    /// `latent` may hold `S` sample-major latents per observation (`[S B, Z]`, as a
    /// [`HierarchicalSample`]'s).
    ///
    /// # Errors
    /// Bad shapes or non-finite inputs.
    pub fn forward(
        &self,
        tiles: &TileCache<F>,
        obs: ArrayView2<'_, F>,
        latent: ArrayView2<'_, F>,
    ) -> Result<PriorForward<F>> {
        self.forward_with_high(tiles, obs, None, latent)
    }

    /// [`HierarchicalPrior::forward`] with the high level's pass on `obs` given, when the
    /// caller has it (e.g. from [`PolicyForward::head_rows`]); `None` computes it.
    ///
    /// # Errors
    /// As [`HierarchicalPrior::forward`]; a given high level whose rows are not the
    /// observations'.
    pub fn forward_with_high(
        &self,
        tiles: &TileCache<F>,
        obs: ArrayView2<'_, F>,
        high: Option<PolicyForward<F>>,
        latent: ArrayView2<'_, F>,
    ) -> Result<PriorForward<F>> {
        let high = match high {
            Some(h) => {
                check_shape(
                    "prior high level",
                    &[obs.nrows(), self.high.output_dim()],
                    h.dist.mean().shape(),
                )?;
                h
            }
            None => self.high.forward_with(tiles, obs, None)?,
        };
        Ok(PriorForward {
            high,
            low: match &self.low {
                LowLevelPrior::Shared => None,
                LowLevelPrior::Separate(p) => Some(p.forward_chains_with(tiles, obs, latent)?),
            },
        })
    }
}

/// The prior evaluated at a sampled latent.
#[derive(Debug, Clone)]
pub struct PriorForward<F: Float> {
    /// `pi0^H(.|x^D)`.
    pub high: PolicyForward<F>,
    /// `pi0^L(.|z, x^D_L)`, or `None` for a shared low level.
    pub low: Option<PolicyForward<F>>,
}

/// The two terms of Eq. 11 at the sampled latents.
#[derive(Debug, Clone, PartialEq)]
pub struct LatentKl<F> {
    /// `KL_H = KL(pi^H(.|x) || pi0^H(.|x^D))`, once per observation, `[B]`.
    pub high: Array1<F>,
    /// `KL_L = KL(pi^L(.|z,x) || pi0^L(.|z,x^D))` at each sampled `z`, once per chain,
    /// `[S B]`; exactly 0 for a shared low level.
    pub low: Array1<F>,
}

impl<F: Float> LatentKl<F> {
    /// `KL_H + KL_L` per chain, `[S B]` (each observation's `KL_H` counted for each of its
    /// chains): a one-sample estimate of the upper bound of Eq. 11 on
    /// `KL(pi(a|x) || pi0(a|x))`.
    pub fn total(&self) -> Array1<F> {
        let samples = self.low.len() / self.high.len().max(1);
        let high = repeat_rows(self.high.view().insert_axis(Axis(1)), samples.max(1));
        &high.column(0) + &self.low
    }
}

/// The per-step KL bound of Eq. 11 at the sampled latent.
///
/// # Formula (Eq. 11)
/// `KL(pi(.|x) || pi0(.|x)) <= KL(pi^H(.|x) || pi0^H(.|x)) + E_{z~pi^H} KL(pi^L(.|z,x) || pi0^L(.|z,x))`,
/// the expectation estimated with the chain's `z`.
///
/// # Errors
/// Batch-size mismatch between sample and prior.
#[doc(alias = "Eq. 11")]
pub fn latent_kl<F: Float>(
    sample: &HierarchicalSample<F>,
    prior: &PriorForward<F>,
) -> Result<LatentKl<F>> {
    let high = sample.high.dist.kl(&prior.high.dist)?;
    let low = match &prior.low {
        None => Array1::zeros(sample.latent.nrows()),
        Some(p) => sample.low.dist.kl(&p.dist)?,
    };
    Ok(LatentKl { high, low })
}

fn scale_rows<F: Float>(a: &Array2<F>, w: ArrayView1<'_, F>) -> Array2<F> {
    a * &w.insert_axis(Axis(1))
}

/// Output gradients of `sum_b w_b (KL_H + KL_L)_b` (`b` over the chains, `w` per chain, `[S B]`)
/// on the *policy* side (the prior is held
/// fixed, as the target prior in the policy loss), for [`HierarchicalPolicy::backward`].
///
/// The low-level term depends on `z` through both `pi^L` and a separate `pi0^L`; the prior's
/// input gradient with respect to `z` is included (its parameter gradients are discarded).
///
/// # Errors
/// Shape mismatches.
pub fn latent_kl_policy_grad<F: Float>(
    tiles: &TileCache<F>,
    prior: &HierarchicalPrior<F>,
    sample: &HierarchicalSample<F>,
    prior_fwd: &PriorForward<F>,
    weights: ArrayView1<'_, F>,
) -> Result<ChainGrad<F>> {
    let (chains, zd, ad) = (
        sample.latent.nrows(),
        sample.latent.ncols(),
        sample.action.ncols(),
    );
    check_shape("weights", &[chains], weights.shape())?;
    let n = sample.high.dist.batch_size();
    let mut g = ChainGrad::zeros_shared(n, sample.samples(), zd, ad);
    let kh = sample.high.dist.kl_grad(&prior_fwd.high.dist)?;
    let w_high = sum_sample_weights(weights, n);
    g.d_high_mean = scale_rows(&kh.d_mean_p, w_high.view());
    g.d_high_std = scale_rows(&kh.d_std_p, w_high.view());
    if let (LowLevelPrior::Separate(p), Some(pf)) = (&prior.low, &prior_fwd.low) {
        let kl = sample.low.dist.kl_grad(&pf.dist)?;
        g.d_low_mean = scale_rows(&kl.d_mean_p, weights);
        g.d_low_std = scale_rows(&kl.d_std_p, weights);
        let mut scratch = p.zeros_like();
        let (dm, ds) = (
            scale_rows(&kl.d_mean_q, weights),
            scale_rows(&kl.d_std_q, weights),
        );
        g.d_latent = p.backward_extra_with(tiles, pf, dm.view(), ds.view(), &mut scratch);
    }
    Ok(g)
}

/// Accumulates into `grad` the gradient of `sum_b w_b (KL_H + KL_L)_b` with respect to the
/// *prior's* parameters (the policy and its latent are held fixed: distillation
/// `KL(sg(pi) || pi0)`). A shared low level receives nothing (its KL is zero).
///
/// # Errors
/// Shape mismatches.
pub fn latent_kl_prior_backward<F: Float>(
    tiles: &TileCache<F>,
    prior: &HierarchicalPrior<F>,
    sample: &HierarchicalSample<F>,
    prior_fwd: &PriorForward<F>,
    weights: ArrayView1<'_, F>,
    grad: &mut HierarchicalPrior<F>,
) -> Result<()> {
    check_shape("weights", &[sample.latent.nrows()], weights.shape())?;
    let kh = sample.high.dist.kl_grad(&prior_fwd.high.dist)?;
    let w_high = sum_sample_weights(weights, sample.high.dist.batch_size());
    let (dm, ds) = (
        scale_rows(&kh.d_mean_q, w_high.view()),
        scale_rows(&kh.d_std_q, w_high.view()),
    );
    prior
        .high
        .backward_with(tiles, &prior_fwd.high, dm.view(), ds.view(), &mut grad.high);
    match (&prior.low, &prior_fwd.low, &mut grad.low) {
        (LowLevelPrior::Separate(p), Some(pf), LowLevelPrior::Separate(g)) => {
            let kl = sample.low.dist.kl_grad(&pf.dist)?;
            let (dm, ds) = (
                scale_rows(&kl.d_mean_q, weights),
                scale_rows(&kl.d_std_q, weights),
            );
            p.backward_extra_with(tiles, pf, dm.view(), ds.view(), g);
            Ok(())
        }
        (LowLevelPrior::Shared, None, LowLevelPrior::Shared) => Ok(()),
        _ => Err(PolicyError::Config {
            field: "low",
            value: 0.0,
            requirement: "prior, its forward pass and its gradient must agree on shared vs separate",
        }),
    }
}

impl<F: Float> Parameters<F> for HierarchicalPolicy<F> {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, ArrayViewD<'_, F>)) {
        self.high.visit(&join(prefix, "high"), f);
        self.low.visit(&join(prefix, "low"), f);
    }
    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, ArrayViewMutD<'_, F>)) {
        self.high.visit_mut(&join(prefix, "high"), f);
        self.low.visit_mut(&join(prefix, "low"), f);
    }
}

impl<F: Float> Parameters<F> for HierarchicalPrior<F> {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, ArrayViewD<'_, F>)) {
        self.high.visit(&join(prefix, "high"), f);
        if let LowLevelPrior::Separate(p) = &self.low {
            p.visit(&join(prefix, "low"), f);
        }
    }
    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, ArrayViewMutD<'_, F>)) {
        self.high.visit_mut(&join(prefix, "high"), f);
        if let LowLevelPrior::Separate(p) = &mut self.low {
            p.visit_mut(&join(prefix, "low"), f);
        }
    }
}
