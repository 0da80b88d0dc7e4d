//! The matrix product of the tile passes: `C (+)= A B` for one tile, in `f32` with an AVX2/FMA
//! micro-kernel on the `avx2` path ([`crate::cpu`]), an AVX-512 one or the `gemm` crate (large
//! products, [`uses_gemm_crate`]) on the `avx512` path, otherwise through `ndarray`
//! (`matrixmultiply`).
//!
//! A tile's products are small and repeated (a 256-row tile times a 400 x 300 weight, hundreds of
//! times per update), so the general library's strategy, packing both operands into contiguous
//! panels for every call, costs as much as a fifth of the work. This kernel packs nothing in the
//! common case: it reads `B` (a weight matrix, or a tile's gradient rows) in place, 16 columns at
//! a time, and broadcasts entries of `A` through arbitrary strides, so `A` may be a tile's rows
//! or the transpose of one (`X^T D` for weight gradients). Only a last partial panel of `B` is
//! copied into a zero-padded 16-column buffer.
//!
//! Blocking: a 6 x 16 block of `C` lives in twelve 8-float registers during the whole sum over
//! `k`; for each 16-column panel of `B` (kept in L1 across row blocks), every 6-row block of `A`
//! is visited.
//!
//! Summation order of the micro-kernel: each entry of `C` is one running fused multiply-add over
//! `p = 0..k` in order, then (when accumulating) added to the old `C`. It depends neither on
//! the number of rows nor on the blocking, so a row of `C` has the same bits whichever tile or
//! row split it is computed in. The AVX-512 kernel and the `gemm` crate (up to [`LARGE_K`])
//! sum in the same order, so the `avx512` path has the `avx2` path's bits. The portable
//! path's order is `matrixmultiply`'s.

#[cfg(target_arch = "x86_64")]
use crate::cpu::Isa;
use crate::cpu::Kernel;
use crate::element::Element;
use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView2, ArrayViewMut2};

/// Rows of a register block.
const MR: usize = 6;
/// Columns of a register block (two 8-float registers).
const NR: usize = 16;
/// Rows of A per cache block (a multiple of MR).
const MC: usize = 192;

/// `C = A B` (or `C += A B` if `accumulate`), `A: [m, k]`, `B: [k, n]`, `C: [m, n]`, any
/// strides, on the process-wide path ([`Kernel::selected`]). On the `avx2` path, `f32` with a
/// `C` of unit column stride takes the micro-kernel; everything else takes `ndarray`'s general
/// product.
///
/// # Panics
/// If the shapes do not agree (as `ndarray`'s `general_mat_mul`); the tile passes check
/// their shapes before calling.
pub fn gemm<F: Element>(
    a: &ArrayView2<'_, F>,
    b: &ArrayView2<'_, F>,
    c: &mut ArrayViewMut2<'_, F>,
    accumulate: bool,
) {
    gemm_on(Kernel::selected(), a, b, c, accumulate);
}

/// [`gemm()`] on the path `kernel` (for tests and benchmarks that compare paths).
///
/// # Panics
/// As [`gemm()`].
pub fn gemm_on<F: Element>(
    kernel: Kernel,
    a: &ArrayView2<'_, F>,
    b: &ArrayView2<'_, F>,
    c: &mut ArrayViewMut2<'_, F>,
    accumulate: bool,
) {
    gemm_impl(kernel, a, b, c, accumulate, true);
}

/// [`gemm_on`] with bprl's own micro-kernel of the path for every `f32` product it takes,
/// never the `gemm` crate (for benchmarks that compare the two; same bits as [`gemm_on`]).
///
/// # Panics
/// As [`gemm()`].
pub fn gemm_micro_kernel_on<F: Element>(
    kernel: Kernel,
    a: &ArrayView2<'_, F>,
    b: &ArrayView2<'_, F>,
    c: &mut ArrayViewMut2<'_, F>,
    accumulate: bool,
) {
    gemm_impl(kernel, a, b, c, accumulate, false);
}

fn gemm_impl<F: Element>(
    kernel: Kernel,
    a: &ArrayView2<'_, F>,
    b: &ArrayView2<'_, F>,
    c: &mut ArrayViewMut2<'_, F>,
    accumulate: bool,
    gemm_crate: bool,
) {
    let (m, k) = a.dim();
    let n = b.ncols();
    assert!(
        b.nrows() == k && c.dim() == (m, n),
        "gemm shapes: A {:?}, B {:?}, C {:?}",
        a.shape(),
        b.shape(),
        c.shape()
    );
    #[cfg(target_arch = "x86_64")]
    if std::any::TypeId::of::<F>() == std::any::TypeId::of::<f32>()
        && matches!(kernel.isa(), Isa::Avx2 | Isa::Avx512)
        && c.strides()[1] == 1
        && c.nrows() > 0
        && c.ncols() > 0
        && a.ncols() > 0
    {
        let (m, n) = (c.nrows(), c.ncols());
        let operands = Operands {
            a: a.as_ptr().cast::<f32>(),
            rsa: a.strides()[0],
            csa: a.strides()[1],
            b: b.as_ptr().cast::<f32>(),
            rsb: b.strides()[0],
            csb: b.strides()[1],
            k: a.ncols(),
        };
        let rsc = c.strides()[0];
        let c_ptr = c.as_mut_ptr().cast::<f32>();
        if kernel.isa() == Isa::Avx2 {
            // SAFETY: F is f32 (same type id), so the casts are identities; the operands
            // describe the views `a: [m, k]` and `b: [k, n]` (strides in elements, as ndarray
            // gives them); `c_ptr` addresses the `[m, n]` view `c` with row stride `rsc` and
            // unit column stride (checked); the processor has AVX2 and FMA: `kernel` is an
            // `Isa::Avx2` `Kernel`, and `Kernel::new`, the only way to make one, checks the
            // processor.
            unsafe { gemm_f32(&operands, c_ptr, rsc, m, n, accumulate) };
        } else if gemm_crate && uses_gemm_crate(m, operands.k, n) {
            // SAFETY: as for `avx512::gemm_f32` below; `gemm::gemm` reads `[m, k]` and `[k, n]`
            // through the given element strides and writes `[m, n]` (reading it first when
            // accumulating); `c` is a unique borrow, so it aliases neither operand.
            unsafe { gemm_crate_f32(&operands, c_ptr, rsc, m, n, accumulate) };
        } else {
            // SAFETY: as for the AVX2 call above, with the processor's AVX-512 F/BW/DQ/VL,
            // AVX2 and FMA proved by `kernel`, an `Isa::Avx512` `Kernel` (checked by
            // `Kernel::new`).
            unsafe { avx512::gemm_f32(&operands, c_ptr, rsc, m, n, accumulate) };
        }
        return;
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (kernel, gemm_crate); // One path only.
    let beta = if accumulate { F::one() } else { F::zero() };
    general_mat_mul(F::one(), a, b, beta, c);
}

/// `C += A B` **continuing** each entry's running sum: `c_ij = fma(a_{i,k-1}, b_{k-1,j}, ...
/// fma(a_{i0}, b_{0j}, c_ij))`, over `p = 0..k` in order, on the process-wide path.
///
/// On the paths whose products are one running fused multiply-add per entry from zero
/// ([`continues_chain`]: `f32` on `avx2` and `avx512`), a `C` that holds `X W_x` from
/// [`gemm()`] becomes, bit for bit, what [`gemm()`] gives for `[X, A]` times `[W_x; B]` (the
/// concatenated depth). This lets a first layer compute the product of an input prefix shared
/// by many rows once, and continue each row with its own part. On the other paths it is
/// `ndarray`'s `C = A B + C` (the same sum, rounded otherwise).
///
/// # Panics
/// If the shapes do not agree (as [`gemm()`]).
pub fn gemm_continue<F: Element>(
    a: &ArrayView2<'_, F>,
    b: &ArrayView2<'_, F>,
    c: &mut ArrayViewMut2<'_, F>,
) {
    gemm_continue_on(Kernel::selected(), a, b, c);
}

/// [`gemm_continue`] on the path `kernel` (for tests that compare paths).
///
/// # Panics
/// As [`gemm()`].
pub fn gemm_continue_on<F: Element>(
    kernel: Kernel,
    a: &ArrayView2<'_, F>,
    b: &ArrayView2<'_, F>,
    c: &mut ArrayViewMut2<'_, F>,
) {
    let (m, k) = a.dim();
    assert!(
        b.nrows() == k && c.dim() == (m, b.ncols()),
        "gemm_continue shapes: A {:?}, B {:?}, C {:?}",
        a.shape(),
        b.shape(),
        c.shape()
    );
    #[cfg(target_arch = "x86_64")]
    match kernel.isa() {
        // SAFETY: the processor has AVX2 and FMA: `kernel` is an `Isa::Avx2` `Kernel`, and
        // `Kernel::new`, the only way to make one, checks the processor.
        Isa::Avx2 => return unsafe { continue_avx2(a, b, c) },
        // SAFETY: the processor has the x86-64-v4 set: `kernel` is an `Isa::Avx512` `Kernel`,
        // checked by `Kernel::new`.
        Isa::Avx512 => return unsafe { continue_avx512(a, b, c) },
        _ => {}
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = kernel; // One path only.
    general_mat_mul(F::one(), a, b, F::one(), c);
}

/// Whether [`gemm_continue_on`] on `kernel` continues [`gemm_on`]'s sums exactly for `F` (see
/// [`gemm_continue`]): `f32` on the `avx2` and `avx512` paths.
pub fn continues_chain<F: Element>(kernel: Kernel) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::any::TypeId::of::<F>() == std::any::TypeId::of::<f32>()
            && matches!(kernel.isa(), Isa::Avx2 | Isa::Avx512)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = kernel;
        false
    }
}

/// The continued sum, row by row: `c_i += a_ik b_k` for `k` in order, each step one fused
/// multiply-add per entry. Contiguous rows of `B` and `C` go in blocks of [`CONTINUE_COLS`]
/// columns held in registers over the whole depth; the order per entry is the same either way.
#[inline(always)]
fn continue_rows<F: Element>(
    a: &ArrayView2<'_, F>,
    b: &ArrayView2<'_, F>,
    c: &mut ArrayViewMut2<'_, F>,
) {
    let b_rows: Option<Vec<&[F]>> = b.rows().into_iter().map(|r| r.to_slice()).collect();
    for (mut c_row, a_row) in c.rows_mut().into_iter().zip(a.rows()) {
        let (Some(b_rows), Some(c_slice)) = (b_rows.as_ref(), c_row.as_slice_mut()) else {
            for (&a_ik, b_row) in a_row.iter().zip(b.rows()) {
                c_row.zip_mut_with(&b_row, |c, &b| *c = a_ik.mul_add(b, *c));
            }
            continue;
        };
        // Blocks of 32, then 16, 8 and 4 columns, then single columns.
        let mut j = 0;
        j = continue_blocks::<F, CONTINUE_COLS>(j, a_row, b_rows, c_slice);
        j = continue_blocks::<F, 16>(j, a_row, b_rows, c_slice);
        j = continue_blocks::<F, 8>(j, a_row, b_rows, c_slice);
        j = continue_blocks::<F, 4>(j, a_row, b_rows, c_slice);
        continue_blocks::<F, 1>(j, a_row, b_rows, c_slice);
    }
}

/// [`continue_rows`]' blocks of `W` columns of one row from column `j` on, while `W` fit;
/// returns the first column left.
#[inline(always)]
fn continue_blocks<F: Element, const W: usize>(
    mut j: usize,
    a_row: ndarray::ArrayView1<'_, F>,
    b_rows: &[&[F]],
    c: &mut [F],
) -> usize {
    while j + W <= c.len() {
        let mut acc = [F::zero(); W];
        acc.copy_from_slice(&c[j..j + W]);
        for (&a_ik, b_row) in a_row.iter().zip(b_rows) {
            let b_block = &b_row[j..j + W];
            for (acc, &b) in acc.iter_mut().zip(b_block) {
                *acc = a_ik.mul_add(b, *acc);
            }
        }
        c[j..j + W].copy_from_slice(&acc);
        j += W;
    }
    j
}

/// Columns of `C` [`gemm_continue`] keeps in registers: two AVX-512 (four AVX2) registers of
/// `f32`.
const CONTINUE_COLS: usize = 32;

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn continue_avx2<F: Element>(
    a: &ArrayView2<'_, F>,
    b: &ArrayView2<'_, F>,
    c: &mut ArrayViewMut2<'_, F>,
) {
    continue_rows(a, b, c);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
fn continue_avx512<F: Element>(
    a: &ArrayView2<'_, F>,
    b: &ArrayView2<'_, F>,
    c: &mut ArrayViewMut2<'_, F>,
) {
    continue_rows(a, b, c);
}

/// The largest depth `k` the `avx512` path gives to the `gemm` crate. Up to this depth the
/// crate sums over `k` in one block on every processor (its depth block is
/// `max(512, cache-derived).min(k)`, gemm-common 0.19 `cache::kernel_params`), with one running
/// fused multiply-add per entry of `C` from zero, in order, then `alpha C + acc` with `alpha =
/// 1`: exactly the summation of bprl's micro-kernels, so the bits are the `avx2` path's. Past
/// it the crate's depth blocks depend on the cache sizes, so the bits would depend on the
/// processor: those products stay on bprl's kernel. (The tests check the bits on random
/// shapes.)
pub const LARGE_K: usize = 512;

/// Whether the `avx512` path gives `[m, k] x [k, n]` to the `gemm` crate: products large in
/// every dimension, where its packed 48 x 8 register blocks beat bprl's unpacked 12 x 32 ones
/// (`bprl bench kernels`: 15-25% on the critic's 250 x 400 x 300 tiles), and at most
/// [`LARGE_K`] deep. Narrow products (an 8- or 16-column head, a 55-row weight gradient, a
/// depth of 8 or 55) stay on bprl's kernel, which packs nothing and wins there.
pub fn uses_gemm_crate(m: usize, k: usize, n: usize) -> bool {
    m >= 128 && n >= 64 && (100..=LARGE_K).contains(&k)
}

/// `C (+)= A B` through the `gemm` crate on one thread (`alpha = 1`, `beta = 1`).
///
/// # Safety
/// `c` valid for reads and writes of `[m, n]` with row stride `rsc` and unit column stride; `o`
/// describes valid `a: [m, k]`, `b: [k, n]` that do not overlap `c`.
#[cfg(target_arch = "x86_64")]
unsafe fn gemm_crate_f32(
    o: &Operands,
    c: *mut f32,
    rsc: isize,
    m: usize,
    n: usize,
    accumulate: bool,
) {
    // SAFETY: the caller's contract is `gemm::gemm`'s: dst, lhs and rhs with their column and
    // row strides in elements.
    unsafe {
        gemm::gemm(
            m,
            n,
            o.k,
            c,
            1,
            rsc,
            accumulate,
            o.a,
            o.csa,
            o.rsa,
            o.b,
            o.csb,
            o.rsb,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// Pointers and strides (in elements) of `A: [m, k]` and `B: [k, n]`.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
struct Operands {
    a: *const f32,
    rsa: isize,
    csa: isize,
    b: *const f32,
    rsb: isize,
    csb: isize,
    k: usize,
}

/// # Safety
/// AVX2 and FMA available; `c` valid for writes of `[m, n]` with row stride `rsc` and unit
/// column stride; `o` describes valid `a: [m, k]`, `b: [k, n]`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn gemm_f32(o: &Operands, c: *mut f32, rsc: isize, m: usize, n: usize, accumulate: bool) {
    let Operands {
        a: a_ptr,
        rsa,
        csa,
        b: b_ptr,
        rsb,
        csb,
        k,
    } = *o;
    let mut panel = vec![0f32; k * NR];
    let mut block = [0f32; MR * NR];
    // Rows in blocks of MC, so a block of A stays in L2 while every panel of B passes by.
    for i0 in (0..m).step_by(MC) {
        let i1 = (i0 + MC).min(m);
        let mut j = 0;
        while j < n {
            let width = NR.min(n - j);
            // The panel B[:, j..j+16]: in place if whole and contiguous in j, else copied.
            let (bp, rsp) = if width == NR && csb == 1 {
                // SAFETY: column j of b exists (j < n).
                (unsafe { b_ptr.add(j) }, rsb)
            } else {
                for p in 0..k {
                    for q in 0..NR {
                        panel[p * NR + q] = if q < width {
                            // SAFETY: p < k, j + q < n.
                            unsafe { *b_ptr.offset(p as isize * rsb + (j + q) as isize * csb) }
                        } else {
                            0.0
                        };
                    }
                }
                (panel.as_ptr(), NR as isize)
            };
            let mut i = i0;
            while i < i1 {
                let rows = MR.min(i1 - i);
                // SAFETY: row i of a exists.
                let ap = unsafe { a_ptr.offset(i as isize * rsa) };
                // SAFETY: element (i, j) of c exists.
                let cp = unsafe { c.offset(i as isize * rsc + j as isize) };
                let tile = Tile {
                    k,
                    a: ap,
                    rsa,
                    csa,
                    b: bp,
                    rsb: rsp,
                    c: cp,
                    rsc,
                    accumulate,
                };
                if width == NR {
                    // SAFETY: rows x 16 block of c at (i, j) is inside c; a and the panel cover
                    // rows x k and k x 16.
                    unsafe { kernel_dispatch(rows, tile) };
                } else {
                    // SAFETY: `block` is MR x NR with row stride NR.
                    unsafe {
                        kernel_dispatch(
                            rows,
                            Tile {
                                c: block.as_mut_ptr(),
                                rsc: NR as isize,
                                accumulate: false,
                                ..tile
                            },
                        )
                    };
                    for r in 0..rows {
                        for q in 0..width {
                            // SAFETY: (i + r, j + q) is inside c.
                            let dst = unsafe { &mut *cp.offset(r as isize * rsc + q as isize) };
                            let v = block[r * NR + q];
                            *dst = if accumulate { *dst + v } else { v };
                        }
                    }
                }
                i += MR;
            }
            j += NR;
        }
    }
}

/// One register block's operands: `A` (`R x k`, strides `rsa`, `csa`), a 16-column panel of
/// `B` (row stride `rsb`, unit column stride) and the `R x 16` block of `C` (row stride `rsc`,
/// unit column stride), written or accumulated into.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
struct Tile {
    k: usize,
    a: *const f32,
    rsa: isize,
    csa: isize,
    b: *const f32,
    rsb: isize,
    c: *mut f32,
    rsc: isize,
    accumulate: bool,
}

/// # Safety
/// As [`kernel`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn kernel_dispatch(rows: usize, t: Tile) {
    // SAFETY: forwarded.
    unsafe {
        match rows {
            6 => kernel::<6>(t),
            5 => kernel::<5>(t),
            4 => kernel::<4>(t),
            3 => kernel::<3>(t),
            2 => kernel::<2>(t),
            _ => kernel::<1>(t),
        }
    }
}

/// `C[0..R, 0..16] (+)= sum_p A[r, p] B[p, 0..16]`.
///
/// # Safety
/// AVX2 and FMA; the [`Tile`]'s pointers valid for `R x k` reads of `A`, `k x 16` reads of
/// `B` and `R x 16` reads and writes of `C` with their strides.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn kernel<const R: usize>(t: Tile) {
    let Tile {
        k,
        a,
        rsa,
        csa,
        b,
        rsb,
        c,
        rsc,
        accumulate,
    } = t;
    use std::arch::x86_64::*;
    let mut lo = [_mm256_setzero_ps(); R];
    let mut hi = [_mm256_setzero_ps(); R];
    for p in 0..k as isize {
        // SAFETY: p < k; see the function's contract.
        unsafe {
            let bp = b.offset(p * rsb);
            let b0 = _mm256_loadu_ps(bp);
            let b1 = _mm256_loadu_ps(bp.add(8));
            let ap = a.offset(p * csa);
            for r in 0..R {
                let av = _mm256_set1_ps(*ap.offset(r as isize * rsa));
                lo[r] = _mm256_fmadd_ps(av, b0, lo[r]);
                hi[r] = _mm256_fmadd_ps(av, b1, hi[r]);
            }
        }
    }
    for r in 0..R {
        // SAFETY: row r of the c block.
        unsafe {
            let cp = c.offset(r as isize * rsc);
            if accumulate {
                lo[r] = _mm256_add_ps(lo[r], _mm256_loadu_ps(cp));
                hi[r] = _mm256_add_ps(hi[r], _mm256_loadu_ps(cp.add(8)));
            }
            _mm256_storeu_ps(cp, lo[r]);
            _mm256_storeu_ps(cp.add(8), hi[r]);
        }
    }
}

/// The 512-bit micro-kernel of the `avx512` path: the design of the AVX2 kernel with 16-float
/// registers, a register block of up to [`avx512::MR`] x 32, and the last partial panel of `B`
/// read in place through masked loads (when `B` has unit column stride) instead of copied.
///
/// Each entry of `C` is computed exactly as by the AVX2 kernel: one running fused
/// multiply-add over `p = 0..k` in order, starting from zero, then (when accumulating) added
/// to the old `C`. Fused multiply-adds round once per lane, whatever the register width, so
/// both kernels give the same bits.
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{MC, Operands};
    use std::arch::x86_64::*;

    /// Rows of a register block: 12 rows x 2 registers = 24 of the 32 vector registers hold
    /// `C`, two hold the panel's row of `B`.
    pub(super) const MR: usize = 12;
    /// Columns of a panel (two 16-float registers).
    const NR: usize = 32;

    /// # Safety
    /// AVX-512 F (and FMA) available; `c` valid for writes of `[m, n]` with row stride `rsc`
    /// and unit column stride; `o` describes valid `a: [m, k]`, `b: [k, n]`.
    #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
    pub(super) unsafe fn gemm_f32(
        o: &Operands,
        c: *mut f32,
        rsc: isize,
        m: usize,
        n: usize,
        accumulate: bool,
    ) {
        let Operands {
            a: a_ptr,
            rsa,
            csa,
            b: b_ptr,
            rsb,
            csb,
            k,
        } = *o;
        // Copies of `B` panels, only when `B`'s columns are not contiguous (a transposed
        // weight).
        let mut panel = if csb == 1 {
            Vec::new()
        } else {
            vec![0f32; k * NR]
        };
        for i0 in (0..m).step_by(MC) {
            let i1 = (i0 + MC).min(m);
            let mut j = 0;
            while j < n {
                let width = NR.min(n - j);
                let (bp, rsp) = if csb == 1 {
                    // SAFETY: column j of b exists (j < n).
                    (unsafe { b_ptr.add(j) }, rsb)
                } else {
                    for p in 0..k {
                        for q in 0..width {
                            // SAFETY: p < k, j + q < n.
                            panel[p * NR + q] =
                                unsafe { *b_ptr.offset(p as isize * rsb + (j + q) as isize * csb) };
                        }
                    }
                    (panel.as_ptr(), NR as isize)
                };
                // Lanes of the panel's two registers that are inside `B` and `C`.
                let lanes = |w: usize| -> __mmask16 {
                    if w >= 16 {
                        0xffff
                    } else {
                        ((1u32 << w) - 1) as __mmask16
                    }
                };
                let masks = [lanes(width), lanes(width.saturating_sub(16))];
                let mut i = i0;
                while i < i1 {
                    let rows = MR.min(i1 - i);
                    let tile = Tile {
                        k,
                        // SAFETY: row i of a exists.
                        a: unsafe { a_ptr.offset(i as isize * rsa) },
                        rsa,
                        csa,
                        b: bp,
                        rsb: rsp,
                        // SAFETY: element (i, j) of c exists.
                        c: unsafe { c.offset(i as isize * rsc + j as isize) },
                        rsc,
                        masks,
                        accumulate,
                    };
                    // SAFETY: the rows x width block of c at (i, j) is inside c; a covers
                    // rows x k; the panel covers k x width (reads only under the masks).
                    unsafe {
                        if width > 16 {
                            dispatch::<2>(rows, tile)
                        } else {
                            dispatch::<1>(rows, tile)
                        }
                    };
                    i += MR;
                }
                j += NR;
            }
        }
    }

    /// One register block: `A` (`R x k`, strides `rsa`, `csa`), a panel of `B` (row stride
    /// `rsb`, unit column stride, `W` registers wide, lanes under `masks`) and the block of `C`
    /// (row stride `rsc`, unit column stride), written or accumulated into.
    #[derive(Clone, Copy)]
    struct Tile {
        k: usize,
        a: *const f32,
        rsa: isize,
        csa: isize,
        b: *const f32,
        rsb: isize,
        c: *mut f32,
        rsc: isize,
        masks: [__mmask16; 2],
        accumulate: bool,
    }

    /// # Safety
    /// As [`kernel`].
    #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
    unsafe fn dispatch<const W: usize>(rows: usize, t: Tile) {
        // SAFETY: forwarded.
        unsafe {
            match rows {
                12 => kernel::<12, W>(t),
                11 => kernel::<11, W>(t),
                10 => kernel::<10, W>(t),
                9 => kernel::<9, W>(t),
                8 => kernel::<8, W>(t),
                7 => kernel::<7, W>(t),
                6 => kernel::<6, W>(t),
                5 => kernel::<5, W>(t),
                4 => kernel::<4, W>(t),
                3 => kernel::<3, W>(t),
                2 => kernel::<2, W>(t),
                _ => kernel::<1, W>(t),
            }
        }
    }

    /// `C[0..R, lanes] (+)= sum_p A[r, p] B[p, lanes]`, the lanes those of `W` registers under
    /// `masks`.
    ///
    /// # Safety
    /// AVX-512 F; the [`Tile`]'s pointers valid for `R x k` reads of `A`, reads of `B`'s `k`
    /// rows and reads and writes of `C`'s `R` rows under the masks.
    #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
    unsafe fn kernel<const R: usize, const W: usize>(t: Tile) {
        let Tile {
            k,
            a,
            rsa,
            csa,
            b,
            rsb,
            c,
            rsc,
            masks,
            accumulate,
        } = t;
        let mut acc = [[_mm512_setzero_ps(); W]; R];
        for p in 0..k as isize {
            // SAFETY: p < k; masked lanes are not read; see the function's contract.
            unsafe {
                let bp = b.offset(p * rsb);
                let mut bv = [_mm512_setzero_ps(); W];
                for (w, v) in bv.iter_mut().enumerate() {
                    *v = _mm512_maskz_loadu_ps(masks[w], bp.add(16 * w));
                }
                let ap = a.offset(p * csa);
                for (r, row) in acc.iter_mut().enumerate() {
                    let av = _mm512_set1_ps(*ap.offset(r as isize * rsa));
                    for (x, &v) in row.iter_mut().zip(&bv) {
                        *x = _mm512_fmadd_ps(av, v, *x);
                    }
                }
            }
        }
        for (r, row) in acc.iter_mut().enumerate() {
            // SAFETY: row r of the c block, under the masks.
            unsafe {
                let cp = c.offset(r as isize * rsc);
                for (w, x) in row.iter_mut().enumerate() {
                    let dst = cp.add(16 * w);
                    if accumulate {
                        *x = _mm512_add_ps(*x, _mm512_maskz_loadu_ps(masks[w], dst));
                    }
                    _mm512_mask_storeu_ps(dst, masks[w], *x);
                }
            }
        }
    }
}
