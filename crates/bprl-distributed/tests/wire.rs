//! The message formats: every truncation, every flipped byte and every other run's message is
//! a typed error, never a panic or a silently wrong value.

use bprl_agents::checkpoint::fnv1a;
use bprl_distributed::DistError;
use bprl_distributed::wire::{Body, Envelope, MESSAGE_MAGIC, WIRE_VERSION};
use proptest::prelude::*;

fn envelope(run_id: u64, seq: u64, ret: f64) -> Envelope {
    Envelope {
        run_id,
        actor: 2,
        incarnation: 1,
        seq,
        param_version: 7,
        env_steps: 3,
        body: Body::Episode {
            episode_return: ret,
            success: true,
            length: 20,
        },
    }
}

proptest! {
    #[test]
    fn round_trip(run_id in any::<u64>(), seq in 1..u64::MAX, ret in -1e6f64..1e6) {
        let e = envelope(run_id, seq, ret);
        prop_assert_eq!(Envelope::decode(&e.encode().unwrap(), run_id).unwrap(), e);
    }

    #[test]
    fn truncation_is_refused(cut in 0usize..60) {
        let bytes = envelope(1, 1, 0.5).encode().unwrap();
        let cut = cut.min(bytes.len() - 1);
        let is_wire = matches!(Envelope::decode(&bytes[..cut], 1), Err(DistError::Wire { .. }));
        prop_assert!(is_wire);
    }

    #[test]
    fn any_flipped_byte_is_refused(at in any::<prop::sample::Index>(), bit in 0u8..8) {
        let mut bytes = envelope(1, 1, 0.5).encode().unwrap();
        let i = at.index(bytes.len());
        bytes[i] ^= 1 << bit;
        prop_assert!(Envelope::decode(&bytes, 1).is_err());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = Envelope::decode(&bytes, 1);
    }

    /// Payloads behind a valid header and checksum reach the postcard decoder: whatever they
    /// hold, a typed error or a message, never a panic.
    #[test]
    fn arbitrary_payloads_in_a_valid_frame_never_panic(
        payload in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let mut bytes = MESSAGE_MAGIC.to_vec();
        bytes.extend_from_slice(&WIRE_VERSION.to_le_bytes());
        bytes.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&fnv1a(&payload).to_le_bytes());
        bytes.extend_from_slice(&payload);
        match Envelope::decode(&bytes, 1) {
            Ok(e) => prop_assert!(e.seq >= 1 && e.incarnation >= 1 && e.run_id == 1),
            Err(DistError::Wire { .. } | DistError::ForeignRun { .. }) => {}
            Err(other) => prop_assert!(false, "{other}"),
        }
    }
}

#[test]
fn another_runs_message_is_a_foreign_run_error() {
    let bytes = envelope(5, 1, 0.0).encode().unwrap();
    match Envelope::decode(&bytes, 6) {
        Err(DistError::ForeignRun {
            expected, found, ..
        }) => assert_eq!((expected, found), (6, 5)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn sequence_number_zero_is_refused() {
    let bytes = envelope(5, 0, 0.0).encode().unwrap();
    assert!(matches!(
        Envelope::decode(&bytes, 5),
        Err(DistError::Wire { .. })
    ));
}
