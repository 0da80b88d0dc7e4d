//! Lets programs that use this crate find the MuJoCo library at run time without
//! `LD_LIBRARY_PATH`. The folder is the one mujoco-rs links against (`MUJOCO_DYNAMIC_LINK_DIR`,
//! exported by the Makefile or, by default, set by `.cargo/config.toml`):
//! - this crate's tests and examples get an rpath to it;
//! - the library's files are linked into `OUT_DIR`, a link-search folder inside the target
//!   folder, which cargo puts on the library path of everything it runs that depends on this
//!   crate (doctests, `cargo run` of the command line).

use std::path::{Path, PathBuf};

fn main() {
    println!("cargo::rerun-if-env-changed=MUJOCO_DYNAMIC_LINK_DIR");
    let Ok(dir) = std::env::var("MUJOCO_DYNAMIC_LINK_DIR") else {
        return;
    };
    for kind in ["tests", "examples"] {
        println!("cargo::rustc-link-arg-{kind}=-Wl,-rpath,{dir}");
    }
    let Some(out) = std::env::var_os("OUT_DIR").map(PathBuf::from) else {
        return;
    };
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if name.to_string_lossy().starts_with("libmujoco.so") {
            link(&entry.path(), &out.join(&name));
        }
    }
    println!("cargo::rustc-link-search=native={}", out.display());
}

/// Replaces `at` with a symbolic link to `target` (best effort: the rpath still works).
fn link(target: &Path, at: &Path) {
    let _ = std::fs::remove_file(at);
    #[cfg(unix)]
    let _ = std::os::unix::fs::symlink(target, at);
}
