//! Embeds the sources of `mote-runtime` and `mote-dsp` so `export::rust_crate` can write a
//! self-contained crate (the exported crate builds without the Mote repository).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn sources(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).expect("readable source folder").flatten().collect();
    entries.sort_by_key(|entry| entry.path());
    for entry in entries {
        let path = entry.path();
        if path.is_dir() {
            sources(root, &path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            let relative = path.strip_prefix(root).expect("inside root").to_string_lossy().replace('\\', "/");
            out.push((relative, path));
        }
    }
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let device_agent = manifest.join("../../device-agent").canonicalize().expect("device-agent folder");
    let mut code = String::new();
    for (name, crate_dir) in [("RUNTIME", "runtime"), ("DSP", "dsp")] {
        let root = device_agent.join(crate_dir);
        println!("cargo:rerun-if-changed={}", root.join("src").display());
        let mut files = Vec::new();
        sources(&root, &root.join("src"), &mut files);
        writeln!(code, "pub const {name}_SOURCES: &[(&str, &str)] = &[").unwrap();
        for (relative, path) in files {
            writeln!(code, "    ({relative:?}, include_str!({:?})),", path.display().to_string()).unwrap();
        }
        writeln!(code, "];").unwrap();
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it")).join("vendored.rs");
    std::fs::write(out, code).expect("writable OUT_DIR");
}
