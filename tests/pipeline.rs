//! The pipeline end to end through the `mote` CLI: a public dataset to a tested model (float and
//! int8), and the virtual board's gestures recorded over a real PTY to a model that, deployed to
//! the board, recognises fresh ones live — bit for bit as the host runtime does.

use std::path::Path;
use std::process::Output;

use mote_e2e::SimProcess;

fn mote(args: &[&str]) -> Output {
    mote_e2e::mote_ok(args)
}

fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stdout)))
}

fn dataset() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../datasets/basic-motions").to_string_lossy().into_owned()
}

/// Trains BasicMotions in a new project: (test accuracy, weights fingerprint, training losses).
fn train_basic_motions(dir: &Path) -> (f64, String, serde_json::Value) {
    let project = dir.to_str().unwrap();
    mote(&["init", "--project", project]);
    mote(&["import", "--project", project, &dataset()]);
    let features = json(&mote(&["--json", "features", "--project", project]));
    assert_eq!(features["windows"], 80);
    let trained = json(&mote(&["--json", "train", "--project", project]));
    let tested = json(&mote(&["--json", "test", "--project", project]));
    let accuracy = tested["top1_accuracy"].as_f64().unwrap();
    assert_eq!(trained["test"]["top1_accuracy"].as_f64().unwrap(), accuracy, "train and test agree");
    // The int8 model, run by mote-runtime on the host, against the float one on the same windows.
    let comparison = &trained["int8"]["comparison"];
    let int8 = comparison["int8"]["top1_accuracy"].as_f64().unwrap();
    let float = comparison["float"]["top1_accuracy"].as_f64().unwrap();
    eprintln!(
        "BasicMotions int8 {int8:.4} vs float {float:.4} (agreement {}); blob {} B, arena {} B",
        comparison["agreement"], trained["int8"]["blob_bytes"], trained["int8"]["arena_bytes"]
    );
    assert_eq!(float, accuracy);
    assert!(float - int8 <= 0.01, "int8 {int8} is more than 1 point below float {float}");
    let model = trained["model"].as_i64().unwrap();
    assert!(dir.join(format!("models/{model}/weights.bpk")).exists(), "model weights stored");
    assert!(dir.join(format!("models/{model}/confusion_matrix.svg")).exists());
    let losses: Vec<_> =
        trained["epochs"].as_array().unwrap().iter().map(|e| e["train_loss"].clone()).collect();
    (accuracy, trained["weights_sha256"].as_str().unwrap().to_string(), serde_json::Value::Array(losses))
}

#[test]
fn basic_motions_reaches_095_and_the_same_seed_gives_the_same_model() {
    let first = tempfile::tempdir().unwrap();
    let (accuracy, weights, losses) = train_basic_motions(first.path());
    eprintln!("BasicMotions test accuracy: {accuracy:.3}");
    assert!(accuracy >= 0.95, "test accuracy {accuracy}");
    let second = tempfile::tempdir().unwrap();
    let (accuracy_again, weights_again, losses_again) = train_basic_motions(second.path());
    assert_eq!(accuracy, accuracy_again);
    assert_eq!(weights, weights_again, "same seed, same data → bit-identical weights");
    assert_eq!(losses, losses_again, "and the same loss at every epoch");
}

#[test]
fn gestures_recorded_from_the_virtual_board_are_recognised_when_performed_again() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().to_str().unwrap();
    mote(&["init", "--project", project]);
    let gestures = ["wave", "circle", "shake"];
    let record = |gesture: &str, seed: &str, split: &str, count: &str| {
        let sim = SimProcess::start(&["--script", gesture, "--seed", seed]);
        let port = sim.path();
        let args = ["--json", "record", "--project", project, "--port", &port, "--label", gesture];
        let recorded =
            json(&mote(&[&args[..], &["--seconds", "2.5", "--count", count, "--split", split]].concat()));
        assert_eq!(recorded["recorded"].as_u64().unwrap().to_string(), count);
    };
    for gesture in gestures {
        record(gesture, "11", "train", "5");
    }
    let trained = json(&mote(&["--json", "train", "--project", project]));
    assert_eq!(trained["labels"], serde_json::json!(["circle", "shake", "wave"]));
    // A fresh performance (another seed: other repetitions, amplitudes, tempo and noise).
    for gesture in gestures {
        record(gesture, "29", "test", "3");
    }
    let tested = json(&mote(&["--json", "test", "--project", project]));
    let accuracy = tested["top1_accuracy"].as_f64().unwrap();
    eprintln!("virtual board round trip: test accuracy {accuracy:.3} over {} windows", tested["total"]);
    assert!(accuracy >= 0.9, "{tested}");

    // Deploy the int8 model to a virtual board; its flash file outlives the process.
    let board_dir = tempfile::tempdir().unwrap();
    let flash = board_dir.path().join("flash.bin");
    {
        let sim = SimProcess::start_in(tempfile::tempdir().unwrap(), &flash, &["--script", "idle"]);
        let deployed = json(&mote(&["--json", "deploy", "--project", project, "--port", &sim.path()]));
        assert_eq!(deployed["slot"]["active"], true, "{deployed}");
    }
    // Live, on restarted boards (same flash: the model survived) performing fresh gestures; every
    // window is re-run on the host and must give the same scores.
    let mut correct = 0;
    let mut total = 0;
    for gesture in gestures {
        let sim = SimProcess::start_in(
            tempfile::tempdir().unwrap(),
            &flash,
            &["--script", gesture, "--seed", "47", "--time-scale", "10"],
        );
        let output = mote(&[
            "--json",
            "live",
            "--project",
            project,
            "--port",
            &sim.path(),
            "--verify",
            "--windows",
            "24",
        ]);
        let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter(|line| line.starts_with('{') && line.contains("\"seq\""))
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(lines.len(), 24);
        // The first window starts with the board's first samples; judge the steady state.
        for window in &lines[2..] {
            total += 1;
            correct += usize::from(window["label"] == gesture);
            assert_eq!(window["parity"], true, "board and host differ: {window}");
        }
    }
    let live_accuracy = correct as f64 / total as f64;
    eprintln!("live on the virtual board: {correct}/{total} windows correct ({live_accuracy:.3})");
    assert!(live_accuracy >= 0.9, "live top-1 {live_accuracy}");

    // 1,000 windows classified by the board and by the host runtime: bit-identical scores.
    let sim = SimProcess::start_in(
        tempfile::tempdir().unwrap(),
        &flash,
        &["--script", "wave:3s,circle:3s,shake:3s,idle:3s", "--seed", "5", "--time-scale", "50"],
    );
    let output = mote(&[
        "--json",
        "live",
        "--project",
        project,
        "--port",
        &sim.path(),
        "--verify",
        "--windows",
        "1000",
    ]);
    let text = String::from_utf8_lossy(&output.stdout);
    let summary_start = text.find("{\n").expect("a summary");
    let summary: serde_json::Value = serde_json::from_str(&text[summary_start..]).unwrap();
    eprintln!("parity: {}", summary["summary"]);
    assert_eq!(summary["summary"]["windows"], 1000);
    assert_eq!(summary["summary"]["mismatches"], 0);
    assert!(summary["summary"]["verified"].as_u64().unwrap() >= 990, "{summary}");
}
