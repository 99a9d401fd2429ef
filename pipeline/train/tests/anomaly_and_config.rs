//! K-means anomaly detection end to end, and the `[learn]` table as it appears in `mote.toml`.

mod common;

use std::ops::ControlFlow;
use std::sync::atomic::AtomicBool;

use common::gaussian_clusters;
use mote_train::{AnomalyModel, BlockConfig, LearnConfig, LearnedBlock, TrainError, TrainingSet, train};

fn kmeans(clusters: usize) -> LearnConfig {
    LearnConfig::with_block(BlockConfig::KMeans { clusters })
}

#[test]
fn kmeans_separates_obvious_clusters_and_scores_an_outlier_high() {
    let (features, truth) = gaussian_clusters(50, 3, 4, 0.1, 21, 22);
    let set = TrainingSet::unlabelled(&features, 4).unwrap();
    let mut iterations = 0;
    let block = train(&set, &kmeans(3), &AtomicBool::new(false), |_| {
        iterations += 1;
        ControlFlow::Continue(())
    })
    .unwrap();
    let LearnedBlock::Anomaly(model) = block else { panic!("k-means gives an anomaly model") };
    assert_eq!(iterations, model.history().epochs.len());

    // Every true cluster maps onto exactly one k-means cluster, and different ones onto different.
    let assigned: Vec<usize> =
        model.nearest_clusters(&features).into_iter().map(|(cluster, _)| cluster).collect();
    let mut mapping = [None; 3];
    for (&class, &cluster) in truth.iter().zip(&assigned) {
        assert_eq!(*mapping[class].get_or_insert(cluster), cluster, "class {class} split across clusters");
    }
    let mut clusters: Vec<_> = mapping.iter().map(|c| c.unwrap()).collect();
    clusters.sort_unstable();
    assert_eq!(clusters, vec![0, 1, 2]);

    let training_scores = model.scores(&features);
    let typical = training_scores.iter().sum::<f32>() / training_scores.len() as f32;
    assert!((0.5..1.5).contains(&typical), "mean training score {typical}");
    let max_training = training_scores.iter().copied().fold(0.0, f32::max);
    let outlier = [5.0f32, -5.0, 5.0, -5.0];
    let outlier_score = model.scores(&outlier)[0];
    assert!(
        outlier_score > 10.0 * max_training.max(1.0),
        "outlier {outlier_score}, training max {max_training}"
    );

    // Same seed, same centroids; save and load keeps the scores.
    let again =
        mote_train::train_anomaly(&set, &kmeans(3), &AtomicBool::new(false), |_| ControlFlow::Continue(()))
            .unwrap();
    assert_eq!(again.centroids(), model.centroids());
    let dir = tempfile::tempdir().unwrap();
    model.save(dir.path()).unwrap();
    let loaded = AnomalyModel::load(dir.path()).unwrap();
    assert_eq!(loaded.scores(&features), training_scores);
    assert!(matches!(mote_train::TrainedModel::load(dir.path()), Err(TrainError::ModelFormat { .. })));
}

#[test]
fn kmeans_needs_as_many_rows_as_clusters() {
    let features = [0.0f32; 6];
    let set = TrainingSet::unlabelled(&features, 2).unwrap();
    let error = train(&set, &kmeans(8), &AtomicBool::new(false), |_| ControlFlow::Continue(())).unwrap_err();
    assert_eq!(error.code(), "train.data", "{error}");
}

#[derive(Debug, serde::Deserialize)]
#[allow(dead_code)]
struct MoteToml {
    project: toml::Table,
    learn: LearnConfig,
}

#[test]
fn learn_table_parses_from_mote_toml() {
    let text = r#"
        [project]
        name = "gestures"

        [learn]
        block = "dense"
        hidden = [32, 16]
        dropout = 0.2
        epochs = 60
        early_stopping_patience = 10
        seed = 1234
    "#;
    let config = toml::from_str::<MoteToml>(text).unwrap().learn;
    assert_eq!(config.block, BlockConfig::Dense { hidden: vec![32, 16], dropout: 0.2 });
    assert_eq!((config.epochs, config.early_stopping_patience, config.seed), (60, Some(10), 1234));
    assert_eq!(config.batch_size, 32);
}

#[test]
fn a_misspelt_learn_key_is_an_error_naming_it() {
    let text = "[project]\nname = \"x\"\n\n[learn]\nblock = \"dense\"\nlearning_rte = 0.01\n";
    let error = toml::from_str::<MoteToml>(text).unwrap_err().to_string();
    eprintln!("{error}");
    assert!(error.contains("learning_rte"), "{error}");
    assert!(error.contains("learning_rate"), "the expected keys are listed: {error}");
}

#[test]
fn trained_blocks_can_move_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<mote_train::TrainedModel>();
    assert_send_sync::<AnomalyModel>();
    assert_send_sync::<LearnedBlock>();
    assert_send_sync::<TrainError>();
}
