//! A project's features are computed once per impulse and data: retraining reads them from the
//! project's cache, and anything they depend on — the DSP block, the window, a sample added,
//! relabelled, moved or cropped — computes them again. A damaged cache file is recomputed.

use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use mote_pipeline::features::{FeatureSource, compute_features, project_features};
use mote_pipeline::impulse::Impulse;
use mote_pipeline::training::train_project;
use mote_project::{ImportOptions, Project, SampleFilter, SystemClock};

async fn source(project: &Project) -> FeatureSource {
    let impulse = Impulse::from_config(project.config()).unwrap();
    project_features(project, &impulse, &SampleFilter::default()).await.unwrap().1
}

fn cache_files(project: &Project) -> Vec<std::path::PathBuf> {
    let dir = project.dir().join("cache/features");
    let mut files: Vec<_> =
        std::fs::read_dir(dir).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default();
    files.sort();
    files
}

#[tokio::test]
async fn features_are_computed_once_per_impulse_and_data() {
    let temp = tempfile::tempdir().unwrap();
    let mut project = Project::create(temp.path().join("p"), None, Arc::new(SystemClock)).await.unwrap();
    let dataset = Path::new(env!("CARGO_MANIFEST_DIR")).join("../datasets/basic-motions");
    project.import_dir(&dataset, &ImportOptions::default()).await.unwrap();
    let train = async |project: &Project| {
        train_project(project, Arc::new(AtomicBool::new(false)), |_| ControlFlow::Continue(())).await.unwrap()
    };

    // The first training computes; the second reads the cache and trains the same model.
    let first = train(&project).await;
    assert_eq!(first.features, FeatureSource::Computed);
    let second = train(&project).await;
    assert_eq!(second.features, FeatureSource::Cached);
    assert_eq!(first.weights_sha256, second.weights_sha256, "the same features, the same model");
    // What the cache holds is what the DSP computes.
    let impulse = Impulse::from_config(project.config()).unwrap();
    let (cached, how) = project_features(&project, &impulse, &SampleFilter::default()).await.unwrap();
    assert_eq!(how, FeatureSource::Cached);
    let samples = project.load_samples(&SampleFilter::default()).await.unwrap();
    let computed = compute_features(&samples, &impulse).unwrap();
    assert_eq!(
        (
            cached.features.iter().map(|f| f.to_bits()).collect::<Vec<_>>(),
            &cached.labels,
            &cached.splits,
            &cached.sample_names
        ),
        (
            computed.features.iter().map(|f| f.to_bits()).collect::<Vec<_>>(),
            &computed.labels,
            &computed.splits,
            &computed.sample_names
        )
    );

    // A different DSP block computes; going back to the first reads its entry again.
    let original = project.config().clone();
    let mut config = original.clone();
    config.dsp.block = "spectral".into();
    config.dsp.params.clear();
    project.save_config(config).unwrap();
    assert_eq!(source(&project).await, FeatureSource::Computed);
    assert_eq!(source(&project).await, FeatureSource::Cached);
    let mut config = project.config().clone();
    config.window.stride_ms = 5000;
    project.save_config(config).unwrap();
    assert_eq!(source(&project).await, FeatureSource::Computed, "a new stride");
    project.save_config(original).unwrap();
    assert_eq!(source(&project).await, FeatureSource::Cached);

    // Changes to the samples compute again.
    let infos = project.list_samples(&SampleFilter::default()).await.unwrap();
    project.relabel(&[infos[0].id], "walking").await.unwrap();
    assert_eq!(source(&project).await, FeatureSource::Computed, "a relabelled sample");
    project.set_split(&[infos[1].id], mote_project::Split::Test).await.unwrap();
    assert_eq!(source(&project).await, FeatureSource::Computed, "a sample moved to the test split");
    project.crop(infos[2].id, 0, 90).await.unwrap();
    assert_eq!(source(&project).await, FeatureSource::Computed, "a cropped sample");
    assert_eq!(source(&project).await, FeatureSource::Cached);
    let extra = temp.path().join("extra");
    std::fs::create_dir_all(&extra).unwrap();
    let csv = "timestamp,accX,accY,accZ,gyrX,gyrY,gyrZ\n".to_string()
        + &(0..100).map(|i| format!("{},0.1,0.2,9.8,0,0,{}\n", i * 100, i % 7)).collect::<String>();
    std::fs::write(extra.join("standing.new.csv"), csv).unwrap();
    project.import_dir(&extra, &ImportOptions::default()).await.unwrap();
    assert_eq!(source(&project).await, FeatureSource::Computed, "a sample added");

    // A damaged cache file is recomputed and rewritten, never trusted.
    assert_eq!(source(&project).await, FeatureSource::Cached);
    let files = cache_files(&project);
    assert!(!files.is_empty() && files.len() <= 6, "the cache keeps a few entries: {files:?}");
    for file in &files {
        let mut bytes = std::fs::read(file).unwrap();
        bytes.truncate(bytes.len() / 2);
        std::fs::write(file, bytes).unwrap();
    }
    assert_eq!(source(&project).await, FeatureSource::Computed, "a cut cache file");
    assert_eq!(source(&project).await, FeatureSource::Cached);
    project.close().await;
}
