//! Bad input files are rejected with the file, the line or field, and what was expected — and the
//! project stays exactly as it was: same logical content, no leftover `-wal`/`-shm` files, and
//! `mote.db` and `mote.toml` byte-for-byte identical after a clean close.

use std::path::Path;

use hound::SampleFormat;
use mote_project::{ImportErrorKind, ImportOptions, ProjectError};

use crate::common::*;

struct Case {
    file: &'static str,
    bytes: Vec<u8>,
    kind: ImportErrorKind,
    /// Must appear in the error message, after the file name.
    expected: &'static str,
    hmac_key: Option<&'static str>,
}

fn case(
    file: &'static str,
    bytes: impl Into<Vec<u8>>,
    kind: ImportErrorKind,
    expected: &'static str,
) -> Case {
    Case { file, bytes: bytes.into(), kind, expected, hmac_key: None }
}

fn cases() -> Vec<Case> {
    let good_values = vec![vec![1.0, 2.0, 3.0], vec![1.5, 2.5, 3.5]];
    let sensors = [("accX", "m/s2"), ("accY", "m/s2"), ("accZ", "m/s2")];
    let mut truncated_wav = wav(1, 16, SampleFormat::Int, 16000, 100);
    truncated_wav.truncate(truncated_wav.len() - 51);
    let signed = {
        let unsigned = ei_json(&sensors, 10.0, &good_values).replace("\"alg\":\"none\"", "\"alg\":\"HS256\"");
        let signature = mote_project::import::ei_sign(unsigned.as_bytes(), "right-key");
        unsigned.replace(mote_project::import::EMPTY_SIGNATURE, &signature)
    };
    vec![
        case(
            "row.01.csv",
            "timestamp,accX,accY\n0,1,2\n10,1\n20,3,4\n",
            ImportErrorKind::Csv,
            " line 3: expected 3 fields like the header, found 2",
        ),
        case(
            "steps.01.csv",
            "timestamp,accX\n0,1\n10,1\n20,1\n35,1\n40,1\n",
            ImportErrorKind::Timestamps,
            " line 5, column `timestamp`: expected a constant interval of 10 ms (±1 %), found a step of 15 ms",
        ),
        case(
            "notime.01.csv",
            "time,accX\n0,1\n10,2\n",
            ImportErrorKind::Timestamps,
            " line 1: expected a `timestamp` column (milliseconds) in the header, found columns: time, accX",
        ),
        case(
            "text.01.csv",
            "timestamp,accX,accY\n0,1,2\n10,abc,3\n",
            ImportErrorKind::Value,
            " line 3, column `accX`: expected a number, found `abc`",
        ),
        case(
            "inf.01.csv",
            "timestamp,accX\n0,1\n10,inf\n",
            ImportErrorKind::Value,
            " line 3, column `accX`: expected a number, found `inf`",
        ),
        case(
            "quote.01.csv",
            "timestamp,accX\n0,\"1\n",
            ImportErrorKind::Csv,
            " line 2: expected a closing quote",
        ),
        case(
            "oneline.01.csv",
            "timestamp,accX\n0,1\n",
            ImportErrorKind::Timestamps,
            ": expected at least 2 rows to know the sampling interval, found 1",
        ),
        case(
            "type.01.json",
            ei_json(&sensors, 10.0, &good_values).replace("\"interval_ms\":10.0", "\"interval_ms\":\"10\""),
            ImportErrorKind::Json,
            " field `payload.interval_ms`: expected a number of milliseconds > 0, found a string",
        ),
        case(
            "novalues.01.json",
            ei_json(&sensors, 10.0, &good_values).replace("\"values\":", "\"valuez\":"),
            ImportErrorKind::Json,
            " field `payload.values`: expected a non-empty list of rows, one per interval, the field is missing",
        ),
        case(
            "ragged.01.json",
            ei_json(&sensors, 10.0, &[vec![1.0, 2.0, 3.0], vec![1.0, 2.0]]),
            ImportErrorKind::Json,
            " field `payload.values[1]`: expected 3 numbers (one per sensor), found 2",
        ),
        case(
            "string.01.json",
            ei_json(&sensors, 10.0, &good_values).replace("[1.5,2.5,3.5]", "[1.5,\"2.5\",3.5]"),
            ImportErrorKind::Json,
            " field `payload.values[1][1]`: expected a number, found a string",
        ),
        case(
            "sensor.01.json",
            ei_json(&sensors, 10.0, &good_values).replace("\"name\":\"accY\"", "\"name\":7"),
            ImportErrorKind::Json,
            " field `payload.sensors[1].name`: expected a non-empty string, found a number",
        ),
        case(
            "syntax.01.json",
            "{\"protected\": {\"ver\": \"v1\",\n \"alg\": \"none\"},\n \"payload\": [1, 2,\n",
            ImportErrorKind::Json,
            " line 4: expected valid JSON: EOF while parsing a value (column 0)",
        ),
        case(
            "root.01.json",
            "[1, 2, 3]",
            ImportErrorKind::Json,
            " field `(root)`: expected an object with `protected`, `signature` and `payload`, found a list",
        ),
        case(
            "cut.01.wav",
            truncated_wav,
            ImportErrorKind::Wav,
            " frame 74: expected 100 frames as the header says, the data ends early",
        ),
        case(
            "eight.01.wav",
            wav(1, 8, SampleFormat::Int, 8000, 10),
            ImportErrorKind::Wav,
            ": expected 16-bit PCM mono, found 8-bit PCM with 1 channel",
        ),
        case(
            "stereo.01.wav",
            wav(2, 16, SampleFormat::Int, 8000, 10),
            ImportErrorKind::Wav,
            ": expected 16-bit PCM mono, found 16-bit PCM with 2 channels",
        ),
        case(
            "float.01.wav",
            wav(1, 32, SampleFormat::Float, 8000, 10),
            ImportErrorKind::Wav,
            ": expected 16-bit PCM mono, found 32-bit float with 1 channel",
        ),
        case("garbage.01.wav", "RIFX not a wav at all", ImportErrorKind::Wav, ": expected a RIFF/WAVE file"),
        case("empty.01.csv", "", ImportErrorKind::Empty, ": expected data, the file is empty"),
        case(
            "notes.01.txt",
            "hello",
            ImportErrorKind::UnknownFormat,
            ": expected a .csv (Edge Impulse or Mote), .json (Edge Impulse) or .wav file, found `.txt`",
        ),
        case(
            "range.01.csv",
            "# mote-sample 1\n# sensor: imu\n# rate_hz: 10\n# scales: 1,1\naccX,accY\n1,2\n40000,3\n",
            ImportErrorKind::Value,
            " line 7, column `accX`: expected an integer in -32768..=32767, found `40000`",
        ),
        case(
            "header.01.csv",
            "# mote-sample 1\n# sensor: imu\n# rate: 10\n# scales: 1\naccX\n1\n",
            ImportErrorKind::Dataset,
            " line 3: unknown header key `rate`",
        ),
        Case {
            file: "signed.01.json",
            bytes: signed.replace("[1.5,2.5,3.5]", "[1.5,2.5,3.6]").into_bytes(),
            kind: ImportErrorKind::Signature,
            expected: " field `signature`: HMAC-SHA256 mismatch",
            hmac_key: Some("right-key"),
        },
        Case {
            file: "wrongkey.01.json",
            bytes: signed.clone().into_bytes(),
            kind: ImportErrorKind::Signature,
            expected: " field `signature`: HMAC-SHA256 mismatch",
            hmac_key: Some("wrong-key"),
        },
        Case {
            file: "unsigned.01.json",
            bytes: ei_json(&sensors, 10.0, &good_values).into_bytes(),
            kind: ImportErrorKind::Signature,
            expected: " field `protected.alg`: expected a signed file (\"HS256\") because an HMAC key was given, found \"none\"",
            hmac_key: Some("right-key"),
        },
    ]
}

/// A project holding one sample, closed; returns its snapshot.
async fn prepared_project(dir: &Path, inputs: &Path) -> ((Vec<String>, String, String), Vec<String>) {
    let mut project = create_project(dir).await;
    let first = write(inputs, "idle.00.csv", ei_csv(&["accX", "accY"], 10.0, 50, 0.0));
    project.import_files(&[first], &ImportOptions::default()).await.unwrap();
    let logical = logical_snapshot(&project).await;
    project.close().await;
    (file_snapshot(dir), logical)
}

#[tokio::test]
async fn malformed_files_are_rejected_and_change_nothing() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("project");
    let inputs = temp.path().join("inputs");
    let (files_before, logical_before) = prepared_project(&dir, &inputs).await;
    assert_eq!(files_before.0, vec!["mote.db", "mote.toml"], "a clean close leaves no -wal/-shm");

    let cases = cases();
    assert!(cases.len() >= 10);
    for case in cases {
        let good = write(&inputs, "wave.01.csv", ei_csv(&["accX", "accY"], 10.0, 40, 1.0));
        let bad = write(&inputs, case.file, &case.bytes);
        let mut project = open_project(&dir).await;
        let options =
            ImportOptions { hmac_key: case.hmac_key.map(str::to_string), ..ImportOptions::default() };
        let error = project.import_files(&[good, bad.clone()], &options).await.unwrap_err();
        let ProjectError::ImportRejected(errors) = &error else {
            panic!("{}: expected a rejected import, got {error:?}", case.file)
        };
        assert_eq!(errors.0.len(), 1, "{}: only the bad file is reported: {error}", case.file);
        let message = errors.0[0].to_string();
        let expected = format!("{}{}", bad.display(), case.expected);
        assert!(
            message.starts_with(&expected),
            "{}:\n  got      `{message}`\n  expected `{expected}...`",
            case.file
        );
        assert_eq!(errors.0[0].kind, case.kind, "{}: {message}", case.file);
        assert!(error.to_string().contains("nothing was written"), "{error}");

        assert_eq!(
            logical_snapshot(&project).await,
            logical_before,
            "{}: logical content changed",
            case.file
        );
        project.close().await;
        assert_eq!(file_snapshot(&dir), files_before, "{}: project files changed", case.file);
    }
}

#[tokio::test]
async fn every_bad_file_of_a_folder_is_reported_and_nothing_is_written() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("project");
    let inputs = temp.path().join("inputs");
    let (files_before, _) = prepared_project(&dir, &inputs).await;

    let folder = temp.path().join("folder");
    for index in 0..5 {
        write(&folder, &format!("walk.{index:02}.csv"), ei_csv(&["accX"], 20.0, 30, index as f64));
    }
    write(&folder, "walk.07.csv", "timestamp,accX\n0,1\n20,x\n");
    write(&folder, "training/run.01.json", "{");
    let mut project = open_project(&dir).await;
    let error = project.import_dir(&folder, &ImportOptions::default()).await.unwrap_err();
    let ProjectError::ImportRejected(errors) = &error else { panic!("{error:?}") };
    let files: Vec<String> =
        errors.0.iter().map(|e| e.file.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(files, vec!["walk.07.csv", "run.01.json"], "{error}");
    assert!(error.to_string().contains("(and 1 more bad file)"), "{error}");
    project.close().await;
    assert_eq!(file_snapshot(&dir), files_before);

    // A Mote dataset whose index names a missing file.
    let dataset = temp.path().join("dataset");
    write(
        &dataset,
        "samples.csv",
        "name,label,split,file\na.01,a,train,data/a.01.csv\nb.01,b,test,data/b.01.csv\n",
    );
    write(&dataset, "data/a.01.csv", "# mote-sample 1\n# sensor: imu\n# rate_hz: 10\n# scales: 1\nx\n1\n");
    let mut project = open_project(&dir).await;
    let error = project.import_dir(&dataset, &ImportOptions::default()).await.unwrap_err().to_string();
    let expected = format!(
        "{} line 3, column `file`: expected an existing file, `data/b.01.csv` is missing",
        dataset.join("samples.csv").display()
    );
    assert!(error.contains(&expected), "{error}");
    project.close().await;
    assert_eq!(file_snapshot(&dir), files_before);
}
