//! Commands of the Impulse design, Training, Model testing, Deployment and Live classification
//! pages. Training and deploying run off the UI path and report progress over channels; both can
//! be cancelled.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use mote_pipeline::form::FieldError;
use mote_pipeline::impulse::{Impulse, ImpulseDraft, ImpulseForms};
use mote_pipeline::int8::Int8Report;
use mote_pipeline::live::{LiveDecoder, LiveWindow};
use mote_pipeline::models::{ModelError, ModelMetrics, latest_model, model_blob};
use mote_pipeline::project::Project;
use mote_pipeline::training::Evaluation;
use mote_pipeline::training::{DEFAULT_UNCERTAIN_THRESHOLD, Stage, test_project_windows, train_project};
use serde::Serialize;
use specta::Type;
use tauri::State;
use tauri::ipc::Channel;

use crate::dto::{AppError, ExportFormat, LeanBoard};
use crate::project::{folder_or_dialog, with_project, with_project_mut};
use crate::state::AppState;

#[derive(Debug, Clone, Serialize, Type)]
pub struct ImpulseInfo {
    pub settings: ImpulseDraft,
    /// Every block's parameter form, with defaults that fit the data and the window.
    pub forms: ImpulseForms,
    pub sensor: String,
    pub axes: Vec<String>,
    pub rate_hz: f64,
    /// Samples per window.
    pub window_samples: u32,
    /// Features per window, when the impulse is valid.
    pub features: Option<u32>,
    /// Why the current impulse is not valid.
    pub problem: Option<String>,
}

fn impulse_info(project: &Project) -> ImpulseInfo {
    let config = project.config();
    let checked = Impulse::from_config(config);
    ImpulseInfo {
        settings: ImpulseDraft::of(config),
        forms: ImpulseForms::for_config(config),
        sensor: config.data.sensor.clone(),
        axes: config.data.axes.clone(),
        rate_hz: config.data.rate_hz,
        window_samples: checked.as_ref().map_or(0, |impulse| impulse.window_samples as u32),
        features: checked.as_ref().ok().map(|impulse| impulse.output.len() as u32),
        problem: checked.err().map(|error| error.to_string()),
    }
}

#[tauri::command]
#[specta::specta]
pub async fn get_impulse(state: State<'_, AppState>) -> Result<ImpulseInfo, AppError> {
    with_project(&state, async |project| Ok(impulse_info(project))).await
}

/// A draft impulse as the design page shows it while it is edited: the problems, each on its
/// field, and what the draft would give.
#[derive(Debug, Clone, Serialize, Type)]
pub struct ImpulseCheck {
    pub problems: Vec<FieldError>,
    /// The forms for the draft's window (the spectral block's defaults follow it).
    pub forms: ImpulseForms,
    pub window_samples: Option<u32>,
    pub features: Option<u32>,
}

/// Checks a draft without saving it (the page calls this as fields change).
#[tauri::command]
#[specta::specta]
pub async fn check_impulse(
    state: State<'_, AppState>,
    draft: ImpulseDraft,
) -> Result<ImpulseCheck, AppError> {
    with_project(&state, async |project| {
        let checked =
            draft.apply(project.config()).and_then(|config| Ok((Impulse::from_config(&config)?, config)));
        let mut windowed = project.config().clone();
        windowed.window.length_ms = draft.window_ms;
        windowed.window.stride_ms = draft.stride_ms;
        Ok(match checked {
            Ok((impulse, config)) => ImpulseCheck {
                problems: Vec::new(),
                forms: ImpulseForms::for_config(&config),
                window_samples: Some(impulse.window_samples as u32),
                features: Some(impulse.output.len() as u32),
            },
            Err(error) => ImpulseCheck {
                problems: error.field_errors(),
                forms: ImpulseForms::for_config(&windowed),
                window_samples: None,
                features: None,
            },
        })
    })
    .await
}

/// Checks the new impulse as a whole and writes it to `mote.toml` (comments kept); on any error
/// nothing changes.
#[tauri::command]
#[specta::specta]
pub async fn save_impulse(state: State<'_, AppState>, draft: ImpulseDraft) -> Result<ImpulseInfo, AppError> {
    with_project_mut(&state, async |project| {
        let config = draft.apply(project.config())?;
        project.save_config(config)?;
        Ok(impulse_info(project))
    })
    .await
}

/// One epoch, as the Training page plots it.
#[derive(Debug, Clone, Serialize, Type)]
pub struct EpochUpdate {
    pub epoch: u32,
    pub epochs: u32,
    pub train_loss: f32,
    pub train_accuracy: Option<f32>,
    pub validation_loss: Option<f32>,
    pub validation_accuracy: Option<f32>,
    /// The part of the run: `teacher` (distillation), `model`, or `pruning step N`.
    pub stage: String,
}

#[derive(Debug, Clone, Serialize, Type)]
pub struct ClassRow {
    pub label: String,
    pub precision: f32,
    pub recall: f32,
    pub f1: f32,
    pub support: u32,
}

#[derive(Debug, Clone, Serialize, Type)]
pub struct EvaluationSummary {
    pub labels: Vec<String>,
    pub accuracy: f32,
    pub windows: u32,
    pub uncertain: u32,
    /// `[true][predicted]`, certain windows.
    pub confusion: Vec<Vec<u32>>,
    pub classes: Vec<ClassRow>,
}

impl EvaluationSummary {
    fn new(evaluation: &Evaluation, labels: &[String]) -> Self {
        Self {
            labels: labels.to_vec(),
            accuracy: evaluation.top1_accuracy,
            windows: evaluation.total as u32,
            uncertain: evaluation.uncertain as u32,
            confusion: evaluation
                .confusion
                .iter()
                .map(|row| row.iter().map(|&c| c as u32).collect())
                .collect(),
            classes: evaluation
                .per_class
                .iter()
                .zip(labels)
                .map(|(m, label)| ClassRow {
                    label: label.clone(),
                    precision: m.precision,
                    recall: m.recall,
                    f1: m.f1,
                    support: m.support as u32,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Type)]
pub struct TargetEstimate {
    pub target: String,
    pub ram_bytes: u32,
    pub flash_bytes: u32,
    pub latency_ms: f32,
}

#[derive(Debug, Clone, Serialize, Type)]
pub struct Int8Summary {
    pub blob_bytes: u32,
    pub arena_bytes: u32,
    pub macs: f64,
    /// Float vs int8 on the test split.
    pub int8: Option<EvaluationSummary>,
    pub agreement: Option<f32>,
    pub estimates: Vec<TargetEstimate>,
}

impl Int8Summary {
    fn new(report: &Int8Report, labels: &[String]) -> Self {
        Self {
            blob_bytes: report.blob_bytes as u32,
            arena_bytes: report.arena_bytes as u32,
            macs: report.macs as f64,
            int8: report.comparison.as_ref().map(|c| EvaluationSummary::new(&c.int8, labels)),
            agreement: report.comparison.as_ref().map(|c| c.agreement),
            estimates: report
                .estimates
                .iter()
                .map(|e| TargetEstimate {
                    target: e.target.name.to_string(),
                    ram_bytes: e.ram_bytes as u32,
                    flash_bytes: e.flash_bytes as u32,
                    latency_ms: e.latency_ms,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Type)]
pub struct TrainSummary {
    pub model: i32,
    pub labels: Vec<String>,
    pub train_windows: u32,
    pub features: u32,
    pub seconds: f64,
    pub test: Option<EvaluationSummary>,
    pub int8: Int8Summary,
    /// Augmented copies of training windows trained on (`[learn.augment]`).
    pub augmented_windows: u32,
    /// With `[learn.prune]`: the network before pruning (step 0) and after each step.
    pub pruning: Vec<PruneRow>,
}

/// One pruning step: the network's size after it and its validation accuracy.
#[derive(Debug, Clone, Serialize, Type)]
pub struct PruneRow {
    pub step: u32,
    pub conv_filters: Vec<u32>,
    pub hidden: Vec<u32>,
    pub macs: f64,
    pub parameters: f64,
    pub accuracy: Option<f32>,
}

/// Trains the project's impulse. Epochs stream to `on_epoch`; `cancel_training` stops it (no
/// model is stored then). The project stays usable meanwhile (training uses its own handle).
#[tauri::command]
#[specta::specta]
pub async fn train_model(
    state: State<'_, AppState>,
    on_epoch: Channel<EpochUpdate>,
) -> Result<TrainSummary, AppError> {
    let claim = state.training.claim("train.busy", "a training run is already going")?;
    let cancel = claim.cancel.clone();
    let dir = with_project(&state, async |project| Ok(project.dir().to_path_buf())).await;
    let result = async {
        let project = Project::open(&dir?).await?;
        let flag = cancel.clone();
        // At most ~20 updates a second reach the UI, and always the last epoch: a fast run must
        // not flood the window with thousands of messages.
        let mut last_sent: Option<Instant> = None;
        let report = train_project(&project, cancel, move |epoch| {
            let now = Instant::now();
            let due = last_sent.is_none_or(|sent| now.duration_since(sent) >= Duration::from_millis(50));
            if !due && epoch.epoch < epoch.epochs {
                return if flag.load(Ordering::Relaxed) {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                };
            }
            last_sent = Some(now);
            let _ = on_epoch.send(EpochUpdate {
                epoch: epoch.epoch as u32,
                epochs: epoch.epochs as u32,
                train_loss: epoch.train_loss,
                train_accuracy: epoch.train_accuracy,
                validation_loss: epoch.validation_loss,
                validation_accuracy: epoch.validation_accuracy,
                stage: match epoch.stage {
                    Stage::Teacher => "teacher".into(),
                    Stage::Model => "model".into(),
                    Stage::Prune { step } => format!("pruning step {step}"),
                },
            });
            if flag.load(Ordering::Relaxed) { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
        })
        .await;
        project.close().await;
        let report = report?;
        Ok::<_, AppError>(TrainSummary {
            model: report.model as i32,
            train_windows: report.train_windows as u32,
            features: report.n_features as u32,
            seconds: report.seconds,
            test: report.test.as_ref().map(|t| EvaluationSummary::new(t, &report.labels)),
            int8: Int8Summary::new(&report.int8, &report.labels),
            augmented_windows: report.augmented_windows as u32,
            pruning: report
                .pruning
                .iter()
                .map(|step| PruneRow {
                    step: step.step as u32,
                    conv_filters: step.conv_filters.iter().map(|&n| n as u32).collect(),
                    hidden: step.hidden.iter().map(|&n| n as u32).collect(),
                    macs: step.macs as f64,
                    parameters: step.parameters as f64,
                    accuracy: step.accuracy,
                })
                .collect(),
            labels: report.labels,
        })
    }
    .await;
    drop(claim);
    result
}

#[tauri::command]
#[specta::specta]
pub fn cancel_training(state: State<'_, AppState>) -> bool {
    state.training.cancel()
}

#[derive(Debug, Clone, Serialize, Type)]
pub struct MisclassifiedRow {
    pub sample: String,
    pub window: u32,
    pub label: String,
    pub predicted: String,
    pub probability: f32,
}

#[derive(Debug, Clone, Serialize, Type)]
pub struct TestSummary {
    pub evaluation: EvaluationSummary,
    pub misclassified: Vec<MisclassifiedRow>,
}

/// Classifies the test split with the newest model; lists the windows it got wrong.
#[tauri::command]
#[specta::specta]
pub async fn test_model(state: State<'_, AppState>) -> Result<TestSummary, AppError> {
    with_project(&state, async |project| {
        let report = test_project_windows(project, DEFAULT_UNCERTAIN_THRESHOLD).await?;
        Ok(TestSummary {
            evaluation: EvaluationSummary::new(&report.evaluation, &report.labels),
            misclassified: report
                .misclassified
                .into_iter()
                .map(|m| MisclassifiedRow {
                    sample: m.sample,
                    window: m.window as u32,
                    label: m.label,
                    predicted: m.predicted,
                    probability: m.probability,
                })
                .collect(),
        })
    })
    .await
}

/// Two features of every window, for the feature explorer.
#[derive(Debug, Clone, Serialize, Type)]
pub struct FeaturePoints {
    pub n_features: u32,
    pub label_names: Vec<String>,
    /// The label index of each window.
    pub labels: Vec<u32>,
    pub xs: Vec<f32>,
    pub ys: Vec<f32>,
}

async fn all_features(project: &Project) -> Result<mote_pipeline::features::FeatureSet, AppError> {
    let impulse = Impulse::from_config(project.config()).map_err(AppError::from)?;
    let samples = project.load_samples(&mote_pipeline::project::SampleFilter::default()).await?;
    Ok(mote_pipeline::features::compute_features(&samples, &impulse)?)
}

#[tauri::command]
#[specta::specta]
pub async fn feature_points(state: State<'_, AppState>, x: u32, y: u32) -> Result<FeaturePoints, AppError> {
    with_project(&state, async |project| {
        let set = all_features(project).await?;
        let (x, y) = (x as usize, y as usize);
        if x >= set.n_features || y >= set.n_features {
            return Err(AppError::new(
                "invalid",
                format!("there are {} features per window", set.n_features),
            ));
        }
        let mut label_names: Vec<String> = set.labels.clone();
        label_names.sort();
        label_names.dedup();
        Ok(FeaturePoints {
            n_features: set.n_features as u32,
            labels: set
                .labels
                .iter()
                .map(|l| label_names.iter().position(|n| n == l).unwrap_or(0) as u32)
                .collect(),
            xs: (0..set.n_rows()).map(|row| set.row(row)[x]).collect(),
            ys: (0..set.n_rows()).map(|row| set.row(row)[y]).collect(),
            label_names,
        })
    })
    .await
}

/// The features of every window of one sample (the DSP block's output, as a board computes it).
#[tauri::command]
#[specta::specta]
pub async fn sample_features(state: State<'_, AppState>, id: i32) -> Result<Vec<Vec<f32>>, AppError> {
    with_project(&state, async |project| {
        let impulse = Impulse::from_config(project.config()).map_err(AppError::from)?;
        let sample = project.sample(mote_pipeline::project::SampleId(i64::from(id))).await?;
        let set = mote_pipeline::features::compute_features(&[sample], &impulse)?;
        Ok((0..set.n_rows()).map(|row| set.row(row).to_vec()).collect())
    })
    .await
}

#[derive(Debug, Clone, Serialize, Type)]
pub struct ModelSummary {
    pub id: i32,
    pub created: String,
    pub kind: String,
    pub labels: Vec<String>,
    pub accuracy: Option<f64>,
    pub int8_accuracy: Option<f64>,
    pub blob_bytes: Option<u32>,
    pub arena_bytes: Option<u32>,
}

/// The newest model, if the project has one.
#[tauri::command]
#[specta::specta]
pub async fn latest_model_info(state: State<'_, AppState>) -> Result<Option<ModelSummary>, AppError> {
    with_project(&state, async |project| {
        let stored = match latest_model(project).await {
            Ok(stored) => stored,
            Err(ModelError::NoModel) => return Ok(None),
            Err(error) => return Err(error.into()),
        };
        let metrics = ModelMetrics::of(&stored)?;
        Ok(Some(ModelSummary {
            id: stored.id.0 as i32,
            created: stored.created.clone(),
            kind: stored.kind.clone(),
            labels: metrics.labels,
            accuracy: metrics.test_accuracy.map(f64::from),
            int8_accuracy: metrics.int8_test_accuracy.map(f64::from),
            blob_bytes: metrics.blob_bytes.map(|b| b as u32),
            arena_bytes: metrics.arena_bytes.map(|b| b as u32),
        }))
    })
    .await
}

#[derive(Debug, Clone, Serialize, Type)]
pub struct DeployProgress {
    pub sent: u32,
    pub total: u32,
}

#[derive(Debug, Clone, Serialize, Type)]
pub struct DeployResult {
    pub model: i32,
    pub bytes: u32,
    pub slot: u8,
    pub board: String,
}

async fn session(state: &State<'_, AppState>) -> Result<mote_pipeline::link::session::Session, AppError> {
    state
        .session
        .lock()
        .await
        .clone()
        .ok_or_else(|| AppError::new("not_connected", "connect to a board first (Devices)"))
}

/// Uploads the newest model into the connected board's inactive slot.
#[tauri::command]
#[specta::specta]
pub async fn deploy_model(
    state: State<'_, AppState>,
    on_progress: Channel<DeployProgress>,
) -> Result<DeployResult, AppError> {
    let session = session(&state).await?;
    let (stored, blob) = with_project(&state, async |project| Ok(model_blob(project, None).await?)).await?;
    let bytes = blob.len() as u32;
    let cancel = Arc::new(AtomicBool::new(false));
    let progress = Box::new(move |sent, total| {
        let _ = on_progress.send(DeployProgress { sent, total });
    });
    let slot = session.deploy(blob, cancel, progress).await?;
    Ok(DeployResult {
        model: stored.id.0 as i32,
        bytes,
        slot: slot.slot,
        board: session.info().board.clone(),
    })
}

/// Writes the newest model in `format` (blob, C header, Rust crate, C library, Arduino library,
/// or a lean firmware for `board`) into `dir` (asked for with a folder dialog when not given).
/// Returns the files written.
#[tauri::command]
#[specta::specta]
pub async fn export_model(
    app: tauri::AppHandle,
    state: State<'_, AppState>,
    format: ExportFormat,
    dir: Option<String>,
    board: Option<LeanBoard>,
) -> Result<Vec<String>, AppError> {
    let Some(dir) = folder_or_dialog(app, dir).await? else {
        return Ok(Vec::new());
    };
    let files = with_project(&state, async |project| {
        let (_, blob) = model_blob(project, None).await?;
        let board = board.map(LeanBoard::name);
        Ok(mote_pipeline::export::export(project, format.name(), &blob, &dir, board).await?)
    })
    .await?;
    Ok(files.iter().map(|f| f.display().to_string()).collect())
}

/// One classified window for the Live page.
#[derive(Debug, Clone, Serialize, Type)]
pub struct LiveResult {
    pub seq: u32,
    pub top: u32,
    pub label: Option<String>,
    pub probabilities: Vec<f32>,
    pub anomaly: Option<f32>,
    pub dsp_us: u32,
    pub nn_us: u32,
    pub parity: Option<bool>,
    /// Why the host could not re-run this window (so it was not compared).
    pub parity_error: Option<String>,
}

impl From<LiveWindow> for LiveResult {
    fn from(window: LiveWindow) -> Self {
        Self {
            seq: window.seq,
            top: window.top as u32,
            label: window.label,
            probabilities: window.probabilities,
            anomaly: window.anomaly,
            dsp_us: window.dsp_us,
            nn_us: window.nn_us,
            parity: window.parity,
            parity_error: window.parity_error,
        }
    }
}

/// Starts on-board classification with the newest model's labels; with `verify`, every window is
/// re-run on the host and `parity` says whether the scores were identical.
#[tauri::command]
#[specta::specta]
pub async fn start_classify(
    state: State<'_, AppState>,
    verify: bool,
    on_window: Channel<LiveResult>,
) -> Result<Vec<String>, AppError> {
    let session = session(&state).await?;
    let mut decoder = with_project(&state, async |project| {
        Ok(LiveDecoder::for_project(project, session.info(), verify).await?)
    })
    .await?;
    let labels = decoder.labels().to_vec();
    let echo_windows = decoder.verify();
    let sink = Box::new(move |reply: &mote_pipeline::link::Reply| {
        decoder.on_reply(reply).into_iter().all(|window| on_window.send(LiveResult::from(window)).is_ok())
    });
    session.start_classify(echo_windows, sink).await?;
    Ok(labels)
}

#[tauri::command]
#[specta::specta]
pub async fn stop_classify(state: State<'_, AppState>) -> Result<(), AppError> {
    Ok(session(&state).await?.stop_classify().await?)
}
