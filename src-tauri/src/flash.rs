//! Commands of the Deployment page's real-board targets: the flash plan, flashing through a debug
//! probe, and the Pico's UF2 image — all over `mote-flash`, with the firmware built from this
//! checkout when its sources changed.

use mote_pipeline::firmware::{self, RealBoard, Segment};
use mote_pipeline::models::model_blob;
use serde::Serialize;
use specta::Type;
use tauri::State;
use tauri::ipc::Channel;

use crate::dto::{AppError, FlashBoard};
use crate::project::{folder_or_dialog, with_project};
use crate::state::AppState;

/// What flashing a board would do.
#[derive(Debug, Clone, Serialize, Type)]
pub struct FlashPlanView {
    pub board: FlashBoard,
    pub chip: String,
    pub algorithm: String,
    /// One line per write and erase range, for people.
    pub lines: Vec<String>,
    pub bytes_written: f64,
    pub bytes_erased: f64,
    pub with_model: bool,
}

#[derive(Debug, Clone, Serialize, Type)]
pub struct FlashProgress {
    pub operation: String,
    pub done: f64,
    pub total: f64,
}

/// The firmware's segments, plus the newest model in slot 0 when asked and one exists.
async fn segments(
    state: &State<'_, AppState>,
    board: RealBoard,
    with_model: bool,
) -> Result<(Vec<Segment>, bool), AppError> {
    let blob = match with_model {
        true => Some(with_project(state, async |project| Ok(model_blob(project, None).await?)).await?.1),
        false => None,
    };
    let image = tokio::task::spawn_blocking(move || firmware::image(board, None, blob.as_deref()))
        .await
        .map_err(|e| AppError::new("internal", e.to_string()))??;
    Ok((image.segments, image.with_model))
}

/// The flash plan for `board` (nothing is written).
#[tauri::command]
#[specta::specta]
pub async fn flash_plan(
    state: State<'_, AppState>,
    board: FlashBoard,
    with_model: bool,
) -> Result<FlashPlanView, AppError> {
    let flash_board = board;
    let board = RealBoard::from(board);
    let (segments, with_model) = segments(&state, board, with_model).await?;
    let plan = firmware::plan(board, &segments)?;
    Ok(FlashPlanView {
        board: flash_board,
        chip: plan.chip.into(),
        algorithm: plan.algorithm.clone(),
        lines: plan.to_string().lines().skip(1).map(|line| line.trim().to_string()).collect(),
        bytes_written: plan.bytes_written as f64,
        bytes_erased: plan.bytes_erased as f64,
        with_model,
    })
}

/// Flashes `board` through the first debug probe found, then resets it.
#[tauri::command]
#[specta::specta]
pub async fn flash_board(
    state: State<'_, AppState>,
    board: FlashBoard,
    with_model: bool,
    progress: Channel<FlashProgress>,
) -> Result<(), AppError> {
    let board = RealBoard::from(board);
    let (segments, _) = segments(&state, board, with_model).await?;
    tokio::task::spawn_blocking(move || {
        let mut report = |operation: &str, done: u64, total: u64| {
            let _ = progress.send(FlashProgress {
                operation: operation.into(),
                done: done as f64,
                total: total as f64,
            });
        };
        firmware::flash_with_probe(board, &segments, &mut report)
    })
    .await
    .map_err(|e| AppError::new("internal", e.to_string()))??;
    Ok(())
}

/// Writes the Pico's UF2 image into `dir` (asked for with a folder dialog when not given: pick
/// the RPI-RP2 drive to flash at once). Returns the file written, or nothing when cancelled.
#[tauri::command]
#[specta::specta]
pub async fn export_uf2(
    app: tauri::AppHandle,
    state: State<'_, AppState>,
    with_model: bool,
    dir: Option<String>,
) -> Result<Option<String>, AppError> {
    let (segments, _) = segments(&state, RealBoard::Rp2040Pico, with_model).await?;
    let image = firmware::uf2(RealBoard::Rp2040Pico, &segments)?;
    let dir = match dir.or_else(|| firmware::find_uf2_drive().map(|d| d.display().to_string())) {
        Some(dir) => Some(std::path::PathBuf::from(dir)),
        None => folder_or_dialog(app, None).await?,
    };
    let Some(dir) = dir else { return Ok(None) };
    let file = dir.join("mote-rp2040-pico.uf2");
    std::fs::write(&file, image).map_err(|e| AppError::new("io", format!("{}: {e}", file.display())))?;
    Ok(Some(file.display().to_string()))
}
