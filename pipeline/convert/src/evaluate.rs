//! The int8 model judged against the float one on the same windows, with the runtime the board
//! runs: accuracies (overall and per class), confusion matrices and per-window agreement.

use mote_runtime::{Model, RunError};
use mote_train::{Evaluation, ExportedModel, evaluate};
use serde::{Deserialize, Serialize};

/// Float and int8 results on one set of windows.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub windows: usize,
    pub float: Evaluation,
    pub int8: Evaluation,
    /// Fraction of windows whose top class is the same in both.
    pub agreement: f32,
    /// `float.top1_accuracy − int8.top1_accuracy` (positive = int8 is worse).
    pub accuracy_drop: f32,
    /// Top-1 accuracy of each class, float and int8.
    pub per_class: Vec<ClassComparison>,
}

/// One class's windows, float against int8.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassComparison {
    pub label: String,
    pub windows: usize,
    pub float_accuracy: f32,
    pub int8_accuracy: f32,
}

/// Int8 probabilities of every row (`(score + 128) / 256`), from the runtime on the host.
pub fn int8_probabilities(model: &Model<'_>, features: &[f32]) -> Result<Vec<Vec<f32>>, RunError> {
    let mut arena = vec![0u8; model.arena_len()];
    features
        .chunks_exact(model.n_features().max(1))
        .map(|row| {
            let result = model.classify(row, &mut arena)?;
            Ok((0..result.scores.len()).map(|class| result.probability(class)).collect())
        })
        .collect()
}

/// Compares `float` and the int8 `model` on `features` (row-major raw features) with true
/// class indices `labels`.
pub fn compare(
    float: &ExportedModel,
    model: &Model<'_>,
    features: &[f32],
    labels: &[usize],
    uncertain_threshold: f32,
) -> Result<Comparison, RunError> {
    let n_classes = float.label_names.len();
    let names = float.label_names.clone();
    let float_probabilities: Vec<Vec<f32>> =
        features.chunks_exact(float.n_features.max(1)).map(|row| float.predict_row(row)).collect();
    let int8_probabilities = int8_probabilities(model, features)?;
    let agree = float_probabilities
        .iter()
        .zip(&int8_probabilities)
        .filter(|(f, q)| argmax_f32(f) == argmax_f32(q))
        .count();
    let float = evaluate(&float_probabilities, labels, n_classes, uncertain_threshold);
    let int8 = evaluate(&int8_probabilities, labels, n_classes, uncertain_threshold);
    let windows = labels.len();
    let per_class = per_class(&names, &float_probabilities, &int8_probabilities, labels);
    Ok(Comparison {
        windows,
        accuracy_drop: float.top1_accuracy - int8.top1_accuracy,
        float,
        int8,
        agreement: if windows == 0 { 0.0 } else { agree as f32 / windows as f32 },
        per_class,
    })
}

/// Top-1 accuracy per true class, float and int8.
fn per_class(
    names: &[String],
    float: &[Vec<f32>],
    int8: &[Vec<f32>],
    labels: &[usize],
) -> Vec<ClassComparison> {
    names
        .iter()
        .enumerate()
        .map(|(class, label)| {
            let rows: Vec<usize> = (0..labels.len()).filter(|&row| labels[row] == class).collect();
            let accuracy = |probabilities: &[Vec<f32>]| {
                let correct = rows.iter().filter(|&&row| argmax_f32(&probabilities[row]) == class).count();
                if rows.is_empty() { 0.0 } else { correct as f32 / rows.len() as f32 }
            };
            ClassComparison {
                label: label.clone(),
                windows: rows.len(),
                float_accuracy: accuracy(float),
                int8_accuracy: accuracy(int8),
            }
        })
        .collect()
}

fn argmax_f32(values: &[f32]) -> usize {
    let mut best = 0;
    for (idx, &value) in values.iter().enumerate() {
        if value > values[best] {
            best = idx;
        }
    }
    best
}
