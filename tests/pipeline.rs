//! The pipeline end to end through the `mote` CLI: a public dataset to a tested model, and
//! the virtual board's gestures recorded over a real PTY to a model that recognises fresh ones.

use std::path::Path;
use std::process::{Command, Output};

use mote_e2e::{SimProcess, workspace_binary};

fn mote(args: &[&str]) -> Output {
    let output = Command::new(workspace_binary("mote")).args(args).output().expect("mote runs");
    assert!(
        output.status.success(),
        "mote {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
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
}
