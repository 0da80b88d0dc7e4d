//! Every kernel compiles with NVRTC, on any machine where `libnvrtc` can be loaded (no GPU
//! needed), with exactly the entry points and parameter lists the launches use. `make test`
//! installs the NVRTC wheel and sets `BPRL_REQUIRE_NVRTC=1`, so in CI a missing NVRTC fails
//! instead of skipping. The source-level checks need no NVRTC at all.

use bprl_cuda::launch::Param;
use bprl_cuda::{
    CudaError, KERNEL_NAMES, KERNEL_SOURCE, Kernel, NVRTC_OPTIONS, compile_cubin, compile_kernels,
    nvrtc_available, nvrtc_supported_archs, nvrtc_version,
};

/// Whether NVRTC is there; panics if it is not but `BPRL_REQUIRE_NVRTC=1`.
fn have_nvrtc() -> bool {
    let required = std::env::var("BPRL_REQUIRE_NVRTC").is_ok_and(|v| v == "1");
    if nvrtc_available() {
        return true;
    }
    assert!(
        !required,
        "BPRL_REQUIRE_NVRTC=1 but libnvrtc cannot be loaded (LD_LIBRARY_PATH?)"
    );
    assert!(matches!(compile_kernels(None), Err(CudaError::NoNvrtc)));
    eprintln!("skipped: no libnvrtc on this machine, kernels not compiled");
    false
}

/// The `.entry` points of a PTX module with their `.param` types, in order.
fn ptx_entries(ptx: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let mut lines = ptx.lines().map(str::trim);
    while let Some(line) = lines.next() {
        let Some(rest) = line.strip_prefix(".visible .entry ") else {
            continue;
        };
        let name = rest.trim_end_matches('(').to_string();
        let mut params = Vec::new();
        for p in lines.by_ref() {
            if p.starts_with(')') {
                break;
            }
            let p = p.strip_prefix(".param ").expect("a .param line");
            let ty = p.split_whitespace().next().expect("a type");
            let ident = p.split_whitespace().last().expect("a name");
            let expected = format!("{name}_param_{}", params.len());
            assert_eq!(ident.trim_end_matches(','), expected, "PTX parameter order");
            params.push(ty.to_string());
        }
        out.push((name, params));
    }
    out
}

/// The `extern "C" __global__` kernels of the source with their parameter types.
fn source_kernels(src: &str) -> Vec<(String, Vec<String>)> {
    src.split("extern \"C\" __global__ void ")
        .skip(1)
        .map(|chunk| {
            let (name, rest) = chunk.split_once('(').expect("a parameter list");
            let list = rest.split_once(')').expect("a closing parenthesis").0;
            let types = list
                .split(',')
                .map(|p| {
                    let words: Vec<&str> = p.split_whitespace().collect();
                    words[..words.len() - 1].join(" ")
                })
                .collect();
            (name.trim().to_string(), types)
        })
        .collect()
}

#[test]
fn source_signatures_match_the_launch_table() {
    let kernels = source_kernels(KERNEL_SOURCE);
    let names: Vec<&str> = kernels.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, KERNEL_NAMES, "kernels in the source");
    for (k, (name, types)) in Kernel::ALL.iter().zip(&kernels) {
        assert_eq!(k.name(), name);
        let want: Vec<&str> = k.params().iter().map(|p| p.c_type()).collect();
        assert_eq!(types, &want, "parameters of {name}");
    }
}

/// Regression (issue 20): the grid-stride loops counted rows in `int`, which overflows past
/// 2^31 minus one grid's worth of rows. Every loop over rows now counts in `long long`.
#[test]
fn grid_stride_loops_count_in_64_bits() {
    for line in KERNEL_SOURCE.lines().filter(|l| l.contains("blockIdx.x")) {
        assert!(
            line.contains("long long"),
            "a grid index not in 64 bits: {line}"
        );
    }
    assert!(!KERNEL_SOURCE.contains("for (int row"));
    assert!(!KERNEL_SOURCE.contains("row += gridDim"));
}

/// Regression (issue 20): kernels were compiled with NVRTC's default `--fmad=true`, so
/// `m + sd * eps`, `r * r - 1` and the KL terms became `fma.rn` and differed from the CPU.
#[test]
fn contraction_is_off() {
    assert!(NVRTC_OPTIONS.contains(&"--fmad=false"));
    if !have_nvrtc() {
        return;
    }
    // With --fmad=true NVRTC contracts the kernels' own `a * b + c` into `fma.rn.f32` (the
    // math library's explicit fmas are there either way): every kernel must have fewer.
    let ours = compile_kernels(Some("compute_90")).unwrap();
    let opts = cudarc::nvrtc::CompileOptions {
        fmad: Some(true),
        arch: Some("compute_90"),
        ..Default::default()
    };
    let contracted = cudarc::nvrtc::compile_ptx_with_opts(KERNEL_SOURCE, opts)
        .unwrap()
        .to_src();
    let fmas = |ptx: &str| -> Vec<(String, usize)> {
        ptx.split(".visible .entry ")
            .skip(1)
            .map(|body| {
                let name = body.split('(').next().unwrap().to_string();
                (name, body.matches("fma.rn.f32").count())
            })
            .collect()
    };
    for ((name, n_off), (_, n_on)) in fmas(&ours).into_iter().zip(fmas(&contracted)) {
        assert!(
            n_off < n_on,
            "{name}: {n_off} fmas without contraction, {n_on} with"
        );
    }
}

#[test]
fn every_kernel_compiles_to_ptx_with_the_launch_signatures() {
    if !have_nvrtc() {
        return;
    }
    for arch in [None, Some("compute_80"), Some("compute_90")] {
        let ptx = compile_kernels(arch).unwrap_or_else(|e| panic!("{arch:?}: {e}"));
        let entries = ptx_entries(&ptx);
        let mut names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
        names.sort_unstable();
        let mut want = KERNEL_NAMES.to_vec();
        want.sort_unstable();
        assert_eq!(names, want, "{arch:?}: entry points, exactly");
        for (name, params) in &entries {
            let k = Kernel::ALL.iter().find(|k| k.name() == name).unwrap();
            let want: Vec<&str> = k.params().iter().map(|p| Param::ptx_type(*p)).collect();
            assert_eq!(params, &want, "{arch:?}: .param list of {name}");
        }
        if let Some(a) = arch {
            let sm = a.replace("compute_", "sm_");
            assert!(
                ptx.contains(&format!(".target {sm}")),
                "{arch:?}: PTX target"
            );
        }
    }
}

#[test]
fn every_kernel_compiles_to_a_cubin() {
    if !have_nvrtc() {
        return;
    }
    let (major, minor) = nvrtc_version().unwrap();
    assert!(major >= 12, "NVRTC {major}.{minor}");
    let archs = nvrtc_supported_archs().unwrap();
    for cc in [80, 90] {
        assert!(
            archs.contains(&cc),
            "NVRTC {major}.{minor} lacks sm_{cc}: {archs:?}"
        );
        let cubin = compile_cubin(&format!("sm_{cc}")).unwrap();
        assert!(cubin.starts_with(b"\x7fELF"), "sm_{cc}: not an ELF image");
        for name in KERNEL_NAMES {
            let needle = name.as_bytes();
            assert!(
                cubin
                    .windows(needle.len() + 1)
                    .any(|w| &w[..needle.len()] == needle && w[needle.len()] == 0),
                "sm_{cc}: no symbol {name}"
            );
        }
    }
    assert!(matches!(compile_cubin("sm_1"), Err(CudaError::Compile(_))));
}

#[test]
fn broken_source_is_a_compile_error_not_a_panic() {
    if !have_nvrtc() {
        return;
    }
    let opts = cudarc::nvrtc::CompileOptions::default();
    let e = cudarc::nvrtc::compile_ptx_with_opts("extern \"C\" __global__ void f( { }", opts);
    assert!(e.is_err());
}
