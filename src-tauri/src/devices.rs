//! Commands of the Devices page: boards, virtual boards, the connection, live signal.

use mote_pipeline::link::discover::list_ports;
use mote_pipeline::link::session::{LiveBatch as PipelineBatch, Session};
use mote_pipeline::link::{Board as LinkBoard, ConnectOptions};
use mote_pipeline::virtual_board::SimArgs;
use tauri::ipc::Channel;
use tauri::{AppHandle, State};
use tauri_specta::Event as _;

use crate::dto::{
    Activity, AppError, AppInfo, Board, Device, ForwarderDevice, LiveBatch, SessionEnded, VirtualBoard,
};
use crate::state::AppState;

#[tauri::command]
#[specta::specta]
pub fn app_info() -> AppInfo {
    AppInfo {
        version: env!("CARGO_PKG_VERSION").into(),
        protocol_version: mote_pipeline::link::PROTOCOL_VERSION,
    }
}

#[tauri::command]
#[specta::specta]
pub async fn list_devices(state: State<'_, AppState>) -> Result<Vec<Device>, AppError> {
    let connected = state.session.lock().await.as_ref().map(|session| session.port().to_string());
    let mut ours: Vec<String> = state
        .virtual_boards
        .lock()
        .map(|boards| boards.iter().map(|b| b.path.clone()).collect())
        .unwrap_or_default();
    if let Ok(boards) = state.emulated_boards.lock() {
        ours.extend(boards.iter().map(|board| board.port.clone()));
    }
    let ports = tokio::task::spawn_blocking(list_ports)
        .await
        .map_err(|e| AppError::new("internal", e.to_string()))??;
    Ok(ports
        .into_iter()
        .map(|port| Device {
            connected: connected.as_deref() == Some(port.path.as_str()),
            started_here: ours.contains(&port.path),
            path: port.path,
            kind: port.kind.to_string(),
            product: port.product,
            likely_board: port.likely_board,
        })
        .collect())
}

/// Starts a virtual board in this process, performing `script` (default: idle).
#[tauri::command]
#[specta::specta]
pub async fn start_virtual_board(
    state: State<'_, AppState>,
    script: Option<String>,
) -> Result<VirtualBoard, AppError> {
    let mut args = SimArgs::default();
    if let Some(script) = script {
        args.script = script;
    }
    let ours: Vec<String> = state
        .virtual_boards
        .lock()
        .map(|boards| boards.iter().map(|board| board.device_id.clone()).collect())
        .unwrap_or_default();
    let running = mote_pipeline::virtual_board::VirtualBoard::start(args, &ours).await?;
    let board = VirtualBoard { device_id: running.device_id.clone(), path: running.path.clone() };
    if let Ok(mut boards) = state.virtual_boards.lock() {
        boards.push(running);
    }
    Ok(board)
}

/// Stops a virtual board this app started: to the host it looks like a pulled cable.
#[tauri::command]
#[specta::specta]
pub async fn stop_virtual_board(state: State<'_, AppState>, device_id: String) -> Result<(), AppError> {
    let board = state.virtual_boards.lock().ok().and_then(|mut boards| {
        let idx = boards.iter().position(|b| b.device_id == device_id)?;
        Some(boards.remove(idx))
    });
    match board {
        Some(board) => {
            tokio::task::spawn_blocking(move || drop(board)).await.ok();
            Ok(())
        }
        None => Err(AppError::new("not_found", format!("no virtual board `{device_id}` was started here"))),
    }
}

/// Listens to a port whose board prints readings as text lines (Edge Impulse data-forwarder
/// style) for 2 s, and reports the axes and the rate it found.
#[tauri::command]
#[specta::specta]
pub async fn detect_forwarder(port: String, baud_rate: Option<u32>) -> Result<ForwarderDevice, AppError> {
    use mote_pipeline::link::forwarder::{DetectionOptions, ForwarderLink};
    let path = port.clone();
    let detected = tokio::task::spawn_blocking(move || {
        let mut link = ForwarderLink::open(&path, baud_rate.unwrap_or(115_200))?;
        link.detect(&DetectionOptions::default())
    })
    .await
    .map_err(|e| AppError::new("internal", e.to_string()))?
    .map_err(AppError::from)?;
    Ok(ForwarderDevice {
        port,
        axis_count: detected.axis_count as u32,
        axis_names: detected.axis_names,
        rate_hz: detected.sampling_rate_hz,
        lines: detected.counted_line_count as u32,
        listened_seconds: detected.listened_seconds,
        garbage_lines: detected.garbage.line_count as u32,
        garbage_examples: detected.garbage.examples.iter().map(ToString::to_string).collect(),
    })
}

/// Boots the device agent's firmware on an emulated Cortex-M4F (QEMU), building it first if its
/// sources changed; the board appears among the ports like any serial board.
#[tauri::command]
#[specta::specta]
pub async fn start_emulated_board(state: State<'_, AppState>) -> Result<VirtualBoard, AppError> {
    let options = mote_pipeline::emulator::BootOptions { elf: None, register: true, monitor: None };
    let board = tokio::task::spawn_blocking(move || mote_pipeline::emulator::EmulatedBoard::boot(&options))
        .await
        .map_err(|e| AppError::new("internal", e.to_string()))?
        .map_err(AppError::from)?;
    let started =
        VirtualBoard { device_id: mote_pipeline::emulator::DEVICE_ID.into(), path: board.port.clone() };
    if let Ok(mut boards) = state.emulated_boards.lock() {
        boards.push(board);
    }
    Ok(started)
}

/// Stops an emulated board this app booted (by its port).
#[tauri::command]
#[specta::specta]
pub async fn stop_emulated_board(state: State<'_, AppState>, port: String) -> Result<(), AppError> {
    let board = state.emulated_boards.lock().ok().and_then(|mut boards| {
        let idx = boards.iter().position(|board| board.port == port)?;
        Some(boards.remove(idx))
    });
    match board {
        Some(board) => {
            tokio::task::spawn_blocking(move || drop(board)).await.ok();
            Ok(())
        }
        None => Err(AppError::new("not_found", format!("no emulated board on `{port}` was started here"))),
    }
}

#[tauri::command]
#[specta::specta]
pub async fn connect(app: AppHandle, state: State<'_, AppState>, port: String) -> Result<Board, AppError> {
    if state.gateway.is_running() {
        return Err(AppError::new(
            "gateway.running",
            "the gateway is serving the boards: stop it on the Integrations page to connect here",
        ));
    }
    let mut session = state.session.lock().await;
    if let Some(previous) = session.take() {
        previous.close().await;
    }
    let board = LinkBoard::connect(&port, &ConnectOptions::default()).await?;
    let info = Board::new(&port, board.info());
    let ended = app.clone();
    *session = Some(Session::start(board, move |end| {
        let _ = SessionEnded { port: end.port, error: end.error }.emit(&ended);
    }));
    Ok(info)
}

/// The board the app is connected to, if any.
#[tauri::command]
#[specta::specta]
pub async fn connected_board(state: State<'_, AppState>) -> Result<Option<Board>, AppError> {
    Ok(state.session.lock().await.as_ref().map(|session| Board::new(session.port(), session.info())))
}

#[tauri::command]
#[specta::specta]
pub async fn disconnect(state: State<'_, AppState>) -> Result<(), AppError> {
    if let Some(session) = state.session.lock().await.take() {
        session.close().await;
    }
    Ok(())
}

async fn current(state: &State<'_, AppState>) -> Result<Session, AppError> {
    state
        .session
        .lock()
        .await
        .clone()
        .ok_or_else(|| AppError::new("not_connected", "connect to a board first"))
}

/// Switches what a virtual board performs.
#[tauri::command]
#[specta::specta]
pub async fn set_activity(state: State<'_, AppState>, activity: Activity) -> Result<(), AppError> {
    Ok(current(&state).await?.set_activity(activity.name()).await?)
}

/// Streams a sensor into `on_batch` until `stop_live`.
#[tauri::command]
#[specta::specta]
pub async fn start_live(
    state: State<'_, AppState>,
    sensor: String,
    rate_hz: u32,
    on_batch: Channel<LiveBatch>,
) -> Result<(), AppError> {
    let sink = Box::new(move |batch: PipelineBatch| {
        on_batch
            .send(LiveBatch {
                first_sample: batch.first_sample as f64,
                values: batch.values,
                measured_rate_hz: batch.stats.measured_rate_hz,
                jitter_ms: batch.stats.jitter_ms,
                lost_batches: batch.stats.lost_batches as u32,
            })
            .is_ok()
    });
    Ok(current(&state).await?.start_live(&sensor, rate_hz, sink).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn stop_live(state: State<'_, AppState>) -> Result<(), AppError> {
    Ok(current(&state).await?.stop_live().await?)
}
