//! Impulse searches and their trials. The settings, impulses and results are JSON this crate
//! does not read: the engine's tuner owns their meaning. A trial is written once, when it has
//! finished, so a search stopped at any point resumes with every finished trial kept.

use serde_json::Value;
use sqlx::Row;

use crate::error::ProjectError;
use crate::project::Project;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TuneId(pub i64);

/// A search: its settings as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredTune {
    pub id: TuneId,
    pub created: String,
    pub key: String,
    pub settings: Value,
}

/// A finished trial of a search.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredTrial {
    pub key: String,
    pub created: String,
    pub impulse: Value,
    /// `completed` or `failed`.
    pub completed: bool,
    pub result: Value,
}

impl Project {
    /// The newest search with settings `key`, or a new one with `settings`.
    pub async fn find_or_start_tune(&self, key: &str, settings: &Value) -> Result<StoredTune, ProjectError> {
        match self.tune_by_key(key).await? {
            Some(tune) => Ok(tune),
            None => self.start_tune(key, settings).await,
        }
    }

    /// A search started anew even when one with the same settings exists.
    pub async fn start_tune(&self, key: &str, settings: &Value) -> Result<StoredTune, ProjectError> {
        let created = self.now();
        let result = sqlx::query("INSERT INTO tunes (created, key, settings) VALUES (?, ?, ?)")
            .bind(&created)
            .bind(key)
            .bind(settings.to_string())
            .execute(self.pool())
            .await
            .map_err(|e| self.db_error(e))?;
        Ok(StoredTune {
            id: TuneId(result.last_insert_rowid()),
            created,
            key: key.into(),
            settings: settings.clone(),
        })
    }

    async fn tune_by_key(&self, key: &str) -> Result<Option<StoredTune>, ProjectError> {
        let row = sqlx::query(
            "SELECT id, created, key, settings FROM tunes WHERE key = ? ORDER BY id DESC LIMIT 1",
        )
        .bind(key)
        .fetch_optional(self.pool())
        .await
        .map_err(|e| self.db_error(e))?;
        row.map(|row| self.tune_from_row(&row)).transpose()
    }

    /// The newest search, if any.
    pub async fn latest_tune(&self) -> Result<Option<StoredTune>, ProjectError> {
        let row = sqlx::query("SELECT id, created, key, settings FROM tunes ORDER BY id DESC LIMIT 1")
            .fetch_optional(self.pool())
            .await
            .map_err(|e| self.db_error(e))?;
        row.map(|row| self.tune_from_row(&row)).transpose()
    }

    fn tune_from_row(&self, row: &sqlx::sqlite::SqliteRow) -> Result<StoredTune, ProjectError> {
        let id = TuneId(row.try_get("id").map_err(|e| self.db_error(e))?);
        let settings: String = row.try_get("settings").map_err(|e| self.db_error(e))?;
        Ok(StoredTune {
            id,
            created: row.try_get("created").map_err(|e| self.db_error(e))?,
            key: row.try_get("key").map_err(|e| self.db_error(e))?,
            settings: serde_json::from_str(&settings)
                .map_err(|e| self.corrupt(format!("tune {}: settings: {e}", id.0)))?,
        })
    }

    /// Records a finished trial (a trial already recorded under `key` is kept as it was).
    pub async fn record_trial(
        &self,
        tune: TuneId,
        key: &str,
        impulse: &Value,
        completed: bool,
        result: &Value,
    ) -> Result<(), ProjectError> {
        sqlx::query(
            "INSERT OR IGNORE INTO tune_trials (tune_id, key, created, impulse, status, result) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(tune.0)
        .bind(key)
        .bind(self.now())
        .bind(impulse.to_string())
        .bind(if completed { "completed" } else { "failed" })
        .bind(result.to_string())
        .execute(self.pool())
        .await
        .map_err(|e| self.db_error(e))?;
        Ok(())
    }

    /// Replaces a finished trial's result (e.g. with figures measured on a board afterwards).
    pub async fn update_trial(&self, tune: TuneId, key: &str, result: &Value) -> Result<(), ProjectError> {
        sqlx::query("UPDATE tune_trials SET result = ? WHERE tune_id = ? AND key = ?")
            .bind(result.to_string())
            .bind(tune.0)
            .bind(key)
            .execute(self.pool())
            .await
            .map_err(|e| self.db_error(e))?;
        Ok(())
    }

    /// A search's finished trials, in the order they finished.
    pub async fn tune_trials(&self, tune: TuneId) -> Result<Vec<StoredTrial>, ProjectError> {
        let rows = sqlx::query(
            "SELECT key, created, impulse, status, result FROM tune_trials WHERE tune_id = ? ORDER BY rowid",
        )
        .bind(tune.0)
        .fetch_all(self.pool())
        .await
        .map_err(|e| self.db_error(e))?;
        rows.iter()
            .map(|row| {
                let key: String = row.try_get("key").map_err(|e| self.db_error(e))?;
                let json = |column: &str| -> Result<Value, ProjectError> {
                    let text: String = row.try_get(column).map_err(|e| self.db_error(e))?;
                    serde_json::from_str(&text)
                        .map_err(|e| self.corrupt(format!("trial {key}: {column}: {e}")))
                };
                let status: String = row.try_get("status").map_err(|e| self.db_error(e))?;
                Ok(StoredTrial {
                    created: row.try_get("created").map_err(|e| self.db_error(e))?,
                    impulse: json("impulse")?,
                    completed: status == "completed",
                    result: json("result")?,
                    key,
                })
            })
            .collect()
    }
}
