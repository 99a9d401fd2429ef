//! Evaluation of a classifier's probabilities against true labels: accuracy, confusion matrix,
//! per-class precision/recall/F1, and an "uncertain" threshold.
//!
//! A window whose top probability is below the threshold is **uncertain**: it gets no predicted
//! class. The confusion matrix counts only certain windows; uncertain ones are counted per true
//! class beside it. Per class `c`: `TP` = certain windows of class `c` predicted `c`;
//! precision = `TP / (certain windows predicted c)`; recall = `TP / (all windows of class c)` — an
//! uncertain window is a miss for recall. With threshold 0 nothing is uncertain and these are the
//! usual definitions.

use serde::{Deserialize, Serialize};

use crate::training::argmax;

/// Precision, recall and F1 of one class (0 where undefined, e.g. nothing predicted).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    /// `TP / predicted`.
    pub precision: f32,
    /// `TP / support` (uncertain windows count as misses).
    pub recall: f32,
    /// Harmonic mean of precision and recall.
    pub f1: f32,
    /// Windows whose true class this is.
    pub support: usize,
}

/// The evaluation of a set of windows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// The threshold used.
    pub uncertain_threshold: f32,
    /// Windows evaluated.
    pub total: usize,
    /// Windows whose top probability was below the threshold.
    pub uncertain: usize,
    /// Correct among the certain windows / certain windows (0 if none is certain).
    pub accuracy_certain: f32,
    /// Correct certain windows / all windows (an uncertain window counts as not correct).
    pub accuracy_all: f32,
    /// Top-1 accuracy over all windows, ignoring the threshold.
    pub top1_accuracy: f32,
    /// `confusion[true][predicted]`, certain windows only.
    pub confusion: Vec<Vec<usize>>,
    /// Uncertain windows per true class.
    pub uncertain_per_class: Vec<usize>,
    /// Metrics per class, in class order.
    pub per_class: Vec<ClassMetrics>,
    /// Unweighted mean F1 over classes with support.
    pub macro_f1: f32,
}

/// Evaluates `probabilities` (one row of `n_classes` per window) against `labels`.
///
/// # Panics
/// If the numbers of rows and labels differ, a row has not `n_classes` values, or a label is out of
/// range.
pub fn evaluate(
    probabilities: &[Vec<f32>],
    labels: &[usize],
    n_classes: usize,
    uncertain_threshold: f32,
) -> Evaluation {
    assert_eq!(probabilities.len(), labels.len(), "one label per window");
    let mut confusion = vec![vec![0usize; n_classes]; n_classes];
    let mut uncertain_per_class = vec![0usize; n_classes];
    let mut top1_correct = 0usize;
    for (row, &label) in probabilities.iter().zip(labels) {
        assert_eq!(row.len(), n_classes, "one probability per class");
        let predicted = argmax(row);
        top1_correct += usize::from(predicted == label);
        if row[predicted] < uncertain_threshold {
            uncertain_per_class[label] += 1;
        } else {
            confusion[label][predicted] += 1;
        }
    }
    let mut evaluation = from_confusion(confusion, uncertain_per_class, uncertain_threshold);
    evaluation.top1_accuracy = ratio(top1_correct, labels.len());
    evaluation
}

/// Builds every metric from a confusion matrix (`[true][predicted]`, certain windows) and the
/// uncertain counts per true class. `top1_accuracy` is set to `accuracy_certain` (the matrix alone
/// does not know the uncertain windows' top guesses).
pub fn from_confusion(
    confusion: Vec<Vec<usize>>,
    uncertain_per_class: Vec<usize>,
    uncertain_threshold: f32,
) -> Evaluation {
    let n_classes = confusion.len();
    let certain: usize = confusion.iter().flatten().sum();
    let uncertain: usize = uncertain_per_class.iter().sum();
    let correct: usize = (0..n_classes).map(|c| confusion[c][c]).sum();
    let per_class: Vec<ClassMetrics> = (0..n_classes)
        .map(|c| {
            let true_positive = confusion[c][c];
            let predicted: usize = confusion.iter().map(|row| row[c]).sum();
            let support = confusion[c].iter().sum::<usize>() + uncertain_per_class[c];
            let precision = ratio(true_positive, predicted);
            let recall = ratio(true_positive, support);
            let f1 =
                if precision + recall > 0.0 { 2.0 * precision * recall / (precision + recall) } else { 0.0 };
            ClassMetrics { precision, recall, f1, support }
        })
        .collect();
    let supported: Vec<f32> = per_class.iter().filter(|m| m.support > 0).map(|m| m.f1).collect();
    Evaluation {
        uncertain_threshold,
        total: certain + uncertain,
        uncertain,
        accuracy_certain: ratio(correct, certain),
        accuracy_all: ratio(correct, certain + uncertain),
        top1_accuracy: ratio(correct, certain),
        macro_f1: if supported.is_empty() {
            0.0
        } else {
            supported.iter().sum::<f32>() / supported.len() as f32
        },
        confusion,
        uncertain_per_class,
        per_class,
    }
}

fn ratio(numerator: usize, denominator: usize) -> f32 {
    if denominator == 0 { 0.0 } else { numerator as f32 / denominator as f32 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f32, b: f32) -> bool {
        (a - b).abs() < 1e-6
    }

    /// Three classes, ten windows, worked by hand:
    ///
    /// | true \ predicted | 0 | 1 | 2 | uncertain |
    /// |---|---|---|---|---|
    /// | 0 | 2 | 1 | 0 | 1 |
    /// | 1 | 0 | 3 | 0 | 0 |
    /// | 2 | 1 | 0 | 1 | 1 |
    #[test]
    fn hand_made_confusion() {
        let windows: [(&[f32], usize); 10] = [
            (&[0.9, 0.05, 0.05], 0),
            (&[0.8, 0.1, 0.1], 0),
            (&[0.2, 0.7, 0.1], 0),
            (&[0.4, 0.35, 0.25], 0), // uncertain; top guess right
            (&[0.1, 0.8, 0.1], 1),
            (&[0.0, 1.0, 0.0], 1),
            (&[0.2, 0.6, 0.2], 1),
            (&[0.7, 0.1, 0.2], 2),
            (&[0.1, 0.1, 0.8], 2),
            (&[0.3, 0.3, 0.4], 2), // uncertain; top guess right
        ];
        let probabilities: Vec<Vec<f32>> = windows.iter().map(|(p, _)| p.to_vec()).collect();
        let labels: Vec<usize> = windows.iter().map(|(_, l)| *l).collect();
        let evaluation = evaluate(&probabilities, &labels, 3, 0.5);

        assert_eq!(evaluation.confusion, vec![vec![2, 1, 0], vec![0, 3, 0], vec![1, 0, 1]]);
        assert_eq!(evaluation.uncertain_per_class, vec![1, 0, 1]);
        assert_eq!((evaluation.total, evaluation.uncertain), (10, 2));
        assert!(close(evaluation.accuracy_certain, 6.0 / 8.0));
        assert!(close(evaluation.accuracy_all, 6.0 / 10.0));
        assert!(close(evaluation.top1_accuracy, 8.0 / 10.0));

        let expected = [(2.0 / 3.0, 2.0 / 4.0, 4), (3.0 / 4.0, 1.0, 3), (1.0, 1.0 / 3.0, 3)];
        for (metrics, (precision, recall, support)) in evaluation.per_class.iter().zip(expected) {
            assert!(close(metrics.precision, precision) && close(metrics.recall, recall), "{metrics:?}");
            assert!(close(metrics.f1, 2.0 * precision * recall / (precision + recall)));
            assert_eq!(metrics.support, support);
        }
        let macro_f1 = evaluation.per_class.iter().map(|m| m.f1).sum::<f32>() / 3.0;
        assert!(close(evaluation.macro_f1, macro_f1));

        let no_threshold = evaluate(&probabilities, &labels, 3, 0.0);
        assert_eq!(no_threshold.uncertain, 0);
        assert!(close(no_threshold.accuracy_all, 0.8) && close(no_threshold.accuracy_certain, 0.8));
    }
}
