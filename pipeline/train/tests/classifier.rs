//! Training the dense and conv1d classifiers end to end: learning, determinism, cancellation,
//! early stopping, backends, export and save/load.

mod common;

use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{accuracy, gaussian_clusters, motion_windows, names};
use mote_train::{
    Backend, BlockConfig, EpochMetrics, LearnConfig, LearnedBlock, SampleShape, TrainError, TrainedModel,
    TrainingSet, evaluate, train, train_classifier,
};

fn keep_going(_: &EpochMetrics) -> ControlFlow<()> {
    ControlFlow::Continue(())
}

fn dense_config(epochs: usize) -> LearnConfig {
    LearnConfig { epochs, ..LearnConfig::default() }
}

type Rows = (Vec<f32>, Vec<usize>);

/// 4 classes × 10 rows of 42 features (a BasicMotions-sized set) and a fresh test set.
fn basic_motions_like() -> (Rows, Rows) {
    (gaussian_clusters(10, 4, 42, 0.6, 7, 1), gaussian_clusters(25, 4, 42, 0.6, 7, 2))
}

fn train_dense(features: &[f32], labels: &[usize], config: &LearnConfig) -> TrainedModel {
    let set = TrainingSet::new(features, 42, labels, names(4)).unwrap();
    train_classifier(&set, config, &AtomicBool::new(false), keep_going).unwrap()
}

#[test]
fn dense_learns_a_separable_problem() {
    let ((features, labels), (test_features, test_labels)) = basic_motions_like();
    let started = Instant::now();
    let model = train_dense(&features, &labels, &dense_config(40));
    let history = model.history();
    assert_eq!((history.train_rows, history.validation_rows), (32, 8));
    assert_eq!(history.epochs.len(), 40);
    let last = history.epochs.last().unwrap();
    assert!(last.train_loss < history.epochs[0].train_loss);
    let probabilities = model.predict(&test_features);
    let test_accuracy = accuracy(&probabilities, &test_labels);
    assert!(test_accuracy >= 0.95, "test accuracy {test_accuracy}, history {:?}", history.epochs.last());
    let evaluation = evaluate(&probabilities, &test_labels, 4, 0.0);
    assert_eq!(evaluation.accuracy_all, test_accuracy);
    eprintln!("dense 40 epochs on 32 rows: {:?}, test accuracy {test_accuracy}", started.elapsed());
}

#[test]
fn same_seed_gives_bit_identical_weights_and_metrics() {
    let ((features, labels), _) = basic_motions_like();
    let config = dense_config(15);
    let first = train_dense(&features, &labels, &config);
    let second = train_dense(&features, &labels, &config);
    let bits = |model: &TrainedModel| model.export().parameters().map(f32::to_bits).collect::<Vec<_>>();
    assert_eq!(bits(&first), bits(&second));
    assert_eq!(first.history().epochs, second.history().epochs);
    assert_eq!(first.normalisation(), second.normalisation());

    let other_seed = train_dense(&features, &labels, &LearnConfig { seed: 7, ..config });
    assert_ne!(bits(&first), bits(&other_seed));
}

#[test]
fn conv1d_is_deterministic_too() {
    let (features, labels) = motion_windows(6, 3, 20, 3, 5);
    let config = LearnConfig {
        block: BlockConfig::Conv1d {
            filters: vec![4],
            kernel_size: 3,
            pool: 2,
            dense: vec![8],
            dropout: 0.2,
            separable: false,
        },
        epochs: 3,
        batch_size: 8,
        ..LearnConfig::default()
    };
    let run = || {
        let set = TrainingSet::new(&features, 60, &labels, names(3))
            .unwrap()
            .with_shape(SampleShape { time: 20, channels: 3 })
            .unwrap();
        let model = train_classifier(&set, &config, &AtomicBool::new(false), keep_going).unwrap();
        (model.export().parameters().map(f32::to_bits).collect::<Vec<_>>(), model.history().epochs.clone())
    };
    assert_eq!(run(), run());
}

#[test]
fn conv1d_learns_raw_windows() {
    let (features, labels) = motion_windows(20, 3, 32, 3, 11);
    let (test_features, test_labels) = motion_windows(20, 3, 32, 3, 12);
    let config = LearnConfig {
        block: BlockConfig::Conv1d {
            filters: vec![4, 8],
            kernel_size: 3,
            pool: 2,
            dense: vec![],
            dropout: 0.1,
            separable: false,
        },
        epochs: 40,
        batch_size: 16,
        learning_rate: 0.01,
        ..LearnConfig::default()
    };
    let started = Instant::now();
    let set = TrainingSet::new(&features, 96, &labels, names(3))
        .unwrap()
        .with_shape(SampleShape { time: 32, channels: 3 })
        .unwrap();
    let model = train_classifier(&set, &config, &AtomicBool::new(false), keep_going).unwrap();
    let test_accuracy = accuracy(&model.predict(&test_features), &test_labels);
    eprintln!("conv1d 40 epochs on 48 rows of 32×3: {:?}, test accuracy {test_accuracy}", started.elapsed());
    assert!(test_accuracy >= 0.9, "test accuracy {test_accuracy}: {:?}", model.history().epochs.last());
}

#[test]
fn conv1d_without_a_shape_is_an_error() {
    let (features, labels) = motion_windows(2, 2, 8, 2, 1);
    let set = TrainingSet::new(&features, 16, &labels, names(2)).unwrap();
    let config = LearnConfig::with_block(BlockConfig::default_conv1d());
    let error = train_classifier(&set, &config, &AtomicBool::new(false), keep_going).unwrap_err();
    assert!(matches!(error, TrainError::Architecture(_)), "{error}");
}

#[test]
fn cancel_flag_stops_training_promptly() {
    let (features, labels) = gaussian_clusters(50, 4, 42, 0.6, 7, 1);
    let set = TrainingSet::new(&features, 42, &labels, names(4)).unwrap();
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&cancel);
    let cancelled_at = Arc::new(std::sync::Mutex::new(None));
    let cancelled_at_writer = Arc::clone(&cancelled_at);
    let canceller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        *cancelled_at_writer.lock().unwrap() = Some(Instant::now());
        flag.store(true, Ordering::Relaxed);
    });
    let mut epochs_seen = 0;
    let result = train_classifier(&set, &dense_config(100_000), &cancel, |_| {
        epochs_seen += 1;
        ControlFlow::Continue(())
    });
    let returned = Instant::now();
    canceller.join().unwrap();
    let latency = returned - cancelled_at.lock().unwrap().expect("flag was set");
    match result {
        Err(error @ TrainError::Cancelled { epochs_completed }) => {
            assert!(error.is_cancelled());
            assert_eq!(error.code(), "train.cancelled");
            assert_eq!(epochs_completed, epochs_seen);
        }
        other => panic!("expected Cancelled, got {other:?}"),
    }
    eprintln!("cancel latency {latency:?} after {epochs_seen} epochs");
    assert!(latency < Duration::from_millis(500), "cancel took {latency:?}");
}

#[test]
fn progress_break_cancels_after_that_epoch() {
    let ((features, labels), _) = basic_motions_like();
    let set = TrainingSet::new(&features, 42, &labels, names(4)).unwrap();
    let mut seen = Vec::new();
    let result = train(&set, &dense_config(50), &AtomicBool::new(false), |metrics| {
        seen.push(metrics.epoch);
        if metrics.epoch == 3 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
    });
    assert!(matches!(result, Err(TrainError::Cancelled { epochs_completed: 3 })), "{result:?}");
    assert_eq!(seen, vec![1, 2, 3]);
}

#[test]
fn early_stopping_stops_and_keeps_the_best_epoch() {
    // Random labels: nothing generalises, so the validation loss soon stops improving.
    let (features, _) = gaussian_clusters(20, 4, 42, 1.0, 3, 4);
    let labels: Vec<usize> = (0..80).map(|row| (row * 7 + row / 3) % 4).collect();
    let config = LearnConfig {
        epochs: 300,
        early_stopping_patience: Some(4),
        learning_rate: 0.02,
        ..LearnConfig::default()
    };
    let model = train_dense(&features, &labels, &config);
    let history = model.history();
    assert!(history.stopped_early, "ran all {} epochs", history.epochs.len());
    assert_eq!(history.epochs.len(), history.kept_epoch + 4);
    let best = history.epochs.iter().map(|m| m.validation_loss.unwrap()).fold(f32::INFINITY, f32::min);
    assert_eq!(history.kept().unwrap().validation_loss, Some(best));
}

#[test]
fn both_backends_train_a_dense_model() {
    let ((features, labels), (test_features, test_labels)) = basic_motions_like();
    for backend in [Backend::Flex, Backend::NdArray] {
        let started = Instant::now();
        let model =
            train_dense(&features, &labels, &LearnConfig { backend, epochs: 30, ..LearnConfig::default() });
        let test_accuracy = accuracy(&model.predict(&test_features), &test_labels);
        eprintln!("{backend:?}: 30 epochs in {:?}, test accuracy {test_accuracy}", started.elapsed());
        assert!(test_accuracy >= 0.95, "{backend:?}: {test_accuracy}");
    }
}

#[test]
fn export_describes_the_same_function_as_predict() {
    let ((features, labels), (test_features, _)) = basic_motions_like();
    let dense = train_dense(&features, &labels, &dense_config(5));
    let (windows, window_labels) = motion_windows(4, 3, 20, 3, 9);
    let conv_config = LearnConfig {
        block: BlockConfig::Conv1d {
            filters: vec![4, 5],
            kernel_size: 3,
            pool: 2,
            dense: vec![6],
            dropout: 0.1,
            separable: false,
        },
        epochs: 2,
        ..LearnConfig::default()
    };
    let conv_set = TrainingSet::new(&windows, 60, &window_labels, names(3))
        .unwrap()
        .with_shape(SampleShape { time: 20, channels: 3 })
        .unwrap();
    let conv = train_classifier(&conv_set, &conv_config, &AtomicBool::new(false), keep_going).unwrap();
    let mut separable_config = conv_config.clone();
    if let BlockConfig::Conv1d { separable, .. } = &mut separable_config.block {
        *separable = true;
    }
    let separable =
        train_classifier(&conv_set, &separable_config, &AtomicBool::new(false), keep_going).unwrap();

    for (model, rows) in [(&dense, &test_features[..]), (&conv, &windows[..]), (&separable, &windows[..])] {
        let exported = model.export();
        assert_eq!(exported.layers.last().unwrap().activation, mote_train::Activation::Softmax);
        for (row, probabilities) in rows.chunks_exact(model.n_features()).zip(model.predict(rows)) {
            let reference = exported.predict_row(row);
            for (a, b) in reference.iter().zip(&probabilities) {
                assert!((a - b).abs() < 1e-5, "{reference:?} vs {probabilities:?}");
            }
        }
    }
    let conv_export = conv.export();
    let kinds: Vec<_> = conv_export.layers.iter().map(|layer| layer.kind).collect();
    use mote_train::LayerKind::*;
    assert_eq!(
        kinds,
        vec![
            Conv1d { kernel_size: 3 },
            MaxPool1d { size: 2 },
            Conv1d { kernel_size: 3 },
            MaxPool1d { size: 2 },
            Flatten,
            Dense,
            Dense
        ]
    );
    assert_eq!(conv_export.layers[0].weight_shape, vec![4, 3, 3]);
    assert_eq!(conv_export.layers[4].output_shape, vec![3 * 5]);
    assert_eq!(conv_export.layers[5].weight_shape, vec![6, 15]);

    // Separable: a depthwise convolution (one kernel per channel) then a pointwise one per block.
    let separable_export = separable.export();
    let kinds: Vec<_> = separable_export.layers.iter().map(|layer| layer.kind).collect();
    assert_eq!(
        kinds,
        vec![
            DepthwiseConv1d { kernel_size: 3 },
            Conv1d { kernel_size: 1 },
            MaxPool1d { size: 2 },
            DepthwiseConv1d { kernel_size: 3 },
            Conv1d { kernel_size: 1 },
            MaxPool1d { size: 2 },
            Flatten,
            Dense,
            Dense
        ]
    );
    assert_eq!(separable_export.layers[0].weight_shape, vec![3, 3]);
    assert_eq!(separable_export.layers[0].activation, mote_train::Activation::None);
    assert_eq!(separable_export.layers[1].weight_shape, vec![4, 1, 3]);
    assert_eq!(separable_export.layers[3].weight_shape, vec![3, 4]);
    assert_eq!(separable_export.layers[6].output_shape, vec![3 * 5]);
    let macs = |model: &mote_train::TrainedModel| model.architecture().macs();
    assert!(macs(&separable) < macs(&conv), "{} vs {}", macs(&separable), macs(&conv));
}

#[test]
fn save_then_load_predicts_the_same() {
    let ((features, labels), (test_features, _)) = basic_motions_like();
    let model = train_dense(&features, &labels, &dense_config(5));
    let dir = tempfile::tempdir().unwrap();
    model.save(dir.path()).unwrap();
    assert!(dir.path().join("weights.bpk").is_file() && dir.path().join("model.json").is_file());

    let loaded = TrainedModel::load(dir.path()).unwrap();
    assert_eq!(loaded.predict(&test_features), model.predict(&test_features));
    assert_eq!(loaded.history(), model.history());
    assert_eq!(loaded.label_names(), model.label_names());
    assert_eq!(loaded.config(), model.config());
    match LearnedBlock::load(dir.path()).unwrap() {
        LearnedBlock::Classifier(again) => {
            assert_eq!(again.predict(&test_features), model.predict(&test_features))
        }
        other => panic!("{other:?}"),
    }

    // A conv model round-trips as well.
    let (windows, window_labels) = motion_windows(4, 3, 20, 3, 9);
    let set = TrainingSet::new(&windows, 60, &window_labels, names(3))
        .unwrap()
        .with_shape(SampleShape { time: 20, channels: 3 })
        .unwrap();
    let conv_config = LearnConfig { epochs: 2, ..LearnConfig::with_block(BlockConfig::default_conv1d()) };
    let conv = train_classifier(&set, &conv_config, &AtomicBool::new(false), keep_going).unwrap();
    let conv_dir = dir.path().join("conv");
    conv.save(&conv_dir).unwrap();
    assert_eq!(TrainedModel::load(&conv_dir).unwrap().predict(&windows), conv.predict(&windows));

    // A damaged weights file is an error, not a panic.
    std::fs::write(dir.path().join("weights.bpk"), b"not a record").unwrap();
    let error = TrainedModel::load(dir.path()).unwrap_err();
    assert_eq!(error.code(), "train.record", "{error}");
}
