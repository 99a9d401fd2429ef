//! K-means anomaly detection in pure Rust: k-means++ seeding, Lloyd iterations, and an anomaly
//! score per row.
//!
//! Everything happens on normalised features (mean/std of the training rows, stored with the
//! model). The **anomaly score** of a row is its Euclidean distance to the nearest centroid divided
//! by that cluster's radius, the RMS distance of the cluster's training rows to its centroid. A
//! typical training row scores about 1; a score of 3 is three "cluster widths" away. The raw
//! distance is available from [`AnomalyModel::distances`].

use std::ops::ControlFlow;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use rand::Rng;

use crate::config::{BlockConfig, LearnConfig};
use crate::dataset::TrainingSet;
use crate::error::TrainError;
use crate::metrics::{EpochMetrics, Stage, TrainingHistory};
use crate::normalise::Normalisation;
use crate::persist::{self, AnomalySidecar, Sidecar};
use crate::training::{RngStream, rng_for};

/// Lloyd iterations stop here at the latest (they usually converge long before).
pub const MAX_ITERATIONS: usize = 300;

/// A trained k-means anomaly detector.
#[derive(Debug, Clone, PartialEq)]
pub struct AnomalyModel {
    config: LearnConfig,
    normalisation: Normalisation,
    centroids: Vec<f32>,
    radii: Vec<f32>,
    history: TrainingHistory,
}

/// Clusters `set`'s rows (labels are ignored) with `config.block`'s `clusters`.
///
/// `progress` is called after every Lloyd iteration (`train_loss` = mean squared distance to the
/// assigned centroid); `Break` or the `cancel` flag return [`TrainError::Cancelled`].
pub fn train_anomaly(
    set: &TrainingSet<'_>,
    config: &LearnConfig,
    cancel: &AtomicBool,
    mut progress: impl FnMut(&EpochMetrics) -> ControlFlow<()>,
) -> Result<AnomalyModel, TrainError> {
    let started = Instant::now();
    config.validate()?;
    let BlockConfig::KMeans { clusters } = config.block else {
        return Err(TrainError::Architecture("train_anomaly needs block = \"kmeans\"".into()));
    };
    let n_features = set.n_features();
    let n_rows = set.n_rows();
    if n_rows < clusters {
        return Err(TrainError::Data(format!(
            "k-means with {clusters} clusters needs at least {clusters} rows, got {n_rows}"
        )));
    }
    let normalisation = Normalisation::fit((0..n_rows).map(|row_idx| set.row(row_idx)), n_features);
    let rows = normalisation.apply(set.features());
    let row = |row_idx: usize| &rows[row_idx * n_features..(row_idx + 1) * n_features];

    let mut rng = rng_for(config.seed, RngStream::KMeans);
    let mut centroids = kmeans_plus_plus(&rows, n_features, clusters, &mut rng);

    let mut assignment = vec![usize::MAX; n_rows];
    let mut distance_sq = vec![0.0f32; n_rows];
    let mut epochs = Vec::new();
    for iteration in 1..=MAX_ITERATIONS {
        if cancel.load(Ordering::Relaxed) {
            return Err(TrainError::Cancelled { epochs_completed: iteration - 1 });
        }
        let mut changed = false;
        for row_idx in 0..n_rows {
            let (cluster, d2) = nearest(&centroids, n_features, row(row_idx));
            changed |= assignment[row_idx] != cluster;
            assignment[row_idx] = cluster;
            distance_sq[row_idx] = d2;
        }
        let inertia: f64 = distance_sq.iter().map(|&d2| f64::from(d2)).sum();
        let metrics = EpochMetrics {
            epoch: iteration,
            epochs: MAX_ITERATIONS,
            train_loss: (inertia / n_rows as f64) as f32,
            train_accuracy: None,
            validation_loss: None,
            validation_accuracy: None,
            stage: Stage::Model,
        };
        let control = progress(&metrics);
        epochs.push(metrics);
        if control.is_break() {
            return Err(TrainError::Cancelled { epochs_completed: iteration });
        }
        if !changed {
            break;
        }
        centroids = update_centroids(&rows, n_features, clusters, &assignment, &distance_sq);
    }

    let radii = cluster_radii(clusters, &assignment, &distance_sq);
    let history = TrainingHistory {
        kept_epoch: epochs.len(),
        epochs,
        stopped_early: false,
        train_rows: n_rows,
        validation_rows: 0,
        seconds: started.elapsed().as_secs_f64(),
        augmented_rows: 0,
        pruning: Vec::new(),
    };
    Ok(AnomalyModel { config: config.clone(), normalisation, centroids, radii, history })
}

impl AnomalyModel {
    /// Anomaly score of each row of raw `features`: distance to the nearest centroid divided by
    /// that cluster's radius (see the module documentation).
    ///
    /// # Panics
    /// If `features.len()` is not a multiple of [`Self::n_features`].
    pub fn scores(&self, features: &[f32]) -> Vec<f32> {
        self.nearest_clusters(features)
            .into_iter()
            .map(|(cluster, distance)| distance / self.radii[cluster])
            .collect()
    }

    /// Euclidean distance (in normalised feature space) of each row to its nearest centroid.
    pub fn distances(&self, features: &[f32]) -> Vec<f32> {
        self.nearest_clusters(features).into_iter().map(|(_, distance)| distance).collect()
    }

    /// `(nearest cluster, distance)` for each row of raw `features`.
    pub fn nearest_clusters(&self, features: &[f32]) -> Vec<(usize, f32)> {
        let n_features = self.n_features();
        assert!(features.len().is_multiple_of(n_features), "features are not whole rows of {n_features}");
        let mut normalised = vec![0.0; n_features];
        features
            .chunks_exact(n_features)
            .map(|raw_row| {
                self.normalisation.apply_into(raw_row, &mut normalised);
                let (cluster, d2) = nearest(&self.centroids, n_features, &normalised);
                (cluster, d2.sqrt())
            })
            .collect()
    }

    /// Input values per row.
    pub fn n_features(&self) -> usize {
        self.normalisation.n_features()
    }

    /// Number of clusters.
    pub fn clusters(&self) -> usize {
        self.radii.len()
    }

    /// Centroids, `clusters × n_features` row-major, in normalised feature space.
    pub fn centroids(&self) -> &[f32] {
        &self.centroids
    }

    /// Each cluster's radius (RMS distance of its training rows; never 0).
    pub fn radii(&self) -> &[f32] {
        &self.radii
    }

    /// The normalisation applied before distances are measured.
    pub fn normalisation(&self) -> &Normalisation {
        &self.normalisation
    }

    /// The configuration it was trained with.
    pub fn config(&self) -> &LearnConfig {
        &self.config
    }

    /// Per-iteration inertia.
    pub fn history(&self) -> &TrainingHistory {
        &self.history
    }

    /// Writes `dir/model.json` (centroids are small: no separate weights file).
    pub fn save(&self, dir: &Path) -> Result<(), TrainError> {
        persist::write_sidecar(
            dir,
            &Sidecar::Anomaly(AnomalySidecar {
                format_version: persist::FORMAT_VERSION,
                config: self.config.clone(),
                normalisation: self.normalisation.clone(),
                centroids: self.centroids.clone(),
                radii: self.radii.clone(),
                history: self.history.clone(),
            }),
        )
    }

    /// Loads a model saved by [`Self::save`].
    pub fn load(dir: &Path) -> Result<Self, TrainError> {
        match persist::read_sidecar(dir)? {
            Sidecar::Anomaly(sidecar) => Self::from_sidecar(dir, sidecar),
            Sidecar::Classifier(_) => Err(TrainError::ModelFormat {
                path: persist::sidecar_path(dir),
                message: "this is a classifier, not a k-means anomaly model".into(),
            }),
        }
    }

    pub(crate) fn from_sidecar(dir: &Path, sidecar: AnomalySidecar) -> Result<Self, TrainError> {
        let n_features = sidecar.normalisation.n_features();
        if n_features == 0
            || sidecar.radii.is_empty()
            || sidecar.centroids.len() != sidecar.radii.len() * n_features
            || sidecar.radii.iter().any(|&r| r.is_nan() || r <= 0.0)
        {
            return Err(TrainError::ModelFormat {
                path: persist::sidecar_path(dir),
                message: "centroids, radii and normalisation disagree".into(),
            });
        }
        Ok(Self {
            config: sidecar.config,
            normalisation: sidecar.normalisation,
            centroids: sidecar.centroids,
            radii: sidecar.radii,
            history: sidecar.history,
        })
    }
}

/// k-means++: the first centroid uniformly, each next one with probability ∝ squared distance to
/// the nearest centroid chosen so far.
fn kmeans_plus_plus(rows: &[f32], n_features: usize, clusters: usize, rng: &mut impl Rng) -> Vec<f32> {
    let n_rows = rows.len() / n_features;
    let row = |row_idx: usize| &rows[row_idx * n_features..(row_idx + 1) * n_features];
    let mut centroids = Vec::with_capacity(clusters * n_features);
    centroids.extend_from_slice(row(rng.random_range(0..n_rows)));
    let mut nearest_sq: Vec<f64> =
        (0..n_rows).map(|row_idx| f64::from(distance_sq(row(row_idx), &centroids))).collect();
    while centroids.len() < clusters * n_features {
        let total: f64 = nearest_sq.iter().sum();
        let chosen = if total > 0.0 {
            let mut target = rng.random::<f64>() * total;
            nearest_sq
                .iter()
                .position(|&d2| {
                    target -= d2;
                    target < 0.0
                })
                .unwrap_or_else(|| nearest_sq.iter().rposition(|&d2| d2 > 0.0).expect("total > 0"))
        } else {
            rng.random_range(0..n_rows)
        };
        let start = centroids.len();
        centroids.extend_from_slice(row(chosen));
        for (row_idx, best) in nearest_sq.iter_mut().enumerate() {
            *best = best.min(f64::from(distance_sq(row(row_idx), &centroids[start..])));
        }
    }
    centroids
}

/// Means of the assigned rows; an empty cluster takes the row farthest from its own centroid.
fn update_centroids(
    rows: &[f32],
    n_features: usize,
    clusters: usize,
    assignment: &[usize],
    distance_sq: &[f32],
) -> Vec<f32> {
    let mut sums = vec![0.0f64; clusters * n_features];
    let mut counts = vec![0usize; clusters];
    for (row, &cluster) in rows.chunks_exact(n_features).zip(assignment) {
        counts[cluster] += 1;
        for (sum, &value) in sums[cluster * n_features..(cluster + 1) * n_features].iter_mut().zip(row) {
            *sum += f64::from(value);
        }
    }
    let mut centroids: Vec<f32> = sums
        .chunks_exact(n_features)
        .zip(&counts)
        .flat_map(|(sum, &count)| sum.iter().map(move |s| (s / count.max(1) as f64) as f32))
        .collect();
    let mut taken = vec![false; assignment.len()];
    for cluster in (0..clusters).filter(|&cluster| counts[cluster] == 0) {
        let farthest = (0..assignment.len())
            .filter(|&row_idx| !taken[row_idx])
            .max_by(|&a, &b| distance_sq[a].total_cmp(&distance_sq[b]))
            .expect("at least as many rows as clusters");
        taken[farthest] = true;
        centroids[cluster * n_features..(cluster + 1) * n_features]
            .copy_from_slice(&rows[farthest * n_features..(farthest + 1) * n_features]);
    }
    centroids
}

/// RMS distance of each cluster's rows; a cluster of identical rows (radius 0) gets the mean of the
/// other radii, or 1 if all are 0.
fn cluster_radii(clusters: usize, assignment: &[usize], distance_sq: &[f32]) -> Vec<f32> {
    let mut sums = vec![0.0f64; clusters];
    let mut counts = vec![0usize; clusters];
    for (&cluster, &d2) in assignment.iter().zip(distance_sq) {
        sums[cluster] += f64::from(d2);
        counts[cluster] += 1;
    }
    let radii: Vec<f32> =
        sums.iter().zip(&counts).map(|(s, &n)| (s / n.max(1) as f64).sqrt() as f32).collect();
    let positive: Vec<f32> = radii.iter().copied().filter(|&r| r > 1e-6).collect();
    let fallback =
        if positive.is_empty() { 1.0 } else { positive.iter().sum::<f32>() / positive.len() as f32 };
    radii.into_iter().map(|r| if r > 1e-6 { r } else { fallback }).collect()
}

/// Nearest centroid and the squared distance to it.
fn nearest(centroids: &[f32], n_features: usize, row: &[f32]) -> (usize, f32) {
    centroids
        .chunks_exact(n_features)
        .map(|centroid| distance_sq(row, centroid))
        .enumerate()
        .fold((0, f32::INFINITY), |best, (cluster, d2)| if d2 < best.1 { (cluster, d2) } else { best })
}

fn distance_sq(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn radii_never_zero() {
        assert_eq!(cluster_radii(3, &[0, 0, 1, 2], &[1.0, 1.0, 4.0, 0.0]), vec![1.0, 2.0, 1.5]);
        assert_eq!(cluster_radii(1, &[0, 0], &[0.0, 0.0]), vec![1.0]);
    }

    #[test]
    fn empty_cluster_takes_the_farthest_row() {
        let rows = [0.0, 1.0, 10.0];
        let centroids = update_centroids(&rows, 1, 2, &[0, 0, 0], &[1.0, 0.0, 100.0]);
        assert_eq!(centroids, vec![11.0 / 3.0, 10.0]);
    }
}
