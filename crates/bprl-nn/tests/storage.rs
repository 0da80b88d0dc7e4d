//! safetensors: exact round trip by name; wrong shapes, missing tensors and garbage are typed
//! errors that leave the network untouched.

use bprl_nn::{Mlp, NnError, Parameters, io};
use rand::SeedableRng;
use rand::rngs::StdRng;

#[test]
fn round_trip_is_exact() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("net.safetensors");
    let mut rng = StdRng::seed_from_u64(5);
    let net = Mlp::<f32>::layer_norm_mlp(6, &[8, 4], true, &mut rng);
    io::save(&net, &path).unwrap();
    let mut other = Mlp::<f32>::layer_norm_mlp(6, &[8, 4], true, &mut rng);
    assert_ne!(other, net);
    io::load(&mut other, &path).unwrap();
    assert_eq!(other, net);
}

#[test]
fn wrong_shapes_and_bad_files_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("net.safetensors");
    let mut rng = StdRng::seed_from_u64(6);
    io::save(
        &Mlp::<f32>::layer_norm_mlp(6, &[8, 4], true, &mut rng),
        &path,
    )
    .unwrap();

    let mut wider = Mlp::<f32>::layer_norm_mlp(6, &[9, 4], true, &mut rng);
    let before = wider.clone();
    let e = io::load(&mut wider, &path).unwrap_err();
    assert!(
        matches!(&e, NnError::TensorMismatch { name, .. } if name == "layers.0.weight"),
        "{e}"
    );
    assert_eq!(wider, before, "a failed load leaves the network unchanged");

    let mut deeper = Mlp::<f32>::layer_norm_mlp(6, &[8, 4, 2], true, &mut rng);
    assert!(matches!(
        io::load(&mut deeper, &path),
        Err(NnError::MissingTensor { .. })
    ));

    let mut as_f64 = Mlp::<f64>::layer_norm_mlp(6, &[8, 4], true, &mut rng);
    assert!(matches!(
        io::load(&mut as_f64, &path),
        Err(NnError::TensorMismatch { .. })
    ));

    std::fs::write(&path, b"not a safetensors file").unwrap();
    let mut net = Mlp::<f32>::layer_norm_mlp(6, &[8, 4], true, &mut rng);
    assert!(matches!(
        io::load(&mut net, &path),
        Err(NnError::Format { .. })
    ));
    let missing = dir.path().join("absent.safetensors");
    assert!(matches!(
        io::load(&mut net, &missing),
        Err(NnError::Io { .. })
    ));
    assert_eq!(net.num_params(), 6 * 8 + 8 + 8 + 8 + 8 * 4 + 4);
}
