//! Retrace on random small MDPs: the expectation of our sampled-sequence targets over all
//! trajectories is the (horizon-`H`) Retrace operator of Munos et al. 2016, which is a
//! gamma-contraction in sup norm for any behavior policy, with fixed point `Q^pi` computed by
//! an exact linear solve.

use crate::common::config;
use bprl_retrace::{Lambda, Sequence, retrace};
use ndarray::{Array1, Array2, Array3};
use proptest::prelude::*;

const S: usize = 3;
const A: usize = 2;
const H: usize = 3;

#[derive(Debug, Clone)]
struct Mdp {
    p: Array3<f64>,  // P(x'|x, a), [S, A, S]
    r: Array2<f64>,  // R(x, a), [S, A]
    pi: Array2<f64>, // target policy, [S, A]
    mu: Array2<f64>, // behavior policy, [S, A]
    gamma: f64,
    lambda: f64,
}

fn rows(n: usize, k: usize) -> impl Strategy<Value = Vec<f64>> {
    proptest::collection::vec(0.05f64..1.0, n * k).prop_map(move |v| {
        v.chunks(k)
            .flat_map(|c| {
                let s: f64 = c.iter().sum();
                c.iter().map(|x| x / s).collect::<Vec<_>>()
            })
            .collect()
    })
}

fn mdp() -> impl Strategy<Value = Mdp> {
    (
        rows(S * A, S),
        proptest::collection::vec(-1.0f64..1.0, S * A),
        rows(S, A),
        rows(S, A),
        0.3f64..0.95,
        0.0f64..=1.0,
    )
        .prop_map(|(p, r, pi, mu, gamma, lambda)| Mdp {
            p: Array3::from_shape_vec((S, A, S), p).unwrap(),
            r: Array2::from_shape_vec((S, A), r).unwrap(),
            pi: Array2::from_shape_vec((S, A), pi).unwrap(),
            mu: Array2::from_shape_vec((S, A), mu).unwrap(),
            gamma,
            lambda,
        })
}

/// `(R_H Q)(x, a)`: the probability-weighted mean of `retrace` targets at `t = 0` over every
/// trajectory of `H` transitions that starts with `(x, a)` and then follows `mu`.
fn retrace_operator(m: &Mdp, q: &Array2<f64>) -> Array2<f64> {
    // Enumerate the (x_{t+1}, a_{t+1}) choices for t = 0..H-1 (a_H is irrelevant).
    let mut paths: Vec<(Vec<(usize, usize)>, f64)> = Vec::new();
    for x0 in 0..S {
        for a0 in 0..A {
            let mut frontier = vec![(vec![(x0, a0)], 1.0)];
            for t in 0..H {
                let mut next = Vec::new();
                for (path, prob) in &frontier {
                    let (x, a) = path[t];
                    for x1 in 0..S {
                        let acts = if t + 1 < H { A } else { 1 };
                        for a1 in 0..acts {
                            let pa = if t + 1 < H { m.mu[(x1, a1)] } else { 1.0 };
                            let mut p = path.clone();
                            p.push((x1, a1));
                            next.push((p, prob * m.p[(x, a, x1)] * pa));
                        }
                    }
                }
                frontier = next;
            }
            paths.extend(frontier);
        }
    }
    let b = paths.len();
    let v = |x: usize| (0..A).map(|a| m.pi[(x, a)] * q[(x, a)]).sum::<f64>();
    let mut q_t = Array2::zeros((H, b));
    let mut v_tp1 = Array2::zeros((H, b));
    let mut r_t = Array2::zeros((H, b));
    let mut log_rho = Array2::zeros((H, b));
    for (j, (path, _)) in paths.iter().enumerate() {
        for t in 0..H {
            let (x, a) = path[t];
            q_t[(t, j)] = q[(x, a)];
            r_t[(t, j)] = m.r[(x, a)];
            v_tp1[(t, j)] = v(path[t + 1].0);
            log_rho[(t, j)] = m.pi[(x, a)].ln() - m.mu[(x, a)].ln();
        }
    }
    let discount = Array2::from_elem((H, b), m.gamma);
    let seq = Sequence {
        q_t: q_t.view(),
        v_tp1: v_tp1.view(),
        r_t: r_t.view(),
        discount_t: discount.view(),
    };
    let out = retrace(&seq, log_rho.view(), Lambda::Constant(m.lambda)).unwrap();
    let mut rq = Array2::zeros((S, A));
    for (j, (path, prob)) in paths.iter().enumerate() {
        rq[path[0]] += prob * out.targets[(0, j)];
    }
    rq
}

/// `Q^pi` from `(I - gamma P Pi) q = R` by Gaussian elimination with partial pivoting.
fn q_pi(m: &Mdp) -> Array2<f64> {
    let n = S * A;
    let mut a = Array2::<f64>::eye(n);
    let mut rhs = Array1::zeros(n);
    for x in 0..S {
        for u in 0..A {
            let i = x * A + u;
            rhs[i] = m.r[(x, u)];
            for y in 0..S {
                for w in 0..A {
                    a[(i, y * A + w)] -= m.gamma * m.p[(x, u, y)] * m.pi[(y, w)];
                }
            }
        }
    }
    for col in 0..n {
        let piv = (col..n)
            .max_by(|&i, &j| a[(i, col)].abs().total_cmp(&a[(j, col)].abs()))
            .unwrap();
        for k in 0..n {
            a.swap((col, k), (piv, k));
        }
        rhs.swap(col, piv);
        for row in 0..n {
            if row != col {
                let f = a[(row, col)] / a[(col, col)];
                for k in 0..n {
                    a[(row, k)] -= f * a[(col, k)];
                }
                rhs[row] -= f * rhs[col];
            }
        }
    }
    Array2::from_shape_fn((S, A), |(x, u)| rhs[x * A + u] / a[(x * A + u, x * A + u)])
}

fn sup(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    a.iter()
        .zip(b.iter())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn retrace_operator_is_a_gamma_contraction(
        m in mdp(),
        q1 in proptest::collection::vec(-5.0f64..5.0, S * A),
        q2 in proptest::collection::vec(-5.0f64..5.0, S * A),
    ) {
        let q1 = Array2::from_shape_vec((S, A), q1).unwrap();
        let q2 = Array2::from_shape_vec((S, A), q2).unwrap();
        let d_in = sup(&q1, &q2);
        let d_out = sup(&retrace_operator(&m, &q1), &retrace_operator(&m, &q2));
        prop_assert!(d_out <= m.gamma * d_in + 1e-12, "{d_out} > {} * {d_in}", m.gamma);
    }

    #[test]
    fn fixed_point_is_q_pi(m in mdp(), q0 in proptest::collection::vec(-5.0f64..5.0, S * A)) {
        let exact = q_pi(&m);
        // Q^pi is a fixed point...
        prop_assert!(sup(&retrace_operator(&m, &exact), &exact) < 1e-10);
        // ...and iterating from anywhere converges to it at rate gamma.
        let mut q = Array2::from_shape_vec((S, A), q0).unwrap();
        let start = sup(&q, &exact);
        let iters = 40;
        for _ in 0..iters {
            q = retrace_operator(&m, &q);
        }
        prop_assert!(sup(&q, &exact) <= m.gamma.powi(iters) * start + 1e-9);
    }
}
