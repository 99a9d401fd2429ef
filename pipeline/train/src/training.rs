//! The hand-written training loop for the classifiers: seeded stratified split, normalisation,
//! shuffled mini-batches (with augmented copies and SpecAugment masks), Adam, distillation from a
//! teacher, per-epoch validation, early stopping, pruning with fine-tuning, progress and
//! cancellation.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Tensor, TensorData, activation};
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use crate::config::{Augment, Distill, LearnConfig};
use crate::dataset::{SampleShape, TrainingSet};
use crate::error::{ConfigError, TrainError};
use crate::metrics::{EpochMetrics, PruneStep, Stage, TrainingHistory};
use crate::model::TrainedModel;
use crate::network::{Architecture, Network};
use crate::normalise::Normalisation;
use crate::{prune, split};

/// Independent random streams derived from the one configured seed, so that e.g. changing the
/// validation split does not change the initial weights.
#[derive(Clone, Copy)]
pub(crate) enum RngStream {
    Split = 1,
    Init = 2,
    Shuffle = 3,
    Dropout = 4,
    KMeans = 5,
    Masks = 6,
}

pub(crate) fn rng_for(seed: u64, stream: RngStream) -> SmallRng {
    SmallRng::seed_from_u64(seed ^ (stream as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// Trains a dense or conv1d classifier (`config.block`) on `set`: first its teacher when
/// `config.distill` names one, then the model, then its pruning steps when `config.prune` is set.
///
/// `progress` is called after every epoch of each stage ([`EpochMetrics::stage`]); returning
/// `ControlFlow::Break(())` cancels. `cancel` is checked before every batch. A cancelled run
/// returns [`TrainError::Cancelled`], never a model.
pub fn train_classifier(
    set: &TrainingSet<'_>,
    config: &LearnConfig,
    cancel: &AtomicBool,
    mut progress: impl FnMut(&EpochMetrics) -> ControlFlow<()>,
) -> Result<TrainedModel, TrainError> {
    config.validate()?;
    let teacher = match &config.distill {
        Some(Distill { model: Some(_), .. }) => {
            return Err(ConfigError::InvalidValue {
                field: "distill.model",
                reason: "names a model stored in a project; train through the project to use it".into(),
            }
            .into());
        }
        Some(Distill { teacher: Some(teacher), .. }) => {
            let mut teacher = (**teacher).clone();
            teacher.augment = teacher.augment.or_else(|| config.augment.clone());
            Some(fit(set, &teacher, None, Stage::Teacher, cancel, &mut progress)?)
        }
        _ => None,
    };
    fit(set, config, teacher.as_ref(), Stage::Model, cancel, &mut progress)
}

/// Like [`train_classifier`], distilling from `teacher` (e.g. an earlier model of the project),
/// with `config.distill`'s temperature and weight (defaults when it is not set). The teacher must
/// take the same features and know the same labels, in the same order.
pub fn train_classifier_with_teacher(
    set: &TrainingSet<'_>,
    config: &LearnConfig,
    teacher: &TrainedModel,
    cancel: &AtomicBool,
    mut progress: impl FnMut(&EpochMetrics) -> ControlFlow<()>,
) -> Result<TrainedModel, TrainError> {
    config.validate()?;
    if teacher.n_features() != set.n_features() {
        return Err(TrainError::Data(format!(
            "the teacher takes {} features per row, the data has {}",
            teacher.n_features(),
            set.n_features()
        )));
    }
    if teacher.label_names() != set.label_names() {
        return Err(TrainError::Data(format!(
            "the teacher knows labels {:?}, the data has {:?}",
            teacher.label_names(),
            set.label_names()
        )));
    }
    let mut config = config.clone();
    config.distill.get_or_insert_with(Distill::default);
    fit(set, &config, Some(teacher), Stage::Model, cancel, &mut progress)
}

/// One stage's training: the model (with its pruning steps) or a teacher.
fn fit(
    set: &TrainingSet<'_>,
    config: &LearnConfig,
    teacher: Option<&TrainedModel>,
    stage: Stage,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(&EpochMetrics) -> ControlFlow<()>,
) -> Result<TrainedModel, TrainError> {
    let started = Instant::now();
    let arch = Architecture::new(&config.block, set.n_features(), set.shape(), set.n_classes())?;
    let data = EpochData::new(set, config, teacher);
    let device = config.backend.device();
    device.seed(config.seed);
    let train_device = device.clone().autodiff();
    let network = Network::new(&arch, &train_device, Some(&mut rng_for(config.seed, RngStream::Init)));
    let mut rngs = LoopRngs {
        shuffle: rng_for(config.seed, RngStream::Shuffle),
        dropout: rng_for(config.seed, RngStream::Dropout),
        masks: rng_for(config.seed, RngStream::Masks),
    };
    let trained = data.run(
        network,
        Plan { epochs: config.epochs, patience: config.early_stopping_patience, stage },
        &mut rngs,
        cancel,
        progress,
    )?;
    let mut epochs = trained.epochs;
    let (mut network, kept_epoch, stopped_early) =
        (trained.network, trained.kept_epoch, trained.stopped_early);

    let mut pruning = Vec::new();
    if let (Some(prune), Stage::Model) = (&config.prune, stage) {
        let original_macs = network.architecture().macs();
        pruning.push(prune_step(0, network.architecture(), epochs.get(kept_epoch.wrapping_sub(1))));
        for step in 1..=prune.steps {
            let keep = 1.0 - f64::from(prune.target) * step as f64 / prune.steps as f64;
            let goal = (original_macs as f64 * keep).floor() as usize;
            let pruned = prune::shrink(&network, goal, &train_device);
            let tuned = data.run(
                pruned,
                Plan { epochs: prune.fine_tune_epochs, patience: None, stage: Stage::Prune { step } },
                &mut rngs,
                cancel,
                progress,
            )?;
            pruning.push(prune_step(step, tuned.network.architecture(), tuned.epochs.last()));
            epochs.extend(tuned.epochs);
            network = tuned.network;
        }
    }

    let history = TrainingHistory {
        kept_epoch: if pruning.is_empty() { kept_epoch } else { epochs.len() },
        epochs,
        stopped_early,
        train_rows: data.split.train.len(),
        validation_rows: data.split.validation.len(),
        seconds: started.elapsed().as_secs_f64(),
        augmented_rows: data.train_rows.len() - data.split.train.len(),
        pruning,
    };
    Ok(TrainedModel::from_parts(
        network,
        device,
        config.clone(),
        data.normalisation,
        set.label_names().to_vec(),
        history,
    ))
}

fn prune_step(step: usize, arch: &Architecture, metrics: Option<&EpochMetrics>) -> PruneStep {
    PruneStep {
        step,
        conv_filters: arch.conv_filters.clone(),
        hidden: arch.hidden.clone(),
        macs: arch.macs(),
        parameters: arch.parameters(),
        accuracy: metrics.and_then(|m| m.validation_accuracy.or(m.train_accuracy)),
    }
}

/// How long one stage trains.
struct Plan {
    epochs: usize,
    patience: Option<usize>,
    stage: Stage,
}

struct LoopRngs {
    shuffle: SmallRng,
    dropout: SmallRng,
    masks: SmallRng,
}

/// What a stage's epochs produced.
struct Trained {
    /// The kept weights (inference device).
    network: Network,
    epochs: Vec<EpochMetrics>,
    kept_epoch: usize,
    stopped_early: bool,
}

/// The rows a stage trains and validates on, normalised once.
struct EpochData<'s> {
    config: &'s LearnConfig,
    labels: &'s [usize],
    n_rows: usize,
    n_features: usize,
    n_classes: usize,
    split: split::Split,
    normalisation: Normalisation,
    normalised: Vec<f32>,
    /// Augmented rows (normalised) and the row each was made from.
    augmented: Vec<f32>,
    origin: &'s [usize],
    /// Training rows: `< n_rows` an original row, else augmented row `i - n_rows`.
    train_rows: Vec<usize>,
    validation_rows: Vec<f32>,
    validation_labels: Vec<usize>,
    /// The teacher's softened scores per row (originals, then augmented), with temperature and
    /// weight.
    soft: Option<(Vec<f32>, f32, f32)>,
    /// `(time, channels)` and the mask settings, when masks are on.
    masks: Option<(SampleShape, &'s Augment)>,
}

impl<'s> EpochData<'s> {
    fn new(set: &'s TrainingSet<'s>, config: &'s LearnConfig, teacher: Option<&TrainedModel>) -> Self {
        let (n_rows, n_features, n_classes) = (set.n_rows(), set.n_features(), set.n_classes());
        let labels = set.labels();
        let split = split::stratified(
            labels,
            n_classes,
            config.validation_split,
            &mut rng_for(config.seed, RngStream::Split),
        );
        let normalisation =
            Normalisation::fit(split.train.iter().map(|&row_idx| set.row(row_idx)), n_features);
        let normalised = normalisation.apply(set.features());
        let validation_rows: Vec<f32> = split
            .validation
            .iter()
            .flat_map(|&row_idx| row_of(&normalised, n_features, row_idx))
            .copied()
            .collect();
        let validation_labels: Vec<usize> = split.validation.iter().map(|&row_idx| labels[row_idx]).collect();

        // Augmented copies train only when the row they came from does (never validation rows).
        let (augmented, origin) = match set.augmented() {
            Some(augmented) if config.augment.is_some() => {
                (normalisation.apply(augmented.features), augmented.origin)
            }
            _ => (Vec::new(), &[][..]),
        };
        let mut is_train = vec![false; n_rows];
        for &row_idx in &split.train {
            is_train[row_idx] = true;
        }
        let mut train_rows = split.train.clone();
        train_rows.extend((0..origin.len()).filter(|&aug_idx| is_train[origin[aug_idx]]).map(|a| n_rows + a));

        let soft = teacher.map(|teacher| {
            let distill = config.distill.clone().unwrap_or_default();
            let mut scores = teacher.logits(set.features());
            if let Some(augmented) = set.augmented().filter(|_| !origin.is_empty()) {
                scores.extend(teacher.logits(augmented.features));
            }
            for row in scores.chunks_exact_mut(n_classes) {
                softmax_in_place(row, distill.temperature);
            }
            (scores, distill.temperature, distill.weight)
        });
        let masks = match (&config.augment, set.shape()) {
            (Some(augment), Some(shape)) if augment.masks_features() => Some((shape, augment)),
            _ => None,
        };
        EpochData {
            config,
            labels,
            n_rows,
            n_features,
            n_classes,
            split,
            normalisation,
            normalised,
            augmented,
            origin,
            train_rows,
            validation_rows,
            validation_labels,
            soft,
            masks,
        }
    }

    fn label(&self, row: usize) -> usize {
        if row < self.n_rows { self.labels[row] } else { self.labels[self.origin[row - self.n_rows]] }
    }

    /// Trains `model` (on the autodiff device) for `plan.epochs`, validating after each.
    fn run(
        &self,
        mut model: Network,
        plan: Plan,
        rngs: &mut LoopRngs,
        cancel: &AtomicBool,
        progress: &mut dyn FnMut(&EpochMetrics) -> ControlFlow<()>,
    ) -> Result<Trained, TrainError> {
        let (n_features, n_classes, batch_size) = (self.n_features, self.n_classes, self.config.batch_size);
        let device = self.config.backend.device();
        let train_device = device.clone().autodiff();
        let mut optimizer = AdamConfig::new().init();
        let mut history = Vec::with_capacity(plan.epochs);
        let mut best: Option<(f32, usize, Network)> = None;
        let mut stopped_early = false;
        let mut order = self.train_rows.clone();
        let mut batch_rows = Vec::with_capacity(batch_size * n_features);
        let mut batch_targets = Vec::with_capacity(batch_size * n_classes);
        let mut batch_soft = Vec::with_capacity(batch_size * n_classes);

        for epoch in 1..=plan.epochs {
            order.shuffle(&mut rngs.shuffle);
            let mut loss_sum = 0.0f64;
            let mut correct = 0usize;
            for batch in order.chunks(batch_size) {
                if cancel.load(Ordering::Relaxed) {
                    return Err(TrainError::Cancelled { epochs_completed: history.len() });
                }
                batch_rows.clear();
                batch_targets.clear();
                batch_soft.clear();
                for &row in batch {
                    let start = batch_rows.len();
                    if row < self.n_rows {
                        batch_rows.extend_from_slice(row_of(&self.normalised, n_features, row));
                    } else {
                        batch_rows.extend_from_slice(row_of(&self.augmented, n_features, row - self.n_rows));
                        if let Some((shape, augment)) = self.masks {
                            mask(&mut batch_rows[start..], shape, augment, &mut rngs.masks);
                        }
                    }
                    let label = self.label(row);
                    batch_targets
                        .extend((0..n_classes).map(|class| if class == label { 1.0f32 } else { 0.0 }));
                    if let Some((scores, _, _)) = &self.soft {
                        batch_soft.extend_from_slice(row_of(scores, n_classes, row));
                    }
                }
                let input = tensor(batch_rows.clone(), [batch.len(), n_features], &train_device);
                let targets = tensor(batch_targets.clone(), [batch.len(), n_classes], &train_device);

                let logits = model.forward(input, Some(&mut rngs.dropout));
                let logits_values = to_vec(logits.to_data());
                let hard = activation::log_softmax(logits.clone(), 1).mul(targets).sum_dim(1).mean().neg();
                loss_sum +=
                    f64::from(hard.to_data().try_to_vec::<f32>().expect("f32 loss")[0]) * batch.len() as f64;
                correct += batch
                    .iter()
                    .zip(logits_values.chunks_exact(n_classes))
                    .filter(|(row, row_logits)| argmax(row_logits) == self.label(**row))
                    .count();
                let loss = match &self.soft {
                    // Hinton et al.: the soft term is scaled by T² so its gradients keep their size.
                    Some((_, temperature, weight)) => {
                        let soft_targets =
                            tensor(batch_soft.clone(), [batch.len(), n_classes], &train_device);
                        let soft = activation::log_softmax(logits.div_scalar(*temperature), 1)
                            .mul(soft_targets)
                            .sum_dim(1)
                            .mean()
                            .neg();
                        hard.mul_scalar(1.0 - *weight) + soft.mul_scalar(*weight * temperature * temperature)
                    }
                    None => hard,
                };
                let gradients = GradientsParams::from_grads(loss.backward(), &model);
                model = optimizer.step(f64::from(self.config.learning_rate), model, gradients);
            }
            let n_train = order.len() as f64;
            let (validation_loss, validation_accuracy) = if self.validation_labels.is_empty() {
                (None, None)
            } else {
                let snapshot = model.valid();
                let logits = infer_logits(&snapshot, &self.validation_rows, &device);
                let (loss, accuracy) = loss_and_accuracy(&logits, &self.validation_labels, n_classes);
                (Some(loss), Some(accuracy))
            };
            let metrics = EpochMetrics {
                epoch,
                epochs: plan.epochs,
                train_loss: (loss_sum / n_train) as f32,
                train_accuracy: Some((correct as f64 / n_train) as f32),
                validation_loss,
                validation_accuracy,
                stage: plan.stage,
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

            if let Some(patience) = plan.patience {
                let improved = best.as_ref().is_none_or(|(best_loss, _, _)| monitored < *best_loss);
                if improved {
                    best = Some((monitored, epoch, model.valid()));
                } else if epoch - best.as_ref().map_or(0, |(_, best_epoch, _)| *best_epoch) >= patience {
                    stopped_early = epoch < plan.epochs;
                    break;
                }
            }
        }
        let (network, kept_epoch) = match best {
            Some((_, best_epoch, network)) => (network, best_epoch),
            None => (model.valid(), history.len()),
        };
        Ok(Trained { network, epochs: history, kept_epoch, stopped_early })
    }
}

/// SpecAugment on one normalised row of `(time, channels)`: `masks` time masks and `masks`
/// channel masks of random width, set to 0 (the training mean).
fn mask(row: &mut [f32], shape: SampleShape, augment: &Augment, rng: &mut SmallRng) {
    for _ in 0..augment.masks {
        if augment.time_mask > 0 {
            let width = rng.random_range(0..=augment.time_mask.min(shape.time));
            let start = rng.random_range(0..=shape.time - width);
            row[start * shape.channels..(start + width) * shape.channels].fill(0.0);
        }
        if augment.freq_mask > 0 {
            let width = rng.random_range(0..=augment.freq_mask.min(shape.channels));
            let start = rng.random_range(0..=shape.channels - width);
            for step in row.chunks_exact_mut(shape.channels) {
                step[start..start + width].fill(0.0);
            }
        }
    }
}

fn softmax_in_place(row: &mut [f32], temperature: f32) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for value in row.iter_mut() {
        *value = ((*value - max) / temperature).exp();
        sum += *value;
    }
    for value in row.iter_mut() {
        *value /= sum;
    }
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
