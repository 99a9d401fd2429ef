//! CI bundles through the `mote` CLI: export BasicMotions, build it twice (identical artifacts),
//! gates that pass and gates that fail (exit 1, a readable table), damaged bundles (exit 2,
//! the problem named, nothing written), and the example GitHub Actions workflow's commands.

use std::path::Path;
use std::process::{Command, Output};

use mote_e2e::workspace_binary;

fn mote(dir: &Path, args: &[&str]) -> Output {
    Command::new(workspace_binary("mote")).current_dir(dir).args(args).output().expect("mote runs")
}

fn ok(output: Output) -> Output {
    assert!(
        output.status.success(),
        "failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// A fresh BasicMotions bundle in `dir/bundle`.
fn basic_motions_bundle(dir: &Path) {
    let dataset = Path::new(env!("CARGO_MANIFEST_DIR")).join("../datasets/basic-motions");
    ok(mote(dir, &["init", "--project", "project"]));
    ok(mote(dir, &["import", "--project", "project", dataset.to_str().unwrap()]));
    ok(mote(dir, &["export", "--project", "project", "--out", "bundle"]));
}

/// `sha256sum`-like listing of every file under `dir`.
fn hashes(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let name = path.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.push((name, std::fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

const GATES: [&str; 10] = [
    "--gate",
    "accuracy>=0.95",
    "--gate",
    "int8_drop<=0.01",
    "--gate",
    "ram<=8KiB",
    "--gate",
    "flash<=96KiB",
    "--gate",
    "latency_ms@cortex-m4f-64mhz<=20",
];

#[test]
fn the_same_bundle_builds_to_identical_artifacts_and_gates_decide_the_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    basic_motions_bundle(dir.path());
    let first = ok(mote(dir.path(), &[&["build", "bundle", "--out", "a"][..], &GATES].concat()));
    ok(mote(dir.path(), &[&["build", "bundle", "--out", "b"][..], &GATES].concat()));
    let (a, b) = (hashes(&dir.path().join("a")), hashes(&dir.path().join("b")));
    let names: Vec<&str> = a.iter().map(|(name, _)| name.as_str()).collect();
    for expected in ["model.mote", "c/mote_model.h", "metrics.json", "report.html", "training_curves.svg"] {
        assert!(names.contains(&expected), "{expected} missing from {names:?}");
    }
    assert!(names.iter().any(|n| n.starts_with("rust/") && n.ends_with("src/lib.rs")), "{names:?}");
    assert_eq!(a, b, "two builds of one bundle differ");
    let text = String::from_utf8_lossy(&first.stdout);
    assert!(text.contains("accuracy>=0.95") && text.contains("pass") && !text.contains("FAIL"), "{text}");
    let metrics: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("a/metrics.json")).unwrap()).unwrap();
    assert!((metrics["metrics"]["accuracy"].as_f64().unwrap() - 0.975).abs() < 1e-6, "{metrics}");
    let report = String::from_utf8(std::fs::read(dir.path().join("a/report.html")).unwrap()).unwrap();
    assert!(report.contains("<svg") && !report.contains(dir.path().to_str().unwrap()), "no absolute paths");

    // An impossible budget: exit 1 and a table that says which gate failed and by how much.
    let failed = mote(
        dir.path(),
        &["build", "bundle", "--out", "c", "--gate", "accuracy>=0.999", "--gate", "ram<=1KiB"],
    );
    assert_eq!(failed.status.code(), Some(1));
    let table = String::from_utf8_lossy(&failed.stdout);
    assert!(
        table.contains("accuracy>=0.999") && table.contains("0.9750") && table.contains("FAIL"),
        "{table}"
    );
    assert!(table.contains("ram<=1KiB") && table.contains("5536"), "{table}");
    assert!(String::from_utf8_lossy(&failed.stderr).contains("2 gates failed"));
}

#[test]
fn damaged_bundles_are_refused_with_the_problem_named_and_nothing_written() {
    let dir = tempfile::tempdir().unwrap();
    basic_motions_bundle(dir.path());
    let pristine = hashes(&dir.path().join("bundle"));
    let damage = |name: &str, change: &dyn Fn(&Path), expected: &str| {
        let copy = dir.path().join(name);
        std::fs::create_dir_all(copy.join("data")).unwrap();
        for (file, bytes) in &pristine {
            std::fs::write(copy.join(file), bytes).unwrap();
        }
        change(&copy);
        let out = dir.path().join(format!("{name}-artifacts"));
        let output = mote(dir.path(), &["build", copy.to_str().unwrap(), "--out", out.to_str().unwrap()]);
        assert_eq!(output.status.code(), Some(2), "{name}: {}", String::from_utf8_lossy(&output.stderr));
        let message = String::from_utf8_lossy(&output.stderr);
        assert!(message.contains(expected), "{name}: expected `{expected}` in {message}");
        assert!(!out.exists(), "{name}: nothing may be written");
    };
    let lock = |bundle: &Path, edit: &dyn Fn(&mut serde_json::Value)| {
        let path = bundle.join("mote.lock");
        let mut value: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        edit(&mut value);
        std::fs::write(&path, serde_json::to_string_pretty(&value).unwrap()).unwrap();
    };
    damage(
        "changed-byte",
        &|b| {
            let path = b.join("data/walking.01.csv");
            let mut bytes = std::fs::read(&path).unwrap();
            let last = bytes.len() - 2;
            bytes[last] ^= 1;
            std::fs::write(path, bytes).unwrap();
        },
        "`data/walking.01.csv` does not match its hash",
    );
    damage(
        "missing-file",
        &|b| std::fs::remove_file(b.join("data/running.03.csv")).unwrap(),
        "`data/running.03.csv` is listed",
    );
    damage(
        "traversal",
        &|b| {
            lock(b, &|v| {
                v["files"]["../x"] = serde_json::json!("00");
            })
        },
        "`../x` is not a plain path inside the bundle",
    );
    damage("future-lock", &|b| lock(b, &|v| v["lock_version"] = serde_json::json!(9)), "lock version 9");
    damage(
        "unlisted",
        &|b| std::fs::write(b.join("data/extra.csv"), "a,b\n").unwrap(),
        "`data/extra.csv` is in the bundle but not",
    );
    damage("no-lock", &|b| std::fs::remove_file(b.join("mote.lock")).unwrap(), "has no mote.lock");
    assert_eq!(hashes(&dir.path().join("bundle")), pristine, "the original bundle is untouched");
}

#[test]
fn the_example_workflow_commands_run_on_a_sample_bundle() {
    let workflow =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/ci/github-actions.yml"))
            .unwrap();
    // The `run: |` block of the step that builds and gates the model.
    let step = workflow.split("- name: Build and gate the model").nth(1).expect("the build step");
    let block = step.split("run: |").nth(1).expect("a run block");
    let commands: Vec<&str> = block
        .lines()
        .skip(1)
        .take_while(|line| line.starts_with("          "))
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    assert!(commands.iter().any(|c| c.starts_with("mote build")), "{commands:?}");
    let dir = tempfile::tempdir().unwrap();
    basic_motions_bundle(dir.path());
    std::fs::rename(dir.path().join("bundle"), dir.path().join("model-bundle")).unwrap();
    let bin = workspace_binary("mote");
    let path = format!("{}:{}", bin.parent().unwrap().display(), std::env::var("PATH").unwrap_or_default());
    let script = format!("set -euo pipefail\n{}\n", commands.join("\n"));
    let output = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(dir.path())
        .env("PATH", path)
        .output()
        .unwrap();
    ok(output);
    assert!(dir.path().join("artifacts/model.mote").exists());
}

#[test]
fn archives_are_deterministic_and_a_traversal_entry_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let dataset = Path::new(env!("CARGO_MANIFEST_DIR")).join("../datasets/basic-motions");
    ok(mote(dir.path(), &["init", "--project", "project"]));
    ok(mote(dir.path(), &["import", "--project", "project", dataset.to_str().unwrap()]));
    ok(mote(dir.path(), &["export", "--project", "project", "--out", "one.tar.zst"]));
    ok(mote(dir.path(), &["export", "--project", "project", "--out", "two.tar.zst"]));
    let one = std::fs::read(dir.path().join("one.tar.zst")).unwrap();
    assert_eq!(
        one,
        std::fs::read(dir.path().join("two.tar.zst")).unwrap(),
        "same project, same archive bytes"
    );
    ok(mote(dir.path(), &["build", "one.tar.zst", "--out", "from-archive"]));
    assert!(dir.path().join("from-archive/model.mote").exists());
    assert!(!dir.path().join("from-archive/.work").exists(), "the scratch space is cleaned up");

    // An archive with an entry that climbs out: refused before anything is unpacked.
    let evil = dir.path().join("evil.tar.zst");
    {
        let encoder = zstd::Encoder::new(std::fs::File::create(&evil).unwrap(), 3).unwrap();
        let mut builder = tar::Builder::new(encoder);
        let payload = b"escaped\n";
        let mut header = tar::Header::new_old();
        header.as_old_mut().name[..4].copy_from_slice(b"../x");
        header.set_size(payload.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        builder.append(&header, &payload[..]).unwrap();
        builder.into_inner().unwrap().finish().unwrap();
    }
    let out = dir.path().join("artifacts/evil");
    let output = mote(dir.path(), &["build", "evil.tar.zst", "--out", out.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(message.contains("`../x`"), "{message}");
    assert!(!out.exists() && !dir.path().join("artifacts/x").exists() && !dir.path().join("x").exists());
}
