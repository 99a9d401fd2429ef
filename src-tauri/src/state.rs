//! What the app holds between commands: the device session and the virtual boards it started.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use mote_pipeline::link::session::Session;

use crate::dto::AppError;

#[derive(Default)]
pub struct AppState {
    pub session: tokio::sync::Mutex<Option<Session>>,
    /// The open project (the user's default project, opened on first use).
    pub project: tokio::sync::Mutex<Option<mote_pipeline::project::Project>>,
    pub virtual_boards: std::sync::Mutex<Vec<mote_pipeline::virtual_board::VirtualBoard>>,
    /// Emulated boards (QEMU) this app booted; QEMU stops when they are dropped.
    pub emulated_boards: std::sync::Mutex<Vec<mote_pipeline::emulator::EmulatedBoard>>,
    /// The training run under way.
    pub training: Job,
    /// The search (tuner) under way.
    pub tuning: Job,
    /// The recording under way.
    pub recording: Job,
    /// The MQTT gateway (Integrations page).
    pub gateway: crate::gateway::GatewayRun,
}

/// Long work of one kind (a recording, a training run, a search): one at a time, stopped by its
/// cancel flag from another command.
#[derive(Default)]
pub struct Job(std::sync::Mutex<Option<Arc<AtomicBool>>>);

impl Job {
    /// Starts the job, or says `busy` (with `code`) when one is under way. The job ends when the
    /// claim is dropped.
    pub fn claim(&self, code: &str, busy: &str) -> Result<Claim<'_>, AppError> {
        let mut running = self.0.lock().map_err(|_| AppError::new("internal", "state poisoned"))?;
        if running.is_some() {
            return Err(AppError::new(code, busy));
        }
        let cancel = Arc::new(AtomicBool::new(false));
        *running = Some(cancel.clone());
        Ok(Claim { job: self, cancel })
    }

    /// Asks the job under way to stop; false when none is.
    pub fn cancel(&self) -> bool {
        match self.0.lock().ok().and_then(|running| running.clone()) {
            Some(flag) => {
                flag.store(true, Ordering::Relaxed);
                true
            }
            None => false,
        }
    }
}

/// A job under way: its cancel flag is in the app state until this is dropped.
pub struct Claim<'a> {
    job: &'a Job,
    pub cancel: Arc<AtomicBool>,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        if let Ok(mut running) = self.job.0.lock() {
            *running = None;
        }
    }
}
