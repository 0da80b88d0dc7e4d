//! Saving and loading parameters as safetensors, by name, with shapes checked.

use crate::error::{NnError, Result};
use crate::params::Parameters;
use crate::scalar::Scalar;
use safetensors::tensor::TensorView;
use safetensors::{SafeTensors, serialize};
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

/// Encodes every parameter of `params` as a safetensors byte buffer (names from
/// [`Parameters::visit`] under `prefix`).
///
/// # Errors
/// [`NnError::Format`] if encoding fails.
pub fn to_safetensors<F: Scalar, P: Parameters<F>>(params: &P, prefix: &str) -> Result<Vec<u8>> {
    let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    params.visit(prefix, &mut |name, a| {
        let values: Vec<F> = a.iter().copied().collect();
        tensors.push((
            name.to_string(),
            a.shape().to_vec(),
            F::to_le_bytes(&values),
        ));
    });
    let views = tensors
        .iter()
        .map(|(n, s, b)| {
            TensorView::new(F::DTYPE, s.clone(), b)
                .map(|v| (n.clone(), v))
                .map_err(|e| NnError::Format {
                    path: "<memory>".into(),
                    reason: e.to_string(),
                })
        })
        .collect::<Result<Vec<_>>>()?;
    serialize(views, None::<HashMap<String, String>>).map_err(|e| NnError::Format {
        path: "<memory>".into(),
        reason: e.to_string(),
    })
}

/// Loads every parameter of `params` (names under `prefix`) from a safetensors buffer.
/// `path` only labels errors. Tensors in the buffer that `params` does not have are ignored,
/// so one file can hold several networks under different prefixes.
///
/// # Errors
/// [`NnError::Format`], [`NnError::MissingTensor`], [`NnError::TensorMismatch`] (dtype or
/// shape). On error, `params` may be partly loaded: load into a copy to keep the original.
pub fn from_safetensors<F: Scalar, P: Parameters<F>>(
    params: &mut P,
    prefix: &str,
    bytes: &[u8],
    path: &Path,
) -> Result<()> {
    let st = SafeTensors::deserialize(bytes).map_err(|e| NnError::Format {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let mut err = None;
    params.visit_mut(prefix, &mut |name, mut a| {
        if err.is_some() {
            return;
        }
        let t = match st.tensor(name) {
            Ok(t) => t,
            Err(_) => {
                err = Some(NnError::MissingTensor {
                    path: path.to_path_buf(),
                    name: name.to_string(),
                });
                return;
            }
        };
        let values = (t.dtype() == F::DTYPE && t.shape() == a.shape())
            .then(|| F::from_le_bytes(t.data()))
            .flatten()
            .filter(|v| v.len() == a.len());
        match values {
            Some(v) => a.iter_mut().zip(v).for_each(|(dst, src)| *dst = src),
            None => {
                err = Some(NnError::TensorMismatch {
                    path: path.to_path_buf(),
                    name: name.to_string(),
                    stored: format!("{:?} {:?}", t.dtype(), t.shape()),
                    expected: format!("{:?} {:?}", F::DTYPE, a.shape()),
                })
            }
        }
    });
    err.map_or(Ok(()), Err)
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, synced, then
/// renamed over the target.
///
/// # Errors
/// [`NnError::Io`] naming the file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| NnError::Io { path: p, source }
    };
    let name = path
        .file_name()
        .map_or_else(|| "params".into(), |n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{name}.tmp{}", std::process::id()));
    let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
    f.write_all(bytes).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(io(path))
}

/// Saves `params` to a safetensors file atomically.
///
/// # Errors
/// [`NnError::Io`] or [`NnError::Format`].
pub fn save<F: Scalar, P: Parameters<F>>(params: &P, path: impl AsRef<Path>) -> Result<()> {
    write_atomic(path.as_ref(), &to_safetensors(params, "")?)
}

/// Loads `params` from a safetensors file written by [`save`] (or any file with the same
/// names, dtypes and shapes). `params` is unchanged on error.
///
/// # Errors
/// [`NnError::Io`], [`NnError::Format`], [`NnError::MissingTensor`],
/// [`NnError::TensorMismatch`].
pub fn load<F: Scalar, P: Parameters<F> + Clone>(
    params: &mut P,
    path: impl AsRef<Path>,
) -> Result<()> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| NnError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut staged = params.clone();
    from_safetensors(&mut staged, "", &bytes, path)?;
    *params = staged;
    Ok(())
}
