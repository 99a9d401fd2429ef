//! Errors of this crate: what went wrong, in which file, where in it, and what was expected.
//!
//! Every error has a stable `code()` so the CLI's `--json` output and the app can tell errors apart
//! without matching message text.

use std::path::PathBuf;

pub use mote_formats::error::{ImportError, ImportErrorKind, ImportErrors, Location};

use crate::sample::SampleId;

/// A problem in `mote.toml`.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Not valid TOML.
    #[error("{}: {message}", path.display())]
    Syntax { path: PathBuf, line: Option<usize>, message: String },
    /// A key is missing, of the wrong type, or out of range.
    #[error("{}{}: `{key}`: expected {expected}", path.display(), line.map(|l| format!(" line {l}")).unwrap_or_default())]
    Invalid { path: PathBuf, line: Option<usize>, key: String, expected: String },
    /// A key this crate does not know in a table it owns (likely a typo).
    #[error("{}{}: unknown key `{key}` (expected one of: {known})", path.display(), line.map(|l| format!(" line {l}")).unwrap_or_default())]
    UnknownKey { path: PathBuf, line: Option<usize>, key: String, known: String },
}

impl ConfigError {
    pub fn code(&self) -> &'static str {
        match self {
            ConfigError::Syntax { .. } => "config.syntax",
            ConfigError::Invalid { .. } => "config.invalid",
            ConfigError::UnknownKey { .. } => "config.unknown_key",
        }
    }
}

/// Any failure of a project operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProjectError {
    /// `Project::open` on a folder that does not hold a project.
    #[error("{} is not a Mote project: {missing} not found (create one with `mote init`)", dir.display())]
    NotAProject { dir: PathBuf, missing: &'static str },
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// An import was rejected; nothing was written.
    #[error("{0}")]
    ImportRejected(ImportErrors),
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}: database error: {source}", path.display())]
    Database { path: PathBuf, source: sqlx::Error },
    /// The database schema could not be brought up to date (e.g. made by a newer Mote).
    #[error("{}: cannot update the database schema: {source} (was this project made by a newer Mote?)", path.display())]
    Migrate { path: PathBuf, source: sqlx::migrate::MigrateError },
    /// The database holds a value this version cannot read.
    #[error("{}: sample store is corrupt: {detail}", path.display())]
    Corrupt { path: PathBuf, detail: String },
    #[error("no sample with id {0}")]
    SampleNotFound(SampleId),
    #[error("no training run with id {0}")]
    RunNotFound(i64),
    /// A request whose arguments make no sense (an empty label, a crop range past the end, ...).
    #[error("{0}")]
    InvalidArgument(String),
    /// The operation would store data that is already in the project.
    #[error("{what} has the same data as sample {existing} (`{existing_name}`); nothing was changed")]
    Duplicate { what: String, existing: SampleId, existing_name: String },
    /// Exports never overwrite: the target must not exist or be an empty folder.
    #[error("{}: export target exists and is not empty; choose a new folder or remove it", path.display())]
    ExportTargetExists { path: PathBuf },
    #[error("dataframe error: {0}")]
    Frame(#[from] polars::error::PolarsError),
    /// The system has no per-user data directory (no home directory).
    #[error("cannot find a data directory for the default project (no home directory?); pass a folder")]
    NoDataDir,
    /// The runtime shut down while the operation was running; nothing was written.
    #[error("interrupted: the async runtime shut down during the operation; nothing was written")]
    Interrupted,
    /// A sample does not fit the project: one sensor, its axes and one rate per project.
    #[error(
        "`{sample}` does not fit this project ({reason}); its samples are {project}. Nothing was \
         stored: start a new project for this data"
    )]
    DataMismatch { sample: String, reason: String, project: String },
    /// Samples for a project with none disagree among themselves.
    #[error(
        "`{sample}` does not fit with `{first}` ({reason}); `{first}` is {data}. A project keeps \
         one sensor and rate, so nothing was stored"
    )]
    MixedData { sample: String, reason: String, first: String, data: String },
    /// A source file's checksum does not match the one that was published for it.
    #[error("{}: sha256 is {actual}, expected {expected}", path.display())]
    Checksum { path: PathBuf, expected: String, actual: String },
}

impl ProjectError {
    /// A stable code for programs (CLI `--json`, the app).
    pub fn code(&self) -> &'static str {
        match self {
            ProjectError::NotAProject { .. } => "project.not_a_project",
            ProjectError::Config(error) => error.code(),
            ProjectError::ImportRejected(errors) => errors.0.first().map_or("import", |e| e.code()),
            ProjectError::Io { .. } => "project.io",
            ProjectError::Database { .. } => "project.database",
            ProjectError::Migrate { .. } => "project.schema",
            ProjectError::Corrupt { .. } => "project.corrupt",
            ProjectError::SampleNotFound(_) => "project.sample_not_found",
            ProjectError::RunNotFound(_) => "project.run_not_found",
            ProjectError::InvalidArgument(_) => "project.invalid_argument",
            ProjectError::Duplicate { .. } => "project.duplicate",
            ProjectError::ExportTargetExists { .. } => "export.target_exists",
            ProjectError::Frame(_) => "project.frame",
            ProjectError::NoDataDir => "project.no_data_dir",
            ProjectError::Interrupted => "project.interrupted",
            ProjectError::Checksum { .. } => "dataset.checksum",
            ProjectError::DataMismatch { .. } => "project.data_mismatch",
            ProjectError::MixedData { .. } => "project.mixed_data",
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ProjectError::Io { path: path.into(), source }
    }
}
