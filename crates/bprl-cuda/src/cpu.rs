//! CPU references of every kernel: the same arithmetic in the same order, so a GPU result can
//! be compared element by element. Also usable on their own (no GPU needed).

use crate::error::{CudaError, Result};
use crate::philox;
use bprl_distributions::kernels::kl_term_unchecked;
use bprl_distributions::softplus;

/// `ln(2 pi) / 2` in `f32`, as the kernels use it.
const HALF_LN_2PI: f32 = 0.918_938_5;
const LN_2: f32 = std::f32::consts::LN_2;

/// How the second array of a [`GaussianBatch`] is parameterized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StdParam {
    /// Standard deviations, `> 0`.
    Std,
    /// Log standard deviations (any finite value); gradients are then with respect to them.
    LogStd,
}

/// A batch of diagonal Gaussians as flat row-major `[rows, dim]` slices.
#[derive(Debug, Clone, Copy)]
pub struct GaussianBatch<'a> {
    /// Means, `rows * dim`.
    pub mean: &'a [f32],
    /// Standard deviations or log standard deviations, `rows * dim`.
    pub scale: &'a [f32],
    /// How `scale` is parameterized.
    pub param: StdParam,
    /// Number of rows `B`.
    pub rows: usize,
    /// Number of dimensions `D`.
    pub dim: usize,
}

impl GaussianBatch<'_> {
    /// Checks lengths, finiteness and (for [`StdParam::Std`]) positivity.
    ///
    /// # Errors
    /// [`CudaError::Shape`], [`CudaError::NonFinite`], [`CudaError::NonPositive`],
    /// [`CudaError::TooLarge`] beyond `u32` rows or dims.
    pub fn validate(&self) -> Result<()> {
        let n = self.rows.checked_mul(self.dim).ok_or(CudaError::TooLarge {
            what: "rows * dim",
            value: usize::MAX,
            limit: u32::MAX as usize,
        })?;
        for (what, v) in [("rows", self.rows), ("dim", self.dim)] {
            if v > i32::MAX as usize {
                return Err(CudaError::TooLarge {
                    what,
                    value: v,
                    limit: i32::MAX as usize,
                });
            }
        }
        for (what, a) in [("mean", self.mean), ("scale", self.scale)] {
            if a.len() != n {
                return Err(CudaError::Shape {
                    what,
                    expected: n,
                    actual: a.len(),
                });
            }
            if let Some(index) = a.iter().position(|v| !v.is_finite()) {
                return Err(CudaError::NonFinite {
                    what,
                    index,
                    value: a[index],
                });
            }
        }
        if self.param == StdParam::Std
            && let Some(index) = self.scale.iter().position(|&v| v <= 0.0)
        {
            return Err(CudaError::NonPositive {
                what: "std",
                index,
                value: self.scale[index],
            });
        }
        Ok(())
    }

    fn std_at(&self, i: usize) -> f32 {
        match self.param {
            StdParam::Std => self.scale[i],
            StdParam::LogStd => self.scale[i].exp(),
        }
    }

    /// `ln sigma` as the sampling kernel computes it: the input itself for log-stds.
    fn log_std_at(&self, i: usize) -> f32 {
        match self.param {
            StdParam::Std => self.scale[i].ln(),
            StdParam::LogStd => self.scale[i],
        }
    }
}

pub(crate) fn check_pair(p: &GaussianBatch<'_>, q: &GaussianBatch<'_>) -> Result<()> {
    p.validate()?;
    q.validate()?;
    if (p.rows, p.dim) != (q.rows, q.dim) {
        return Err(CudaError::Shape {
            what: "prior",
            expected: p.rows * p.dim,
            actual: q.rows * q.dim,
        });
    }
    if p.param != q.param {
        return Err(CudaError::Shape {
            what: "prior parameterization (std vs log-std)",
            expected: 0,
            actual: 1,
        });
    }
    Ok(())
}

/// Per-row `KL(p || q)` summed over dimensions in order (kernel `diag_gaussian_kl_rows`).
///
/// # Formula
/// `sum_d [ expm1(2 l)/2 - l + ((mp - mq)/sq)^2 / 2 ]`, `l = ln(sp/sq)`: the diagonal-Gaussian
/// KL of DESIGN.md section 3 (see `bprl_distributions::kernels::kl_term_unchecked`).
///
/// # Errors
/// Invalid or mismatched batches.
pub fn kl_rows(p: &GaussianBatch<'_>, q: &GaussianBatch<'_>) -> Result<Vec<f32>> {
    check_pair(p, q)?;
    Ok((0..p.rows)
        .map(|r| {
            (r * p.dim..(r + 1) * p.dim).fold(0.0f32, |acc, i| {
                acc + kl_term_unchecked(p.mean[i], p.std_at(i), q.mean[i], q.std_at(i))
            })
        })
        .collect())
}

/// Per-row KL summed in the order of the warp-per-row kernel (`diag_gaussian_kl_rows_warp`):
/// 32 strided partial sums, then a shuffle-down tree.
///
/// # Errors
/// Invalid or mismatched batches.
pub fn kl_rows_warp_order(p: &GaussianBatch<'_>, q: &GaussianBatch<'_>) -> Result<Vec<f32>> {
    check_pair(p, q)?;
    Ok((0..p.rows)
        .map(|r| {
            let base = r * p.dim;
            let mut lanes = [0.0f32; 32];
            for (lane, acc) in lanes.iter_mut().enumerate() {
                let mut i = lane;
                while i < p.dim {
                    let j = base + i;
                    *acc += kl_term_unchecked(p.mean[j], p.std_at(j), q.mean[j], q.std_at(j));
                    i += 32;
                }
            }
            let mut offset = 16;
            while offset > 0 {
                for lane in 0..32 - offset {
                    lanes[lane] += lanes[lane + offset];
                }
                offset /= 2;
            }
            lanes[0]
        })
        .collect())
}

/// Row KLs and gradients with respect to all four inputs (kernel `diag_gaussian_kl_rows_grad`).
#[derive(Debug, Clone, PartialEq)]
pub struct KlWithGrad {
    /// `KL(p || q)` per row.
    pub kl: Vec<f32>,
    /// `dKL/dmu_p`, `[rows * dim]`.
    pub d_mean_p: Vec<f32>,
    /// `dKL/dsigma_p` (or `/d ln sigma_p` for [`StdParam::LogStd`]).
    pub d_scale_p: Vec<f32>,
    /// `dKL/dmu_q`.
    pub d_mean_q: Vec<f32>,
    /// `dKL/dsigma_q` (or `/d ln sigma_q`).
    pub d_scale_q: Vec<f32>,
}

/// Row KLs and their gradients.
///
/// # Formula
/// With `r = sp/sq`, `u = (mp - mq)/sq`: `d/dmp = u/sq`, `d/dmq = -u/sq`,
/// `d/dsp = (r^2 - 1)/sp`, `d/dsq = (1 - r^2 - u^2)/sq` (times `s` for log-stds).
///
/// # Errors
/// Invalid or mismatched batches.
pub fn kl_rows_grad(p: &GaussianBatch<'_>, q: &GaussianBatch<'_>) -> Result<KlWithGrad> {
    let kl = kl_rows(p, q)?;
    let n = p.rows * p.dim;
    let mut out = KlWithGrad {
        kl,
        d_mean_p: vec![0.0; n],
        d_scale_p: vec![0.0; n],
        d_mean_q: vec![0.0; n],
        d_scale_q: vec![0.0; n],
    };
    for j in 0..n {
        let (s1, s2) = (p.std_at(j), q.std_at(j));
        let r = s1 / s2;
        let u = (p.mean[j] - q.mean[j]) / s2;
        let r2m1 = r * r - 1.0;
        out.d_mean_p[j] = u / s2;
        out.d_mean_q[j] = -u / s2;
        match p.param {
            StdParam::LogStd => {
                out.d_scale_p[j] = r2m1;
                out.d_scale_q[j] = -r2m1 - u * u;
            }
            StdParam::Std => {
                out.d_scale_p[j] = r2m1 / s1;
                out.d_scale_q[j] = (-r2m1 - u * u) / s2;
            }
        }
    }
    Ok(out)
}

/// Reparameterized samples and their log-probabilities.
#[derive(Debug, Clone, PartialEq)]
pub struct Samples {
    /// Actions, `[samples, rows, dim]`.
    pub actions: Vec<f32>,
    /// Log-probabilities, `[samples, rows]`.
    pub log_prob: Vec<f32>,
}

pub(crate) fn check_samples(samples: usize, rows: usize) -> Result<()> {
    if samples > i32::MAX as usize || samples.saturating_mul(rows) > i32::MAX as usize * 2 {
        return Err(CudaError::TooLarge {
            what: "samples",
            value: samples,
            limit: i32::MAX as usize,
        });
    }
    Ok(())
}

/// `S` samples per row (kernel `sample_diag_gaussian`).
///
/// # Formula
/// `eps = philox::normals4(seed, row, s, d / 4)[d % 4]`, `u = mu + sigma eps`;
/// `log_prob = sum_d [ -eps^2/2 - ln sigma - ln(2 pi)/2 ]`; with `squash`, `a = tanh(u)` and
/// `log_prob -= sum_d 2 (ln 2 - u - softplus(-2u))` (the Jacobian of tanh). For
/// [`StdParam::LogStd`], `sigma = exp(scale)` and `ln sigma = scale` (no round trip).
///
/// # Errors
/// An invalid batch (both parameterizations are accepted, as on the GPU), too many samples.
pub fn sample(
    dist: &GaussianBatch<'_>,
    samples: usize,
    seed: u64,
    squash: bool,
) -> Result<Samples> {
    dist.validate()?;
    check_samples(samples, dist.rows)?;
    let (rows, dim) = (dist.rows, dist.dim);
    let mut actions = vec![0.0f32; samples * rows * dim];
    let mut log_prob = vec![0.0f32; samples * rows];
    for s in 0..samples {
        for row in 0..rows {
            let idx = s * rows + row;
            let mut lp = 0.0f32;
            for q in (0..dim).step_by(4) {
                let eps = philox::normals4(seed, row as u32, s as u32, (q / 4) as u32);
                for (k, &e) in eps.iter().enumerate().take(dim - q) {
                    let i = row * dim + q + k;
                    let (m, sd) = (dist.mean[i], dist.std_at(i));
                    let mut u = m + sd * e;
                    lp += -0.5 * e * e - dist.log_std_at(i) - HALF_LN_2PI;
                    if squash {
                        lp -= 2.0 * (LN_2 - u - softplus(-2.0 * u));
                        u = u.tanh();
                    }
                    actions[idx * dim + q + k] = u;
                }
            }
            log_prob[idx] = lp;
        }
    }
    Ok(Samples { actions, log_prob })
}

/// The outputs of the fused policy head.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadOutput {
    /// `tanh(raw_mean)`, `[rows, dim]`.
    pub mean: Vec<f32>,
    /// `softplus(raw_std) 0.7 / ln 2 + min_scale`, `[rows, dim]`.
    pub std: Vec<f32>,
    /// Samples, `[samples, rows, dim]`.
    pub actions: Vec<f32>,
    /// Their log-probabilities, `[samples, rows]`.
    pub log_prob: Vec<f32>,
    /// `KL(head || prior)` per row.
    pub kl: Vec<f32>,
}

/// Acme's Gaussian head, sampling, log-probs and the KL to a prior in one pass (kernel
/// `fused_policy_head`). `raw` is `[rows, 2 dim]`: the mean pre-activations, then the std
/// pre-activations.
///
/// # Errors
/// Bad lengths, non-finite values, `min_scale <= 0`, an invalid prior.
pub fn fused_policy_head(
    raw: &[f32],
    prior: &GaussianBatch<'_>,
    min_scale: f32,
    samples: usize,
    seed: u64,
) -> Result<HeadOutput> {
    check_head(raw, prior, min_scale, samples)?;
    let (rows, dim) = (prior.rows, prior.dim);
    let scale = 0.7 / LN_2;
    let mut out = HeadOutput {
        mean: vec![0.0; rows * dim],
        std: vec![0.0; rows * dim],
        actions: vec![0.0; samples * rows * dim],
        log_prob: vec![0.0; samples * rows],
        kl: vec![0.0; rows],
    };
    for row in 0..rows {
        let mut acc = 0.0f32;
        for d in 0..dim {
            let i = row * dim + d;
            let m = raw[row * 2 * dim + d].tanh();
            let sd = softplus(raw[row * 2 * dim + dim + d]) * scale + min_scale;
            out.mean[i] = m;
            out.std[i] = sd;
            acc += kl_term_unchecked(m, sd, prior.mean[i], prior.std_at(i));
        }
        out.kl[row] = acc;
        for s in 0..samples {
            let mut lp = 0.0f32;
            for q in (0..dim).step_by(4) {
                let eps = philox::normals4(seed, row as u32, s as u32, (q / 4) as u32);
                for (k, &e) in eps.iter().enumerate().take(dim - q) {
                    let i = row * dim + q + k;
                    let (m, sd) = (out.mean[i], out.std[i]);
                    out.actions[(s * rows + row) * dim + q + k] = m + sd * e;
                    lp += -0.5 * e * e - sd.ln() - HALF_LN_2PI;
                }
            }
            out.log_prob[s * rows + row] = lp;
        }
    }
    Ok(out)
}

pub(crate) fn check_head(
    raw: &[f32],
    prior: &GaussianBatch<'_>,
    min_scale: f32,
    samples: usize,
) -> Result<()> {
    prior.validate()?;
    if prior.param != StdParam::Std {
        return Err(CudaError::Shape {
            what: "prior parameterization (the head's prior takes stds)",
            expected: 0,
            actual: 1,
        });
    }
    check_samples(samples, prior.rows)?;
    let n = 2 * prior.rows * prior.dim;
    if raw.len() != n {
        return Err(CudaError::Shape {
            what: "raw",
            expected: n,
            actual: raw.len(),
        });
    }
    if let Some(index) = raw.iter().position(|v| !v.is_finite()) {
        return Err(CudaError::NonFinite {
            what: "raw",
            index,
            value: raw[index],
        });
    }
    if !(min_scale.is_finite() && min_scale > 0.0) {
        return Err(CudaError::NonPositive {
            what: "min_scale",
            index: 0,
            value: min_scale,
        });
    }
    Ok(())
}
