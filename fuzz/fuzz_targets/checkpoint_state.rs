//! The checkpoint state decoder. The first byte picks the mode: odd, the input is a whole
//! state file (header and payload); even, the rest is a payload wrapped in a valid header
//! (right magic, version, length and checksum), so the fuzzer reaches the postcard decoder
//! and the consistency checks behind the checksum.
#![no_main]

use bprl_agents::checkpoint::{MAGIC, VERSION, fnv1a};
use bprl_agents::inspect_state;
use bprl_envs::Suite;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let bytes = if mode % 2 == 1 {
        rest.to_vec()
    } else {
        let mut b = Vec::with_capacity(28 + rest.len());
        b.extend_from_slice(&MAGIC);
        b.extend_from_slice(&VERSION.to_le_bytes());
        b.extend_from_slice(&(rest.len() as u64).to_le_bytes());
        b.extend_from_slice(&fnv1a(rest).to_le_bytes());
        b.extend_from_slice(rest);
        b
    };
    let _ = inspect_state::<Suite>(&bytes, Path::new("fuzz.bin"), None);
});
