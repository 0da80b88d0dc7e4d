//! The paper's identities on random discrete instances (Eq. 3-5, 6-7, 9, 11).

use crate::common::{config, simplex, simplex_rows};
use bprl_distributions::theory::{
    conditional_mutual_information, expected_policy_prior_kl, expected_task_kl, hierarchical_kl,
    joint_distribution, kl_discrete, kl_regularized_value, optimal_shared_prior, policy_marginal,
    soft_optimal_policy,
};
use ndarray::{Array1, Array2, Array3, Axis};
use proptest::prelude::*;

const TOL: f64 = 1e-9;

fn q_values(n: usize) -> impl Strategy<Value = Array1<f64>> {
    proptest::collection::vec(-5.0f64..5.0, n).prop_map(Array1::from)
}

/// A `[d, g, a]` policy: one probability vector per `(d, g)`.
fn policy3(d: usize, g: usize, a: usize) -> impl Strategy<Value = Array3<f64>> {
    simplex_rows(d * g, a, 0.01).prop_map(move |m| m.into_shape_with_order((d, g, a)).unwrap())
}

proptest! {
    #![proptest_config(config())]

    /// Eq. 3-5: pi* attains V, and every other policy does no better; the gap is alpha KL(pi||pi*).
    #[test]
    fn soft_optimal_policy_attains_the_soft_value(
        q in q_values(5),
        prior in simplex(5, 0.01),
        other in simplex(5, 0.0),
        alpha in 0.05f64..5.0,
    ) {
        let opt = soft_optimal_policy(q.view(), prior.view(), alpha).unwrap();
        let attained = kl_regularized_value(opt.policy.view(), prior.view(), q.view(), alpha).unwrap();
        prop_assert!((attained - opt.value).abs() <= TOL * (1.0 + opt.value.abs()));
        let j = kl_regularized_value(other.view(), prior.view(), q.view(), alpha).unwrap();
        prop_assert!(j <= opt.value + TOL);
        let gap = alpha * kl_discrete(other.view(), opt.policy.view()).unwrap();
        prop_assert!((opt.value - j - gap).abs() <= 1e-8 * (1.0 + gap));
    }

    /// Eq. 6-7: the posterior mixture minimizes the expected task KL; any other prior is worse
    /// by exactly KL(mixture || prior).
    #[test]
    fn mixture_is_the_optimal_shared_prior(
        posterior in simplex(3, 0.01),
        policies in simplex_rows(3, 4, 0.01),
        other in simplex(4, 0.01),
        t in 0.01f64..1.0,
    ) {
        let mix = optimal_shared_prior(posterior.view(), policies.view()).unwrap();
        let best = expected_task_kl(posterior.view(), policies.view(), mix.view()).unwrap();
        // A perturbed prior on the segment towards `other`, and `other` itself.
        let perturbed = (1.0 - t) * &mix + t * &other;
        for prior in [perturbed, other] {
            let worse = expected_task_kl(posterior.view(), policies.view(), prior.view()).unwrap();
            prop_assert!(worse >= best - TOL);
            let gap = kl_discrete(mix.view(), prior.view()).unwrap();
            prop_assert!((worse - best - gap).abs() <= TOL);
        }
    }

    /// Eq. 9: I(x^G; a | x^D) <= E KL(pi || pi0) for any prior on x^D, with equality at the
    /// policy's marginal.
    #[test]
    fn information_bottleneck_bound(
        state in simplex(6, 0.01),
        policy in policy3(2, 3, 4),
        prior in simplex_rows(2, 4, 0.01),
    ) {
        let state = state.into_shape_with_order((2, 3)).unwrap();
        let joint = joint_distribution(state.view(), policy.view()).unwrap();
        let mi = conditional_mutual_information(joint.view()).unwrap();
        let bound = expected_policy_prior_kl(state.view(), policy.view(), prior.view()).unwrap();
        prop_assert!(mi <= bound + TOL);
        let marginal = policy_marginal(state.view(), policy.view()).unwrap();
        let at_marginal = expected_policy_prior_kl(state.view(), policy.view(), marginal.view()).unwrap();
        prop_assert!((mi - at_marginal).abs() <= TOL);
        prop_assert!(mi >= 0.0);
    }

    /// Eq. 11: KL of the marginals <= KL_H + E KL_L; a shared low level leaves only KL_H.
    #[test]
    fn hierarchical_bound(
        high in simplex(3, 0.01),
        low in simplex_rows(3, 4, 0.01),
        prior_high in simplex(3, 0.01),
        prior_low in simplex_rows(3, 4, 0.01),
    ) {
        let h = hierarchical_kl(high.view(), low.view(), prior_high.view(), prior_low.view()).unwrap();
        prop_assert!(h.marginal >= -TOL);
        prop_assert!(h.marginal <= h.bound() + TOL);
        let shared = hierarchical_kl(high.view(), low.view(), prior_high.view(), low.view()).unwrap();
        prop_assert_eq!(shared.expected_low, 0.0);
        prop_assert!(shared.marginal <= shared.high + TOL);
        prop_assert_eq!(shared.bound(), shared.high);
    }
}

#[test]
fn mutual_information_of_independent_goal_is_zero() {
    // The action ignores x^G: I = 0 and the marginal prior gives KL 0.
    let state = Array2::from_elem((2, 3), 1.0 / 6.0);
    let row = [0.1, 0.2, 0.7];
    let policy = Array3::from_shape_fn((2, 3, 3), |(_, _, a)| row[a]);
    let joint = joint_distribution(state.view(), policy.view()).unwrap();
    assert!(conditional_mutual_information(joint.view()).unwrap().abs() < TOL);
    let marginal = policy_marginal(state.view(), policy.view()).unwrap();
    for r in marginal.axis_iter(Axis(0)) {
        for (a, v) in r.iter().enumerate() {
            assert!((v - row[a]).abs() < TOL);
        }
    }
}

#[test]
fn mutual_information_of_a_goal_copying_policy_is_the_goal_entropy() {
    // One x^D value, x^G uniform over 4 goals, a = g deterministically: I = ln 4.
    let state = Array2::from_elem((1, 4), 0.25);
    let policy = Array3::from_shape_fn((1, 4, 4), |(_, g, a)| if g == a { 1.0 } else { 0.0 });
    let joint = joint_distribution(state.view(), policy.view()).unwrap();
    let mi = conditional_mutual_information(joint.view()).unwrap();
    assert!((mi - 4.0f64.ln()).abs() < TOL);
}
