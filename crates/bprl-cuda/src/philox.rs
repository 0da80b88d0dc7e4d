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

/// The four standard normals the kernels draw for `(seed, row, sample, quad)`: those of
/// dimensions `4 quad .. 4 quad + 3`. One Philox call yields two Box-Muller pairs, and both
/// outputs of each pair are used.
///
/// # Formula
/// Counter `(quad, sample, row, 0)`, key `(seed mod 2^32, seed >> 32)`, words `x0..x3`;
/// `u1 = (x0 + 1) 2^-32 in (0, 1]`, `u2 = x1 2^-32 in [0, 1)` (likewise `u3`, `u4` from
/// `x2`, `x3`); `rho = sqrt(-2 ln u1)`, `theta = 2 pi u2`;
/// `eps = [rho1 cos theta1, rho1 sin theta1, rho2 cos theta2, rho2 sin theta2]`, in `f32` as
/// on the GPU (Box and Muller 1958).
///
/// # Notes
/// The integer part is bit-identical on both sides. The `f32` arithmetic is too when the
/// kernels are compiled for the host (the test suite does); on a GPU, CUDA's `logf`, `cosf`
/// and `sinf` may differ from the CPU's libm by 1-2 ulp.
pub fn normals4(seed: u64, row: u32, sample: u32, quad: u32) -> [f32; 4] {
    let r = philox4x32_10([quad, sample, row, 0], [seed as u32, (seed >> 32) as u32]);
    let u1 = (r[0] as f32 + 1.0) * INV_2_32;
    let u2 = r[1] as f32 * INV_2_32;
    let u3 = (r[2] as f32 + 1.0) * INV_2_32;
    let u4 = r[3] as f32 * INV_2_32;
    let (rad1, th1) = ((-2.0 * u1.ln()).sqrt(), std::f32::consts::TAU * u2);
    let (rad2, th2) = ((-2.0 * u3.ln()).sqrt(), std::f32::consts::TAU * u4);
    [
        rad1 * th1.cos(),
        rad1 * th1.sin(),
        rad2 * th2.cos(),
        rad2 * th2.sin(),
    ]
}

/// The standard normal the kernels use for `(seed, row, sample, dim)`:
/// `normals4(seed, row, sample, dim / 4)[dim % 4]`.
pub fn normal(seed: u64, row: u32, sample: u32, dim: u32) -> f32 {
    normals4(seed, row, sample, dim / 4)[(dim % 4) as usize]
}
