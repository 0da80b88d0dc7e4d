//! What each call launches: the kernel, its parameter list and its grid. One table shared by
//! the GPU path ([`crate::Gpu`] checks every launch's arguments against it), the NVRTC tests
//! (which check it against the `.cu` signatures and the PTX `.param` lists) and the
//! host-compiled kernel checks (which run the kernels over exactly these grids).

/// The C type of one kernel parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param {
    /// `const float* __restrict__`: an input buffer.
    InF32,
    /// `float* __restrict__`: an output buffer.
    OutF32,
    /// `int`.
    I32,
    /// `unsigned long long`.
    U64,
    /// `float`.
    F32,
}

impl Param {
    /// The C declaration of the parameter's type in `kernels/bprl_kernels.cu`.
    pub fn c_type(self) -> &'static str {
        match self {
            Param::InF32 => "const float* __restrict__",
            Param::OutF32 => "float* __restrict__",
            Param::I32 => "int",
            Param::U64 => "unsigned long long",
            Param::F32 => "float",
        }
    }

    /// The PTX type of the parameter (`.param .u64` for pointers and 64-bit integers).
    pub fn ptx_type(self) -> &'static str {
        match self {
            Param::InF32 | Param::OutF32 | Param::U64 => ".u64",
            Param::I32 => ".u32",
            Param::F32 => ".f32",
        }
    }
}

/// The kernels of [`crate::KERNEL_SOURCE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// `diag_gaussian_kl_rows`: row KLs, one thread per row.
    KlRows,
    /// `diag_gaussian_kl_rows_warp`: row KLs, one warp per row (above [`WARP_KL_MIN_DIM`]).
    KlRowsWarp,
    /// `diag_gaussian_kl_rows_grad`: row KLs and the four gradients.
    KlRowsGrad,
    /// `sample_diag_gaussian`: reparameterized samples and log-probs.
    Sample,
    /// `fused_policy_head`: Acme's head, samples, log-probs and the KL to a prior.
    FusedHead,
}

use Param::{F32, I32, InF32, OutF32, U64};

const KL_PARAMS: [Param; 8] = [InF32, InF32, InF32, InF32, OutF32, I32, I32, I32];

impl Kernel {
    /// Every kernel, in the order of [`KERNEL_NAMES`].
    pub const ALL: [Kernel; 5] = [
        Kernel::KlRows,
        Kernel::KlRowsWarp,
        Kernel::KlRowsGrad,
        Kernel::Sample,
        Kernel::FusedHead,
    ];

    /// The entry point's name (`extern "C"`, so also its PTX name).
    pub fn name(self) -> &'static str {
        KERNEL_NAMES[self as usize]
    }

    /// The parameter list, in order.
    pub fn params(self) -> &'static [Param] {
        match self {
            Kernel::KlRows | Kernel::KlRowsWarp => &KL_PARAMS,
            Kernel::KlRowsGrad => &[
                InF32, InF32, InF32, InF32, OutF32, OutF32, OutF32, OutF32, OutF32, I32, I32, I32,
            ],
            Kernel::Sample => &[InF32, InF32, OutF32, OutF32, I32, I32, I32, U64, I32, I32],
            Kernel::FusedHead => &[
                InF32, InF32, InF32, F32, OutF32, OutF32, OutF32, OutF32, OutF32, I32, I32, I32,
                U64,
            ],
        }
    }
}

/// The kernel entry points in [`crate::KERNEL_SOURCE`], exactly.
pub const KERNEL_NAMES: [&str; 5] = [
    "diag_gaussian_kl_rows",
    "diag_gaussian_kl_rows_warp",
    "diag_gaussian_kl_rows_grad",
    "sample_diag_gaussian",
    "fused_policy_head",
];

/// Dimensions above which the KL uses the warp-per-row kernel.
pub const WARP_KL_MIN_DIM: usize = 64;

/// Threads per block of every launch.
pub const BLOCK: u32 = 256;

/// The most blocks a launch uses; grid-stride loops cover the rest.
pub const MAX_BLOCKS: u32 = 65_535;

/// A kernel and the one-dimensional grid it is launched on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LaunchPlan {
    /// The kernel.
    pub kernel: Kernel,
    /// Blocks (`gridDim.x`).
    pub blocks: u32,
    /// Threads per block (`blockDim.x`).
    pub threads: u32,
}

fn plan(kernel: Kernel, items: usize, items_per_block: usize) -> LaunchPlan {
    let blocks = items
        .div_ceil(items_per_block)
        .clamp(1, MAX_BLOCKS as usize) as u32;
    LaunchPlan {
        kernel,
        blocks,
        threads: BLOCK,
    }
}

/// Row KLs: thread per row up to [`WARP_KL_MIN_DIM`] dimensions, warp per row above.
pub fn kl_plan(rows: usize, dim: usize) -> LaunchPlan {
    if dim > WARP_KL_MIN_DIM {
        plan(Kernel::KlRowsWarp, rows, (BLOCK / 32) as usize)
    } else {
        plan(Kernel::KlRows, rows, BLOCK as usize)
    }
}

/// Row KLs with gradients: a thread per row.
pub fn kl_grad_plan(rows: usize) -> LaunchPlan {
    plan(Kernel::KlRowsGrad, rows, BLOCK as usize)
}

/// Sampling: a thread per `(sample, row)`.
pub fn sample_plan(rows: usize, samples: usize) -> LaunchPlan {
    plan(Kernel::Sample, rows.saturating_mul(samples), BLOCK as usize)
}

/// The fused head: a thread per row.
pub fn head_plan(rows: usize) -> LaunchPlan {
    plan(Kernel::FusedHead, rows, BLOCK as usize)
}
