//! Shared inputs.

use bprl_cuda::{GaussianBatch, StdParam};

/// Deterministic pseudo-random `f32`s in `[lo, hi)` (an LCG; inputs only).
pub fn values(n: usize, seed: u64, lo: f32, hi: f32) -> Vec<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            lo + (hi - lo) * ((s >> 40) as f32 / (1u64 << 24) as f32)
        })
        .collect()
}

pub fn batch<'a>(mean: &'a [f32], scale: &'a [f32], rows: usize, dim: usize) -> GaussianBatch<'a> {
    GaussianBatch {
        mean,
        scale,
        param: StdParam::Std,
        rows,
        dim,
    }
}

/// A bound `|got - want| <= atol + rtol |want|`, element by element.
#[derive(Debug, Clone, Copy)]
pub struct Tol {
    /// Absolute part.
    pub atol: f32,
    /// Relative part.
    pub rtol: f32,
}

/// The bounds of GPU results against the CPU references, per kernel and output, for the
/// inputs of `tests/gpu.rs` (means in [-2, 2], stds in [0.05, 3], head pre-activations in
/// [-2, 2]).
///
/// The argument, once: kernels are compiled with `--fmad=false`, `--prec-div=true`,
/// `--prec-sqrt=true`, so `+ - * /` and `sqrtf` round exactly as on the CPU and an output
/// made of them alone is **bit-identical** ([`EXACT`]; the host-compiled kernels in
/// `tests/host.rs` show the arithmetic order matches). Only CUDA's transcendentals differ:
/// the CUDA C Programming Guide bounds `logf`, `expm1f`, `log1pf` by 1 ulp and `expf`,
/// `sinf`, `cosf`, `tanhf` by 2 ulp; glibc's are within 1 ulp; so each transcendental differs
/// by at most 3 ulp = `3 EPS` relative. The bounds below propagate that through each formula,
/// with a margin of about 3. `host::gpu_bounds_hold_for_transcendentals_off_by_3_ulp` checks
/// them without a GPU: the host-compiled kernels with every transcendental moved by up to
/// 3 ulp stay within them.
pub mod tol {
    use super::Tol;

    /// `f32::EPSILON`, one ulp at 1.
    pub const EPS: f32 = f32::EPSILON;

    /// Bit-identical: outputs computed with IEEE operations only.
    pub const EXACT: Tol = Tol {
        atol: 0.0,
        rtol: 0.0,
    };

    /// Row KL over `dim` terms, stds given. Per term `t = e/2 - l + dm^2/2` with
    /// `l = ln r`, `e = expm1(2l)`: `dm^2` is exact, `l` is off by `3 EPS |l|`, `e` by
    /// `2 r^2 Dl + 3 EPS |e|`, so `Dt <= 3 EPS ((r^2 + 1)|l| + |e|/2)`, at most `9.2 * 3 EPS t`
    /// over `r` in [1/60, 60] (rtol `1e-5`) except near `r = 1`, where `t ~ l^2` and
    /// `Dt <= 9 EPS |l|` (atol `1e-6` per term). Terms are `>= 0`, so the row sum keeps both.
    pub fn kl(dim: usize) -> Tol {
        Tol {
            atol: 1e-6 * dim as f32,
            rtol: 1e-5,
        }
    }

    /// Row KL from log-stds: also `expf` (2 ulp) on both stds, which moves `l` by `4 EPS`
    /// absolute and `dm^2` by `4 EPS` relative.
    pub fn kl_log_std(dim: usize) -> Tol {
        Tol {
            atol: 2e-6 * dim as f32,
            rtol: 2e-5,
        }
    }

    /// Gradients from log-stds: `r^2 - 1` with `r` off by `4 EPS` relative is off by
    /// `8 EPS r^2` (cancellation near `r = 1`: atol), `u = (mp - mq)/sq` by `2 EPS`.
    pub const GRAD_LOG_STD: Tol = Tol {
        atol: 2e-6,
        rtol: 1e-5,
    };

    /// Largest `|eps|` Box-Muller can give: `sqrt(-2 ln 2^-32)`.
    pub const MAX_NORMAL: f32 = 6.67;

    /// Actions `mu + sigma eps` for stds up to `max_std`: `eps = rho cos(theta)` is off by
    /// `~5 EPS |eps|` (`logf`, `sqrtf`, `cosf`/`sinf`), so the action by
    /// `5 EPS MAX_NORMAL max_std`, plus one rounding of the sum; `tanh` (2 ulp, slope <= 1)
    /// adds `3 EPS` relative.
    pub fn actions(max_std: f32) -> Tol {
        Tol {
            atol: 2.0 * 5.0 * EPS * MAX_NORMAL * max_std,
            rtol: 6.0 * EPS,
        }
    }

    /// Log-probs over `dim` terms: `eps^2/2` is off by `|eps| D eps <= 5 EPS MAX_NORMAL^2`,
    /// `ln sigma` by `3 EPS |ln sigma|`, the tanh correction by `2 D u + 3 EPS softplus`
    /// (`<= 2e-5`): at most `5e-5` per term.
    pub fn log_prob(dim: usize) -> Tol {
        Tol {
            atol: 5e-5 * dim as f32,
            rtol: 1e-6,
        }
    }

    /// The head's mean, `tanhf`: 3 ulp.
    pub const HEAD_MEAN: Tol = Tol {
        atol: 0.0,
        rtol: 4.0 * EPS,
    };

    /// The head's std, `softplus(x) 0.7 / ln 2 + min_scale` with `expf` and `log1pf`:
    /// `<= 6 ulp` of the softplus part.
    pub const HEAD_STD: Tol = Tol {
        atol: 0.0,
        rtol: 8.0 * EPS,
    };
}

/// Asserts `|got - want| <= tol.atol + tol.rtol |want|` for every element and prints the
/// largest difference and the bound's worst use (`used` = difference / bound).
pub fn assert_close(name: &str, got: &[f32], want: &[f32], tol: Tol) {
    assert_eq!(got.len(), want.len(), "{name}: lengths");
    let (mut max_abs, mut worst, mut at) = (0.0f32, 0.0f32, 0usize);
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let d = (g - w).abs();
        let bound = tol.atol + tol.rtol * w.abs();
        let used = if d == 0.0 {
            0.0
        } else if bound == 0.0 {
            f32::INFINITY
        } else {
            d / bound
        };
        max_abs = max_abs.max(d);
        if used > worst || used.is_nan() {
            (worst, at) = (used, i);
        }
    }
    eprintln!("  {name}: max |diff| {max_abs:e}, worst diff/bound {worst:.3} ({tol:?})");
    assert!(
        worst <= 1.0,
        "{name}: element {at}: got {:e}, want {:e}, bound {tol:?}",
        got[at],
        want[at]
    );
}
