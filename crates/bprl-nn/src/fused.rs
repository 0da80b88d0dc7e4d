//! Fused passes of an [`Mlp`] over *tiles* of rows, in preallocated buffers.
//!
//! [`Mlp::forward`] and [`Mlp::backward`] allocate a fresh array per layer and make one pass
//! over memory per elementwise step. That is clear, and right for small batches; for the
//! learner's big batches (the critic sees 28,160 rows per update) it is slow twice over: the
//! arrays do not fit in cache, and fresh pages cost the kernel a zeroing each.
//!
//! An [`MlpTile`] holds every buffer one tile of at most `capacity` rows needs. A tile's pass is
//! the same mathematics as [`Mlp::forward`] / [`Mlp::backward`], arranged for speed:
//! - each layer is one matrix product into the tile's buffer, then **one** pass over each row
//!   that adds the bias, normalizes (LayerNorm) and applies the activation;
//! - the backward pass needs only each layer's *output* (every activation's derivative is a
//!   function of its output: `1 - y^2` for tanh, `1` or `y + 1` for ELU, ...), the normalized
//!   values and the inverse standard deviations;
//! - rows whose inputs share a prefix ([`TileInput::Shared`]: a critic's observation, repeated
//!   for each of `S` action samples) compute the first layer's product for that prefix once per
//!   distinct row, not once per sample;
//! - rows whose first-layer product over an input prefix is already known
//!   ([`TileInput::Prefixed`], from [`Mlp::prefix_product`]: a low level's observation, shared
//!   by the `S` latents sampled for it) continue that product with their own part
//!   ([`bprl_compute::gemm::gemm_continue`]), which on the `f32` SIMD paths gives exactly the
//!   bits of the whole product;
//! - the products and row passes run on the instruction-set path chosen once per process
//!   ([`bprl_compute::cpu`]: AVX-512 or AVX2/FMA where the processor has it, `BPRL_KERNEL` to force one).
//!
//! Tiles are independent: callers run tiles on several threads ([`bprl_compute::parallel`]),
//! each thread with its own [`MlpTile`] and, for parameter gradients, one accumulator per chunk
//! of tiles ([`bprl_compute::parallel::map_chunks`]: a split that does not depend on the thread
//! count). A caller that runs many passes keeps its tiles between them in a
//! [`crate::TileCache`] it owns.

use crate::error::{NnError, Result};
use crate::mlp::Mlp;
use crate::scalar::Scalar;
use bprl_compute::gemm::{gemm, gemm_continue};
use bprl_compute::rows::{
    NormBack, NormRows, RowsBackward, RowsForward, rows_backward, rows_forward,
};
use ndarray::{Array1, Array2, ArrayRef2, ArrayView2, ArrayViewMut2, Axis, Slice};

/// The input of one tile.
#[derive(Debug, Clone, Copy)]
pub enum TileInput<'a, F> {
    /// Plain rows, `[r, in]`.
    Rows(ArrayView2<'a, F>),
    /// Rows that share a prefix: row `i` is `[shared[i % n], extra[i]]`, with
    /// `shared: [n, p]` and `extra: [r, in - p]`, `r` a multiple of `n` (for `S` samples per
    /// shared row, sample-major: row `i = s n + j`).
    Shared {
        /// `[n, p]`, the common prefix of each group of rows.
        shared: ArrayView2<'a, F>,
        /// `[r, in - p]`, the rest of each row.
        extra: ArrayView2<'a, F>,
    },
    /// [`TileInput::Shared`] with the shared rows' first-layer product already computed
    /// (`product = shared W_x`, [`Mlp::prefix_product`], for example once for a whole batch):
    /// the same values, bit for bit, as `Shared` on `shared` (whose product is computed the
    /// same way), without computing it per tile.
    SharedProduct {
        /// `[n, p]`, the common prefix of each group of rows (for the weight gradient).
        shared: ArrayView2<'a, F>,
        /// `[n, width_0]`, `shared W_x`.
        product: ArrayView2<'a, F>,
        /// `[r, in - p]`, the rest of each row (`r` a multiple of `n`, sample-major).
        extra: ArrayView2<'a, F>,
    },
    /// Rows `[x[i], extra[i]]` whose first-layer product over the prefix is known:
    /// `prefix[i] = x[i] W_x` ([`Mlp::prefix_product`], with `W_x` the first `p` rows of the
    /// first layer's weight). The forward pass continues each entry's sum with `extra[i]`
    /// ([`bprl_compute::gemm::gemm_continue`]); on the paths where that continuation is exact
    /// ([`bprl_compute::gemm::continues_chain`]) the tile has the bits of [`TileInput::Rows`]
    /// on the whole rows, and so has the backward pass, which takes `x` for the weight
    /// gradient and returns the input gradient of `extra` only.
    Prefixed {
        /// `[r, width_0]`, each row's `x W_x`.
        prefix: ArrayView2<'a, F>,
        /// `[r, p]`, each row's prefix `x`.
        x: ArrayView2<'a, F>,
        /// `[r, in - p]`, the rest of each row.
        extra: ArrayView2<'a, F>,
    },
}

impl<F> TileInput<'_, F> {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        match self {
            TileInput::Rows(x) => x.nrows(),
            TileInput::Shared { extra, .. }
            | TileInput::SharedProduct { extra, .. }
            | TileInput::Prefixed { extra, .. } => extra.nrows(),
        }
    }

    /// Width of the full rows.
    fn width(&self) -> usize {
        match self {
            TileInput::Rows(x) => x.ncols(),
            TileInput::Shared { shared, extra }
            | TileInput::SharedProduct { shared, extra, .. } => shared.ncols() + extra.ncols(),
            TileInput::Prefixed { x, extra, .. } => x.ncols() + extra.ncols(),
        }
    }
}

/// Buffers for passes of one [`Mlp`] over tiles of at most `capacity` rows.
#[derive(Debug, Clone)]
pub struct MlpTile<F> {
    capacity: usize,
    rows: usize,
    /// Per layer, `[capacity, width]`: the product `x W` in the forward pass; `dL/dy`, then
    /// `dL/d(pre-activation)` in the backward pass.
    work: Vec<Array2<F>>,
    /// Per layer, `[capacity, width]`: the layer's output.
    out: Vec<Array2<F>>,
    /// Per normalized layer: `x_hat`, `[capacity, width]`, and `1/sqrt(var + eps)`, `[capacity]`.
    norm: Vec<Option<(Array2<F>, Array1<F>)>>,
    /// `[capacity, width_0]`: shared rows' first-layer products (forward) and their gradient
    /// sums (backward).
    shared: Array2<F>,
}

impl<F: Scalar> MlpTile<F> {
    /// Buffers for `net` and tiles of up to `capacity` rows.
    pub fn new(net: &Mlp<F>, capacity: usize) -> Self {
        let widths: Vec<usize> = net.layers.iter().map(|l| l.linear.output_dim()).collect();
        let w0 = widths.first().copied().unwrap_or(0);
        Self {
            capacity,
            rows: 0,
            work: widths
                .iter()
                .map(|&w| Array2::zeros((capacity, w)))
                .collect(),
            out: widths
                .iter()
                .map(|&w| Array2::zeros((capacity, w)))
                .collect(),
            norm: net
                .layers
                .iter()
                .zip(&widths)
                .map(|(l, &w)| {
                    l.norm
                        .as_ref()
                        .map(|_| (Array2::zeros((capacity, w)), Array1::zeros(capacity)))
                })
                .collect(),
            shared: Array2::zeros((capacity, w0)),
        }
    }

    /// Whether this tile was made for a network of `net`'s layer widths and norms, with room
    /// for exactly `capacity` rows (so [`crate::TileCache`] can hand it out again).
    pub(crate) fn fits(&self, net: &Mlp<F>, capacity: usize) -> bool {
        self.capacity == capacity
            && self.work.len() == net.layers.len()
            && net
                .layers
                .iter()
                .zip(&self.work)
                .zip(&self.norm)
                .all(|((l, w), n)| {
                    w.ncols() == l.linear.output_dim() && n.is_some() == l.norm.is_some()
                })
    }

    /// Maximum rows per tile.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The network's output for the last forward tile, `[r, out]`.
    pub fn output(&self) -> ArrayView2<'_, F> {
        match self.out.last() {
            Some(o) => o.rows_to(self.rows),
            None => ArrayView2::from_shape((0, 0), &[]).unwrap_or_else(|_| unreachable!()),
        }
    }

    /// Where the caller writes `dL/d(output)` for the last forward tile, `[r, out]`, before
    /// [`Mlp::backward_tile`].
    pub fn output_grad_mut(&mut self) -> ArrayViewMut2<'_, F> {
        let r = self.rows;
        match self.work.last_mut() {
            Some(w) => w.rows_to_mut(r),
            None => ArrayViewMut2::from_shape((0, 0), &mut []).unwrap_or_else(|_| unreachable!()),
        }
    }
}

impl<F: Scalar> Mlp<F> {
    fn check_tile(&self, tile: &MlpTile<F>, input: &TileInput<'_, F>) -> Result<()> {
        let r = input.rows();
        if tile.work.len() != self.layers.len()
            || self
                .layers
                .iter()
                .zip(&tile.work)
                .any(|(l, w)| w.ncols() != l.linear.output_dim())
        {
            return Err(NnError::Shape {
                what: "tile buffers (made for another network)",
                expected: self.layers.iter().map(|l| l.linear.output_dim()).collect(),
                actual: tile.work.iter().map(|w| w.ncols()).collect(),
            });
        }
        if r > tile.capacity || input.width() != self.input_dim() {
            return Err(NnError::Shape {
                what: "tile input",
                expected: vec![tile.capacity, self.input_dim()],
                actual: vec![r, input.width()],
            });
        }
        if let TileInput::Shared { shared, extra }
        | TileInput::SharedProduct { shared, extra, .. } = input
        {
            let n = shared.nrows();
            if n == 0 || extra.nrows() % n != 0 || shared.ncols() > self.input_dim() {
                return Err(NnError::Shape {
                    what: "shared tile input (rows must be a multiple of the shared rows)",
                    expected: vec![n, shared.ncols()],
                    actual: vec![extra.nrows(), extra.ncols()],
                });
            }
        }
        if let TileInput::SharedProduct {
            shared, product, ..
        } = input
        {
            let w0 = self.layers.first().map_or(0, |l| l.linear.output_dim());
            if product.dim() != (shared.nrows(), w0) || shared.nrows() > tile.capacity {
                return Err(NnError::Shape {
                    what: "shared product (one row of the first width per shared row)",
                    expected: vec![shared.nrows(), w0],
                    actual: product.shape().to_vec(),
                });
            }
        }
        if let TileInput::Prefixed { prefix, x, extra } = input {
            let w0 = self.layers.first().map_or(0, |l| l.linear.output_dim());
            if prefix.dim() != (r, w0) || x.nrows() != r {
                return Err(NnError::Shape {
                    what: "prefixed tile input (prefix [rows, first width], x [rows, p])",
                    expected: vec![extra.nrows(), w0, r],
                    actual: vec![prefix.nrows(), prefix.ncols(), x.nrows()],
                });
            }
        }
        Ok(())
    }

    /// The first layer's product over an input prefix, `x W_x` (`x: [n, p]`, `W_x` the first
    /// `p` rows of the first layer's weight), for [`TileInput::Prefixed`] rows that share it.
    ///
    /// # Errors
    /// [`NnError::Shape`] if the network has no layer or `p` is wider than its input;
    /// [`NnError::NonFinite`] for a non-finite `x`.
    pub fn prefix_product(&self, x: ArrayView2<'_, F>) -> Result<Array2<F>> {
        let (n, p) = x.dim();
        let Some(first) = self.layers.first().filter(|_| p <= self.input_dim()) else {
            return Err(NnError::Shape {
                what: "prefix (at most the first layer's input width)",
                expected: vec![n, self.input_dim()],
                actual: vec![n, p],
            });
        };
        if let Some(index) = x.iter().position(|v| !v.is_finite()) {
            return Err(NnError::NonFinite { what: "x", index });
        }
        let w = &first.linear.weight;
        let mut out = Array2::zeros((n, w.ncols()));
        gemm(&x, &w.rows_to(p), &mut out.view_mut(), false);
        Ok(out)
    }

    /// Forward pass of one tile; the output is [`MlpTile::output`]. Same values as
    /// [`Mlp::forward`] on the full rows.
    ///
    /// # Errors
    /// [`NnError::Shape`] if the tile was made for another network, the input is wider or
    /// longer than the tile allows, or shared rows do not divide the rows.
    pub fn forward_tile(&self, tile: &mut MlpTile<F>, input: &TileInput<'_, F>) -> Result<()> {
        self.check_tile(tile, input)?;
        let r = input.rows();
        tile.rows = r;
        let Some(first) = self.layers.first() else {
            return Ok(());
        };
        // Layer 0's product, the shared part once per shared row.
        let w0 = first.linear.weight.view();
        let mut shared_rows = 0;
        // A given shared product that is one contiguous block is read in place.
        let mut given: Option<&[F]> = None;
        match input {
            TileInput::Rows(x) => {
                gemm(x, &w0, &mut tile.work[0].rows_to_mut(r), false);
            }
            TileInput::Shared { shared, extra } => {
                let p = shared.ncols();
                shared_rows = shared.nrows();
                gemm(
                    shared,
                    &w0.rows_to(p),
                    &mut tile.shared.rows_to_mut(shared_rows),
                    false,
                );
                gemm(
                    extra,
                    &w0.rows_from(p),
                    &mut tile.work[0].rows_to_mut(r),
                    false,
                );
            }
            TileInput::SharedProduct {
                shared,
                product,
                extra,
            } => {
                shared_rows = shared.nrows();
                given = product.to_slice();
                if given.is_none() {
                    tile.shared.rows_to_mut(shared_rows).assign(product);
                }
                gemm(
                    extra,
                    &w0.rows_from(shared.ncols()),
                    &mut tile.work[0].rows_to_mut(r),
                    false,
                );
            }
            TileInput::Prefixed { prefix, x, extra } => {
                let mut work = tile.work[0].rows_to_mut(r);
                work.assign(prefix);
                gemm_continue(extra, &w0.rows_from(x.ncols()), &mut work);
            }
        }
        for (i, layer) in self.layers.iter().enumerate() {
            if i > 0 {
                gemm(
                    &tile.out[i - 1].rows_to(r),
                    &layer.linear.weight.view(),
                    &mut tile.work[i].rows_to_mut(r),
                    false,
                );
            }
            let width = layer.linear.output_dim();
            let shared = (i == 0 && shared_rows > 0).then(|| {
                let rows = given.unwrap_or_else(|| tile.shared.as_slice().unwrap_or(&[]));
                (&rows[..shared_rows * width], shared_rows)
            });
            let norm = match (&layer.norm, &mut tile.norm[i]) {
                (Some(ln), Some((xhat, inv))) => Some(NormRows {
                    gamma: ln.scale.as_slice().unwrap_or(&[]),
                    beta: ln.offset.as_slice().unwrap_or(&[]),
                    eps: ln.eps,
                    xhat: &mut xhat.as_slice_mut().unwrap_or(&mut [])[..r * width],
                    inv_std: &mut inv.as_slice_mut().unwrap_or(&mut [])[..r],
                }),
                _ => None,
            };
            rows_forward(RowsForward {
                activation: layer.activation,
                width,
                pre: &mut tile.work[i].as_slice_mut().unwrap_or(&mut [])[..r * width],
                bias: layer.linear.bias.as_slice().unwrap_or(&[]),
                shared,
                norm,
                out: &mut tile.out[i].as_slice_mut().unwrap_or(&mut [])[..r * width],
            });
        }
        Ok(())
    }

    /// Backward pass of the last forward tile, from the `dL/d(output)` the caller wrote into
    /// [`MlpTile::output_grad_mut`]: accumulates parameter gradients into `grad` (if given) and
    /// writes the input gradient into `d_input` (if given): `[r, in]` for
    /// [`TileInput::Rows`], `[r, in - p]` (the `extra` part only) for [`TileInput::Shared`] and
    /// [`TileInput::Prefixed`].
    /// Same values as [`Mlp::backward`].
    ///
    /// # Errors
    /// [`NnError::Shape`] as [`Mlp::forward_tile`], or a `d_input` of the wrong shape.
    pub fn backward_tile(
        &self,
        tile: &mut MlpTile<F>,
        input: &TileInput<'_, F>,
        mut grad: Option<&mut Self>,
        d_input: Option<ArrayViewMut2<'_, F>>,
    ) -> Result<()> {
        self.check_tile(tile, input)?;
        let r = input.rows();
        if r != tile.rows {
            return Err(NnError::Shape {
                what: "backward tile rows (differ from the forward tile)",
                expected: vec![tile.rows],
                actual: vec![r],
            });
        }
        for (i, layer) in self.layers.iter().enumerate().rev() {
            let width = layer.linear.output_dim();
            let mut g_layer = grad.as_deref_mut().map(|g| &mut g.layers[i]);
            let norm = match (&layer.norm, &tile.norm[i]) {
                (Some(ln), Some((xhat, inv))) => Some(NormBack {
                    gamma: ln.scale.as_slice().unwrap_or(&[]),
                    xhat: &xhat.as_slice().unwrap_or(&[])[..r * width],
                    inv_std: &inv.as_slice().unwrap_or(&[])[..r],
                }),
                _ => None,
            };
            let (d_gamma, d_beta, d_bias) = match g_layer.as_deref_mut() {
                Some(g) => {
                    let (dg, db) = match g.norm.as_mut() {
                        Some(n) => (n.scale.as_slice_mut(), n.offset.as_slice_mut()),
                        None => (None, None),
                    };
                    (dg, db, g.linear.bias.as_slice_mut())
                }
                None => (None, None, None),
            };
            rows_backward(RowsBackward {
                activation: layer.activation,
                width,
                d: &mut tile.work[i].as_slice_mut().unwrap_or(&mut [])[..r * width],
                out: &tile.out[i].as_slice().unwrap_or(&[])[..r * width],
                norm,
                d_gamma,
                d_beta,
                d_bias,
            });
            if i > 0 {
                let (lower, upper) = tile.work.split_at_mut(i);
                let d = upper[0].rows_to(r);
                let x = tile.out[i - 1].rows_to(r);
                if let Some(g) = g_layer {
                    gemm(&x.t(), &d, &mut g.linear.weight.view_mut(), true);
                }
                gemm(
                    &d,
                    &layer.linear.weight.t(),
                    &mut lower[i - 1].rows_to_mut(r),
                    false,
                );
            }
        }
        // Layer 0: parameter and input gradients from dL/d(pre-activation 0).
        let Some(first) = self.layers.first() else {
            return Ok(());
        };
        let d0 = tile.work[0].rows_to(r);
        let g0 = grad.map(|g| &mut g.layers[0].linear.weight);
        match input {
            TileInput::Rows(x) => {
                if let Some(g) = g0 {
                    gemm(&x.t(), &d0, &mut g.view_mut(), true);
                }
                if let Some(mut dx) = d_input {
                    check_d_input(&dx, r, x.ncols())?;
                    gemm(&d0, &first.linear.weight.t(), &mut dx, false);
                }
            }
            TileInput::Shared { shared, extra }
            | TileInput::SharedProduct { shared, extra, .. } => {
                let (n, p) = shared.dim();
                if let Some(g) = g0 {
                    // Gradient of the shared rows: sum the rows that repeat each one.
                    let mut sums = tile.shared.rows_to_mut(n);
                    sums.fill(F::zero());
                    for (k, row) in d0.rows().into_iter().enumerate() {
                        let mut acc = sums.row_mut(k % n);
                        acc += &row;
                    }
                    gemm(&shared.t(), &sums.view(), &mut g.rows_to_mut(p), true);
                    gemm(&extra.t(), &d0, &mut g.rows_from_mut(p), true);
                }
                if let Some(mut dx) = d_input {
                    check_d_input(&dx, r, extra.ncols())?;
                    gemm(&d0, &first.linear.weight.rows_from(p).t(), &mut dx, false);
                }
            }
            TileInput::Prefixed { x, extra, .. } => {
                let p = x.ncols();
                // Each entry of a product is its own sum over rows (or units), so the two
                // halves have the bits of the whole rows' products.
                if let Some(g) = g0 {
                    gemm(&x.t(), &d0, &mut g.rows_to_mut(p), true);
                    gemm(&extra.t(), &d0, &mut g.rows_from_mut(p), true);
                }
                if let Some(mut dx) = d_input {
                    check_d_input(&dx, r, extra.ncols())?;
                    gemm(&d0, &first.linear.weight.rows_from(p).t(), &mut dx, false);
                }
            }
        }
        Ok(())
    }
}

fn check_d_input<F>(dx: &ArrayViewMut2<'_, F>, rows: usize, cols: usize) -> Result<()> {
    if dx.dim() != (rows, cols) {
        return Err(NnError::Shape {
            what: "d_input",
            expected: vec![rows, cols],
            actual: dx.shape().to_vec(),
        });
    }
    Ok(())
}

/// Row ranges of a matrix, all columns: `s![..end, ..]` and `s![start.., ..]` without ndarray's
/// `s!` macro, whose expansion lowers a lint level that this crate forbids lowering (see the
/// `forbid` at the crate root).
trait RowRange<F> {
    fn rows_to(&self, end: usize) -> ArrayView2<'_, F>;
    fn rows_from(&self, start: usize) -> ArrayView2<'_, F>;
    fn rows_to_mut(&mut self, end: usize) -> ArrayViewMut2<'_, F>;
    fn rows_from_mut(&mut self, start: usize) -> ArrayViewMut2<'_, F>;
}

impl<F> RowRange<F> for ArrayRef2<F> {
    fn rows_to(&self, end: usize) -> ArrayView2<'_, F> {
        self.slice_axis(Axis(0), Slice::from(..end))
    }
    fn rows_from(&self, start: usize) -> ArrayView2<'_, F> {
        self.slice_axis(Axis(0), Slice::from(start..))
    }
    fn rows_to_mut(&mut self, end: usize) -> ArrayViewMut2<'_, F> {
        self.slice_axis_mut(Axis(0), Slice::from(..end))
    }
    fn rows_from_mut(&mut self, start: usize) -> ArrayViewMut2<'_, F> {
        self.slice_axis_mut(Axis(0), Slice::from(start..))
    }
}
