//! Choosing what a project records from a connected board (the app's record form and
//! `mote record --sensor`): one sensor and rate per project, said before anything is recorded.

use std::sync::Arc;

use mote_pipeline::link::BoardInfo;
use mote_pipeline::link::types::{Axis, Sensor};
use mote_pipeline::record::{RecordError, choose_sensor};
use mote_project::{NewSample, Project, Recording, Split, SystemClock};

fn board() -> BoardInfo {
    let sensor = |name: &str, axes: &[&str]| Sensor {
        name: name.into(),
        axes: axes.iter().map(|a| Axis { name: (*a).into(), unit: "g".into(), scale: 0.001 }).collect(),
        rates_hz: vec![50, 100],
    };
    BoardInfo {
        protocol_version: mote_pipeline::link::PROTOCOL_VERSION,
        board: "test".into(),
        firmware_version: "0".into(),
        device_id: "t".into(),
        sensors: vec![
            sensor("imu", &["accX", "accY", "accZ", "gyrX", "gyrY", "gyrZ"]),
            sensor("accel", &["x", "y", "z"]),
        ],
        max_frame: 512,
        model_slots: Vec::new(),
        capabilities: Vec::new(),
    }
}

#[tokio::test]
async fn a_project_records_one_sensor_at_one_rate() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("p");
    let mut project = Project::create(&dir, None, Arc::new(SystemClock)).await.unwrap();

    choose_sensor(&mut project, &board(), "accel", 50).await.unwrap();
    let data = project.config().data.clone();
    assert_eq!(
        (data.sensor.as_str(), data.axes.clone(), data.rate_hz),
        ("accel", vec!["x".into(), "y".into(), "z".into()], 50.0)
    );

    let error = choose_sensor(&mut project, &board(), "baro", 50).await.unwrap_err();
    assert!(error.to_string().contains("has no sensor `baro` (it has: imu, accel)"), "{error}");
    let error = choose_sensor(&mut project, &board(), "accel", 77).await.unwrap_err();
    assert!(matches!(error, RecordError::NoRate { .. }), "{error}");

    let sample = NewSample {
        name: "wave".into(),
        label: "wave".into(),
        split: Split::Train,
        sensor: "accel".into(),
        device: "t".into(),
        created: None,
        recording: Recording {
            axes: board().sensors[1]
                .axes
                .iter()
                .map(|a| mote_project::Axis { name: a.name.clone(), unit: a.unit.clone(), scale: 0.001 })
                .collect(),
            rate_hz: 50.0,
            raw: (0..300).collect(),
        },
    };
    project.add_samples(vec![sample]).await.unwrap();
    let before = std::fs::read(dir.join("mote.toml")).unwrap();
    let error = choose_sensor(&mut project, &board(), "imu", 100).await.unwrap_err();
    assert_eq!(error.code(), "record.sensor_fixed");
    assert!(error.to_string().contains("1 samples are accel at 50 Hz"), "{error}");
    assert_eq!(std::fs::read(dir.join("mote.toml")).unwrap(), before, "nothing changed");
    // What it records already is fine.
    choose_sensor(&mut project, &board(), "accel", 50).await.unwrap();
    project.close().await;
}
