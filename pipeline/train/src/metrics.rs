//! What training reports: per-epoch metrics for the progress callback, and the run's history.

use serde::{Deserialize, Serialize};

/// Metrics after one epoch (for k-means: after one Lloyd iteration).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// 1-based epoch (or k-means iteration).
    pub epoch: usize,
    /// Epochs planned (for k-means: the iteration cap).
    pub epochs: usize,
    /// Mean cross-entropy over the epoch's training batches (with dropout active). For k-means:
    /// mean squared distance of the rows to their centroid.
    pub train_loss: f32,
    /// Accuracy over the epoch's training batches; `None` for k-means.
    pub train_accuracy: Option<f32>,
    /// Mean cross-entropy on the validation rows; `None` without a validation set.
    pub validation_loss: Option<f32>,
    /// Accuracy on the validation rows; `None` without a validation set.
    pub validation_accuracy: Option<f32>,
}

/// The record of a training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingHistory {
    /// Metrics of every completed epoch, in order.
    pub epochs: Vec<EpochMetrics>,
    /// The 1-based epoch whose weights the model holds (the best one with early stopping, else the
    /// last).
    pub kept_epoch: usize,
    /// Whether early stopping ended training before the planned epochs.
    pub stopped_early: bool,
    /// Rows used for training.
    pub train_rows: usize,
    /// Rows held out for validation.
    pub validation_rows: usize,
    /// Wall-clock training time in seconds (not part of the determinism guarantee).
    pub seconds: f64,
}

impl TrainingHistory {
    /// The metrics of the epoch whose weights were kept.
    pub fn kept(&self) -> Option<&EpochMetrics> {
        self.epochs.get(self.kept_epoch.checked_sub(1)?)
    }
}
