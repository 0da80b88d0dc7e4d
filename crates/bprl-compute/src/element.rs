//! The scalar types the kernels compute in.

use ndarray::NdFloat;

/// A real number type the kernels compute in: `f32` (the training type, with the SIMD paths and
/// the fast exponentials of [`crate::fastmath`]) or `f64` (exact libm functions, for
/// finite-difference gradient checks).
///
/// The trait is the smallest the kernels need: `ndarray`'s float (arithmetic, `sqrt`, `exp`,
/// views, the general product) plus the two activation functions whose `f32` versions are ours.
/// `bprl-nn`'s `Scalar` builds on it with what storage needs (safetensors dtype, bytes).
pub trait Element: NdFloat {
    /// Converts an `f64` constant (rounding to nearest for `f32`).
    fn of_f64(x: f64) -> Self;
    /// `tanh` as the activations compute it: vectorizable for `f32` ([`crate::fastmath::tanh`]),
    /// libm's for `f64`.
    fn act_tanh(self) -> Self;
    /// `e^x - 1` as the activations compute it (see [`Element::act_tanh`]).
    fn act_exp_m1(self) -> Self;
    /// `e^x` as the tiled passes compute it ([`crate::fastmath::exp`] for `f32`).
    fn act_exp(self) -> Self;
    /// `softplus(x) = ln(1 + e^x)` as the tiled passes compute it
    /// ([`crate::fastmath::softplus`] for `f32`; `max(x, 0) + ln_1p(e^{-|x|})` with libm for
    /// `f64`).
    fn act_softplus(self) -> Self;
}

impl Element for f32 {
    #[inline(always)]
    fn of_f64(x: f64) -> Self {
        x as f32
    }
    #[inline(always)]
    fn act_tanh(self) -> Self {
        crate::fastmath::tanh(self)
    }
    #[inline(always)]
    fn act_exp_m1(self) -> Self {
        crate::fastmath::exp_m1(self)
    }
    #[inline(always)]
    fn act_exp(self) -> Self {
        crate::fastmath::exp(self)
    }
    #[inline(always)]
    fn act_softplus(self) -> Self {
        crate::fastmath::softplus(self)
    }
}

impl Element for f64 {
    #[inline(always)]
    fn of_f64(x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn act_tanh(self) -> Self {
        f64::tanh(self)
    }
    #[inline(always)]
    fn act_exp_m1(self) -> Self {
        f64::exp_m1(self)
    }
    #[inline(always)]
    fn act_exp(self) -> Self {
        f64::exp(self)
    }
    #[inline(always)]
    fn act_softplus(self) -> Self {
        self.max(0.0) + (-self.abs()).exp().ln_1p()
    }
}
