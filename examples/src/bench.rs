//! `bprl bench learner`: Algorithm 1 (and 2) learner updates at the reference sizes on random
//! data, timed like `../shared/reference/jax_svg0_prior.py` (median ms per update, updates/s).

use bprl_agents::batch::LearnerBatch;
use bprl_agents::flat::FlatLearner;
use bprl_agents::hierarchical::HierLearner;
use bprl_agents::{HierarchyConfig, LearnerConfig, LowLevel, PriorConfig};
use bprl_policy::ObservationSpec;
use ndarray::Array2;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use std::time::Instant;

/// Sizes of the comparison (the JAX reference's defaults).
#[derive(Debug, Clone, Copy)]
pub struct BenchSizes {
    /// Batch of sequences.
    pub batch: usize,
    /// Sequence length `T`.
    pub seq: usize,
    /// Action samples.
    pub samples: usize,
    /// Observation floats (policy and critic).
    pub obs: usize,
    /// The first `prior_obs` floats the prior sees.
    pub prior_obs: usize,
    /// Action dimensions.
    pub act: usize,
}

impl Default for BenchSizes {
    fn default() -> Self {
        Self {
            batch: 256,
            seq: 10,
            samples: 10,
            obs: 55,
            prior_obs: 41,
            act: 8,
        }
    }
}

fn batch(s: &BenchSizes, seed: u64) -> LearnerBatch<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    let t1 = s.seq + 1;
    let mut normal = |rows: usize, cols: usize| {
        Array2::from_shape_simple_fn((rows, cols), || {
            let (u1, u2): (f32, f32) = (rng.random::<f32>().max(1e-7), rng.random());
            (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
        })
    };
    LearnerBatch {
        steps: s.seq,
        batch: s.batch,
        obs: normal(t1 * s.batch, s.obs),
        actions: normal(t1 * s.batch, s.act).mapv(f32::tanh),
        rewards: normal(s.seq, s.batch),
        discounts: Array2::ones((s.seq, s.batch)),
        log_mu: normal(t1, s.batch).mapv(|v| -4.0 + 0.1 * v),
        mask: Array2::ones((t1, s.batch)),
    }
}

/// A learner of either algorithm at the benchmark sizes, on Acme's setting (one critic, the
/// target critic in the policy loss, no squash), as the JAX reference and [`algorithm1_flops`]:
/// the default `bprl` preset has twin critics (about twice the critic work).
enum Bencher {
    Flat(Box<FlatLearner<f32>>),
    Hier(Box<HierLearner<f32>>),
}

impl Bencher {
    fn new(s: &BenchSizes, hierarchical: bool) -> Result<Self, String> {
        let spec = ObservationSpec::new(vec![
            ("proprio".into(), s.prior_obs),
            ("task".into(), s.obs - s.prior_obs),
        ])
        .map_err(|e| e.to_string())?;
        let cfg = LearnerConfig {
            batch_size: s.batch,
            sequence_length: s.seq,
            action_samples: s.samples,
            ..LearnerConfig::acme()
        };
        // The prior sees the first group (`proprio`), like the reference's first 41 floats.
        let prior = PriorConfig::learned(&["proprio"]);
        Ok(if hierarchical {
            let h = HierarchyConfig {
                latent_dim: 8,
                hold_steps: 1,
                low_level: LowLevel::Shared,
                low_level_groups: None,
            };
            Bencher::Hier(Box::new(
                HierLearner::<f32>::new(&spec, s.act, cfg, h, prior, 0)
                    .map_err(|e| e.to_string())?,
            ))
        } else {
            Bencher::Flat(Box::new(
                FlatLearner::<f32>::new(&spec, s.act, cfg, prior, 0).map_err(|e| e.to_string())?,
            ))
        })
    }

    fn name(&self) -> &'static str {
        match self {
            Bencher::Flat(_) => "Algorithm 1",
            Bencher::Hier(_) => "Algorithm 2 (latent 8, shared low level)",
        }
    }

    /// One update; returns its wall and process CPU seconds.
    fn update(&mut self, b: &LearnerBatch<f32>) -> Result<(f64, f64), String> {
        let (t0, c0) = (Instant::now(), cpu_seconds());
        match self {
            Bencher::Flat(l) => l.update(b).map(|_| ()),
            Bencher::Hier(l) => l.update(b).map(|_| ()),
        }
        .map_err(|e| e.to_string())?;
        Ok((t0.elapsed().as_secs_f64(), cpu_seconds() - c0))
    }
}

/// CPU seconds (user + system) of this process so far, from `/proc/self/stat` (Linux; 0
/// elsewhere). Clock ticks of 10 ms: meaningful summed over several updates.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which ends with the last ')'): utime and stime are the
    // 12th and 13th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse().ok())
        .collect();
    f.iter().sum::<f64>() / 100.0
}

fn median(times: &mut [f64]) -> f64 {
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn print_sizes(s: &BenchSizes) {
    println!(
        "sizes: batch={} seq={} samples={} obs={} prior_obs={} act={} (Acme's setting: one critic)",
        s.batch, s.seq, s.samples, s.obs, s.prior_obs, s.act
    );
    println!(
        "kernel path: {}, threads: {}",
        bprl_compute::cpu::selection(),
        bprl_compute::parallel::num_threads()
    );
}

/// Runs `steps` timed updates after one warm-up; prints and returns the median seconds.
pub fn learner(s: BenchSizes, steps: usize, hierarchical: bool) -> Result<f64, String> {
    let b = batch(&s, 1);
    let mut l = Bencher::new(&s, hierarchical)?;
    l.update(&b)?;
    let mut times = Vec::with_capacity(steps);
    let mut cpu = 0.0;
    for _ in 0..steps {
        let (t, c) = l.update(&b)?;
        times.push(t);
        cpu += c;
    }
    let total: f64 = times.iter().sum();
    let med = median(&mut times);
    println!("bprl {} learner", l.name());
    print_sizes(&s);
    println!(
        "median_ms_per_update={:.2} updates_per_s={:.3} min_ms_per_update={:.2} cpu_s_per_update={:.3} cores_busy={:.2}",
        med * 1e3,
        1.0 / med,
        times[0] * 1e3,
        cpu / steps as f64,
        cpu / total
    );
    Ok(med)
}

/// Algorithm 1 and Algorithm 2 timed in the same run, their updates interleaved (1, 2, 1, 2,
/// ...) so that a changing load on the machine falls on both alike; prints each median, the
/// CPU seconds per update, and the ratio of the medians. Returns the ratio.
pub fn learner_pair(s: BenchSizes, steps: usize) -> Result<f64, String> {
    let b = batch(&s, 1);
    let mut pair = [Bencher::new(&s, false)?, Bencher::new(&s, true)?];
    for l in &mut pair {
        l.update(&b)?;
    }
    let mut times = [Vec::with_capacity(steps), Vec::with_capacity(steps)];
    let mut cpu = [0.0; 2];
    for _ in 0..steps {
        for (k, l) in pair.iter_mut().enumerate() {
            let (t, c) = l.update(&b)?;
            times[k].push(t);
            cpu[k] += c;
        }
    }
    println!("bprl learner pair: Algorithm 1 and 2 interleaved, {steps} updates each");
    print_sizes(&s);
    let mut medians = [0.0; 2];
    for (k, l) in pair.iter().enumerate() {
        medians[k] = median(&mut times[k]);
        println!(
            "{}: median_ms_per_update={:.2} min_ms_per_update={:.2} cpu_s_per_update={:.3}",
            l.name(),
            medians[k] * 1e3,
            times[k][0] * 1e3,
            cpu[k] / steps as f64
        );
    }
    let ratio = medians[1] / medians[0];
    println!(
        "ratio alg2/alg1 median = {ratio:.2}x (cpu: {:.2}x)",
        cpu[1] / cpu[0].max(1e-9)
    );
    Ok(ratio)
}

/// Floating-point operations of one Algorithm 1 update as implemented (matrix products only,
/// `2 rows in out` per product): what the update actually computes, so the achieved rate is
/// honest. The critic's first layer is split in its observation part (computed once per
/// observation, shared by the `S` samples) and its action part; the SVG(0) pass through the
/// target critic computes input gradients only; the critic loss computes parameter gradients
/// only; the policy and prior backward passes compute both.
pub fn algorithm1_flops(s: &BenchSizes, policy: &[usize], critic: &[usize]) -> f64 {
    let layers = |input: usize, hidden: &[usize], out: usize| -> Vec<(usize, usize)> {
        let mut dims = vec![input];
        dims.extend_from_slice(hidden);
        let mut v: Vec<(usize, usize)> = dims.windows(2).map(|w| (w[0], w[1])).collect();
        v.push((*dims.last().unwrap_or(&input), out));
        v
    };
    let per_row = |l: &[(usize, usize)]| l.iter().map(|(i, o)| (i * o) as f64).sum::<f64>();
    let pol = per_row(&layers(s.obs, policy, 2 * s.act));
    let pri = per_row(&layers(s.prior_obs, policy, 2 * s.act));
    let cri_layers = layers(s.obs + s.act, critic, 1);
    let cri = per_row(&cri_layers);
    let h0 = critic.first().copied().unwrap_or(0) as f64;
    let cri_obs = s.obs as f64 * h0; // first layer, observation part
    let cri_act = s.act as f64 * h0; // first layer, action part
    let cri_rest = cri - cri_obs - cri_act; // the layers after the first
    let n_all = ((s.seq + 1) * s.batch) as f64;
    let n = (s.seq * s.batch) as f64;
    let sn = s.samples as f64;
    let mm = |rows: f64, w: f64| 2.0 * rows * w;
    // Forward of S samples per observation with the observation part shared.
    let samples_fwd = |obs_rows: f64| mm(obs_rows, cri_obs) + mm(sn * obs_rows, cri_act + cri_rest);
    mm(n_all, pol) * 2.0                         // online and target policy
        + mm(n_all, pri)                         // target prior
        + samples_fwd(n_all)                     // soft value through the target critic
        + mm(n, cri)                             // Q'(x_t, a_t) for Retrace
        + mm(n, cri) + mm(n, cri) + mm(n, cri_rest) // critic loss: forward, weight grads, input grads above layer 0
        + samples_fwd(n) + mm(sn * n, cri_rest + cri_act) // SVG(0): forward, input grads to the action
        + 2.0 * mm(n_all, pol)                   // policy backward (weights and inputs)
        + mm(n, pri) + 2.0 * mm(n, pri) // prior loss
}

/// Single-precision matrix-multiply throughput on a `25600 x 400` by `400 x 300` product (the
/// critic's widest layer at 10 samples): `matrixmultiply` (through `ndarray`) on one thread,
/// bprl's micro-kernel ([`bprl_compute::gemm::gemm`]) on one thread, and bprl's kernel with the
/// rows split across [`bprl_compute::parallel::num_threads`] threads, as the learner uses it.
/// Returns the best GFLOP/s.
pub fn sgemm() -> f64 {
    let a = Array2::<f32>::from_shape_fn((25_600, 400), |(i, j)| ((i * 7 + j) % 13) as f32 * 0.01);
    let b = Array2::<f32>::from_shape_fn((400, 300), |(i, j)| ((i + 3 * j) % 11) as f32 * 0.01);
    let time = |f: &dyn Fn() -> Array2<f32>| {
        let _ = f();
        let mut times: Vec<f64> = (0..5)
            .map(|_| {
                let t0 = Instant::now();
                std::hint::black_box(f());
                t0.elapsed().as_secs_f64()
            })
            .collect();
        times.sort_by(f64::total_cmp);
        times[2]
    };
    let flop = 2.0 * 25_600.0 * 400.0 * 300.0;
    let kernel = || {
        let mut c = Array2::zeros((25_600, 300));
        bprl_compute::gemm::gemm(&a.view(), &b.view(), &mut c.view_mut(), false);
        c
    };
    let threads = bprl_compute::parallel::num_threads();
    println!("kernel path: {}", bprl_compute::cpu::selection());
    let runs: [(String, f64); 3] = [
        ("matrixmultiply, 1 thread".into(), time(&|| a.dot(&b))),
        ("bprl kernel, 1 thread".into(), time(&kernel)),
        (
            format!("bprl kernel, {threads} threads"),
            time(&|| bprl_compute::parallel::dot(a.view(), b.view())),
        ),
    ];
    let mut best = 0.0f64;
    for (name, t) in &runs {
        let g = flop / t / 1e9;
        best = best.max(g);
        println!(
            "sgemm 25600x400x300 ({name}): median {:.2} ms, {g:.1} GFLOP/s",
            t * 1e3
        );
    }
    best
}
