//! The kernels on a GPU, through cudarc. Every entry point checks that the CUDA libraries can
//! be loaded *before* any other cudarc call (cudarc panics when a library is missing).

use crate::compile::{
    compile_cubin, compile_kernels, nvrtc_available, nvrtc_supported_archs, nvrtc_version,
};
use crate::cpu::{
    GaussianBatch, HeadOutput, KlWithGrad, Samples, StdParam, check_head, check_pair, check_samples,
};
use crate::error::{CudaError, Result};
use crate::launch::{Kernel, LaunchPlan, Param, head_plan, kl_grad_plan, kl_plan, sample_plan};
use cudarc::driver::{
    CudaContext, CudaFunction, CudaModule, CudaSlice, CudaStream, LaunchArgs, LaunchConfig,
    PushKernelArg, sys,
};
use cudarc::nvrtc::Ptx;
use std::sync::Arc;

/// Whether a CUDA driver library can be loaded (a GPU may be present).
pub fn driver_available() -> bool {
    // SAFETY: only tries to dlopen the library by name; no other cudarc state is touched.
    unsafe { sys::is_culib_present() }
}

fn driver_error<E: std::fmt::Debug>(e: E) -> CudaError {
    CudaError::Driver(format!("{e:?}"))
}

/// Checks that device buffers of `mean_len` and `scale_len` values hold a `[rows, dim]`
/// batch the kernels can index.
pub(crate) fn check_device_lengths(
    mean_len: usize,
    scale_len: usize,
    rows: usize,
    dim: usize,
) -> Result<()> {
    for (what, v) in [("rows", rows), ("dim", dim)] {
        if v > i32::MAX as usize {
            return Err(CudaError::TooLarge {
                what,
                value: v,
                limit: i32::MAX as usize,
            });
        }
    }
    let n = rows * dim;
    for (what, len) in [("device mean", mean_len), ("device scale", scale_len)] {
        if len != n {
            return Err(CudaError::Shape {
                what,
                expected: n,
                actual: len,
            });
        }
    }
    Ok(())
}

/// A batch of Gaussians on the device, `[rows, dim]` each. Built by [`DeviceGaussian::new`]
/// or [`Gpu::upload`], which check the buffer lengths, so the safe launches never read past
/// a buffer.
#[derive(Debug)]
pub struct DeviceGaussian {
    mean: CudaSlice<f32>,
    scale: CudaSlice<f32>,
    param: StdParam,
    rows: usize,
    dim: usize,
}

impl DeviceGaussian {
    /// Wraps device buffers as a `[rows, dim]` batch (values are not checked: no copy back).
    ///
    /// # Errors
    /// [`CudaError::Shape`] unless both buffers hold exactly `rows * dim` values;
    /// [`CudaError::TooLarge`] beyond `i32` rows or dims.
    pub fn new(
        mean: CudaSlice<f32>,
        scale: CudaSlice<f32>,
        param: StdParam,
        rows: usize,
        dim: usize,
    ) -> Result<Self> {
        check_device_lengths(mean.len(), scale.len(), rows, dim)?;
        Ok(Self {
            mean,
            scale,
            param,
            rows,
            dim,
        })
    }

    /// Means, `rows * dim`.
    pub fn mean(&self) -> &CudaSlice<f32> {
        &self.mean
    }

    /// Stds or log-stds, `rows * dim`.
    pub fn scale(&self) -> &CudaSlice<f32> {
        &self.scale
    }

    /// How [`DeviceGaussian::scale`] is parameterized.
    pub fn param(&self) -> StdParam {
        self.param
    }

    /// Rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Dimensions.
    pub fn dim(&self) -> usize {
        self.dim
    }
}

/// Which compiled form of the kernels [`Gpu::new`] loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KernelImage {
    /// Device code for the device's own architecture (`sm_XY`): no JIT, no PTX version check.
    Cubin {
        /// The architecture, e.g. `sm_90`.
        arch: String,
    },
    /// PTX for `compute_XY`, JIT-compiled by the driver (the fallback).
    Ptx {
        /// The virtual architecture, e.g. `compute_90`.
        arch: String,
        /// Why no cubin was used.
        cubin_error: String,
    },
}

impl std::fmt::Display for KernelImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KernelImage::Cubin { arch } => write!(f, "cubin {arch}"),
            KernelImage::Ptx { arch, cubin_error } => {
                write!(f, "PTX {arch} (no cubin: {cubin_error})")
            }
        }
    }
}

/// A GPU with the kernels loaded.
#[derive(Debug)]
pub struct Gpu {
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    functions: Vec<CudaFunction>,
    name: String,
    image: KernelImage,
    nvrtc: (i32, i32),
    driver: (i32, i32),
}

/// The CUDA version the driver supports, `(major, minor)`.
fn driver_version() -> Result<(i32, i32)> {
    let mut v = 0;
    // SAFETY: the driver library is present (checked by the caller); `v` is valid for writes.
    unsafe { sys::cuDriverGetVersion(&mut v) }
        .result()
        .map_err(driver_error)?;
    Ok((v / 1000, (v % 1000) / 10))
}

fn open_context(ordinal: usize) -> Result<Arc<CudaContext>> {
    CudaContext::new(ordinal).map_err(|e| match e.0 {
        sys::CUresult::CUDA_ERROR_NO_DEVICE | sys::CUresult::CUDA_ERROR_INVALID_DEVICE => {
            CudaError::NoDevice {
                ordinal,
                detail: format!("{e:?}"),
            }
        }
        _ => driver_error(e),
    })
}

/// The cubin for compute capability `cc` (`10 major + minor`), loaded; or why not.
fn load_cubin(
    ctx: &Arc<CudaContext>,
    cc: i32,
    nvrtc: (i32, i32),
    driver: (i32, i32),
) -> std::result::Result<Arc<CudaModule>, String> {
    let archs = nvrtc_supported_archs().map_err(|e| e.to_string())?;
    if !archs.contains(&cc) {
        return Err(format!(
            "NVRTC {}.{} cannot compile for sm_{cc} (it knows {archs:?})",
            nvrtc.0, nvrtc.1
        ));
    }
    if nvrtc.0 > driver.0 {
        return Err(format!(
            "a cubin from NVRTC {}.{} needs a CUDA {} driver; this one supports CUDA {}.{}",
            nvrtc.0, nvrtc.1, nvrtc.0, driver.0, driver.1
        ));
    }
    let cubin = compile_cubin(&format!("sm_{cc}")).map_err(|e| e.to_string())?;
    ctx.load_module(Ptx::from_binary(cubin))
        .map_err(|e| format!("the driver rejected the sm_{cc} cubin: {e:?}"))
}

/// Loads the kernels: a cubin for the device's architecture when NVRTC and the driver allow,
/// else PTX after a version check.
fn load_kernels(
    ctx: &Arc<CudaContext>,
    nvrtc: (i32, i32),
    driver: (i32, i32),
) -> Result<(Arc<CudaModule>, KernelImage)> {
    let (major, minor) = ctx.compute_capability().map_err(driver_error)?;
    let cc = 10 * major + minor;
    let cubin_error = match load_cubin(ctx, cc, nvrtc, driver) {
        Ok(module) => {
            let arch = format!("sm_{cc}");
            return Ok((module, KernelImage::Cubin { arch }));
        }
        Err(e) => e,
    };
    if nvrtc > driver {
        return Err(CudaError::PtxTooNew {
            nvrtc,
            driver,
            cubin: cubin_error,
        });
    }
    let arch = format!("compute_{cc}");
    let ptx = compile_kernels(Some(&arch))?;
    let module = ctx
        .load_module(Ptx::from_src(ptx))
        .map_err(|e| CudaError::Load {
            image: format!("PTX {arch}"),
            detail: format!("{e:?}"),
        })?;
    Ok((module, KernelImage::Ptx { arch, cubin_error }))
}

/// One launch's arguments, recorded by type and checked against [`Kernel::params`] (the
/// table the NVRTC tests check against the `.cu` signatures and the PTX) before launching.
struct Args<'a> {
    kernel: Kernel,
    kinds: Vec<Param>,
    builder: LaunchArgs<'a>,
}

impl<'a> Args<'a> {
    fn new(gpu: &'a Gpu, kernel: Kernel) -> Self {
        Self {
            kernel,
            kinds: Vec::with_capacity(kernel.params().len()),
            builder: gpu.stream.launch_builder(&gpu.functions[kernel as usize]),
        }
    }

    fn input(&mut self, x: &'a CudaSlice<f32>) -> &mut Self {
        self.builder.arg(x);
        self.kinds.push(Param::InF32);
        self
    }

    fn output(&mut self, x: &'a mut CudaSlice<f32>) -> &mut Self {
        self.builder.arg(x);
        self.kinds.push(Param::OutF32);
        self
    }

    fn int(&mut self, x: &'a i32) -> &mut Self {
        self.builder.arg(x);
        self.kinds.push(Param::I32);
        self
    }

    fn uint64(&mut self, x: &'a u64) -> &mut Self {
        self.builder.arg(x);
        self.kinds.push(Param::U64);
        self
    }

    fn float(&mut self, x: &'a f32) -> &mut Self {
        self.builder.arg(x);
        self.kinds.push(Param::F32);
        self
    }

    /// Launches after checking the argument types against the kernel's parameter list.
    ///
    /// The caller guarantees that every buffer holds what the kernel indexes for the
    /// `rows`, `dim` and `samples` it was given.
    fn launch(&mut self, plan: LaunchPlan) -> Result<()> {
        assert_eq!(plan.kernel, self.kernel, "launch plan of another kernel");
        assert_eq!(
            self.kinds,
            self.kernel.params(),
            "arguments of `{}` do not match its parameter list",
            self.kernel.name()
        );
        let cfg = LaunchConfig {
            grid_dim: (plan.blocks, 1, 1),
            block_dim: (plan.threads, 1, 1),
            shared_mem_bytes: 0,
        };
        // SAFETY: the argument types and order match the kernel's signature (checked just
        // above against the table the tests check against the source and the PTX), and the
        // callers size every buffer for the shapes passed.
        unsafe { self.builder.launch(cfg) }.map_err(driver_error)?;
        Ok(())
    }
}

impl Gpu {
    /// Opens device `ordinal`, compiles the kernels with the NVRTC found on this machine (a
    /// cubin for the device's own architecture when NVRTC and the driver allow, else PTX
    /// after checking NVRTC is not newer than the driver), and loads them.
    ///
    /// # Errors
    /// [`CudaError::NoDriver`] or [`CudaError::NoNvrtc`] when a library is missing (checked
    /// first), [`CudaError::NoDevice`] when there is no such device, [`CudaError::PtxTooNew`],
    /// [`CudaError::Compile`], [`CudaError::Load`], [`CudaError::Driver`].
    pub fn new(ordinal: usize) -> Result<Self> {
        if !driver_available() {
            return Err(CudaError::NoDriver);
        }
        if !nvrtc_available() {
            return Err(CudaError::NoNvrtc);
        }
        let ctx = open_context(ordinal)?;
        let (nvrtc, driver) = (nvrtc_version()?, driver_version()?);
        let (module, image) = load_kernels(&ctx, nvrtc, driver)?;
        let functions = Kernel::ALL
            .iter()
            .map(|k| {
                module.load_function(k.name()).map_err(|e| CudaError::Load {
                    image: format!("entry point {} of the {image}", k.name()),
                    detail: format!("{e:?}"),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let name = ctx.name().map_err(driver_error)?;
        let stream = ctx.default_stream();
        Ok(Self {
            ctx,
            stream,
            functions,
            name,
            image,
            nvrtc,
            driver,
        })
    }

    /// Which compiled form of the kernels was loaded (cubin or PTX, and the architecture).
    pub fn image(&self) -> &KernelImage {
        &self.image
    }

    /// The NVRTC version that compiled the kernels, `(major, minor)`.
    pub fn nvrtc_version(&self) -> (i32, i32) {
        self.nvrtc
    }

    /// The CUDA version the driver supports, `(major, minor)`.
    pub fn driver_version(&self) -> (i32, i32) {
        self.driver
    }

    /// The device's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The stream kernels run on.
    pub fn stream(&self) -> &Arc<CudaStream> {
        &self.stream
    }

    /// The context.
    pub fn context(&self) -> &Arc<CudaContext> {
        &self.ctx
    }

    /// Waits for queued work.
    ///
    /// # Errors
    /// [`CudaError::Driver`].
    pub fn synchronize(&self) -> Result<()> {
        self.stream.synchronize().map_err(driver_error)
    }

    /// Copies a validated host batch to the device.
    ///
    /// # Errors
    /// An invalid batch; [`CudaError::Driver`].
    pub fn upload(&self, b: &GaussianBatch<'_>) -> Result<DeviceGaussian> {
        b.validate()?;
        Ok(DeviceGaussian {
            mean: self.stream.clone_htod(b.mean).map_err(driver_error)?,
            scale: self.stream.clone_htod(b.scale).map_err(driver_error)?,
            param: b.param,
            rows: b.rows,
            dim: b.dim,
        })
    }

    /// Launches the row-KL kernel on device data (no synchronization): thread per row up to
    /// [`crate::WARP_KL_MIN_DIM`] dimensions, warp per row above ([`crate::launch::kl_plan`]).
    ///
    /// # Errors
    /// [`CudaError::Shape`] for batches of different shapes or parameterizations or an `out`
    /// shorter than `rows`; [`CudaError::Driver`].
    pub fn launch_kl(
        &self,
        p: &DeviceGaussian,
        q: &DeviceGaussian,
        out: &mut CudaSlice<f32>,
    ) -> Result<()> {
        if (p.rows, p.dim) != (q.rows, q.dim) {
            return Err(CudaError::Shape {
                what: "device prior",
                expected: p.rows * p.dim,
                actual: q.rows * q.dim,
            });
        }
        if p.param != q.param {
            return Err(CudaError::Shape {
                what: "device prior parameterization (std vs log-std)",
                expected: 0,
                actual: 1,
            });
        }
        if out.len() < p.rows {
            return Err(CudaError::Shape {
                what: "KL output",
                expected: p.rows,
                actual: out.len(),
            });
        }
        let (rows, dim, flag) = (p.rows as i32, p.dim as i32, log_flag(p.param));
        let plan = kl_plan(p.rows, p.dim);
        let mut a = Args::new(self, plan.kernel);
        a.input(&p.mean)
            .input(&p.scale)
            .input(&q.mean)
            .input(&q.scale)
            .output(out)
            .int(&rows)
            .int(&dim)
            .int(&flag);
        a.launch(plan)
    }

    /// Per-row `KL(p || q)` on the GPU; compare with [`crate::cpu::kl_rows`] (up to
    /// [`crate::WARP_KL_MIN_DIM`] dimensions) or [`crate::cpu::kl_rows_warp_order`] (above).
    ///
    /// # Errors
    /// Invalid batches; [`CudaError::Driver`].
    pub fn kl_rows(&self, p: &GaussianBatch<'_>, q: &GaussianBatch<'_>) -> Result<Vec<f32>> {
        check_pair(p, q)?;
        let (dp, dq) = (self.upload(p)?, self.upload(q)?);
        let mut out = self.zeros(p.rows)?;
        self.launch_kl(&dp, &dq, &mut out)?;
        self.download(&out, p.rows)
    }

    /// Row KLs and their gradients in one pass; compare with [`crate::cpu::kl_rows_grad`].
    ///
    /// # Errors
    /// Invalid batches; [`CudaError::Driver`].
    pub fn kl_rows_grad(&self, p: &GaussianBatch<'_>, q: &GaussianBatch<'_>) -> Result<KlWithGrad> {
        check_pair(p, q)?;
        let (dp, dq) = (self.upload(p)?, self.upload(q)?);
        let m = p.rows * p.dim;
        let mut kl = self.zeros(p.rows)?;
        let [mut g0, mut g1, mut g2, mut g3] = [
            self.zeros(m)?,
            self.zeros(m)?,
            self.zeros(m)?,
            self.zeros(m)?,
        ];
        let (rows, dim, flag) = (p.rows as i32, p.dim as i32, log_flag(p.param));
        let plan = kl_grad_plan(p.rows);
        let mut a = Args::new(self, plan.kernel);
        a.input(&dp.mean)
            .input(&dp.scale)
            .input(&dq.mean)
            .input(&dq.scale)
            .output(&mut kl)
            .output(&mut g0)
            .output(&mut g1)
            .output(&mut g2)
            .output(&mut g3)
            .int(&rows)
            .int(&dim)
            .int(&flag);
        // Every buffer holds rows * dim (or rows) values, as the kernel indexes.
        a.launch(plan)?;
        drop(a);
        Ok(KlWithGrad {
            kl: self.download(&kl, p.rows)?,
            d_mean_p: self.download(&g0, m)?,
            d_scale_p: self.download(&g1, m)?,
            d_mean_q: self.download(&g2, m)?,
            d_scale_q: self.download(&g3, m)?,
        })
    }

    /// Launches the sampling kernel on device data (no synchronization). Both
    /// parameterizations are accepted, as by [`crate::cpu::sample`].
    ///
    /// # Errors
    /// [`CudaError::TooLarge`] for too many samples, [`CudaError::Shape`] for short outputs
    /// (`actions` needs `samples * rows * dim`, `log_prob` `samples * rows`);
    /// [`CudaError::Driver`].
    pub fn launch_sample(
        &self,
        dist: &DeviceGaussian,
        samples: usize,
        seed: u64,
        squash: bool,
        actions: &mut CudaSlice<f32>,
        log_prob: &mut CudaSlice<f32>,
    ) -> Result<()> {
        check_samples(samples, dist.rows)?;
        let total = samples * dist.rows;
        for (what, need, len) in [
            ("actions", total * dist.dim, actions.len()),
            ("log_prob", total, log_prob.len()),
        ] {
            if len < need {
                return Err(CudaError::Shape {
                    what,
                    expected: need,
                    actual: len,
                });
            }
        }
        let (rows, dim, s) = (dist.rows as i32, dist.dim as i32, samples as i32);
        let (sq, flag) = (i32::from(squash), log_flag(dist.param));
        let plan = sample_plan(dist.rows, samples);
        let mut a = Args::new(self, plan.kernel);
        a.input(&dist.mean)
            .input(&dist.scale)
            .output(actions)
            .output(log_prob)
            .int(&rows)
            .int(&dim)
            .int(&s)
            .uint64(&seed)
            .int(&sq)
            .int(&flag);
        a.launch(plan)
    }

    /// `S` reparameterized samples per row and their log-probs; compare with
    /// [`crate::cpu::sample`] (same checks: both parameterizations, the same sample limit).
    ///
    /// # Errors
    /// An invalid batch, too many samples; [`CudaError::Driver`].
    pub fn sample(
        &self,
        dist: &GaussianBatch<'_>,
        samples: usize,
        seed: u64,
        squash: bool,
    ) -> Result<Samples> {
        dist.validate()?;
        check_samples(samples, dist.rows)?;
        let d = self.upload(dist)?;
        let total = samples * dist.rows;
        let mut actions = self.zeros(total * dist.dim)?;
        let mut log_prob = self.zeros(total)?;
        self.launch_sample(&d, samples, seed, squash, &mut actions, &mut log_prob)?;
        Ok(Samples {
            actions: self.download(&actions, total * dist.dim)?,
            log_prob: self.download(&log_prob, total)?,
        })
    }

    /// The fused policy head; compare with [`crate::cpu::fused_policy_head`].
    ///
    /// # Errors
    /// Invalid inputs; [`CudaError::Driver`].
    pub fn fused_policy_head(
        &self,
        raw: &[f32],
        prior: &GaussianBatch<'_>,
        min_scale: f32,
        samples: usize,
        seed: u64,
    ) -> Result<HeadOutput> {
        check_head(raw, prior, min_scale, samples)?;
        let (rows, dim) = (prior.rows, prior.dim);
        let raw_d = self.stream.clone_htod(raw).map_err(driver_error)?;
        let pr = self.upload(prior)?;
        let (mut mean, mut std) = (self.zeros(rows * dim)?, self.zeros(rows * dim)?);
        let mut actions = self.zeros(samples * rows * dim)?;
        let mut log_prob = self.zeros(samples * rows)?;
        let mut kl = self.zeros(rows)?;
        let (r, d, sm) = (rows as i32, dim as i32, samples as i32);
        let plan = head_plan(rows);
        let mut a = Args::new(self, plan.kernel);
        a.input(&raw_d)
            .input(&pr.mean)
            .input(&pr.scale)
            .float(&min_scale)
            .output(&mut mean)
            .output(&mut std)
            .output(&mut actions)
            .output(&mut log_prob)
            .output(&mut kl)
            .int(&r)
            .int(&d)
            .int(&sm)
            .uint64(&seed);
        // Buffers sized above for rows, dim and samples.
        a.launch(plan)?;
        drop(a);
        Ok(HeadOutput {
            mean: self.download(&mean, rows * dim)?,
            std: self.download(&std, rows * dim)?,
            actions: self.download(&actions, samples * rows * dim)?,
            log_prob: self.download(&log_prob, samples * rows)?,
            kl: self.download(&kl, rows)?,
        })
    }

    /// A zeroed device buffer of `n` values (at least one: cudarc rejects empty ones).
    fn zeros(&self, n: usize) -> Result<CudaSlice<f32>> {
        self.stream
            .alloc_zeros::<f32>(n.max(1))
            .map_err(driver_error)
    }

    /// The first `len` values of a device buffer.
    fn download(&self, x: &CudaSlice<f32>, len: usize) -> Result<Vec<f32>> {
        let mut v = self.stream.clone_dtoh(x).map_err(driver_error)?;
        v.truncate(len);
        Ok(v)
    }
}

fn log_flag(param: StdParam) -> i32 {
    i32::from(param == StdParam::LogStd)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression (issue 20): `DeviceGaussian`'s fields were public, so safe code could pair a
    /// short buffer with large `rows * dim` and the kernels read past it. Construction now
    /// checks the lengths.
    #[test]
    fn device_lengths_must_match_rows_times_dim() {
        assert!(check_device_lengths(12, 12, 3, 4).is_ok());
        assert!(matches!(
            check_device_lengths(11, 12, 3, 4),
            Err(CudaError::Shape {
                what: "device mean",
                expected: 12,
                actual: 11
            })
        ));
        assert!(matches!(
            check_device_lengths(12, 13, 3, 4),
            Err(CudaError::Shape {
                what: "device scale",
                ..
            })
        ));
        assert!(matches!(
            check_device_lengths(0, 0, 1 << 31, 0),
            Err(CudaError::TooLarge { what: "rows", .. })
        ));
    }
}
