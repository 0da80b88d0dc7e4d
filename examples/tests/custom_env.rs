//! The `custom_env` example, run as a test at a smaller budget: an environment that is not
//! part of bprl trains through the generic trainer and beats a random policy.

#[path = "../examples/custom_env.rs"]
mod custom_env;

#[test]
fn an_environment_of_our_own_trains_past_a_random_policy() {
    let (trained, random) = custom_env::run(2_500, 3, 20).unwrap();
    // Reaching a beacon pays about 1 plus the start distance (~1); random actions drift and
    // rarely arrive, earning about 0.
    assert!(
        trained > random + 0.5,
        "trained {trained:.3} vs random {random:.3}"
    );
}
