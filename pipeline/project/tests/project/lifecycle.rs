//! Opening, creating and configuring projects; training runs and stored models; samples added by
//! code (board captures).

use std::path::PathBuf;

use mote_project::runs::{ArtifactFile, RunStatus};
use mote_project::{Axis, NewSample, Project, ProjectError, Recording, SampleFilter, Split};
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn open_refuses_folders_that_are_not_projects() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("nothing-here");
    let error = Project::open(&dir).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("{} is not a Mote project: mote.toml not found (create one with `mote init`)", dir.display())
    );
    assert_eq!(error.code(), "project.not_a_project");

    write(&dir, "mote.toml", mote_project::ProjectConfig::default_text("x"));
    let error = Project::open(&dir).await.unwrap_err();
    assert!(error.to_string().ends_with("mote.db not found (create one with `mote init`)"), "{error}");
    assert!(!dir.join("mote.db").exists(), "open never creates a database");
}

#[tokio::test]
async fn create_open_or_create_and_settings() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("my-project");
    let project = Project::open_or_create_with_clock(&dir, clock()).await.unwrap();
    assert_eq!(project.config().project.name, "my-project");
    assert_eq!(project.config().data.rate_hz, 100.0);
    project.close().await;
    let mut names: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["mote.db", "mote.toml"]);

    let error = Project::create(&dir, None, clock()).await.unwrap_err();
    assert!(error.to_string().contains("already holds a project"), "{error}");

    // Settings changed in code keep the file's comments.
    let mut project = open_project(&dir).await;
    let mut config = project.config().clone();
    config.data.rate_hz = 52.0;
    config.dsp.params.insert("axes_scale".into(), toml::Value::Float(2.0));
    project.save_config(config.clone()).unwrap();
    let text = std::fs::read_to_string(dir.join("mote.toml")).unwrap();
    assert!(text.contains("rate_hz = 52.0           # sampling rate in Hz"), "{text}");
    assert!(text.contains("# seeds every random choice"), "{text}");
    config.window.stride_ms = 0;
    let error = project.save_config(config).unwrap_err();
    assert!(
        error.to_string().contains("`window.stride_ms`: expected an integer number of milliseconds > 0"),
        "{error}"
    );
    project.close().await;
    assert_eq!(open_project(&dir).await.config().data.rate_hz, 52.0);

    // A person's typo is reported with the line and key.
    std::fs::write(dir.join("mote.toml"), text.replace("rate_hz = 52.0", "rate_hz = -1.0")).unwrap();
    let error = Project::open(&dir).await.unwrap_err();
    let expected = format!(
        "{} line 10: `data.rate_hz`: expected a number of samples per second > 0",
        dir.join("mote.toml").display()
    );
    assert_eq!(error.to_string(), expected);

    let default_dir = Project::default_dir().unwrap();
    assert!(default_dir.ends_with("mote/projects/default"), "{}", default_dir.display());
}

#[tokio::test]
async fn a_store_from_a_newer_mote_is_refused_clearly() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("p");
    create_project(&dir).await.close().await;
    let url = format!("sqlite://{}", dir.join("mote.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query("INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (999, 'future', 1, x'00', 0)")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let error = Project::open(&dir).await.unwrap_err();
    assert!(error.to_string().contains("was this project made by a newer Mote?"), "{error}");
    assert_eq!(error.code(), "project.schema");
}

#[tokio::test]
async fn runs_and_models_are_recorded() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("p");
    let project = create_project(&dir).await;
    let run = project.start_run(&json!({"learn": {"block": "dense", "epochs": 2}})).await.unwrap();
    project.record_epoch(run, 1, &json!({"loss": 0.9, "accuracy": 0.5})).await.unwrap();
    project.record_epoch(run, 2, &json!({"loss": 0.4, "accuracy": 0.8})).await.unwrap();
    assert!(project.record_epoch(mote_project::runs::RunId(77), 1, &json!({})).await.is_err());

    let files = [
        ArtifactFile { name: "model.bin".into(), bytes: vec![1, 2, 3] },
        ArtifactFile { name: "labels.json".into(), bytes: b"[\"a\"]".to_vec() },
    ];
    let model = project.save_model(Some(run), "dense-int8", &files, &json!({"accuracy": 0.8})).await.unwrap();
    assert_eq!(model.path, PathBuf::from("models").join(model.id.0.to_string()));
    assert_eq!(std::fs::read(project.model_dir(&model).join("model.bin")).unwrap(), [1, 2, 3]);
    let leftovers: Vec<_> =
        std::fs::read_dir(dir.join("models")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers.len(), 1, "no temporary folders are left: {leftovers:?}");
    let bad = [ArtifactFile { name: "../escape".into(), bytes: vec![] }];
    assert!(project.save_model(None, "x", &bad, &json!({})).await.is_err());

    project
        .finish_run(
            run,
            RunStatus::Completed,
            Some(&json!({"accuracy": 0.8})),
            std::slice::from_ref(&model.path),
        )
        .await
        .unwrap();
    let stored = project.run(run).await.unwrap();
    assert_eq!(stored.status, RunStatus::Completed);
    assert_eq!(stored.created, "2025-11-22T05:40:00Z");
    assert_eq!(stored.epochs.iter().map(|e| e.epoch).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(stored.epochs[1].metrics["accuracy"], 0.8);
    assert_eq!(stored.final_metrics, Some(json!({"accuracy": 0.8})));
    assert_eq!(stored.artifacts, vec![model.path.clone()]);
    assert_eq!(project.list_models().await.unwrap(), vec![model]);
    assert_eq!(project.list_runs().await.unwrap().len(), 1);
    project.close().await;
}

#[tokio::test]
async fn samples_added_by_code_are_stored_exactly() {
    let temp = tempfile::tempdir().unwrap();
    let mut project = create_project(&temp.path().join("p")).await;
    let capture = NewSample {
        name: "wave.capture".into(),
        label: "wave".into(),
        split: Split::Train,
        sensor: "lsm303".into(),
        device: "microbit-1234".into(),
        created: None,
        recording: Recording {
            axes: vec![Axis { name: "accX".into(), unit: "m/s2".into(), scale: 0.0059855 }],
            rate_hz: 104.0,
            raw: vec![i16::MIN, -1, 0, 1, i16::MAX],
        },
    };
    let report = project.add_samples(vec![capture.clone(), capture.clone()]).await.unwrap();
    assert_eq!((report.added.len(), report.duplicates.len()), (1, 1));
    let stored = project.sample(report.added[0].id).await.unwrap();
    assert_eq!(stored.recording, capture.recording, "board scales and raw values are kept as they are");
    assert_eq!(stored.info.created, "2025-11-22T05:40:00Z");

    let mut other = capture.clone();
    other.recording.raw[2] = 5;
    let renamed = project.add_samples(vec![other]).await.unwrap();
    assert_eq!(renamed.added[0].name, "wave.capture.2", "names are made unique");
    let mut empty = capture;
    empty.recording.raw.clear();
    assert!(matches!(project.add_samples(vec![empty]).await, Err(ProjectError::InvalidArgument(_))));
    assert_eq!(project.list_samples(&SampleFilter::all()).await.unwrap().len(), 2);
    project.close().await;
}
