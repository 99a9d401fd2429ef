//! Training throughput figures: wall time, optimizer steps and windows per second for
//! (a) a BasicMotions-sized dense model, (b) the same model on 20,000 rows, (c) Flex vs NdArray,
//! (d) a Conv1d on `[N, 6, 100]` windows. Synthetic, learnable data (Gaussian clusters, sinusoids).
//!
//! Run in the debug profile (the workspace's dependencies are not optimised; a release build would
//! recompile everything):
//!
//! ```sh
//! cargo bench -p mote-train --bench train --profile dev
//! ```
//!
//! `MOTE_BENCH_LARGE_EPOCHS` (default 5) sets the epochs of (b); `MOTE_BENCH_NDARRAY_CONV=1` also
//! runs (d) on NdArray (very slow in debug: seconds per step).

#[path = "../tests/common/mod.rs"]
mod common;

use std::ops::ControlFlow;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use common::{accuracy, gaussian_clusters, motion_windows, names};
use mote_train::{Backend, BlockConfig, LearnConfig, SampleShape, TrainingSet, train_classifier};

struct Figures {
    seconds: f64,
    steps: usize,
    windows_per_second: f64,
    test_accuracy: f32,
}

/// Trains once and measures; "windows" are training rows × epochs (each seen once per epoch).
fn measure(set: &TrainingSet<'_>, config: &LearnConfig, test: (&[f32], &[usize])) -> Figures {
    let started = Instant::now();
    let model = train_classifier(set, config, &AtomicBool::new(false), |_| ControlFlow::Continue(()))
        .expect("trains");
    let seconds = started.elapsed().as_secs_f64();
    let history = model.history();
    let epochs = history.epochs.len();
    let steps = epochs * history.train_rows.div_ceil(config.batch_size);
    Figures {
        seconds,
        steps,
        windows_per_second: (history.train_rows * epochs) as f64 / seconds,
        test_accuracy: accuracy(&model.predict(test.0), test.1),
    }
}

fn print_row(case: &str, backend: Backend, rows: usize, epochs: usize, figures: &Figures) {
    println!(
        "{case:<34} {:<8} {rows:>6} {epochs:>6} {:>9.2} {:>7} {:>9.2} {:>11.0} {:>8.3}",
        format!("{backend:?}"),
        figures.seconds,
        figures.steps,
        1000.0 * figures.seconds / figures.steps as f64,
        figures.windows_per_second,
        figures.test_accuracy
    );
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|value| value.parse().ok()).unwrap_or(default)
}

fn main() {
    let build = if cfg!(debug_assertions) { "debug" } else { "release" };
    println!("mote-train benchmark ({build} build)");
    println!(
        "seconds: training wall time, validation after every epoch included; rows: all rows, 80 % train"
    );
    println!("windows/s: training rows × epochs / seconds; test acc: on a separate synthetic test set");
    println!(
        "{:<34} {:<8} {:>6} {:>6} {:>9} {:>7} {:>9} {:>11} {:>8}",
        "case", "backend", "rows", "epochs", "seconds", "steps", "ms/step", "windows/s", "test acc"
    );
    let mut ratios = Vec::new();

    // (a) + (c): BasicMotions-sized: 40 rows × 42 features (6 axes × 7 stats), dense 20-10, 100 epochs.
    let (features, labels) = gaussian_clusters(10, 4, 42, 0.6, 7, 1);
    let (test_features, test_labels) = gaussian_clusters(100, 4, 42, 0.6, 7, 2);
    let set = TrainingSet::new(&features, 42, &labels, names(4)).unwrap();
    let mut small = Vec::new();
    for backend in [Backend::Flex, Backend::NdArray] {
        let config = LearnConfig { backend, epochs: 100, ..LearnConfig::default() };
        let figures = measure(&set, &config, (&test_features, &test_labels));
        print_row("(a) dense 20-10, 40 rows", backend, 40, 100, &figures);
        small.push(figures.seconds);
    }
    ratios.push(("(a) dense, 40 rows", small[1] / small[0]));

    // (b) + (c): the same model on 20,000 rows.
    let large_epochs = env_usize("MOTE_BENCH_LARGE_EPOCHS", 5);
    let (features, labels) = gaussian_clusters(5000, 4, 42, 1.5, 7, 3);
    let set = TrainingSet::new(&features, 42, &labels, names(4)).unwrap();
    let mut large = Vec::new();
    for backend in [Backend::Flex, Backend::NdArray] {
        let config = LearnConfig { backend, epochs: large_epochs, ..LearnConfig::default() };
        let figures = measure(&set, &config, (&test_features, &test_labels));
        print_row("(b) dense 20-10, 20,000 rows", backend, 20_000, large_epochs, &figures);
        large.push(figures.seconds);
    }
    ratios.push(("(b) dense, 20,000 rows", large[1] / large[0]));

    // (d): Conv1d 8-16 (kernel 3, pool 2) on raw windows of 100 samples × 6 axes → [N, 6, 100].
    let (windows, window_labels) = motion_windows(80, 4, 100, 6, 5);
    let (test_windows, test_window_labels) = motion_windows(25, 4, 100, 6, 6);
    let shape = SampleShape { time: 100, channels: 6 };
    let set = TrainingSet::new(&windows, 600, &window_labels, names(4)).unwrap().with_shape(shape).unwrap();
    let conv_block = BlockConfig::default_conv1d();
    let config = LearnConfig { epochs: 10, ..LearnConfig::with_block(conv_block.clone()) };
    let flex_conv = measure(&set, &config, (&test_windows, &test_window_labels));
    print_row("(d) conv1d 8-16 on [N, 6, 100]", Backend::Flex, 320, 10, &flex_conv);
    if std::env::var("MOTE_BENCH_NDARRAY_CONV").is_ok_and(|value| value == "1") {
        let small_set = TrainingSet::new(&windows[..64 * 600], 600, &window_labels[..64], names(4))
            .unwrap()
            .with_shape(shape)
            .unwrap();
        let config =
            LearnConfig { epochs: 1, backend: Backend::NdArray, ..LearnConfig::with_block(conv_block) };
        let ndarray_conv = measure(&small_set, &config, (&test_windows, &test_window_labels));
        print_row("(d) conv1d 8-16 on [N, 6, 100]", Backend::NdArray, 64, 1, &ndarray_conv);
        let flex_ms = flex_conv.seconds / flex_conv.steps as f64;
        let ndarray_ms = ndarray_conv.seconds / ndarray_conv.steps as f64;
        ratios.push(("(d) conv1d, per step", ndarray_ms / flex_ms));
    }

    println!();
    println!("(c) NdArray time / Flex time (same model, same data, same seed):");
    for (case, ratio) in ratios {
        println!("    {case:<26} {ratio:>6.2}×");
    }
}
