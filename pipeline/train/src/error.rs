//! Errors of this crate: bad configuration, bad training data, cancellation, and model files.

use std::path::PathBuf;

/// A learning-block configuration that cannot be used. Each variant names the offending field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A field has a value outside its range.
    #[error("learn.{field}: {reason}")]
    InvalidValue {
        /// The field's name as written in `mote.toml`'s `[learn]` table.
        field: &'static str,
        /// What the value must be.
        reason: String,
    },
}

/// Why training, prediction or loading a model failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrainError {
    /// The configuration is not usable.
    #[error(transparent)]
    Config(#[from] ConfigError),

    /// The feature matrix, labels or shape do not fit together.
    #[error("training data: {0}")]
    Data(String),

    /// The network does not fit the input: e.g. the convolutions and poolings shrink the time
    /// axis to nothing. Use fewer conv blocks, a smaller kernel or pool, or longer windows.
    #[error("the network does not fit the input: {0}")]
    Architecture(String),

    /// Training stopped because the caller asked (progress callback returned `Break`, or the cancel
    /// flag was set). No model is returned.
    #[error("training was cancelled after {epochs_completed} complete epoch(s); no model was stored")]
    Cancelled {
        /// Epochs fully completed before the cancel was seen.
        epochs_completed: usize,
    },

    /// The training loss became infinite or NaN. Lower `learning_rate`, or check the features for
    /// extreme values.
    #[error("training diverged in epoch {epoch} (loss is not a number); lower learning_rate")]
    Diverged {
        /// The epoch whose loss was not finite.
        epoch: usize,
    },

    /// A model file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },

    /// A model's JSON sidecar could not be read or written.
    #[error("{path}: {source}")]
    Sidecar {
        /// The sidecar file.
        path: PathBuf,
        /// The underlying error.
        source: serde_json::Error,
    },

    /// burn could not save or load the weights record, or the record does not match the model
    /// described by the sidecar.
    #[error("{path}: weights record: {message}")]
    Record {
        /// The record file.
        path: PathBuf,
        /// burn's description of the problem.
        message: String,
    },

    /// The files in a model folder do not describe a model this version can load.
    #[error("{path}: {message}")]
    ModelFormat {
        /// The file that was wrong.
        path: PathBuf,
        /// What was wrong.
        message: String,
    },
}

impl TrainError {
    /// A stable code for the CLI's `--json` output and the app, so they never match messages.
    pub fn code(&self) -> &'static str {
        match self {
            TrainError::Config(_) => "train.config",
            TrainError::Data(_) => "train.data",
            TrainError::Architecture(_) => "train.architecture",
            TrainError::Cancelled { .. } => "train.cancelled",
            TrainError::Diverged { .. } => "train.diverged",
            TrainError::Io { .. } => "train.io",
            TrainError::Sidecar { .. } => "train.sidecar",
            TrainError::Record { .. } => "train.record",
            TrainError::ModelFormat { .. } => "train.model_format",
        }
    }

    /// Whether this error means the caller cancelled training.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, TrainError::Cancelled { .. })
    }
}
