//! The BasicMotions conversion: checksums, counts, split, values, and that `datasets/basic-motions/`
//! is exactly what the conversion writes; importing it gives a ready project.

use std::path::{Path, PathBuf};

use mote_project::public_datasets::{convert_basic_motions, read_uea_ts};
use mote_project::{ImportOptions, ProjectError, SampleFilter, Split};

use crate::common::*;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// The UEA sources, committed with their provenance in `datasets/sources/basic-motions/`.
fn source_dir() -> PathBuf {
    repo_root().join("datasets/sources/basic-motions")
}

fn relative_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    files.sort();
    files
}

#[tokio::test]
async fn conversion_is_verified_complete_and_matches_the_shipped_folder() {
    let temp = tempfile::tempdir().unwrap();
    let out = temp.path().join("basic-motions");
    let report = convert_basic_motions(&source_dir(), &out).unwrap();
    assert_eq!(report.samples, 80);
    let per_label: Vec<(&str, usize, usize)> =
        report.per_label.iter().map(|(l, a, b)| (l.as_str(), *a, *b)).collect();
    assert_eq!(
        per_label,
        [("badminton", 10, 10), ("running", 10, 10), ("standing", 10, 10), ("walking", 10, 10)]
    );

    // The shipped folder is exactly the conversion's output.
    let shipped = repo_root().join("datasets/basic-motions");
    assert_eq!(relative_files(&out), relative_files(&shipped));
    for file in relative_files(&out) {
        assert!(
            std::fs::read(out.join(&file)).unwrap() == std::fs::read(shipped.join(&file)).unwrap(),
            "{} differs: regenerate it",
            file.display()
        );
    }

    // A changed source is refused before anything is read.
    let tampered = temp.path().join("tampered");
    std::fs::create_dir_all(&tampered).unwrap();
    for file in ["BasicMotions_TRAIN.ts", "BasicMotions_TEST.ts"] {
        std::fs::copy(source_dir().join(file), tampered.join(file)).unwrap();
    }
    let mut bytes = std::fs::read(tampered.join("BasicMotions_TEST.ts")).unwrap();
    let last = bytes.len() - 2;
    bytes[last] ^= 1;
    std::fs::write(tampered.join("BasicMotions_TEST.ts"), bytes).unwrap();
    let error = convert_basic_motions(&tampered, &temp.path().join("never")).unwrap_err();
    assert!(matches!(error, ProjectError::Checksum { .. }), "{error}");
    assert!(
        error
            .to_string()
            .contains("expected 79213102bc6fca1a398ad98ce1185dff0208fa3d1465e687f48288946b0ff8dc"),
        "{error}"
    );
    assert!(!temp.path().join("never").exists());
}

#[tokio::test]
async fn importing_the_shipped_folder_gives_a_ready_project() {
    let temp = tempfile::tempdir().unwrap();
    let mut project = create_project(&temp.path().join("motions")).await;
    let report = project
        .import_dir(&repo_root().join("datasets/basic-motions"), &ImportOptions::default())
        .await
        .unwrap();
    assert_eq!((report.imported.len(), report.duplicates.len()), (80, 0));
    assert!(report.preset_adopted);

    let config = project.config().clone();
    assert_eq!(config.project.name, "motions");
    assert_eq!(config.data.sensor, "imu");
    assert_eq!(config.data.axes, ["accX", "accY", "accZ", "gyrX", "gyrY", "gyrZ"]);
    assert_eq!(config.data.rate_hz, 10.0);
    assert_eq!((config.window.length_ms, config.window.stride_ms), (10_000, 10_000));
    assert_eq!((config.dsp.block.as_str(), config.learn.block.as_str()), ("flatten", "dense"));
    assert!(
        std::fs::read_to_string(project.config_path()).unwrap().contains("# smart watch"),
        "the preset's comments come along"
    );

    let stats = project.stats(&SampleFilter::all()).await.unwrap();
    for label in &stats.labels {
        assert_eq!(
            (label.count, label.train, label.test, label.total_duration_ms),
            (20, 10, 10, 200_000.0),
            "{label:?}"
        );
    }
    let train = project
        .list_samples(&SampleFilter { split: Some(Split::Train), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(train.len(), 40);
    assert!(
        train.iter().all(|s| s.n_steps == 100 && s.axes.len() == 6 && s.rate_hz == 10.0 && s.sensor == "imu")
    );

    // The first recording of the training file, value by value, against the .ts text.
    let ts_text = std::fs::read_to_string(source_dir().join("BasicMotions_TRAIN.ts")).unwrap();
    let first_line =
        ts_text.lines().find(|line| !line.starts_with(['#', '@']) && !line.trim().is_empty()).unwrap();
    let dimensions: Vec<&str> = first_line.split(':').collect();
    let label = dimensions[6].to_lowercase();
    let first = project
        .load_samples(&SampleFilter::all())
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.info.name == format!("{label}.01"))
        .unwrap();
    assert_eq!(first.info.label, label);
    assert_eq!(first.info.split, Split::Train);
    for (axis, dimension) in dimensions[..6].iter().enumerate() {
        let expected: Vec<f64> = dimension.split(',').map(|v| v.parse().unwrap()).collect();
        assert_eq!(expected.len(), 100);
        let scale = first.recording.axes[axis].scale;
        for (step, value) in expected.iter().enumerate() {
            let error = (first.recording.value(step, axis) - value).abs();
            assert!(
                error <= scale / 2.0,
                "axis {axis} step {step}: {} vs {value}",
                first.recording.value(step, axis)
            );
        }
    }
    assert!((first.recording.value(0, 0) - 0.079106).abs() < 1e-4);

    // The reader agrees with the store on the whole test file.
    let test_file = read_uea_ts(&source_dir().join("BasicMotions_TEST.ts")).unwrap();
    assert_eq!(test_file.len(), 40);
    project.close().await;
}
