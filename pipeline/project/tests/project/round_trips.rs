//! Export → re-import gives the same samples; Parquet is readable by polars; statistics match hand
//! computations; the stratified split is deterministic; dataset operations work and are transactional.

use std::collections::BTreeMap;
use std::path::PathBuf;

use hound::SampleFormat;
use mote_project::{ImportOptions, Project, ProjectError, SampleFilter, SampleId, Split};
use polars::prelude::*;

use crate::common::*;

async fn summary(project: &Project) -> Vec<(String, String, Split, String)> {
    let mut rows: Vec<_> = project
        .list_samples(&SampleFilter::all())
        .await
        .unwrap()
        .into_iter()
        .map(|info| (info.hash.0, info.label, info.split, info.name))
        .collect();
    rows.sort();
    rows
}

fn json_values(n_rows: usize) -> Vec<Vec<f64>> {
    (0..n_rows)
        .map(|row| vec![(row as f64 * 0.21).cos() * 3.3, -0.001 * row as f64, 1e-4 * (row % 7) as f64])
        .collect()
}

#[tokio::test]
async fn ei_csv_json_and_wav_survive_export_and_reimport() {
    let temp = tempfile::tempdir().unwrap();
    let inputs = temp.path().join("inputs");
    let files = vec![
        write(&inputs, "wave.01.csv", ei_csv(&["accX", "accY", "accZ"], 16.0, 120, 0.0)),
        write(&inputs, "hum.01.csv", ei_csv(&["accX", "accY", "accZ"], 16.0, 90, 0.5)),
        write(
            &inputs,
            "idle.01.json",
            ei_json(&[("accX", "m/s2"), ("accY", "m/s2"), ("accZ", "m/s2")], 16.0, &json_values(50)),
        ),
    ];
    let mut project = create_project(&temp.path().join("p")).await;
    let report = project.import_files(&files, &ImportOptions::default()).await.unwrap();
    assert_eq!(report.imported.len(), 3);
    project.set_split(&[report.imported[1].id], Split::Test).await.unwrap();

    // Rates come from the files (an interval of 16 ms is 62.5 Hz).
    let rates: Vec<f64> =
        project.list_samples(&SampleFilter::all()).await.unwrap().iter().map(|i| i.rate_hz).collect();
    assert_eq!(rates, vec![62.5, 62.5, 62.5]);
    let idle = project.sample(report.imported[2].id).await.unwrap();
    assert_eq!(idle.info.device, "ac:87:a3:0a:2d:1b");
    for (step, row) in json_values(50).iter().enumerate() {
        for (axis, value) in row.iter().enumerate() {
            let error = (idle.recording.value(step, axis) - value).abs();
            assert!(
                error <= idle.recording.axes[axis].scale / 2.0,
                "quantization error {error} at {step},{axis}"
            );
        }
    }

    let before = summary(&project).await;
    let dataset_dir = temp.path().join("export-csv");
    let ei_dir = temp.path().join("export-ei");
    assert_eq!(project.export_dataset(&dataset_dir, &SampleFilter::all()).await.unwrap().samples, 3);
    assert_eq!(project.export_ei_json(&ei_dir, &SampleFilter::all()).await.unwrap().samples, 3);
    assert!(matches!(
        project.export_dataset(&dataset_dir, &SampleFilter::all()).await,
        Err(ProjectError::ExportTargetExists { .. })
    ));
    assert!(ei_dir.join("testing/hum.01.json").is_file() && ei_dir.join("training/wave.01.json").is_file());

    // Mote's CSV keeps everything: hashes, names, labels, splits.
    let mut from_csv = create_project(&temp.path().join("q1")).await;
    let report = from_csv.import_dir(&dataset_dir, &ImportOptions::default()).await.unwrap();
    assert!(report.preset_adopted, "a fresh project adopts the dataset's mote.toml");
    assert_eq!(from_csv.config().project.name, "q1", "but keeps its own name");
    assert_eq!(summary(&from_csv).await, before);

    // Edge Impulse JSON keeps hashes, labels (from file names) and splits (from the folders).
    let mut from_ei = create_project(&temp.path().join("q2")).await;
    from_ei.import_dir(&ei_dir, &ImportOptions::default()).await.unwrap();
    assert_eq!(summary(&from_ei).await, before);

    // Importing the same data again is reported as duplicates, not stored twice.
    let mut project = project;
    let again = project.import_dir(&dataset_dir, &ImportOptions::default()).await.unwrap();
    assert!(again.imported.is_empty() && again.duplicates.len() == 3 && !again.preset_adopted);
    assert_eq!(again.duplicates[0].existing_name, again.duplicates[0].wanted_name);
    let twice =
        project.import_files(&[files[0].clone(), files[0].clone()], &ImportOptions::default()).await.unwrap();
    assert_eq!((twice.imported.len(), twice.duplicates.len()), (0, 2));
    assert_eq!(project.sample_count().await.unwrap(), 3);

    // Explicit options win over file names and folders.
    let mut other = create_project(&temp.path().join("q3")).await;
    let options = ImportOptions {
        label: Some("misc".into()),
        split: Some(Split::Test),
        device: Some("board-7".into()),
        ..Default::default()
    };
    other.import_dir(&ei_dir, &options).await.unwrap();
    let infos = other.list_samples(&SampleFilter::all()).await.unwrap();
    assert!(infos.iter().all(|i| i.label == "misc" && i.split == Split::Test && i.device == "board-7"));
    for project in [project, from_csv, from_ei, other] {
        project.close().await;
    }
}

/// A WAV file keeps its PCM counts exactly and survives an export as a Mote dataset.
#[tokio::test]
async fn wav_keeps_its_pcm_counts_through_export_and_reimport() {
    let temp = tempfile::tempdir().unwrap();
    let files = vec![
        write(&temp.path().join("inputs"), "snap.01.wav", wav(1, 16, SampleFormat::Int, 16000, 800)),
        write(&temp.path().join("inputs"), "snap.02.wav", wav(1, 16, SampleFormat::Int, 16000, 1200)),
    ];
    let mut project = create_project(&temp.path().join("p")).await;
    let report = project.import_files(&files, &ImportOptions::default()).await.unwrap();
    let snap = project.sample(report.imported[0].id).await.unwrap();
    let mut reader = hound::WavReader::open(&files[0]).unwrap();
    let pcm: Vec<f64> = reader.samples::<i16>().map(|s| f64::from(s.unwrap())).collect();
    assert_eq!(snap.recording.axis_values(0), pcm);
    assert_eq!(
        (snap.info.label.as_str(), snap.info.name.as_str(), snap.info.rate_hz, snap.info.sensor.as_str()),
        ("snap", "snap.01", 16000.0, "mic")
    );
    let before = summary(&project).await;
    let out = temp.path().join("export");
    project.export_dataset(&out, &SampleFilter::all()).await.unwrap();
    let mut again = create_project(&temp.path().join("q")).await;
    again.import_dir(&out, &ImportOptions::default()).await.unwrap();
    assert_eq!(summary(&again).await, before);
    project.close().await;
    again.close().await;
}

#[tokio::test]
async fn parquet_export_is_readable_by_polars() {
    let temp = tempfile::tempdir().unwrap();
    let inputs = temp.path().join("inputs");
    let files = vec![
        write(&inputs, "wave.01.csv", ei_csv(&["accX", "accY"], 10.0, 30, 0.0)),
        write(&inputs, "idle.01.csv", ei_csv(&["accX", "gyrZ", "accY"], 10.0, 20, 1.0)),
    ];
    let mut project = create_project(&temp.path().join("p")).await;
    // One file at a time: `idle` has an axis more than the project trains on, which a project
    // with samples accepts.
    for file in &files {
        project.import_files(std::slice::from_ref(file), &ImportOptions::default()).await.unwrap();
    }
    let path = temp.path().join("samples.parquet");
    let report = project.export_parquet(&path, &SampleFilter::all()).await.unwrap();
    assert_eq!(report.samples, 2);

    // polars blocks in place internally, which a current-thread runtime forbids: read off the runtime.
    let frame =
        tokio::task::spawn_blocking(move || ParquetReader::new(std::fs::File::open(&path).unwrap()).finish())
            .await
            .unwrap()
            .unwrap();
    let names: Vec<String> = frame.get_column_names().iter().map(|n| n.to_string()).collect();
    assert_eq!(
        names,
        ["sample_id", "name", "label", "split", "device", "step", "time_ms", "accX", "accY", "gyrZ"]
    );
    assert_eq!(frame.height(), 50);
    assert_eq!(frame.column("gyrZ").unwrap().null_count(), 30, "wave has no gyrZ");
    assert_eq!(frame.column("accX").unwrap().dtype(), &DataType::Float64);
    assert_eq!(frame.column("label").unwrap().dtype(), &DataType::String);

    let samples = project.load_samples(&SampleFilter::all()).await.unwrap();
    let idle = &samples[1];
    let id = idle.info.id.0;
    let rows =
        tokio::task::spawn_blocking(move || frame.lazy().filter(col("sample_id").eq(lit(id))).collect())
            .await
            .unwrap()
            .unwrap();
    let floats = |name: &str| -> Vec<Option<f64>> {
        let column = rows.column(name).unwrap().f64().unwrap();
        (0..column.len()).map(|row| column.get(row)).collect()
    };
    let gyr = floats("gyrZ");
    assert_eq!(gyr, idle.recording.axis_values(1).into_iter().map(Some).collect::<Vec<_>>());
    assert_eq!(rows.column("gyrZ").unwrap().null_count(), 0, "idle has gyrZ");
    assert_eq!(floats("time_ms")[..3], [Some(0.0), Some(10.0), Some(20.0)]);
    project.close().await;
}

fn mote_sample(scales: &str, rate: u32, header: &str, rows: &[&str]) -> String {
    format!(
        "# mote-sample 1\n# sensor: imu\n# rate_hz: {rate}\n# scales: {scales}\n{header}\n{}\n",
        rows.join("\n")
    )
}

fn mean_std_min_max(values: &[f64]) -> (f64, f64, f64, f64) {
    let n = values.len() as f64;
    let mut sum = 0.0;
    for v in values {
        sum += v;
    }
    let mean = sum / n;
    let mut squares = 0.0;
    for v in values {
        squares += (v - mean) * (v - mean);
    }
    let mut min = f64::INFINITY;
    let mut max = f64::NEG_INFINITY;
    for v in values {
        min = min.min(*v);
        max = max.max(*v);
    }
    (mean, (squares / n).sqrt(), min, max)
}

#[tokio::test]
async fn statistics_match_hand_computation() {
    let temp = tempfile::tempdir().unwrap();
    let inputs = temp.path().join("inputs");
    let files = vec![
        write(&inputs, "a.01.csv", mote_sample("0.5,1", 10, "x,y", &["1,10", "3,20", "5,30"])),
        write(&inputs, "a.02.csv", mote_sample("0.5,1", 10, "x,y", &["-2,0"])),
        write(&inputs, "b.01.csv", mote_sample("0.25,0.25", 10, "x,y", &["4,4", "4,-8"])),
    ];
    let mut project = create_project(&temp.path().join("p")).await;
    project.import_files(&files, &ImportOptions::default()).await.unwrap();
    let stats = project.stats(&SampleFilter::all()).await.unwrap();

    let labels: Vec<_> = stats
        .labels
        .iter()
        .map(|l| (l.label.as_str(), l.count, l.train, l.test, l.total_duration_ms))
        .collect();
    assert_eq!(labels, [("a", 2, 2, 0, 400.0), ("b", 1, 1, 0, 200.0)]);
    let expected: BTreeMap<(Option<&str>, &str), Vec<f64>> = BTreeMap::from([
        ((Some("a"), "x"), vec![0.5, 1.5, 2.5, -1.0]),
        ((Some("a"), "y"), vec![10.0, 20.0, 30.0, 0.0]),
        ((Some("b"), "x"), vec![1.0, 1.0]),
        ((Some("b"), "y"), vec![1.0, -2.0]),
        ((None, "x"), vec![0.5, 1.5, 2.5, -1.0, 1.0, 1.0]),
        ((None, "y"), vec![10.0, 20.0, 30.0, 0.0, 1.0, -2.0]),
    ]);
    let rows: Vec<_> = stats.per_label_axis.iter().chain(&stats.per_axis).collect();
    assert_eq!(rows.len(), expected.len());
    for row in rows {
        let values = &expected[&(row.label.as_deref(), row.axis.as_str())];
        let (mean, std, min, max) = mean_std_min_max(values);
        assert_eq!(row.n_values, values.len(), "{row:?}");
        for (got, want) in [(row.mean, mean), (row.std, std), (row.min, min), (row.max, max)] {
            assert!((got - want).abs() < 1e-12, "{row:?}: {got} != {want}");
        }
    }
    let only_b =
        project.stats(&SampleFilter { label: Some("b".into()), ..Default::default() }).await.unwrap();
    assert_eq!(only_b.labels.len(), 1);
    project.close().await;
}

async fn split_project(dir: PathBuf, files: &[PathBuf]) -> (Project, BTreeMap<String, Split>) {
    let mut project = create_project(&dir).await;
    project.import_files(files, &ImportOptions::default()).await.unwrap();
    let summary = project.auto_split(0.25, 7).await.unwrap();
    assert_eq!(
        summary.per_label,
        vec![("idle".to_string(), 7, 3), ("snake".to_string(), 3, 1), ("wave".to_string(), 5, 2)]
    );
    let splits = project
        .list_samples(&SampleFilter::all())
        .await
        .unwrap()
        .into_iter()
        .map(|i| (i.name, i.split))
        .collect();
    (project, splits)
}

#[tokio::test]
async fn stratified_split_is_deterministic_and_stratified() {
    let temp = tempfile::tempdir().unwrap();
    let inputs = temp.path().join("inputs");
    let mut files = Vec::new();
    for (label_index, (label, count)) in [("idle", 10), ("wave", 7), ("snake", 4)].into_iter().enumerate() {
        for index in 0..count {
            let phase = index as f64 + label_index as f64 * 100.0;
            files.push(write(&inputs, &format!("{label}.{index:02}.csv"), ei_csv(&["x"], 10.0, 20, phase)));
        }
    }
    let (project, first) = split_project(temp.path().join("p1"), &files).await;
    for (label, n_test) in [("idle", 3), ("wave", 2), ("snake", 1)] {
        let test =
            first.iter().filter(|(name, split)| name.starts_with(label) && **split == Split::Test).count();
        assert_eq!(test, n_test, "{label}");
    }
    let again = project.auto_split(0.25, 7).await.unwrap();
    assert_eq!(again.moved, 0, "same seed, same split");

    files.reverse();
    let (other, reversed) = split_project(temp.path().join("p2"), &files).await;
    assert_eq!(reversed, first, "independent of import order and ids");

    project.auto_split(0.25, 8).await.unwrap();
    let reseeded: BTreeMap<String, Split> = project
        .list_samples(&SampleFilter::all())
        .await
        .unwrap()
        .into_iter()
        .map(|i| (i.name, i.split))
        .collect();
    assert_ne!(reseeded, first, "another seed gives another split");
    assert!(project.auto_split(1.5, 1).await.is_err());
    project.close().await;
    other.close().await;
}

#[tokio::test]
async fn dataset_operations_work_and_are_transactional() {
    let temp = tempfile::tempdir().unwrap();
    let inputs = temp.path().join("inputs");
    let files = vec![
        write(&inputs, "long.01.csv", ei_csv(&["accX", "accY"], 10.0, 100, 0.0)),
        write(&inputs, "a.01.csv", ei_csv(&["accX", "accY"], 10.0, 20, 1.0)),
        write(&inputs, "b.01.csv", ei_csv(&["accX", "accY"], 10.0, 20, 2.0)),
        write(&inputs, "x.01.csv", mote_sample("1,1", 100, "accX,accY", &["1,0", "2,0", "3,0", "4,0"])),
        write(&inputs, "y.01.csv", mote_sample("1,1", 100, "accX,accY", &["1,0", "2,0", "3,0", "5,0"])),
        write(
            &inputs,
            "flat.01.csv",
            mote_sample("1,1", 100, "accX,accY", &["7,0", "7,0", "7,0", "7,0", "7,0", "7,0"]),
        ),
    ];
    let mut project = create_project(&temp.path().join("p")).await;
    let ids: Vec<SampleId> = project
        .import_files(&files, &ImportOptions::default())
        .await
        .unwrap()
        .imported
        .iter()
        .map(|s| s.id)
        .collect();
    let [long, a, b, x, y, flat] = ids[..] else { panic!() };
    let missing = SampleId(999);
    let label_of = async |id| project.sample(id).await.unwrap().info.label;

    assert_eq!(project.relabel(&[a, b], "c").await.unwrap(), 2);
    assert_eq!((label_of(a).await, label_of(b).await), ("c".to_string(), "c".to_string()));
    assert!(matches!(
        project.relabel(&[a, missing], "z").await,
        Err(ProjectError::SampleNotFound(SampleId(999)))
    ));
    assert_eq!(label_of(a).await, "c", "a failed relabel changes nothing");
    assert!(project.relabel(&[a], " ").await.is_err());

    project.set_split(&[a], Split::Test).await.unwrap();
    assert!(project.set_split(&[b, missing], Split::Test).await.is_err());
    assert_eq!(project.sample(b).await.unwrap().info.split, Split::Train, "a failed move changes nothing");
    let tests =
        project.list_samples(&SampleFilter { split: Some(Split::Test), ..Default::default() }).await.unwrap();
    assert_eq!(tests.iter().map(|i| i.id).collect::<Vec<_>>(), [a]);

    let original = project.sample(long).await.unwrap();
    let cropped = project.crop(long, 10, 60).await.unwrap();
    assert_eq!(cropped.n_steps, 50);
    assert_ne!(cropped.hash, original.info.hash);
    let after = project.sample(long).await.unwrap();
    assert_eq!(after.recording, original.recording.steps(10, 60));
    assert_eq!(after.recording.content_hash(), after.info.hash);
    assert!(matches!(project.crop(long, 30, 30).await, Err(ProjectError::InvalidArgument(_))));
    assert!(matches!(project.crop(long, 0, 51).await, Err(ProjectError::InvalidArgument(_))));

    project.crop(y, 0, 3).await.unwrap();
    let x_before = project.sample(x).await.unwrap();
    let error = project.crop(x, 0, 3).await.unwrap_err();
    assert!(matches!(&error, ProjectError::Duplicate { existing, .. } if *existing == y), "{error}");
    assert_eq!(project.sample(x).await.unwrap(), x_before, "a refused crop changes nothing");

    let split = project.split_into_windows(long, 20).await.unwrap();
    assert_eq!((split.windows.added.len(), split.dropped_steps), (2, 10));
    let names: Vec<&str> = split.windows.added.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["long.01.01", "long.01.02"]);
    assert!(matches!(project.sample(long).await, Err(ProjectError::SampleNotFound(_))));
    let second = project.sample(split.windows.added[1].id).await.unwrap();
    assert_eq!(second.recording, after.recording.steps(20, 40));
    assert_eq!(second.info.label, "long");
    assert!(project.split_into_windows(a, 21).await.is_err());

    let flat_split = project.split_into_windows(flat, 2).await.unwrap();
    assert_eq!(
        (flat_split.windows.added.len(), flat_split.windows.duplicates.len()),
        (1, 2),
        "identical windows are stored once"
    );

    let count = project.sample_count().await.unwrap();
    assert!(project.delete_samples(&[b, missing]).await.is_err());
    assert_eq!(project.sample_count().await.unwrap(), count, "a failed delete deletes nothing");
    assert_eq!(project.delete_samples(&[b, x]).await.unwrap(), 2);
    assert_eq!(project.sample_count().await.unwrap(), count - 2);
    assert_eq!(project.integrity_check().await.unwrap(), Ok(()));
    project.close().await;
}
