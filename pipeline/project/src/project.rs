//! `Project`: a folder holding `mote.toml` and `mote.db` — opening, creating, settings, closing.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::clock::{Clock, SystemClock, format_utc};
use crate::config::{CONFIG_FILE, ProjectConfig};
use crate::error::ProjectError;

/// The file name of the sample store inside a project folder.
pub const DATABASE_FILE: &str = "mote.db";

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// An open project. Every write is one SQLite transaction; close with [`Project::close`] so the
/// write-ahead log is folded back into `mote.db`.
pub struct Project {
    dir: PathBuf,
    pool: SqlitePool,
    config: ProjectConfig,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Project {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Project")
            .field("dir", &self.dir)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Project {
    /// `<data_local_dir>/mote` (e.g. `~/.local/share/mote`): what belongs to no one project —
    /// the default project, a gateway's outbox.
    pub fn data_dir() -> Result<PathBuf, ProjectError> {
        let dirs = directories::ProjectDirs::from("", "", "mote").ok_or(ProjectError::NoDataDir)?;
        Ok(dirs.data_local_dir().to_path_buf())
    }

    /// `<data_local_dir>/mote/projects/default` (e.g. `~/.local/share/mote/projects/default`).
    pub fn default_dir() -> Result<PathBuf, ProjectError> {
        Ok(Project::data_dir()?.join("projects").join("default"))
    }

    /// Opens the project in `dir`; errors with [`ProjectError::NotAProject`] when `dir` lacks
    /// `mote.toml` or `mote.db`.
    pub async fn open(dir: impl AsRef<Path>) -> Result<Project, ProjectError> {
        Project::open_with_clock(dir, Arc::new(SystemClock)).await
    }

    /// [`Project::open`] with the clock that stamps new samples, runs and models.
    pub async fn open_with_clock(
        dir: impl AsRef<Path>,
        clock: Arc<dyn Clock>,
    ) -> Result<Project, ProjectError> {
        let dir = dir.as_ref().to_path_buf();
        for missing in [CONFIG_FILE, DATABASE_FILE] {
            if !dir.join(missing).is_file() {
                return Err(ProjectError::NotAProject { dir, missing });
            }
        }
        let config = read_config(&dir)?;
        let pool = connect(&dir, false).await?;
        Ok(Project { dir, pool, config, clock })
    }

    /// Creates a project in `dir` (made if missing) with `config`, or the default settings named
    /// after the folder. Errors if `dir` already holds `mote.toml` or `mote.db`.
    pub async fn create(
        dir: impl AsRef<Path>,
        config: Option<ProjectConfig>,
        clock: Arc<dyn Clock>,
    ) -> Result<Project, ProjectError> {
        let dir = dir.as_ref().to_path_buf();
        for existing in [CONFIG_FILE, DATABASE_FILE] {
            if dir.join(existing).exists() {
                return Err(ProjectError::InvalidArgument(format!(
                    "{} already holds a project ({existing} exists); open it instead",
                    dir.display()
                )));
            }
        }
        Project::create_missing(dir, config, clock).await
    }

    /// Opens the project in `dir`, first creating whatever of it is missing (the folder, a default
    /// `mote.toml` named after the folder, an empty `mote.db`).
    pub async fn open_or_create(dir: impl AsRef<Path>) -> Result<Project, ProjectError> {
        Project::open_or_create_with_clock(dir, Arc::new(SystemClock)).await
    }

    pub async fn open_or_create_with_clock(
        dir: impl AsRef<Path>,
        clock: Arc<dyn Clock>,
    ) -> Result<Project, ProjectError> {
        Project::create_missing(dir.as_ref().to_path_buf(), None, clock).await
    }

    async fn create_missing(
        dir: PathBuf,
        config: Option<ProjectConfig>,
        clock: Arc<dyn Clock>,
    ) -> Result<Project, ProjectError> {
        std::fs::create_dir_all(&dir).map_err(|e| ProjectError::io(&dir, e))?;
        let config_path = dir.join(CONFIG_FILE);
        if !config_path.exists() {
            let text = match config {
                Some(config) => {
                    config.validate(&config_path)?;
                    config.to_toml()
                }
                None => ProjectConfig::default_text(&default_name(&dir)),
            };
            crate::fs_atomic::write(&config_path, text.as_bytes())
                .map_err(|e| ProjectError::io(&config_path, e))?;
        }
        let config = read_config(&dir)?;
        let pool = connect(&dir, true).await?;
        Ok(Project { dir, pool, config, clock })
    }

    /// Closes the store: waits for every connection to close, which checkpoints the write-ahead log
    /// into `mote.db` and removes `mote.db-wal` and `mote.db-shm`.
    pub async fn close(self) {
        self.pool.close().await;
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn config(&self) -> &ProjectConfig {
        &self.config
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.join(CONFIG_FILE)
    }

    pub fn database_path(&self) -> PathBuf {
        self.dir.join(DATABASE_FILE)
    }

    /// Validates `config` and writes it to `mote.toml`, keeping the comments and layout of the file
    /// as it is on disk now.
    pub fn save_config(&mut self, config: ProjectConfig) -> Result<(), ProjectError> {
        let path = self.config_path();
        config.validate(&path)?;
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        let text = config.render_onto(&current)?;
        if text != current {
            crate::fs_atomic::write(&path, text.as_bytes()).map_err(|e| ProjectError::io(&path, e))?;
        }
        self.config = config;
        Ok(())
    }

    /// Writes `config` rendered onto `onto` (a `mote.toml` text whose comments and layout to keep)
    /// and makes it current; returns the settings and file text it replaced, for
    /// [`Project::restore_config`].
    pub(crate) fn replace_config(
        &mut self,
        config: ProjectConfig,
        onto: &str,
    ) -> Result<(ProjectConfig, String), ProjectError> {
        let path = self.config_path();
        config.validate(&path)?;
        let previous = std::fs::read_to_string(&path).map_err(|e| ProjectError::io(&path, e))?;
        let text = config.render_onto(onto)?;
        crate::fs_atomic::write(&path, text.as_bytes()).map_err(|e| ProjectError::io(&path, e))?;
        Ok((std::mem::replace(&mut self.config, config), previous))
    }

    /// Puts back what [`Project::replace_config`] replaced, after the write it was for failed.
    pub(crate) fn restore_config(&mut self, config: ProjectConfig, text: &str) {
        let _ = crate::fs_atomic::write(&self.config_path(), text.as_bytes());
        self.config = config;
    }

    /// Re-reads `mote.toml` (after a person edited it).
    pub fn reload_config(&mut self) -> Result<&ProjectConfig, ProjectError> {
        self.config = read_config(&self.dir)?;
        Ok(&self.config)
    }

    /// Runs SQLite's `PRAGMA integrity_check`; `Ok(())` when it answers `ok`, else the problems.
    pub async fn integrity_check(&self) -> Result<Result<(), Vec<String>>, ProjectError> {
        let rows: Vec<(String,)> = sqlx::query_as("PRAGMA integrity_check")
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.db_error(e))?;
        let problems: Vec<String> = rows.into_iter().map(|(row,)| row).filter(|row| row != "ok").collect();
        Ok(if problems.is_empty() { Ok(()) } else { Err(problems) })
    }

    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub(crate) fn now(&self) -> String {
        format_utc(self.clock.now())
    }

    pub(crate) fn db_error(&self, source: sqlx::Error) -> ProjectError {
        ProjectError::Database { path: self.database_path(), source }
    }

    pub(crate) fn corrupt(&self, detail: impl Into<String>) -> ProjectError {
        ProjectError::Corrupt { path: self.database_path(), detail: detail.into() }
    }
}

/// Runs CPU-bound or blocking work (file parsing, polars) off the async threads. polars also needs
/// this: it blocks in place internally, which tokio forbids on a current-thread runtime. A panic in
/// `work` is resumed in the caller.
pub(crate) async fn run_blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ProjectError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(value) => Ok(value),
        Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
        Err(_) => Err(ProjectError::Interrupted),
    }
}

fn default_name(dir: &Path) -> String {
    dir.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .filter(|n| !n.is_empty())
        .unwrap_or("default".into())
}

fn read_config(dir: &Path) -> Result<ProjectConfig, ProjectError> {
    let path = dir.join(CONFIG_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| ProjectError::io(&path, e))?;
    Ok(ProjectConfig::parse(&text, &path)?)
}

async fn connect(dir: &Path, create: bool) -> Result<SqlitePool, ProjectError> {
    let path = dir.join(DATABASE_FILE);
    let options = SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(create)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await
        .map_err(|source| ProjectError::Database { path: path.clone(), source })?;
    if let Err(source) = MIGRATOR.run(&pool).await {
        pool.close().await;
        return Err(ProjectError::Migrate { path, source });
    }
    Ok(pool)
}
