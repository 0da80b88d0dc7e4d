//! With the `mujoco` feature, the `bprl` binary gets an rpath to the MuJoCo library's folder
//! (`MUJOCO_DYNAMIC_LINK_DIR`), so it runs without `LD_LIBRARY_PATH`.

fn main() {
    println!("cargo::rerun-if-env-changed=MUJOCO_DYNAMIC_LINK_DIR");
    if std::env::var_os("CARGO_FEATURE_MUJOCO").is_some()
        && let Ok(dir) = std::env::var("MUJOCO_DYNAMIC_LINK_DIR")
    {
        println!("cargo::rustc-link-arg-bins=-Wl,-rpath,{dir}");
    }
}
