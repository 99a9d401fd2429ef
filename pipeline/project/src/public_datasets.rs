//! Public datasets converted into Mote's dataset format: the UEA/sktime `.ts` reader, and the
//! BasicMotions dataset shipped in `datasets/basic-motions/`.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::csv_text::numbered_lines;
use crate::error::{ImportError, ImportErrorKind, ImportErrors, Location, ProjectError};
use crate::mote_format::write_dataset;
use crate::raw_counts::to_raw_counts;
use crate::sample::NewSample;
use crate::sample::{Axis, Recording, Split};

/// How the dimensions of a `.ts` file become a Mote sample.
#[derive(Debug, Clone, PartialEq)]
pub struct UeaOptions {
    /// One name per dimension, in file order.
    pub axes: Vec<String>,
    /// One unit per dimension ('' when unknown).
    pub units: Vec<String>,
    pub rate_hz: f64,
    pub sensor: String,
    /// Recorded as each sample's device (the source).
    pub device: String,
}

/// What a conversion wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversionReport {
    pub samples: usize,
    /// (label, train, test), sorted by label.
    pub per_label: Vec<(String, usize, usize)>,
}

/// One recording of a `.ts` file: its class label and one series per dimension.
#[derive(Debug, Clone, PartialEq)]
pub struct TsRecording {
    pub label: String,
    pub dimensions: Vec<Vec<f64>>,
    /// The line it came from.
    pub line: usize,
}

/// Reads a UEA/sktime `.ts` file with equal-length series and class labels.
pub fn read_uea_ts(path: &Path) -> Result<Vec<TsRecording>, ImportError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ImportError::new(path, Location::File, ImportErrorKind::Io, format!("cannot read: {e}"))
    })?;
    let bad = |line: usize, message: String| {
        ImportError::new(path, Location::Line { line, column: None }, ImportErrorKind::Dataset, message)
    };
    let mut dimensions: Option<usize> = None;
    let mut series_length: Option<usize> = None;
    let mut class_labels: Option<Vec<String>> = None;
    let mut in_data = false;
    let mut recordings = Vec::new();
    for (line_number, line) in numbered_lines(&text) {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if !in_data {
            let Some(header) = line.strip_prefix('@') else {
                return Err(bad(
                    line_number,
                    format!("expected a `@` header line or `@data`, found `{line}`"),
                ));
            };
            let mut words = header.split_whitespace();
            let key = words.next().unwrap_or_default().to_ascii_lowercase();
            let words: Vec<&str> = words.collect();
            let number = |words: &[&str]| words.first().and_then(|word| word.parse::<usize>().ok());
            match key.as_str() {
                "data" => in_data = true,
                "dimensions" => dimensions = number(&words),
                "serieslength" => series_length = number(&words),
                "classlabel" => {
                    if words.first().map(|w| w.to_ascii_lowercase()) != Some("true".into()) {
                        return Err(bad(
                            line_number,
                            "expected `@classLabel true <labels...>`: recordings need class labels".into(),
                        ));
                    }
                    class_labels = Some(words[1..].iter().map(|w| w.to_string()).collect());
                }
                "timestamps" | "missing" | "univariate" | "equallength" => {
                    let expected = if key == "univariate" { None } else { Some("false") };
                    let value = words.first().map(|w| w.to_ascii_lowercase());
                    let unsupported = match key.as_str() {
                        "equallength" => value.as_deref() != Some("true"),
                        _ => expected.is_some() && value.as_deref() != expected,
                    };
                    if unsupported {
                        return Err(bad(
                            line_number,
                            format!(
                                "unsupported `@{key}` {}: only equal-length series without timestamps or missing values are read",
                                words.join(" ")
                            ),
                        ));
                    }
                }
                _ => {}
            }
            continue;
        }
        let mut parts: Vec<&str> = line.split(':').collect();
        let label = parts.pop().unwrap_or_default().trim().to_string();
        if parts.is_empty() || label.is_empty() {
            return Err(bad(line_number, "expected `<dim 1>:<dim 2>:...:<label>`".into()));
        }
        if let Some(labels) = &class_labels
            && !labels.contains(&label)
        {
            return Err(bad(
                line_number,
                format!("expected a class label from @classLabel ({}), found `{label}`", labels.join(" ")),
            ));
        }
        if let Some(dimensions) = dimensions
            && parts.len() != dimensions
        {
            return Err(bad(line_number, format!("expected {dimensions} dimensions, found {}", parts.len())));
        }
        let mut series = Vec::with_capacity(parts.len());
        for (dimension, part) in parts.iter().enumerate() {
            let values: Result<Vec<f64>, &str> = part
                .split(',')
                .map(|value| value.trim().parse::<f64>().ok().filter(|v| v.is_finite()).ok_or(value))
                .collect();
            let values = values.map_err(|value| {
                bad(line_number, format!("dimension {}: expected a number, found `{value}`", dimension + 1))
            })?;
            if let Some(length) = series_length
                && values.len() != length
            {
                return Err(bad(
                    line_number,
                    format!("dimension {}: expected {length} values, found {}", dimension + 1, values.len()),
                ));
            }
            series.push(values);
        }
        if series.iter().any(|values| values.len() != series[0].len()) {
            return Err(bad(line_number, "expected every dimension to have the same length".into()));
        }
        recordings.push(TsRecording { label, dimensions: series, line: line_number });
    }
    if !in_data {
        return Err(ImportError::new(
            path,
            Location::File,
            ImportErrorKind::Dataset,
            "expected an `@data` line",
        ));
    }
    Ok(recordings)
}

/// Converts a UEA train/test pair into a Mote dataset folder in `out_dir` (created if missing; files
/// of the same name are replaced). Labels are lower-cased; samples are named `<label>.<NN>`, numbered
/// per label in file order, train file first. Values are quantized per sample and axis (see
/// [`crate::quantize`]).
pub fn convert_uea_ts(
    path_train: &Path,
    path_test: &Path,
    out_dir: &Path,
    options: &UeaOptions,
) -> Result<ConversionReport, ProjectError> {
    let samples = uea_samples(path_train, path_test, options)?;
    write_dataset(out_dir, &samples).map_err(|e| ProjectError::io(out_dir, e))?;
    let mut per_label: Vec<(String, usize, usize)> = Vec::new();
    for sample in &samples {
        let index = match per_label.iter().position(|(label, _, _)| *label == sample.label) {
            Some(index) => index,
            None => {
                per_label.push((sample.label.clone(), 0, 0));
                per_label.len() - 1
            }
        };
        match sample.split {
            Split::Train => per_label[index].1 += 1,
            Split::Test => per_label[index].2 += 1,
        }
    }
    per_label.sort();
    Ok(ConversionReport { samples: samples.len(), per_label })
}

fn uea_samples(
    path_train: &Path,
    path_test: &Path,
    options: &UeaOptions,
) -> Result<Vec<NewSample>, ProjectError> {
    let rejected = |error: ImportError| ProjectError::ImportRejected(ImportErrors(vec![error]));
    let mut counters: std::collections::HashMap<String, usize> = Default::default();
    let mut samples = Vec::new();
    for (path, split) in [(path_train, Split::Train), (path_test, Split::Test)] {
        for recording in read_uea_ts(path).map_err(rejected)? {
            if recording.dimensions.len() != options.axes.len() {
                return Err(rejected(ImportError::new(
                    path,
                    Location::Line { line: recording.line, column: None },
                    ImportErrorKind::Dataset,
                    format!(
                        "expected {} dimensions ({}), found {}",
                        options.axes.len(),
                        options.axes.join(", "),
                        recording.dimensions.len()
                    ),
                )));
            }
            let n_axes = recording.dimensions.len();
            let n_steps = recording.dimensions[0].len();
            let interleaved: Vec<f64> = (0..n_steps * n_axes)
                .map(|index| recording.dimensions[index % n_axes][index / n_axes])
                .collect();
            let (raw, scales) = to_raw_counts(&interleaved, n_axes).expect("values were checked finite");
            let label = recording.label.to_lowercase();
            let counter = counters.entry(label.clone()).or_default();
            *counter += 1;
            samples.push(NewSample {
                name: format!("{label}.{counter:02}"),
                label,
                split,
                sensor: options.sensor.clone(),
                device: options.device.clone(),
                created: None,
                recording: Recording {
                    axes: options
                        .axes
                        .iter()
                        .zip(&options.units)
                        .zip(scales)
                        .map(|((name, unit), scale)| Axis { name: name.clone(), unit: unit.clone(), scale })
                        .collect(),
                    rate_hz: options.rate_hz,
                    raw,
                },
            });
        }
    }
    Ok(samples)
}

/// The published sha256 of the BasicMotions source files (`aeon` 1.6.0 / `sktime` 1.2.0 wheels).
pub const BASIC_MOTIONS_SHA256: [(&str, &str); 2] = [
    ("BasicMotions_TRAIN.ts", "8dc43cc6306cb679c888c01e26f91772ac4441a916da43bac8b79734a538b9d6"),
    ("BasicMotions_TEST.ts", "79213102bc6fca1a398ad98ce1185dff0208fa3d1465e687f48288946b0ff8dc"),
];

/// BasicMotions: a smart watch's 3-axis accelerometer then 3-axis gyroscope, 10 Hz.
pub fn basic_motions_options() -> UeaOptions {
    UeaOptions {
        axes: ["accX", "accY", "accZ", "gyrX", "gyrY", "gyrZ"].map(String::from).to_vec(),
        units: vec![String::new(); 6],
        rate_hz: 10.0,
        sensor: "imu".into(),
        device: "uea:BasicMotions".into(),
    }
}

/// sha256 of a file, lowercase hex.
pub fn sha256_file(path: &Path) -> Result<String, ProjectError> {
    let bytes = std::fs::read(path).map_err(|e| ProjectError::io(path, e))?;
    Ok(crate::sample::hex(&Sha256::digest(&bytes)))
}

/// Verifies the BasicMotions `.ts` files in `source_dir` against [`BASIC_MOTIONS_SHA256`] and writes
/// the whole `datasets/basic-motions/` folder into `out_dir`: samples, index, `mote.toml` preset and
/// `README.md`.
pub fn convert_basic_motions(source_dir: &Path, out_dir: &Path) -> Result<ConversionReport, ProjectError> {
    let mut paths: Vec<PathBuf> = Vec::new();
    for (file, expected) in BASIC_MOTIONS_SHA256 {
        let path = source_dir.join(file);
        let actual = sha256_file(&path)?;
        if actual != expected {
            return Err(ProjectError::Checksum { path, expected: expected.into(), actual });
        }
        paths.push(path);
    }
    let report = convert_uea_ts(&paths[0], &paths[1], out_dir, &basic_motions_options())?;
    for (file, text) in
        [("mote.toml", BASIC_MOTIONS_PRESET.to_string()), ("README.md", basic_motions_readme(&report))]
    {
        let path = out_dir.join(file);
        crate::fs_atomic::write(&path, text.as_bytes()).map_err(|e| ProjectError::io(&path, e))?;
    }
    Ok(report)
}

/// The project preset shipped with BasicMotions.
pub const BASIC_MOTIONS_PRESET: &str = r#"# Project preset for the BasicMotions dataset. Importing this folder into a new project (no samples,
# default settings) makes these the project's settings; the project keeps its own name.

[project]
name = "basic-motions"
seed = 42                 # seeds the automatic train/test split and training

[data]
sensor = "imu"            # smart watch: 3-axis accelerometer, then 3-axis gyroscope
axes = ["accX", "accY", "accZ", "gyrX", "gyrY", "gyrZ"]
rate_hz = 10.0
labels = []               # empty = sorted labels found in the data

[window]
length_ms = 10000         # one window = one whole 10 s recording
stride_ms = 10000

[dsp]                     # validated by the DSP crate
block = "flatten"         # per-axis statistics of the whole window: 6 axes x 7 = 42 features
stats = ["mean", "std", "min", "max", "rms", "skewness", "kurtosis"]

[learn]                   # validated by the training crate
block = "dense"
hidden = [30, 16]         # the size of the reference Keras MLP (30-16-4)
epochs = 300
validation_split = 0.1    # 40 training windows: keep most of them for training
"#;

fn basic_motions_readme(report: &ConversionReport) -> String {
    let counts: String = report
        .per_label
        .iter()
        .map(|(label, train, test)| format!("| {label} | {train} | {test} |\n"))
        .collect();
    format!(
        r#"# BasicMotions in Mote's dataset format

Generated by `mote_project::public_datasets::convert_basic_motions` — do not edit by hand; regenerate with

```sh
cargo run -p mote-project --example convert_basic_motions -- datasets/sources/basic-motions datasets/basic-motions
```

A test (`pipeline/project/tests/project/basic_motions.rs`) regenerates this folder from the sources in
`datasets/sources/basic-motions/` and checks that every file here is byte-identical to the output.

## Source

The UEA multivariate time series archive's BasicMotions `.ts` files, exactly as shipped inside the `aeon`
1.6.0 wheel on PyPI (`aeon/datasets/data/BasicMotions/`), also shipped by `sktime` 1.2.0 (same bytes).
Four people wearing a smart watch performed four activities (standing, walking, running, badminton);
the watch recorded a 3-axis accelerometer and a 3-axis gyroscope at 10 Hz for 10 s per recording
(100 time steps × 6 dimensions). The files do not name the dimensions; the first three behave as
accelerometer and the last three as gyroscope (they average about zero), hence the axis names
`accX accY accZ gyrX gyrY gyrZ`. Units are not stated in the archive, so the axes carry no unit.
No separate data licence is stated in the archive.

sha256 of the sources, verified by the conversion before it reads them:

- `BasicMotions_TRAIN.ts`  `{train_sha}`
- `BasicMotions_TEST.ts`   `{test_sha}`

Cite: A. Bagnall et al., "The UEA multivariate time series classification archive, 2018",
arXiv:1811.00075.

## Contents

{samples} samples, the archive's official split (40 train / 40 test), labels lower-cased:

| label | train | test |
|---|---|---|
{counts}
- `samples.csv` — the index: `name,label,split,file`. Samples are named `<label>.<NN>`, numbered per label
  in file order, the training file first (so `.01`–`.10` are train, `.11`–`.20` test).
- `data/<name>.csv` — one recording: header lines, the axis names, then 100 rows of raw `i16` values.
  Physical value = raw × the axis's `scales` entry, a power of two chosen per recording and axis so the
  quantization error is below 1/32767 of that axis's largest magnitude (see `pipeline/project/README.md`).
- `mote.toml` — the project preset: sensor `imu`, those axes, 10 Hz, one 10 s window, `flatten` + `dense`.

Import with `Project::import_dir` (CLI: `mote import datasets/basic-motions`).
"#,
        train_sha = BASIC_MOTIONS_SHA256[0].1,
        test_sha = BASIC_MOTIONS_SHA256[1].1,
        samples = report.samples,
    )
}
