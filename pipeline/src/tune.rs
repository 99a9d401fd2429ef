//! The tuner: searches impulses — window, DSP block and its main parameters, learning block and
//! its size, augmentation on or off, pruning — for the most accurate one within a board's budget
//! (RAM, flash, latency per window, an accuracy floor), with the costs from the int8 model's
//! calibrated estimates for the chosen target.
//!
//! Trials run in a seeded random order, the project's current impulse first (the baseline every
//! other trial is compared with). Features are computed once per window and DSP setting and
//! reused by every learning block tried on them. A trial is scored by cross-validation over whole
//! training samples (up to 5 folds; overlapping windows of one recording never sit on both
//! sides): int8 accuracy, as the board computes it, over every held-out window. The test split
//! stays unseen by the search; the test accuracy of one fold's model is reported beside the score.
//!
//! Every finished trial is written to the project's database at once: a search stopped by its time
//! budget, Ctrl-C, cancel in the app, a crash or `kill -9` resumes where it was, repeating no
//! finished trial (only the one that was running).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use mote_dsp::OutputShape;
use mote_project::tunes::TuneId;
use mote_project::{BlockConfig, Project, ProjectConfig, SampleFilter, Split, WindowSection};
use mote_train::{LearnedBlock, SampleShape, TrainingSet};
use rand::SeedableRng;
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::augment::project_augmented;
use crate::features::{FeatureError, FeatureSet, project_features};
use crate::impulse::{Impulse, ImpulseError};
use crate::int8::{Int8Error, impulse_meta, quantize_block};
use crate::training::{DEFAULT_UNCERTAIN_THRESHOLD, TrainingError};

#[derive(Debug, thiserror::Error)]
pub enum TuneError {
    #[error(transparent)]
    Project(#[from] mote_project::ProjectError),
    #[error(transparent)]
    Training(#[from] TrainingError),
    #[error("unknown target `{0}`; the targets are: {1}")]
    UnknownTarget(String, String),
    #[error("the search space is empty: {0}")]
    EmptySpace(String),
    #[error("the project has no training samples to tune on")]
    NoTrainingData,
    #[error("no trial {0} in the newest search (it has {1})")]
    UnknownTrial(usize, usize),
    #[error("there is no search in this project yet; run `mote tune` first")]
    NoTune,
    #[error("the stored search cannot be read: {0}")]
    Stored(String),
}

impl TuneError {
    pub fn code(&self) -> &'static str {
        match self {
            TuneError::Project(e) => e.code(),
            TuneError::Training(e) => e.code(),
            TuneError::UnknownTarget(..) => "tune.target",
            TuneError::EmptySpace(_) => "tune.space",
            TuneError::NoTrainingData => "tune.no_training_data",
            TuneError::UnknownTrial(..) => "tune.unknown_trial",
            TuneError::NoTune => "tune.none",
            TuneError::Stored(_) => "tune.stored",
        }
    }
}

/// What a trial must stay within. `None` is no limit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    /// RAM the impulse needs on the target (window, features, arena, scratch), bytes.
    pub ram_bytes: Option<u64>,
    /// Flash for the model, runtime and DSP code, bytes.
    pub flash_bytes: Option<u64>,
    /// DSP + inference per window on the target, milliseconds.
    pub latency_ms: Option<f32>,
    /// The lowest acceptable score (0–1).
    pub min_accuracy: Option<f32>,
}

impl Budget {
    /// A budget with RAM and flash in KiB, as people give them.
    pub fn from_kib(
        ram_kib: Option<f64>,
        flash_kib: Option<f64>,
        latency_ms: Option<f32>,
        min_accuracy: Option<f32>,
    ) -> Budget {
        let bytes = |kib: Option<f64>| kib.map(|kib| (kib * 1024.0).round() as u64);
        Budget { ram_bytes: bytes(ram_kib), flash_bytes: bytes(flash_kib), latency_ms, min_accuracy }
    }
}

/// A window to try.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WindowChoice {
    pub length_ms: u32,
    pub stride_ms: u32,
}

/// Everything the search may combine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchSpace {
    pub windows: Vec<WindowChoice>,
    /// `[dsp]` tables (with `block`).
    pub dsp: Vec<toml::Table>,
    /// `[learn]` tables (with `block`); the project's training parameters are kept.
    pub learn: Vec<toml::Table>,
    /// The `[learn.augment]` table tried besides none, or none at all.
    pub augment: Option<toml::Table>,
    /// Pruning goals tried (fractions of MACs removed); 0 is no pruning.
    pub prune: Vec<f32>,
}

/// A search's settings: equal settings on equal data resume the same search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TuneSettings {
    /// One of `mote_convert::estimate::TARGETS`' ids.
    pub target: String,
    pub budget: Budget,
    pub space: SearchSpace,
    pub seed: u64,
    /// Check the best trials on the emulated Cortex-M4F when QEMU and its firmware are there
    /// (not part of what makes two searches the same).
    #[serde(skip)]
    pub measure_on_board: bool,
}

/// One impulse the search tries: the `[window]`, `[dsp]` and `[learn]` it would write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialImpulse {
    pub window: WindowChoice,
    pub dsp: toml::Table,
    pub learn: toml::Table,
}

impl TrialImpulse {
    fn key(&self) -> String {
        let json = serde_json::to_string(self).expect("tables serialize");
        mote_formats::recording::hex(&Sha256::digest(json.as_bytes()))
    }

    /// A short description: `flatten · dense [20, 10] · 10000/10000 ms · augmented · pruned 50 %`.
    pub fn describe(&self) -> String {
        let block =
            |table: &toml::Table| table.get("block").and_then(|b| b.as_str()).unwrap_or("?").to_string();
        let mut parts = vec![block(&self.dsp)];
        let mut learn = block(&self.learn);
        for key in ["hidden", "filters", "dense"] {
            if let Some(value) = self.learn.get(key) {
                learn.push_str(&format!(" {key} {value}"));
            }
        }
        parts.push(learn);
        parts.push(format!("{}/{} ms", self.window.length_ms, self.window.stride_ms));
        if self.learn.contains_key("augment") {
            parts.push("augmented".into());
        }
        if let Some(target) = self.learn.get("prune").and_then(|p| p.get("target")).and_then(|t| t.as_float())
        {
            parts.push(format!("pruned {:.0} %", 100.0 * target));
        }
        parts.join(" · ")
    }
}

/// What the score was measured on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoredOn {
    /// Cross-validation over the training samples (each fold held out of its training).
    HeldOut,
    /// The test split (no label had two training samples to hold one out).
    Test,
}

/// A trial's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialResult {
    /// The score the search ranks by: int8 top-1 accuracy over every held-out window of the
    /// cross-validation.
    pub accuracy: f32,
    pub scored_on: ScoredOn,
    /// Int8 top-1 accuracy on the test split, when it has windows.
    pub test_accuracy: Option<f32>,
    pub ram_bytes: u64,
    pub flash_bytes: u64,
    pub latency_ms: f32,
    pub macs: u64,
    pub blob_bytes: usize,
    pub arena_bytes: usize,
    /// Instructions per window (DSP + NN) measured on the emulated Cortex-M4F, for the best trials
    /// when QEMU is present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measured_instructions: Option<u64>,
    pub seconds: f64,
}

/// A finished trial as the search reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trial {
    /// 1-based, in the order trials finished.
    pub number: usize,
    pub impulse: TrialImpulse,
    pub description: String,
    /// What it measured; `None` when it could not run.
    pub result: Option<TrialResult>,
    /// Why the trial could not run (e.g. the DSP block does not fit the window).
    pub error: Option<String>,
    pub within_budget: bool,
    /// Not beaten on both accuracy and latency by another trial.
    pub pareto_latency: bool,
    /// Not beaten on both accuracy and RAM by another trial.
    pub pareto_ram: bool,
    /// The project's impulse as it was when the search started.
    pub baseline: bool,
}

/// A search's state: its trials so far and the best one within budget.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TuneReport {
    pub tune: i64,
    pub settings: TuneSettings,
    pub trials: Vec<Trial>,
    /// Trials the space holds in all.
    pub total: usize,
    /// Index into `trials` of the most accurate one within budget (ties: lower latency, then RAM).
    pub best: Option<usize>,
    /// Whether every trial of the space has run.
    pub finished: bool,
    /// Trials this call ran (the rest were finished before).
    pub ran: usize,
}

/// Progress after each trial.
#[derive(Debug, Clone, Serialize)]
pub struct TuneProgress {
    pub done: usize,
    pub total: usize,
    pub elapsed_s: f64,
    /// Remaining time: the mean trial time × trials left, capped by the time budget.
    pub eta_s: Option<f64>,
    pub last: Option<Trial>,
}

/// A search space that fits the project's data: audio (one axis at 4 kHz or more) tries MFCC
/// and MFE, motion tries statistics, spectral features and the raw window; windows half and twice
/// as long as the project's (no longer than its shortest sample); dense networks of three sizes
/// and, on time series, two 1-D CNNs; augmentation on and off; pruning by half or not.
pub fn default_space(config: &ProjectConfig, shortest_sample_ms: u32) -> SearchSpace {
    let audio = config.data.axes.len() == 1 && config.data.rate_hz >= 4000.0;
    let current = config.window;
    let ratio = f64::from(current.stride_ms) / f64::from(current.length_ms.max(1));
    let mut windows = vec![WindowChoice { length_ms: current.length_ms, stride_ms: current.stride_ms }];
    for factor in [0.5, 2.0] {
        let length_ms = (f64::from(current.length_ms) * factor).round() as u32;
        let fits = length_ms >= 200 && (length_ms <= shortest_sample_ms || shortest_sample_ms == 0);
        if fits && !audio {
            let stride_ms = ((f64::from(length_ms) * ratio).round() as u32).max(1);
            windows.push(WindowChoice { length_ms, stride_ms });
        }
    }
    let table = |text: &str| text.parse::<toml::Table>().expect("valid TOML");
    // Each block with its defaults, and its main parameter varied: statistics (all seven), the
    // FFT length, the number of coefficients. Settings the project's rate and window cannot
    // take are left out.
    let dsp_choices: Vec<toml::Table> = if audio {
        ["block = \"mfcc\"", "block = \"mfcc\"\nn_coefficients = 20", "block = \"mfe\""]
            .into_iter()
            .map(table)
            .collect()
    } else {
        [
            "block = \"flatten\"",
            "block = \"flatten\"\nstats = [\"mean\", \"std\", \"min\", \"max\", \"rms\", \"skewness\", \"kurtosis\"]",
            "block = \"spectral\"",
            "block = \"spectral\"\nfft_length = 64",
            "block = \"spectral\"\nfft_length = 256",
            "block = \"raw\"",
        ]
        .into_iter()
        .map(table)
        .collect()
    };
    let mut with_block = config.learn.params.clone();
    with_block.insert("block".into(), toml::Value::String(config.learn.block.clone()));
    let dsp: Vec<toml::Table> = dsp_choices
        .into_iter()
        .filter(|dsp| {
            let probe = TrialImpulse { window: windows[0], dsp: dsp.clone(), learn: with_block.clone() };
            Impulse::from_config(&config_with(config, &probe)).is_ok()
        })
        .collect();
    let learn = vec![
        table("block = \"dense\"\nhidden = [20, 10]"),
        table("block = \"dense\"\nhidden = [40, 20]"),
        table("block = \"dense\"\nhidden = [10]"),
        table("block = \"conv1d\"\nfilters = [8, 16]"),
        table("block = \"conv1d\"\nfilters = [16, 32]\ndense = [32]"),
    ];
    let augment = Some(if audio {
        table("copies = 2\ntime_mask = 8\nfreq_mask = 3\nmasks = 2")
    } else {
        let shift = (current.length_ms / 10).max(1);
        table(&format!("copies = 2\nnoise = 0.05\nscale = 0.1\nshift_ms = {shift}"))
    });
    SearchSpace { windows, dsp, learn, augment, prune: vec![0.0, 0.5] }
}

impl TuneSettings {
    /// Settings for `project`: the [`default_space`] for its data (windows no longer than its
    /// shortest sample), its seed, and the given target and budget.
    pub async fn for_project(
        project: &Project,
        target: &str,
        budget: Budget,
    ) -> Result<TuneSettings, TuneError> {
        let samples = project.list_samples(&SampleFilter::default()).await?;
        let shortest_ms =
            samples.iter().map(|s| (s.n_steps as f64 * 1000.0 / s.rate_hz) as u32).min().unwrap_or(0);
        Ok(TuneSettings {
            target: target.to_string(),
            budget,
            space: default_space(project.config(), shortest_ms),
            seed: project.config().project.seed,
            measure_on_board: true,
        })
    }
}

/// The learn keys that belong to a block's layers (replaced by a trial's block), as opposed to
/// training parameters (kept from the project).
const LAYER_KEYS: [&str; 7] = ["hidden", "dropout", "filters", "kernel_size", "pool", "dense", "clusters"];

/// Every impulse of the space, the project's current one first, the rest in seeded random order.
fn candidates(config: &ProjectConfig, space: &SearchSpace, seed: u64) -> Vec<TrialImpulse> {
    let mut training: toml::Table = config.learn.params.clone();
    training.retain(|key, _| !LAYER_KEYS.contains(&key.as_ref()) && key != "augment" && key != "prune");
    let with_block = |block: &BlockConfig| {
        let mut table = block.params.clone();
        table.insert("block".into(), toml::Value::String(block.block.clone()));
        table
    };
    let baseline = TrialImpulse {
        window: WindowChoice { length_ms: config.window.length_ms, stride_ms: config.window.stride_ms },
        dsp: with_block(&config.dsp),
        learn: with_block(&config.learn),
    };
    let mut all = Vec::new();
    for window in &space.windows {
        for dsp in &space.dsp {
            // A 1-D CNN needs a time series (raw, MFE, MFCC): it is not tried on statistics.
            let probe = config_with(
                config,
                &TrialImpulse { window: *window, dsp: dsp.clone(), learn: baseline.learn.clone() },
            );
            let series = Impulse::from_config(&probe)
                .map_or(true, |impulse| matches!(impulse.output, OutputShape::TimeSeries { .. }));
            for learn in space
                .learn
                .iter()
                .filter(|learn| series || learn.get("block").and_then(|b| b.as_str()) != Some("conv1d"))
            {
                let augments: Vec<Option<&toml::Table>> =
                    std::iter::once(None).chain(space.augment.as_ref().map(Some)).collect();
                for augment in augments {
                    for &prune in &space.prune {
                        let mut table = training.clone();
                        table.extend(learn.clone());
                        if let Some(augment) = augment {
                            table.insert("augment".into(), toml::Value::Table(augment.clone()));
                        }
                        if prune > 0.0 {
                            let prune = format!("target = {prune}").parse::<toml::Table>().expect("valid");
                            table.insert("prune".into(), toml::Value::Table(prune));
                        }
                        all.push(TrialImpulse { window: *window, dsp: dsp.clone(), learn: table });
                    }
                }
            }
        }
    }
    all.shuffle(&mut SmallRng::seed_from_u64(seed));
    all.retain(|trial| trial.key() != baseline.key());
    all.insert(0, baseline);
    all
}

/// The project's config with `impulse` in place of its window, DSP and learning blocks.
pub fn config_with(config: &ProjectConfig, impulse: &TrialImpulse) -> ProjectConfig {
    let mut config = config.clone();
    let block = |table: &toml::Table| {
        let mut params = table.clone();
        let name = params.remove("block").and_then(|b| b.as_str().map(str::to_string)).unwrap_or_default();
        BlockConfig { block: name, params }
    };
    config.window =
        WindowSection { length_ms: impulse.window.length_ms, stride_ms: impulse.window.stride_ms };
    config.dsp = block(&impulse.dsp);
    config.learn = block(&impulse.learn);
    config
}

/// Runs (or resumes) the search `settings` describe until every trial has run, `minutes` have
/// passed, or `cancel` is set; `progress` hears after each trial. With `fresh`, a new search starts
/// even when one with these settings exists.
pub async fn tune(
    project: &Project,
    settings: &TuneSettings,
    fresh: bool,
    minutes: Option<f64>,
    cancel: Arc<AtomicBool>,
    mut progress: impl FnMut(&TuneProgress),
) -> Result<TuneReport, TuneError> {
    let started = Instant::now();
    let deadline = minutes.map(|m| started + Duration::from_secs_f64(m.max(0.0) * 60.0));
    check_target(&settings.target)?;
    let config = project.config().clone();
    let candidates = candidates(&config, &settings.space, settings.seed);
    if settings.space.windows.is_empty() || settings.space.dsp.is_empty() || settings.space.learn.is_empty() {
        return Err(TuneError::EmptySpace(
            "it needs at least one window, DSP block and learning block".into(),
        ));
    }
    let infos = project.list_samples(&SampleFilter::default()).await?;
    if !infos.iter().any(|info| info.split == Split::Train) {
        return Err(TuneError::NoTrainingData);
    }
    // The search is the same when its settings, the project's impulse and the data are.
    let mut hash = Sha256::new();
    hash.update(serde_json::to_string(settings).expect("settings serialize").as_bytes());
    hash.update(serde_json::to_string(&candidates[0]).expect("tables serialize").as_bytes());
    for info in &infos {
        hash.update(info.hash.0.as_bytes());
        hash.update(info.label.as_bytes());
        hash.update([u8::from(info.split == Split::Test)]);
    }
    let key = mote_formats::recording::hex(&hash.finalize());
    let stored_settings = serde_json::json!({ "settings": settings, "baseline": candidates[0] });
    let stored = if fresh {
        project.start_tune(&key, &stored_settings).await?
    } else {
        project.find_or_start_tune(&key, &stored_settings).await?
    };
    let done: BTreeSet<String> = project.tune_trials(stored.id).await?.into_iter().map(|t| t.key).collect();

    let mut features: HashMap<String, Arc<FeatureSet>> = HashMap::new();
    let mut ran = 0usize;
    let mut trial_seconds = Vec::new();
    let total = candidates.len();
    let mut finished_count = done.len();
    for candidate in candidates.iter().filter(|c| !done.contains(&c.key())) {
        if cancel.load(Ordering::Relaxed) || deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        let trial_started = Instant::now();
        let outcome =
            run_trial(project, stored.id, &config, candidate, settings, &mut features, &cancel).await;
        let result = match outcome {
            Ok(result) => Ok(result),
            Err(TrialError::Cancelled) => break,
            Err(TrialError::Failed(reason)) => Err(reason),
            Err(TrialError::Project(error)) => return Err(error.into()),
        };
        let (completed, json) = match &result {
            Ok(result) => (true, serde_json::to_value(result).expect("plain numbers")),
            Err(reason) => (false, serde_json::json!({ "error": reason })),
        };
        let impulse = serde_json::to_value(candidate).expect("tables serialize");
        project.record_trial(stored.id, &candidate.key(), &impulse, completed, &json).await?;
        ran += 1;
        finished_count += 1;
        trial_seconds.push(trial_started.elapsed().as_secs_f64());
        let report = report(project, stored.id, settings, &candidates[0], total, ran).await?;
        let mean = trial_seconds.iter().sum::<f64>() / trial_seconds.len() as f64;
        let mut eta = mean * (total - finished_count) as f64;
        if let Some(deadline) = deadline {
            eta = eta.min(deadline.saturating_duration_since(Instant::now()).as_secs_f64());
        }
        progress(&TuneProgress {
            done: finished_count,
            total,
            elapsed_s: started.elapsed().as_secs_f64(),
            eta_s: Some(eta),
            last: report.trials.last().cloned(),
        });
    }
    let report = report(project, stored.id, settings, &candidates[0], total, ran).await?;
    if !cancel.load(Ordering::Relaxed) && settings.measure_on_board {
        measure_best(project, stored.id, &report, &cancel).await?;
        return self::report(project, stored.id, settings, &candidates[0], total, ran).await;
    }
    Ok(report)
}

/// Trials measured on the emulated Cortex-M4F after a search.
pub const MEASURED_TRIALS: usize = 3;

/// Runs the [`MEASURED_TRIALS`] best trials within budget that have no measurement yet on the
/// emulated Cortex-M4F (QEMU), two windows each, and stores the instructions per window (DSP and
/// inference, median). Without QEMU or the board's firmware this is skipped: the estimates stand.
async fn measure_best(
    project: &Project,
    tune: TuneId,
    report: &TuneReport,
    cancel: &AtomicBool,
) -> Result<(), TuneError> {
    let mut ranked: Vec<&Trial> =
        report.trials.iter().filter(|t| t.within_budget && t.result.is_some()).collect();
    ranked.sort_by(|a, b| {
        let (a, b) = (a.result.as_ref().expect("filtered"), b.result.as_ref().expect("filtered"));
        b.accuracy.total_cmp(&a.accuracy).then(a.latency_ms.total_cmp(&b.latency_ms))
    });
    let todo: Vec<&Trial> = ranked
        .into_iter()
        .take(MEASURED_TRIALS)
        .filter(|t| t.result.as_ref().is_some_and(|r| r.measured_instructions.is_none()))
        .collect();
    let elf = crate::emulator::firmware_elf();
    if todo.is_empty() || !elf.exists() {
        return Ok(());
    }
    let options = crate::emulator::BootOptions { elf: Some(elf), register: false, monitor: None };
    let Ok(emulated) = crate::emulator::EmulatedBoard::boot(&options) else { return Ok(()) };
    let Ok(mut board) = crate::link::Board::connect(&emulated.port, &Default::default()).await else {
        return Ok(());
    };
    for trial in todo {
        let key = trial.impulse.key();
        let path = project.dir().join("tune").join(tune.0.to_string()).join(format!("{key}.mote"));
        let Ok(blob) = std::fs::read(&path) else { continue };
        if board.upload_model(&blob, cancel, |_, _| {}).await.is_err() {
            continue;
        }
        let mut counts = Vec::new();
        let live = crate::live::LiveOptions { verify: false, max_windows: Some(2) };
        let ran = crate::live::run_live(&mut board, Some(&blob), &live, cancel, |window| {
            if let (Some(dsp), Some(nn)) = (window.dsp_instructions, window.nn_instructions) {
                counts.push(u64::from(dsp) + u64::from(nn));
            }
            std::ops::ControlFlow::Continue(())
        })
        .await;
        if ran.is_err() || counts.is_empty() {
            continue;
        }
        counts.sort_unstable();
        let mut result = trial.result.clone().expect("filtered");
        result.measured_instructions = Some(counts[counts.len() / 2]);
        project.update_trial(tune, &key, &serde_json::to_value(&result).expect("plain numbers")).await?;
    }
    Ok(())
}

/// The newest search of the project, as far as it got.
pub async fn latest_report(project: &Project) -> Result<TuneReport, TuneError> {
    let stored = project.latest_tune().await?.ok_or(TuneError::NoTune)?;
    let settings: TuneSettings = serde_json::from_value(stored.settings["settings"].clone())
        .map_err(|e| TuneError::Stored(e.to_string()))?;
    let baseline: TrialImpulse = serde_json::from_value(stored.settings["baseline"].clone())
        .map_err(|e| TuneError::Stored(e.to_string()))?;
    let config = config_with(project.config(), &baseline);
    let total = candidates(&config, &settings.space, settings.seed).len();
    report(project, stored.id, &settings, &baseline, total, 0).await
}

/// Writes trial `number` (1-based) of the newest search into `mote.toml` (its comments kept).
/// Train it afterwards with [`crate::training::train_project`].
pub async fn apply_trial(project: &mut Project, number: usize) -> Result<TrialImpulse, TuneError> {
    let report = latest_report(project).await?;
    let trial = report
        .trials
        .iter()
        .find(|t| t.number == number)
        .ok_or(TuneError::UnknownTrial(number, report.trials.len()))?;
    let config = config_with(project.config(), &trial.impulse);
    Impulse::from_config(&config).map_err(TrainingError::from)?;
    project.save_config(config)?;
    Ok(trial.impulse.clone())
}

async fn report(
    project: &Project,
    tune: TuneId,
    settings: &TuneSettings,
    baseline: &TrialImpulse,
    total: usize,
    ran: usize,
) -> Result<TuneReport, TuneError> {
    let stored = project.tune_trials(tune).await?;
    let baseline_key = Some(baseline.key());
    let mut trials = Vec::with_capacity(stored.len());
    for (index, trial) in stored.into_iter().enumerate() {
        let impulse: TrialImpulse =
            serde_json::from_value(trial.impulse).map_err(|e| TuneError::Stored(e.to_string()))?;
        let (result, error) = if trial.completed {
            let result = serde_json::from_value::<TrialResult>(trial.result)
                .map_err(|e| TuneError::Stored(e.to_string()))?;
            (Some(result), None)
        } else {
            (None, Some(trial.result["error"].as_str().unwrap_or("failed").to_string()))
        };
        let within_budget = result.as_ref().is_some_and(|r| fits(r, &settings.budget));
        trials.push(Trial {
            number: index + 1,
            description: impulse.describe(),
            baseline: Some(impulse.key()) == baseline_key,
            impulse,
            result,
            error,
            within_budget,
            pareto_latency: false,
            pareto_ram: false,
        });
    }
    let scores: Vec<Option<(f32, f32, u64)>> =
        trials.iter().map(|t| t.result.as_ref().map(|r| (r.accuracy, r.latency_ms, r.ram_bytes))).collect();
    for (index, trial) in trials.iter_mut().enumerate() {
        let Some((accuracy, latency, ram)) = scores[index] else { continue };
        let beaten = |cost: &dyn Fn(&(f32, f32, u64)) -> f64, mine: f64| {
            scores.iter().flatten().any(|other| {
                other.0 >= accuracy && cost(other) <= mine && (other.0 > accuracy || cost(other) < mine)
            })
        };
        trial.pareto_latency = !beaten(&|s| f64::from(s.1), f64::from(latency));
        trial.pareto_ram = !beaten(&|s| s.2 as f64, ram as f64);
    }
    let best = trials
        .iter()
        .enumerate()
        .filter(|(_, t)| t.within_budget)
        .filter_map(|(i, t)| t.result.as_ref().map(|r| (i, r)))
        .max_by(|(_, a), (_, b)| {
            a.accuracy
                .total_cmp(&b.accuracy)
                .then(b.latency_ms.total_cmp(&a.latency_ms))
                .then(b.ram_bytes.cmp(&a.ram_bytes))
        })
        .map(|(i, _)| i);
    let finished = trials.len() >= total;
    Ok(TuneReport { tune: tune.0, settings: settings.clone(), trials, total, best, finished, ran })
}

fn fits(result: &TrialResult, budget: &Budget) -> bool {
    budget.ram_bytes.is_none_or(|max| result.ram_bytes <= max)
        && budget.flash_bytes.is_none_or(|max| result.flash_bytes <= max)
        && budget.latency_ms.is_none_or(|max| result.latency_ms <= max)
        && budget.min_accuracy.is_none_or(|min| result.accuracy >= min)
}

fn check_target(target: &str) -> Result<(), TuneError> {
    if mote_convert::estimate::TARGETS.iter().any(|t| t.id == target) {
        Ok(())
    } else {
        let ids: Vec<&str> = mote_convert::estimate::TARGETS.iter().map(|t| t.id).collect();
        Err(TuneError::UnknownTarget(target.into(), ids.join(", ")))
    }
}

enum TrialError {
    Cancelled,
    /// The trial cannot run; recorded as failed with this reason.
    Failed(String),
    Project(mote_project::ProjectError),
}

impl From<mote_project::ProjectError> for TrialError {
    fn from(error: mote_project::ProjectError) -> Self {
        TrialError::Project(error)
    }
}

fn failed(error: impl std::fmt::Display) -> TrialError {
    TrialError::Failed(error.to_string())
}

#[allow(clippy::too_many_arguments)] // one call site; a struct would only rename them
async fn run_trial(
    project: &Project,
    tune_id: TuneId,
    config: &ProjectConfig,
    candidate: &TrialImpulse,
    settings: &TuneSettings,
    features: &mut HashMap<String, Arc<FeatureSet>>,
    cancel: &Arc<AtomicBool>,
) -> Result<TrialResult, TrialError> {
    let started = Instant::now();
    let config = config_with(config, candidate);
    let impulse = Impulse::from_config(&config).map_err(|e: ImpulseError| failed(e))?;
    let feature_key = serde_json::json!({ "window": candidate.window, "dsp": candidate.dsp }).to_string();
    let all = match features.get(&feature_key) {
        Some(set) => set.clone(),
        None => {
            let set = match project_features(project, &impulse, &SampleFilter::default()).await {
                Ok((set, _)) => Arc::new(set),
                Err(FeatureError::Project(error)) => return Err(error.into()),
                Err(error) => return Err(failed(error)),
            };
            features.insert(feature_key, set.clone());
            set
        }
    };
    let train = all.split(Split::Train);
    let test = all.split(Split::Test);
    let mut labels: Vec<String> = config.data.labels.clone();
    if labels.is_empty() {
        labels = train.labels.clone();
        labels.sort();
        labels.dedup();
    }
    let index = |set: &FeatureSet| -> Result<Vec<usize>, TrialError> {
        set.labels
            .iter()
            .map(|l| labels.iter().position(|n| n == l).ok_or_else(|| failed(format!("unknown label `{l}`"))))
            .collect()
    };
    let folds = sample_folds(&train, config.project.seed);
    let augmented_all = match &impulse.learn.augment {
        Some(augment) => {
            match project_augmented(project, &impulse, &train, augment, impulse.learn.seed).await {
                Ok((rows, _)) => Some(rows),
                Err(FeatureError::Project(error)) => return Err(error.into()),
                Err(error) => return Err(failed(error)),
            }
        }
        None => None,
    };
    let meta = impulse_meta(&config.project.name, &impulse).map_err(|e: Int8Error| failed(e))?;
    let shape = match impulse.output {
        OutputShape::TimeSeries { steps, channels } => Some(SampleShape { time: steps, channels }),
        _ => None,
    };

    // Each fold trains on the other folds' samples and is scored, int8, on its own; the score is
    // the share of all held-out windows classified right. Without folds, the test split scores.
    let (scored_on, rounds): (ScoredOn, Vec<Option<&BTreeSet<String>>>) = if folds.is_empty() {
        (ScoredOn::Test, vec![None])
    } else {
        (ScoredOn::HeldOut, folds.iter().map(Some).collect())
    };
    let (mut correct, mut scored_windows) = (0.0f64, 0usize);
    let mut last = None;
    for fold in rounds {
        let held = |row: usize| fold.is_some_and(|fold| fold.contains(&train.sample_names[row]));
        let fit_rows: Vec<usize> = (0..train.n_rows()).filter(|&r| !held(r)).collect();
        let check_rows: Vec<usize> = (0..train.n_rows()).filter(|&r| held(r)).collect();
        let (fit, check) = (subset(&train, &fit_rows), subset(&train, &check_rows));
        let fit_labels = index(&fit)?;
        let augmented =
            augmented_all.as_ref().map(|rows| copies_of(rows, &fit_rows, train.n_rows(), train.n_features));
        let block = train_block(
            &fit,
            fit_labels,
            &labels,
            shape,
            augmented.unwrap_or_default(),
            &impulse.learn,
            cancel,
        )
        .await?;
        let scored = if fold.is_some() { &check } else { &test };
        if scored.n_rows() == 0 {
            continue;
        }
        let truth = index(scored)?;
        let (blob, int8) = quantize_block(
            &block,
            &meta,
            &fit,
            Some((scored, truth.as_slice())),
            DEFAULT_UNCERTAIN_THRESHOLD,
        )
        .map_err(failed)?;
        let accuracy = int8.comparison.as_ref().map_or(0.0, |c| c.int8.top1_accuracy);
        correct += f64::from(accuracy) * scored.n_rows() as f64;
        scored_windows += scored.n_rows();
        last = Some((block, fit, blob, int8));
    }
    let Some((block, fit, blob, int8)) = last else {
        return Err(failed("no windows to score the trial on"));
    };
    let accuracy = (correct / scored_windows.max(1) as f64) as f32;
    // Kept for the check on the emulated board (a missing file only skips that check).
    let blob_dir = project.dir().join("tune").join(tune_id.0.to_string());
    let _ = std::fs::create_dir_all(&blob_dir)
        .and_then(|()| std::fs::write(blob_dir.join(format!("{}.mote", candidate.key())), &blob));
    let test_accuracy = if test.n_rows() == 0 {
        None
    } else if scored_on == ScoredOn::Test {
        Some(accuracy)
    } else {
        // The last fold's model on the test split: for people to compare, never for ranking.
        let truth = index(&test)?;
        let (_, on_test) =
            quantize_block(&block, &meta, &fit, Some((&test, truth.as_slice())), DEFAULT_UNCERTAIN_THRESHOLD)
                .map_err(failed)?;
        on_test.comparison.as_ref().map(|c| c.int8.top1_accuracy)
    };
    let estimate = int8
        .estimates
        .iter()
        .find(|e| e.target.id == settings.target)
        .ok_or_else(|| failed(format!("no estimate for {}", settings.target)))?;
    Ok(TrialResult {
        accuracy,
        scored_on,
        test_accuracy,
        ram_bytes: estimate.ram_bytes,
        flash_bytes: estimate.flash_bytes,
        latency_ms: estimate.latency_ms,
        macs: int8.macs,
        blob_bytes: int8.blob_bytes,
        arena_bytes: int8.arena_bytes,
        measured_instructions: None,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The rows `rows` of `set`, as a new set.
fn subset(set: &FeatureSet, rows: &[usize]) -> FeatureSet {
    let mut out = FeatureSet { n_features: set.n_features, ..FeatureSet::default() };
    for &row in rows {
        out.features.extend_from_slice(set.row(row));
        out.labels.push(set.labels[row].clone());
        out.splits.push(set.splits[row]);
        out.sample_names.push(set.sample_names[row].clone());
    }
    out
}

/// The augmented copies of the rows `fit_rows` (of `n_rows` training rows), their origins
/// renumbered to positions in `fit_rows`.
fn copies_of(
    rows: &crate::augment::AugmentedRows,
    fit_rows: &[usize],
    n_rows: usize,
    n_features: usize,
) -> crate::augment::AugmentedRows {
    let mut position = vec![usize::MAX; n_rows];
    for (new, &old) in fit_rows.iter().enumerate() {
        position[old] = new;
    }
    let mut out = crate::augment::AugmentedRows::default();
    for (copy, &origin) in rows.origin.iter().enumerate() {
        if position[origin] != usize::MAX {
            out.features.extend_from_slice(&rows.features[copy * n_features..(copy + 1) * n_features]);
            out.origin.push(position[origin]);
        }
    }
    out
}

async fn train_block(
    fit: &FeatureSet,
    fit_labels: Vec<usize>,
    labels: &[String],
    shape: Option<SampleShape>,
    augmented: crate::augment::AugmentedRows,
    learn: &mote_train::LearnConfig,
    cancel: &Arc<AtomicBool>,
) -> Result<LearnedBlock, TrialError> {
    let (features, n_features, names) = (fit.features.clone(), fit.n_features, labels.to_vec());
    let (learn, cancel) = (learn.clone(), cancel.clone());
    let trained = tokio::task::spawn_blocking(move || {
        let set = TrainingSet::new(&features, n_features, &fit_labels, names)?;
        let set = match shape {
            Some(shape) => set.with_shape(shape)?,
            None => set,
        };
        let set = set.with_augmented(&augmented.features, &augmented.origin)?;
        mote_train::train(&set, &learn, &cancel, |_| std::ops::ControlFlow::Continue(()))
    })
    .await
    .map_err(failed)?;
    match trained {
        Ok(block @ LearnedBlock::Classifier(_)) => Ok(block),
        Ok(LearnedBlock::Anomaly(_)) => {
            Err(failed("the tuner searches classifiers; k-means scores anomalies"))
        }
        Err(error) if error.is_cancelled() => Err(TrialError::Cancelled),
        Err(error) => Err(failed(error)),
    }
}

/// Folds for cross-validation by whole samples: each label's training samples, shuffled by
/// `seed`, dealt round-robin into `k` folds, `k` = the smallest label's sample count, at most 5.
/// A label with one sample stays in every training set. None when every label has one sample.
fn sample_folds(train: &FeatureSet, seed: u64) -> Vec<BTreeSet<String>> {
    let mut by_label: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for (label, name) in train.labels.iter().zip(&train.sample_names) {
        let names = by_label.entry(label).or_default();
        if !names.contains(&name.as_str()) {
            names.push(name);
        }
    }
    let smallest = by_label.values().map(Vec::len).filter(|&n| n >= 2).min().unwrap_or(0);
    let k = smallest.min(5);
    if k < 2 {
        return Vec::new();
    }
    let mut rng = SmallRng::seed_from_u64(seed ^ 0x7E57);
    let mut folds = vec![BTreeSet::new(); k];
    for (_, mut names) in by_label {
        if names.len() < 2 {
            continue;
        }
        names.shuffle(&mut rng);
        for (idx, name) in names.into_iter().enumerate() {
            folds[idx % k].insert(name.to_string());
        }
    }
    folds
}

/// Pareto plots of a search as SVG files: accuracy against latency and against RAM, each with the
/// budget's line when there is one; points are the trials (within budget on the front, within
/// budget, over budget).
pub fn pareto_plots(report: &TuneReport) -> Vec<(&'static str, String)> {
    use mote_report::{FeatureScatter, Plot as _, ScatterPoint};
    let budget = &report.settings.budget;
    let plots = [
        ("pareto-latency.svg", "latency per window (ms)", budget.latency_ms.map(f64::from), true),
        ("pareto-ram.svg", "RAM (KiB)", budget.ram_bytes.map(|b| b as f64 / 1024.0), false),
    ];
    let mut files = Vec::new();
    for (name, x_title, limit, latency) in plots {
        let points: Vec<ScatterPoint> = report
            .trials
            .iter()
            .filter_map(|trial| {
                let result = trial.result.as_ref()?;
                let front = if latency { trial.pareto_latency } else { trial.pareto_ram };
                let label = match (trial.within_budget, front) {
                    (true, true) => 0,
                    (true, false) => 1,
                    (false, _) => 2,
                };
                let x = if latency { f64::from(result.latency_ms) } else { result.ram_bytes as f64 / 1024.0 };
                Some(ScatterPoint { x, y: f64::from(result.accuracy), label })
            })
            .collect();
        if points.is_empty() {
            continue;
        }
        let scatter = FeatureScatter {
            title: format!(
                "Search {}: accuracy against {}",
                report.tune,
                if latency { "latency" } else { "RAM" }
            ),
            x_title: x_title.into(),
            y_title: "accuracy (cross-validated, int8)".into(),
            labels: vec!["Pareto front, within budget".into(), "within budget".into(), "over budget".into()],
            points,
            x_guide: limit.map(|x| (x, "budget".to_string())),
        };
        if let Ok(svg) = scatter.to_svg() {
            files.push((name, svg));
        }
    }
    files
}
