//! GPU benchmark of the kernels: `cargo bench -p bprl-cuda` (prints that it skipped without a
//! GPU). For `B * D` from 2^16 to 2^26 elements (D = 8): time per call, effective GB/s (bytes
//! the kernel must read and write), and the fraction of the measured device-to-device copy
//! bandwidth. `scripts/bench-cuda` runs this and the PyTorch equivalent side by side (the
//! device package of `scripts/gpu-check` too). With `BPRL_BENCH_CSV=path` the table is also
//! written as CSV; with `BPRL_REQUIRE_GPU=1` a missing GPU is an error (exit 1), not a skip.

use bprl_cuda::{DeviceGaussian, Gpu, StdParam, driver_available};
use std::time::Instant;

const DIM: usize = 8;
const SAMPLES: usize = 10;

fn time<F: FnMut()>(gpu: &Gpu, reps: usize, mut f: F) -> f64 {
    f();
    gpu.synchronize().expect("sync");
    let start = Instant::now();
    for _ in 0..reps {
        f();
    }
    gpu.synchronize().expect("sync");
    start.elapsed().as_secs_f64() / reps as f64
}

fn skip(why: &str) {
    if std::env::var("BPRL_REQUIRE_GPU").is_ok_and(|v| v == "1") {
        eprintln!("BPRL_REQUIRE_GPU=1 but {why}");
        std::process::exit(1);
    }
    println!("skipped: {why}");
}

fn main() {
    if !driver_available() {
        skip("no CUDA driver on this machine (the benchmark needs a GPU)");
        return;
    }
    let gpu = match Gpu::new(0) {
        Ok(g) => g,
        Err(e) => {
            skip(&e.to_string());
            return;
        }
    };
    println!(
        "device: {}; kernels: {}; NVRTC {:?}, driver CUDA {:?}",
        gpu.name(),
        gpu.image(),
        gpu.nvrtc_version(),
        gpu.driver_version()
    );
    let mut csv = String::from("n,copy_gbps,kl_us,kl_gbps,sample_us,sample_gbps\n");
    println!(
        "{:>10} {:>6} {:>11} {:>9} {:>8} {:>11} {:>9} {:>8}",
        "B*D", "copy", "kl us", "kl GB/s", "kl %cp", "sample us", "smp GB/s", "smp %cp"
    );
    let s = gpu.stream().clone();
    for log2 in 16..=26 {
        let n = 1usize << log2;
        let rows = n / DIM;
        let reps = (1usize << 28 >> log2).clamp(10, 2000);
        let dev = |v: f32| s.clone_htod(&vec![v; n]).expect("alloc");
        let p = DeviceGaussian::new(dev(0.1), dev(1.2), StdParam::Std, rows, DIM).expect("p");
        let q = DeviceGaussian::new(dev(-0.1), dev(0.8), StdParam::Std, rows, DIM).expect("q");
        let mut kl = s.alloc_zeros::<f32>(rows).expect("alloc");
        let mut actions = s.alloc_zeros::<f32>(n * SAMPLES).expect("alloc");
        let mut log_prob = s.alloc_zeros::<f32>(rows * SAMPLES).expect("alloc");
        // Copy bandwidth: a device-to-device copy of 4n floats (read + write counted).
        let src = s.alloc_zeros::<f32>(4 * n).expect("alloc");
        let mut dst = s.alloc_zeros::<f32>(4 * n).expect("alloc");
        let t_copy = time(&gpu, reps, || s.memcpy_dtod(&src, &mut dst).expect("copy"));
        let copy_bw = 2.0 * 16.0 * n as f64 / t_copy / 1e9;
        let t_kl = time(&gpu, reps, || gpu.launch_kl(&p, &q, &mut kl).expect("kl"));
        let kl_bw = (16.0 * n as f64 + 4.0 * rows as f64) / t_kl / 1e9;
        let t_s = time(&gpu, reps, || {
            gpu.launch_sample(&p, SAMPLES, 7, false, &mut actions, &mut log_prob)
                .expect("sample")
        });
        let s_bw = (8.0 * n as f64 + 4.0 * (SAMPLES * n + SAMPLES * rows) as f64) / t_s / 1e9;
        println!(
            "{:>10} {:>6.0} {:>11.2} {:>9.1} {:>7.0}% {:>11.2} {:>9.1} {:>7.0}%",
            n,
            copy_bw,
            t_kl * 1e6,
            kl_bw,
            100.0 * kl_bw / copy_bw,
            t_s * 1e6,
            s_bw,
            100.0 * s_bw / copy_bw
        );
        csv += &format!(
            "{n},{copy_bw:.1},{:.3},{kl_bw:.1},{:.3},{s_bw:.1}\n",
            t_kl * 1e6,
            t_s * 1e6
        );
    }
    if let Ok(path) = std::env::var("BPRL_BENCH_CSV") {
        std::fs::write(&path, csv).unwrap_or_else(|e| panic!("writing {path}: {e}"));
    }
}
