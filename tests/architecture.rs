//! ARCHITECTURE.md's code map says what each crate depends on; this test holds that column to
//! the manifests (`cargo metadata`), so the map stays true when a dependency is added or removed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

/// Each workspace crate's normal dependencies, as its manifest declares them (optional ones too).
fn manifest_dependencies(root: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(root)
        .output()
        .expect("cargo metadata runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|package| {
            let dependencies = package["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["kind"].is_null())
                .map(|d| d["rename"].as_str().or(d["name"].as_str()).unwrap().to_string())
                .collect();
            (package["name"].as_str().unwrap().to_string(), dependencies)
        })
        .collect()
}

/// The code map's rows: crate → the names in its last column (text in parentheses dropped).
fn code_map(text: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut rows = BTreeMap::new();
    for line in text.lines().filter(|line| line.starts_with("| `mote-")) {
        let name = line[3..].split('`').next().unwrap().to_string();
        let last = line.trim_end_matches('|').rsplit(" | ").next().unwrap();
        let mut plain = String::new();
        let mut depth = 0;
        for c in last.chars() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ if depth == 0 => plain.push(c),
                _ => {}
            }
        }
        let names =
            plain.split(',').map(|n| n.trim().trim_matches('`').to_string()).filter(|n| !n.is_empty());
        rows.insert(name, names.collect());
    }
    rows
}

#[test]
fn the_code_map_lists_each_crates_dependencies() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut manifests = manifest_dependencies(&root);
    // The firmware workspace (built with Debian's toolchain): its library crate has a row of its
    // own; the board crates share the firmware's row.
    let boards = ["qemu-mps2-an386", "microbit-v2", "rp2040-pico"];
    for (name, dependencies) in manifest_dependencies(&root.join("device-agent/firmware")) {
        if !boards.contains(&name.as_str()) && !manifests.contains_key(&name) {
            manifests.insert(name, dependencies);
        }
    }
    let map = code_map(&std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap());
    let mut problems = Vec::new();
    for (name, declared) in &manifests {
        if name == "mote-e2e" {
            continue; // "everything above": the tests use what they test.
        }
        match map.get(name) {
            None => problems.push(format!("{name} has no row in the code map")),
            Some(listed) if listed != declared => {
                problems.push(format!("{name}: the map says {listed:?}, the manifest {declared:?}"))
            }
            Some(_) => {}
        }
    }
    assert!(problems.is_empty(), "ARCHITECTURE.md's code map is out of date:\n{}", problems.join("\n"));
}
