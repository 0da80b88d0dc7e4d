//! Every seed the loop derives from `run.seed`, in one place: the synchronous mode's
//! episodes, the evaluation's fixed start states, the threaded actors, the replays.

use rand::SeedableRng;
use rand::rngs::StdRng;

/// A 64-bit mix of two words (SplitMix64's finalizer): seeds derived from the run's seed.
pub fn mix(a: u64, b: u64) -> u64 {
    let mut z = a ^ b.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The seeds of synchronous episode `episode`: the environment's reset seed and the actor's
/// generator.
pub fn episode_seeds(run_seed: u64, episode: u64) -> (u64, StdRng) {
    let seed = mix(run_seed, episode);
    (seed, StdRng::seed_from_u64(mix(seed, 1)))
}

/// The reset seed of evaluation episode `e` (fixed start states, whatever the run).
pub fn eval_seed(e: u64) -> u64 {
    mix(0xE7A1, e)
}
