//! `bprl bench learner`: Algorithm 1 (and 2) learner updates at the reference sizes on random
//! data, timed like `../shared/reference/jax_svg0_prior.py` (median ms per update, updates/s).

use bprl_agents::batch::LearnerBatch;
use bprl_agents::flat::FlatLearner;
use bprl_agents::hierarchical::HierLearner;
use bprl_agents::{HierarchyConfig, LearnerConfig, LowLevel, PriorConfig};
use bprl_envs::PriorView;
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

/// Runs `steps` timed updates after one warm-up; prints and returns the median seconds.
pub fn learner(s: BenchSizes, steps: usize, hierarchical: bool) -> Result<f64, String> {
    let spec = ObservationSpec::new(vec![
        ("proprio".into(), s.prior_obs),
        ("task".into(), s.obs - s.prior_obs),
    ])
    .map_err(|e| e.to_string())?;
    let cfg = LearnerConfig {
        batch_size: s.batch,
        sequence_length: s.seq,
        action_samples: s.samples,
        ..LearnerConfig::default()
    };
    // The prior sees the first group (`proprio`), like the reference's first 41 floats.
    let prior = PriorConfig::Learned {
        view: PriorView::Proprio,
    };
    let b = batch(&s, 1);
    let mut times = Vec::with_capacity(steps);
    let mut run = |f: &mut dyn FnMut() -> Result<(), String>| -> Result<(), String> {
        f()?;
        for _ in 0..steps {
            let t0 = Instant::now();
            f()?;
            times.push(t0.elapsed().as_secs_f64());
        }
        Ok(())
    };
    if hierarchical {
        let h = HierarchyConfig {
            latent_dim: 8,
            hold_steps: 1,
            low_level: LowLevel::Shared,
        };
        let mut l =
            HierLearner::<f32>::new(&spec, s.act, cfg, h, prior, 0).map_err(|e| e.to_string())?;
        run(&mut || l.update(&b).map(|_| ()).map_err(|e| e.to_string()))?;
    } else {
        let mut l =
            FlatLearner::<f32>::new(&spec, s.act, cfg, prior, 0).map_err(|e| e.to_string())?;
        run(&mut || l.update(&b).map(|_| ()).map_err(|e| e.to_string()))?;
    }
    times.sort_by(f64::total_cmp);
    let med = times[times.len() / 2];
    println!(
        "bprl {} learner: batch={} seq={} samples={} obs={} prior_obs={} act={}",
        if hierarchical {
            "Algorithm 2 (latent 8, shared low level)"
        } else {
            "Algorithm 1"
        },
        s.batch,
        s.seq,
        s.samples,
        s.obs,
        s.prior_obs,
        s.act
    );
    println!(
        "median_ms_per_update={:.2} updates_per_s={:.3}",
        med * 1e3,
        1.0 / med
    );
    Ok(med)
}
