//! A virtual board inside this process (the app's "start a virtual board"): the device agent on
//! a pseudo-terminal, run by a thread of its own, with the first free `virtual-N` id. Dropping
//! the handle stops it, which looks like a pulled cable to whoever is connected.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

pub use mote_sim::SimArgs;

#[derive(Debug, thiserror::Error)]
pub enum VirtualBoardError {
    #[error("the virtual board could not start: {0}")]
    Start(String),
    #[error("the virtual board stopped before it was ready")]
    Stopped,
}

impl VirtualBoardError {
    pub fn code(&self) -> &'static str {
        "virtual_board"
    }
}

/// The activities a virtual board performs, by name.
pub fn activities() -> impl Iterator<Item = &'static str> {
    mote_sim::activity::Activity::ALL.into_iter().map(|activity| activity.name())
}

/// A running virtual board; stops when dropped.
pub struct VirtualBoard {
    pub device_id: String,
    /// Its serial port (a pseudo-terminal).
    pub path: String,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl VirtualBoard {
    /// Starts a board with `args` (its device id, when not set, is the first `virtual-N` that no
    /// running board and none of `taken` uses) and waits until its port can be opened.
    pub async fn start(mut args: SimArgs, taken: &[String]) -> Result<VirtualBoard, VirtualBoardError> {
        let device_id = args.device_id.clone().unwrap_or_else(|| mote_sim::registry::free_device_id(taken));
        args.device_id = Some(device_id.clone());
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let thread = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name(format!("virtual board {device_id}"))
                .spawn(move || {
                    let mut ready_tx = Some(ready_tx);
                    let result = mote_sim::run(&args, &stop, |ready| {
                        if let Some(tx) = ready_tx.take() {
                            let _ = tx.send(Ok(ready.path.clone().unwrap_or_default()));
                        }
                    });
                    if let (Err(error), Some(tx)) = (result, ready_tx.take()) {
                        let _ = tx.send(Err(format!("{error:#}")));
                    }
                })
                .map_err(|e| VirtualBoardError::Start(e.to_string()))?
        };
        let path =
            ready_rx.await.map_err(|_| VirtualBoardError::Stopped)?.map_err(VirtualBoardError::Start)?;
        Ok(VirtualBoard { device_id, path, stop, thread: Some(thread) })
    }
}

impl Drop for VirtualBoard {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
