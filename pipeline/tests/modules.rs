//! The modules of `mote-pipeline` form no `use` cycle, so each can be understood (and moved) from
//! the bottom up: the host link knows nothing of training, training nothing of live results.
//!
//! How it works: the top-level modules are the `pub mod` lines of `src/lib.rs`. A module's files
//! are `src/<name>.rs` and everything under `src/<name>/`. Module A depends on module B when any of
//! A's files names `crate::B` (in code or in a doc link). The test then looks for a cycle in that
//! graph with a depth-first search and prints it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn source_files(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_path_buf()];
    }
    let mut files = Vec::new();
    if let Ok(entries) = std::fs::read_dir(path) {
        for entry in entries.flatten() {
            files.extend(source_files(&entry.path()));
        }
    }
    files.retain(|file| file.extension().is_some_and(|e| e == "rs"));
    files
}

fn module_graph(src: &Path) -> BTreeMap<String, Vec<String>> {
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let modules: Vec<String> = lib
        .lines()
        .filter_map(|line| line.trim().strip_prefix("pub mod ").or_else(|| line.trim().strip_prefix("mod ")))
        .map(|rest| rest.trim_end_matches(';').trim().to_string())
        .collect();
    assert!(modules.len() >= 5, "lib.rs lists the modules: {modules:?}");
    let mut graph = BTreeMap::new();
    for module in &modules {
        let mut files = source_files(&src.join(format!("{module}.rs")));
        files.extend(source_files(&src.join(module)));
        let text: String = files.iter().map(|file| std::fs::read_to_string(file).unwrap()).collect();
        let uses: Vec<String> = modules
            .iter()
            .filter(|other| *other != module)
            .filter(|other| {
                text.match_indices(&format!("crate::{other}")).any(|(at, found)| {
                    !text[at + found.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
                })
            })
            .cloned()
            .collect();
        graph.insert(module.clone(), uses);
    }
    graph
}

/// A cycle in `graph`, as the modules along it, if there is one.
fn find_cycle(graph: &BTreeMap<String, Vec<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, Vec<String>>,
        path: &mut Vec<String>,
        done: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|n| n == node) {
            let mut cycle = path[start..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.iter().any(|n| n == node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.push(node.to_string());
        None
    }
    let mut done = Vec::new();
    graph.keys().find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn the_pipelines_modules_form_no_cycle() {
    let graph = module_graph(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    for (module, uses) in &graph {
        eprintln!("{module} → {}", uses.join(", "));
    }
    if let Some(cycle) = find_cycle(&graph) {
        panic!("a module cycle: {}", cycle.join(" → "));
    }
    // The layering ARCHITECTURE.md describes: the link is at the bottom.
    assert!(graph["link"].is_empty(), "link uses {:?}", graph["link"]);
}

#[test]
fn the_cycle_finder_finds_cycles() {
    let graph: BTreeMap<String, Vec<String>> =
        [("a", vec!["b"]), ("b", vec!["c"]), ("c", vec!["a"]), ("d", vec![])]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.into_iter().map(String::from).collect()))
            .collect();
    assert_eq!(find_cycle(&graph).unwrap(), ["a", "b", "c", "a"]);
    let acyclic: BTreeMap<String, Vec<String>> = [("a", vec!["b"]), ("b", vec![])]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.into_iter().map(String::from).collect()))
        .collect();
    assert_eq!(find_cycle(&acyclic), None);
}
