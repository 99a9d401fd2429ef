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
//! - **the tuner**: `mote tune` with a 10-minute budget on BasicMotions (RAM ≤ 8 KiB, latency ≤
//!   5 ms on the Cortex-M4F at 64 MHz) against the shipped preset, and 5 minutes on a harder task
//!   generated here (four vibrations that differ only in frequency, one axis, three noise levels)
//!   against Mote's default impulse for motion; the trial it finds applied and trained, its test accuracy against the default's.
//!
//! `cargo test -p mote-e2e --bench smaller` (debug profile, as the other benches; needs
//! `espeak-ng` and, for the instruction counts, `scripts/build-firmware.sh`). `MOTE_BENCH=augment`
//! (or `prune`, `distill`, `tune`) runs one part. Figures in docs/benchmarks.md.

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
    // SpecAugment masks; masks with a little noise and stretch; a time shift alone. Other tables:
    // MOTE_AUGMENT="copies = 2\nnoise = 0.1;…" (TOML tables separated by `;`).
    let augment = std::env::var("MOTE_AUGMENT").unwrap_or(
        "copies = 2\ntime_mask = 8\nfreq_mask = 3\nmasks = 2;\
         copies = 2\nnoise = 0.1\nstretch = 0.05\ntime_mask = 8\nfreq_mask = 3\nmasks = 2;\
         copies = 2\nshift_ms = 100"
            .into(),
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
    let cnn: ModelSettings = (
        "1-D CNN: raw → conv 8,16 (k3, pool 2) → dense 16 → 4",
        CNN.1,
        "block = \"conv1d\"\nfilters = [8, 16]\ndense = [16]\nepochs = 20",
    );
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

/// The test accuracy `mote train` prints for the project in `work/p`.
fn trained_test_accuracy(work: &Path) -> f64 {
    let text = mote(work, &["--json", "train", "--project", "p"]);
    let report: serde_json::Value = serde_json::from_str(&text).unwrap();
    report["int8"]["comparison"]["int8"]["top1_accuracy"].as_f64().unwrap()
}

/// `mote tune` for `minutes` on the project in `work/p`, then the best trial applied and trained.
fn tune_row(name: &str, work: &Path, minutes: f64) -> String {
    let default = trained_test_accuracy(work);
    let started = std::time::Instant::now();
    let text = mote(
        work,
        &[
            "--json",
            "tune",
            "--project",
            "p",
            "--minutes",
            &minutes.to_string(),
            "--ram",
            "8",
            "--latency-ms",
            "5",
        ],
    );
    let seconds = started.elapsed().as_secs_f64();
    let report: serde_json::Value = serde_json::from_str(&text).unwrap();
    let trials = report["trials"].as_array().unwrap();
    let best = &trials[report["best"].as_u64().expect("a trial within budget") as usize];
    let baseline = trials.iter().find(|t| t["baseline"] == true).unwrap();
    let number = best["number"].as_u64().unwrap().to_string();
    let applied = mote(work, &["--json", "tune", "--project", "p", "--apply", &number]);
    let applied: serde_json::Value = serde_json::from_str(&applied).unwrap();
    let tuned = applied["train"]["int8"]["comparison"]["int8"]["top1_accuracy"].as_f64().unwrap();
    let result = &best["result"];
    format!(
        "| {name} | {} of {} in {:.1} min | {} | {:.3} → {:.3} | {:.3} | {:.3} | {:.1} KiB · {:.2} ms | {:.1} KiB · {:.2} ms |",
        trials.len(),
        report["total"],
        seconds / 60.0,
        best["description"].as_str().unwrap(),
        baseline["result"]["accuracy"].as_f64().unwrap_or(f64::NAN),
        result["accuracy"].as_f64().unwrap(),
        default,
        tuned,
        baseline["result"]["ram_bytes"].as_f64().unwrap_or(f64::NAN) / 1024.0,
        baseline["result"]["latency_ms"].as_f64().unwrap_or(f64::NAN),
        result["ram_bytes"].as_f64().unwrap() / 1024.0,
        result["latency_ms"].as_f64().unwrap(),
    )
}

/// A Mote dataset of generated one-axis vibrations (see [`tuner`]), seeded.
fn vibrations(dir: &Path) {
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut index = String::from("name,label,split,file\n");
    let classes = [("hz1_5", 1.5), ("hz3", 3.0), ("hz5", 5.0), ("hz8", 8.0)];
    for split in ["train", "test"] {
        for n in 0..10 {
            for (label, hz) in classes {
                let frequency = hz * (0.9 + 0.2 * uniform());
                let amplitude = 0.5 + 1.5 * uniform();
                let noise = [0.2, 0.5, 1.0][n % 3];
                let phase = std::f64::consts::TAU * uniform();
                let name = format!("{label}.{split}.{n}");
                let mut text = String::from(
                    "# mote-sample 1\n# sensor: accel\n# device: generated\n# rate_hz: 50\n# units: m/s2\n# scales: 0.001\naccX\n",
                );
                for step in 0..200 {
                    let t = step as f64 / 50.0;
                    // Box–Muller for the noise.
                    let gaussian =
                        (-2.0 * uniform().max(1e-12).ln()).sqrt() * (std::f64::consts::TAU * uniform()).cos();
                    let value =
                        amplitude * (std::f64::consts::TAU * frequency * t + phase).sin() + noise * gaussian;
                    text.push_str(&format!("{}\n", (value / 0.001).round().clamp(-32768.0, 32767.0) as i16));
                }
                std::fs::write(dir.join(format!("data/{name}.csv")), text).unwrap();
                index.push_str(&format!("{name},{label},{split},data/{name}.csv\n"));
            }
        }
    }
    std::fs::write(dir.join("samples.csv"), index).unwrap();
}

fn tuner() {
    let dataset = Path::new(env!("CARGO_MANIFEST_DIR")).join("../datasets/basic-motions");
    let whole = tempfile::tempdir().unwrap();
    mote(whole.path(), &["init", "--project", "p"]);
    mote(whole.path(), &["import", "--project", "p", dataset.to_str().unwrap()]);
    let basic = tune_row("BasicMotions (6 axes, 40 train / 40 test)", whole.path(), 10.0);
    eprintln!("tune: {basic}");

    // Harder, generated: four vibrations told apart only by frequency (1.5, 3, 5, 8 Hz, ±10 %),
    // one axis at 50 Hz, random amplitude, noise of three levels; 10 training and 10 test samples
    // of 4 s per class. No mote.toml: the project takes Mote's default impulse for motion.
    let hard = tempfile::tempdir().unwrap();
    let generated = hard.path().join("dataset");
    vibrations(&generated);
    mote(hard.path(), &["init", "--project", "p"]);
    mote(hard.path(), &["import", "--project", "p", generated.to_str().unwrap()]);
    let harder = tune_row(
        "generated vibrations (1 axis, 4 frequencies, 3 noise levels, 40 train / 40 test)",
        hard.path(),
        5.0,
    );
    eprintln!("tune: {harder}");

    println!(
        "\nThe tuner: `mote tune --ram 8 --latency-ms 5` (Cortex-M4F, 64 MHz), then the best trial applied and trained:"
    );
    println!(
        "| task | trials | best within budget | score (cross-validated, training samples): default → best | test accuracy, default impulse | test accuracy, tuned | default: RAM · latency | tuned: RAM · latency |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    println!("{basic}");
    println!("{harder}");
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
    if runs("tune") {
        tuner();
    }
}
