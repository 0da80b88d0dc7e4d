//! The members of the return family, the latent ratio and the soft value.

use crate::common::{assert_close, batch, brute_force_retrace, config};
use bprl_retrace::{
    Lambda, Trace, general_off_policy_returns, kl_regularized_value, latent_log_rho,
    off_policy_returns, retrace, retrace_latent, trace_coefficients,
};
use ndarray::{Array2, Array3, Axis};
use proptest::prelude::*;

proptest! {
    #![proptest_config(config())]

    /// Each trace choice gives its `c_t`, and Retrace through the family equals `retrace`.
    #[test]
    fn trace_coefficients_per_member(b in batch(), log_mu in -3.0f64..0.0) {
        let log_mu_t = Array2::from_elem(b.q_t.raw_dim(), log_mu);
        let log_pi_t = &b.log_rho_t + log_mu;
        let lam = Lambda::Constant(b.lambda);
        let c = |t| trace_coefficients(t, lam, log_pi_t.view(), log_mu_t.view()).unwrap();
        let rho = b.log_rho_t.mapv(f64::exp);
        let tol = 1e-12;
        assert_close("one-step", &c(Trace::OneStep), &Array2::zeros(b.q_t.raw_dim()), tol);
        assert_close("Q(lambda)", &c(Trace::QLambda), &Array2::from_elem(b.q_t.raw_dim(), b.lambda), tol);
        assert_close("tree-backup", &c(Trace::TreeBackup), &log_pi_t.mapv(|l| b.lambda * l.exp()), tol);
        assert_close("IS", &c(Trace::ImportanceSampling), &rho.mapv(|r| b.lambda * r), tol);
        assert_close("Retrace", &c(Trace::Retrace), &rho.mapv(|r| b.lambda * r.min(1.0)), tol);
        let via_family = off_policy_returns(&b.seq(), Trace::Retrace, lam, log_pi_t.view(), log_mu_t.view()).unwrap();
        assert_close("family = retrace", &via_family.targets, &brute_force_retrace(&b), 1e-10);
        // One-step through the family is lambda = 0 Retrace.
        let one = off_policy_returns(&b.seq(), Trace::OneStep, lam, log_pi_t.view(), log_mu_t.view()).unwrap();
        let zero = retrace(&b.seq(), b.log_rho_t.view(), Lambda::Constant(0.0)).unwrap();
        assert_close("one-step = lambda 0", &one.targets, &zero.targets, 1e-12);
    }

    /// When every ratio is <= 1, importance sampling and Retrace coincide; with ratios > 1
    /// they differ (Retrace truncates).
    #[test]
    fn importance_sampling_vs_retrace(b in batch()) {
        let log_mu_t = Array2::zeros(b.q_t.raw_dim());
        let low = b.log_rho_t.mapv(|l| -l.abs());
        let is = off_policy_returns(&b.seq(), Trace::ImportanceSampling, Lambda::Constant(b.lambda), low.view(), log_mu_t.view()).unwrap();
        let rt = retrace(&b.seq(), low.view(), Lambda::Constant(b.lambda)).unwrap();
        assert_close("rho <= 1", &is.targets, &rt.targets, 1e-12);
    }

    /// The latent ratio adds the two levels' log-probabilities and subtracts the behavior's.
    #[test]
    fn latent_variant(b in batch(), split in 0.0f64..1.0, log_mu in -2.0f64..0.0) {
        let log_mu_t = Array2::from_elem(b.q_t.raw_dim(), log_mu);
        let total = &b.log_rho_t + log_mu;
        let high = total.mapv(|l| l * split);
        let low = total.mapv(|l| l * (1.0 - split));
        let ratio = latent_log_rho(high.view(), low.view(), log_mu_t.view()).unwrap();
        assert_close("log rho", &ratio, &b.log_rho_t, 1e-12);
        let out = retrace_latent(&b.seq(), high.view(), low.view(), log_mu_t.view(), Lambda::Constant(b.lambda)).unwrap();
        assert_close("latent targets", &out.targets, &brute_force_retrace(&b), 1e-9);
    }

    /// V_t = mean_s Q(x_t, a_s) - alpha KL_t, samples first.
    #[test]
    fn soft_value_is_sample_mean_minus_alpha_kl(
        q in proptest::collection::vec(-5.0f64..5.0, 4 * 3 * 2),
        kl in proptest::collection::vec(0.0f64..3.0, 3 * 2),
        alpha in 0.0f64..2.0,
    ) {
        let q = Array3::from_shape_vec((4, 3, 2), q).unwrap();
        let kl = Array2::from_shape_vec((3, 2), kl).unwrap();
        let v = kl_regularized_value(q.view(), kl.view(), alpha).unwrap();
        let want = q.mean_axis(Axis(0)).unwrap() - alpha * &kl;
        assert_close("soft value", &v, &want, 1e-12);
    }

    /// General returns with explicit c equal the Retrace path with the same c.
    #[test]
    fn general_with_explicit_c(b in batch()) {
        let c = b.log_rho_t.mapv(|l| b.lambda * l.exp().min(1.0));
        let out = general_off_policy_returns(&b.seq(), c.view()).unwrap();
        assert_close("general", &out.targets, &brute_force_retrace(&b), 1e-10);
    }
}

#[test]
fn huge_ratios_stay_finite() {
    // exp(1000) overflows; the clamp keeps importance sampling finite and Retrace at c = lambda.
    let log_pi = Array2::from_elem((3, 1), 1000.0f32);
    let log_mu = Array2::zeros((3, 1));
    let lam = Lambda::Constant(0.5f32);
    let is =
        trace_coefficients(Trace::ImportanceSampling, lam, log_pi.view(), log_mu.view()).unwrap();
    assert!(is.iter().all(|c| c.is_finite()));
    let rt = trace_coefficients(Trace::Retrace, lam, log_pi.view(), log_mu.view()).unwrap();
    assert!(rt.iter().all(|&c| c == 0.5));
    // Probability zero under pi: log pi = -inf gives c = 0.
    let zero = Array2::from_elem((3, 1), f32::NEG_INFINITY);
    let c = trace_coefficients(Trace::Retrace, lam, zero.view(), log_mu.view()).unwrap();
    assert!(c.iter().all(|&c| c == 0.0));
}
