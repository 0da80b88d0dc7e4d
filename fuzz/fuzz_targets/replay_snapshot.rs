//! The replay snapshot decoder. The first byte picks the mode: odd, the input is a whole
//! snapshot file; even, the rest is a payload wrapped in a valid header (so the fuzzer reaches
//! the postcard decoder and the state checks behind the checksum). A decoded replay must
//! answer its queries and sample without panicking.
#![no_main]

use bprl_replay::{FORMAT_VERSION, MAGIC, Replay};
use libfuzzer_sys::fuzz_target;
use std::path::Path;
use std::time::Duration;

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let bytes = if mode % 2 == 1 {
        rest.to_vec()
    } else {
        let mut b = Vec::with_capacity(28 + rest.len());
        b.extend_from_slice(&MAGIC);
        b.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        b.extend_from_slice(&(rest.len() as u64).to_le_bytes());
        b.extend_from_slice(&fnv1a(rest).to_le_bytes());
        b.extend_from_slice(rest);
        b
    };
    if let Ok(r) = Replay::from_snapshot_bytes(&bytes, Path::new("fuzz.snap")) {
        let _ = r.stats();
        let _ = r.keys();
        for batch in [1, 3] {
            let _ = r.sample(batch, Some(Duration::ZERO));
        }
        let again = r.to_snapshot_bytes(Path::new("fuzz.snap")).expect("re-encodes");
        assert!(Replay::from_snapshot_bytes(&again, Path::new("fuzz.snap")).is_ok());
    }
});
