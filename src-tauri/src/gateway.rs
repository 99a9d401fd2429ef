//! The Integrations page: configure, start, watch and stop the MQTT gateway. It is the gateway
//! `mote gateway` runs (`mote_pipeline::gateway`), in the app's process; the page polls
//! [`gateway_status`], so leaving the page and coming back loses nothing.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mote_pipeline::gateway::settings::{GatewaySettings, Resolved};
use mote_pipeline::gateway::{GatewayEvent, run_gateway};
use mote_pipeline::project::Project;
use serde::Serialize;
use specta::Type;
use tauri::State;

use crate::dto::AppError;
use crate::project::with_project;
use crate::state::AppState;

/// Lines of the gateway's log the page keeps.
const LOG_LINES: usize = 200;

/// A board as the gateway sees it.
#[derive(Debug, Clone, Serialize, Type)]
pub struct GatewayBoard {
    pub device: String,
    pub port: String,
    pub board: String,
    pub model: Option<String>,
    pub online: bool,
    /// Windows classified while the app watched.
    pub windows: u32,
    pub last_label: Option<String>,
    /// Why it went offline.
    pub reason: Option<String>,
    /// Its latest over-the-air update: `refused`, `uploading`, `running` or `failed`, and why.
    pub update: Option<String>,
}

/// What the page shows.
#[derive(Debug, Clone, Default, Serialize, Type)]
pub struct GatewayView {
    pub running: bool,
    pub stopping: bool,
    pub broker_connected: bool,
    pub broker_error: Option<String>,
    pub boards: Vec<GatewayBoard>,
    /// What happened, oldest first (boards, the broker, releases, updates).
    pub log: Vec<String>,
    pub windows: u32,
    /// How the last run ended: its summary, or the error that stopped it.
    pub ended: Option<String>,
    pub failed: bool,
}

/// The gateway under way (its stop flag) and what it has told.
#[derive(Default)]
pub struct GatewayRun {
    /// Set while it runs; cleared when it ends, however it ends.
    stop: Arc<Mutex<Option<Arc<AtomicBool>>>>,
    view: Arc<Mutex<GatewayView>>,
}

impl GatewayRun {
    pub fn is_running(&self) -> bool {
        self.stop.lock().map(|stop| stop.is_some()).unwrap_or(false)
    }
}

fn note(view: &mut GatewayView, line: String) {
    view.log.push(line);
    let excess = view.log.len().saturating_sub(LOG_LINES);
    view.log.drain(..excess);
}

fn board<'a>(view: &'a mut GatewayView, device: &str) -> &'a mut GatewayBoard {
    let at = match view.boards.iter().position(|b| b.device == device) {
        Some(at) => at,
        None => {
            view.boards.push(GatewayBoard {
                device: device.to_string(),
                port: String::new(),
                board: String::new(),
                model: None,
                online: false,
                windows: 0,
                last_label: None,
                reason: None,
                update: None,
            });
            view.boards.len() - 1
        }
    };
    &mut view.boards[at]
}

fn apply(view: &mut GatewayView, event: &GatewayEvent) {
    if let Some(line) = event.describe() {
        note(view, line);
    }
    match event {
        GatewayEvent::BoardOnline { device, port, board: name, model } => {
            let entry = board(view, device);
            (entry.port, entry.board, entry.model) = (port.clone(), name.clone(), model.clone());
            (entry.online, entry.reason) = (true, None);
        }
        GatewayEvent::BoardOffline { device, reason, .. } => {
            let entry = board(view, device);
            (entry.online, entry.reason) = (false, Some(reason.clone()));
        }
        GatewayEvent::Window { device, label, .. } => {
            view.windows += 1;
            let entry = board(view, device);
            entry.windows += 1;
            entry.last_label = label.clone();
        }
        GatewayEvent::Broker { connected, error } => {
            view.broker_connected = *connected;
            view.broker_error = if *connected { None } else { error.clone() };
        }
        GatewayEvent::Update { device, state, reason } => {
            board(view, device).update =
                Some(reason.as_ref().map_or_else(|| state.clone(), |reason| format!("{state}: {reason}")));
        }
        GatewayEvent::BoardProblem { .. } | GatewayEvent::Release { .. } => {}
    }
}

/// Where the page's settings are kept between runs (never the password).
fn settings_file() -> Result<std::path::PathBuf, AppError> {
    Ok(Project::data_dir()?.join("gateway").join("studio-settings.json"))
}

/// The settings last started with, or the defaults with the open project's model.
#[tauri::command]
#[specta::specta]
pub async fn gateway_settings(state: State<'_, AppState>) -> Result<GatewaySettings, AppError> {
    let saved = std::fs::read(settings_file()?).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok());
    match saved {
        Some(settings) => Ok(settings),
        None => {
            let project =
                with_project(&state, async |project| Ok(project.dir().display().to_string())).await?;
            Ok(GatewaySettings { projects: vec![project], ..GatewaySettings::default() })
        }
    }
}

/// Starts the gateway with `settings`. A setting that cannot work is refused with the code
/// `gateway.setting.<field>` and nothing starts. The app's own connection to a board is closed:
/// the gateway serves the boards until it stops. Returns notes for the user.
#[tauri::command]
#[specta::specta]
pub async fn start_gateway(
    state: State<'_, AppState>,
    settings: GatewaySettings,
) -> Result<Vec<String>, AppError> {
    if state.gateway.is_running() {
        return Err(AppError::new("gateway.busy", "the gateway is already running"));
    }
    let Resolved { options, models, mut notes } = settings
        .resolve()
        .await
        .map_err(|error| AppError::new(&format!("gateway.setting.{}", error.field), error.message))?;
    if let Some(session) = state.session.lock().await.take() {
        notes.push(format!(
            "the app's connection to {} was closed: the gateway serves the boards now",
            session.port()
        ));
        session.close().await;
    }
    if let Ok(text) = serde_json::to_vec_pretty(&settings) {
        let file = settings_file()?;
        if let Some(dir) = file.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = std::fs::write(file, text);
    }
    let stop = Arc::new(AtomicBool::new(false));
    *state.gateway.stop.lock().map_err(|_| AppError::new("internal", "state poisoned"))? = Some(stop.clone());
    let view = state.gateway.view.clone();
    {
        let mut fresh = GatewayView { running: true, ..GatewayView::default() };
        for line in &notes {
            note(&mut fresh, line.clone());
        }
        *view.lock().map_err(|_| AppError::new("internal", "state poisoned"))? = fresh;
    }
    let watched = view.clone();
    let report: Arc<dyn Fn(GatewayEvent) + Send + Sync> = Arc::new(move |event| {
        if let Ok(mut view) = watched.lock() {
            apply(&mut view, &event);
        }
    });
    let slot = state.gateway.stop.clone();
    let run = run_gateway(options, models, stop, report);
    tauri::async_runtime::spawn(async move {
        let outcome = run.await;
        if let Ok(mut view) = view.lock() {
            (view.running, view.stopping, view.broker_connected) = (false, false, false);
            for board in &mut view.boards {
                board.online = false;
            }
            let (text, failed) = match outcome {
                Ok(summary) => (
                    format!(
                        "stopped: {} boards seen, {} windows, {} messages acknowledged by the broker, {} still queued",
                        summary.boards_seen, summary.windows, summary.published, summary.queued
                    ),
                    false,
                ),
                Err(error) => (format!("the gateway stopped: {error}"), true),
            };
            note(&mut view, text.clone());
            (view.ended, view.failed) = (Some(text), failed);
        }
        if let Ok(mut slot) = slot.lock() {
            *slot = None;
        }
    });
    Ok(notes)
}

/// Stops the gateway: boards are told offline, what is queued gets two seconds to leave (the
/// rest waits in the outbox for the next start). Returns once it has stopped.
#[tauri::command]
#[specta::specta]
pub async fn stop_gateway(state: State<'_, AppState>) -> Result<GatewayView, AppError> {
    let stop = state.gateway.stop.lock().ok().and_then(|stop| stop.clone());
    let Some(stop) = stop else {
        return Err(AppError::new("gateway.idle", "the gateway is not running"));
    };
    stop.store(true, Ordering::Relaxed);
    if let Ok(mut view) = state.gateway.view.lock() {
        view.stopping = true;
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while state.gateway.is_running() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    gateway_status(state)
}

/// What the gateway is doing (the page polls it).
#[tauri::command]
#[specta::specta]
pub fn gateway_status(state: State<'_, AppState>) -> Result<GatewayView, AppError> {
    let view = state.gateway.view.lock().map_err(|_| AppError::new("internal", "state poisoned"))?;
    Ok(view.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_make_the_boards_table() {
        let mut view = GatewayView { running: true, ..Default::default() };
        let online = |device: &str| GatewayEvent::BoardOnline {
            device: device.into(),
            port: "/dev/pts/9".into(),
            board: "virtual".into(),
            model: Some("8bafd1fd".into()),
        };
        apply(&mut view, &online("a"));
        apply(&mut view, &online("b"));
        for seq in 0..3 {
            apply(&mut view, &GatewayEvent::Window { device: "a".into(), seq, label: Some("wave".into()) });
        }
        apply(
            &mut view,
            &GatewayEvent::BoardOffline {
                device: "b".into(),
                port: "/dev/pts/9".into(),
                reason: "pulled".into(),
            },
        );
        apply(
            &mut view,
            &GatewayEvent::Update {
                device: "a".into(),
                state: "refused".into(),
                reason: Some("no sensor".into()),
            },
        );
        apply(&mut view, &GatewayEvent::Broker { connected: false, error: Some("refused".into()) });
        assert_eq!(view.boards.len(), 2);
        let (a, b) = (&view.boards[0], &view.boards[1]);
        assert!(a.online && a.windows == 3 && a.last_label.as_deref() == Some("wave"));
        assert_eq!(a.update.as_deref(), Some("refused: no sensor"));
        assert!(!b.online && b.reason.as_deref() == Some("pulled"));
        assert_eq!(view.windows, 3);
        assert_eq!(view.broker_error.as_deref(), Some("refused"));
        assert_eq!(view.log.len(), 5, "windows are counted, not logged: {:?}", view.log);
        for n in 0..LOG_LINES + 10 {
            note(&mut view, n.to_string());
        }
        assert_eq!(view.log.len(), LOG_LINES);
        assert_eq!(view.log.last().map(String::as_str), Some((LOG_LINES + 9).to_string().as_str()));
    }
}
