//! `[learn.augment]` makes copies of the training windows only — never of test windows — the
//! same ones for the same seed, and training uses the copies of the rows it trains on.

use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use mote_pipeline::augment::{augment_training_windows, project_augmented};
use mote_pipeline::features::{FeatureSource, compute_features, project_features};
use mote_pipeline::impulse::Impulse;
use mote_pipeline::models::latest_model;
use mote_pipeline::training::train_project;
use mote_project::{ImportOptions, Project, SampleFilter, Split, SystemClock};
use mote_train::LearnedBlock;

async fn basic_motions(dir: &Path, learn: &str) -> Project {
    let mut project = Project::create(dir.join("p"), None, Arc::new(SystemClock)).await.unwrap();
    let dataset = Path::new(env!("CARGO_MANIFEST_DIR")).join("../datasets/basic-motions");
    project.import_dir(&dataset, &ImportOptions::default()).await.unwrap();
    let mut config = project.config().clone();
    config.learn.params.extend(learn.parse::<toml::Table>().unwrap());
    project.save_config(config).unwrap();
    project
}

fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

#[tokio::test]
async fn copies_are_made_of_training_windows_only_and_follow_the_seed() {
    let temp = tempfile::tempdir().unwrap();
    let project = basic_motions(
        temp.path(),
        "epochs = 20\n[augment]\ncopies = 3\nnoise = 0.2\nscale = 0.1\nshift_ms = 500\nstretch = 0.1\nrotate_deg = 20",
    )
    .await;
    let impulse = Impulse::from_config(project.config()).unwrap();
    let augment = impulse.learn.augment.clone().expect("[learn.augment] is read");
    let samples = project.load_samples(&SampleFilter::default()).await.unwrap();
    let all = compute_features(&samples, &impulse).unwrap();
    let train = all.split(Split::Train);
    let test = all.split(Split::Test);
    assert_eq!((train.n_rows(), test.n_rows()), (40, 40));

    // Three copies of each of the 40 training windows; every copy comes from a training row.
    let rows = augment_training_windows(&samples, &impulse, &train, &augment, 42).unwrap();
    assert_eq!(rows.origin.len(), 120);
    assert_eq!(rows.features.len(), 120 * train.n_features);
    assert!(rows.origin.iter().all(|&row| train.splits[row] == Split::Train));
    assert_eq!(rows.origin.iter().filter(|&&row| row == 7).count(), 3);
    // The copies differ from their originals (and from each other).
    let copy = |idx: usize| &rows.features[idx * train.n_features..(idx + 1) * train.n_features];
    assert_ne!(bits(copy(0)), bits(train.row(rows.origin[0])));
    assert_ne!(bits(copy(0)), bits(copy(1)));
    // Test samples given to it are skipped: the same rows come from the training samples alone.
    let training_samples: Vec<_> = samples.iter().filter(|s| s.info.split == Split::Train).cloned().collect();
    let from_train_only =
        augment_training_windows(&training_samples, &impulse, &train, &augment, 42).unwrap();
    assert_eq!(bits(&from_train_only.features), bits(&rows.features));

    // The same seed gives the same copies; another seed, others.
    let again = augment_training_windows(&samples, &impulse, &train, &augment, 42).unwrap();
    assert_eq!((bits(&again.features), &again.origin), (bits(&rows.features), &rows.origin));
    let other = augment_training_windows(&samples, &impulse, &train, &augment, 43).unwrap();
    assert_ne!(bits(&other.features), bits(&rows.features));

    // The project's features (what testing and the test split see) do not change with augmentation.
    let (features, _) = project_features(&project, &impulse, &SampleFilter::default()).await.unwrap();
    assert_eq!(bits(&features.features), bits(&all.features));

    // Training: the copies of the 36 rows it trains on (4 of 40 validate), cached for next time.
    let report = train_project(&project, Arc::new(AtomicBool::new(false)), |_| ControlFlow::Continue(()))
        .await
        .unwrap();
    let stored = latest_model(&project).await.unwrap();
    let LearnedBlock::Classifier(model) = LearnedBlock::load(&project.model_dir(&stored)).unwrap() else {
        panic!("a classifier")
    };
    let history = model.history();
    assert_eq!((history.train_rows, history.validation_rows, history.augmented_rows), (36, 4, 108));
    assert!(report.test.is_some());
    let (cached, how) = project_augmented(&project, &impulse, &train, &augment, 42).await.unwrap();
    assert_eq!(how, FeatureSource::Cached);
    assert_eq!(bits(&cached.features), bits(&rows.features));
    let second = train_project(&project, Arc::new(AtomicBool::new(false)), |_| ControlFlow::Continue(()))
        .await
        .unwrap();
    assert_eq!(second.weights_sha256, report.weights_sha256, "the same seed trains the same model");
}

#[tokio::test]
async fn an_augmentation_the_data_cannot_take_is_refused_before_training() {
    let temp = tempfile::tempdir().unwrap();
    let mut project =
        basic_motions(temp.path(), "epochs = 5\n[augment]\nnoise = 0.1\nnoise_label = \"rain\"").await;
    let error = train_project(&project, Arc::new(AtomicBool::new(false)), |_| ControlFlow::Continue(()))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "features.augment");
    assert!(error.to_string().contains("rain"), "{error}");
    assert!(latest_model(&project).await.is_err(), "no model stored");

    // Rotation needs axes in threes.
    let mut config = project.config().clone();
    config.data.axes.truncate(2);
    config
        .learn
        .params
        .insert("augment".into(), toml::Value::Table("rotate_deg = 10".parse::<toml::Table>().unwrap()));
    project.save_config(config).unwrap();
    let error = train_project(&project, Arc::new(AtomicBool::new(false)), |_| ControlFlow::Continue(()))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "features.augment");
    assert!(error.to_string().contains("groups of 3"), "{error}");
}
