//! Checkpoints: the learner (networks, optimizers, targets, step count), the counters, the
//! history and the replay, written so that `kill -9` at any moment loses at most the work since
//! the last checkpoint.
//!
//! # Layout of a checkpoint folder
//! - `state-<episode>.bin`: magic `b"BPRLCKPT"`, format version (u32 LE), payload length (u64
//!   LE), FNV-1a 64 checksum (u64 LE), then the postcard-encoded state;
//! - `replay-<episode>.snap`: the replay snapshot (`bprl-replay`'s own checked format);
//! - `LATEST`: the episode number of the newest complete pair, replaced atomically *after* both
//!   files are on disk. Older pairs are removed after `LATEST` moves.

use crate::error::{AgentError, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The first 8 bytes of a state file.
pub const MAGIC: [u8; 8] = *b"BPRLCKPT";
/// The state format version this build writes and reads.
pub const VERSION: u32 = 3;
const HEADER: usize = 28;

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn err(path: &Path, reason: impl std::fmt::Display) -> AgentError {
    AgentError::Checkpoint {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// Writes bytes atomically: a temporary file in the same folder, fsync, rename.
///
/// # Errors
/// [`AgentError::Checkpoint`] naming the file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{name}.tmp{}", std::process::id()));
    let mut f = std::fs::File::create(&tmp).map_err(|e| err(&tmp, e))?;
    f.write_all(bytes).map_err(|e| err(&tmp, e))?;
    f.sync_all().map_err(|e| err(&tmp, e))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(|e| err(path, e))
}

/// Encodes a value in the checked state format.
///
/// # Errors
/// [`AgentError::Checkpoint`] if encoding fails.
pub fn encode<T: Serialize>(value: &T, path: &Path) -> Result<Vec<u8>> {
    let payload = postcard::to_allocvec(value).map_err(|e| err(path, format!("encoding: {e}")))?;
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&fnv1a(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
    Ok(out)
}

/// Decodes the checked state format.
///
/// # Errors
/// [`AgentError::Checkpoint`] for a wrong magic, version, length (truncation), checksum
/// (corruption) or an undecodable payload.
pub fn decode<T: DeserializeOwned>(bytes: &[u8], path: &Path) -> Result<T> {
    if bytes.len() < HEADER || bytes[..8] != MAGIC {
        return Err(err(
            path,
            "not a bprl checkpoint (bad magic or shorter than its header)",
        ));
    }
    let word = |r: std::ops::Range<usize>| {
        let mut b = [0u8; 8];
        b[..r.len()].copy_from_slice(&bytes[r]);
        u64::from_le_bytes(b)
    };
    let version = word(8..12) as u32;
    if version != VERSION {
        return Err(err(
            path,
            format!("format version {version}, this build reads {VERSION}"),
        ));
    }
    let len = word(12..20);
    if bytes.len() as u64 != HEADER as u64 + len {
        return Err(err(
            path,
            format!(
                "truncated: {} bytes, header says {}",
                bytes.len(),
                HEADER as u64 + len
            ),
        ));
    }
    let payload = &bytes[HEADER..];
    if fnv1a(payload) != word(20..28) {
        return Err(err(path, "checksum mismatch (corrupted)"));
    }
    postcard::from_bytes(payload).map_err(|e| err(path, format!("decoding: {e}")))
}

/// The files of the checkpoint for `episode` in `dir`.
pub fn files(dir: &Path, episode: u64) -> (PathBuf, PathBuf) {
    (
        dir.join(format!("state-{episode:08}.bin")),
        dir.join(format!("replay-{episode:08}.snap")),
    )
}

/// Points `LATEST` at `episode` (atomically) and removes older pairs.
///
/// # Errors
/// [`AgentError::Checkpoint`].
pub fn commit(dir: &Path, episode: u64) -> Result<()> {
    write_atomic(&dir.join("LATEST"), format!("{episode}\n").as_bytes())?;
    let keep = files(dir, episode);
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let ours = (name.starts_with("state-") && name.ends_with(".bin"))
                || (name.starts_with("replay-") && name.ends_with(".snap"));
            if ours && p != keep.0 && p != keep.1 {
                let _ = std::fs::remove_file(p);
            }
        }
    }
    Ok(())
}

/// The episode `LATEST` points at.
///
/// # Errors
/// [`AgentError::Checkpoint`] when there is no checkpoint or `LATEST` is unreadable.
pub fn latest(dir: &Path) -> Result<u64> {
    let p = dir.join("LATEST");
    let text = std::fs::read_to_string(&p).map_err(|e| err(&p, e))?;
    text.trim()
        .parse()
        .map_err(|e| err(&p, format!("bad LATEST: {e}")))
}
