//! Choosing the path: `BPRL_KERNEL` values, and what a `Kernel` promises.

use bprl_compute::cpu::{Selection, selection};
use bprl_compute::{Isa, Kernel};

#[test]
fn names_round_trip() {
    for isa in Isa::ALL {
        assert_eq!(Isa::from_name(isa.name()), Some(isa));
        assert_eq!(
            Isa::from_name(&format!("  {}\n", isa.name().to_uppercase())),
            Some(isa)
        );
    }
    assert_eq!(Isa::from_name("avx1024"), None);
    assert_eq!(Isa::from_name("AVX512"), Some(Isa::Avx512));
}

#[test]
fn a_kernel_is_a_path_this_processor_runs() {
    assert_eq!(Kernel::new(Isa::Portable), Some(Kernel::PORTABLE));
    assert_eq!(Kernel::available()[0], Kernel::PORTABLE);
    for k in Kernel::available() {
        assert!(k.isa().is_supported());
    }
    assert!(Kernel::available().contains(&Kernel::best()));
    for isa in Isa::ALL {
        assert_eq!(
            Kernel::new(isa).is_some(),
            isa.is_supported(),
            "Kernel::new checks the processor"
        );
    }
    // AVX-512 here means the x86-64-v4 set, which includes AVX2 and FMA.
    if Isa::Avx512.is_supported() {
        assert!(Isa::Avx2.is_supported());
        assert_eq!(Kernel::best().isa(), Isa::Avx512);
    }
}

#[test]
fn requests_choose_the_path_or_fall_back_with_a_reason() {
    let best = Kernel::best();
    for unset in [None, Some(""), Some(" auto "), Some("AUTO")] {
        let s = Selection::from_request(unset);
        assert_eq!((s.kernel, s.fallback.is_none()), (best, true), "{unset:?}");
        assert_eq!(s.to_string(), format!("{best} (detected)"));
    }
    let p = Selection::from_request(Some("Portable"));
    assert_eq!((p.kernel, p.fallback.as_deref()), (Kernel::PORTABLE, None));
    assert_eq!(p.to_string(), "portable (BPRL_KERNEL=Portable)");
    let a = Selection::from_request(Some("avx2"));
    match Kernel::new(Isa::Avx2) {
        Some(k) => assert_eq!((a.kernel, a.fallback), (k, None)),
        None => {
            assert_eq!(a.kernel, Kernel::PORTABLE);
            assert!(a.fallback.unwrap().contains("cannot run `avx2`"));
        }
    }
    let v4 = Selection::from_request(Some("AVX512"));
    match Kernel::new(Isa::Avx512) {
        Some(k) => assert_eq!((v4.kernel, v4.fallback), (k, None)),
        None => {
            assert_eq!(v4.kernel, best);
            assert!(v4.fallback.unwrap().contains("cannot run `avx512`"));
        }
    }
    let bad = Selection::from_request(Some("sse9"));
    assert_eq!(bad.kernel, best);
    assert!(
        bad.fallback
            .as_deref()
            .unwrap()
            .contains("unknown kernel `sse9`")
    );
    assert_eq!(bad.requested.as_deref(), Some("sse9"));
}

/// The process-wide choice is the one for this process's `BPRL_KERNEL`.
#[test]
fn the_process_choice_follows_the_environment() {
    let env = std::env::var("BPRL_KERNEL").ok();
    assert_eq!(selection(), &Selection::from_request(env.as_deref()));
    assert_eq!(Kernel::selected(), selection().kernel);
    println!("kernel: {}", selection());
}
