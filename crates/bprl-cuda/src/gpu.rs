//! The kernels on a GPU, through cudarc. Every entry point checks that the CUDA libraries can
//! be loaded *before* any other cudarc call (cudarc panics when a library is missing).

use crate::cpu::{
    GaussianBatch, HeadOutput, KlWithGrad, Samples, StdParam, check_head, check_pair,
};
use crate::error::{CudaError, Result};
use cudarc::driver::{
    CudaContext, CudaFunction, CudaSlice, CudaStream, LaunchConfig, PushKernelArg,
};
use cudarc::nvrtc::{CompileOptions, Ptx};
use std::sync::Arc;

/// The kernels' CUDA C source (header-free, for NVRTC).
pub const KERNEL_SOURCE: &str = include_str!("../kernels/bprl_kernels.cu");

/// The kernel entry points in [`KERNEL_SOURCE`].
pub const KERNEL_NAMES: [&str; 5] = [
    "diag_gaussian_kl_rows",
    "diag_gaussian_kl_rows_warp",
    "diag_gaussian_kl_rows_grad",
    "sample_diag_gaussian",
    "fused_policy_head",
];

/// Dimensions above which the KL uses the warp-per-row kernel.
pub const WARP_KL_MIN_DIM: usize = 64;

const BLOCK: u32 = 256;

/// Whether an NVRTC library can be loaded (kernels can be compiled; no GPU needed).
pub fn nvrtc_available() -> bool {
    // SAFETY: only tries to dlopen the library by name; no other cudarc state is touched.
    unsafe { cudarc::nvrtc::sys::is_culib_present() }
}

/// Whether a CUDA driver library can be loaded (a GPU may be present).
pub fn driver_available() -> bool {
    // SAFETY: as above, a dlopen probe.
    unsafe { cudarc::driver::sys::is_culib_present() }
}

/// Compiles every kernel to PTX with NVRTC, for a virtual architecture such as
/// `"compute_90"` (or NVRTC's default with `None`). Needs NVRTC only, no GPU.
///
/// # Errors
/// [`CudaError::NoNvrtc`] if the library is missing, [`CudaError::Compile`] with NVRTC's log.
pub fn compile_kernels(arch: Option<&'static str>) -> Result<Ptx> {
    if !nvrtc_available() {
        return Err(CudaError::NoNvrtc);
    }
    let opts = CompileOptions {
        arch,
        name: Some("bprl_kernels.cu".into()),
        ..CompileOptions::default()
    };
    cudarc::nvrtc::compile_ptx_with_opts(KERNEL_SOURCE, opts)
        .map_err(|e| CudaError::Compile(format!("{e:?}")))
}

fn driver<E: std::fmt::Debug>(e: E) -> CudaError {
    CudaError::Driver(format!("{e:?}"))
}

fn grid(n: usize, per_block: usize) -> LaunchConfig {
    let blocks = n.div_ceil(per_block).clamp(1, 65_535) as u32;
    LaunchConfig {
        grid_dim: (blocks, 1, 1),
        block_dim: (BLOCK, 1, 1),
        shared_mem_bytes: 0,
    }
}

/// A batch of Gaussians on the device, `[rows, dim]` each.
#[derive(Debug)]
pub struct DeviceGaussian {
    /// Means.
    pub mean: CudaSlice<f32>,
    /// Stds or log-stds.
    pub scale: CudaSlice<f32>,
    /// How `scale` is parameterized.
    pub param: StdParam,
    /// Rows.
    pub rows: usize,
    /// Dimensions.
    pub dim: usize,
}

/// A GPU with the kernels loaded.
#[derive(Debug)]
pub struct Gpu {
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    functions: Vec<CudaFunction>,
    name: String,
}

impl Gpu {
    /// Opens device `ordinal`, compiles the kernels for its architecture with the NVRTC found
    /// on this machine, and loads them.
    ///
    /// # Errors
    /// [`CudaError::NoDriver`] or [`CudaError::NoNvrtc`] when a library is missing (checked
    /// first), [`CudaError::Driver`] when there is no such device, [`CudaError::Compile`].
    pub fn new(ordinal: usize) -> Result<Self> {
        if !driver_available() {
            return Err(CudaError::NoDriver);
        }
        if !nvrtc_available() {
            return Err(CudaError::NoNvrtc);
        }
        let ctx = CudaContext::new(ordinal).map_err(driver)?;
        let (major, minor) = ctx.compute_capability().map_err(driver)?;
        // NVRTC wants a 'static arch string; one small leak per opened device.
        let arch: &'static str = Box::leak(format!("compute_{major}{minor}").into_boxed_str());
        let ptx = compile_kernels(Some(arch))?;
        let module = ctx.load_module(ptx).map_err(driver)?;
        let functions = KERNEL_NAMES
            .iter()
            .map(|n| module.load_function(n).map_err(driver))
            .collect::<Result<Vec<_>>>()?;
        let name = ctx.name().map_err(driver)?;
        let stream = ctx.default_stream();
        Ok(Self {
            ctx,
            stream,
            functions,
            name,
        })
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
        self.stream.synchronize().map_err(driver)
    }

    /// Copies a validated host batch to the device.
    ///
    /// # Errors
    /// An invalid batch; [`CudaError::Driver`].
    pub fn upload(&self, b: &GaussianBatch<'_>) -> Result<DeviceGaussian> {
        b.validate()?;
        Ok(DeviceGaussian {
            mean: self.stream.clone_htod(b.mean).map_err(driver)?,
            scale: self.stream.clone_htod(b.scale).map_err(driver)?,
            param: b.param,
            rows: b.rows,
            dim: b.dim,
        })
    }

    fn log_flag(param: StdParam) -> i32 {
        i32::from(param == StdParam::LogStd)
    }

    /// Launches the row-KL kernel on device data (no synchronization).
    ///
    /// # Errors
    /// Mismatched shapes or parameterizations; [`CudaError::Driver`].
    pub fn launch_kl(
        &self,
        p: &DeviceGaussian,
        q: &DeviceGaussian,
        out: &mut CudaSlice<f32>,
    ) -> Result<()> {
        if (p.rows, p.dim, p.param) != (q.rows, q.dim, q.param) || out.len() < p.rows {
            return Err(CudaError::Shape {
                what: "device batches",
                expected: p.rows,
                actual: out.len(),
            });
        }
        let (rows, dim, flag) = (p.rows as i32, p.dim as i32, Self::log_flag(p.param));
        let (f, cfg) = if p.dim > WARP_KL_MIN_DIM {
            (&self.functions[1], grid(p.rows, (BLOCK / 32) as usize))
        } else {
            (&self.functions[0], grid(p.rows, BLOCK as usize))
        };
        let mut b = self.stream.launch_builder(f);
        b.arg(&p.mean)
            .arg(&p.scale)
            .arg(&q.mean)
            .arg(&q.scale)
            .arg(out)
            .arg(&rows)
            .arg(&dim)
            .arg(&flag);
        // SAFETY: argument types and order match the kernel signature; `out` holds >= rows.
        unsafe { b.launch(cfg) }.map_err(driver)?;
        Ok(())
    }

    /// Per-row `KL(p || q)` on the GPU (thread-per-row kernel up to [`WARP_KL_MIN_DIM`]
    /// dimensions, warp-per-row above); compare with [`crate::cpu::kl_rows`] or
    /// [`crate::cpu::kl_rows_warp_order`].
    ///
    /// # Errors
    /// Invalid batches; [`CudaError::Driver`].
    pub fn kl_rows(&self, p: &GaussianBatch<'_>, q: &GaussianBatch<'_>) -> Result<Vec<f32>> {
        check_pair(p, q)?;
        let (dp, dq) = (self.upload(p)?, self.upload(q)?);
        let mut out = self
            .stream
            .alloc_zeros::<f32>(p.rows.max(1))
            .map_err(driver)?;
        self.launch_kl(&dp, &dq, &mut out)?;
        let mut v = self.stream.clone_dtoh(&out).map_err(driver)?;
        v.truncate(p.rows);
        Ok(v)
    }

    /// Row KLs and their gradients in one pass.
    ///
    /// # Errors
    /// Invalid batches; [`CudaError::Driver`].
    pub fn kl_rows_grad(&self, p: &GaussianBatch<'_>, q: &GaussianBatch<'_>) -> Result<KlWithGrad> {
        check_pair(p, q)?;
        let (dp, dq) = (self.upload(p)?, self.upload(q)?);
        let n = (p.rows * p.dim).max(1);
        let s = &self.stream;
        let mut kl = s.alloc_zeros::<f32>(p.rows.max(1)).map_err(driver)?;
        let mut g: Vec<CudaSlice<f32>> = (0..4)
            .map(|_| s.alloc_zeros::<f32>(n).map_err(driver))
            .collect::<Result<_>>()?;
        let (rows, dim, flag) = (p.rows as i32, p.dim as i32, Self::log_flag(p.param));
        {
            let [g0, g1, g2, g3] = &mut g[..] else {
                unreachable!("four buffers")
            };
            let mut b = s.launch_builder(&self.functions[2]);
            b.arg(&dp.mean)
                .arg(&dp.scale)
                .arg(&dq.mean)
                .arg(&dq.scale)
                .arg(&mut kl);
            b.arg(g0)
                .arg(g1)
                .arg(g2)
                .arg(g3)
                .arg(&rows)
                .arg(&dim)
                .arg(&flag);
            // SAFETY: matches `diag_gaussian_kl_rows_grad`; every buffer holds rows * dim.
            unsafe { b.launch(grid(p.rows, BLOCK as usize)) }.map_err(driver)?;
        }
        let down = |x: &CudaSlice<f32>, len: usize| -> Result<Vec<f32>> {
            let mut v = s.clone_dtoh(x).map_err(driver)?;
            v.truncate(len);
            Ok(v)
        };
        let m = p.rows * p.dim;
        Ok(KlWithGrad {
            kl: down(&kl, p.rows)?,
            d_mean_p: down(&g[0], m)?,
            d_scale_p: down(&g[1], m)?,
            d_mean_q: down(&g[2], m)?,
            d_scale_q: down(&g[3], m)?,
        })
    }

    /// Launches the sampling kernel on device data (no synchronization).
    ///
    /// # Errors
    /// Log-std input (the kernel takes stds), short outputs; [`CudaError::Driver`].
    pub fn launch_sample(
        &self,
        dist: &DeviceGaussian,
        samples: usize,
        seed: u64,
        squash: bool,
        actions: &mut CudaSlice<f32>,
        log_prob: &mut CudaSlice<f32>,
    ) -> Result<()> {
        let total = samples * dist.rows;
        if dist.param != StdParam::Std || actions.len() < total * dist.dim || log_prob.len() < total
        {
            return Err(CudaError::Shape {
                what: "sampling buffers",
                expected: total * dist.dim,
                actual: actions.len(),
            });
        }
        let (rows, dim, s, sq) = (
            dist.rows as i32,
            dist.dim as i32,
            samples as i32,
            i32::from(squash),
        );
        let mut b = self.stream.launch_builder(&self.functions[3]);
        b.arg(&dist.mean)
            .arg(&dist.scale)
            .arg(actions)
            .arg(log_prob)
            .arg(&rows)
            .arg(&dim)
            .arg(&s)
            .arg(&seed)
            .arg(&sq);
        // SAFETY: matches `sample_diag_gaussian`; buffers sized above.
        unsafe { b.launch(grid(total, BLOCK as usize)) }.map_err(driver)?;
        Ok(())
    }

    /// `S` reparameterized samples per row and their log-probs; compare with
    /// [`crate::cpu::sample`].
    ///
    /// # Errors
    /// An invalid batch (stds required); [`CudaError::Driver`].
    pub fn sample(
        &self,
        dist: &GaussianBatch<'_>,
        samples: usize,
        seed: u64,
        squash: bool,
    ) -> Result<Samples> {
        dist.validate()?;
        if dist.param != StdParam::Std {
            return Err(CudaError::Shape {
                what: "parameterization (sampling takes stds)",
                expected: 0,
                actual: 1,
            });
        }
        let d = self.upload(dist)?;
        let total = samples * dist.rows;
        let mut actions = self
            .stream
            .alloc_zeros::<f32>((total * dist.dim).max(1))
            .map_err(driver)?;
        let mut log_prob = self
            .stream
            .alloc_zeros::<f32>(total.max(1))
            .map_err(driver)?;
        self.launch_sample(&d, samples, seed, squash, &mut actions, &mut log_prob)?;
        let mut a = self.stream.clone_dtoh(&actions).map_err(driver)?;
        let mut l = self.stream.clone_dtoh(&log_prob).map_err(driver)?;
        a.truncate(total * dist.dim);
        l.truncate(total);
        Ok(Samples {
            actions: a,
            log_prob: l,
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
        let s = &self.stream;
        let raw_d = s.clone_htod(raw).map_err(driver)?;
        let pr = self.upload(prior)?;
        let n = (rows * dim).max(1);
        let mut mean = s.alloc_zeros::<f32>(n).map_err(driver)?;
        let mut std = s.alloc_zeros::<f32>(n).map_err(driver)?;
        let mut actions = s
            .alloc_zeros::<f32>((samples * rows * dim).max(1))
            .map_err(driver)?;
        let mut log_prob = s
            .alloc_zeros::<f32>((samples * rows).max(1))
            .map_err(driver)?;
        let mut kl = s.alloc_zeros::<f32>(rows.max(1)).map_err(driver)?;
        let (r, d, sm) = (rows as i32, dim as i32, samples as i32);
        {
            let mut b = s.launch_builder(&self.functions[4]);
            b.arg(&raw_d).arg(&pr.mean).arg(&pr.scale).arg(&min_scale);
            b.arg(&mut mean)
                .arg(&mut std)
                .arg(&mut actions)
                .arg(&mut log_prob)
                .arg(&mut kl);
            b.arg(&r).arg(&d).arg(&sm).arg(&seed);
            // SAFETY: matches `fused_policy_head`; buffers sized above.
            unsafe { b.launch(grid(rows, BLOCK as usize)) }.map_err(driver)?;
        }
        let down = |x: &CudaSlice<f32>, len: usize| -> Result<Vec<f32>> {
            let mut v = s.clone_dtoh(x).map_err(driver)?;
            v.truncate(len);
            Ok(v)
        };
        Ok(HeadOutput {
            mean: down(&mean, rows * dim)?,
            std: down(&std, rows * dim)?,
            actions: down(&actions, samples * rows * dim)?,
            log_prob: down(&log_prob, samples * rows)?,
            kl: down(&kl, rows)?,
        })
    }
}
