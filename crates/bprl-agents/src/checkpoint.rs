//! Checkpoints: the learner (networks, optimizers, targets, step count), the counters, the
//! history and the replay, written so that `kill -9` at any moment loses at most the work since
//! the last checkpoint.
//!
//! # Layout of a checkpoint folder
//! - `state-<episode>-<digest>.bin`: magic `b"BPRLCKPT"`, format version (u32 LE), payload
//!   length (u64 LE), FNV-1a 64 checksum (u64 LE), then the postcard-encoded state;
//! - `replay-<episode>-<digest>.snap`: the replay snapshot (`bprl-replay`'s own checked format);
//! - `LATEST`: `<episode> <run id> <digest>` (16 hex digits each) of the newest complete pair,
//!   replaced atomically *after* both files are on disk. Older pairs are removed after `LATEST`
//!   moves.
//!
//! `<episode>` is 8 decimal digits, `<digest>` the FNV-1a 64 of the replay file in 16 hex
//! digits. The digest in the names makes every pair's names its own: a second checkpoint at the
//! same episode (the threaded mode's final one, a distributed learner's) writes new files
//! instead of replacing the pair `LATEST` still points at, so a crash between its writes leaves
//! the previous pair whole. (Version 4 named pairs by episode only; overwriting them in place
//! could leave a new state beside an old replay; format-4 checkpoints are refused by version,
//! there is no migration.) When the replay is unchanged, the same-named state file is
//! replaced atomically, beside identical replay bytes. `commit` syncs the folder after moving
//! `LATEST`, so a committed checkpoint survives a power loss.
//!
//! # What binds the files together
//! The state holds the run id, the counters and the FNV-1a digest of the replay file written
//! with it. Loading checks that the state's run id is `LATEST`'s, that its episode counter is
//! the episode of its name, and that the replay file's digest is the recorded one, so a state
//! of another run or episode, or a replay of another checkpoint, is a typed
//! [`AgentError::CheckpointMismatch`], never silently accepted.
//!
//! Temporary files (`.<name>.tmp<pid>`) left by a crash or a full disk are removed by
//! [`remove_temporaries`] when a run starts or resumes.

use crate::error::{AgentError, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The first 8 bytes of a state file.
pub const MAGIC: [u8; 8] = *b"BPRLCKPT";
/// The state format version this build writes and reads.
pub const VERSION: u32 = 5;
const HEADER: usize = 28;

/// FNV-1a 64 of `bytes`: the checksum of the state format and the digest binding a replay
/// file to its state.
pub fn fnv1a(bytes: &[u8]) -> u64 {
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

/// Writes bytes atomically: a temporary file in the same folder, fsync, rename. On failure
/// the temporary file is removed and the error names `path` with the step that failed (a
/// read-only folder is reported as the folder of `path`, not as the temporary's name).
///
/// # Errors
/// [`AgentError::Checkpoint`] naming the file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{name}.tmp{}", std::process::id()));
    let written = (|| {
        let mut f = std::fs::File::create(&tmp).map_err(|e| {
            err(
                path,
                format!("cannot create a temporary file in its folder: {e}"),
            )
        })?;
        f.write_all(bytes)
            .map_err(|e| err(path, format!("writing: {e}")))?;
        f.sync_all()
            .map_err(|e| err(path, format!("syncing: {e}")))?;
        drop(f);
        std::fs::rename(&tmp, path).map_err(|e| err(path, format!("renaming into place: {e}")))
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Whether a file name is one of [`write_atomic`]'s (or the replay's) temporary files:
/// `.<name>.tmp<digits>`.
pub fn is_temporary(name: &str) -> bool {
    name.starts_with('.')
        && name
            .rsplit_once(".tmp")
            .is_some_and(|(_, pid)| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
}

/// Removes the temporary files a crash or a full disk left in `dir` (not recursive) and
/// returns how many; a folder that does not exist has none.
///
/// # Errors
/// [`AgentError::Checkpoint`] when a temporary file exists but cannot be removed.
pub fn remove_temporaries(dir: &Path) -> Result<usize> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(0);
    };
    let mut removed = 0;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if is_temporary(&name) && e.path().is_file() {
            std::fs::remove_file(e.path()).map_err(|x| err(&e.path(), x))?;
            removed += 1;
        }
    }
    Ok(removed)
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
    // Saturating: a corrupted length near u64::MAX must not overflow (found by fuzzing).
    let expected = (HEADER as u64).saturating_add(len);
    if bytes.len() as u64 != expected {
        return Err(err(
            path,
            format!("truncated: {} bytes, header says {expected}", bytes.len()),
        ));
    }
    let payload = &bytes[HEADER..];
    if fnv1a(payload) != word(20..28) {
        return Err(err(path, "checksum mismatch (corrupted)"));
    }
    postcard::from_bytes(payload).map_err(|e| err(path, format!("decoding: {e}")))
}

/// The state and replay files of the checkpoint for `episode` whose replay file has FNV-1a
/// digest `digest`, in `dir`.
pub fn files(dir: &Path, episode: u64, digest: u64) -> (PathBuf, PathBuf) {
    (
        dir.join(format!("state-{episode:08}-{digest:016x}.bin")),
        dir.join(format!("replay-{episode:08}-{digest:016x}.snap")),
    )
}

/// What `LATEST` says: the newest complete checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Latest {
    /// Its episode.
    pub episode: u64,
    /// The run it belongs to.
    pub run_id: u64,
    /// The digest of its replay file (part of both file names).
    pub digest: u64,
}

impl Latest {
    /// Its state and replay files in `dir`.
    pub fn files(&self, dir: &Path) -> (PathBuf, PathBuf) {
        files(dir, self.episode, self.digest)
    }
}

/// Points `LATEST` at the pair of `episode` and replay digest `digest` of run `run_id`
/// (atomically) and removes every other pair.
///
/// # Errors
/// [`AgentError::Checkpoint`].
pub fn commit(dir: &Path, episode: u64, run_id: u64, digest: u64) -> Result<()> {
    write_atomic(
        &dir.join("LATEST"),
        format!("{episode} {run_id:016x} {digest:016x}\n").as_bytes(),
    )?;
    // The renames are durable only once the folder is: without this a power loss could bring
    // back the previous `LATEST` after a caller acted on the new one (a distributed learner
    // trims its stream below the checkpoint just committed).
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| err(dir, format!("syncing the folder: {e}")))?;
    let keep = files(dir, episode, digest);
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

/// The episode and run id `LATEST` points at.
///
/// # Errors
/// [`AgentError::Checkpoint`] when there is no checkpoint or `LATEST` is unreadable.
pub fn latest(dir: &Path) -> Result<(u64, u64)> {
    latest_entry(dir).map(|l| (l.episode, l.run_id))
}

/// Everything `LATEST` says.
///
/// # Errors
/// [`AgentError::Checkpoint`] when there is no checkpoint or `LATEST` is unreadable (a
/// version-4 `LATEST` without a digest included).
pub fn latest_entry(dir: &Path) -> Result<Latest> {
    let p = dir.join("LATEST");
    let text = std::fs::read_to_string(&p).map_err(|e| err(&p, e))?;
    let mut words = text.split_whitespace();
    let episode = words
        .next()
        .unwrap_or("")
        .parse()
        .map_err(|e| err(&p, format!("bad LATEST episode: {e}")))?;
    let run_id = u64::from_str_radix(words.next().unwrap_or(""), 16)
        .map_err(|e| err(&p, format!("bad LATEST run id: {e}")))?;
    let digest = u64::from_str_radix(words.next().unwrap_or(""), 16).map_err(|e| {
        err(
            &p,
            format!("bad LATEST replay digest: {e} (a checkpoint older than format 5?)"),
        )
    })?;
    if words.next().is_some() {
        return Err(err(
            &p,
            "bad LATEST: more than an episode, a run id and a digest",
        ));
    }
    Ok(Latest {
        episode,
        run_id,
        digest,
    })
}

/// [`AgentError::CheckpointMismatch`] for `what` in `path`.
pub(crate) fn mismatch(
    path: &Path,
    what: &str,
    expected: impl std::fmt::Display,
    found: impl std::fmt::Display,
) -> AgentError {
    AgentError::CheckpointMismatch {
        path: path.to_path_buf(),
        what: what.into(),
        expected: expected.to_string(),
        found: found.to_string(),
    }
}
