//! Augmented copies of the training windows (`[learn.augment]`): the window is taken from its
//! recording moved and stretched in time, each axis scaled, groups of three axes rotated, and
//! noise mixed in (generated, or cut from the project's own noise recordings), all drawn from the
//! learn seed; then it goes through the same DSP block as every other window. Test windows and the
//! rows training holds out for validation are never augmented (the training crate drops copies of
//! validation rows). The masks (SpecAugment) are drawn by the training loop on the features.

use std::path::Path;

use mote_project::{Project, Sample, SampleFilter, Split};
use mote_train::Augment;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, StandardNormal};
use sha2::{Digest, Sha256};

use crate::features::{
    CACHE_FORMAT, Dsp, FeatureError, FeatureSet, FeatureSource, Selected, cache_key, select_axes, touch,
    write_file,
};
use crate::impulse::Impulse;

/// Augmented rows and, for each, the row of the training set it was made from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AugmentedRows {
    /// Row-major, `origin.len() × n_features`.
    pub features: Vec<f32>,
    /// Index into the training rows (`FeatureSet::split(Split::Train)`).
    pub origin: Vec<usize>,
}

/// Makes `augment.copies` copies of every training window of `samples` (other splits are
/// skipped). `train` is the training split's feature set, in the order
/// [`crate::features::compute_features`] gives: `origin` indexes it.
pub fn augment_training_windows(
    samples: &[Sample],
    impulse: &Impulse,
    train: &FeatureSet,
    augment: &Augment,
    seed: u64,
) -> Result<AugmentedRows, FeatureError> {
    let n_axes = impulse.axes.len();
    let invalid = |message: String| FeatureError::Augment { message };
    if augment.rotate_deg > 0.0 && !n_axes.is_multiple_of(3) {
        return Err(invalid(format!(
            "rotate_deg turns groups of 3 axes (x, y, z); the impulse has {n_axes} axes ({})",
            impulse.axes.join(", ")
        )));
    }
    let training: Vec<&Sample> = samples.iter().filter(|s| s.info.split == Split::Train).collect();
    let noise_sources: Vec<Selected> = match &augment.noise_label {
        Some(label) => {
            let sources = training
                .iter()
                .filter(|s| &s.info.label == label)
                .map(|s| select_axes(s, impulse))
                .collect::<Result<Vec<_>, _>>()?;
            if sources.iter().all(|s| s.n_steps == 0) {
                return Err(invalid(format!("noise_label `{label}`: no training sample has that label")));
            }
            sources
        }
        None => Vec::new(),
    };

    let mut rng = SmallRng::seed_from_u64(seed ^ 0xA06_0E47);
    let mut dsp = Dsp::new(impulse)?;
    let mut out = AugmentedRows::default();
    let mut window = vec![0f32; impulse.window_samples * n_axes];
    let mut raw = vec![0i16; impulse.window_samples * n_axes];
    let mut row = 0usize;
    let shift = (augment.shift_ms * impulse.rate_hz / 1000.0).round() as i64;
    for sample in training {
        let name = &sample.info.name;
        let selected = select_axes(sample, impulse)?;
        let dsp_error = |error| FeatureError::Dsp { sample: name.clone(), error };
        for range in impulse.window.windows(selected.n_steps, impulse.rate_hz).map_err(dsp_error)? {
            if train.sample_names.get(row) != Some(name) {
                return Err(invalid(format!(
                    "sample `{name}`'s windows are not where the training rows put them"
                )));
            }
            for _ in 0..augment.copies {
                let offset = if shift > 0 { rng.random_range(-shift..=shift) as isize } else { 0 };
                let factor = if augment.stretch > 0.0 {
                    rng.random_range(1.0 - augment.stretch..=1.0 + augment.stretch)
                } else {
                    1.0
                };
                resample(&selected, range.start as isize + offset, factor, &mut window, n_axes);
                if augment.scale > 0.0 {
                    for axis in 0..n_axes {
                        let gain = rng.random_range(1.0 - augment.scale..=1.0 + augment.scale);
                        window.iter_mut().skip(axis).step_by(n_axes).for_each(|v| *v *= gain);
                    }
                }
                if augment.rotate_deg > 0.0 {
                    rotate(&mut window, n_axes, augment.rotate_deg, &mut rng);
                }
                if augment.noise > 0.0 {
                    let level = rng.random_range(0.0..=augment.noise);
                    add_noise(&mut window, n_axes, level, &noise_sources, &mut rng);
                }
                for ((value, raw), axis) in window.iter().zip(raw.iter_mut()).zip((0..n_axes).cycle()) {
                    let counts = value / selected.scales[axis];
                    *raw = counts.round().clamp(f32::from(i16::MIN), f32::from(i16::MAX)) as i16;
                }
                out.features.extend_from_slice(dsp.compute(&raw, &selected.scales, name)?);
                out.origin.push(row);
            }
            row += 1;
        }
    }
    if row != train.n_rows() {
        return Err(invalid(format!("{row} training windows, but {} training rows", train.n_rows())));
    }
    Ok(out)
}

/// Augmented copies of the training windows (`[learn.augment]`, see [`crate::augment`]) for the
/// training rows `train` of [`project_features`], cached beside them: the same inputs and the same
/// augmentation settings and seed give the same rows.
pub async fn project_augmented(
    project: &Project,
    impulse: &Impulse,
    train: &FeatureSet,
    augment: &mote_train::Augment,
    seed: u64,
) -> Result<(AugmentedRows, FeatureSource), FeatureError> {
    let filter = SampleFilter { split: Some(Split::Train), ..SampleFilter::default() };
    let infos = project.list_samples(&filter).await?;
    let mut hash = Sha256::new();
    hash.update(cache_key(impulse, &infos).as_bytes());
    hash.update(serde_json::json!({ "augment": augment, "seed": seed }).to_string().as_bytes());
    let dir = project.dir().join("cache").join("features");
    let path = dir.join(format!("{}.bin", mote_formats::recording::hex(&hash.finalize())));
    if let Some(rows) = read_cached_augmented(&path, train) {
        return Ok((rows, FeatureSource::Cached));
    }
    let samples = project.load_samples(&filter).await?;
    let rows = augment_training_windows(&samples, impulse, train, augment, seed)?;
    let cached = CachedAugmented {
        format: CACHE_FORMAT,
        n_features: train.n_features as u64,
        features: rows.features.clone(),
        origin: rows.origin.iter().map(|&row| row as u64).collect(),
    };
    if let Ok(bytes) = postcard::to_stdvec(&cached) {
        write_file(&dir, &path, bytes);
    }
    Ok((rows, FeatureSource::Computed))
}

/// The augmented rows' cache file.
#[derive(serde::Serialize, serde::Deserialize)]
struct CachedAugmented {
    format: u32,
    n_features: u64,
    features: Vec<f32>,
    origin: Vec<u64>,
}

fn read_cached_augmented(path: &Path, train: &FeatureSet) -> Option<AugmentedRows> {
    let cached: CachedAugmented = postcard::from_bytes(&std::fs::read(path).ok()?).ok()?;
    let origin: Vec<usize> =
        cached.origin.iter().map(|&row| usize::try_from(row).ok()).collect::<Option<_>>()?;
    let consistent = cached.format == CACHE_FORMAT
        && cached.n_features == train.n_features as u64
        && origin.len().checked_mul(train.n_features) == Some(cached.features.len())
        && origin.iter().all(|&row| row < train.n_rows());
    if !consistent {
        return None;
    }
    touch(path);
    Some(AugmentedRows { features: cached.features, origin })
}

/// `window.len() / n_axes` steps in physical units, read from the recording starting at `start`
/// over `factor` times as many steps (linear interpolation), centred on the unstretched window;
/// past either end of the recording the values are 0, as windows cut from it are.
fn resample(selected: &Selected, start: isize, factor: f32, window: &mut [f32], n_axes: usize) {
    let length = window.len() / n_axes;
    let span = length as f32 * factor;
    let first = start as f32 + (length as f32 - span) / 2.0;
    let step = if length > 1 { (span - 1.0) / (length - 1) as f32 } else { 0.0 };
    let value = |t: isize, axis: usize| -> f32 {
        if t < 0 || t as usize >= selected.n_steps {
            0.0
        } else {
            f32::from(selected.raw[t as usize * n_axes + axis]) * selected.scales[axis]
        }
    };
    for i in 0..length {
        let position = first + i as f32 * step;
        let below = position.floor();
        let fraction = position - below;
        for axis in 0..n_axes {
            let a = value(below as isize, axis);
            let b = value(below as isize + 1, axis);
            window[i * n_axes + axis] = a + (b - a) * fraction;
        }
    }
}

/// Rotates every group of 3 axes by the same random rotation of up to `max_deg` degrees.
fn rotate(window: &mut [f32], n_axes: usize, max_deg: f32, rng: &mut SmallRng) {
    let mut axis: [f32; 3] = [0.0; 3];
    for value in &mut axis {
        *value = StandardNormal.sample(rng);
    }
    let norm = axis.iter().map(|v| v * v).sum::<f32>().sqrt().max(f32::EPSILON);
    let [x, y, z] = axis.map(|v| v / norm);
    let angle = rng.random_range(-max_deg..=max_deg).to_radians();
    let (sin, cos) = angle.sin_cos();
    let c = 1.0 - cos;
    // Rodrigues' rotation matrix about the unit axis (x, y, z).
    let m = [
        [cos + x * x * c, x * y * c - z * sin, x * z * c + y * sin],
        [y * x * c + z * sin, cos + y * y * c, y * z * c - x * sin],
        [z * x * c - y * sin, z * y * c + x * sin, cos + z * z * c],
    ];
    for step in window.chunks_exact_mut(n_axes) {
        for group in step.chunks_exact_mut(3) {
            let v = [group[0], group[1], group[2]];
            for (out, row) in group.iter_mut().zip(&m) {
                *out = row[0] * v[0] + row[1] * v[1] + row[2] * v[2];
            }
        }
    }
}

/// Adds noise whose RMS is `level` times each axis' RMS in the window: Gaussian, or a random
/// stretch of one of `sources` (rescaled to that RMS).
fn add_noise(window: &mut [f32], n_axes: usize, level: f32, sources: &[Selected], rng: &mut SmallRng) {
    let length = window.len() / n_axes;
    let rms = |values: &mut dyn Iterator<Item = f32>| {
        let (sum, n) = values.fold((0.0f64, 0usize), |(s, n), v| (s + f64::from(v) * f64::from(v), n + 1));
        (sum / n.max(1) as f64).sqrt() as f32
    };
    let source = (!sources.is_empty()).then(|| &sources[rng.random_range(0..sources.len())]);
    let source_start = source.map_or(0, |s| rng.random_range(0..s.n_steps.max(1)));
    for axis in 0..n_axes {
        let signal_rms = rms(&mut window.iter().skip(axis).step_by(n_axes).copied());
        if signal_rms == 0.0 {
            continue;
        }
        let noise: Vec<f32> = match source {
            Some(source) if source.n_steps > 0 => (0..length)
                .map(|i| {
                    let t = (source_start + i) % source.n_steps;
                    f32::from(source.raw[t * n_axes + axis]) * source.scales[axis]
                })
                .collect(),
            _ => (0..length).map(|_| StandardNormal.sample(rng)).collect(),
        };
        let noise_rms = rms(&mut noise.iter().copied());
        if noise_rms == 0.0 {
            continue;
        }
        let gain = level * signal_rms / noise_rms;
        for (value, noise) in window.iter_mut().skip(axis).step_by(n_axes).zip(&noise) {
            *value += gain * noise;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn selected(values: &[i16]) -> Selected {
        Selected { raw: values.to_vec(), scales: vec![0.5], n_steps: values.len() }
    }

    #[test]
    fn resampling_without_a_change_copies_the_window() {
        let source = selected(&[0, 2, 4, 6, 8, 10]);
        let mut window = vec![0.0; 3];
        resample(&source, 1, 1.0, &mut window, 1);
        assert_eq!(window, vec![1.0, 2.0, 3.0]);
        // Moved past the start: zeros, as a window cut there would hold.
        resample(&source, -2, 1.0, &mut window, 1);
        assert_eq!(window, vec![0.0, 0.0, 0.0]);
        // Stretched to twice the span: every other step.
        let mut window = vec![0.0; 3];
        resample(&source, 1, 5.0 / 3.0, &mut window, 1);
        assert_eq!(window, vec![0.0, 2.0, 4.0]);
    }

    #[test]
    fn a_rotation_keeps_each_vectors_length() {
        let mut rng = SmallRng::seed_from_u64(1);
        let mut window = vec![1.0, 2.0, 3.0, 0.5, -4.0, 9.0];
        let before: Vec<f32> =
            window.chunks(3).map(|v| v.iter().map(|x| x * x).sum::<f32>().sqrt()).collect();
        rotate(&mut window, 6, 30.0, &mut rng);
        let after: Vec<f32> = window.chunks(3).map(|v| v.iter().map(|x| x * x).sum::<f32>().sqrt()).collect();
        for (a, b) in before.iter().zip(&after) {
            assert!((a - b).abs() < 1e-4, "{before:?} {after:?}");
        }
        assert_ne!(window, vec![1.0, 2.0, 3.0, 0.5, -4.0, 9.0]);
    }

    #[test]
    fn noise_has_the_asked_level() {
        let mut rng = SmallRng::seed_from_u64(3);
        let mut window: Vec<f32> = (0..4000).map(|i| if i % 2 == 0 { 2.0 } else { -2.0 }).collect();
        let clean = window.clone();
        add_noise(&mut window, 1, 0.25, &[], &mut rng);
        let noise_rms =
            (window.iter().zip(&clean).map(|(a, b)| (a - b) * (a - b)).sum::<f32>() / 4000.0).sqrt();
        assert!((noise_rms - 0.5).abs() < 0.01, "{noise_rms}");
    }
}
