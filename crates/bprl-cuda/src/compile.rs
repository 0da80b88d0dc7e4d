//! NVRTC: the kernels compiled to PTX or to a cubin, with the options that keep their IEEE
//! arithmetic identical to the CPU references'. Needs the NVRTC library only, no GPU.

use crate::error::{CudaError, Result};
use cudarc::nvrtc::{result, sys};
use std::ffi::{CStr, CString, c_char, c_int};

/// The kernels' CUDA C source (header-free, for NVRTC; also compiles as host C++ with
/// `kernels/host_shim.h`).
pub const KERNEL_SOURCE: &str = include_str!("../kernels/bprl_kernels.cu");

/// The options every compilation passes to NVRTC (an architecture option is added).
///
/// - `--fmad=false`: no multiply-add contraction. NVRTC contracts by default, and then
///   `m + sd * eps`, `r * r - 1` and the KL terms round once instead of twice and differ from
///   the CPU in 20-70% of elements. CUDA's math functions keep their own explicit `fma`s.
/// - `--prec-div=true`, `--prec-sqrt=true`, `--ftz=false`: IEEE-rounded division and square
///   root, subnormals kept (NVRTC's defaults, stated so they cannot drift).
pub const NVRTC_OPTIONS: [&str; 4] = [
    "--fmad=false",
    "--prec-div=true",
    "--prec-sqrt=true",
    "--ftz=false",
];

/// Whether an NVRTC library can be loaded (kernels can be compiled; no GPU needed).
pub fn nvrtc_available() -> bool {
    // SAFETY: only tries to dlopen the library by name; no other cudarc state is touched.
    unsafe { sys::is_culib_present() }
}

fn require_nvrtc() -> Result<()> {
    if nvrtc_available() {
        Ok(())
    } else {
        Err(CudaError::NoNvrtc)
    }
}

fn nvrtc_error(call: &'static str) -> impl Fn(result::NvrtcError) -> CudaError {
    move |e| CudaError::Compile(format!("{call}: {e:?}"))
}

/// The version of the loaded NVRTC, `(major, minor)` (e.g. `(12, 9)`).
///
/// # Errors
/// [`CudaError::NoNvrtc`]; [`CudaError::Compile`] if NVRTC reports an error.
pub fn nvrtc_version() -> Result<(i32, i32)> {
    require_nvrtc()?;
    let (mut major, mut minor): (c_int, c_int) = (0, 0);
    // SAFETY: the library is present (checked above); both pointers are valid for writes.
    unsafe { sys::nvrtcVersion(&mut major, &mut minor) }
        .result()
        .map_err(nvrtc_error("nvrtcVersion"))?;
    Ok((major, minor))
}

/// The real architectures the loaded NVRTC can compile cubins for, as compute capabilities
/// `10 * major + minor` (e.g. `90` for `sm_90`).
///
/// # Errors
/// [`CudaError::NoNvrtc`]; [`CudaError::Compile`] if NVRTC reports an error.
pub fn nvrtc_supported_archs() -> Result<Vec<i32>> {
    require_nvrtc()?;
    let mut n: c_int = 0;
    // SAFETY: the library is present; `n` is valid for writes.
    unsafe { sys::nvrtcGetNumSupportedArchs(&mut n) }
        .result()
        .map_err(nvrtc_error("nvrtcGetNumSupportedArchs"))?;
    let mut archs = vec![0 as c_int; n.max(0) as usize];
    // SAFETY: `archs` holds the `n` entries NVRTC writes.
    unsafe { sys::nvrtcGetSupportedArchs(archs.as_mut_ptr()) }
        .result()
        .map_err(nvrtc_error("nvrtcGetSupportedArchs"))?;
    Ok(archs)
}

/// A compiled NVRTC program; destroyed on drop.
struct Program {
    prog: sys::nvrtcProgram,
    // NVRTC may refer to the source and name until the program is destroyed.
    _src: CString,
    _name: CString,
}

impl Drop for Program {
    fn drop(&mut self) {
        // SAFETY: `prog` came from `create_program` and is destroyed only here.
        let _ = unsafe { result::destroy_program(self.prog) };
    }
}

fn to_string(chars: &[c_char]) -> String {
    let bytes: Vec<u8> = chars.iter().map(|&c| c as u8).collect();
    CStr::from_bytes_until_nul(&bytes)
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|_| String::from_utf8_lossy(&bytes).into_owned())
}

impl Program {
    /// Compiles [`KERNEL_SOURCE`] with [`NVRTC_OPTIONS`] and `--gpu-architecture=arch`.
    fn compile(arch: Option<&str>) -> Result<Self> {
        require_nvrtc()?;
        let src = CString::new(KERNEL_SOURCE).expect("the kernel source has no NUL byte");
        let name = CString::new("bprl_kernels.cu").expect("no NUL byte");
        let prog =
            result::create_program(&src, Some(&name)).map_err(nvrtc_error("nvrtcCreateProgram"))?;
        let program = Program {
            prog,
            _src: src,
            _name: name,
        };
        let mut options: Vec<String> = NVRTC_OPTIONS.iter().map(|s| s.to_string()).collect();
        if let Some(a) = arch {
            options.push(format!("--gpu-architecture={a}"));
        }
        // SAFETY: `prog` is a live program created above.
        if let Err(e) = unsafe { result::compile_program(program.prog, &options) } {
            // SAFETY: as above.
            let log = unsafe { result::get_program_log(program.prog) }
                .map(|l| to_string(&l))
                .unwrap_or_default();
            return Err(CudaError::Compile(format!(
                "{e:?} with options {options:?}: {log}"
            )));
        }
        Ok(program)
    }

    fn ptx(&self) -> Result<String> {
        // SAFETY: a compiled live program.
        let chars = unsafe { result::get_ptx(self.prog) }.map_err(nvrtc_error("nvrtcGetPTX"))?;
        Ok(to_string(&chars))
    }

    fn cubin(&self) -> Result<Vec<u8>> {
        let mut size = 0usize;
        // SAFETY: a compiled live program; `size` is valid for writes.
        unsafe { sys::nvrtcGetCUBINSize(self.prog, &mut size) }
            .result()
            .map_err(nvrtc_error("nvrtcGetCUBINSize"))?;
        let mut bytes = vec![0u8; size];
        // SAFETY: `bytes` holds the `size` bytes NVRTC writes.
        unsafe { sys::nvrtcGetCUBIN(self.prog, bytes.as_mut_ptr().cast()) }
            .result()
            .map_err(nvrtc_error("nvrtcGetCUBIN"))?;
        Ok(bytes)
    }
}

/// Compiles every kernel to PTX for a virtual architecture such as `"compute_90"` (or
/// NVRTC's default with `None`), with [`NVRTC_OPTIONS`]. Needs NVRTC only, no GPU.
///
/// PTX is JIT-compiled by the driver when loaded, and fails to load on a driver older than
/// the NVRTC that wrote it: [`crate::Gpu::new`] prefers [`compile_cubin`].
///
/// # Errors
/// [`CudaError::NoNvrtc`] if the library is missing, [`CudaError::Compile`] with NVRTC's log.
pub fn compile_kernels(arch: Option<&str>) -> Result<String> {
    Program::compile(arch)?.ptx()
}

/// Compiles every kernel to a cubin (ELF device code) for a real architecture such as
/// `"sm_90"`, with [`NVRTC_OPTIONS`]. Needs NVRTC only, no GPU.
///
/// # Errors
/// [`CudaError::NoNvrtc`], [`CudaError::Compile`] (also for an architecture this NVRTC does
/// not know; see [`nvrtc_supported_archs`]).
pub fn compile_cubin(arch: &str) -> Result<Vec<u8>> {
    Program::compile(Some(arch))?.cubin()
}
