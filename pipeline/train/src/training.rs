//! The hand-written training loop for the classifiers: seeded stratified split, normalisation,
//! shuffled mini-batches, Adam, per-epoch validation, early stopping, progress and cancellation.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Tensor, TensorData, activation};
use rand::SeedableRng;
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;

use crate::config::LearnConfig;
use crate::dataset::TrainingSet;
use crate::error::TrainError;
use crate::metrics::{EpochMetrics, TrainingHistory};
use crate::model::TrainedModel;
use crate::network::{Architecture, Network};
use crate::normalise::Normalisation;
use crate::split;

/// Independent random streams derived from the one configured seed, so that e.g. changing the
/// validation split does not change the initial weights.
#[derive(Clone, Copy)]
pub(crate) enum RngStream {
    Split = 1,
    Init = 2,
    Shuffle = 3,
    Dropout = 4,
    KMeans = 5,
}

pub(crate) fn rng_for(seed: u64, stream: RngStream) -> SmallRng {
    SmallRng::seed_from_u64(seed ^ (stream as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// Trains a dense or conv1d classifier (`config.block`) on `set`.
///
/// `progress` is called after every epoch; returning `ControlFlow::Break(())` cancels. `cancel` is
/// checked before every batch. A cancelled run returns [`TrainError::Cancelled`], never a model.
pub fn train_classifier(
    set: &TrainingSet<'_>,
    config: &LearnConfig,
    cancel: &AtomicBool,
    mut progress: impl FnMut(&EpochMetrics) -> ControlFlow<()>,
) -> Result<TrainedModel, TrainError> {
    let started = Instant::now();
    config.validate()?;
    let arch = Architecture::new(&config.block, set.n_features(), set.shape(), set.n_classes())?;
    let n_features = set.n_features();
    let n_classes = set.n_classes();
    let labels = set.labels();

    let split = split::stratified(
        labels,
        n_classes,
        config.validation_split,
        &mut rng_for(config.seed, RngStream::Split),
    );
    let normalisation = Normalisation::fit(split.train.iter().map(|&row_idx| set.row(row_idx)), n_features);
    let normalised = normalisation.apply(set.features());
    let validation_rows: Vec<f32> = split
        .validation
        .iter()
        .flat_map(|&row_idx| row_of(&normalised, n_features, row_idx))
        .copied()
        .collect();
    let validation_labels: Vec<usize> = split.validation.iter().map(|&row_idx| labels[row_idx]).collect();

    let device = config.backend.device();
    device.seed(config.seed);
    let train_device = device.clone().autodiff();
    let mut model = Network::new(&arch, &train_device, Some(&mut rng_for(config.seed, RngStream::Init)));
    let mut optimizer = AdamConfig::new().init();
    let mut shuffle_rng = rng_for(config.seed, RngStream::Shuffle);
    let mut dropout_rng = rng_for(config.seed, RngStream::Dropout);

    let mut history = Vec::with_capacity(config.epochs);
    let mut best: Option<(f32, usize, Network)> = None;
    let mut stopped_early = false;
    let mut order = split.train.clone();
    let mut batch_rows = Vec::with_capacity(config.batch_size * n_features);
    let mut batch_targets = Vec::with_capacity(config.batch_size * n_classes);

    for epoch in 1..=config.epochs {
        order.shuffle(&mut shuffle_rng);
        let mut loss_sum = 0.0f64;
        let mut correct = 0usize;
        for batch in order.chunks(config.batch_size) {
            if cancel.load(Ordering::Relaxed) {
                return Err(TrainError::Cancelled { epochs_completed: epoch - 1 });
            }
            batch_rows.clear();
            batch_targets.clear();
            for &row_idx in batch {
                batch_rows.extend_from_slice(row_of(&normalised, n_features, row_idx));
                batch_targets
                    .extend((0..n_classes).map(|class| if class == labels[row_idx] { 1.0f32 } else { 0.0 }));
            }
            let input = tensor(batch_rows.clone(), [batch.len(), n_features], &train_device);
            let targets = tensor(batch_targets.clone(), [batch.len(), n_classes], &train_device);

            let logits = model.forward(input, Some(&mut dropout_rng));
            let logits_values = to_vec(logits.to_data());
            let loss = activation::log_softmax(logits, 1).mul(targets).sum_dim(1).mean().neg();
            loss_sum +=
                f64::from(loss.to_data().try_to_vec::<f32>().expect("f32 loss")[0]) * batch.len() as f64;
            correct += batch
                .iter()
                .zip(logits_values.chunks_exact(n_classes))
                .filter(|(row_idx, row_logits)| argmax(row_logits) == labels[**row_idx])
                .count();

            let gradients = GradientsParams::from_grads(loss.backward(), &model);
            model = optimizer.step(f64::from(config.learning_rate), model, gradients);
        }
        let n_train = order.len() as f64;
        let (validation_loss, validation_accuracy) = if validation_labels.is_empty() {
            (None, None)
        } else {
            let snapshot = model.valid();
            let logits = infer_logits(&snapshot, &validation_rows, &device);
            let (loss, accuracy) = loss_and_accuracy(&logits, &validation_labels, n_classes);
            (Some(loss), Some(accuracy))
        };
        let metrics = EpochMetrics {
            epoch,
            epochs: config.epochs,
            train_loss: (loss_sum / n_train) as f32,
            train_accuracy: Some((correct as f64 / n_train) as f32),
            validation_loss,
            validation_accuracy,
        };
        if !metrics.train_loss.is_finite() {
            return Err(TrainError::Diverged { epoch });
        }
        let control = progress(&metrics);
        let monitored = metrics.validation_loss.unwrap_or(metrics.train_loss);
        history.push(metrics);
        if control.is_break() {
            return Err(TrainError::Cancelled { epochs_completed: epoch });
        }

        if let Some(patience) = config.early_stopping_patience {
            let improved = best.as_ref().is_none_or(|(best_loss, _, _)| monitored < *best_loss);
            if improved {
                best = Some((monitored, epoch, model.valid()));
            } else if epoch - best.as_ref().map_or(0, |(_, best_epoch, _)| *best_epoch) >= patience {
                stopped_early = epoch < config.epochs;
                break;
            }
        }
    }

    let (network, kept_epoch) = match best {
        Some((_, best_epoch, network)) => (network, best_epoch),
        None => (model.valid(), history.len()),
    };
    let history = TrainingHistory {
        epochs: history,
        kept_epoch,
        stopped_early,
        train_rows: split.train.len(),
        validation_rows: split.validation.len(),
        seconds: started.elapsed().as_secs_f64(),
    };
    Ok(TrainedModel::from_parts(
        network,
        device,
        config.clone(),
        normalisation,
        set.label_names().to_vec(),
        history,
    ))
}

/// Logits (`rows × n_classes`, row-major) of normalised rows, computed in chunks without autodiff.
pub(crate) fn infer_logits(network: &Network, normalised_rows: &[f32], device: &Device) -> Vec<f32> {
    const CHUNK_ROWS: usize = 1024;
    let n_features = network.architecture().n_features;
    let mut logits =
        Vec::with_capacity(normalised_rows.len() / n_features * network.architecture().n_classes);
    for chunk in normalised_rows.chunks(CHUNK_ROWS * n_features) {
        let input = tensor(chunk.to_vec(), [chunk.len() / n_features, n_features], device);
        logits.extend(to_vec(network.forward(input, None).into_data()));
    }
    logits
}

/// Mean cross-entropy and accuracy of logits against labels, in f64 for a stable log-sum-exp.
pub(crate) fn loss_and_accuracy(logits: &[f32], labels: &[usize], n_classes: usize) -> (f32, f32) {
    let mut loss = 0.0f64;
    let mut correct = 0usize;
    for (row_logits, &label) in logits.chunks_exact(n_classes).zip(labels) {
        let max = row_logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
        let log_sum: f64 = row_logits.iter().map(|&v| (v as f64 - max).exp()).sum::<f64>().ln() + max;
        loss += log_sum - row_logits[label] as f64;
        correct += usize::from(argmax(row_logits) == label);
    }
    let n = labels.len().max(1) as f64;
    ((loss / n) as f32, (correct as f64 / n) as f32)
}

/// Index of the largest value (the first one on ties).
pub(crate) fn argmax(values: &[f32]) -> usize {
    values.iter().enumerate().fold(0, |best, (idx, value)| if *value > values[best] { idx } else { best })
}

fn row_of(matrix: &[f32], n_features: usize, row_idx: usize) -> &[f32] {
    &matrix[row_idx * n_features..(row_idx + 1) * n_features]
}

fn tensor(values: Vec<f32>, shape: [usize; 2], device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(values, shape), device)
}

fn to_vec(data: TensorData) -> Vec<f32> {
    data.try_into_vec::<f32>().expect("the network computes in f32")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cross_entropy_and_accuracy_from_logits() {
        let logits = [0.0, 0.0, 10.0, -10.0];
        let (loss, accuracy) = loss_and_accuracy(&logits, &[1, 0], 2);
        assert!((loss - (2f32.ln() + 0.0) / 2.0).abs() < 1e-4, "{loss}");
        assert_eq!(accuracy, 0.5);
        assert_eq!(argmax(&[1.0, 3.0, 3.0]), 1);
    }
}
