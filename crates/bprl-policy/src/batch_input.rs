//! The rows of a policy's batched pass: assembled input rows, or `S` chains per observation
//! that share the observation part of their input (see [`BatchInput::Chains`]).

use crate::Float;
use bprl_nn::TileInput;
use ndarray::{Array2, ArrayView2, s};
use std::ops::Range;

/// The rows of a batched pass.
#[derive(Debug, Clone, Copy)]
pub(crate) enum BatchInput<'a, F> {
    /// Assembled inputs, `[N, selection + extra]`.
    Rows(ArrayView2<'a, F>),
    /// `S` chains per observation, sample-major: row `s n + j` is `[x[j], extra[s n + j]]`.
    Chains {
        /// The observations' selected groups, `[n, p]`.
        x: ArrayView2<'a, F>,
        /// Their first-layer products `x W_x`, `[n, width_0]`.
        prefix: ArrayView2<'a, F>,
        /// Each chain's extra input, `[S n, extra]`.
        extra: ArrayView2<'a, F>,
    },
}

impl<F: Float> BatchInput<'_, F> {
    /// Whether the head computes with the large passes' functions (`HeadMaps::mean_fast`):
    /// from [`crate::BATCHED_ROWS`] rows (or chains) on, the size from which the forward
    /// passes are tiled. Smaller batched passes (Algorithm 1's learner at small batches) keep
    /// libm's functions and the bits they had.
    pub(crate) fn fast_head(&self) -> bool {
        self.rows() >= crate::BATCHED_ROWS
    }

    pub(crate) fn rows(&self) -> usize {
        match self {
            BatchInput::Rows(x) => x.nrows(),
            BatchInput::Chains { extra, .. } => extra.nrows(),
        }
    }

    /// Width of the input gradient the batched backward pass returns: the whole
    /// rows', or the chains' extra input only.
    pub(crate) fn grad_width(&self) -> usize {
        match self {
            BatchInput::Rows(x) => x.ncols(),
            BatchInput::Chains { extra, .. } => extra.ncols(),
        }
    }

    /// The tile input of rows `range`; a chain tile's observation rows are views when they lie
    /// within one sample's copy, else gathered into `bufs`.
    pub(crate) fn tile<'b>(
        &'b self,
        range: Range<usize>,
        bufs: &'b mut ChainBufs<F>,
    ) -> TileInput<'b, F> {
        match self {
            BatchInput::Rows(x) => TileInput::Rows(x.slice(s![range, ..])),
            BatchInput::Chains { x, prefix, extra } => {
                let n = x.nrows();
                let start = range.start % n;
                let extra = extra.slice(s![range.clone(), ..]);
                if start + range.len() <= n {
                    let rows = start..start + range.len();
                    return TileInput::Prefixed {
                        prefix: prefix.slice(s![rows.clone(), ..]),
                        x: x.slice(s![rows, ..]),
                        extra,
                    };
                }
                let r = range.len();
                let (bx, bp) = (&mut bufs.x, &mut bufs.prefix);
                if bx.dim() != (r, x.ncols()) {
                    *bx = Array2::zeros((r, x.ncols()));
                }
                if bp.dim() != (r, prefix.ncols()) {
                    *bp = Array2::zeros((r, prefix.ncols()));
                }
                for (k, i) in range.enumerate() {
                    bx.row_mut(k).assign(&x.row(i % n));
                    bp.row_mut(k).assign(&prefix.row(i % n));
                }
                TileInput::Prefixed {
                    prefix: bp.view(),
                    x: bx.view(),
                    extra,
                }
            }
        }
    }
}

/// A thread's copies of a chain tile's observation rows where they wrap around a sample's
/// copy.
pub(crate) struct ChainBufs<F> {
    x: Array2<F>,
    prefix: Array2<F>,
}

impl<F: Float> ChainBufs<F> {
    pub(crate) fn new() -> Self {
        Self {
            x: Array2::zeros((0, 0)),
            prefix: Array2::zeros((0, 0)),
        }
    }
}
