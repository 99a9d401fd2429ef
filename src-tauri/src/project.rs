//! Commands of the Dashboard and Data acquisition pages: the open project, its samples,
//! recording from the connected board.

use std::time::Duration;

use mote_pipeline::link::stream::{CaptureProgress, CaptureRequest};
use mote_pipeline::project::{Project, SampleFilter, SampleId, SampleInfo, Split};
use mote_pipeline::record::sample_from_capture;
use serde::Serialize;
use specta::Type;
use tauri::State;
use tauri::ipc::Channel;

use crate::dto::AppError;
use crate::state::AppState;

#[derive(Debug, Clone, Serialize, Type)]
pub struct LabelCount {
    pub label: String,
    pub train: u32,
    pub test: u32,
}

#[derive(Debug, Clone, Serialize, Type)]
pub struct ProjectInfo {
    pub name: String,
    pub dir: String,
    pub sensor: String,
    pub axes: Vec<String>,
    pub rate_hz: f64,
    pub window_ms: u32,
    pub samples: u32,
    pub labels: Vec<LabelCount>,
}

#[derive(Debug, Clone, Serialize, Type)]
pub struct SampleRow {
    pub id: i32,
    pub name: String,
    pub label: String,
    pub split: crate::dto::Split,
    pub seconds: f64,
    pub device: String,
}

impl From<&SampleInfo> for SampleRow {
    fn from(info: &SampleInfo) -> Self {
        Self {
            id: info.id.0 as i32,
            name: info.name.clone(),
            label: info.label.clone(),
            split: info.split.into(),
            seconds: info.duration_ms() / 1000.0,
            device: info.device.clone(),
        }
    }
}

/// After every batch of a recording: how far it is, and the batch itself for the live chart.
#[derive(Debug, Clone, Serialize, Type)]
pub struct RecordProgress {
    pub samples: u32,
    pub total: u32,
    /// Stream index of the batch's first sample.
    pub first_sample: u32,
    /// The batch's raw values, axes interleaved.
    pub values: Vec<i16>,
}

/// The open project: the user's default project, created on first use.
pub(crate) async fn with_project<T>(
    state: &State<'_, AppState>,
    work: impl AsyncFnOnce(&Project) -> Result<T, AppError>,
) -> Result<T, AppError> {
    with_project_mut(state, async |project| work(project).await).await
}

/// Like [`with_project`], for changes to the project's settings.
pub(crate) async fn with_project_mut<T>(
    state: &State<'_, AppState>,
    work: impl AsyncFnOnce(&mut Project) -> Result<T, AppError>,
) -> Result<T, AppError> {
    let mut slot = state.project.lock().await;
    if slot.is_none() {
        let dir = Project::default_dir()?;
        *slot = Some(Project::open_or_create(&dir).await?);
    }
    work(slot.as_mut().expect("opened above")).await
}

#[tauri::command]
#[specta::specta]
pub async fn project_info(state: State<'_, AppState>) -> Result<ProjectInfo, AppError> {
    with_project(&state, async |project| {
        let samples = project.list_samples(&SampleFilter::default()).await?;
        let mut labels: Vec<LabelCount> = Vec::new();
        for sample in &samples {
            let idx = match labels.iter().position(|l| l.label == sample.label) {
                Some(idx) => idx,
                None => {
                    labels.push(LabelCount { label: sample.label.clone(), train: 0, test: 0 });
                    labels.len() - 1
                }
            };
            match sample.split {
                Split::Train => labels[idx].train += 1,
                Split::Test => labels[idx].test += 1,
            }
        }
        labels.sort_by(|a, b| a.label.cmp(&b.label));
        let config = project.config();
        Ok(ProjectInfo {
            name: config.project.name.clone(),
            dir: project.dir().display().to_string(),
            sensor: config.data.sensor.clone(),
            axes: config.data.axes.clone(),
            rate_hz: config.data.rate_hz,
            window_ms: config.window.length_ms,
            samples: samples.len() as u32,
            labels,
        })
    })
    .await
}

#[tauri::command]
#[specta::specta]
pub async fn list_samples(state: State<'_, AppState>) -> Result<Vec<SampleRow>, AppError> {
    with_project(&state, async |project| {
        Ok(project.list_samples(&SampleFilter::default()).await?.iter().map(SampleRow::from).collect())
    })
    .await
}

/// Records `seconds` of the project's sensor from the connected board as one `label` sample.
/// Batches stream to `on_progress`; `cancel_recording` ends it early (nothing is stored then).
#[tauri::command]
#[specta::specta]
pub async fn record_sample(
    state: State<'_, AppState>,
    label: String,
    seconds: f64,
    split: crate::dto::Split,
    on_progress: Channel<RecordProgress>,
) -> Result<SampleRow, AppError> {
    let label = checked_form(&label, seconds)?;
    let split = split.into();
    let session = state
        .session
        .lock()
        .await
        .clone()
        .ok_or_else(|| AppError::new("not_connected", "connect to a board first (Devices)"))?;
    let (sensor, rate_hz) =
        with_project(&state, async |p| Ok((p.config().data.sensor.clone(), p.config().data.rate_hz))).await?;
    let total = (seconds * rate_hz).round() as u32;
    let request = CaptureRequest {
        sensor,
        rate_hz: rate_hz.round() as u32,
        duration: Duration::from_secs_f64(seconds),
    };
    let claim = state.recording.claim("record.busy", "a recording is already going")?;
    let cancel = claim.cancel.clone();
    let progress = Box::new(move |update: &CaptureProgress<'_>| {
        let _ = on_progress.send(RecordProgress {
            samples: update.stats.samples.min(u64::from(total)) as u32,
            total,
            first_sample: update.first_sample.min(u64::from(u32::MAX)) as u32,
            values: update.values.to_vec(),
        });
    });
    let captured = session.capture(request, cancel, progress).await;
    drop(claim);
    let captured = captured?;
    let device = session.info().device_id.clone();
    // The store makes names unique (`wave`, `wave.2`, …).
    let name = label.clone();
    let sample = sample_from_capture(captured, name, &label, split, &device).map_err(AppError::from)?;
    add_and_show(&state, sample).await
}

/// Records `seconds` from a data-forwarder board (one that prints readings as text lines) on
/// `port` as one `label` sample: listens 2 s for its axes and rate first. A project with no
/// samples takes the board's axis count and rate; otherwise the board must fit the project.
/// `cancel_recording` ends it early (nothing is stored then).
#[tauri::command]
#[specta::specta]
pub async fn record_forwarder_sample(
    state: State<'_, AppState>,
    port: String,
    label: String,
    seconds: f64,
    split: crate::dto::Split,
    on_progress: Channel<RecordProgress>,
) -> Result<SampleRow, AppError> {
    use mote_pipeline::link::forwarder::DEFAULT_BAUD_RATE;
    use mote_pipeline::record::{ForwarderRecorder, RecordError};

    let label = checked_form(&label, seconds)?;
    let split = split.into();
    let port = port.trim().to_string();
    if port.is_empty() {
        return Err(AppError::new("invalid", "name the serial port of the data-forwarder board"));
    }
    let claim = state.recording.claim("record.busy", "a recording is already going")?;
    let cancel = claim.cancel.clone();
    let result = async {
        let path = port.clone();
        let (link, detected) =
            tokio::task::spawn_blocking(move || ForwarderRecorder::listen(&path, DEFAULT_BAUD_RATE))
                .await
                .map_err(|e| AppError::new("internal", e.to_string()))??;
        if cancel.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(RecordError::Cancelled { samples: 0 }.into());
        }
        let mut recorder = with_project_mut(&state, async |project| {
            Ok(ForwarderRecorder::fit(project, &port, link, detected).await?)
        })
        .await?;
        let total = (seconds * recorder.data().rate_hz).round() as u32;
        let sample = tokio::task::spawn_blocking(move || {
            recorder.record(label.clone(), &label, split, seconds, cancel, |progress| {
                let _ = on_progress.send(RecordProgress {
                    samples: (progress.sample_count as u32).min(total),
                    total,
                    first_sample: 0,
                    values: Vec::new(),
                });
            })
        })
        .await
        .map_err(|e| AppError::new("internal", e.to_string()))??;
        add_and_show(&state, sample).await
    }
    .await;
    drop(claim);
    result
}

/// The record form's label (trimmed, not empty) and length (0–600 s).
fn checked_form(label: &str, seconds: f64) -> Result<String, AppError> {
    let label = label.trim().to_string();
    if label.is_empty() {
        return Err(AppError::new("invalid", "give the sample a label"));
    }
    if !(seconds > 0.0 && seconds <= 600.0) {
        return Err(AppError::new("invalid", "length must be between 0 and 600 seconds"));
    }
    Ok(label)
}

/// Stores a recorded sample; returns its row.
async fn add_and_show(
    state: &State<'_, AppState>,
    sample: mote_pipeline::project::NewSample,
) -> Result<SampleRow, AppError> {
    with_project_mut(state, async |project| {
        let added = project.add_samples(vec![sample]).await?;
        let samples = project.list_samples(&SampleFilter::default()).await?;
        let id = added
            .added
            .first()
            .map(|a| a.id)
            .ok_or_else(|| AppError::new("duplicate", "this recording is already in the project"))?;
        samples
            .iter()
            .find(|s| s.id == id)
            .map(SampleRow::from)
            .ok_or_else(|| AppError::new("internal", "the new sample was not found"))
    })
    .await
}

/// Ends the recording under way; it is not stored. False when nothing was recording.
#[tauri::command]
#[specta::specta]
pub fn cancel_recording(state: State<'_, AppState>) -> bool {
    state.recording.cancel()
}

/// Makes the connected board's `sensor` at `rate_hz` what the project records (its `[data]`
/// sensor, axes and rate). Only while the project has no samples: samples of one project share
/// one sensor and rate. Returns the project as it is now.
#[tauri::command]
#[specta::specta]
pub async fn set_recording_sensor(
    state: State<'_, AppState>,
    sensor: String,
    rate_hz: u32,
) -> Result<ProjectInfo, AppError> {
    let board = state
        .session
        .lock()
        .await
        .as_ref()
        .map(|session| session.info().clone())
        .ok_or_else(|| AppError::new("not_connected", "connect to a board first (Devices)"))?;
    with_project_mut(&state, async |project| {
        Ok(mote_pipeline::record::choose_sensor(project, &board, &sensor, rate_hz).await?)
    })
    .await?;
    project_info(state).await
}

#[tauri::command]
#[specta::specta]
pub async fn delete_sample(state: State<'_, AppState>, id: i32) -> Result<(), AppError> {
    with_project(&state, async |project| {
        project.delete_samples(&[SampleId(i64::from(id))]).await?;
        Ok(())
    })
    .await
}

/// Opens (or creates) the project in `dir`, or in a folder picked with a dialog when `dir` is
/// not given; a CI bundle folder is checked against its lock and opened as a new project. The
/// previous project is closed. `None` when the dialog was cancelled.
#[tauri::command]
#[specta::specta]
pub async fn open_project(
    app: tauri::AppHandle,
    state: State<'_, AppState>,
    dir: Option<String>,
) -> Result<Option<ProjectInfo>, AppError> {
    let Some(dir) = folder_or_dialog(app, dir).await? else {
        return Ok(None);
    };
    // A CI bundle becomes a project of its own beside the default project.
    let projects = Project::default_dir()?.parent().map(|p| p.to_path_buf()).unwrap_or_else(|| dir.clone());
    let opened = mote_pipeline::bundle::open_folder_or_bundle(&dir, &projects).await?;
    {
        let mut slot = state.project.lock().await;
        if let Some(previous) = slot.replace(opened) {
            previous.close().await;
        }
    }
    project_info(state).await.map(Some)
}

/// Writes the project as a CI bundle (`mote build`) into `dir`, or a folder picked with a dialog
/// (which must be empty). Returns the folder, `None` when the dialog was cancelled.
#[tauri::command]
#[specta::specta]
pub async fn export_bundle(
    app: tauri::AppHandle,
    state: State<'_, AppState>,
    dir: Option<String>,
) -> Result<Option<String>, AppError> {
    let Some(dir) = folder_or_dialog(app, dir).await? else {
        return Ok(None);
    };
    with_project(&state, async |project| {
        mote_pipeline::bundle::export_bundle(project, &dir).await.map_err(AppError::from)?;
        Ok(Some(dir.display().to_string()))
    })
    .await
}

/// `dir` when given, else a folder the person picks in the system's dialog (`None`: cancelled).
pub(crate) async fn folder_or_dialog(
    app: tauri::AppHandle,
    dir: Option<String>,
) -> Result<Option<std::path::PathBuf>, AppError> {
    if let Some(dir) = dir {
        return Ok(Some(std::path::PathBuf::from(dir)));
    }
    use tauri_plugin_dialog::DialogExt as _;
    let picked = tokio::task::spawn_blocking(move || app.dialog().file().blocking_pick_folder())
        .await
        .map_err(|e| AppError::new("internal", e.to_string()))?;
    Ok(picked.and_then(|p| p.into_path().ok()))
}
