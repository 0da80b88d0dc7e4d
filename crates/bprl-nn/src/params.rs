//! Parameters as plain data: every network (and its gradient, which is a value of the same
//! type) exposes its arrays by name in a fixed order, and everything else — optimizers,
//! target copies, flattening, saving — is written once over that.

use crate::scalar::Scalar;
use ndarray::{ArrayViewD, ArrayViewMutD};

/// A value holding named parameter arrays in a fixed order.
///
/// A network's gradient has the same type as the network (`Linear`'s gradient is a `Linear`),
/// so optimizers zip a network with its gradient by visiting both in the same order.
pub trait Parameters<F: Scalar> {
    /// Calls `f(name, array)` for every parameter array, in a fixed order; names are prefixed
    /// with `prefix` (dot-separated).
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, ArrayViewD<'_, F>));

    /// Calls `f(name, array)` mutably, in the same order as [`Parameters::visit`].
    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, ArrayViewMutD<'_, F>));

    /// Total number of scalars.
    fn num_params(&self) -> usize {
        let mut n = 0;
        self.visit("", &mut |_, a| n += a.len());
        n
    }

    /// The parameter names, in visiting order.
    fn names(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.visit("", &mut |name, _| out.push(name.to_string()));
        out
    }

    /// Every parameter array's name and shape, in visiting order: two values share an
    /// architecture exactly when these are equal (parameter counts alone are not enough: a
    /// `[1, 5]` and a `[5, 1]` array hold as many scalars).
    fn shapes(&self) -> Vec<(String, Vec<usize>)> {
        let mut out = Vec::new();
        self.visit("", &mut |name, a| {
            out.push((name.to_string(), a.shape().to_vec()))
        });
        out
    }

    /// All scalars concatenated in visiting order (row-major within each array).
    fn flatten(&self) -> Vec<F> {
        let mut out = Vec::with_capacity(self.num_params());
        self.visit("", &mut |_, a| out.extend(a.iter().copied()));
        out
    }

    /// Overwrites all scalars from a flat slice in visiting order; returns how many were read.
    /// Stops early (returning fewer) if `values` is too short.
    fn assign_flat(&mut self, values: &[F]) -> usize {
        let mut cursor = 0;
        self.visit_mut("", &mut |_, mut a| {
            for v in a.iter_mut() {
                if let Some(x) = values.get(cursor) {
                    *v = *x;
                    cursor += 1;
                }
            }
        });
        cursor
    }

    /// Sets every scalar to 0 (for gradient accumulators).
    fn fill_zero(&mut self) {
        self.visit_mut("", &mut |_, mut a| a.fill(F::zero()));
    }

    /// The same architecture with every parameter 0: a gradient accumulator.
    fn zeros_like(&self) -> Self
    where
        Self: Clone + Sized,
    {
        let mut z = self.clone();
        z.fill_zero();
        z
    }

    /// Hard target copy: `self <- other` (same architecture).
    fn copy_from(&mut self, other: &Self)
    where
        Self: Sized,
    {
        self.assign_flat(&other.flatten());
    }

    /// `self_i <- f(self_i, other_i)` for every parameter, in visiting order (same
    /// architecture): the one loop behind [`Parameters::add_assign_params`] and
    /// [`Parameters::polyak_from`].
    fn combine_from(&mut self, other: &Self, f: &dyn Fn(F, F) -> F)
    where
        Self: Sized,
    {
        let src = other.flatten();
        let mut cursor = 0;
        self.visit_mut("", &mut |_, mut a| {
            for v in a.iter_mut() {
                if let Some(&x) = src.get(cursor) {
                    *v = f(*v, x);
                }
                cursor += 1;
            }
        });
    }

    /// `self += other`, parameter by parameter (summing per-chunk gradient accumulators;
    /// same architecture).
    fn add_assign_params(&mut self, other: &Self)
    where
        Self: Sized,
    {
        self.combine_from(other, &|a, b| a + b);
    }

    /// Polyak averaging: `self <- (1 - tau) self + tau other`.
    fn polyak_from(&mut self, other: &Self, tau: F)
    where
        Self: Sized,
    {
        self.combine_from(other, &|a, b| (F::one() - tau) * a + tau * b);
    }

    /// Euclidean norm of all scalars (of a gradient, typically).
    fn l2_norm(&self) -> F {
        let mut s = F::zero();
        self.visit("", &mut |_, a| {
            s += a.iter().fold(F::zero(), |acc, v| acc + *v * *v)
        });
        s.sqrt()
    }
}

/// Joins a prefix and a name with a dot (no dot for an empty prefix).
pub fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

/// The first array whose name or shape differs between `expected` and `found`
/// ([`Parameters::shapes`] of each), as `(name, expected shape, found shape)`; a missing
/// array has the empty shape and the name of the one present.
pub fn first_shape_mismatch(
    expected: &[(String, Vec<usize>)],
    found: &[(String, Vec<usize>)],
) -> Option<(String, Vec<usize>, Vec<usize>)> {
    let n = expected.len().max(found.len());
    (0..n).find_map(|i| match (expected.get(i), found.get(i)) {
        (Some((a, sa)), Some((b, sb))) if a == b && sa == sb => None,
        (Some((a, sa)), Some((b, sb))) => Some((
            if a == b {
                a.clone()
            } else {
                format!("{a} (found {b})")
            },
            sa.clone(),
            sb.clone(),
        )),
        (Some((a, sa)), None) => Some((a.clone(), sa.clone(), Vec::new())),
        (None, Some((b, sb))) => Some((b.clone(), Vec::new(), sb.clone())),
        (None, None) => None,
    })
}
