//! The on-disk form of a trained block: a folder with a JSON sidecar (`model.json`: config,
//! architecture, normalisation, label names, metrics; for k-means also the centroids) and, for
//! classifiers, burn's weights record (`weights.bpk`, burn's "burnpack" format).

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::LearnConfig;
use crate::error::TrainError;
use crate::metrics::TrainingHistory;
use crate::network::Architecture;
use crate::normalise::Normalisation;

/// The sidecar's file name inside a model folder.
pub const SIDECAR_FILE: &str = "model.json";
/// The burn weights record's file name inside a classifier's folder.
pub const WEIGHTS_FILE: &str = "weights.bpk";
/// Version of the sidecar layout; bumped when a field changes meaning.
pub const FORMAT_VERSION: u32 = 1;

/// What `model.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Sidecar {
    Classifier(ClassifierSidecar),
    Anomaly(AnomalySidecar),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ClassifierSidecar {
    pub format_version: u32,
    pub config: LearnConfig,
    pub architecture: Architecture,
    pub normalisation: Normalisation,
    pub label_names: Vec<String>,
    pub history: TrainingHistory,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AnomalySidecar {
    pub format_version: u32,
    pub config: LearnConfig,
    pub normalisation: Normalisation,
    /// `clusters × n_features`, row-major, in normalised feature space.
    pub centroids: Vec<f32>,
    pub radii: Vec<f32>,
    pub history: TrainingHistory,
}

pub(crate) fn write_sidecar(dir: &Path, sidecar: &Sidecar) -> Result<(), TrainError> {
    fs::create_dir_all(dir).map_err(|source| TrainError::Io { path: dir.to_path_buf(), source })?;
    let path = dir.join(SIDECAR_FILE);
    let json = serde_json::to_vec_pretty(sidecar)
        .map_err(|source| TrainError::Sidecar { path: path.clone(), source })?;
    fs::write(&path, json).map_err(|source| TrainError::Io { path, source })
}

pub(crate) fn read_sidecar(dir: &Path) -> Result<Sidecar, TrainError> {
    let path = dir.join(SIDECAR_FILE);
    let bytes = fs::read(&path).map_err(|source| TrainError::Io { path: path.clone(), source })?;
    let sidecar: Sidecar = serde_json::from_slice(&bytes)
        .map_err(|source| TrainError::Sidecar { path: path.clone(), source })?;
    let version = match &sidecar {
        Sidecar::Classifier(classifier) => classifier.format_version,
        Sidecar::Anomaly(anomaly) => anomaly.format_version,
    };
    if version != FORMAT_VERSION {
        return Err(TrainError::ModelFormat {
            path,
            message: format!("format_version {version}; this build reads {FORMAT_VERSION}"),
        });
    }
    Ok(sidecar)
}

pub(crate) fn sidecar_path(dir: &Path) -> PathBuf {
    dir.join(SIDECAR_FILE)
}
