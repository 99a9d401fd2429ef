//! The Tuner page: start (or resume) a search within a target's budget, watch trials arrive,
//! cancel it, and apply a trial to the impulse. The search itself is `mote_pipeline::tune`, the
//! same one `mote tune` runs.

use mote_pipeline::project::Project;
use mote_pipeline::tune::{Budget, TuneReport, TuneSettings, apply_trial, latest_report, pareto_plots, tune};
use serde::{Deserialize, Serialize};
use specta::Type;
use tauri::State;
use tauri::ipc::Channel;

use crate::dto::AppError;
use crate::project::{with_project, with_project_mut};
use crate::state::AppState;

/// What the search must stay within (`None` = no limit).
#[derive(Debug, Clone, Deserialize, Type)]
pub struct TuneRequest {
    /// A target id (`cortex-m4f-64mhz`, …).
    pub target: String,
    pub ram_kib: Option<f64>,
    pub flash_kib: Option<f64>,
    pub latency_ms: Option<f32>,
    pub min_accuracy: Option<f32>,
    /// Stop starting trials after this long.
    pub minutes: Option<f64>,
    /// Start a new search even when one with these settings can be resumed.
    pub fresh: bool,
}

#[derive(Debug, Clone, Serialize, Type)]
pub struct TrialRow {
    pub number: u32,
    pub description: String,
    pub accuracy: Option<f32>,
    pub test_accuracy: Option<f32>,
    pub ram_bytes: Option<f64>,
    pub flash_bytes: Option<f64>,
    pub latency_ms: Option<f32>,
    /// DSP + inference per window measured on the emulated Cortex-M4F (64 MHz), milliseconds.
    pub measured_ms: Option<f64>,
    pub error: Option<String>,
    pub within_budget: bool,
    pub pareto: bool,
    pub baseline: bool,
}

#[derive(Debug, Clone, Serialize, Type)]
pub struct TuneSummary {
    pub tune: i32,
    pub target: String,
    pub trials: Vec<TrialRow>,
    pub total: u32,
    /// The trial number of the best one within budget.
    pub best: Option<u32>,
    pub finished: bool,
    /// Accuracy against latency and against RAM, as SVG (the budget's line drawn).
    pub plots: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Type)]
pub struct TuneUpdate {
    pub done: u32,
    pub total: u32,
    pub elapsed_s: f64,
    pub eta_s: Option<f64>,
    pub trial: Option<TrialRow>,
}

fn row(trial: &mote_pipeline::tune::Trial) -> TrialRow {
    let ok = trial.result.as_ref();
    TrialRow {
        number: trial.number as u32,
        description: trial.description.clone(),
        accuracy: ok.map(|r| r.accuracy),
        test_accuracy: ok.and_then(|r| r.test_accuracy),
        ram_bytes: ok.map(|r| r.ram_bytes as f64),
        flash_bytes: ok.map(|r| r.flash_bytes as f64),
        latency_ms: ok.map(|r| r.latency_ms),
        measured_ms: ok.and_then(|r| r.measured_instructions).map(|i| i as f64 / 64_000.0),
        error: trial.error.clone(),
        within_budget: trial.within_budget,
        pareto: trial.pareto_latency || trial.pareto_ram,
        baseline: trial.baseline,
    }
}

fn summary(report: &TuneReport) -> TuneSummary {
    TuneSummary {
        tune: report.tune as i32,
        target: report.settings.target.clone(),
        trials: report.trials.iter().map(row).collect(),
        total: report.total as u32,
        best: report.best.map(|i| report.trials[i].number as u32),
        finished: report.finished,
        plots: pareto_plots(report).into_iter().map(|(_, svg)| svg).collect(),
    }
}

/// Starts or resumes the search with these settings; trials stream to `on_trial`, and
/// `cancel_tune` stops it after the trial under way is abandoned (finished trials are kept).
#[tauri::command]
#[specta::specta]
pub async fn start_tune(
    state: State<'_, AppState>,
    request: TuneRequest,
    on_trial: Channel<TuneUpdate>,
) -> Result<TuneSummary, AppError> {
    let claim = state.tuning.claim("tune.busy", "a search is already running")?;
    let cancel = claim.cancel.clone();
    let dir = with_project(&state, async |project| Ok(project.dir().to_path_buf())).await;
    let result = async {
        let project = Project::open(&dir?).await?;
        let budget =
            Budget::from_kib(request.ram_kib, request.flash_kib, request.latency_ms, request.min_accuracy);
        let settings = TuneSettings::for_project(&project, &request.target, budget).await?;
        let report = tune(&project, &settings, request.fresh, request.minutes, cancel, |progress| {
            let _ = on_trial.send(TuneUpdate {
                done: progress.done as u32,
                total: progress.total as u32,
                elapsed_s: progress.elapsed_s,
                eta_s: progress.eta_s,
                trial: progress.last.as_ref().map(row),
            });
        })
        .await;
        project.close().await;
        Ok::<_, AppError>(summary(&report?))
    }
    .await;
    drop(claim);
    result
}

#[tauri::command]
#[specta::specta]
pub fn cancel_tune(state: State<'_, AppState>) -> bool {
    state.tuning.cancel()
}

/// The newest search, if the project has one.
#[tauri::command]
#[specta::specta]
pub async fn latest_tune(state: State<'_, AppState>) -> Result<Option<TuneSummary>, AppError> {
    with_project(&state, async |project| match latest_report(project).await {
        Ok(report) => Ok(Some(summary(&report))),
        Err(error) if error.code() == "tune.none" => Ok(None),
        Err(error) => Err(error.into()),
    })
    .await
}

/// Writes trial `number` of the newest search into `mote.toml` (its comments kept); train it on
/// the Training page.
#[tauri::command]
#[specta::specta]
pub async fn apply_tune_trial(state: State<'_, AppState>, number: u32) -> Result<String, AppError> {
    with_project_mut(&state, async |project| {
        let impulse = apply_trial(project, number as usize).await?;
        Ok(impulse.describe())
    })
    .await
}
