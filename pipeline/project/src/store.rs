//! The `samples` table: rows to and from `SampleInfo`/`Sample`, and the one insert path every write
//! that adds samples goes through (duplicate detection by content hash, unique names).

use std::path::PathBuf;

use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

use crate::error::ProjectError;
use crate::fit::{AdoptedSettings, fit_samples};
use crate::project::Project;
use crate::sample::{
    Axis, ContentHash, NewSample, Recording, Sample, SampleFilter, SampleId, SampleInfo, Split,
};

pub(crate) const INFO_COLUMNS: &str =
    "id, name, label, split, sensor, axes, units, scales, rate_hz, device, created, n_steps, hash";

/// A sample that was added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddedSample {
    pub id: SampleId,
    /// The stored name (the wanted one, or it with `.2`, `.3`, ... appended when it was taken).
    pub name: String,
    /// The file it came from, for imports.
    pub source: Option<PathBuf>,
}

/// A sample that was not added because the project already holds the same data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateSample {
    pub wanted_name: String,
    pub source: Option<PathBuf>,
    pub existing: SampleId,
    pub existing_name: String,
}

/// What an insert did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AddReport {
    pub added: Vec<AddedSample>,
    pub duplicates: Vec<DuplicateSample>,
    /// What a project with no samples took from these (see [`Project::add_samples`]).
    pub adopted: Option<AdoptedSettings>,
}

impl Project {
    pub(crate) fn info_from_row(&self, row: &SqliteRow) -> Result<SampleInfo, ProjectError> {
        let get_text = |column: &str| row.try_get::<String, _>(column).map_err(|e| self.db_error(e));
        let id = SampleId(row.try_get::<i64, _>("id").map_err(|e| self.db_error(e))?);
        let json_list = |column: &str| -> Result<serde_json::Value, ProjectError> {
            serde_json::from_str(&get_text(column)?)
                .map_err(|e| self.corrupt(format!("sample {id}: column {column} is not JSON: {e}")))
        };
        let names: Vec<String> = serde_json::from_value(json_list("axes")?)
            .map_err(|e| self.corrupt(format!("sample {id}: axes: {e}")))?;
        let units: Vec<String> = serde_json::from_value(json_list("units")?)
            .map_err(|e| self.corrupt(format!("sample {id}: units: {e}")))?;
        let scales: Vec<f64> = serde_json::from_value(json_list("scales")?)
            .map_err(|e| self.corrupt(format!("sample {id}: scales: {e}")))?;
        if units.len() != names.len() || scales.len() != names.len() {
            return Err(self.corrupt(format!("sample {id}: axes, units and scales differ in length")));
        }
        let split_text = get_text("split")?;
        let split = Split::parse(&split_text)
            .ok_or_else(|| self.corrupt(format!("sample {id}: split `{split_text}`")))?;
        let n_steps: i64 = row.try_get("n_steps").map_err(|e| self.db_error(e))?;
        Ok(SampleInfo {
            id,
            name: get_text("name")?,
            label: get_text("label")?,
            split,
            sensor: get_text("sensor")?,
            axes: names
                .into_iter()
                .zip(units)
                .zip(scales)
                .map(|((name, unit), scale)| Axis { name, unit, scale })
                .collect(),
            rate_hz: row.try_get("rate_hz").map_err(|e| self.db_error(e))?,
            device: get_text("device")?,
            created: get_text("created")?,
            n_steps: n_steps as usize,
            hash: ContentHash(get_text("hash")?),
        })
    }

    pub(crate) fn sample_from_row(&self, row: &SqliteRow) -> Result<Sample, ProjectError> {
        let info = self.info_from_row(row)?;
        let blob: Vec<u8> = row.try_get("data").map_err(|e| self.db_error(e))?;
        let raw = Recording::raw_from_blob(&blob)
            .filter(|raw| raw.len() == info.n_steps * info.axes.len())
            .ok_or_else(|| {
            self.corrupt(format!("sample {}: data length does not match its shape", info.id))
        })?;
        let recording = Recording { axes: info.axes.clone(), rate_hz: info.rate_hz, raw };
        Ok(Sample { info, recording })
    }

    /// Samples matching `filter`, without their values, by id.
    pub async fn list_samples(&self, filter: &SampleFilter) -> Result<Vec<SampleInfo>, ProjectError> {
        let rows = self.filtered_rows(INFO_COLUMNS, filter).await?;
        rows.iter().map(|row| self.info_from_row(row)).collect()
    }

    /// Samples matching `filter`, with their values, by id.
    pub async fn load_samples(&self, filter: &SampleFilter) -> Result<Vec<Sample>, ProjectError> {
        let rows = self.filtered_rows(&format!("{INFO_COLUMNS}, data"), filter).await?;
        rows.iter().map(|row| self.sample_from_row(row)).collect()
    }

    /// `columns` of the samples matching `filter`, by id.
    async fn filtered_rows(
        &self,
        columns: &str,
        filter: &SampleFilter,
    ) -> Result<Vec<SqliteRow>, ProjectError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {columns} FROM samples
             WHERE (?1 IS NULL OR label = ?1) AND (?2 IS NULL OR split = ?2) AND (?3 IS NULL OR device = ?3)
             ORDER BY id"
        )))
        .bind(filter.label.as_deref())
        .bind(filter.split.map(Split::as_str))
        .bind(filter.device.as_deref())
        .fetch_all(self.pool())
        .await
        .map_err(|e| self.db_error(e))
    }

    /// One sample with its values.
    pub async fn sample(&self, id: SampleId) -> Result<Sample, ProjectError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {INFO_COLUMNS}, data FROM samples WHERE id = ?"
        )))
        .bind(id.0)
        .fetch_optional(self.pool())
        .await
        .map_err(|e| self.db_error(e))?
        .ok_or(ProjectError::SampleNotFound(id))?;
        self.sample_from_row(&row)
    }

    /// Number of samples in the store.
    pub async fn sample_count(&self) -> Result<usize, ProjectError> {
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM samples")
            .fetch_one(self.pool())
            .await
            .map_err(|e| self.db_error(e))?;
        Ok(count as usize)
    }

    /// Adds samples in one transaction (e.g. captured from a board); data already in the project is
    /// reported as a duplicate and not stored again. Samples must fit the project (one sensor, its
    /// axes, one rate); a project with no samples first takes its `[data]` from them, as an import
    /// does (`AddReport::adopted`).
    pub async fn add_samples(&mut self, samples: Vec<NewSample>) -> Result<AddReport, ProjectError> {
        for sample in &samples {
            check_new_sample(sample)?;
        }
        let has_samples = self.sample_count().await? > 0;
        let fitted = fit_samples(self.config(), has_samples, &samples.iter().collect::<Vec<_>>())?;
        let (previous, adopted) = match fitted {
            Some((config, adopted)) => {
                let text = std::fs::read_to_string(self.config_path()).unwrap_or_default();
                (Some(self.replace_config(config, &text)?), Some(adopted))
            }
            None => (None, None),
        };
        let result = self.insert_all(samples.into_iter().map(|s| (None, s)).collect(), &mut |_| {}).await;
        match (result, previous) {
            (Ok(report), _) => Ok(AddReport { adopted, ..report }),
            (Err(error), Some((config, text))) => {
                self.restore_config(config, &text);
                Err(error)
            }
            (Err(error), None) => Err(error),
        }
    }

    /// Inserts in one transaction of its own.
    pub(crate) async fn insert_all(
        &self,
        samples: Vec<(Option<PathBuf>, NewSample)>,
        progress: &mut (dyn FnMut(usize) + Send),
    ) -> Result<AddReport, ProjectError> {
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await.map_err(|e| self.db_error(e))?;
        let report = self.insert_samples(&mut tx, samples, progress).await?;
        tx.commit().await.map_err(|e| self.db_error(e))?;
        Ok(report)
    }

    /// Inserts inside the caller's transaction. `progress` is called after each sample.
    pub(crate) async fn insert_samples(
        &self,
        conn: &mut SqliteConnection,
        samples: Vec<(Option<PathBuf>, NewSample)>,
        progress: &mut (dyn FnMut(usize) + Send),
    ) -> Result<AddReport, ProjectError> {
        let now = self.now();
        let mut report = AddReport::default();
        for (index, (source, sample)) in samples.into_iter().enumerate() {
            let hash = sample.recording.content_hash();
            let existing: Option<(i64, String)> =
                sqlx::query_as("SELECT id, name FROM samples WHERE hash = ?")
                    .bind(&hash.0)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(|e| self.db_error(e))?;
            if let Some((existing, existing_name)) = existing {
                report.duplicates.push(DuplicateSample {
                    wanted_name: sample.name,
                    source,
                    existing: SampleId(existing),
                    existing_name,
                });
                progress(index + 1);
                continue;
            }
            let name = self.free_name(&mut *conn, &sample.name).await?;
            let id = self
                .insert_row(&mut *conn, &name, &sample, &hash, sample.created.as_deref().unwrap_or(&now))
                .await?;
            report.added.push(AddedSample { id, name, source });
            progress(index + 1);
        }
        Ok(report)
    }

    /// `wanted`, or `wanted.2`, `wanted.3`, ... — the first name no sample has.
    pub(crate) async fn free_name(
        &self,
        conn: &mut SqliteConnection,
        wanted: &str,
    ) -> Result<String, ProjectError> {
        let mut candidate = wanted.to_string();
        let mut counter = 2;
        loop {
            let taken: Option<(i64,)> = sqlx::query_as("SELECT id FROM samples WHERE name = ?")
                .bind(&candidate)
                .fetch_optional(&mut *conn)
                .await
                .map_err(|e| self.db_error(e))?;
            if taken.is_none() {
                return Ok(candidate);
            }
            candidate = format!("{wanted}.{counter}");
            counter += 1;
        }
    }

    pub(crate) async fn insert_row(
        &self,
        conn: &mut SqliteConnection,
        name: &str,
        sample: &NewSample,
        hash: &ContentHash,
        created: &str,
    ) -> Result<SampleId, ProjectError> {
        let recording = &sample.recording;
        let names: Vec<&str> = recording.axes.iter().map(|axis| axis.name.as_str()).collect();
        let units: Vec<&str> = recording.axes.iter().map(|axis| axis.unit.as_str()).collect();
        let scales: Vec<f64> = recording.axes.iter().map(|axis| axis.scale).collect();
        let result = sqlx::query(
            "INSERT INTO samples (name, label, split, sensor, axes, units, scales, rate_hz, device, created, n_steps, data, hash)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(name)
        .bind(&sample.label)
        .bind(sample.split.as_str())
        .bind(&sample.sensor)
        .bind(serde_json::to_string(&names).expect("strings serialize"))
        .bind(serde_json::to_string(&units).expect("strings serialize"))
        .bind(serde_json::to_string(&scales).expect("finite numbers serialize"))
        .bind(recording.rate_hz)
        .bind(&sample.device)
        .bind(created)
        .bind(recording.n_steps() as i64)
        .bind(recording.blob())
        .bind(&hash.0)
        .execute(&mut *conn)
        .await
        .map_err(|e| self.db_error(e))?;
        Ok(SampleId(result.last_insert_rowid()))
    }
}

/// What the store requires of a sample, checked before any write.
pub(crate) fn check_new_sample(sample: &NewSample) -> Result<(), ProjectError> {
    let recording = &sample.recording;
    let problem = if sample.name.trim().is_empty() {
        Some("a sample name must not be empty".to_string())
    } else if sample.label.trim().is_empty() {
        Some(format!("sample `{}`: the label must not be empty", sample.name))
    } else if recording.axes.is_empty() {
        Some(format!("sample `{}`: at least one axis is needed", sample.name))
    } else if recording.raw.is_empty() || !recording.raw.len().is_multiple_of(recording.axes.len()) {
        Some(format!("sample `{}`: the values must be a non-empty whole number of time steps", sample.name))
    } else if !(recording.rate_hz.is_finite() && recording.rate_hz > 0.0) {
        Some(format!("sample `{}`: the rate must be > 0 Hz", sample.name))
    } else if recording.axes.iter().any(|axis| !(axis.scale.is_finite() && axis.scale > 0.0)) {
        Some(format!("sample `{}`: every axis scale must be a finite number > 0", sample.name))
    } else {
        None
    };
    match problem {
        Some(problem) => Err(ProjectError::InvalidArgument(problem)),
        None => Ok(()),
    }
}
