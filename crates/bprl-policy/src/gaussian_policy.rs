//! The flat Gaussian policy `pi(a|x)` and prior `pi0(a|x^D)`: one type, two selections.

use crate::Float;
use crate::batch_input::BatchInput;
use crate::error::{PolicyError, Result, check_finite, check_shape};
use crate::head::{GaussianHead, HeadCache};
use crate::obs::Selection;
use bprl_distributions::DiagGaussian;
use bprl_nn::{Mlp, MlpCache, Parameters, TileCache, join};
use ndarray::{Array2, ArrayView2, ArrayViewD, ArrayViewMutD, Axis, concatenate, s};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Sizes and settings of a Gaussian policy network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GaussianPolicyConfig {
    /// Torso layer sizes of the LayerNormMLP (Acme: `[200, 100]`).
    pub hidden: Vec<usize>,
    /// Output dimension (the action, or the latent for a high level).
    pub output_dim: usize,
    /// Extra inputs concatenated after the selected observation (a low level's latent `z`).
    pub extra_input_dim: usize,
    /// The head's `min_scale` (Acme: 0.1).
    pub min_scale: f64,
}

/// A diagonal-Gaussian policy over a selection of observation groups (plus optional extra
/// inputs): LayerNormMLP torso, then [`GaussianHead`].
///
/// The same type serves as the flat policy `pi(a|x)` (selection: everything), the flat prior
/// `pi0(a|x^D)` (selection: the task-agnostic groups), and each level of a hierarchical policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound = "F: Float")]
pub struct GaussianPolicy<F> {
    /// Which observation groups the network reads.
    pub selection: Selection,
    /// Extra input width after the selection.
    pub extra_input_dim: usize,
    /// The LayerNormMLP torso (`activate_final = true`).
    pub torso: Mlp<F>,
    /// The Gaussian head.
    pub head: GaussianHead<F>,
}

/// A forward pass: the distribution and what backward needs.
#[derive(Debug, Clone)]
pub struct PolicyForward<F: Float> {
    /// The output distribution, one row per batch element.
    pub dist: DiagGaussian<F>,
    cache: ForwardCache<F>,
}

/// What backward needs: every layer's activations (small batches), or just the input, the
/// forward pass to be recomputed tile by tile (batches of [`BATCHED_ROWS`] rows or more), and
/// the tiles the forward pass used.
#[derive(Debug, Clone)]
enum ForwardCache<F: Float> {
    Plain {
        torso: Box<MlpCache<F>>,
        head: Box<HeadCache<F>>,
    },
    Recompute {
        input: Array2<F>,
        /// The forward pass's own tiles (when none were lent), for the backward pass.
        tiles: Option<TileCache<F>>,
    },
    /// `S` chains per observation ([`GaussianPolicy::forward_chains_with`]): the selected
    /// observations, their first-layer products, and the chains' extra inputs.
    Chains {
        x: Array2<F>,
        prefix: Array2<F>,
        extra: Array2<F>,
    },
}

impl<F: Float> PolicyForward<F> {
    /// A chain forward pass's value (see [`GaussianPolicy::forward_chains_with`]).
    pub(crate) fn of_chains(
        dist: DiagGaussian<F>,
        x: Array2<F>,
        prefix: Array2<F>,
        extra: Array2<F>,
    ) -> Self {
        Self {
            dist,
            cache: ForwardCache::Chains { x, prefix, extra },
        }
    }

    /// The forward pass of the first `n` rows, taken from this one: the same values, bit for
    /// bit, as the forward pass on those rows alone, and usable by the same backward passes.
    ///
    /// A batched pass ([`BATCHED_ROWS`] rows or more) cuts its rows into tiles from the first
    /// row on, and each row's values depend on that row alone (the products' entries are
    /// sums over the row's own inputs, in an order that does not depend on the tile); a pass
    /// on the first `n` rows, when it is batched too, has the same tiles up to the last one.
    /// So the rows can be shared exactly when both passes are batched: `Some` for a batched
    /// pass on rows (not chains) and `BATCHED_ROWS <= n <= rows`, `None` otherwise (then
    /// compute the pass on the rows).
    ///
    /// The learner uses it where a network sees a sequence batch's `T B` transitions after
    /// seeing their `(T + 1) B` observations.
    pub fn head_rows(&self, n: usize) -> Option<Self> {
        let ForwardCache::Recompute { input, .. } = &self.cache else {
            return None;
        };
        if n < BATCHED_ROWS || n > input.nrows() {
            return None;
        }
        let rows = s![..n, ..];
        let dist = DiagGaussian::new(
            self.dist.mean().slice(rows).to_owned(),
            self.dist.std().slice(rows).to_owned(),
        )
        .ok()?;
        Some(Self {
            dist,
            cache: ForwardCache::Recompute {
                input: input.slice(rows).to_owned(),
                tiles: None,
            },
        })
    }
}

/// Batches with at least this many rows take the tiled, threaded passes
/// ([`GaussianPolicy::dist_batched`]); smaller ones (acting) the plain passes.
pub const BATCHED_ROWS: usize = 1024;

impl<F: Float> GaussianPolicy<F> {
    /// A freshly initialized network.
    ///
    /// # Errors
    /// [`PolicyError::Config`] for no hidden layer or a zero output dimension.
    pub fn new<R: Rng + ?Sized>(
        selection: Selection,
        config: &GaussianPolicyConfig,
        rng: &mut R,
    ) -> Result<Self> {
        if config.hidden.is_empty() || config.output_dim == 0 {
            return Err(PolicyError::Config {
                field: "hidden/output_dim",
                value: config.output_dim as f64,
                requirement: "need at least one hidden layer and output_dim >= 1",
            });
        }
        let input = selection.width() + config.extra_input_dim;
        let torso = Mlp::layer_norm_mlp(input, &config.hidden, true, rng);
        let last = *config.hidden.last().unwrap_or(&1);
        Ok(Self {
            selection,
            extra_input_dim: config.extra_input_dim,
            torso,
            head: GaussianHead::new(last, config.output_dim, config.min_scale, rng),
        })
    }

    /// This network with its head's bounds set: the mean `mean_scale * tanh(.)` and the std at
    /// most `max_scale` (see [`GaussianHead`]; Acme's head is `1` and `None`).
    pub fn with_head_bounds(mut self, mean_scale: f64, max_scale: Option<f64>) -> Self {
        self.head.mean_scale = <F as bprl_nn::Scalar>::c(mean_scale);
        self.head.max_scale = max_scale.map(<F as bprl_nn::Scalar>::c);
        self
    }

    /// The output dimension.
    pub fn output_dim(&self) -> usize {
        self.head.action_dim()
    }

    /// The network input `[x_selected, extra]`, `[B, selection + extra]`.
    ///
    /// # Errors
    /// Shape mismatch or non-finite values.
    pub fn input(
        &self,
        obs: ArrayView2<'_, F>,
        extra: Option<ArrayView2<'_, F>>,
    ) -> Result<Array2<F>> {
        check_finite("obs", obs)?;
        let x = self.selection.gather(obs)?;
        match (extra, self.extra_input_dim) {
            (None, 0) => Ok(x),
            (Some(e), w) if w > 0 => {
                check_shape("extra", &[obs.nrows(), w], e.shape())?;
                check_finite("extra", e)?;
                Ok(concatenate(Axis(1), &[x.view(), e])
                    .unwrap_or_else(|_| unreachable!("rows checked")))
            }
            (e, w) => Err(PolicyError::Shape {
                what: "extra",
                expected: vec![obs.nrows(), w],
                actual: e.map_or(vec![0, 0], |e| e.shape().to_vec()),
            }),
        }
    }

    /// Forward pass from an observation (and the extra input, if the network has one).
    ///
    /// # Errors
    /// Bad shapes or non-finite inputs; [`PolicyError::Distribution`] if the network's output
    /// is not a valid Gaussian (non-finite weights).
    pub fn forward(
        &self,
        obs: ArrayView2<'_, F>,
        extra: Option<ArrayView2<'_, F>>,
    ) -> Result<PolicyForward<F>> {
        let input = self.input(obs, extra)?;
        self.forward_input(input.view())
    }

    /// [`GaussianPolicy::forward`] with the tiles of a large batch taken from `tiles` (pass the
    /// same cache to [`GaussianPolicy::backward_with`]): the same values, without allocating
    /// tiles per call.
    ///
    /// # Errors
    /// As [`GaussianPolicy::forward`].
    pub fn forward_with(
        &self,
        tiles: &TileCache<F>,
        obs: ArrayView2<'_, F>,
        extra: Option<ArrayView2<'_, F>>,
    ) -> Result<PolicyForward<F>> {
        let input = self.input(obs, extra)?;
        self.forward_input_in(Some(tiles), input.view())
    }

    /// Forward pass on `S` chains per observation: chain `s n + j` (sample-major, as
    /// [`crate::HierarchicalSample`]) reads the observation `obs[j]` and its own extra input
    /// `extra[s n + j]` (a low level's latent), for `obs: [n, .]` and `extra: [S n, extra]`.
    ///
    /// The same values as [`GaussianPolicy::forward_with`] on `S` stacked copies of `obs`;
    /// from [`BATCHED_ROWS`] chains on, the first layer's product of the observation part is
    /// computed once per observation and continued with each chain's extra input, which on
    /// the `f32` SIMD paths gives exactly the stacked copies' bits
    /// ([`bprl_nn::gemm::continues_chain`]) without assembling them. Pass the result to
    /// [`GaussianPolicy::backward_extra_with`].
    ///
    /// # Errors
    /// A network without extra inputs, `extra` of the wrong width or with rows that are not a
    /// positive multiple of the observations', non-finite inputs; as
    /// [`GaussianPolicy::forward`].
    pub fn forward_chains_with(
        &self,
        tiles: &TileCache<F>,
        obs: ArrayView2<'_, F>,
        extra: ArrayView2<'_, F>,
    ) -> Result<PolicyForward<F>> {
        let (x, prefix) = self.chains_prefix(obs, extra)?;
        let (n, chains) = (obs.nrows(), extra.nrows());
        if chains < BATCHED_ROWS {
            let copies: Vec<_> = (0..chains / n).map(|_| x.view()).collect();
            let input = concatenate(Axis(0), &copies)
                .and_then(|r| concatenate(Axis(1), &[r.view(), extra]))
                .unwrap_or_else(|_| unreachable!("widths and rows checked"));
            return self.forward_input_plain(input.view());
        }
        let dist = self.dist_of_input(
            tiles,
            BatchInput::Chains {
                x: x.view(),
                prefix: prefix.view(),
                extra,
            },
        )?;
        Ok(PolicyForward::of_chains(dist, x, prefix, extra.to_owned()))
    }

    /// The selected observations of chains and their first-layer products (see
    /// [`GaussianPolicy::forward_chains_with`]), after checking the shapes and values.
    pub(crate) fn chains_prefix(
        &self,
        obs: ArrayView2<'_, F>,
        extra: ArrayView2<'_, F>,
    ) -> Result<(Array2<F>, Array2<F>)> {
        let (n, chains) = (obs.nrows(), extra.nrows());
        if self.extra_input_dim == 0
            || extra.ncols() != self.extra_input_dim
            || n == 0
            || chains == 0
            || !chains.is_multiple_of(n)
        {
            return Err(PolicyError::Shape {
                what: "extra (chains: a positive multiple of the observations' rows, the network's extra width)",
                expected: vec![n.max(1), self.extra_input_dim],
                actual: extra.shape().to_vec(),
            });
        }
        check_finite("obs", obs)?;
        check_finite("extra", extra)?;
        let x = self.selection.gather(obs)?;
        // The plain passes (small batches) take the assembled rows, not the prefix.
        let prefix = if chains < BATCHED_ROWS {
            Array2::zeros((0, 0))
        } else {
            self.torso.prefix_product(x.view())?
        };
        Ok((x, prefix))
    }

    /// Forward pass from an already assembled input (see [`GaussianPolicy::input`]).
    ///
    /// From [`BATCHED_ROWS`] rows on, this takes the batched passes with tiles of its own,
    /// kept in the returned value for [`GaussianPolicy::backward`]; a caller that runs many
    /// large passes lends its own [`TileCache`] instead ([`GaussianPolicy::forward_with`],
    /// [`GaussianPolicy::dist_batched`]).
    ///
    /// # Errors
    /// As [`GaussianPolicy::forward`].
    pub fn forward_input(&self, input: ArrayView2<'_, F>) -> Result<PolicyForward<F>> {
        self.forward_input_in(None, input)
    }

    /// [`GaussianPolicy::forward_input`] with lent tiles (see [`GaussianPolicy::forward_with`]).
    ///
    /// # Errors
    /// As [`GaussianPolicy::forward`].
    pub fn forward_input_with(
        &self,
        tiles: &TileCache<F>,
        input: ArrayView2<'_, F>,
    ) -> Result<PolicyForward<F>> {
        self.forward_input_in(Some(tiles), input)
    }

    fn forward_input_in(
        &self,
        lent: Option<&TileCache<F>>,
        input: ArrayView2<'_, F>,
    ) -> Result<PolicyForward<F>> {
        if input.nrows() >= BATCHED_ROWS {
            self.torso.check_input(input)?;
            let own = lent.is_none().then(TileCache::new);
            let tiles = lent.or(own.as_ref()).unwrap_or_else(|| unreachable!());
            return Ok(PolicyForward {
                dist: self.dist_of_input(tiles, BatchInput::Rows(input))?,
                cache: ForwardCache::Recompute {
                    input: input.to_owned(),
                    tiles: own,
                },
            });
        }
        self.forward_input_plain(input)
    }

    /// The reference forward pass, keeping every layer's activations for the whole batch
    /// whatever its size ([`GaussianPolicy::forward_input`] switches to tiles from
    /// [`BATCHED_ROWS`] rows; both give the same values).
    ///
    /// # Errors
    /// As [`GaussianPolicy::forward`].
    pub fn forward_input_plain(&self, input: ArrayView2<'_, F>) -> Result<PolicyForward<F>> {
        self.torso.check_input(input)?;
        let torso = self.torso.forward(input);
        let (mean, std, head) = self.head.forward(torso.output().view());
        Ok(PolicyForward {
            dist: DiagGaussian::new(mean, std)?,
            cache: ForwardCache::Plain {
                torso: Box::new(torso),
                head: Box::new(head),
            },
        })
    }

    /// Backward pass from gradients on the output distribution's mean and std: accumulates
    /// parameter gradients into `grad` and returns `dL/d input` (`[B, selection + extra]`; the
    /// last `extra_input_dim` columns are the extra input's gradient).
    ///
    /// # Panics
    /// If `d_mean` or `d_std` is not `[B, A]` for the forward pass's batch (a programming
    /// error, as for any mismatched array arithmetic).
    pub fn backward(
        &self,
        fwd: &PolicyForward<F>,
        d_mean: ArrayView2<'_, F>,
        d_std: ArrayView2<'_, F>,
        grad: &mut Self,
    ) -> Array2<F> {
        self.backward_in(None, fwd, d_mean, d_std, grad)
    }

    /// [`GaussianPolicy::backward`] with the tiles of a large batch taken from `tiles` (see
    /// [`GaussianPolicy::forward_with`]).
    ///
    /// # Panics
    /// As [`GaussianPolicy::backward`].
    pub fn backward_with(
        &self,
        tiles: &TileCache<F>,
        fwd: &PolicyForward<F>,
        d_mean: ArrayView2<'_, F>,
        d_std: ArrayView2<'_, F>,
        grad: &mut Self,
    ) -> Array2<F> {
        self.backward_in(Some(tiles), fwd, d_mean, d_std, grad)
    }

    fn backward_in(
        &self,
        lent: Option<&TileCache<F>>,
        fwd: &PolicyForward<F>,
        d_mean: ArrayView2<'_, F>,
        d_std: ArrayView2<'_, F>,
        grad: &mut Self,
    ) -> Array2<F> {
        match &fwd.cache {
            ForwardCache::Plain { torso, head } => {
                let dh = self.head.backward(head, d_mean, d_std, &mut grad.head);
                self.torso.backward(torso, dh.view(), &mut grad.torso)
            }
            ForwardCache::Recompute { input, tiles: own } => {
                let fresh;
                let tiles = match (lent, own) {
                    (Some(t), _) | (None, Some(t)) => t,
                    (None, None) => {
                        fresh = TileCache::new();
                        &fresh
                    }
                };
                match self.backward_of_input(
                    tiles,
                    BatchInput::Rows(input.view()),
                    d_mean,
                    d_std,
                    grad,
                    true,
                ) {
                    Ok(Some(d_input)) => d_input,
                    Ok(None) => unreachable!("input gradient requested"),
                    Err(e) => panic!("policy backward: {e}"),
                }
            }
            ForwardCache::Chains { x, extra, .. } => {
                // The whole rows' gradient needs the whole rows: assembled here (the learner
                // asks for the extra part only, `backward_extra_with`).
                let copies: Vec<_> = (0..extra.nrows() / x.nrows()).map(|_| x.view()).collect();
                let rows = concatenate(Axis(0), &copies)
                    .and_then(|r| concatenate(Axis(1), &[r.view(), extra.view()]))
                    .unwrap_or_else(|_| unreachable!("widths and rows checked forward"));
                let fresh;
                let tiles = match lent {
                    Some(t) => t,
                    None => {
                        fresh = TileCache::new();
                        &fresh
                    }
                };
                match self.backward_of_input(
                    tiles,
                    BatchInput::Rows(rows.view()),
                    d_mean,
                    d_std,
                    grad,
                    true,
                ) {
                    Ok(Some(d_input)) => d_input,
                    Ok(None) => unreachable!("input gradient requested"),
                    Err(e) => panic!("policy backward: {e}"),
                }
            }
        }
    }

    /// [`GaussianPolicy::backward_with`] returning only the extra input's gradient,
    /// `[B, extra]` (a low level's `dL/dz`): for a forward pass of
    /// [`GaussianPolicy::forward_chains_with`] the observation part's input gradient is never
    /// formed. The same values as the last `extra` columns of [`GaussianPolicy::backward_with`].
    ///
    /// # Panics
    /// As [`GaussianPolicy::backward`].
    pub fn backward_extra_with(
        &self,
        tiles: &TileCache<F>,
        fwd: &PolicyForward<F>,
        d_mean: ArrayView2<'_, F>,
        d_std: ArrayView2<'_, F>,
        grad: &mut Self,
    ) -> Array2<F> {
        let ForwardCache::Chains { x, prefix, extra } = &fwd.cache else {
            let d_in = self.backward_in(Some(tiles), fwd, d_mean, d_std, grad);
            let from = d_in.ncols() - self.extra_input_dim;
            return d_in.slice_axis(Axis(1), (from..).into()).to_owned();
        };
        let input = BatchInput::Chains {
            x: x.view(),
            prefix: prefix.view(),
            extra: extra.view(),
        };
        match self.backward_of_input(tiles, input, d_mean, d_std, grad, true) {
            Ok(Some(d_extra)) => d_extra,
            Ok(None) => unreachable!("input gradient requested"),
            Err(e) => panic!("policy backward: {e}"),
        }
    }
}

impl<F: Float> Parameters<F> for GaussianPolicy<F> {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, ArrayViewD<'_, F>)) {
        self.torso.visit(&join(prefix, "torso"), f);
        self.head.visit(&join(prefix, "head"), f);
    }
    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, ArrayViewMutD<'_, F>)) {
        self.torso.visit_mut(&join(prefix, "torso"), f);
        self.head.visit_mut(&join(prefix, "head"), f);
    }
}
