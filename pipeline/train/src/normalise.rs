//! Per-feature standardisation `(x - mean) / std`, fitted on the training rows and stored with the
//! model so inference (host or board) applies exactly the same transform.

use serde::{Deserialize, Serialize};

/// A feature whose standard deviation is below this (absolutely, or relative to its mean) is
/// constant in the training data: it is only centred (its `std` is stored as 1), so a tiny noise on
/// the board cannot blow up into a huge input.
pub const MIN_STD: f32 = 1e-6;

/// Mean and standard deviation of each feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Normalisation {
    /// Mean of each feature over the training rows.
    pub mean: Vec<f32>,
    /// Population standard deviation of each feature; 1 where the feature was (nearly) constant.
    pub std: Vec<f32>,
}

impl Normalisation {
    /// Fits mean/std over the given rows (all of length `n_features`); accumulates in f64.
    pub fn fit<'r>(rows: impl IntoIterator<Item = &'r [f32]>, n_features: usize) -> Self {
        let mut sum = vec![0.0f64; n_features];
        let mut sum_sq = vec![0.0f64; n_features];
        let mut n_rows = 0usize;
        for row in rows {
            for (feature_idx, &value) in row.iter().enumerate() {
                sum[feature_idx] += f64::from(value);
                sum_sq[feature_idx] += f64::from(value) * f64::from(value);
            }
            n_rows += 1;
        }
        let n = n_rows.max(1) as f64;
        let mean: Vec<f32> = sum.iter().map(|s| (s / n) as f32).collect();
        let std = sum
            .iter()
            .zip(&sum_sq)
            .map(|(s, sq)| {
                let mean = s / n;
                let std = (sq / n - mean * mean).max(0.0).sqrt() as f32;
                if std < MIN_STD * (mean.abs() as f32).max(1.0) { 1.0 } else { std }
            })
            .collect();
        Self { mean, std }
    }

    /// Number of features.
    pub fn n_features(&self) -> usize {
        self.mean.len()
    }

    /// Writes the normalised `row` into `out` (both `n_features` long).
    pub fn apply_into(&self, row: &[f32], out: &mut [f32]) {
        for (((out, &value), &mean), &std) in out.iter_mut().zip(row).zip(&self.mean).zip(&self.std) {
            *out = (value - mean) / std;
        }
    }

    /// Normalises a whole row-major matrix.
    pub fn apply(&self, features: &[f32]) -> Vec<f32> {
        let mut out = vec![0.0; features.len()];
        for (row, out_row) in
            features.chunks_exact(self.n_features()).zip(out.chunks_exact_mut(self.n_features()))
        {
            self.apply_into(row, out_row);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standardises_and_guards_constant_features() {
        let rows: [&[f32]; 4] =
            [&[1.0, 5.0, 1000.0], &[3.0, 5.0, 1000.0], &[5.0, 5.0, 1000.0], &[7.0, 5.0, 1000.0]];
        let norm = Normalisation::fit(rows, 3);
        assert_eq!(norm.mean, vec![4.0, 5.0, 1000.0]);
        assert!((norm.std[0] - 5.0f32.sqrt()).abs() < 1e-6);
        assert_eq!(&norm.std[1..], &[1.0, 1.0]);
        let out = norm.apply(&[4.0, 6.0, 1000.0]);
        assert_eq!(out, vec![0.0, 1.0, 0.0]);
    }
}
