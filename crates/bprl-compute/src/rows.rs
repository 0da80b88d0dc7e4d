//! Row kernels of a dense layer: after a tile's matrix product, **one** pass over each row that
//! adds the bias (and a shared first-layer product), normalizes (LayerNorm) and applies the
//! activation; and the matching backward pass. Plus [`Activation`], the elementwise
//! nonlinearities, for single values and whole batches.
//!
//! The row passes are plain generic Rust, written so the compiler vectorizes them (sums with
//! eight accumulators, branch-free selects). Each is compiled three times, for the target's
//! baseline, with AVX2 and FMA enabled, and with the x86-64-v4 set (AVX-512); [`rows_forward`]
//! and [`rows_backward`] take the copy of the process-wide path ([`crate::cpu`]),
//! [`rows_forward_on`] and [`rows_backward_on`] the copy of a given one. All copies give the
//! same bits: the compiler does not fuse or reorder floating-point operations, so enabling FMA
//! or AVX-512 only widens the vectors.
//!
//! Summation order: a row's mean and variance (and, backward, the means of `g` and `g x_hat`)
//! are sums with eight interleaved accumulators combined in a fixed tree, then the tail in
//! order; parameter gradients (`d gamma`, `d beta`, `d bias`) add row after row. Both are the
//! same on every path.

use crate::cpu::Kernel;
use crate::element::Element;
use ndarray::{Array2, ArrayView2, Zip};

/// Elementwise nonlinearities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Activation {
    /// `y = x`.
    Identity,
    /// `y = tanh x`; `dy/dx = 1 - y^2`.
    Tanh,
    /// `y = x` for `x > 0`, else `exp(x) - 1`; `dy/dx = 1` or `y + 1`.
    Elu,
    /// `y = max(x, 0)`; `dy/dx = 1[x > 0]`.
    Relu,
    /// `y = ln(1 + exp x)`; `dy/dx = sigmoid(x)`.
    Softplus,
}

impl Activation {
    /// `y = f(x)` elementwise, for one value.
    #[inline]
    pub fn apply<F: Element>(self, x: F) -> F {
        match self {
            Activation::Identity => x,
            Activation::Tanh => x.act_tanh(),
            Activation::Elu => {
                // Branch-free select so the loop vectorizes.
                let neg = x.min(F::zero()).act_exp_m1();
                if x > F::zero() { x } else { neg }
            }
            Activation::Relu => x.max(F::zero()),
            Activation::Softplus => x.max(F::zero()) + (-x.abs()).exp().ln_1p(),
        }
    }

    /// `f'(x)` from the input `x` and output `y`.
    #[inline]
    pub fn derivative<F: Element>(self, x: F, y: F) -> F {
        match self {
            Activation::Identity => F::one(),
            Activation::Tanh => F::one() - y * y,
            Activation::Elu => {
                if x > F::zero() {
                    F::one()
                } else {
                    y + F::one()
                }
            }
            Activation::Relu => {
                if x > F::zero() {
                    F::one()
                } else {
                    F::zero()
                }
            }
            Activation::Softplus => F::one() / (F::one() + (-x).exp()),
        }
    }

    /// `y = f(x)` for a batch. The activation is matched once, outside the loop, so each loop
    /// body is branch-free and vectorizes.
    pub fn forward<F: Element>(self, x: ArrayView2<'_, F>) -> Array2<F> {
        match self {
            Activation::Identity => x.to_owned(),
            Activation::Tanh => x.mapv(F::act_tanh),
            Activation::Elu => x.mapv(|v| {
                let neg = v.min(F::zero()).act_exp_m1();
                if v > F::zero() { v } else { neg }
            }),
            Activation::Relu => x.mapv(|v| v.max(F::zero())),
            Activation::Softplus => x.mapv(|v| self.apply(v)),
        }
    }

    /// `dx = dy * f'(x)` for a batch, given input `x` and output `y` (matched once, as
    /// [`Activation::forward`]).
    pub fn backward<F: Element>(
        self,
        x: ArrayView2<'_, F>,
        y: ArrayView2<'_, F>,
        dy: ArrayView2<'_, F>,
    ) -> Array2<F> {
        let mut dx = dy.to_owned();
        match self {
            Activation::Identity => {}
            Activation::Tanh => Zip::from(&mut dx)
                .and(&y)
                .for_each(|d, &y| *d *= F::one() - y * y),
            Activation::Elu => Zip::from(&mut dx).and(&x).and(&y).for_each(|d, &x, &y| {
                let slope = if x > F::zero() {
                    F::one()
                } else {
                    y + F::one()
                };
                *d *= slope;
            }),
            Activation::Relu => Zip::from(&mut dx).and(&x).for_each(|d, &x| {
                if x <= F::zero() {
                    *d = F::zero();
                }
            }),
            Activation::Softplus => Zip::from(&mut dx)
                .and(&x)
                .for_each(|d, &x| *d *= F::one() / (F::one() + (-x).exp())),
        }
        dx
    }
}

/// LayerNorm of the forward row pass: `x_hat = (v - mean) / sqrt(var + eps)` per row, then
/// `gamma x_hat + beta`.
pub struct NormRows<'a, F> {
    /// `gamma`, `[width]`.
    pub gamma: &'a [F],
    /// `beta`, `[width]`.
    pub beta: &'a [F],
    /// `eps` inside the square root.
    pub eps: F,
    /// Written: `x_hat`, `[rows * width]` row-major.
    pub xhat: &'a mut [F],
    /// Written: `1 / sqrt(var + eps)` per row, `[rows]`.
    pub inv_std: &'a mut [F],
}

/// Operands of [`rows_forward`]: per row `i`, `v = pre_i + bias (+ shared_{i mod n})`, then
/// `out_i = act(v)` or, with `norm`, `out_i = act(gamma x_hat(v) + beta)`.
pub struct RowsForward<'a, F> {
    /// The activation `act`.
    pub activation: Activation,
    /// Row width (0: nothing to do).
    pub width: usize,
    /// `[rows * width]` row-major: the product `x W` on entry, `v` on exit.
    pub pre: &'a mut [F],
    /// `[width]`.
    pub bias: &'a [F],
    /// `(features, n)`: `[n * width]` rows added to row `i` as row `i mod n` (the shared
    /// first-layer product of rows that share an input prefix).
    pub shared: Option<(&'a [F], usize)>,
    /// LayerNorm between the affine map and the activation.
    pub norm: Option<NormRows<'a, F>>,
    /// Written: `[rows * width]`, the layer's output.
    pub out: &'a mut [F],
}

/// LayerNorm of the backward row pass: what the forward pass kept.
pub struct NormBack<'a, F> {
    /// `gamma`, `[width]`.
    pub gamma: &'a [F],
    /// `x_hat`, `[rows * width]`.
    pub xhat: &'a [F],
    /// `1 / sqrt(var + eps)` per row, `[rows]`.
    pub inv_std: &'a [F],
}

/// Operands of [`rows_backward`]: per row, `d <- d * act'(out)`; with `norm`, the LayerNorm
/// backward `d <- inv_std (g - mean(g) - x_hat mean(g x_hat))`, `g = d gamma`. Parameter
/// gradients are *accumulated* (`+=`) where given.
pub struct RowsBackward<'a, F> {
    /// The activation (its derivative is taken from the output).
    pub activation: Activation,
    /// Row width (0: nothing to do).
    pub width: usize,
    /// `[rows * width]`: `dL/d out` on entry, `dL/d pre` (the product's gradient) on exit.
    pub d: &'a mut [F],
    /// `[rows * width]`: the layer's output from the forward pass.
    pub out: &'a [F],
    /// LayerNorm, if the layer has one.
    pub norm: Option<NormBack<'a, F>>,
    /// `+= sum_rows d x_hat` (after the activation's derivative), `[width]`.
    pub d_gamma: Option<&'a mut [F]>,
    /// `+= sum_rows d` (after the activation's derivative), `[width]`.
    pub d_beta: Option<&'a mut [F]>,
    /// `+= sum_rows dL/d pre`, `[width]`.
    pub d_bias: Option<&'a mut [F]>,
}

/// Sum with eight independent accumulators, so the loop vectorizes (a single running sum
/// imposes an order on the additions that the compiler must keep).
#[inline(always)]
fn sum8<F: Element>(x: &[F]) -> F {
    let mut acc = [F::zero(); 8];
    let chunks = x.chunks_exact(8);
    let tail = chunks.remainder();
    for c in chunks {
        for k in 0..8 {
            acc[k] += c[k];
        }
    }
    let mut s = (acc[0] + acc[4]) + (acc[1] + acc[5]) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for &v in tail {
        s += v;
    }
    s
}

/// Dot product with eight accumulators (see [`sum8`]).
#[inline(always)]
fn dot8<F: Element>(x: &[F], y: &[F]) -> F {
    let mut acc = [F::zero(); 8];
    let n = x.len().min(y.len());
    let (x, y) = (&x[..n], &y[..n]);
    let cx = x.chunks_exact(8);
    let cy = y.chunks_exact(8);
    let (tx, ty) = (cx.remainder(), cy.remainder());
    for (a, b) in cx.zip(cy) {
        for k in 0..8 {
            acc[k] += a[k] * b[k];
        }
    }
    let mut s = (acc[0] + acc[4]) + (acc[1] + acc[5]) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (&a, &b) in tx.iter().zip(ty) {
        s += a * b;
    }
    s
}

/// Defines `$name` (on the process-wide path) and `$on` (on a given [`Kernel`]), which run
/// `$generic` through a copy compiled for AVX2 and FMA (`$avx2`) on the `avx2` path, one
/// compiled for AVX-512 (`$avx512`) on the `avx512` path, and the plain copy otherwise.
macro_rules! dispatch {
    ($(#[$doc:meta])* $name:ident, $on:ident, $generic:ident, $avx2:ident, $avx512:ident, $args:ty) => {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2,fma")]
        fn $avx2<F: Element>(a: $args) {
            $generic(a)
        }

        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
        fn $avx512<F: Element>(a: $args) {
            $generic(a)
        }

        $(#[$doc])*
        pub fn $name<F: Element>(a: $args) {
            $on(Kernel::selected(), a)
        }

        #[doc = concat!("[`", stringify!($name), "`] on the path `kernel` (for tests that compare paths).")]
        pub fn $on<F: Element>(kernel: Kernel, a: $args) {
            match kernel.isa() {
                #[cfg(target_arch = "x86_64")]
                // SAFETY: the processor has AVX2 and FMA: `kernel` is an `Isa::Avx2` `Kernel`,
                // and `Kernel::new`, the only way to make one, checks the processor.
                crate::cpu::Isa::Avx2 => unsafe { $avx2(a) },
                #[cfg(target_arch = "x86_64")]
                // SAFETY: the processor has the x86-64-v4 set: `kernel` is an `Isa::Avx512`
                // `Kernel`, and `Kernel::new` checks the processor.
                crate::cpu::Isa::Avx512 => unsafe { $avx512(a) },
                _ => $generic(a),
            }
        }
    };
}

dispatch!(
    /// The forward row pass of one dense layer (see [`RowsForward`]), on the process-wide path
    /// ([`Kernel::selected`]).
    ///
    /// # Contract
    /// The rows are `len / width` of the first row buffer; the kernel indexes the per-row
    /// buffers (`x_hat`, `inv_std`, shared rows) and panics if they are short, and zips the
    /// per-column ones (a short `bias` or `gamma` would cover fewer columns). The callers
    /// (`bprl-nn`'s tile passes) check their shapes first.
    rows_forward,
    rows_forward_on,
    rows_forward_generic,
    rows_forward_avx2,
    rows_forward_avx512,
    RowsForward<'_, F>
);
dispatch!(
    /// The backward row pass of one dense layer (see [`RowsBackward`]), on the process-wide
    /// path ([`Kernel::selected`]).
    ///
    /// # Contract
    /// As [`rows_forward`].
    rows_backward,
    rows_backward_on,
    rows_backward_generic,
    rows_backward_avx2,
    rows_backward_avx512,
    RowsBackward<'_, F>
);

#[inline(always)]
fn rows_forward_generic<F: Element>(a: RowsForward<'_, F>) {
    let zero = F::zero();
    match a.activation {
        Activation::Identity => rows_forward_with(a, |v| v),
        Activation::Tanh => rows_forward_with(a, |v: F| v.act_tanh()),
        Activation::Elu => rows_forward_with(a, move |v: F| {
            let neg = v.min(zero).act_exp_m1();
            if v > zero { v } else { neg }
        }),
        Activation::Relu => rows_forward_with(a, move |v: F| v.max(zero)),
        Activation::Softplus => rows_forward_with(a, |v: F| Activation::Softplus.apply(v)),
    }
}

#[inline(always)]
fn rows_forward_with<F: Element, A: Fn(F) -> F>(a: RowsForward<'_, F>, act: A) {
    let w = a.width;
    if w == 0 {
        return;
    }
    let df = F::of_f64(w as f64);
    let mut norm = a.norm;
    for (i, (pre, out)) in a
        .pre
        .chunks_exact_mut(w)
        .zip(a.out.chunks_exact_mut(w))
        .enumerate()
    {
        match a.shared {
            Some((feat, n)) => {
                let f = &feat[(i % n) * w..(i % n + 1) * w];
                for ((p, &b), &f) in pre.iter_mut().zip(a.bias).zip(f) {
                    *p = *p + b + f;
                }
            }
            None => {
                for (p, &b) in pre.iter_mut().zip(a.bias) {
                    *p += b;
                }
            }
        }
        match norm.as_mut() {
            Some(nr) => {
                let mean = sum8(pre) / df;
                let xhat = &mut nr.xhat[i * w..(i + 1) * w];
                for (h, &p) in xhat.iter_mut().zip(pre.iter()) {
                    *h = p - mean;
                }
                let var = dot8(xhat, xhat) / df;
                let inv = F::one() / (var + nr.eps).sqrt();
                nr.inv_std[i] = inv;
                for (((h, o), &g), &b) in xhat
                    .iter_mut()
                    .zip(out.iter_mut())
                    .zip(nr.gamma)
                    .zip(nr.beta)
                {
                    let v = *h * inv;
                    *h = v;
                    *o = act(v * g + b);
                }
            }
            None => {
                for (o, &p) in out.iter_mut().zip(pre.iter()) {
                    *o = act(p);
                }
            }
        }
    }
}

#[inline(always)]
fn rows_backward_generic<F: Element>(a: RowsBackward<'_, F>) {
    let (zero, one) = (F::zero(), F::one());
    match a.activation {
        Activation::Identity => rows_backward_with(a, move |_| one),
        Activation::Tanh => rows_backward_with(a, move |y: F| one - y * y),
        Activation::Elu => rows_backward_with(a, move |y: F| if y > zero { one } else { y + one }),
        Activation::Relu => rows_backward_with(a, move |y: F| if y > zero { one } else { zero }),
        // y = ln(1 + e^x), so sigmoid(x) = 1 - e^{-y}.
        Activation::Softplus => rows_backward_with(a, move |y: F| one - (-y).exp()),
    }
}

#[inline(always)]
fn rows_backward_with<F: Element, D: Fn(F) -> F>(a: RowsBackward<'_, F>, deriv: D) {
    let w = a.width;
    if w == 0 {
        return;
    }
    let df = F::of_f64(w as f64);
    let RowsBackward {
        d,
        out,
        norm,
        mut d_gamma,
        mut d_beta,
        mut d_bias,
        ..
    } = a;
    for (i, (d, y)) in d.chunks_exact_mut(w).zip(out.chunks_exact(w)).enumerate() {
        for (d, &y) in d.iter_mut().zip(y) {
            *d *= deriv(y);
        }
        if let Some(nb) = &norm {
            let xhat = &nb.xhat[i * w..(i + 1) * w];
            if let Some(dg) = d_gamma.as_deref_mut() {
                for ((g, &d), &x) in dg.iter_mut().zip(d.iter()).zip(xhat) {
                    *g += d * x;
                }
            }
            if let Some(db) = d_beta.as_deref_mut() {
                for (b, &d) in db.iter_mut().zip(d.iter()) {
                    *b += d;
                }
            }
            // g = dy gamma; dx = inv (g - mean(g) - x_hat mean(g x_hat)).
            for (d, &g) in d.iter_mut().zip(nb.gamma) {
                *d *= g;
            }
            let mean_g = sum8(d) / df;
            let mean_gx = dot8(d, xhat) / df;
            let inv = nb.inv_std[i];
            for (d, &x) in d.iter_mut().zip(xhat) {
                *d = inv * (*d - mean_g - x * mean_gx);
            }
        }
        if let Some(db) = d_bias.as_deref_mut() {
            for (b, &d) in db.iter_mut().zip(d.iter()) {
                *b += d;
            }
        }
    }
}
