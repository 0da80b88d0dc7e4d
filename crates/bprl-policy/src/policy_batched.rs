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

use crate::Float;
use crate::error::{Result, check_shape};
use crate::gaussian_policy::GaussianPolicy;
use bprl_distributions::DiagGaussian;
use bprl_nn::{MlpTile, Parameters, TileCache, TileInput, parallel};
use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2, ArrayViewMut2, s};

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
    fn tile_forward(&self, t: &mut PolicyTile<F>, x: ArrayView2<'_, F>) -> Result<()> {
        let r = x.nrows();
        self.torso.forward_tile(&mut t.torso, &TileInput::Rows(x))?;
        let h = t.torso.output();
        let mut mean = t.mean.slice_mut(s![..r, ..]);
        general_mat_mul(F::one(), &h, &self.head.mean.weight, F::zero(), &mut mean);
        let maps = self.head.maps();
        for mut row in mean.rows_mut() {
            row.zip_mut_with(&self.head.mean.bias, |m, &b| *m = maps.mean(*m + b));
        }
        let mut pre = t.pre_std.slice_mut(s![..r, ..]);
        general_mat_mul(F::one(), &h, &self.head.std.weight, F::zero(), &mut pre);
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
        self.dist_of_input(tiles, input.view())
    }

    /// [`GaussianPolicy::dist_batched`] from an assembled input (see
    /// [`GaussianPolicy::input`]).
    pub(crate) fn dist_of_input(
        &self,
        tiles: &TileCache<F>,
        input: ArrayView2<'_, F>,
    ) -> Result<DiagGaussian<F>> {
        let n = input.nrows();
        let a = self.output_dim();
        let maps = self.head.maps();
        let n_tiles = n.div_ceil(TILE_ROWS);
        let parts = parallel::map_ranges_indexed(n_tiles, 1, |slot, range| -> Result<_> {
            let mut t = self.tile(tiles, slot, TILE_ROWS);
            let mut out = Vec::new();
            for i in range {
                let rows = i * TILE_ROWS..((i + 1) * TILE_ROWS).min(n);
                let r = rows.len();
                self.tile_forward(&mut t, input.slice(s![rows.clone(), ..]))?;
                let mean = t.mean.slice(s![..r, ..]).to_owned();
                let std = t.pre_std.slice(s![..r, ..]).mapv(|x| maps.std(x));
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
        self.backward_of_input(tiles, input.view(), d_mean, d_std, grad, input_grad)
    }

    /// [`GaussianPolicy::backward_batched`] from an assembled input.
    pub(crate) fn backward_of_input(
        &self,
        tiles: &TileCache<F>,
        input: ArrayView2<'_, F>,
        d_mean: ArrayView2<'_, F>,
        d_std: ArrayView2<'_, F>,
        grad: &mut Self,
        input_grad: bool,
    ) -> Result<Option<Array2<F>>> {
        let (n, width) = input.dim();
        let a = self.output_dim();
        check_shape("d_mean", &[n, a], d_mean.shape())?;
        check_shape("d_std", &[n, a], d_std.shape())?;
        let maps = self.head.maps();
        let one = F::one();
        // Gradients are summed per chunk of tiles, a split that does not depend on the thread
        // count (`map_chunks_indexed`), so they are bit-identical on every machine.
        let n_tiles = n.div_ceil(TILE_ROWS);
        let chunks = parallel::REDUCTION_CHUNKS;
        let parts = parallel::map_chunks_indexed(n_tiles, chunks, |slot, range| -> Result<_> {
            let mut t = self.tile(tiles, slot, TILE_ROWS);
            let mut g = self.zeros_like();
            let mut d_inputs = Vec::new();
            for i in range {
                let rows = i * TILE_ROWS..((i + 1) * TILE_ROWS).min(n);
                let r = rows.len();
                let x = input.slice(s![rows.clone(), ..]);
                self.tile_forward(&mut t, x)?;
                // Head: d pre_mean = d_mean d mean/d pre; d pre_std = d_std d std/d pre.
                let mut dm = t.mean.slice_mut(s![..r, ..]);
                dm.zip_mut_with(&d_mean.slice(s![rows.clone(), ..]), |m, &d| {
                    *m = d * maps.d_mean(*m);
                });
                let mut ds = t.pre_std.slice_mut(s![..r, ..]);
                ds.zip_mut_with(&d_std.slice(s![rows.clone(), ..]), |p, &d| {
                    *p = d * maps.d_std(*p);
                });
                let (dm, ds) = (t.mean.slice(s![..r, ..]), t.pre_std.slice(s![..r, ..]));
                let h = t.torso.output();
                general_mat_mul(one, &h.t(), &dm, one, &mut g.head.mean.weight);
                general_mat_mul(one, &h.t(), &ds, one, &mut g.head.std.weight);
                for (row_m, row_s) in dm.rows().into_iter().zip(ds.rows()) {
                    g.head.mean.bias += &row_m;
                    g.head.std.bias += &row_s;
                }
                let mut dh: ArrayViewMut2<'_, F> = t.torso.output_grad_mut();
                general_mat_mul(one, &dm, &self.head.mean.weight.t(), F::zero(), &mut dh);
                general_mat_mul(one, &ds, &self.head.std.weight.t(), one, &mut dh);
                let mut d_x = input_grad.then(|| Array2::zeros((r, width)));
                self.torso.backward_tile(
                    &mut t.torso,
                    &TileInput::Rows(x),
                    Some(&mut g.torso),
                    d_x.as_mut().map(|d| d.view_mut()),
                )?;
                if let Some(d) = d_x {
                    d_inputs.push((rows.start, d));
                }
            }
            tiles.put(slot, t.torso);
            Ok((g, d_inputs))
        });
        let mut d_input = input_grad.then(|| Array2::zeros((n, width)));
        for part in parts {
            let (g, d_inputs) = part?;
            grad.add_assign_params(&g);
            if let Some(all) = d_input.as_mut() {
                for (start, d) in d_inputs {
                    all.slice_mut(s![start..start + d.nrows(), ..]).assign(&d);
                }
            }
        }
        Ok(d_input)
    }
}
