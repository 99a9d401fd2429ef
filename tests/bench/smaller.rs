//! Better and smaller models (issue 15), each against its plain counterpart in the same run, on
//! the same data with the same seeds:
//!
//! - **augmentation**: spoken keywords synthesised with `espeak-ng` (train on 4 voices, test on 2
//!   others), MFCC → 1-D CNN, with and without `[learn.augment]` (noise, time shift and stretch,
//!   SpecAugment masks), seeds 1–5;
//! - **pruning**: BasicMotions statistics → dense 30-16, and raw → 1-D CNN, pruned to 50 % and
//!   75 % fewer MACs: blob, arena, accuracy (float, int8), and the instructions the emulated
//!   Cortex-M4F runs per window (QEMU, measured);
//! - **distillation**: the keywords again, a small CNN student taught by a larger CNN teacher
//!   against the same student trained alone, seeds 1–5.
//!
//! `cargo test -p mote-e2e --bench smaller` (debug profile, as the other benches; needs
//! `espeak-ng` and, for the instruction counts, `scripts/build-firmware.sh`). `MOTE_BENCH=augment`
//! (or `prune`, `distill`) runs one part. Figures in docs/benchmarks.md.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use mote_e2e::clib::{CNN, DENSE, ModelSettings, mote, train_basic_motions};
use mote_pipeline::emulator::{BootOptions, EmulatedBoard};
use mote_pipeline::models::{ModelMetrics, latest_model};
use mote_pipeline::project::{BlockConfig, ImportOptions, Project, SystemClock};
use mote_pipeline::training::{TrainReport, train_project};

const SEEDS: [u64; 5] = [1, 2, 3, 4, 5];

/// A project with `dataset` imported; its `[learn]` replaced by `learn` (TOML, with `block`).
async fn project(dir: &Path, dataset: &Path) -> Project {
    let mut project = Project::create(dir.join("p"), None, Arc::new(SystemClock)).await.unwrap();
    project.import_dir(dataset, &ImportOptions::default()).await.unwrap();
    project
}

async fn train(project: &mut Project, learn: &str) -> TrainReport {
    let mut params: toml::Table = learn.parse().unwrap();
    let block = params.remove("block").and_then(|b| b.as_str().map(str::to_string)).unwrap();
    let mut config = project.config().clone();
    config.learn = BlockConfig { block, params };
    project.save_config(config).unwrap();
    train_project(project, Arc::new(AtomicBool::new(false)), |_| ControlFlow::Continue(())).await.unwrap()
}

/// (float, int8) test accuracy.
fn accuracy(report: &TrainReport) -> (f32, f32) {
    let comparison = report.int8.comparison.as_ref().expect("a test split");
    (comparison.float.top1_accuracy, comparison.int8.top1_accuracy)
}

fn mean_spread(values: &[f32]) -> String {
    let mean = values.iter().sum::<f32>() / values.len() as f32;
    let (low, high) = values.iter().fold((f32::MAX, f32::MIN), |(l, h), &v| (l.min(v), h.max(v)));
    format!("{mean:.3} ({low:.3}–{high:.3})")
}

const KEYWORD_CNN: &str =
    "block = \"conv1d\"\nfilters = [16, 32]\nkernel_size = 3\npool = 2\ndense = [32]\nepochs = 40";

async fn augmentation(speech: &Path) {
    let work = tempfile::tempdir().unwrap();
    let mut project = project(work.path(), speech).await;
    let augment = std::env::var("MOTE_AUGMENT").unwrap_or(
        "copies = 2\nnoise = 0.3\nshift_ms = 100\nstretch = 0.1\ntime_mask = 5\nfreq_mask = 2".into(),
    );
    let mut variants = vec![("without augmentation".to_string(), String::new())];
    for table in augment.split(';') {
        variants.push((format!("with `{}`", table.replace('\n', ", ")), format!("\n[augment]\n{table}")));
    }
    let mut rows = Vec::new();
    for (name, extra) in &variants {
        let (mut float, mut int8, mut windows) = (Vec::new(), Vec::new(), 0);
        for seed in SEEDS {
            let report = train(&mut project, &format!("{KEYWORD_CNN}\nseed = {seed}{extra}")).await;
            let (f, i) = accuracy(&report);
            float.push(f);
            int8.push(i);
            windows = report.train_windows + report.augmented_windows;
            eprintln!(
                "augmentation: {name}, seed {seed}: float {f:.3}, int8 {i:.3}, {:.0} s",
                report.seconds
            );
        }
        rows.push((name.clone(), windows, float, int8));
    }
    println!(
        "\nAugmentation: espeak-ng keywords, MFCC 13 × 50 → conv 16, 32 → dense 32 → 8; held-out voices; seeds 1–5, mean (min–max):"
    );
    println!("| training | windows trained on | float test accuracy | int8 test accuracy |");
    println!("|---|---|---|---|");
    for (name, windows, float, int8) in rows {
        println!("| {name} | {windows} | {} | {} |", mean_spread(&float), mean_spread(&int8));
    }
    project.close().await;
}

async fn distillation(speech: &Path) {
    let work = tempfile::tempdir().unwrap();
    let mut project = project(work.path(), speech).await;
    let student = "block = \"conv1d\"\nfilters = [4, 8]\nkernel_size = 3\npool = 2\nepochs = 40";
    let teacher =
        "{ block = \"conv1d\", filters = [32, 64], kernel_size = 3, pool = 2, dense = [64], epochs = 40 }";
    let mut rows = Vec::new();
    for (name, distill) in [
        ("student alone", String::new()),
        (
            "student distilled (T = 4, weight 0.7)",
            format!("\n[distill]\ntemperature = 4\nweight = 0.7\nteacher = {teacher}"),
        ),
    ] {
        let (mut float, mut int8, mut macs) = (Vec::new(), Vec::new(), 0);
        for seed in SEEDS {
            let report = train(&mut project, &format!("{student}\nseed = {seed}{distill}")).await;
            let (f, i) = accuracy(&report);
            float.push(f);
            int8.push(i);
            macs = report.int8.macs;
            eprintln!(
                "distillation: {name}, seed {seed}: float {f:.3}, int8 {i:.3}, {:.0} s",
                report.seconds
            );
        }
        rows.push((name.to_string(), macs, float, int8));
    }
    // The teacher alone, for reference (seed 1).
    let teacher_learn = format!(
        "block = \"conv1d\"\nfilters = [32, 64]\nkernel_size = 3\npool = 2\ndense = [64]\nepochs = 40\nseed = 1"
    );
    let report = train(&mut project, &teacher_learn).await;
    let (f, i) = accuracy(&report);
    rows.push(("teacher (seed 1 only)".to_string(), report.int8.macs, vec![f], vec![i]));
    println!(
        "\nDistillation: espeak-ng keywords, MFCC 13 × 50; student conv 4, 8 → 8; teacher conv 32, 64 → dense 64 → 8; held-out voices; seeds 1–5, mean (min–max):"
    );
    println!("| model | MACs | float test accuracy | int8 test accuracy |");
    println!("|---|---|---|---|");
    for (name, macs, float, int8) in rows {
        println!("| {name} | {macs} | {} | {} |", mean_spread(&float), mean_spread(&int8));
    }
    project.close().await;
}

/// Trains BasicMotions with `settings` (plus pruning), runs it on the emulated board, and returns
/// the table row.
fn pruned_row(settings: ModelSettings, target: Option<f32>, port: &str) -> String {
    let (name, dsp, learn) = settings;
    let work = tempfile::tempdir().unwrap();
    let learn = match target {
        Some(target) => {
            format!("{learn}\n\n[learn.prune]\ntarget = {target}\nsteps = 4\nfine_tune_epochs = 15")
        }
        None => learn.to_string(),
    };
    let project_dir: PathBuf = train_basic_motions(work.path(), 1000, dsp, &learn);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (metrics, arch) = runtime.block_on(async {
        let project = Project::open(&project_dir).await.unwrap();
        let stored = latest_model(&project).await.unwrap();
        let metrics = ModelMetrics::of(&stored).unwrap();
        let mote_train::LearnedBlock::Classifier(model) =
            mote_train::LearnedBlock::load(&project.model_dir(&stored)).unwrap()
        else {
            panic!("a classifier")
        };
        project.close().await;
        (metrics, model.architecture().clone())
    });
    let blob = std::fs::read(project_dir.join("models/1/model.mote")).unwrap();
    let macs = mote_runtime::Model::parse(&blob).unwrap().macs();
    mote(work.path(), &["deploy", "--project", "p", "--port", port]);
    let text = mote(work.path(), &["--json", "live", "--project", "p", "--port", port, "--windows", "3"]);
    let mut counts: Vec<u64> = text
        .lines()
        .filter(|line| line.starts_with('{') && line.contains("\"seq\""))
        .map(|line| {
            serde_json::from_str::<serde_json::Value>(line).unwrap()["nn_instructions"].as_u64().unwrap()
        })
        .collect();
    counts.sort();
    let layers = if arch.conv_filters.is_empty() {
        format!("dense {:?}", arch.hidden)
    } else {
        format!("conv {:?}, dense {:?}", arch.conv_filters, arch.hidden)
    };
    format!(
        "| {name} | {} | {layers} | {macs} | {} B | {} B | {:.3} | {:.3} | {} |",
        target.map_or("none".to_string(), |t| format!("{:.0} %", 100.0 * t)),
        metrics.blob_bytes.unwrap_or(0),
        metrics.arena_bytes.unwrap_or(0),
        metrics.test_accuracy.unwrap_or(f32::NAN),
        metrics.int8_test_accuracy.unwrap_or(f32::NAN),
        counts[counts.len() / 2]
    )
}

fn pruning() {
    let board = EmulatedBoard::boot(&BootOptions {
        elf: Some(mote_e2e::qemu::firmware_elf()),
        register: false,
        monitor: None,
    })
    .expect("the emulated board boots");
    let cnn: ModelSettings =
        (CNN.0, CNN.1, "block = \"conv1d\"\nfilters = [8, 16]\ndense = [16]\nepochs = 20");
    let mut rows = Vec::new();
    for settings in [DENSE, cnn] {
        for target in [None, Some(0.5), Some(0.75)] {
            rows.push(pruned_row(settings, target, &board.port));
            eprintln!("pruning: {}", rows.last().unwrap());
        }
    }
    println!("\nPruning: BasicMotions (40 train / 40 test windows), int8 on the emulated Cortex-M4F:");
    println!(
        "| model | MACs removed (goal) | layers | MACs | blob | arena | float test accuracy | int8 test accuracy | NN instructions per window |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for row in rows {
        println!("{row}");
    }
}

fn main() {
    let only = std::env::var("MOTE_BENCH").ok();
    let runs = |part: &str| only.as_deref().is_none_or(|only| only == part);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    if runs("augment") || runs("distill") {
        let speech = tempfile::tempdir().unwrap();
        mote_e2e::speech::synthesise(speech.path());
        if runs("augment") {
            runtime.block_on(augmentation(speech.path()));
        }
        if runs("distill") {
            runtime.block_on(distillation(speech.path()));
        }
    }
    if runs("prune") {
        pruning();
    }
}
