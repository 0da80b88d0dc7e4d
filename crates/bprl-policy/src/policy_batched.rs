//! Batched passes of a [`GaussianPolicy`]: the same values and gradients as
//! [`GaussianPolicy::forward`] and [`GaussianPolicy::backward`], computed in cache-sized tiles
//! on all cores ([`bprl_nn::MlpTile`], [`bprl_nn::parallel`]), with the tiles lent by the
//! caller's [`TileCache`].
//!
//! The learner needs a policy's distribution long before it knows the gradient on it (the
//! gradient comes from critic passes over samples of that distribution). Instead of keeping
//! every layer's activations for the whole batch in between, [`GaussianPolicy::backward_batched`]
//! recomputes each tile's forward pass just before its backward pass: for these networks the
//! recomputation costs about a third of the backward pass and saves memory traffic that costs
//! more.
//!
//! A low level runs on `S` chains per observation, whose inputs `[x_n, z_{s,n}]` share the
//! observation part. [`BatchInput::Chains`] computes the first layer's product of that part
//! once per observation ([`bprl_nn::Mlp::prefix_product`]) and continues it with each chain's
//! latent ([`bprl_nn::TileInput::Prefixed`]): on the `f32` SIMD paths the same bits as the
//! stacked rows, for a fraction of the first layer's work and none of the copies.

use crate::Float;
use crate::batch_input::{BatchInput, ChainBufs};
use crate::error::{PolicyError, Result, check_shape};
use crate::gaussian_policy::{GaussianPolicy, PolicyForward};
use crate::head::HeadMaps;
use bprl_distributions::DiagGaussian;
use bprl_nn::gemm::gemm;
use bprl_nn::{MlpTile, Parameters, TileCache, TileInput, parallel};
use ndarray::{Array2, ArrayView2, ArrayViewMut2, s};
use std::ops::Range;

/// Rows per tile.
const TILE_ROWS: usize = 256;

/// Per-thread buffers of one tile of a policy pass.
struct PolicyTile<F> {
    torso: MlpTile<F>,
    /// `[cap, A]`: the mean head's output `mean_scale tanh(h W_m + b_m)`, then its
    /// pre-activation gradient.
    mean: Array2<F>,
    /// `[cap, A]`: the std head's pre-activation `h W_s + b_s`, then its gradient.
    pre_std: Array2<F>,
}

impl<F: Float> GaussianPolicy<F> {
    fn tile(&self, tiles: &TileCache<F>, slot: usize, cap: usize) -> PolicyTile<F> {
        let a = self.output_dim();
        PolicyTile {
            torso: tiles.take(slot, &self.torso, cap),
            mean: Array2::zeros((cap, a)),
            pre_std: Array2::zeros((cap, a)),
        }
    }

    /// Forward pass of one tile: fills the torso and the head's buffers.
    /// With `fast`, the head's functions are the large passes' ([`HeadMaps::mean_fast`]).
    fn tile_forward(&self, t: &mut PolicyTile<F>, x: &TileInput<'_, F>, fast: bool) -> Result<()> {
        let r = x.rows();
        self.torso.forward_tile(&mut t.torso, x)?;
        let h = t.torso.output();
        let mut mean = t.mean.slice_mut(s![..r, ..]);
        gemm(&h, &self.head.mean.weight.view(), &mut mean, false);
        let maps = self.head.maps();
        for mut row in mean.rows_mut() {
            if fast {
                row.zip_mut_with(&self.head.mean.bias, |m, &b| *m = maps.mean_fast(*m + b));
            } else {
                row.zip_mut_with(&self.head.mean.bias, |m, &b| *m = maps.mean(*m + b));
            }
        }
        let mut pre = t.pre_std.slice_mut(s![..r, ..]);
        gemm(&h, &self.head.std.weight.view(), &mut pre, false);
        for mut row in pre.rows_mut() {
            row += &self.head.std.bias;
        }
        Ok(())
    }

    /// The output distribution on a batch: the same as `forward(obs, extra)?.dist`, computed in
    /// tiles (from `tiles`) on all cores, keeping nothing for a backward pass.
    ///
    /// # Errors
    /// As [`GaussianPolicy::forward`].
    pub fn dist_batched(
        &self,
        tiles: &TileCache<F>,
        obs: ArrayView2<'_, F>,
        extra: Option<ArrayView2<'_, F>>,
    ) -> Result<DiagGaussian<F>> {
        let input = self.input(obs, extra)?;
        self.dist_of_input(tiles, BatchInput::Rows(input.view()))
    }

    /// [`GaussianPolicy::dist_batched`] from an assembled input (see
    /// [`GaussianPolicy::input`]).
    pub(crate) fn dist_of_input(
        &self,
        tiles: &TileCache<F>,
        input: BatchInput<'_, F>,
    ) -> Result<DiagGaussian<F>> {
        let n = input.rows();
        let a = self.output_dim();
        let maps = self.head.maps();
        let fast = input.fast_head();
        let n_tiles = n.div_ceil(TILE_ROWS);
        let parts = parallel::map_ranges_indexed(n_tiles, 1, |slot, range| -> Result<_> {
            let mut t = self.tile(tiles, slot, TILE_ROWS);
            let mut bufs = ChainBufs::new();
            let mut out = Vec::new();
            for i in range {
                let rows = i * TILE_ROWS..((i + 1) * TILE_ROWS).min(n);
                let r = rows.len();
                self.tile_forward(&mut t, &input.tile(rows.clone(), &mut bufs), fast)?;
                let mean = t.mean.slice(s![..r, ..]).to_owned();
                let std = head_std(&maps, t.pre_std.slice(s![..r, ..]), fast);
                out.push((rows.start, mean, std));
            }
            tiles.put(slot, t.torso);
            Ok(out)
        });
        let mut mean = Array2::zeros((n, a));
        let mut std = Array2::zeros((n, a));
        for part in parts {
            for (start, m, sd) in part? {
                let r = m.nrows();
                mean.slice_mut(s![start..start + r, ..]).assign(&m);
                std.slice_mut(s![start..start + r, ..]).assign(&sd);
            }
        }
        Ok(DiagGaussian::new(mean, std)?)
    }

    /// Backward pass from gradients on the distribution's mean and std (`[N, A]` each), with the
    /// forward pass recomputed tile by tile: accumulates parameter gradients into `grad` and, if
    /// `input_grad`, returns `dL/d input` (`[N, selection + extra]`). The same values as
    /// [`GaussianPolicy::forward`] followed by [`GaussianPolicy::backward`]. The tiles come
    /// from (and go back to) `tiles`.
    ///
    /// # Errors
    /// As [`GaussianPolicy::forward`], and gradients whose shape is not `[N, A]`.
    #[allow(clippy::too_many_arguments)]
    pub fn backward_batched(
        &self,
        tiles: &TileCache<F>,
        obs: ArrayView2<'_, F>,
        extra: Option<ArrayView2<'_, F>>,
        d_mean: ArrayView2<'_, F>,
        d_std: ArrayView2<'_, F>,
        grad: &mut Self,
        input_grad: bool,
    ) -> Result<Option<Array2<F>>> {
        let input = self.input(obs, extra)?;
        self.backward_of_input(
            tiles,
            BatchInput::Rows(input.view()),
            d_mean,
            d_std,
            grad,
            input_grad,
        )
    }

    /// [`GaussianPolicy::backward_batched`] from an assembled input (or chains: then the input
    /// gradient is the extra input's only, `[N, extra]`).
    pub(crate) fn backward_of_input(
        &self,
        tiles: &TileCache<F>,
        input: BatchInput<'_, F>,
        d_mean: ArrayView2<'_, F>,
        d_std: ArrayView2<'_, F>,
        grad: &mut Self,
        input_grad: bool,
    ) -> Result<Option<Array2<F>>> {
        let (n, a) = (input.rows(), self.output_dim());
        check_shape("d_mean", &[n, a], d_mean.shape())?;
        check_shape("d_std", &[n, a], d_std.shape())?;
        let given = |_: usize, rows: Range<usize>, _: ArrayView2<'_, F>, _: ArrayView2<'_, F>| {
            Ok((
                d_mean.slice(s![rows.clone(), ..]).to_owned(),
                d_std.slice(s![rows, ..]).to_owned(),
            ))
        };
        let (d_input, _) =
            self.backward_core::<PolicyError>(tiles, input, &given, grad, input_grad, false)?;
        Ok(d_input)
    }

    /// Forward pass, a loss's gradient and backward pass over `S` chains per observation
    /// (see [`GaussianPolicy::forward_chains_with`]) in **one** tiled pass: each tile's forward
    /// pass, then `row_grad(slot, rows, mean, std)` with the tile's chain range, its output
    /// distribution and the thread's [`TileCache`] slot, which returns `dL/dmean` and `dL/dstd`
    /// for those rows, then the tile's backward pass while its activations are in cache (no
    /// recomputation). For a loss whose gradient on a chain's distribution depends on that
    /// chain alone (SVG(0) through a critic evaluated on the tile's rows).
    ///
    /// Accumulates parameter gradients into `grad` and returns the forward pass (for later
    /// use, as [`GaussianPolicy::forward_chains_with`]'s) and `dL/d extra`, `[S n, extra]`:
    /// the same values, bit for bit, as [`GaussianPolicy::forward_chains_with`] followed by
    /// [`GaussianPolicy::backward_extra_with`] with the gradients `row_grad` gives, for batches
    /// of at least [`crate::BATCHED_ROWS`] chains (smaller ones take the plain passes there:
    /// call those).
    ///
    /// # Errors
    /// As [`GaussianPolicy::forward_chains_with`]; fewer than [`crate::BATCHED_ROWS`] chains;
    /// whatever `row_grad` returns, or gradients not `[rows, A]`.
    pub fn chains_fused_with<E: From<PolicyError> + Send>(
        &self,
        tiles: &TileCache<F>,
        obs: ArrayView2<'_, F>,
        extra: ArrayView2<'_, F>,
        row_grad: &RowGradFn<'_, F, E>,
        grad: &mut Self,
    ) -> std::result::Result<(PolicyForward<F>, Array2<F>), E> {
        if extra.nrows() < crate::BATCHED_ROWS {
            return Err(PolicyError::Shape {
                what: "chains of a fused pass (at least BATCHED_ROWS)",
                expected: vec![crate::BATCHED_ROWS, self.extra_input_dim],
                actual: extra.shape().to_vec(),
            }
            .into());
        }
        let (x, prefix) = self.chains_prefix(obs, extra)?;
        let input = BatchInput::Chains {
            x: x.view(),
            prefix: prefix.view(),
            extra,
        };
        let (d_extra, dist) = self.backward_core(tiles, input, row_grad, grad, true, true)?;
        let (Some(d_extra), Some((mean, std))) = (d_extra, dist) else {
            unreachable!("input gradient and distribution requested")
        };
        let dist = DiagGaussian::new(mean, std).map_err(PolicyError::from)?;
        let fwd = PolicyForward::of_chains(dist, x, prefix, extra.to_owned());
        Ok((fwd, d_extra))
    }

    /// The tiled backward pass over `input`, each tile's output gradient from `row_grad`
    /// (given the tile's output distribution); with `keep_dist`, also that distribution
    /// (mean, std) for all rows.
    #[allow(clippy::type_complexity)]
    fn backward_core<E: From<PolicyError> + Send>(
        &self,
        tiles: &TileCache<F>,
        input: BatchInput<'_, F>,
        row_grad: &RowGradFn<'_, F, E>,
        grad: &mut Self,
        input_grad: bool,
        keep_dist: bool,
    ) -> std::result::Result<(Option<Array2<F>>, Option<(Array2<F>, Array2<F>)>), E> {
        let (n, width) = (input.rows(), input.grad_width());
        let a = self.output_dim();
        let maps = self.head.maps();
        let fast = input.fast_head();
        // Gradients are summed per chunk of tiles, a split that does not depend on the thread
        // count (`map_chunks_indexed`), so they are bit-identical on every machine.
        let n_tiles = n.div_ceil(TILE_ROWS);
        let chunks = parallel::REDUCTION_CHUNKS;
        let parts = parallel::map_chunks_indexed(n_tiles, chunks, |slot, range| {
            let mut t = self.tile(tiles, slot, TILE_ROWS);
            let mut bufs = ChainBufs::new();
            let mut g = self.zeros_like();
            let mut outs = Vec::new();
            for i in range {
                let rows = i * TILE_ROWS..((i + 1) * TILE_ROWS).min(n);
                let r = rows.len();
                let x = input.tile(rows.clone(), &mut bufs);
                self.tile_forward(&mut t, &x, fast)?;
                let std = head_std(&maps, t.pre_std.slice(s![..r, ..]), fast);
                let (d_mean, d_std) =
                    row_grad(slot, rows.clone(), t.mean.slice(s![..r, ..]), std.view())?;
                check_shape("d_mean", &[r, a], d_mean.shape())?;
                check_shape("d_std", &[r, a], d_std.shape())?;
                let dist = keep_dist.then(|| (t.mean.slice(s![..r, ..]).to_owned(), std));
                // Head: d pre_mean = d_mean d mean/d pre; d pre_std = d_std d std/d pre.
                let mut dm = t.mean.slice_mut(s![..r, ..]);
                dm.zip_mut_with(&d_mean, |m, &d| {
                    *m = d * maps.d_mean(*m);
                });
                let mut ds = t.pre_std.slice_mut(s![..r, ..]);
                if fast {
                    ds.zip_mut_with(&d_std, |p, &d| *p = d * maps.d_std_fast(*p));
                } else {
                    ds.zip_mut_with(&d_std, |p, &d| *p = d * maps.d_std(*p));
                }
                let (dm, ds) = (t.mean.slice(s![..r, ..]), t.pre_std.slice(s![..r, ..]));
                let h = t.torso.output();
                gemm(&h.t(), &dm, &mut g.head.mean.weight.view_mut(), true);
                gemm(&h.t(), &ds, &mut g.head.std.weight.view_mut(), true);
                for (row_m, row_s) in dm.rows().into_iter().zip(ds.rows()) {
                    g.head.mean.bias += &row_m;
                    g.head.std.bias += &row_s;
                }
                let mut dh: ArrayViewMut2<'_, F> = t.torso.output_grad_mut();
                gemm(&dm, &self.head.mean.weight.t(), &mut dh, false);
                gemm(&ds, &self.head.std.weight.t(), &mut dh, true);
                let mut d_x = input_grad.then(|| Array2::zeros((r, width)));
                self.torso
                    .backward_tile(
                        &mut t.torso,
                        &x,
                        Some(&mut g.torso),
                        d_x.as_mut().map(|d| d.view_mut()),
                    )
                    .map_err(PolicyError::from)?;
                outs.push((rows.start, d_x, dist));
            }
            tiles.put(slot, t.torso);
            Ok::<_, E>((g, outs))
        });
        let mut d_input = input_grad.then(|| Array2::zeros((n, width)));
        let mut dist = keep_dist.then(|| (Array2::zeros((n, a)), Array2::zeros((n, a))));
        for part in parts {
            let (g, outs) = part?;
            grad.add_assign_params(&g);
            for (start, d_x, d) in outs {
                if let (Some(all), Some(d_x)) = (d_input.as_mut(), d_x) {
                    all.slice_mut(s![start..start + d_x.nrows(), ..])
                        .assign(&d_x);
                }
                if let (Some((mean, std)), Some((m, sd))) = (dist.as_mut(), d) {
                    mean.slice_mut(s![start..start + m.nrows(), ..]).assign(&m);
                    std.slice_mut(s![start..start + sd.nrows(), ..]).assign(&sd);
                }
            }
        }
        Ok((d_input, dist))
    }
}

/// The head's std from its pre-activation, with the large passes' functions if `fast`
/// ([`HeadMaps::std_fast`]).
fn head_std<F: Float>(maps: &HeadMaps<F>, pre: ArrayView2<'_, F>, fast: bool) -> Array2<F> {
    if fast {
        pre.mapv(|x| maps.std_fast(x))
    } else {
        pre.mapv(|x| maps.std(x))
    }
}

/// The gradient a fused pass ([`GaussianPolicy::chains_fused_with`]) asks for per tile:
/// `(slot, rows, mean, std) -> (dL/dmean, dL/dstd)` for the chains `rows` (whose output
/// distribution is `mean`, `std`, `[rows, A]`), on the thread whose [`TileCache`] slot is `slot`.
pub type RowGradFn<'a, F, E> = dyn Fn(
        usize,
        Range<usize>,
        ArrayView2<'_, F>,
        ArrayView2<'_, F>,
    ) -> std::result::Result<(Array2<F>, Array2<F>), E>
    + Sync
    + 'a;
