//! One sensor, axes and rate per project: a project with no samples takes its `[data]` (and an
//! impulse that suits the data) from what is imported or recorded first; a project with samples
//! refuses data that does not fit, says why, and changes nothing.

use hound::SampleFormat;
use mote_project::{
    Axis, ImportOptions, NewSample, ProjectError, Recording, SampleFilter, Split, WindowSection,
};

use crate::common::*;

fn options() -> ImportOptions {
    ImportOptions::default()
}

#[tokio::test]
async fn an_empty_project_takes_the_settings_of_edge_impulse_csv_files() {
    let temp = tempfile::tempdir().unwrap();
    let inputs = temp.path().join("inputs");
    // 50 Hz (20 ms), three axes, 3 s each.
    let files = vec![
        write(&inputs, "wave.01.csv", ei_csv(&["accX", "accY", "accZ"], 20.0, 150, 0.0)),
        write(&inputs, "idle.01.csv", ei_csv(&["accX", "accY", "accZ"], 20.0, 150, 1.0)),
    ];
    let dir = temp.path().join("w");
    let mut project = create_project(&dir).await;
    let report = project.import_files(&files, &options()).await.unwrap();
    let adopted = report.adopted.expect("the default project takes the files' settings");
    assert_eq!((adopted.sensor.as_str(), adopted.rate_hz), ("imu", 50.0));
    assert_eq!(adopted.axes, ["accX", "accY", "accZ"]);
    let impulse = adopted.impulse.as_ref().expect("the untouched impulse is chosen for the data");
    assert_eq!((impulse.dsp.as_str(), impulse.learn.as_str()), ("flatten", "dense"));
    assert_eq!(impulse.window, WindowSection { length_ms: 2000, stride_ms: 1000 });
    assert!(adopted.to_string().contains("50 Hz"), "{adopted}");
    project.close().await;

    // It is in mote.toml, with the file's comments kept.
    let project = open_project(&dir).await;
    assert_eq!(project.config().data.rate_hz, 50.0);
    assert_eq!(project.config().data.axes, ["accX", "accY", "accZ"]);
    assert!(std::fs::read_to_string(project.config_path()).unwrap().contains("# sampling rate in Hz"));
    project.close().await;
}

#[tokio::test]
async fn an_empty_project_takes_the_settings_of_edge_impulse_json_files_and_fits_the_window() {
    let temp = tempfile::tempdir().unwrap();
    let values: Vec<Vec<f64>> = (0..30).map(|row| vec![row as f64 * 0.1, -(row as f64)]).collect();
    // 25 Hz (40 ms), 1.2 s: shorter than the default 2 s window.
    let file =
        write(temp.path(), "tilt.01.json", ei_json(&[("gyrX", "dps"), ("gyrY", "dps")], 40.0, &values));
    let mut project = create_project(&temp.path().join("j")).await;
    let report = project.import_files(&[file], &options()).await.unwrap();
    let adopted = report.adopted.unwrap();
    assert_eq!((adopted.rate_hz, adopted.axes.clone()), (25.0, vec!["gyrX".to_string(), "gyrY".to_string()]));
    assert_eq!(adopted.impulse.unwrap().window, WindowSection { length_ms: 1200, stride_ms: 600 });
    assert_eq!(project.config().window.length_ms, 1200);
    project.close().await;
}

#[tokio::test]
async fn an_empty_project_takes_a_microphone_and_mfcc_from_wav_files() {
    let temp = tempfile::tempdir().unwrap();
    let files = vec![
        write(temp.path(), "yes.01.wav", wav(1, 16, SampleFormat::Int, 16000, 16000)),
        write(temp.path(), "no.01.wav", wav(1, 16, SampleFormat::Int, 16000, 20000)),
    ];
    let mut project = create_project(&temp.path().join("kws")).await;
    let report = project.import_files(&files, &options()).await.unwrap();
    let adopted = report.adopted.unwrap();
    assert_eq!((adopted.sensor.as_str(), adopted.rate_hz), ("mic", 16000.0));
    assert_eq!(adopted.axes, ["audio"]);
    let impulse = adopted.impulse.unwrap();
    assert_eq!(
        (impulse.dsp.as_str(), impulse.window),
        ("mfcc", WindowSection { length_ms: 1000, stride_ms: 500 })
    );
    let config = project.config();
    assert_eq!((config.dsp.block.as_str(), config.data.sensor.as_str()), ("mfcc", "mic"));
    project.close().await;
}

#[tokio::test]
async fn data_that_does_not_fit_a_project_with_samples_is_refused_and_nothing_changes() {
    let temp = tempfile::tempdir().unwrap();
    let inputs = temp.path().join("inputs");
    let dir = temp.path().join("p");
    let mut project = create_project(&dir).await;
    let first = write(&inputs, "wave.01.csv", ei_csv(&["accX", "accY", "accZ"], 20.0, 150, 0.0));
    project.import_files(&[first], &options()).await.unwrap();
    let before = file_snapshot(&dir);

    let cases = [
        (
            "fast.01.csv",
            ei_csv(&["accX", "accY", "accZ"], 10.0, 150, 0.0).into_bytes(),
            "recorded at 100 Hz, not 50 Hz",
        ),
        ("flat.01.csv", ei_csv(&["accX", "accY"], 20.0, 150, 0.0).into_bytes(), "has no axis accZ"),
        ("tap.01.wav", wav(1, 16, SampleFormat::Int, 16000, 4000), "recorded at 16000 Hz"),
    ];
    for (name, bytes, reason) in cases {
        let path = write(&inputs, name, bytes);
        let error = project.import_files(&[path], &options()).await.unwrap_err();
        assert!(matches!(error, ProjectError::DataMismatch { .. }), "{name}: {error}");
        assert_eq!(error.code(), "project.data_mismatch");
        let message = error.to_string();
        assert!(message.contains(name.trim_end_matches(".csv").trim_end_matches(".wav")), "{message}");
        assert!(message.contains(reason), "{name}: {message}");
        assert!(message.contains("50 Hz"), "{message}");
        assert_eq!(file_snapshot(&dir), before, "{name}: nothing changed");
    }
    assert_eq!(project.sample_count().await.unwrap(), 1);
    project.close().await;
}

#[tokio::test]
async fn files_that_disagree_cannot_start_a_project_together() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("p");
    let mut project = create_project(&dir).await;
    let files = vec![
        write(temp.path(), "a.01.csv", ei_csv(&["accX"], 20.0, 100, 0.0)),
        write(temp.path(), "b.01.csv", ei_csv(&["accX"], 10.0, 100, 0.0)),
    ];
    let before = file_snapshot(&dir);
    let error = project.import_files(&files, &options()).await.unwrap_err();
    assert_eq!(error.code(), "project.mixed_data");
    assert!(error.to_string().contains("b.01.csv` does not fit with `"), "{error}");
    assert_eq!(file_snapshot(&dir), before);
    assert_eq!(project.config().data.rate_hz, 100.0, "the default is kept");
    project.close().await;
}

#[tokio::test]
async fn an_edited_impulse_is_kept_when_the_data_settings_are_adopted() {
    let temp = tempfile::tempdir().unwrap();
    let mut project = create_project(&temp.path().join("p")).await;
    let mut config = project.config().clone();
    config.window = WindowSection { length_ms: 500, stride_ms: 250 };
    project.save_config(config).unwrap();
    let file = write(temp.path(), "wave.01.csv", ei_csv(&["accX", "accY", "accZ"], 20.0, 150, 0.0));
    let adopted = project.import_files(&[file], &options()).await.unwrap().adopted.unwrap();
    assert_eq!((adopted.rate_hz, adopted.impulse), (50.0, None));
    assert_eq!(project.config().window, WindowSection { length_ms: 500, stride_ms: 250 });
    project.close().await;
}

fn recording(sensor: &str, axes: &[&str], rate_hz: f64, steps: usize, seed: i16) -> NewSample {
    NewSample {
        name: format!("rec{seed}"),
        label: "wave".into(),
        split: Split::Train,
        sensor: sensor.into(),
        device: "virtual-1".into(),
        created: None,
        recording: Recording {
            axes: axes
                .iter()
                .map(|name| Axis { name: (*name).into(), unit: "g".into(), scale: 0.001 })
                .collect(),
            rate_hz,
            raw: (0..steps * axes.len()).map(|i| i as i16 ^ seed).collect(),
        },
    }
}

/// Recordings (`mote record`, the app, a data-forwarder board) go through the same rule.
#[tokio::test]
async fn recordings_follow_the_same_rule() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("p");
    let mut project = create_project(&dir).await;
    let report =
        project.add_samples(vec![recording("accel", &["x", "y", "z"], 200.0, 400, 1)]).await.unwrap();
    let adopted = report.adopted.unwrap();
    assert_eq!((adopted.sensor.as_str(), adopted.rate_hz), ("accel", 200.0));
    assert_eq!(project.config().data.axes, ["x", "y", "z"]);

    let before = file_snapshot(&dir);
    let error =
        project.add_samples(vec![recording("accel", &["x", "y", "z"], 100.0, 400, 2)]).await.unwrap_err();
    assert!(error.to_string().contains("recorded at 100 Hz, not 200 Hz"), "{error}");
    let error =
        project.add_samples(vec![recording("gyro", &["x", "y", "z"], 200.0, 400, 3)]).await.unwrap_err();
    assert!(error.to_string().contains("sensor `gyro`, not `accel`"), "{error}");
    assert_eq!(file_snapshot(&dir), before);

    let fits = project.add_samples(vec![recording("accel", &["x", "y", "z"], 200.0, 400, 4)]).await.unwrap();
    assert_eq!((fits.added.len(), fits.adopted), (1, None));
    assert_eq!(project.list_samples(&SampleFilter::all()).await.unwrap().len(), 2);
    project.close().await;
}
