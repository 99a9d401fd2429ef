//! One entry point for every learning block: train what the config says, save and load it.

use std::ops::ControlFlow;
use std::path::Path;
use std::sync::atomic::AtomicBool;

use crate::config::LearnConfig;
use crate::dataset::TrainingSet;
use crate::error::TrainError;
use crate::kmeans::{AnomalyModel, train_anomaly};
use crate::metrics::{EpochMetrics, TrainingHistory};
use crate::model::TrainedModel;
use crate::persist::{self, Sidecar};
use crate::training::train_classifier;

/// A trained learning block of any kind.
#[allow(clippy::large_enum_variant)] // one value per training run; boxing buys nothing
#[derive(Debug, Clone)]
pub enum LearnedBlock {
    /// A dense or conv1d classifier.
    Classifier(TrainedModel),
    /// A k-means anomaly detector.
    Anomaly(AnomalyModel),
}

/// Trains the block `config.block` names on `set`. See [`train_classifier`] and [`train_anomaly`]
/// for the meaning of `cancel` and `progress`.
pub fn train(
    set: &TrainingSet<'_>,
    config: &LearnConfig,
    cancel: &AtomicBool,
    progress: impl FnMut(&EpochMetrics) -> ControlFlow<()>,
) -> Result<LearnedBlock, TrainError> {
    if config.block.is_classifier() {
        train_classifier(set, config, cancel, progress).map(LearnedBlock::Classifier)
    } else {
        train_anomaly(set, config, cancel, progress).map(LearnedBlock::Anomaly)
    }
}

impl LearnedBlock {
    /// The configuration it was trained with.
    pub fn config(&self) -> &LearnConfig {
        match self {
            LearnedBlock::Classifier(model) => model.config(),
            LearnedBlock::Anomaly(model) => model.config(),
        }
    }

    /// Its training history.
    pub fn history(&self) -> &TrainingHistory {
        match self {
            LearnedBlock::Classifier(model) => model.history(),
            LearnedBlock::Anomaly(model) => model.history(),
        }
    }

    /// Saves into the folder `dir` (see [`crate::persist`]).
    pub fn save(&self, dir: &Path) -> Result<(), TrainError> {
        match self {
            LearnedBlock::Classifier(model) => model.save(dir),
            LearnedBlock::Anomaly(model) => model.save(dir),
        }
    }

    /// Loads whatever block `dir` holds.
    pub fn load(dir: &Path) -> Result<Self, TrainError> {
        match persist::read_sidecar(dir)? {
            Sidecar::Classifier(sidecar) => {
                TrainedModel::from_sidecar(dir, sidecar).map(LearnedBlock::Classifier)
            }
            Sidecar::Anomaly(sidecar) => AnomalyModel::from_sidecar(dir, sidecar).map(LearnedBlock::Anomaly),
        }
    }
}
