//! Snapshots: the whole replay (items, counters, sampler state) in one checksummed file.
//!
//! # Format (version 1)
//! ```text
//! offset  size  field
//! 0       8     magic  b"BPRLRPLY"
//! 8       4     format version, u32 little-endian
//! 12      8     payload length in bytes, u64 little-endian
//! 20      8     FNV-1a 64 checksum of the payload, u64 little-endian
//! 28      n     payload: the state, serde-encoded with postcard
//! ```
//! FNV-1a detects every single-byte change (each step of the hash is a bijection of its
//! state). Files are written to a temporary file in the same folder, synced, then renamed over
//! the target, so a crash leaves either the old or the new snapshot, never a torn one.

use crate::error::{ReplayError, Result};
use crate::replay::{Replay, State};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The first 8 bytes of every snapshot.
pub const MAGIC: [u8; 8] = *b"BPRLRPLY";
/// The format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
const HEADER: usize = 28;

/// FNV-1a, 64-bit.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ReplayError + '_ {
    move |source| ReplayError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `bytes` to `path` atomically (temporary file in the same folder, fsync, rename).
/// On failure the temporary file is removed and the error names `path` (the file the caller
/// asked for), with the step that failed.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let tmp: PathBuf = path.with_file_name(format!(
        ".{}.tmp{}",
        file_name.unwrap_or_else(|| "snapshot".into()),
        std::process::id()
    ));
    let fail = |step: &str, e: std::io::Error| ReplayError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::new(e.kind(), format!("{step}: {e}")),
    };
    let written = (|| {
        let mut f = std::fs::File::create(&tmp)
            .map_err(|e| fail("cannot create its temporary file in the same folder", e))?;
        f.write_all(bytes)
            .map_err(|e| fail("writing its temporary file", e))?;
        f.sync_all()
            .map_err(|e| fail("syncing its temporary file", e))?;
        drop(f);
        std::fs::rename(&tmp, path).map_err(|e| fail("renaming its temporary file", e))
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(d) = std::fs::File::open(dir)
    {
        // Persist the rename; not all platforms can sync a directory, which is fine.
        let _ = d.sync_all();
    }
    Ok(())
}

impl Replay {
    /// Writes the whole replay to `path` atomically.
    ///
    /// # Errors
    /// [`ReplayError::Io`] naming the file.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        write_atomic(path, &self.to_snapshot_bytes(path)?)
    }

    /// The snapshot file's bytes (what [`Replay::save`] writes); `path` only names the file in
    /// an error.
    ///
    /// # Errors
    /// [`ReplayError::Decode`] if encoding fails.
    pub fn to_snapshot_bytes(&self, path: &Path) -> Result<Vec<u8>> {
        let payload = self
            .with_state(postcard::to_allocvec)
            .map_err(|e| ReplayError::Decode {
                path: path.to_path_buf(),
                reason: format!("encoding failed: {e}"),
            })?;
        let mut bytes = Vec::with_capacity(HEADER + payload.len());
        bytes.extend_from_slice(&MAGIC);
        bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        bytes.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&fnv1a(&payload).to_le_bytes());
        bytes.extend_from_slice(&payload);
        Ok(bytes)
    }

    /// Restores a replay saved by [`Replay::save`]: same items, counters and sampler state.
    ///
    /// # Errors
    /// [`ReplayError::Io`], [`ReplayError::BadMagic`], [`ReplayError::UnsupportedVersion`],
    /// [`ReplayError::Truncated`], [`ReplayError::ChecksumMismatch`], [`ReplayError::Decode`]
    /// (also for a payload whose items do not match its own spec).
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(io(path))?;
        Self::from_snapshot_bytes(&bytes, path)
    }

    /// Decodes a snapshot's bytes (as [`Replay::load`] after reading the file; `path` only
    /// names it in errors). Never panics, whatever the bytes.
    ///
    /// # Errors
    /// As [`Replay::load`], less [`ReplayError::Io`].
    pub fn from_snapshot_bytes(bytes: &[u8], path: &Path) -> Result<Self> {
        let p = || path.to_path_buf();
        if bytes.len() < 8 || bytes[..8] != MAGIC {
            return Err(ReplayError::BadMagic { path: p() });
        }
        if bytes.len() < HEADER {
            return Err(ReplayError::Truncated {
                path: p(),
                expected: HEADER as u64,
                actual: bytes.len() as u64,
            });
        }
        let word = |range: std::ops::Range<usize>| {
            let mut b = [0u8; 8];
            b[..range.len()].copy_from_slice(&bytes[range]);
            u64::from_le_bytes(b)
        };
        let version = word(8..12) as u32;
        if version != FORMAT_VERSION {
            return Err(ReplayError::UnsupportedVersion {
                path: p(),
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        let len = word(12..20);
        let expected_len = (HEADER as u64).saturating_add(len);
        if (bytes.len() as u64) != expected_len {
            return Err(ReplayError::Truncated {
                path: p(),
                expected: expected_len,
                actual: bytes.len() as u64,
            });
        }
        let payload = &bytes[HEADER..];
        let (expected, actual) = (word(20..28), fnv1a(payload));
        if expected != actual {
            return Err(ReplayError::ChecksumMismatch {
                path: p(),
                expected,
                actual,
            });
        }
        let state: State = postcard::from_bytes(payload).map_err(|e| ReplayError::Decode {
            path: p(),
            reason: e.to_string(),
        })?;
        state
            .check()
            .map_err(|reason| ReplayError::Decode { path: p(), reason })?;
        Ok(Replay::from_state(state))
    }
}
