//! The models a project stores: the newest, one by id, and the int8 blob it is deployed as.

use std::path::PathBuf;

use mote_project::runs::StoredModel;
use mote_project::{Project, ProjectError};
use mote_runtime::{BlobError, Model};

/// File name of the model blob in a model's folder.
pub const BLOB_FILE: &str = "model.mote";

/// What training records with a model (kept as JSON beside it). Fields a model from an older
/// Mote lacks read as empty.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct ModelMetrics {
    pub labels: Vec<String>,
    pub train_windows: usize,
    /// Float accuracy on the test split, when it had windows.
    pub test_accuracy: Option<f32>,
    pub int8_test_accuracy: Option<f32>,
    /// Share of test windows where float and int8 agree.
    pub int8_agreement: Option<f32>,
    pub blob_bytes: Option<usize>,
    pub arena_bytes: Option<usize>,
    /// Each activation tensor's int8 quantization as calibrated (range, scale, zero point, the
    /// share of the min/max range kept): input first, then every layer's output.
    pub int8_tensors: Vec<mote_convert::TensorQuant>,
}

impl ModelMetrics {
    /// The metrics stored with `model`.
    pub fn of(model: &StoredModel) -> Result<ModelMetrics, ModelError> {
        serde_json::from_value(model.metrics.clone())
            .map_err(|source| ModelError::Metrics { model: model.id.0, source })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(transparent)]
    Project(#[from] ProjectError),
    #[error("the project has no trained model yet; train one first")]
    NoModel,
    #[error("there is no model {0} in this project")]
    UnknownModel(i64),
    #[error("model {0} has no int8 blob (it was trained before Mote quantized models); train again")]
    NoBlob(i64),
    #[error("cannot read the blob of model {model} ({}): {source}", path.display())]
    Read { model: i64, path: PathBuf, source: std::io::Error },
    #[error("the blob of model {model} ({}) is damaged: {source}; train again", path.display())]
    Damaged { model: i64, path: PathBuf, source: BlobError },
    #[error("the metrics stored with model {model} cannot be read: {source}")]
    Metrics { model: i64, source: serde_json::Error },
}

impl ModelError {
    pub fn code(&self) -> &'static str {
        match self {
            ModelError::Project(error) => error.code(),
            ModelError::NoModel => "train.no_model",
            ModelError::UnknownModel(_) => "train.unknown_model",
            ModelError::NoBlob(_) => "train.no_blob",
            ModelError::Read { .. } => "model.read",
            ModelError::Damaged { .. } => "model.damaged",
            ModelError::Metrics { .. } => "model.metrics",
        }
    }
}

/// The newest model of the project.
pub async fn latest_model(project: &Project) -> Result<StoredModel, ModelError> {
    project.list_models().await?.into_iter().max_by_key(|m| m.id.0).ok_or(ModelError::NoModel)
}

/// Model `id`, or the newest when `None`.
pub async fn find_model(project: &Project, id: Option<i64>) -> Result<StoredModel, ModelError> {
    match id {
        None => latest_model(project).await,
        Some(id) => project
            .list_models()
            .await?
            .into_iter()
            .find(|m| m.id.0 == id)
            .ok_or(ModelError::UnknownModel(id)),
    }
}

/// The checked blob of a stored model (`None` = the newest). A model without a blob file was
/// trained before Mote quantized models; a file that cannot be read or does not parse says so.
pub async fn model_blob(project: &Project, id: Option<i64>) -> Result<(StoredModel, Vec<u8>), ModelError> {
    let stored = find_model(project, id).await?;
    let model = stored.id.0;
    let path = project.model_dir(&stored).join(BLOB_FILE);
    let blob = match std::fs::read(&path) {
        Ok(blob) => blob,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Err(ModelError::NoBlob(model)),
        Err(source) => return Err(ModelError::Read { model, path, source }),
    };
    if let Err(source) = Model::parse(&blob) {
        return Err(ModelError::Damaged { model, path, source });
    }
    Ok((stored, blob))
}
