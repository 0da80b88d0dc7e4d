//! Snapshots: exact round trip (including the sampler's future), and typed errors for a
//! truncated file, a flipped byte, a wrong version, a wrong magic and a missing file.

use crate::common::{items, replay};
use bprl_replay::{FORMAT_VERSION, Replay, ReplayError};

fn filled() -> Replay {
    let r = replay(20, 2, 99);
    for item in items(&[9, 30, 4], 2) {
        r.insert(item, None).unwrap();
    }
    r.sample(5, None).unwrap();
    r
}

#[test]
fn round_trip_is_exact_and_sampling_continues_identically() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("replay.snap");
    let r = filled();
    r.save(&path).unwrap();
    let back = Replay::load(&path).unwrap();
    assert_eq!(back.stats(), r.stats());
    assert_eq!(back.keys(), r.keys());
    assert_eq!(back.spec(), r.spec());
    assert_eq!(back.config(), r.config());
    for _ in 0..3 {
        assert_eq!(back.sample(7, None).unwrap(), r.sample(7, None).unwrap());
    }
    // Saving over an existing snapshot replaces it atomically and leaves no temporary file.
    r.save(&path).unwrap();
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

fn corrupt(edit: impl Fn(&mut Vec<u8>)) -> ReplayError {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("replay.snap");
    filled().save(&path).unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    edit(&mut bytes);
    std::fs::write(&path, &bytes).unwrap();
    Replay::load(&path).unwrap_err()
}

#[test]
fn truncated_file_is_a_typed_error() {
    let e = corrupt(|b| b.truncate(b.len() - 17));
    assert!(matches!(e, ReplayError::Truncated { .. }), "{e}");
    let e = corrupt(|b| b.truncate(12));
    assert!(matches!(e, ReplayError::Truncated { .. }), "{e}");
}

#[test]
fn every_flipped_payload_byte_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("replay.snap");
    filled().save(&path).unwrap();
    let clean = std::fs::read(&path).unwrap();
    // Every 97th byte of the payload, flipped in turn.
    for i in (28..clean.len()).step_by(97) {
        let mut bytes = clean.clone();
        bytes[i] ^= 0x40;
        std::fs::write(&path, &bytes).unwrap();
        let e = Replay::load(&path).unwrap_err();
        assert!(
            matches!(e, ReplayError::ChecksumMismatch { .. }),
            "byte {i}: {e}"
        );
    }
}

#[test]
fn wrong_version_magic_and_missing_file() {
    let e = corrupt(|b| b[8..12].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes()));
    assert!(
        matches!(e, ReplayError::UnsupportedVersion { found, .. } if found == FORMAT_VERSION + 1)
    );
    let e = corrupt(|b| b[0] = b'X');
    assert!(matches!(e, ReplayError::BadMagic { .. }));
    let e = Replay::load("/nonexistent/bprl/replay.snap").unwrap_err();
    assert!(matches!(e, ReplayError::Io { .. }));
    assert!(e.to_string().contains("/nonexistent/bprl/replay.snap"));
}
