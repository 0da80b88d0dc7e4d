//! Philox4x32-10 (Salmon et al. 2011, "Parallel random numbers: as easy as 1, 2, 3"), the
//! counter-based generator the kernels use, bit-identical on CPU and GPU.

const M0: u32 = 0xD251_1F53;
const M1: u32 = 0xCD9E_8D57;
const W0: u32 = 0x9E37_79B9;
const W1: u32 = 0xBB67_AE85;

fn round(c: [u32; 4], k0: u32, k1: u32) -> [u32; 4] {
    let p0 = u64::from(M0) * u64::from(c[0]);
    let p1 = u64::from(M1) * u64::from(c[2]);
    let (hi0, lo0) = ((p0 >> 32) as u32, p0 as u32);
    let (hi1, lo1) = ((p1 >> 32) as u32, p1 as u32);
    [hi1 ^ c[1] ^ k0, lo1, hi0 ^ c[3] ^ k1, lo0]
}

/// Philox4x32 with 10 rounds: four 32-bit words from a 128-bit counter and a 64-bit key.
pub fn philox4x32_10(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let (mut k0, mut k1) = (key[0], key[1]);
    let mut c = round(counter, k0, k1);
    for _ in 1..10 {
        k0 = k0.wrapping_add(W0);
        k1 = k1.wrapping_add(W1);
        c = round(c, k0, k1);
    }
    c
}

const INV_2_32: f32 = 2.328_306_4e-10;

/// The standard normal the kernels draw for `(seed, row, sample, dim)`.
///
/// # Formula
/// Counter `(dim, sample, row, 0)`, key `(seed mod 2^32, seed >> 32)`;
/// `u1 = (x0 + 1) 2^-32 in (0, 1]`, `u2 = x1 2^-32 in [0, 1)`;
/// `eps = sqrt(-2 ln u1) cos(2 pi u2)` (Box-Muller), in `f32` as on the GPU. The integer part
/// is bit-identical on both sides; the `f32` transcendental functions may differ by a few ulps
/// between the CPU's libm and CUDA's.
pub fn normal(seed: u64, row: u32, sample: u32, dim: u32) -> f32 {
    let r = philox4x32_10([dim, sample, row, 0], [seed as u32, (seed >> 32) as u32]);
    let u1 = (r[0] as f32 + 1.0) * INV_2_32;
    let u2 = r[1] as f32 * INV_2_32;
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}
