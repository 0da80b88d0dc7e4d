//! Gradient checking against central finite differences, for tests of every backward pass.

use crate::params::Parameters;

/// Central finite differences of `loss` with respect to every parameter, in visiting order.
///
/// # Formula
/// `(L(theta + h e_i) - L(theta - h e_i)) / (2 h)` with `h = step * max(1, |theta_i|)`.
pub fn finite_difference<P: Parameters<f64> + Clone>(
    params: &P,
    step: f64,
    loss: impl Fn(&P) -> f64,
) -> Vec<f64> {
    let base = params.flatten();
    let mut probe = params.clone();
    let mut out = Vec::with_capacity(base.len());
    let mut values = base.clone();
    for i in 0..base.len() {
        let h = step * base[i].abs().max(1.0);
        values[i] = base[i] + h;
        probe.assign_flat(&values);
        let up = loss(&probe);
        values[i] = base[i] - h;
        probe.assign_flat(&values);
        let down = loss(&probe);
        values[i] = base[i];
        out.push((up - down) / (2.0 * h));
    }
    out
}

/// Largest `|a - b| / (1 + max(|a|, |b|))` over two gradients, and its index.
pub fn max_error(analytic: &[f64], numeric: &[f64]) -> (f64, usize) {
    analytic
        .iter()
        .zip(numeric)
        .enumerate()
        .map(|(i, (a, b))| ((a - b).abs() / (1.0 + a.abs().max(b.abs())), i))
        .fold(
            (0.0, 0),
            |best, cur| if cur.0 > best.0 { cur } else { best },
        )
}
