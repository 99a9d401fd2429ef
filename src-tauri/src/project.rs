//! Commands of the Dashboard and Data acquisition pages: the open project, its samples,
//! recording from the connected board.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use mote_pipeline::link::stream::CaptureRequest;
use mote_pipeline::record::sample_from_capture;
use mote_project::{Project, SampleFilter, SampleId, SampleInfo, Split};
use serde::Serialize;
use specta::Type;
use tauri::State;
use tauri::ipc::Channel;

use crate::dto::AppError;
use crate::state::AppState;

impl From<mote_project::ProjectError> for AppError {
    fn from(error: mote_project::ProjectError) -> Self {
        AppError::new(error.code(), error.to_string())
    }
}

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
    pub split: String,
    pub seconds: f64,
    pub device: String,
}

impl From<&SampleInfo> for SampleRow {
    fn from(info: &SampleInfo) -> Self {
        Self {
            id: info.id.0 as i32,
            name: info.name.clone(),
            label: info.label.clone(),
            split: info.split.as_str().into(),
            seconds: info.duration_ms() / 1000.0,
            device: info.device.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Type)]
pub struct RecordProgress {
    pub samples: u32,
    pub total: u32,
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
#[tauri::command]
#[specta::specta]
pub async fn record_sample(
    state: State<'_, AppState>,
    label: String,
    seconds: f64,
    split: String,
    on_progress: Channel<RecordProgress>,
) -> Result<SampleRow, AppError> {
    let label = label.trim().to_string();
    if label.is_empty() {
        return Err(AppError::new("invalid", "give the sample a label"));
    }
    if !(seconds > 0.0 && seconds <= 600.0) {
        return Err(AppError::new("invalid", "length must be between 0 and 600 seconds"));
    }
    let split =
        Split::parse(&split).ok_or_else(|| AppError::new("invalid", "split must be train or test"))?;
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
    let progress = Box::new(move |stats: &mote_pipeline::link::stats::StreamStats| {
        let _ =
            on_progress.send(RecordProgress { samples: stats.samples.min(u64::from(total)) as u32, total });
    });
    let captured = session.capture(request, Arc::new(AtomicBool::new(false)), progress).await?;
    let device = session.info().device_id.clone();
    // The store makes names unique (`wave`, `wave.2`, …).
    let name = label.clone();
    let sample = sample_from_capture(captured, name, &label, split, &device)
        .map_err(|error| AppError::new(error.code(), error.to_string()))?;
    with_project(&state, async |project| {
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
    // A CI bundle (mote.lock, no database) becomes a project of its own in the projects folder.
    let opened = if dir.join(mote_pipeline::bundle::LOCK_FILE).exists()
        && !dir.join(mote_project::DATABASE_FILE).exists()
    {
        let name =
            dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "bundle".into());
        let projects =
            Project::default_dir()?.parent().map(|p| p.to_path_buf()).unwrap_or_else(|| dir.clone());
        let target = projects.join(format!("{name}-from-bundle"));
        if target.join(mote_project::DATABASE_FILE).exists() {
            Project::open(&target).await?
        } else {
            mote_pipeline::bundle::open_bundle(&dir, &target)
                .await
                .map_err(|e| AppError::new(e.code(), e.to_string()))?
        }
    } else {
        Project::open_or_create(&dir).await?
    };
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
        mote_pipeline::bundle::export_bundle(project, &dir)
            .await
            .map_err(|e| AppError::new(e.code(), e.to_string()))?;
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
