//! Getting data out: Mote's dataset CSV (lossless), Parquet (one wide table, via polars) and Edge
//! Impulse JSON (unsigned).
//!
//! Exports never overwrite: the target must not exist (or be an empty folder). Everything is written
//! under a temporary name next to the target and renamed into place at the end, so an interrupted
//! export leaves no half-written target.

use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde_json::json;

use crate::config::CONFIG_FILE;
use crate::error::ProjectError;
use crate::import::EMPTY_SIGNATURE;
use crate::mote_format;
use crate::project::{Project, run_blocking};
use crate::sample::NewSample;
use crate::sample::{Sample, SampleFilter, Split};

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportReport {
    pub samples: usize,
    /// The folder or file written.
    pub target: PathBuf,
}

impl Project {
    /// Writes the matching samples as a Mote dataset folder (`samples.csv`, `data/*.csv`) plus a copy
    /// of this project's `mote.toml` as the dataset's preset. Lossless: re-importing gives samples
    /// with the same content hashes.
    pub async fn export_dataset(
        &self,
        out_dir: &Path,
        filter: &SampleFilter,
    ) -> Result<ExportReport, ProjectError> {
        let samples = self.load_samples(filter).await?;
        let config_path = self.config_path();
        let count = samples.len();
        let dataset: Vec<NewSample> = samples.into_iter().map(dataset_sample).collect();
        write_folder(out_dir, |temp| {
            mote_format::write_dataset(temp, &dataset)?;
            std::fs::copy(&config_path, temp.join(CONFIG_FILE))?;
            Ok(())
        })?;
        Ok(ExportReport { samples: count, target: out_dir.to_path_buf() })
    }

    /// Writes the matching samples as one Parquet file in the layout of [`samples_frame`].
    pub async fn export_parquet(
        &self,
        path: &Path,
        filter: &SampleFilter,
    ) -> Result<ExportReport, ProjectError> {
        if path.exists() {
            return Err(ProjectError::ExportTargetExists { path: path.to_path_buf() });
        }
        let samples = self.load_samples(filter).await?;
        let count = samples.len();
        let target = path.to_path_buf();
        run_blocking(move || write_parquet(&samples, &target)).await??;
        Ok(ExportReport { samples: count, target: path.to_path_buf() })
    }

    /// Writes the matching samples as Edge Impulse data-acquisition JSON files, unsigned
    /// (`"alg": "none"`, signature of 64 zeros), in `training/` and `testing/` as Edge Impulse's own
    /// export does. File names start with the label (`<label>.<name>.json`, or `<name>.json` when the
    /// name already starts with `<label>.`), so Edge Impulse infers the label from the name.
    pub async fn export_ei_json(
        &self,
        out_dir: &Path,
        filter: &SampleFilter,
    ) -> Result<ExportReport, ProjectError> {
        let samples = self.load_samples(filter).await?;
        let mut taken = std::collections::HashSet::new();
        let mut files = Vec::with_capacity(samples.len());
        for sample in &samples {
            let folder = match sample.info.split {
                Split::Train => "training",
                Split::Test => "testing",
            };
            let prefix = format!("{}.", sample.info.label);
            let stem = if sample.info.name.starts_with(&prefix) {
                sample.info.name.clone()
            } else {
                format!("{prefix}{}", sample.info.name)
            };
            let stem: String = stem
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' })
                .collect();
            let mut file = format!("{folder}/{stem}.json");
            let mut counter = 2;
            while !taken.insert(file.to_lowercase()) {
                file = format!("{folder}/{stem}-{counter}.json");
                counter += 1;
            }
            files.push((file, ei_json_text(sample)));
        }
        write_folder(out_dir, |temp| {
            std::fs::create_dir_all(temp.join("training"))?;
            std::fs::create_dir_all(temp.join("testing"))?;
            for (file, text) in &files {
                std::fs::write(temp.join(file), text)?;
            }
            Ok(())
        })?;
        Ok(ExportReport { samples: samples.len(), target: out_dir.to_path_buf() })
    }
}

fn write_parquet(samples: &[Sample], path: &Path) -> Result<(), ProjectError> {
    let mut frame = samples_frame(samples)?;
    let temp = crate::fs_atomic::temp_name(path);
    let mut write = || -> Result<(), ProjectError> {
        let file = std::fs::File::create(&temp).map_err(|e| ProjectError::io(&temp, e))?;
        ParquetWriter::new(&file).finish(&mut frame)?;
        file.sync_all().map_err(|e| ProjectError::io(&temp, e))?;
        std::fs::rename(&temp, path).map_err(|e| ProjectError::io(path, e))
    };
    if let Err(error) = write() {
        let _ = std::fs::remove_file(&temp);
        return Err(error);
    }
    crate::fs_atomic::sync_parent(path);
    Ok(())
}

fn dataset_sample(sample: Sample) -> NewSample {
    NewSample {
        name: sample.info.name,
        label: sample.info.label,
        split: sample.info.split,
        sensor: sample.info.sensor,
        device: sample.info.device,
        created: Some(sample.info.created),
        recording: sample.recording,
    }
}

/// One sample as Edge Impulse JSON (unsigned). Values are physical (raw × scale).
pub fn ei_json_text(sample: &Sample) -> String {
    let recording = &sample.recording;
    let values: Vec<Vec<f64>> = (0..recording.n_steps())
        .map(|step| (0..recording.n_axes()).map(|axis| recording.value(step, axis)).collect())
        .collect();
    let sensors: Vec<serde_json::Value> =
        recording.axes.iter().map(|axis| json!({ "name": axis.name, "units": axis.unit })).collect();
    let document = json!({
        "protected": { "ver": "v1", "alg": "none" },
        "signature": EMPTY_SIGNATURE,
        "payload": {
            "device_type": sample.info.device,
            "interval_ms": 1000.0 / recording.rate_hz,
            "sensors": sensors,
            "values": values,
        }
    });
    serde_json::to_string(&document).expect("finite numbers serialize")
}

/// The samples as one wide table, one row per time step:
/// `sample_id` (i64), `name`, `label`, `split`, `device` (str), `step` (i64), `time_ms` (f64), then one
/// f64 column per axis name (in order of first appearance; null where a sample lacks that axis).
pub fn samples_frame(samples: &[Sample]) -> PolarsResult<DataFrame> {
    let mut axis_names: Vec<&str> = Vec::new();
    for sample in samples {
        for axis in &sample.recording.axes {
            if !axis_names.contains(&axis.name.as_str()) {
                axis_names.push(&axis.name);
            }
        }
    }
    let height: usize = samples.iter().map(|s| s.recording.n_steps()).sum();
    let mut ids = Vec::with_capacity(height);
    let (mut names, mut labels, mut splits, mut devices) = (
        Vec::with_capacity(height),
        Vec::with_capacity(height),
        Vec::with_capacity(height),
        Vec::with_capacity(height),
    );
    let mut steps = Vec::with_capacity(height);
    let mut times = Vec::with_capacity(height);
    let mut axis_values: Vec<Vec<Option<f64>>> = vec![Vec::with_capacity(height); axis_names.len()];
    for sample in samples {
        let recording = &sample.recording;
        let columns: Vec<Option<usize>> =
            axis_names.iter().map(|name| recording.axes.iter().position(|axis| axis.name == *name)).collect();
        for step in 0..recording.n_steps() {
            ids.push(sample.info.id.0);
            names.push(sample.info.name.as_str());
            labels.push(sample.info.label.as_str());
            splits.push(sample.info.split.as_str());
            devices.push(sample.info.device.as_str());
            steps.push(step as i64);
            times.push(step as f64 * 1000.0 / recording.rate_hz);
            for (values, column) in axis_values.iter_mut().zip(&columns) {
                values.push(column.map(|axis| recording.value(step, axis)));
            }
        }
    }
    let mut columns = vec![
        Column::new("sample_id".into(), ids),
        Column::new("name".into(), names),
        Column::new("label".into(), labels),
        Column::new("split".into(), splits),
        Column::new("device".into(), devices),
        Column::new("step".into(), steps),
        Column::new("time_ms".into(), times),
    ];
    for (name, values) in axis_names.iter().zip(axis_values) {
        columns.push(Column::new((*name).into(), values));
    }
    DataFrame::new(height, columns)
}

/// Builds a folder under a temporary name beside `out_dir`, then renames it into place.
fn write_folder(out_dir: &Path, fill: impl FnOnce(&Path) -> std::io::Result<()>) -> Result<(), ProjectError> {
    let target_exists = out_dir.exists();
    if target_exists {
        let empty = std::fs::read_dir(out_dir).map_err(|e| ProjectError::io(out_dir, e))?.next().is_none();
        if !empty {
            return Err(ProjectError::ExportTargetExists { path: out_dir.to_path_buf() });
        }
    }
    let temp = crate::fs_atomic::temp_name(out_dir);
    let _ = std::fs::remove_dir_all(&temp);
    let result = (|| {
        std::fs::create_dir_all(&temp)?;
        fill(&temp)?;
        if target_exists {
            std::fs::remove_dir(out_dir)?;
        }
        std::fs::rename(&temp, out_dir)
    })();
    if let Err(error) = result {
        let _ = std::fs::remove_dir_all(&temp);
        return Err(ProjectError::io(out_dir, error));
    }
    crate::fs_atomic::sync_parent(out_dir);
    Ok(())
}
