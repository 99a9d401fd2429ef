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
    /// Which part of the run this epoch belongs to.
    #[serde(default, skip_serializing_if = "Stage::is_model")]
    pub stage: Stage,
}

/// The parts of a training run, in order: a teacher (when distilling), the model, and the
/// fine-tuning after each pruning step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Stage {
    /// Training the teacher that the model is distilled from.
    Teacher,
    /// Training the model itself.
    #[default]
    Model,
    /// Fine-tuning after pruning step `step` (1-based).
    Prune { step: usize },
}

impl Stage {
    fn is_model(&self) -> bool {
        *self == Stage::Model
    }
}

/// One step of structured pruning: the network's size after it and how well it does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PruneStep {
    /// 0 is the trained network before pruning.
    pub step: usize,
    /// Filters of each conv block.
    pub conv_filters: Vec<usize>,
    /// Neurons of each hidden dense layer.
    pub hidden: Vec<usize>,
    /// Multiply-accumulates per inference.
    pub macs: usize,
    /// Weights and biases.
    pub parameters: usize,
    /// Validation accuracy after fine-tuning (training accuracy without a validation set).
    pub accuracy: Option<f32>,
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
    /// Augmented rows trained on (copies of training rows only).
    #[serde(default)]
    pub augmented_rows: usize,
    /// With pruning: the network before pruning (step 0) and after each step.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pruning: Vec<PruneStep>,
}

impl TrainingHistory {
    /// The metrics of the epoch whose weights were kept.
    pub fn kept(&self) -> Option<&EpochMetrics> {
        self.epochs.get(self.kept_epoch.checked_sub(1)?)
    }
}
