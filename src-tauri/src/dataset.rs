//! Commands of the Data acquisition page beyond recording: look at a sample, relabel, move
//! between train and test, crop, split into windows, automatic split, statistics, imports.
//! Every change is one store transaction: on error nothing changes.

use mote_pipeline::project::import::ImportOptions;
use mote_pipeline::project::{SampleFilter, SampleId};
use serde::Serialize;
use specta::Type;
use tauri::State;

use crate::dto::{AppError, Split};
use crate::project::{SampleRow, with_project, with_project_mut};
use crate::state::AppState;

fn sample_ids(ids: &[i32]) -> Vec<SampleId> {
    ids.iter().map(|&id| SampleId(i64::from(id))).collect()
}

#[derive(Debug, Clone, Serialize, Type)]
pub struct SampleAxis {
    pub name: String,
    pub unit: String,
    pub scale: f64,
}

/// One sample's signal for plotting: raw counts, interleaved; physical value = raw × scale.
#[derive(Debug, Clone, Serialize, Type)]
pub struct SampleData {
    pub id: i32,
    pub name: String,
    pub label: String,
    pub rate_hz: f64,
    pub axes: Vec<SampleAxis>,
    pub values: Vec<i16>,
}

#[tauri::command]
#[specta::specta]
pub async fn sample_data(state: State<'_, AppState>, id: i32) -> Result<SampleData, AppError> {
    with_project(&state, async |project| {
        let sample = project.sample(SampleId(i64::from(id))).await?;
        Ok(SampleData {
            id,
            name: sample.info.name.clone(),
            label: sample.info.label.clone(),
            rate_hz: sample.recording.rate_hz,
            axes: sample
                .recording
                .axes
                .iter()
                .map(|a| SampleAxis { name: a.name.clone(), unit: a.unit.clone(), scale: a.scale })
                .collect(),
            values: sample.recording.raw,
        })
    })
    .await
}

#[tauri::command]
#[specta::specta]
pub async fn relabel_samples(
    state: State<'_, AppState>,
    ids: Vec<i32>,
    label: String,
) -> Result<u32, AppError> {
    let label = label.trim().to_string();
    if label.is_empty() {
        return Err(AppError::new("invalid", "the new label is empty"));
    }
    with_project(&state, async |project| Ok(project.relabel(&sample_ids(&ids), &label).await? as u32)).await
}

#[tauri::command]
#[specta::specta]
pub async fn move_samples(state: State<'_, AppState>, ids: Vec<i32>, to: Split) -> Result<u32, AppError> {
    with_project(&state, async |project| Ok(project.set_split(&sample_ids(&ids), to.into()).await? as u32))
        .await
}

#[tauri::command]
#[specta::specta]
pub async fn delete_samples(state: State<'_, AppState>, ids: Vec<i32>) -> Result<u32, AppError> {
    with_project(&state, async |project| Ok(project.delete_samples(&sample_ids(&ids)).await? as u32)).await
}

/// Keeps seconds `start_s..end_s` of a sample.
#[tauri::command]
#[specta::specta]
pub async fn crop_sample(
    state: State<'_, AppState>,
    id: i32,
    start_s: f64,
    end_s: f64,
) -> Result<SampleRow, AppError> {
    with_project(&state, async |project| {
        let sample = project.sample(SampleId(i64::from(id))).await?;
        let rate = sample.recording.rate_hz;
        if !(start_s >= 0.0 && end_s > start_s) {
            return Err(AppError::new(
                "invalid",
                "the crop must start at 0 s or later and end after it starts",
            ));
        }
        let start = (start_s * rate).round() as usize;
        let end = (end_s * rate).round() as usize;
        let info = project.crop(SampleId(i64::from(id)), start, end).await?;
        Ok(SampleRow::from(&info))
    })
    .await
}

/// Cuts a sample into consecutive pieces of `seconds` each (the rest is dropped).
#[tauri::command]
#[specta::specta]
pub async fn split_sample(state: State<'_, AppState>, id: i32, seconds: f64) -> Result<u32, AppError> {
    with_project(&state, async |project| {
        let sample = project.sample(SampleId(i64::from(id))).await?;
        let steps = (seconds * sample.recording.rate_hz).round();
        if !(steps >= 1.0) {
            return Err(AppError::new("invalid", "piece length must be at least one sample"));
        }
        let report = project.split_into_windows(SampleId(i64::from(id)), steps as usize).await?;
        Ok(report.windows.added.len() as u32)
    })
    .await
}

/// Assigns every sample to train or test, stratified by label (seeded by the project's seed).
#[tauri::command]
#[specta::specta]
pub async fn auto_split(state: State<'_, AppState>, test_fraction: f64) -> Result<(), AppError> {
    with_project(&state, async |project| {
        project.auto_split(test_fraction, project.config().project.seed).await?;
        Ok(())
    })
    .await
}

#[derive(Debug, Clone, Serialize, Type)]
pub struct LabelBalance {
    pub label: String,
    pub train: u32,
    pub test: u32,
    pub seconds: f64,
}

#[derive(Debug, Clone, Serialize, Type)]
pub struct AxisSummary {
    pub axis: String,
    pub mean: f64,
    pub std: f64,
    pub min: f64,
    pub max: f64,
}

#[derive(Debug, Clone, Serialize, Type)]
pub struct DatasetSummary {
    pub labels: Vec<LabelBalance>,
    pub axes: Vec<AxisSummary>,
}

#[tauri::command]
#[specta::specta]
pub async fn dataset_stats(state: State<'_, AppState>) -> Result<DatasetSummary, AppError> {
    with_project(&state, async |project| {
        if project.sample_count().await? == 0 {
            return Ok(DatasetSummary { labels: Vec::new(), axes: Vec::new() });
        }
        let stats = project.stats(&SampleFilter::default()).await?;
        Ok(DatasetSummary {
            labels: stats
                .labels
                .iter()
                .map(|l| LabelBalance {
                    label: l.label.clone(),
                    train: l.train as u32,
                    test: l.test as u32,
                    seconds: l.total_duration_ms / 1000.0,
                })
                .collect(),
            axes: stats
                .per_axis
                .iter()
                .map(|a| AxisSummary {
                    axis: a.axis.clone(),
                    mean: a.mean,
                    std: a.std,
                    min: a.min,
                    max: a.max,
                })
                .collect(),
        })
    })
    .await
}

#[derive(Debug, Clone, Serialize, Type)]
pub struct ImportSummary {
    pub imported: u32,
    pub duplicates: u32,
    /// What a project with no samples took from the imported data (sensor, axes, rate, impulse).
    pub adopted: Option<String>,
}

/// Imports files (Edge Impulse CSV/JSON, WAV, Mote datasets): `paths` from a drop, or a file
/// dialog when empty. All or nothing per call.
#[tauri::command]
#[specta::specta]
pub async fn import_samples(
    app: tauri::AppHandle,
    state: State<'_, AppState>,
    paths: Vec<String>,
    label: Option<String>,
) -> Result<ImportSummary, AppError> {
    let paths: Vec<std::path::PathBuf> = if paths.is_empty() {
        use tauri_plugin_dialog::DialogExt as _;
        let picked = tokio::task::spawn_blocking(move || app.dialog().file().blocking_pick_files())
            .await
            .map_err(|e| AppError::new("internal", e.to_string()))?;
        picked.unwrap_or_default().into_iter().filter_map(|p| p.into_path().ok()).collect()
    } else {
        paths.into_iter().map(std::path::PathBuf::from).collect()
    };
    if paths.is_empty() {
        return Ok(ImportSummary { imported: 0, duplicates: 0, adopted: None });
    }
    let label = label.map(|l| l.trim().to_string()).filter(|l| !l.is_empty());
    with_project_mut(&state, async |project| {
        let options = ImportOptions { label, ..ImportOptions::default() };
        let (files, dirs): (Vec<_>, Vec<_>) = paths.iter().cloned().partition(|p| !p.is_dir());
        let mut summary = ImportSummary { imported: 0, duplicates: 0, adopted: None };
        let count = |summary: &mut ImportSummary, report: mote_pipeline::project::ImportReport| {
            summary.imported += report.imported.len() as u32;
            summary.duplicates += report.duplicates.len() as u32;
            if let Some(adopted) = report.adopted {
                summary.adopted = Some(adopted.to_string());
            }
        };
        if !files.is_empty() {
            let report = project.import_files(&files, &options).await?;
            count(&mut summary, report);
        }
        for dir in dirs {
            let report = project.import_dir(&dir, &options).await?;
            count(&mut summary, report);
        }
        Ok(summary)
    })
    .await
}
