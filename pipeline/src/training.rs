//! Training a project's impulse and testing its model: features → learning block → evaluation,
//! with the run, the model and its plots stored in the project.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use mote_dsp::OutputShape;
use mote_project::runs::{ArtifactFile, RunStatus};
use mote_project::{Project, SampleFilter, Split};
use mote_report::Plot as _;
use mote_train::{EpochMetrics, LearnedBlock, SampleShape, TrainingSet};
use serde::Serialize;

pub use mote_train::{Evaluation, PruneStep, Stage};

use crate::augment::AugmentedRows;
use crate::augment::project_augmented;
use crate::features::{FeatureError, FeatureSet, FeatureSource, project_features};
use crate::impulse::{Impulse, ImpulseError};
use crate::int8::{Int8Error, Int8Report, impulse_meta, quantize_block};
use crate::models::{BLOB_FILE, ModelError, ModelMetrics, find_model, latest_model};

/// Windows whose top score is below this count as uncertain.
pub const DEFAULT_UNCERTAIN_THRESHOLD: f32 = 0.6;

#[derive(Debug, thiserror::Error)]
pub enum TrainingError {
    #[error(transparent)]
    Impulse(#[from] ImpulseError),
    #[error(transparent)]
    Features(#[from] FeatureError),
    #[error(transparent)]
    Project(#[from] mote_project::ProjectError),
    #[error(transparent)]
    Train(#[from] mote_train::TrainError),
    #[error(transparent)]
    Report(#[from] mote_report::ReportError),
    #[error("the training split has no samples; record or import some, or move samples to train")]
    NoTrainingData,
    #[error("the test split has no samples; move some samples to test (or run an automatic split)")]
    NoTestData,
    #[error("test label `{0}` is not one the model knows")]
    UnknownLabel(String),
    #[error("cannot use the model files: {0}")]
    Io(#[from] std::io::Error),
    #[error("model {0} scores anomalies; testing classifies the test windows, so train a classifier")]
    NotAClassifier(i64),
    #[error(
        "mote.toml [learn.distill] model = {0}: that model scores anomalies; a teacher must be a classifier"
    )]
    TeacherNotAClassifier(i64),
    #[error(transparent)]
    Int8(#[from] Int8Error),
    #[error(transparent)]
    Model(#[from] ModelError),
}

impl TrainingError {
    pub fn code(&self) -> &'static str {
        match self {
            TrainingError::Impulse(e) => e.code(),
            TrainingError::Features(e) => e.code(),
            TrainingError::Project(e) => e.code(),
            TrainingError::Train(e) => e.code(),
            TrainingError::Report(e) => e.code(),
            TrainingError::NoTrainingData => "train.no_training_data",
            TrainingError::NoTestData => "train.no_test_data",
            TrainingError::UnknownLabel(_) => "train.unknown_label",
            TrainingError::Io(_) => "train.io",
            TrainingError::NotAClassifier(_) => "train.not_a_classifier",
            TrainingError::TeacherNotAClassifier(_) => "train.teacher",
            TrainingError::Int8(e) => e.code(),
            TrainingError::Model(e) => e.code(),
        }
    }

    pub fn is_cancelled(&self) -> bool {
        matches!(self, TrainingError::Train(e) if e.is_cancelled())
    }
}

/// What a training run produced.
#[derive(Debug, Clone, Serialize)]
pub struct TrainReport {
    pub run: i64,
    pub model: i64,
    pub labels: Vec<String>,
    pub train_windows: usize,
    pub n_features: usize,
    pub epochs: Vec<EpochMetrics>,
    /// SHA-256 of every trained weight and bias (f32, little-endian, layer by layer): two runs
    /// with the same data, impulse and seed give the same fingerprint.
    pub weights_sha256: Option<String>,
    /// The test split, when it has samples.
    pub test: Option<Evaluation>,
    /// The int8 model (blob stored as `model.mote` with the model).
    pub int8: Int8Report,
    /// Whether the features came from the project's cache or were computed for this run.
    pub features: FeatureSource,
    /// Augmented copies of training windows that training used (`[learn.augment]`).
    pub augmented_windows: usize,
    /// With `[learn.prune]`: the network before pruning (step 0) and after each step.
    pub pruning: Vec<PruneStep>,
    /// The training loop alone (epochs, validation after each), seconds.
    pub fit_seconds: f64,
    /// The whole run (features, training, evaluation, quantization, plots, storing), seconds.
    pub seconds: f64,
}

/// The label order: the config's, else the sorted labels of the training rows.
fn label_names(project: &Project, train: &FeatureSet) -> Vec<String> {
    let configured = &project.config().data.labels;
    if !configured.is_empty() {
        return configured.clone();
    }
    let mut labels: Vec<String> = train.labels.clone();
    labels.sort();
    labels.dedup();
    labels
}

fn label_indices(set: &FeatureSet, names: &[String]) -> Result<Vec<usize>, TrainingError> {
    set.labels
        .iter()
        .map(|label| {
            names.iter().position(|n| n == label).ok_or_else(|| TrainingError::UnknownLabel(label.clone()))
        })
        .collect()
}

/// Trains the project's impulse on its training split, evaluates on the test split, and stores
/// the run and the model. `progress` is called after every epoch (on a worker thread) and may
/// stop training; so may `cancel`. A cancelled run is recorded as cancelled and stores no model.
pub async fn train_project(
    project: &Project,
    cancel: Arc<AtomicBool>,
    progress: impl FnMut(&EpochMetrics) -> ControlFlow<()> + Send + 'static,
) -> Result<TrainReport, TrainingError> {
    let started = std::time::Instant::now();
    let impulse = Impulse::from_config(project.config())?;
    let (all, features) = project_features(project, &impulse, &SampleFilter::default()).await?;
    let train = all.split(Split::Train);
    if train.n_rows() == 0 {
        return Err(TrainingError::NoTrainingData);
    }
    let labels = label_names(project, &train);
    let train_labels = label_indices(&train, &labels)?;
    let config_json = serde_json::json!({
        "impulse": project.config().dsp.block, "learn": impulse.learn,
        "axes": impulse.axes, "rate_hz": impulse.rate_hz, "window": { "length_ms": impulse.window.length_ms, "stride_ms": impulse.window.stride_ms },
    });
    let run = project.start_run(&config_json).await?;

    let learn = impulse.learn.clone();
    let shape = match impulse.output {
        OutputShape::TimeSeries { steps, channels } => Some(SampleShape { time: steps, channels }),
        _ => None,
    };
    let augmented = match &learn.augment {
        Some(augment) if learn.block.is_classifier() => {
            project_augmented(project, &impulse, &train, augment, learn.seed).await?.0
        }
        _ => AugmentedRows::default(),
    };
    let teacher = match learn.distill.as_ref().and_then(|distill| distill.model) {
        Some(id) => {
            let stored = find_model(project, Some(id)).await?;
            match LearnedBlock::load(&project.model_dir(&stored))? {
                LearnedBlock::Classifier(model) => Some(model),
                LearnedBlock::Anomaly(_) => return Err(TrainingError::TeacherNotAClassifier(id)),
            }
        }
        None => None,
    };
    let (names, n_features) = (labels.clone(), train.n_features);
    let train_for_calibration = train.clone();
    let trained = tokio::task::spawn_blocking(move || {
        let mut set = TrainingSet::new(&train.features, n_features, &train_labels, names)?;
        if let Some(shape) = shape {
            set = set.with_shape(shape)?;
        }
        let set = set.with_augmented(&augmented.features, &augmented.origin)?;
        let block = match &teacher {
            Some(teacher) => {
                mote_train::train_classifier_with_teacher(&set, &learn, teacher, &cancel, progress)
                    .map(LearnedBlock::Classifier)
            }
            None => mote_train::train(&set, &learn, &cancel, progress),
        };
        block.map(|block| (block, train.n_rows()))
    })
    .await
    .map_err(|e| std::io::Error::other(e.to_string()))?;
    let (block, train_windows) = match trained {
        Ok(done) => done,
        Err(error) => {
            let status = if error.is_cancelled() { RunStatus::Cancelled } else { RunStatus::Failed };
            project.finish_run(run, status, None, &[]).await?;
            return Err(error.into());
        }
    };
    let epochs = block.history().epochs.clone();
    let fit_seconds = block.history().seconds;
    let (augmented_windows, pruning) = (block.history().augmented_rows, block.history().pruning.clone());
    for epoch in &epochs {
        project
            .record_epoch(run, epoch.epoch as u32, &serde_json::to_value(epoch).unwrap_or_default())
            .await?;
    }

    let test_set = all.split(Split::Test);
    let test_truth = if test_set.n_rows() > 0 { Some(label_indices(&test_set, &labels)?) } else { None };
    let test = match (&block, &test_truth) {
        (LearnedBlock::Classifier(model), Some(truth)) => {
            let probabilities = model.predict(&test_set.features);
            Some(mote_train::evaluate(&probabilities, truth, labels.len(), DEFAULT_UNCERTAIN_THRESHOLD))
        }
        _ => None,
    };
    let meta = impulse_meta(&project.config().project.name, &impulse)?;
    let (blob, int8) = quantize_block(
        &block,
        &meta,
        &train_for_calibration,
        test_truth.as_ref().map(|truth| (&test_set, truth.as_slice())),
        DEFAULT_UNCERTAIN_THRESHOLD,
    )?;

    let mut files = model_files(&block)?;
    files.push(ArtifactFile { name: BLOB_FILE.into(), bytes: blob });
    files.extend(plots(&epochs, &labels, test.as_ref())?);
    let metrics = ModelMetrics {
        labels: labels.clone(),
        train_windows,
        test_accuracy: test.as_ref().map(|t| t.top1_accuracy),
        int8_test_accuracy: int8.comparison.as_ref().map(|c| c.int8.top1_accuracy),
        int8_agreement: int8.comparison.as_ref().map(|c| c.agreement),
        blob_bytes: Some(int8.blob_bytes),
        arena_bytes: Some(int8.arena_bytes),
        int8_tensors: int8.tensors.clone(),
    };
    let metrics = serde_json::to_value(&metrics).expect("metrics are plain numbers and strings");
    let model = project.save_model(Some(run), kind(&block), &files, &metrics).await?;
    let artifacts: Vec<_> = files.iter().map(|f| model.path.join(&f.name)).collect();
    project
        .finish_run(
            run,
            RunStatus::Completed,
            Some(&serde_json::to_value(&test).unwrap_or_default()),
            &artifacts,
        )
        .await?;
    Ok(TrainReport {
        run: run.0,
        model: model.id.0,
        labels,
        train_windows,
        n_features: all.n_features,
        epochs,
        weights_sha256: weights_fingerprint(&block),
        test,
        int8,
        features,
        augmented_windows,
        pruning,
        fit_seconds,
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn weights_fingerprint(block: &LearnedBlock) -> Option<String> {
    use sha2::Digest as _;
    let LearnedBlock::Classifier(model) = block else { return None };
    let mut hasher = sha2::Sha256::new();
    for layer in model.export().layers {
        for value in layer.weights.iter().chain(&layer.biases) {
            hasher.update(value.to_le_bytes());
        }
    }
    Some(hasher.finalize().iter().map(|byte| format!("{byte:02x}")).collect())
}

fn kind(block: &LearnedBlock) -> &'static str {
    match block {
        LearnedBlock::Classifier(_) => "classifier",
        LearnedBlock::Anomaly(_) => "anomaly",
    }
}

/// The learned block's files, written by the training crate and read back as artifacts.
fn model_files(block: &LearnedBlock) -> Result<Vec<ArtifactFile>, TrainingError> {
    let dir = tempfile::tempdir()?;
    block.save(dir.path())?;
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir.path())? {
        let entry = entry?;
        files.push(ArtifactFile {
            name: entry.file_name().to_string_lossy().into_owned(),
            bytes: std::fs::read(entry.path())?,
        });
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(files)
}

fn plots(
    epochs: &[EpochMetrics],
    labels: &[String],
    test: Option<&Evaluation>,
) -> Result<Vec<ArtifactFile>, TrainingError> {
    let mut files = Vec::new();
    let curves = mote_report::TrainingCurves {
        title: "Training".into(),
        epochs: epochs
            .iter()
            .filter_map(|e| {
                Some(mote_report::EpochMetrics {
                    epoch: e.epoch as u32,
                    train_loss: f64::from(e.train_loss),
                    train_accuracy: f64::from(e.train_accuracy?),
                    validation_loss: e.validation_loss.map(f64::from),
                    validation_accuracy: e.validation_accuracy.map(f64::from),
                })
            })
            .collect(),
    };
    if !curves.epochs.is_empty() {
        files.push(ArtifactFile { name: "training_curves.svg".into(), bytes: curves.to_svg()?.into_bytes() });
    }
    if let Some(test) = test {
        let matrix = mote_report::ConfusionMatrix {
            title: "Test set".into(),
            labels: labels.to_vec(),
            counts: test.confusion.iter().map(|row| row.iter().map(|&c| c as u64).collect()).collect(),
        };
        files
            .push(ArtifactFile { name: "confusion_matrix.svg".into(), bytes: matrix.to_svg()?.into_bytes() });
    }
    Ok(files)
}

/// Classifies the test split with the newest model.
pub async fn test_project(project: &Project, uncertain_threshold: f32) -> Result<Evaluation, TrainingError> {
    Ok(test_project_windows(project, uncertain_threshold).await?.evaluation)
}

/// A test window the model got wrong.
#[derive(Debug, Clone, Serialize)]
pub struct Misclassified {
    pub sample: String,
    /// Index of the window within its sample.
    pub window: usize,
    pub label: String,
    pub predicted: String,
    pub probability: f32,
}

/// The test split's evaluation, with every window the model got wrong.
#[derive(Debug, Clone, Serialize)]
pub struct TestReport {
    pub labels: Vec<String>,
    pub evaluation: Evaluation,
    pub misclassified: Vec<Misclassified>,
}

/// Like [`test_project`], keeping the windows the model got wrong.
pub async fn test_project_windows(
    project: &Project,
    uncertain_threshold: f32,
) -> Result<TestReport, TrainingError> {
    let stored = latest_model(project).await?;
    let block = LearnedBlock::load(&project.model_dir(&stored))?;
    let LearnedBlock::Classifier(model) = block else {
        return Err(TrainingError::NotAClassifier(stored.id.0));
    };
    let impulse = Impulse::from_config(project.config())?;
    let filter = SampleFilter { split: Some(Split::Test), ..SampleFilter::default() };
    let test = match project_features(project, &impulse, &filter).await {
        Ok((test, _)) => test,
        Err(FeatureError::Empty) => return Err(TrainingError::NoTestData),
        Err(error) => return Err(error.into()),
    };
    let labels = model.label_names().to_vec();
    let truth = label_indices(&test, &labels)?;
    let probabilities = model.predict(&test.features);
    let mut misclassified = Vec::new();
    let mut window_in_sample = 0;
    for (idx, (row, &true_class)) in probabilities.iter().zip(&truth).enumerate() {
        if idx > 0 && test.sample_names[idx] != test.sample_names[idx - 1] {
            window_in_sample = 0;
        }
        let predicted = (0..row.len()).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap_or(0);
        if predicted != true_class {
            misclassified.push(Misclassified {
                sample: test.sample_names[idx].clone(),
                window: window_in_sample,
                label: labels[true_class].clone(),
                predicted: labels[predicted].clone(),
                probability: row[predicted],
            });
        }
        window_in_sample += 1;
    }
    let evaluation = mote_train::evaluate(&probabilities, &truth, labels.len(), uncertain_threshold);
    Ok(TestReport { labels, evaluation, misclassified })
}
