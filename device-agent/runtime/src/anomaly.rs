//! K-means anomaly scoring from the blob: how far a window's features lie from what training saw.

use crate::model::Model;

impl Model<'_> {
    /// The anomaly score of one window's features, when the model has an anomaly block: the
    /// Euclidean distance of the normalised features (`(x − mean) / std`) to the nearest centroid,
    /// divided by that cluster's radius (≈ 1 for typical training data). `None` without a block
    /// or when `features` has the wrong length.
    pub fn anomaly_score(&self, features: &[f32]) -> Option<f32> {
        let block = self.anomaly()?;
        if features.len() != block.dims {
            return None;
        }
        let mut best = (0, f32::INFINITY);
        for cluster in 0..block.n_clusters {
            let mut distance_sq = 0.0f32;
            for (dim, &x) in features.iter().enumerate() {
                let normalised = (x - block.mean.get(dim)) / block.std.get(dim);
                let delta = normalised - block.centroids.get(cluster * block.dims + dim);
                distance_sq += delta * delta;
            }
            if distance_sq < best.1 {
                best = (cluster, distance_sq);
            }
        }
        Some(libm::sqrtf(best.1) / block.radii.get(best.0))
    }
}
