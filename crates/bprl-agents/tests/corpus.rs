//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`, grown by `make fuzz`) through
//! the same calls as the fuzz targets, so every input the fuzzer ever kept stays a regression
//! test on stable Rust: no panic, and accepted inputs keep their invariants. (The
//! configuration corpus is replayed by `examples/tests/corpus.rs`, next to its loader.)

use bprl_agents::checkpoint::{MAGIC, VERSION, fnv1a};
use bprl_agents::inspect_state;
use bprl_envs::Suite;
use bprl_replay::Replay;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| (e.path(), std::fs::read(e.path()).unwrap()))
        .collect();
    out.sort();
    assert!(!out.is_empty(), "empty corpus {}", dir.display());
    out
}

/// The fuzz targets' framing: odd first byte, the rest as is; even, the rest wrapped in a
/// valid header of `magic` and `version`.
fn framed(data: &[u8], magic: &[u8; 8], version: u32) -> Option<Vec<u8>> {
    let (&mode, rest) = data.split_first()?;
    if mode % 2 == 1 {
        return Some(rest.to_vec());
    }
    let mut b = magic.to_vec();
    b.extend_from_slice(&version.to_le_bytes());
    b.extend_from_slice(&(rest.len() as u64).to_le_bytes());
    b.extend_from_slice(&fnv1a(rest).to_le_bytes());
    b.extend_from_slice(rest);
    Some(b)
}

#[test]
fn checkpoint_corpus_decodes_or_fails_typed() {
    let mut accepted = 0;
    for (_, data) in corpus("checkpoint_state") {
        if let Some(bytes) = framed(&data, &MAGIC, VERSION)
            && inspect_state::<Suite>(&bytes, Path::new("corpus.bin"), None).is_ok()
        {
            accepted += 1;
        }
    }
    assert!(accepted >= 1, "the seeds include a valid state");
}

#[test]
fn replay_corpus_decodes_or_fails_typed() {
    let mut accepted = 0;
    for (_, data) in corpus("replay_snapshot") {
        let Some(bytes) = framed(&data, &bprl_replay::MAGIC, bprl_replay::FORMAT_VERSION) else {
            continue;
        };
        if let Ok(r) = Replay::from_snapshot_bytes(&bytes, Path::new("corpus.snap")) {
            accepted += 1;
            let _ = r.stats();
            for batch in [1, 3] {
                let _ = r.sample(batch, Some(Duration::ZERO));
            }
            let again = r.to_snapshot_bytes(Path::new("corpus.snap")).unwrap();
            assert!(Replay::from_snapshot_bytes(&again, Path::new("corpus.snap")).is_ok());
        }
    }
    assert!(accepted >= 1, "the seeds include a valid snapshot");
}
