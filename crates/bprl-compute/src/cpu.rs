//! Which instruction set the kernels run on: detected (or forced) once per process.
//!
//! There are three paths ([`Isa`]):
//! - **portable**: the kernels compiled for the target's baseline (SSE2 on `x86_64`), and every
//!   matrix product through `ndarray`'s general product (`matrixmultiply`, which picks its own
//!   kernel by CPU feature detection);
//! - **avx2**: `f32` products through this crate's AVX2/FMA micro-kernel ([`crate::gemm`]), and
//!   the row kernels ([`crate::rows`]) compiled with AVX2 and FMA enabled;
//! - **avx512**: `f32` products through this crate's AVX-512 micro-kernel, or the `gemm` crate
//!   (with its run-time AVX-512 dispatch) for large products ([`crate::gemm::uses_gemm_crate`]),
//!   and the row kernels compiled with the x86-64-v4 set (AVX-512 F, BW, DQ, VL).
//!
//! A [`Kernel`] is a path *this processor can run*: the only way to get one is [`Kernel::new`],
//! which checks, so code that holds a `Kernel` of [`Isa::Avx2`] may call AVX2 code.
//!
//! # Choosing the path: `BPRL_KERNEL`
//!
//! [`Kernel::selected`], the path every kernel takes unless told otherwise (the `*_on`
//! functions take a path explicitly), is chosen on first use from the environment variable
//! `BPRL_KERNEL` and never changes afterwards:
//!
//! | `BPRL_KERNEL` | path |
//! |---|---|
//! | unset, empty or `auto` | the best this processor has: `avx512` if it has AVX-512 F/BW/DQ/VL (and AVX2, FMA), else `avx2` if it has AVX2 and FMA, else `portable` |
//! | `portable` | `portable` |
//! | `avx2` | `avx2`; the best the processor has if it lacks AVX2 or FMA |
//! | `avx512` | `avx512`; the best the processor has if it lacks AVX-512 |
//! | anything else | as unset |
//!
//! Case and surrounding spaces do not matter. [`selection`] tells what was asked, what was
//! chosen and why they differ, for logs and benchmark reports.
//!
//! # What changes bits
//!
//! The `avx2` and `avx512` paths give the same bits: every entry of a product is one running
//! fused multiply-add over the depth, from zero, in order (then `+ C` when accumulating), on
//! both micro-kernels and on the `gemm` crate up to [`crate::gemm::LARGE_K`], and a fused
//! multiply-add rounds once per lane whatever the register width. The portable path changes
//! the order and the rounding of a product's sums (`matrixmultiply`'s own blocking), so its
//! results agree with the others to rounding, not bit for bit. On one machine with one path and one thread count
//! (`BPRL_NUM_THREADS`, see [`crate::parallel`]), results are the same from run to run. The row
//! kernels give the same bits on both paths (the compiler never fuses or reorders
//! floating-point operations on its own; the tests check it).

use std::fmt;
use std::sync::OnceLock;

/// An instruction-set path of the kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Isa {
    /// The target's baseline instructions; products through `ndarray` (`matrixmultiply`).
    Portable,
    /// AVX2 and FMA (`x86_64` only): the micro-kernel and the AVX2 copies of the row kernels.
    Avx2,
    /// AVX-512 (`x86_64` only, the x86-64-v4 set: AVX-512 F, BW, DQ, VL, with AVX2 and FMA):
    /// the 512-bit micro-kernel and the AVX-512 copies of the row kernels. Same bits as
    /// [`Isa::Avx2`] (see the [module documentation](self)).
    Avx512,
}

impl Isa {
    /// Every path, in order of preference (best last).
    pub const ALL: [Isa; 3] = [Isa::Portable, Isa::Avx2, Isa::Avx512];

    /// The name `BPRL_KERNEL` uses: `portable`, `avx2` or `avx512`.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Portable => "portable",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
        }
    }

    /// The path a `BPRL_KERNEL` value names (case-insensitive, spaces trimmed), if any.
    pub fn from_name(name: &str) -> Option<Isa> {
        let name = name.trim();
        Isa::ALL
            .into_iter()
            .find(|isa| isa.name().eq_ignore_ascii_case(name))
    }

    /// Whether this processor can run the path.
    pub fn is_supported(self) -> bool {
        match self {
            Isa::Portable => true,
            Isa::Avx2 => has_avx2_fma(),
            Isa::Avx512 => has_avx512(),
        }
    }
}

impl fmt::Display for Isa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A path this processor can run (see the [module documentation](self)).
///
/// The field is private: a `Kernel` comes only from [`Kernel::new`] (which checks the
/// processor), [`Kernel::PORTABLE`], [`Kernel::selected`] or [`Kernel::available`], so a
/// `Kernel` of [`Isa::Avx2`] proves that AVX2 and FMA are present.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Kernel {
    isa: Isa,
}

impl Kernel {
    /// The portable path, available everywhere.
    pub const PORTABLE: Kernel = Kernel { isa: Isa::Portable };

    /// The path `isa` if this processor can run it.
    pub fn new(isa: Isa) -> Option<Kernel> {
        isa.is_supported().then_some(Kernel { isa })
    }

    /// The instruction set of this path.
    pub fn isa(self) -> Isa {
        self.isa
    }

    /// The process-wide path: `BPRL_KERNEL` if it names a path this processor can run, else
    /// the best it has (read once, on first use).
    pub fn selected() -> Kernel {
        selection().kernel
    }

    /// Every path this processor can run, portable first: for tests that run each kernel on
    /// each path.
    pub fn available() -> Vec<Kernel> {
        Isa::ALL.into_iter().filter_map(Kernel::new).collect()
    }

    /// The best path this processor can run.
    pub fn best() -> Kernel {
        Isa::ALL
            .into_iter()
            .rev()
            .find_map(Kernel::new)
            .unwrap_or(Kernel::PORTABLE)
    }
}

impl fmt::Display for Kernel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.isa.fmt(f)
    }
}

/// The process-wide choice of path, and what led to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// The path every kernel takes by default.
    pub kernel: Kernel,
    /// The value of `BPRL_KERNEL`, if it was set.
    pub requested: Option<String>,
    /// Why `kernel` is not what was requested (an unknown name, or a path this processor
    /// cannot run); `None` when it is, or when nothing was requested.
    pub fallback: Option<String>,
}

impl Selection {
    /// The choice for a `BPRL_KERNEL` value (`None`: unset) on this processor.
    pub fn from_request(requested: Option<&str>) -> Selection {
        let best = Kernel::best();
        let (kernel, fallback) = match requested.map(str::trim) {
            None => (best, None),
            Some(r) if r.is_empty() || r.eq_ignore_ascii_case("auto") => (best, None),
            Some(r) => match Isa::from_name(r) {
                Some(isa) => match Kernel::new(isa) {
                    Some(k) => (k, None),
                    None => (
                        best,
                        Some(format!("this processor cannot run `{isa}`; using `{best}`")),
                    ),
                },
                None => (
                    best,
                    Some(format!(
                        "unknown kernel `{r}` (expected `portable`, `avx2`, `avx512` or `auto`); using `{best}`"
                    )),
                ),
            },
        };
        Selection {
            kernel,
            requested: requested.map(str::to_owned),
            fallback,
        }
    }
}

impl fmt::Display for Selection {
    /// For example `avx2 (detected)`, `portable (BPRL_KERNEL=portable)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.requested, &self.fallback) {
            (_, Some(why)) => write!(f, "{} ({why})", self.kernel),
            (Some(r), None) if !r.trim().is_empty() && !r.trim().eq_ignore_ascii_case("auto") => {
                write!(f, "{} (BPRL_KERNEL={})", self.kernel, r.trim())
            }
            _ => write!(f, "{} (detected)", self.kernel),
        }
    }
}

/// The process-wide [`Selection`], made from `BPRL_KERNEL` on first use.
pub fn selection() -> &'static Selection {
    static SELECTION: OnceLock<Selection> = OnceLock::new();
    SELECTION.get_or_init(|| {
        let requested = std::env::var("BPRL_KERNEL").ok();
        Selection::from_request(requested.as_deref())
    })
}

/// Whether the processor has AVX2 and FMA (detected once).
fn has_avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static HAS: OnceLock<bool> = OnceLock::new();
        *HAS.get_or_init(|| {
            std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Whether the processor has the x86-64-v4 set the AVX-512 path is compiled for: AVX-512 F,
/// BW, DQ and VL, plus AVX2 and FMA (detected once).
fn has_avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static HAS: OnceLock<bool> = OnceLock::new();
        *HAS.get_or_init(|| {
            has_avx2_fma()
                && std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512bw")
                && std::arch::is_x86_feature_detected!("avx512dq")
                && std::arch::is_x86_feature_detected!("avx512vl")
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}
