//! The scalar types networks compute in.

use bprl_compute::Element;
use num_traits::FromPrimitive;

/// `f32` (training) or `f64` (finite-difference gradient checks).
///
/// Builds on [`bprl_compute::Element`], the kernels' scalar (arithmetic and the activations'
/// `act_tanh` and `act_exp_m1`), with what networks add: constants and safetensors storage.
pub trait Scalar: Element + FromPrimitive + Default {
    /// The safetensors dtype of this scalar.
    const DTYPE: safetensors::Dtype;
    /// Converts an `f64` constant.
    fn c(x: f64) -> Self;
    /// Little-endian bytes of a slice, for safetensors.
    fn to_le_bytes(values: &[Self]) -> Vec<u8>;
    /// Reads little-endian bytes; `None` if the length is not a multiple of the size.
    fn from_le_bytes(bytes: &[u8]) -> Option<Vec<Self>>;
}

macro_rules! impl_scalar {
    ($t:ty, $dtype:expr, $n:expr) => {
        impl Scalar for $t {
            const DTYPE: safetensors::Dtype = $dtype;
            #[inline]
            fn c(x: f64) -> Self {
                x as $t
            }
            fn to_le_bytes(values: &[Self]) -> Vec<u8> {
                values.iter().flat_map(|v| v.to_le_bytes()).collect()
            }
            fn from_le_bytes(bytes: &[u8]) -> Option<Vec<Self>> {
                if bytes.len() % $n != 0 {
                    return None;
                }
                Some(
                    bytes
                        .chunks_exact($n)
                        .map(|c| {
                            let mut b = [0u8; $n];
                            b.copy_from_slice(c);
                            <$t>::from_le_bytes(b)
                        })
                        .collect(),
                )
            }
        }
    };
}

impl_scalar!(f32, safetensors::Dtype::F32, 4);
impl_scalar!(f64, safetensors::Dtype::F64, 8);
