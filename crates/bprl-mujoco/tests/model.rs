//! The models load with the expected parts.
use bprl_mujoco::{Physics, WalkerKind};

#[test]
fn quadruped_loads() {
    let p = Physics::new(WalkerKind::Quadruped, 3.0).expect("quadruped");
    let m = p.model().ffi();
    assert_eq!((m.njnt, m.nu, m.nsensor, m.nsensordata), (9, 8, 3, 9));
}
