//! Batched critic passes over `S` action samples per observation: the learner's hot path.
//!
//! The learner evaluates its critics on `S` samples `a_{s,n}` for each of `N` observations
//! `x_n` (the soft value, `S (T+1) B` rows; SVG(0), `S T B` rows), and on one action per
//! observation (Retrace, the critic loss). [`Critic::forward`] would stack `S` copies of every
//! observation and run the network on all rows at once. These passes compute the same values
//! and gradients (Eq. 4's inner expectation, and its gradient in the critic and policy losses)
//! differently:
//! - the rows go through the network in **tiles** of about 256 rows, each tile's buffers
//!   reused and resident in cache ([`bprl_nn::MlpTile`]), kept between calls in the caller's
//!   [`TileCache`];
//! - the first layer's product with the observation part `x_n W_x` is computed once per
//!   observation and shared by its `S` samples ([`bprl_nn::TileInput::Shared`]);
//! - tiles are split across threads ([`bprl_nn::parallel`]); parameter gradients are summed
//!   per chunk of tiles (a fixed split, whatever the thread count), then across chunks in
//!   order.

use crate::Float;
use crate::critic::Critic;
use crate::error::{PolicyError, Result, check_finite};
use bprl_nn::{Parameters, TileCache, TileInput, parallel};
use ndarray::{Array2, Array3, ArrayView2, ArrayView3, s};

/// Rows per tile: the tile's buffers (about 1,800 floats a row for the reference critic) stay
/// within a core's L2 cache.
const TILE_ROWS: usize = 256;

/// `dL/dQ` as a function of the sample `s`, the observation `n` and the value `Q_{s,n}`.
pub type DqFn<'a, F> = dyn Fn(usize, usize, F) -> F + Sync + 'a;

/// Output of [`Critic::backward_samples`].
#[derive(Debug, Clone, PartialEq)]
pub struct CriticSamples<F> {
    /// `Q(x_n, a_{s,n})`, `[S, N]`.
    pub q: Array2<F>,
    /// `dL/da_{s,n}`, `[S, N, A]` (zero where the action was clipped), when asked for.
    pub d_action: Option<Array3<F>>,
    /// `dL/dz_{s,n}`, `[S, N, Z]` for a latent critic, when input gradients were asked for.
    pub d_latent: Option<Array3<F>>,
}

/// One tile's results: first observation, observation count, `Q` (sample-major) and the
/// input gradient rows.
type TilePart<F> = (usize, usize, Vec<F>, Option<Array2<F>>);

/// The rows of one tile: observations `n0 .. n0 + nt` of `x` (the selected groups), each with
/// its `S` samples of `actions: [S, N, A]` (and `latent: [S, N, Z]`).
struct TileRows<'a, F> {
    x: ArrayView2<'a, F>,
    /// `x`'s first-layer products, when computed beforehand.
    product: Option<ArrayView2<'a, F>>,
    actions: ArrayView3<'a, F>,
    latent: Option<ArrayView3<'a, F>>,
    n0: usize,
    nt: usize,
}

impl<F: Float> Critic<F> {
    /// `Q(x_n, a_{s,n}[, z_{s,n}])` for `obs: [N, obs]`, `actions: [S, N, A]` and, for a latent
    /// critic, `latent: [S, N, Z]`; returns `[S, N]`. Same values as [`Critic::q`] on the
    /// stacked rows. The tiles come from (and go back to) `tiles`.
    ///
    /// # Errors
    /// Shapes that do not match, non-finite inputs, a latent given to a flat critic (or missing
    /// for a latent one).
    pub fn q_samples(
        &self,
        tiles: &TileCache<F>,
        obs: ArrayView2<'_, F>,
        actions: ArrayView3<'_, F>,
        latent: Option<ArrayView3<'_, F>>,
    ) -> Result<Array2<F>> {
        Ok(self
            .run_samples(tiles, obs, actions, latent, None, None, false)?
            .q)
    }

    /// Forward and backward passes over samples, with `dL/dQ_{s,n} = d_q(s, n, Q_{s,n})`:
    /// accumulates parameter gradients into `grad` (if given) and returns `Q` and, if
    /// `input_grad`, `dL/da` (and `dL/dz`). Same values as [`Critic::forward`] followed by
    /// [`Critic::backward`] (or [`Critic::backward_input`] without `grad`) on the stacked
    /// rows. The tiles come from (and go back to) `tiles`.
    ///
    /// # Errors
    /// As [`Critic::q_samples`].
    #[allow(clippy::too_many_arguments)]
    pub fn backward_samples(
        &self,
        tiles: &TileCache<F>,
        obs: ArrayView2<'_, F>,
        actions: ArrayView3<'_, F>,
        latent: Option<ArrayView3<'_, F>>,
        d_q: &DqFn<'_, F>,
        grad: Option<&mut Self>,
        input_grad: bool,
    ) -> Result<CriticSamples<F>> {
        self.run_samples(tiles, obs, actions, latent, Some(d_q), grad, input_grad)
    }

    fn check_samples(
        &self,
        obs: ArrayView2<'_, F>,
        actions: ArrayView3<'_, F>,
        latent: Option<ArrayView3<'_, F>>,
    ) -> Result<()> {
        self.check_rows(obs.nrows(), actions, latent)?;
        check_finite("obs", obs)
    }

    /// Shapes of `actions: [S, n, A]` and `latent: [S, n, Z]`, and their values.
    fn check_rows(
        &self,
        n_obs: usize,
        actions: ArrayView3<'_, F>,
        latent: Option<ArrayView3<'_, F>>,
    ) -> Result<()> {
        let (s_count, n, a) = actions.dim();
        if n_obs != n || a != self.action_dim || s_count == 0 {
            return Err(PolicyError::Shape {
                what: "actions (samples, observations, action_dim)",
                expected: vec![s_count.max(1), n_obs, self.action_dim],
                actual: actions.shape().to_vec(),
            });
        }
        match (latent, self.latent_dim) {
            (None, 0) => {}
            (Some(z), d) if d > 0 && z.dim() == (s_count, n, d) => check_finite("latent", z)?,
            (z, d) => {
                return Err(PolicyError::Shape {
                    what: "latent",
                    expected: vec![s_count, n, d],
                    actual: z.map_or(vec![0, 0, 0], |z| z.shape().to_vec()),
                });
            }
        }
        check_finite("action", actions)
    }

    /// The critic's view of observations for [`Critic::rows_backward`]: its selected groups
    /// `x` and their first-layer products `x W_x` (computed once for a batch, then read by the
    /// rows of any tile).
    ///
    /// # Errors
    /// Observations of the wrong width or not finite.
    pub fn obs_product(&self, obs: ArrayView2<'_, F>) -> Result<(Array2<F>, Array2<F>)> {
        check_finite("obs", obs)?;
        let x = self.selection.gather(obs)?;
        let product = self.torso.prefix_product(x.view())?;
        Ok((x, product))
    }

    /// `Q(x_i, a_i[, z_i])` and, with `d_q(i, Q_i)` given, `dL/da_i` for rows `i` given one by
    /// one (`x: [R, p]` and `product: [R, width_0]` rows of [`Critic::obs_product`],
    /// `actions: [R, A]`, `latent: [R, Z]`), computed on the calling thread in tiles taken from
    /// slot `slot` of `tiles`: for a caller that runs its own tiles over threads (a fused
    /// policy pass) and needs the critic on a tile's rows. The same values, bit for bit, as
    /// [`Critic::backward_samples`] on these rows with no parameter gradient (every row's value
    /// and gradient depend on that row alone, and the first layer's product of `x` is the one
    /// it computes).
    ///
    /// # Errors
    /// Rows or widths that do not agree, non-finite actions or latents, a latent given to a
    /// flat critic (or missing for a latent one).
    #[allow(clippy::too_many_arguments)]
    pub fn rows_backward(
        &self,
        tiles: &TileCache<F>,
        slot: usize,
        x: ArrayView2<'_, F>,
        product: ArrayView2<'_, F>,
        actions: ArrayView2<'_, F>,
        latent: Option<ArrayView2<'_, F>>,
        d_q: Option<&(dyn Fn(usize, F) -> F + Sync)>,
    ) -> Result<(Vec<F>, Option<Array2<F>>)> {
        let n = x.nrows();
        let w0 = self
            .torso
            .layers
            .first()
            .map_or(0, |l| l.linear.output_dim());
        if x.ncols() != self.selection.width() || product.dim() != (n, w0) {
            return Err(PolicyError::Shape {
                what: "critic rows (x: [rows, selection], product: [rows, first width])",
                expected: vec![n, self.selection.width(), w0],
                actual: vec![x.nrows(), x.ncols(), product.ncols()],
            });
        }
        let actions = actions.insert_axis(ndarray::Axis(0));
        let latent = latent.map(|z| z.insert_axis(ndarray::Axis(0)));
        self.check_rows(n, actions, latent)?;
        let a_dim = self.action_dim;
        let mut tile = tiles.take(slot, &self.torso, TILE_ROWS);
        let mut extra = Array2::<F>::zeros((TILE_ROWS, a_dim + self.latent_dim));
        let mut dq_rows = vec![F::zero(); TILE_ROWS];
        let d_q_rows = d_q.map(|d_q| move |_: usize, i: usize, q: F| d_q(i, q));
        let d_q_rows = d_q_rows.as_ref().map(|f| f as &DqFn<'_, F>);
        let mut q = Vec::with_capacity(n);
        let mut d_action = d_q.map(|_| Array2::zeros((n, a_dim)));
        for n0 in (0..n).step_by(TILE_ROWS) {
            let nt = TILE_ROWS.min(n - n0);
            let rows = TileRows {
                x,
                product: Some(product),
                actions,
                latent,
                n0,
                nt,
            };
            let (_, _, q_tile, d_extra) = self.tile_pass(
                &mut tile,
                &mut extra,
                &mut dq_rows,
                &rows,
                d_q_rows,
                None,
                true,
            )?;
            q.extend(q_tile);
            if let (Some(d), Some(d_action)) = (d_extra, d_action.as_mut()) {
                let mut target = d_action.slice_mut(s![n0..n0 + nt, ..]);
                target.assign(&d.slice(s![.., ..a_dim]));
                // Clipping: no gradient where |a| > 1 (as `backward_samples`).
                target.zip_mut_with(&actions.slice(s![0, n0..n0 + nt, ..]), |d, &a| {
                    if a.abs() > F::one() {
                        *d = F::zero();
                    }
                });
            }
        }
        tiles.put(slot, tile);
        Ok((q, d_action))
    }

    /// One tile of [`Critic::run_samples`]: fills the tile's input rows, runs the forward pass
    /// and, with `d_q`, the backward pass (parameter gradients into `g_local`, input gradients
    /// if `input_grad`).
    #[allow(clippy::too_many_arguments)]
    fn tile_pass(
        &self,
        tile: &mut bprl_nn::MlpTile<F>,
        extra: &mut Array2<F>,
        dq_rows: &mut [F],
        rows: &TileRows<'_, F>,
        d_q: Option<&DqFn<'_, F>>,
        g_local: Option<&mut Self>,
        input_grad: bool,
    ) -> Result<TilePart<F>> {
        let TileRows {
            x,
            product,
            actions,
            latent,
            n0,
            nt,
        } = *rows;
        let (s_count, _, a_dim) = actions.dim();
        let e_dim = extra.ncols();
        let w_out = self.output.weight.column(0);
        let b_out = self.output.bias[0];
        let one = F::one();
        let r = nt * s_count;
        // Sample-major rows: row s nt + j is (x_{n0+j}, clip(a_{s, n0+j}), z_{s, n0+j}).
        for s in 0..s_count {
            let rows = s * nt..(s + 1) * nt;
            extra.slice_mut(s![rows.clone(), ..a_dim]).zip_mut_with(
                &actions.slice(s![s, n0..n0 + nt, ..]),
                |e, &a| {
                    *e = a.max(-one).min(one);
                },
            );
            if let Some(z) = latent {
                extra
                    .slice_mut(s![rows, a_dim..])
                    .assign(&z.slice(s![s, n0..n0 + nt, ..]));
            }
        }
        let input = match product {
            None => TileInput::Shared {
                shared: x.slice(s![n0..n0 + nt, ..]),
                extra: extra.slice(s![..r, ..]),
            },
            Some(p) => TileInput::SharedProduct {
                shared: x.slice(s![n0..n0 + nt, ..]),
                product: p.slice_move(s![n0..n0 + nt, ..]),
                extra: extra.slice(s![..r, ..]),
            },
        };
        self.torso.forward_tile(tile, &input)?;
        let q: Vec<F> = tile
            .output()
            .rows()
            .into_iter()
            .map(|h| h.dot(&w_out) + b_out)
            .collect();
        let Some(d_q) = d_q else {
            return Ok((n0, nt, q, None));
        };
        for (k, (dq, &qk)) in dq_rows.iter_mut().zip(&q).enumerate() {
            *dq = d_q(k / nt, n0 + k % nt, qk);
        }
        let mut g_local = g_local;
        if let Some(g) = g_local.as_deref_mut() {
            let mut gw = g.output.weight.column_mut(0);
            for (h, &dq) in tile.output().rows().into_iter().zip(dq_rows.iter()) {
                gw.scaled_add(dq, &h);
            }
            g.output.bias[0] += dq_rows[..r].iter().fold(F::zero(), |acc, &v| acc + v);
        }
        for (mut row, &dq) in tile
            .output_grad_mut()
            .rows_mut()
            .into_iter()
            .zip(dq_rows.iter())
        {
            row.zip_mut_with(&w_out, |d, &w| *d = dq * w);
        }
        let mut d_extra = input_grad.then(|| Array2::zeros((r, e_dim)));
        self.torso.backward_tile(
            tile,
            &input,
            g_local.map(|g| &mut g.torso),
            d_extra.as_mut().map(|d| d.view_mut()),
        )?;
        Ok((n0, nt, q, d_extra))
    }

    #[allow(clippy::too_many_arguments)]
    fn run_samples(
        &self,
        tiles: &TileCache<F>,
        obs: ArrayView2<'_, F>,
        actions: ArrayView3<'_, F>,
        latent: Option<ArrayView3<'_, F>>,
        d_q: Option<&DqFn<'_, F>>,
        grad: Option<&mut Self>,
        input_grad: bool,
    ) -> Result<CriticSamples<F>> {
        self.check_samples(obs, actions, latent)?;
        let (s_count, n, a_dim) = actions.dim();
        let z_dim = self.latent_dim;
        let e_dim = a_dim + z_dim;
        let x = self.selection.gather(obs)?;
        let per_tile = (TILE_ROWS / s_count).max(1);
        let n_tiles = n.div_ceil(per_tile);
        let want_grad = grad.is_some() && d_q.is_some();
        let input_grad = input_grad && d_q.is_some();

        // Parameter gradients are summed per chunk of tiles, a split that does not depend on the
        // thread count (`map_chunks_indexed`), so they are bit-identical on every machine.
        let chunks = parallel::REDUCTION_CHUNKS;
        let parts = parallel::map_chunks_indexed(n_tiles, chunks, |slot, range| -> Result<_> {
            let cap = per_tile * s_count;
            let mut tile = tiles.take(slot, &self.torso, cap);
            let mut extra = Array2::<F>::zeros((cap, e_dim));
            let mut g_local = want_grad.then(|| self.zeros_like());
            let mut out: Vec<TilePart<F>> = Vec::new();
            let mut dq_rows = vec![F::zero(); cap];
            for t in range {
                let n0 = t * per_tile;
                let nt = per_tile.min(n - n0);
                let rows = TileRows {
                    x: x.view(),
                    product: None,
                    actions,
                    latent,
                    n0,
                    nt,
                };
                let part = self.tile_pass(
                    &mut tile,
                    &mut extra,
                    &mut dq_rows,
                    &rows,
                    d_q,
                    g_local.as_mut(),
                    input_grad,
                )?;
                out.push(part);
            }
            tiles.put(slot, tile);
            Ok((out, g_local))
        });

        let mut q_all = Array2::zeros((s_count, n));
        let mut d_action = input_grad.then(|| Array3::zeros((s_count, n, a_dim)));
        let mut d_latent = (input_grad && z_dim > 0).then(|| Array3::zeros((s_count, n, z_dim)));
        let one = F::one();
        let mut grad = grad;
        for part in parts {
            let (tile_parts, g_local) = part?;
            if let (Some(g), Some(gl)) = (grad.as_deref_mut(), g_local) {
                g.add_assign_params(&gl);
            }
            for (n0, nt, q, d_extra) in tile_parts {
                for s in 0..s_count {
                    q_all
                        .slice_mut(s![s, n0..n0 + nt])
                        .iter_mut()
                        .zip(&q[s * nt..(s + 1) * nt])
                        .for_each(|(o, &v)| *o = v);
                }
                let Some(d_extra) = d_extra else { continue };
                for s in 0..s_count {
                    let rows = d_extra.slice(s![s * nt..(s + 1) * nt, ..]);
                    if let Some(da) = d_action.as_mut() {
                        let mut target = da.slice_mut(s![s, n0..n0 + nt, ..]);
                        target.assign(&rows.slice(s![.., ..a_dim]));
                        // Clipping: no gradient where |a| > 1.
                        target.zip_mut_with(&actions.slice(s![s, n0..n0 + nt, ..]), |d, &a| {
                            if a.abs() > one {
                                *d = F::zero();
                            }
                        });
                    }
                    if let Some(dz) = d_latent.as_mut() {
                        dz.slice_mut(s![s, n0..n0 + nt, ..])
                            .assign(&rows.slice(s![.., a_dim..]));
                    }
                }
            }
        }
        Ok(CriticSamples {
            q: q_all,
            d_action,
            d_latent,
        })
    }
}
