//! Int8 calibration, min/max against the MSE search (the default), on the same trained models:
//! BasicMotions (statistics → dense 30-16) and spoken keywords synthesised with Debian's
//! `espeak-ng` (8 words; 4 voices × 4 variants × 2 speeds × 2 pitches to train on, 2 other voices
//! to test on; 1 s clips at 22,050 Hz → MFCC 13 × 50 → dense 64-32). For each: float test
//! accuracy, int8 with each calibration, and the share of the min/max range each tensor keeps.
//!
//! `cargo test -p mote-e2e --bench calibration` (needs `espeak-ng`, which the test command
//! installs). Figures in docs/benchmarks.md.

use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use mote_convert::{Calibration, QuantizeConfig};
use mote_pipeline::features::project_features;
use mote_pipeline::impulse::Impulse;
use mote_pipeline::models::latest_model;
use mote_pipeline::project::{ImportOptions, Project, SampleFilter, Split, SystemClock};
use mote_pipeline::training::train_project;
use mote_train::LearnedBlock;

struct Row {
    name: &'static str,
    windows: (usize, usize),
    float: f32,
    min_max: f32,
    mse: f32,
    clips: Vec<f32>,
}

async fn measure(name: &'static str, dataset: &Path, hidden: Option<&str>) -> Row {
    let work = tempfile::tempdir().unwrap();
    let mut project = Project::create(work.path().join("p"), None, Arc::new(SystemClock)).await.unwrap();
    project.import_dir(dataset, &ImportOptions::default()).await.unwrap();
    if let Some(hidden) = hidden {
        let mut config = project.config().clone();
        config.learn.params.insert(
            "hidden".into(),
            toml::from_str::<toml::Table>(&format!("h = {hidden}")).unwrap()["h"].clone(),
        );
        project.save_config(config).unwrap();
    }
    train_project(&project, Arc::new(AtomicBool::new(false)), |_| ControlFlow::Continue(())).await.unwrap();
    let stored = latest_model(&project).await.unwrap();
    let LearnedBlock::Classifier(model) = LearnedBlock::load(&project.model_dir(&stored)).unwrap() else {
        panic!("a classifier")
    };
    let exported = model.export();
    let impulse = Impulse::from_config(project.config()).unwrap();
    let meta = mote_pipeline::int8::impulse_meta(&project.config().project.name, &impulse).unwrap();
    let (all, _) = project_features(&project, &impulse, &SampleFilter::default()).await.unwrap();
    let (train, test) = (all.split(Split::Train), all.split(Split::Test));
    let truth: Vec<usize> = test
        .labels
        .iter()
        .map(|label| exported.label_names.iter().position(|n| n == label).unwrap())
        .collect();
    let accuracy = |calibration| {
        let config = QuantizeConfig { calibration, ..QuantizeConfig::default() };
        let quantized = mote_convert::quantize(&exported, &meta, &train.features, &config).unwrap();
        let blob = mote_runtime::Model::parse(&quantized.blob).unwrap();
        let comparison = mote_convert::compare(&exported, &blob, &test.features, &truth, 0.0).unwrap();
        (comparison.float.top1_accuracy, comparison.int8.top1_accuracy, quantized.tensors)
    };
    let (float, min_max, _) = accuracy(Calibration::MinMax);
    let (_, mse, tensors) = accuracy(Calibration::Mse);
    project.close().await;
    Row {
        name,
        windows: (train.n_rows(), test.n_rows()),
        float,
        min_max,
        mse,
        clips: tensors.iter().map(|t| t.clip).collect(),
    }
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let speech = tempfile::tempdir().unwrap();
    mote_e2e::speech::synthesise(speech.path());
    let basic_motions = Path::new(env!("CARGO_MANIFEST_DIR")).join("../datasets/basic-motions");
    let rows = runtime.block_on(async {
        vec![
            measure("BasicMotions: statistics → dense 30-16", &basic_motions, None).await,
            measure("espeak-ng keywords: MFCC 13 × 50 → dense 64-32", speech.path(), Some("[64, 32]")).await,
        ]
    });
    println!(
        "| data | windows (train / test) | float | int8, min/max (drop) | int8, MSE search (drop) | range kept per tensor (input, layers) |"
    );
    println!("|---|---|---|---|---|---|");
    for row in rows {
        let points = |int8: f32| 100.0 * (row.float - int8);
        let clips: Vec<String> = row.clips.iter().map(|clip| format!("{clip:.2}")).collect();
        println!(
            "| {} | {} / {} | {:.3} | {:.3} ({:.1}) | {:.3} ({:.1}) | {} |",
            row.name,
            row.windows.0,
            row.windows.1,
            row.float,
            row.min_max,
            points(row.min_max),
            row.mse,
            points(row.mse),
            clips.join(", ")
        );
    }
}
