//! Dataset operations: relabel, move between train and test, delete, crop, split a long recording
//! into windows, stratified automatic split, and statistics (computed with polars).
//!
//! Every operation that writes is one transaction: if any id is unknown or a result would duplicate
//! stored data, nothing changes.

use std::collections::BTreeMap;

use polars::prelude::*;
use sha2::{Digest, Sha256};

use crate::error::ProjectError;
use crate::project::{Project, run_blocking};
use crate::rng::SplitMix64;
use crate::sample::{NewSample, Sample, SampleFilter, SampleId, SampleInfo, Split};
use crate::store::AddReport;

/// Counts per label after an automatic split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitSummary {
    /// (label, train, test), sorted by label.
    pub per_label: Vec<(String, usize, usize)>,
    /// Samples whose split changed.
    pub moved: usize,
}

/// What splitting a recording into windows did.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowSplitReport {
    /// The windows stored (and windows whose data the project already held).
    pub windows: AddReport,
    /// Time steps at the end that did not fill a whole window and were dropped.
    pub dropped_steps: usize,
}

/// Statistics of a set of samples, in physical units.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetStats {
    /// One row per label, sorted by label.
    pub labels: Vec<LabelStats>,
    /// One row per (label, axis), sorted by label then axis name.
    pub per_label_axis: Vec<AxisStats>,
    /// One row per axis over all labels (`label` is `None`), sorted by axis name.
    pub per_axis: Vec<AxisStats>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LabelStats {
    pub label: String,
    pub count: usize,
    pub train: usize,
    pub test: usize,
    pub total_duration_ms: f64,
}

/// Summary of every value of one axis. `std` is the population standard deviation (ddof = 0).
#[derive(Debug, Clone, PartialEq)]
pub struct AxisStats {
    pub label: Option<String>,
    pub axis: String,
    pub n_values: usize,
    pub mean: f64,
    pub std: f64,
    pub min: f64,
    pub max: f64,
}

impl Project {
    /// Gives every sample in `ids` the label `label`. Returns how many samples were changed.
    pub async fn relabel(&self, ids: &[SampleId], label: &str) -> Result<usize, ProjectError> {
        if label.trim().is_empty() {
            return Err(ProjectError::InvalidArgument("the new label must not be empty".into()));
        }
        self.update_each(ids, "UPDATE samples SET label = ?1 WHERE id = ?2", label).await
    }

    /// Moves every sample in `ids` to `split`.
    pub async fn set_split(&self, ids: &[SampleId], split: Split) -> Result<usize, ProjectError> {
        self.update_each(ids, "UPDATE samples SET split = ?1 WHERE id = ?2", split.as_str()).await
    }

    /// Deletes every sample in `ids`.
    pub async fn delete_samples(&self, ids: &[SampleId]) -> Result<usize, ProjectError> {
        self.update_each(ids, "DELETE FROM samples WHERE id = ?2 AND ?1 IS NOT NULL", "").await
    }

    async fn update_each(
        &self,
        ids: &[SampleId],
        statement: &'static str,
        value: &str,
    ) -> Result<usize, ProjectError> {
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await.map_err(|e| self.db_error(e))?;
        for id in ids {
            let result = sqlx::query(statement)
                .bind(value)
                .bind(id.0)
                .execute(&mut *tx)
                .await
                .map_err(|e| self.db_error(e))?;
            if result.rows_affected() == 0 {
                return Err(ProjectError::SampleNotFound(*id)); // dropping `tx` rolls back
            }
        }
        tx.commit().await.map_err(|e| self.db_error(e))?;
        Ok(ids.len())
    }

    /// Keeps time steps `start..end` of sample `id` (same id, name, label; new content hash).
    pub async fn crop(&self, id: SampleId, start: usize, end: usize) -> Result<SampleInfo, ProjectError> {
        let sample = self.sample(id).await?;
        let n_steps = sample.info.n_steps;
        if start >= end || end > n_steps {
            return Err(ProjectError::InvalidArgument(format!(
                "crop range {start}..{end} is not inside sample {id} `{}` (time steps 0..{n_steps}, start < end)",
                sample.info.name
            )));
        }
        let recording = sample.recording.steps(start, end);
        let hash = recording.content_hash();
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await.map_err(|e| self.db_error(e))?;
        let existing: Option<(i64, String)> =
            sqlx::query_as("SELECT id, name FROM samples WHERE hash = ? AND id != ?")
                .bind(&hash.0)
                .bind(id.0)
                .fetch_optional(&mut *tx)
                .await
                .map_err(|e| self.db_error(e))?;
        if let Some((existing, existing_name)) = existing {
            return Err(ProjectError::Duplicate {
                what: format!("sample {id} cropped to {start}..{end}"),
                existing: SampleId(existing),
                existing_name,
            });
        }
        sqlx::query("UPDATE samples SET data = ?, n_steps = ?, hash = ? WHERE id = ?")
            .bind(recording.blob())
            .bind(recording.n_steps() as i64)
            .bind(&hash.0)
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.db_error(e))?;
        tx.commit().await.map_err(|e| self.db_error(e))?;
        Ok(SampleInfo { n_steps: recording.n_steps(), hash, ..sample.info })
    }

    /// Replaces a long recording by consecutive windows of `length_steps` time steps, named
    /// `<name>.01`, `<name>.02`, ... with the same label, split, sensor, device and time. A window
    /// whose data the project already holds is reported as a duplicate, not stored twice.
    pub async fn split_into_windows(
        &self,
        id: SampleId,
        length_steps: usize,
    ) -> Result<WindowSplitReport, ProjectError> {
        let Sample { info, recording } = self.sample(id).await?;
        let n_windows = info.n_steps.checked_div(length_steps).unwrap_or(0);
        if n_windows == 0 {
            return Err(ProjectError::InvalidArgument(format!(
                "window length {length_steps} does not fit sample {id} `{}` ({} time steps); choose 1..={}",
                info.name, info.n_steps, info.n_steps
            )));
        }
        let width = n_windows.to_string().len().max(2);
        let windows: Vec<(Option<std::path::PathBuf>, NewSample)> = (0..n_windows)
            .map(|index| {
                let sample = NewSample {
                    name: format!("{}.{:0width$}", info.name, index + 1),
                    label: info.label.clone(),
                    split: info.split,
                    sensor: info.sensor.clone(),
                    device: info.device.clone(),
                    created: Some(info.created.clone()),
                    recording: recording.steps(index * length_steps, (index + 1) * length_steps),
                };
                (None, sample)
            })
            .collect();
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await.map_err(|e| self.db_error(e))?;
        sqlx::query("DELETE FROM samples WHERE id = ?")
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.db_error(e))?;
        let report = self.insert_samples(&mut tx, windows, &mut |_| {}).await?;
        tx.commit().await.map_err(|e| self.db_error(e))?;
        Ok(WindowSplitReport { windows: report, dropped_steps: info.n_steps - n_windows * length_steps })
    }

    /// Assigns every sample to train or test, stratified by label: within each label, samples are
    /// ordered by content hash, shuffled with a generator seeded from `seed` and the label, and the
    /// first `round(n × test_fraction)` go to test. The result depends only on the data, the labels,
    /// the fraction and the seed — not on ids or import order.
    pub async fn auto_split(&self, test_fraction: f64, seed: u64) -> Result<SplitSummary, ProjectError> {
        if !(0.0..=1.0).contains(&test_fraction) {
            return Err(ProjectError::InvalidArgument(format!(
                "test fraction must be within 0..=1, found {test_fraction}"
            )));
        }
        let mut by_label: BTreeMap<String, Vec<SampleInfo>> = BTreeMap::new();
        for info in self.list_samples(&SampleFilter::all()).await? {
            by_label.entry(info.label.clone()).or_default().push(info);
        }
        let mut changes = Vec::new();
        let mut per_label = Vec::new();
        for (label, mut samples) in by_label {
            samples.sort_by(|a, b| a.hash.cmp(&b.hash));
            let digest = Sha256::digest(label.as_bytes());
            let label_seed = u64::from_le_bytes(digest[..8].try_into().expect("8 bytes"));
            SplitMix64::new(seed ^ label_seed).shuffle(&mut samples);
            let n_test = (samples.len() as f64 * test_fraction).round() as usize;
            for (index, info) in samples.iter().enumerate() {
                let split = if index < n_test { Split::Test } else { Split::Train };
                if info.split != split {
                    changes.push((info.id, split));
                }
            }
            per_label.push((label, samples.len() - n_test, n_test));
        }
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await.map_err(|e| self.db_error(e))?;
        for (id, split) in &changes {
            sqlx::query("UPDATE samples SET split = ? WHERE id = ?")
                .bind(split.as_str())
                .bind(id.0)
                .execute(&mut *tx)
                .await
                .map_err(|e| self.db_error(e))?;
        }
        tx.commit().await.map_err(|e| self.db_error(e))?;
        Ok(SplitSummary { per_label, moved: changes.len() })
    }

    /// Per-label counts and durations, and per-axis value statistics, for samples matching `filter`.
    pub async fn stats(&self, filter: &SampleFilter) -> Result<DatasetStats, ProjectError> {
        let samples = self.load_samples(filter).await?;
        Ok(run_blocking(move || compute_stats(&samples)).await??)
    }
}

/// The statistics, as polars group-bys over a per-sample frame and a long (label, axis, value) frame.
pub fn compute_stats(samples: &[Sample]) -> PolarsResult<DatasetStats> {
    let per_sample = DataFrame::new(
        samples.len(),
        vec![
            Column::new("label".into(), samples.iter().map(|s| s.info.label.as_str()).collect::<Vec<_>>()),
            Column::new("split".into(), samples.iter().map(|s| s.info.split.as_str()).collect::<Vec<_>>()),
            Column::new(
                "duration_ms".into(),
                samples.iter().map(|s| s.info.duration_ms()).collect::<Vec<_>>(),
            ),
        ],
    )?;
    let labels_frame = per_sample
        .lazy()
        .group_by([col("label")])
        .agg([
            len().cast(DataType::Int64).alias("count"),
            col("split").eq(lit("train")).cast(DataType::Int64).sum().alias("train"),
            col("split").eq(lit("test")).cast(DataType::Int64).sum().alias("test"),
            col("duration_ms").sum().alias("total_duration_ms"),
        ])
        .sort(["label"], SortMultipleOptions::default())
        .collect()?;
    let labels = {
        let label = labels_frame.column("label")?.str()?;
        let count = labels_frame.column("count")?.i64()?;
        let train = labels_frame.column("train")?.i64()?;
        let test = labels_frame.column("test")?.i64()?;
        let duration = labels_frame.column("total_duration_ms")?.f64()?;
        (0..labels_frame.height())
            .map(|row| LabelStats {
                label: label.get(row).unwrap_or_default().to_string(),
                count: count.get(row).unwrap_or_default() as usize,
                train: train.get(row).unwrap_or_default() as usize,
                test: test.get(row).unwrap_or_default() as usize,
                total_duration_ms: duration.get(row).unwrap_or_default(),
            })
            .collect()
    };

    let n_values: usize = samples.iter().map(|s| s.recording.raw.len()).sum();
    let mut label_column = Vec::with_capacity(n_values);
    let mut axis_column = Vec::with_capacity(n_values);
    let mut value_column = Vec::with_capacity(n_values);
    for sample in samples {
        let recording = &sample.recording;
        for (axis_index, axis) in recording.axes.iter().enumerate() {
            for step in 0..recording.n_steps() {
                label_column.push(sample.info.label.as_str());
                axis_column.push(axis.name.as_str());
                value_column.push(recording.value(step, axis_index));
            }
        }
    }
    let values = DataFrame::new(
        n_values,
        vec![
            Column::new("label".into(), label_column),
            Column::new("axis".into(), axis_column),
            Column::new("value".into(), value_column),
        ],
    )?;
    let summary = [
        len().cast(DataType::Int64).alias("n_values"),
        col("value").mean().alias("mean"),
        col("value").std(0).alias("std"),
        col("value").min().alias("min"),
        col("value").max().alias("max"),
    ];
    let per_label_axis = values
        .clone()
        .lazy()
        .group_by([col("label"), col("axis")])
        .agg(summary.clone())
        .sort(["label", "axis"], SortMultipleOptions::default())
        .collect()?;
    let per_axis = values
        .lazy()
        .group_by([col("axis")])
        .agg(summary)
        .sort(["axis"], SortMultipleOptions::default())
        .collect()?;
    Ok(DatasetStats { labels, per_label_axis: axis_rows(&per_label_axis)?, per_axis: axis_rows(&per_axis)? })
}

fn axis_rows(frame: &DataFrame) -> PolarsResult<Vec<AxisStats>> {
    let label = match frame.column("label") {
        Ok(column) => Some(column.str()?),
        Err(_) => None,
    };
    let axis = frame.column("axis")?.str()?;
    let n_values = frame.column("n_values")?.i64()?;
    let number = |name: &str| -> PolarsResult<Vec<f64>> {
        let values = frame.column(name)?.f64()?;
        Ok((0..frame.height()).map(|row| values.get(row).unwrap_or(f64::NAN)).collect())
    };
    let (mean, std, min, max) = (number("mean")?, number("std")?, number("min")?, number("max")?);
    Ok((0..frame.height())
        .map(|row| AxisStats {
            label: label.and_then(|label| label.get(row)).map(str::to_string),
            axis: axis.get(row).unwrap_or_default().to_string(),
            n_values: n_values.get(row).unwrap_or_default() as usize,
            mean: mean[row],
            std: std[row],
            min: min[row],
            max: max[row],
        })
        .collect())
}
