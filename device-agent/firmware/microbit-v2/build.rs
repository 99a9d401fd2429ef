//! Puts `memory.x` where the linker finds it (cortex-m-rt's `link.x` includes it), and for a
//! lean build the model (see ../lean-build.rs).
use std::path::PathBuf;

fn main() {
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("memory.x"), include_bytes!("memory.x")).expect("OUT_DIR is writable");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory.x");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=../lean-build.rs");
    write_lean_model(&out);
}

include!("../lean-build.rs");
