//! Synthetic, learnable data for the tests and the benchmark (shared via `#[path]`).
#![allow(dead_code)]

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// A standard normal sample (Box–Muller).
pub fn normal(rng: &mut SmallRng) -> f32 {
    let u1: f32 = rng.random_range(f32::EPSILON..1.0);
    let u2: f32 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

/// Gaussian clusters: each class has a random centre in `[-2, 2]^n_features` (the same for a given
/// `centre_seed`) and rows are the centre plus `N(0, spread²)` noise. Rows are class-interleaved.
pub fn gaussian_clusters(
    rows_per_class: usize,
    n_classes: usize,
    n_features: usize,
    spread: f32,
    centre_seed: u64,
    sample_seed: u64,
) -> (Vec<f32>, Vec<usize>) {
    let mut centre_rng = SmallRng::seed_from_u64(centre_seed);
    let centres: Vec<Vec<f32>> = (0..n_classes)
        .map(|_| (0..n_features).map(|_| centre_rng.random_range(-2.0..2.0)).collect())
        .collect();
    let mut rng = SmallRng::seed_from_u64(sample_seed);
    let mut features = Vec::with_capacity(rows_per_class * n_classes * n_features);
    let mut labels = Vec::with_capacity(rows_per_class * n_classes);
    for _ in 0..rows_per_class {
        for (class, centre) in centres.iter().enumerate() {
            features.extend(centre.iter().map(|c| c + spread * normal(&mut rng)));
            labels.push(class);
        }
    }
    (features, labels)
}

/// Motion-like raw windows `(time, axes)`, time-major: class `c` oscillates at `c + 1` cycles per
/// window, strongest on axis `c % axes` (weaker on the others), with a random phase and amplitude,
/// plus noise.
pub fn motion_windows(
    rows_per_class: usize,
    n_classes: usize,
    time: usize,
    axes: usize,
    seed: u64,
) -> (Vec<f32>, Vec<usize>) {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut features = Vec::with_capacity(rows_per_class * n_classes * time * axes);
    let mut labels = Vec::new();
    for _ in 0..rows_per_class {
        for class in 0..n_classes {
            let phases: Vec<f32> = (0..axes).map(|_| rng.random_range(0.0..std::f32::consts::TAU)).collect();
            let amplitude: f32 = rng.random_range(0.7..1.3);
            for t in 0..time {
                for (axis, phase) in phases.iter().enumerate() {
                    let angle = std::f32::consts::TAU * (class + 1) as f32 * t as f32 / time as f32 + phase;
                    let axis_gain = if axis == class % axes { 1.0 } else { 0.3 };
                    features.push(axis_gain * amplitude * angle.sin() + 0.2 * normal(&mut rng));
                }
            }
            labels.push(class);
        }
    }
    (features, labels)
}

pub fn names(n_classes: usize) -> Vec<String> {
    (0..n_classes).map(|class| format!("class{class}")).collect()
}

/// Fraction of rows whose most probable class is the label.
pub fn accuracy(probabilities: &[Vec<f32>], labels: &[usize]) -> f32 {
    let correct = probabilities
        .iter()
        .zip(labels)
        .filter(|(p, l)| p.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map(|(i, _)| i) == Some(**l))
        .count();
    correct as f32 / labels.len() as f32
}
