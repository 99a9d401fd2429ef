//! What the app holds between commands: the device session and the virtual boards it started.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use mote_pipeline::link::session::Session;

#[derive(Default)]
pub struct AppState {
    pub session: tokio::sync::Mutex<Option<Session>>,
    /// The open project (the user's default project, opened on first use).
    pub project: tokio::sync::Mutex<Option<mote_pipeline::project::Project>>,
    pub virtual_boards: std::sync::Mutex<Vec<mote_pipeline::virtual_board::VirtualBoard>>,
    /// Emulated boards (QEMU) this app booted; QEMU stops when they are dropped.
    pub emulated_boards: std::sync::Mutex<Vec<mote_pipeline::emulator::EmulatedBoard>>,
    /// The cancel flag of the training run under way.
    pub training: std::sync::Mutex<Option<Arc<AtomicBool>>>,
    /// The cancel flag of the search (tuner) under way.
    pub tuning: std::sync::Mutex<Option<Arc<AtomicBool>>>,
    /// The cancel flag of the recording under way.
    pub recording: std::sync::Mutex<Option<Arc<AtomicBool>>>,
}
