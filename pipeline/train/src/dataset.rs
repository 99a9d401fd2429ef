//! The training input: a row-major feature matrix with labels, checked once on construction.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::error::TrainError;

/// The 2-D shape of one feature row, for conv blocks: `time` steps of `channels` values, stored
/// time-major (`row[t * channels + c]`). Raw windows are `(time, axes)`; MFE/MFCC features are
/// `(frames, coefficients)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SampleShape {
    /// Time steps (samples or frames).
    pub time: usize,
    /// Values per time step (axes or coefficients).
    pub channels: usize,
}

/// Feature rows with their labels. Borrowed: nothing is copied until training normalises it.
#[derive(Debug, Clone)]
pub struct TrainingSet<'a> {
    features: &'a [f32],
    n_features: usize,
    shape: Option<SampleShape>,
    labels: Cow<'a, [usize]>,
    label_names: Vec<String>,
    augmented: Option<Augmented<'a>>,
}

/// Augmented copies of rows: each row of `features` was made from row `origin[i]` of the set and
/// has its label. Training uses a copy only when its origin is a training row (not validation).
#[derive(Debug, Clone, Copy)]
pub struct Augmented<'a> {
    /// Row-major, `origin.len() × n_features`.
    pub features: &'a [f32],
    /// For each augmented row, the index of the row it was made from.
    pub origin: &'a [usize],
}

impl<'a> TrainingSet<'a> {
    /// `features` is `n_rows × n_features`, row-major; `labels[i]` indexes `label_names`.
    ///
    /// Fails when the lengths disagree, a label is out of range, or a value is not finite.
    pub fn new(
        features: &'a [f32],
        n_features: usize,
        labels: &'a [usize],
        label_names: Vec<String>,
    ) -> Result<Self, TrainError> {
        let n_rows = check_matrix(features, n_features)?;
        if labels.len() != n_rows {
            return Err(TrainError::Data(format!("{} labels for {n_rows} rows", labels.len())));
        }
        if label_names.is_empty() {
            return Err(TrainError::Data("no label names (n_classes = 0)".into()));
        }
        if let Some((row, &label)) = labels.iter().enumerate().find(|(_, label)| **label >= label_names.len())
        {
            return Err(TrainError::Data(format!(
                "row {row} has label {label}, but there are only {} classes",
                label_names.len()
            )));
        }
        Ok(Self {
            features,
            n_features,
            shape: None,
            labels: Cow::Borrowed(labels),
            label_names,
            augmented: None,
        })
    }

    /// Rows without labels, for anomaly detection (every row gets label 0, "normal").
    pub fn unlabelled(features: &'a [f32], n_features: usize) -> Result<Self, TrainError> {
        let n_rows = check_matrix(features, n_features)?;
        Ok(Self {
            features,
            n_features,
            shape: None,
            labels: Cow::Owned(vec![0; n_rows]),
            label_names: vec!["normal".into()],
            augmented: None,
        })
    }

    /// Declares the 2-D shape of each row (needed by conv blocks).
    pub fn with_shape(mut self, shape: SampleShape) -> Result<Self, TrainError> {
        if shape.time * shape.channels != self.n_features || shape.time == 0 {
            return Err(TrainError::Data(format!(
                "shape ({} time × {} channels) does not hold {} features",
                shape.time, shape.channels, self.n_features
            )));
        }
        self.shape = Some(shape);
        Ok(self)
    }

    /// Adds augmented copies of rows (see [`Augmented`]); fails when the matrix does not have
    /// `origin.len()` rows of `n_features`, an origin is not a row, or a value is not finite.
    pub fn with_augmented(mut self, features: &'a [f32], origin: &'a [usize]) -> Result<Self, TrainError> {
        if origin.is_empty() {
            self.augmented = None;
            return Ok(self);
        }
        let n_rows = check_matrix(features, self.n_features)?;
        if n_rows != origin.len() {
            return Err(TrainError::Data(format!("{n_rows} augmented rows but {} origins", origin.len())));
        }
        if let Some(&row) = origin.iter().find(|&&row| row >= self.n_rows()) {
            return Err(TrainError::Data(format!(
                "an augmented row comes from row {row}, but there are {} rows",
                self.n_rows()
            )));
        }
        self.augmented = Some(Augmented { features, origin });
        Ok(self)
    }

    /// The augmented copies, if any.
    pub fn augmented(&self) -> Option<Augmented<'a>> {
        self.augmented
    }

    /// The whole matrix, row-major.
    pub fn features(&self) -> &'a [f32] {
        self.features
    }

    /// Values per row.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.features.len() / self.n_features
    }

    /// One row.
    pub fn row(&self, row_idx: usize) -> &'a [f32] {
        &self.features[row_idx * self.n_features..(row_idx + 1) * self.n_features]
    }

    /// The declared 2-D shape of a row, if any.
    pub fn shape(&self) -> Option<SampleShape> {
        self.shape
    }

    /// Labels, one per row.
    pub fn labels(&self) -> &[usize] {
        &self.labels
    }

    /// Class names; `labels` index this.
    pub fn label_names(&self) -> &[String] {
        &self.label_names
    }

    /// Number of classes.
    pub fn n_classes(&self) -> usize {
        self.label_names.len()
    }
}

/// Checks the matrix and returns its number of rows.
fn check_matrix(features: &[f32], n_features: usize) -> Result<usize, TrainError> {
    if n_features == 0 {
        return Err(TrainError::Data("n_features is 0".into()));
    }
    if features.is_empty() {
        return Err(TrainError::Data("no rows".into()));
    }
    if !features.len().is_multiple_of(n_features) {
        return Err(TrainError::Data(format!(
            "{} values is not a whole number of rows of {n_features} features",
            features.len()
        )));
    }
    if let Some(idx) = features.iter().position(|value| !value.is_finite()) {
        return Err(TrainError::Data(format!(
            "row {} feature {} is not a finite number ({})",
            idx / n_features,
            idx % n_features,
            features[idx]
        )));
    }
    Ok(features.len() / n_features)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_inconsistent_input() {
        let names = || vec!["a".to_string(), "b".to_string()];
        let cases: [(&[f32], usize, &[usize]); 5] = [
            (&[1.0, 2.0, 3.0], 2, &[0]),
            (&[1.0, 2.0], 2, &[0, 1]),
            (&[1.0, 2.0], 2, &[2]),
            (&[1.0, f32::NAN], 2, &[0]),
            (&[], 2, &[]),
        ];
        for (features, n_features, labels) in cases {
            assert!(
                TrainingSet::new(features, n_features, labels, names()).is_err(),
                "{features:?} {labels:?}"
            );
        }
        let set = TrainingSet::new(&[1.0; 6], 6, &[1], names()).unwrap();
        assert!(set.clone().with_shape(SampleShape { time: 4, channels: 2 }).is_err());
        assert_eq!(set.with_shape(SampleShape { time: 3, channels: 2 }).unwrap().n_rows(), 1);
    }
}
