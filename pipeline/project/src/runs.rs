//! Training runs (configuration, status, per-epoch and final metrics, artifact paths) and stored
//! models (`models/<id>/` in the project folder).
//!
//! A model's files are written under a temporary folder name, renamed to `models/<id>/`, and only then
//! is its row committed: a kill at any point leaves either no model or a complete one. A folder left by
//! a kill between the rename and the commit has no row and is replaced when that id is used again.

use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::Value;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use crate::error::ProjectError;
use crate::project::Project;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RunId(pub i64);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ModelId(pub i64);

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for ModelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    Running,
    Completed,
    Cancelled,
    Failed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Completed => "completed",
            RunStatus::Cancelled => "cancelled",
            RunStatus::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<RunStatus> {
        [RunStatus::Running, RunStatus::Completed, RunStatus::Cancelled, RunStatus::Failed]
            .into_iter()
            .find(|status| status.as_str() == text)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct EpochMetrics {
    pub epoch: u32,
    pub metrics: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TrainingRun {
    pub id: RunId,
    pub created: String,
    pub finished: Option<String>,
    pub config: Value,
    pub status: RunStatus,
    /// By epoch number.
    pub epochs: Vec<EpochMetrics>,
    pub final_metrics: Option<Value>,
    /// Relative to the project folder.
    pub artifacts: Vec<PathBuf>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoredModel {
    pub id: ModelId,
    pub run: Option<RunId>,
    pub created: String,
    pub kind: String,
    /// Folder relative to the project: `models/<id>`.
    pub path: PathBuf,
    pub metrics: Value,
}

/// A file to store with a model: a plain file name (no folders) and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactFile {
    pub name: String,
    pub bytes: Vec<u8>,
}

impl Project {
    /// Records the start of a training run with its configuration.
    pub async fn start_run(&self, config: &Value) -> Result<RunId, ProjectError> {
        let result =
            sqlx::query("INSERT INTO training_runs (created, config, status) VALUES (?, ?, 'running')")
                .bind(self.now())
                .bind(config.to_string())
                .execute(self.pool())
                .await
                .map_err(|e| self.db_error(e))?;
        Ok(RunId(result.last_insert_rowid()))
    }

    /// Records (or replaces) the metrics of one epoch.
    pub async fn record_epoch(&self, run: RunId, epoch: u32, metrics: &Value) -> Result<(), ProjectError> {
        self.run_exists(run).await?;
        sqlx::query("INSERT OR REPLACE INTO run_epochs (run_id, epoch, metrics) VALUES (?, ?, ?)")
            .bind(run.0)
            .bind(i64::from(epoch))
            .bind(metrics.to_string())
            .execute(self.pool())
            .await
            .map_err(|e| self.db_error(e))?;
        Ok(())
    }

    /// Ends a run with its status, final metrics and artifact paths (relative to the project).
    pub async fn finish_run(
        &self,
        run: RunId,
        status: RunStatus,
        final_metrics: Option<&Value>,
        artifacts: &[PathBuf],
    ) -> Result<(), ProjectError> {
        let artifacts: Vec<String> =
            artifacts.iter().map(|path| path.to_string_lossy().into_owned()).collect();
        let result = sqlx::query(
            "UPDATE training_runs SET status = ?, finished = ?, final_metrics = ?, artifacts = ? WHERE id = ?",
        )
        .bind(status.as_str())
        .bind(self.now())
        .bind(final_metrics.map(Value::to_string))
        .bind(serde_json::to_string(&artifacts).expect("strings serialize"))
        .bind(run.0)
        .execute(self.pool())
        .await
        .map_err(|e| self.db_error(e))?;
        if result.rows_affected() == 0 {
            return Err(ProjectError::RunNotFound(run.0));
        }
        Ok(())
    }

    pub async fn run(&self, id: RunId) -> Result<TrainingRun, ProjectError> {
        let row = sqlx::query("SELECT * FROM training_runs WHERE id = ?")
            .bind(id.0)
            .fetch_optional(self.pool())
            .await
            .map_err(|e| self.db_error(e))?
            .ok_or(ProjectError::RunNotFound(id.0))?;
        self.run_from_row(&row).await
    }

    /// Every run, oldest first.
    pub async fn list_runs(&self) -> Result<Vec<TrainingRun>, ProjectError> {
        let rows = sqlx::query("SELECT * FROM training_runs ORDER BY id")
            .fetch_all(self.pool())
            .await
            .map_err(|e| self.db_error(e))?;
        let mut runs = Vec::with_capacity(rows.len());
        for row in &rows {
            runs.push(self.run_from_row(row).await?);
        }
        Ok(runs)
    }

    async fn run_exists(&self, run: RunId) -> Result<(), ProjectError> {
        let found: Option<(i64,)> = sqlx::query_as("SELECT id FROM training_runs WHERE id = ?")
            .bind(run.0)
            .fetch_optional(self.pool())
            .await
            .map_err(|e| self.db_error(e))?;
        found.map(|_| ()).ok_or(ProjectError::RunNotFound(run.0))
    }

    async fn run_from_row(&self, row: &SqliteRow) -> Result<TrainingRun, ProjectError> {
        let id = RunId(row.try_get("id").map_err(|e| self.db_error(e))?);
        let json = |text: String, what: &str| {
            serde_json::from_str::<Value>(&text).map_err(|e| self.corrupt(format!("run {id}: {what}: {e}")))
        };
        let status: String = row.try_get("status").map_err(|e| self.db_error(e))?;
        let final_metrics: Option<String> = row.try_get("final_metrics").map_err(|e| self.db_error(e))?;
        let artifacts: Vec<String> =
            serde_json::from_str(&row.try_get::<String, _>("artifacts").map_err(|e| self.db_error(e))?)
                .map_err(|e| self.corrupt(format!("run {id}: artifacts: {e}")))?;
        let epoch_rows: Vec<(i64, String)> =
            sqlx::query_as("SELECT epoch, metrics FROM run_epochs WHERE run_id = ? ORDER BY epoch")
                .bind(id.0)
                .fetch_all(self.pool())
                .await
                .map_err(|e| self.db_error(e))?;
        let mut epochs = Vec::with_capacity(epoch_rows.len());
        for (epoch, metrics) in epoch_rows {
            epochs.push(EpochMetrics { epoch: epoch as u32, metrics: json(metrics, "epoch metrics")? });
        }
        Ok(TrainingRun {
            id,
            created: row.try_get("created").map_err(|e| self.db_error(e))?,
            finished: row.try_get("finished").map_err(|e| self.db_error(e))?,
            config: json(row.try_get("config").map_err(|e| self.db_error(e))?, "config")?,
            status: RunStatus::parse(&status)
                .ok_or_else(|| self.corrupt(format!("run {id}: status `{status}`")))?,
            epochs,
            final_metrics: final_metrics.map(|text| json(text, "final metrics")).transpose()?,
            artifacts: artifacts.into_iter().map(PathBuf::from).collect(),
        })
    }

    /// Stores a model's files in `models/<id>/` and its row, atomically (see the module docs).
    pub async fn save_model(
        &self,
        run: Option<RunId>,
        kind: &str,
        files: &[ArtifactFile],
        metrics: &Value,
    ) -> Result<StoredModel, ProjectError> {
        for file in files {
            let plain = Path::new(&file.name).file_name().is_some_and(|name| name == file.name.as_str());
            if !plain || file.name.starts_with('.') {
                return Err(ProjectError::InvalidArgument(format!(
                    "model file name `{}` must be a plain file name (no folders, not hidden)",
                    file.name
                )));
            }
        }
        if let Some(run) = run {
            self.run_exists(run).await?;
        }
        let models = self.dir().join("models");
        std::fs::create_dir_all(&models).map_err(|e| ProjectError::io(&models, e))?;

        let created = self.now();
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await.map_err(|e| self.db_error(e))?;
        // Holding the write lock, no other process is between its own temp folder and its commit.
        remove_stale_temp_folders(&models);
        let result =
            sqlx::query("INSERT INTO models (run_id, created, kind, path, metrics) VALUES (?, ?, ?, '', ?)")
                .bind(run.map(|run| run.0))
                .bind(&created)
                .bind(kind)
                .bind(metrics.to_string())
                .execute(&mut *tx)
                .await
                .map_err(|e| self.db_error(e))?;
        let id = ModelId(result.last_insert_rowid());
        let relative = PathBuf::from("models").join(id.0.to_string());
        sqlx::query("UPDATE models SET path = ? WHERE id = ?")
            .bind(relative.to_string_lossy().as_ref())
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.db_error(e))?;

        let final_dir = self.dir().join(&relative);
        let temp_dir = models.join(format!(".tmp-{}-{}", id.0, std::process::id()));
        let written = (|| -> std::io::Result<()> {
            std::fs::create_dir_all(&temp_dir)?;
            for file in files {
                crate::fs_atomic::write(&temp_dir.join(&file.name), &file.bytes)?;
            }
            if final_dir.exists() {
                // Left by a process killed after its rename but before its commit: it has no row.
                std::fs::remove_dir_all(&final_dir)?;
            }
            std::fs::rename(&temp_dir, &final_dir)?;
            crate::fs_atomic::sync_parent(&final_dir);
            Ok(())
        })();
        if let Err(error) = written {
            let _ = std::fs::remove_dir_all(&temp_dir);
            return Err(ProjectError::io(&final_dir, error));
        }
        if let Err(error) = tx.commit().await {
            let _ = std::fs::remove_dir_all(&final_dir);
            return Err(self.db_error(error));
        }
        Ok(StoredModel { id, run, created, kind: kind.to_string(), path: relative, metrics: metrics.clone() })
    }

    /// Every stored model, oldest first.
    pub async fn list_models(&self) -> Result<Vec<StoredModel>, ProjectError> {
        let rows: Vec<(i64, Option<i64>, String, String, String, String)> =
            sqlx::query_as("SELECT id, run_id, created, kind, path, metrics FROM models ORDER BY id")
                .fetch_all(self.pool())
                .await
                .map_err(|e| self.db_error(e))?;
        rows.into_iter()
            .map(|(id, run, created, kind, path, metrics)| {
                Ok(StoredModel {
                    id: ModelId(id),
                    run: run.map(RunId),
                    created,
                    kind,
                    path: PathBuf::from(path),
                    metrics: serde_json::from_str(&metrics)
                        .map_err(|e| self.corrupt(format!("model {id}: metrics: {e}")))?,
                })
            })
            .collect()
    }

    /// The absolute folder of a stored model.
    pub fn model_dir(&self, model: &StoredModel) -> PathBuf {
        self.dir().join(&model.path)
    }
}

/// Removes `models/.tmp-*` folders left by killed saves (best effort; call with the write lock held).
fn remove_stale_temp_folders(models: &Path) {
    let Ok(entries) = std::fs::read_dir(models) else { return };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(".tmp-") {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
