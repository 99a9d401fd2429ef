//! Running virtual boards announce themselves in a per-user folder so `mote devices` and the
//! app can list them next to real serial ports. A board's entry goes away when it stops; an
//! entry whose process is gone (a crash) is ignored and removed by the next listing.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// One running virtual board.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct VirtualBoardEntry {
    pub pid: u32,
    pub device_id: String,
    /// Serial port path (a pseudo-terminal), when the board listens on one.
    pub path: Option<String>,
    /// Loopback address, when the board listens on TCP.
    pub tcp: Option<String>,
    /// `emulated` for firmware in an emulator (QEMU); absent for the virtual board.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// The folder of entries: `$XDG_RUNTIME_DIR/mote/boards`, else a per-user temporary folder.
pub fn registry_dir() -> PathBuf {
    match std::env::var_os("MOTE_RUNTIME_DIR").or_else(|| std::env::var_os("XDG_RUNTIME_DIR")) {
        Some(dir) => PathBuf::from(dir).join("mote").join("boards"),
        None => std::env::temp_dir().join(format!("mote-{}", unsafe { libc::getuid() })).join("boards"),
    }
}

/// Keeps a board's entry while it lives.
#[derive(Debug)]
pub struct Registration {
    file: PathBuf,
}

impl Registration {
    pub fn register(entry: &VirtualBoardEntry) -> std::io::Result<Self> {
        let dir = registry_dir();
        std::fs::create_dir_all(&dir)?;
        let file = dir.join(format!("{}-{}.json", entry.pid, sanitize(&entry.device_id)));
        std::fs::write(&file, serde_json::to_vec(entry)?)?;
        Ok(Self { file })
    }
}

impl Registration {
    /// Leaves the entry in place after this process ends: for a board in another process (an
    /// emulator) that outlives the command that started it. Listing removes the entry once
    /// that process is gone.
    pub fn keep(self) {
        std::mem::forget(self);
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.file);
    }
}

fn sanitize(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect()
}

fn process_alive(pid: u32) -> bool {
    // Signal 0 checks for existence without sending anything.
    let result = unsafe { libc::kill(pid as libc::pid_t, 0) };
    result == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// The virtual boards running now.
pub fn list_virtual_boards() -> Vec<VirtualBoardEntry> {
    let Ok(dir) = std::fs::read_dir(registry_dir()) else { return Vec::new() };
    let mut boards = Vec::new();
    for file in dir.flatten() {
        let path = file.path();
        let Some(entry) = std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<VirtualBoardEntry>(&bytes).ok())
        else {
            continue;
        };
        let port_exists = entry.path.as_ref().is_none_or(|port| std::path::Path::new(port).exists());
        if process_alive(entry.pid) && port_exists {
            boards.push(entry);
        } else {
            let _ = std::fs::remove_file(&path);
        }
    }
    boards.sort_by(|a, b| a.device_id.cmp(&b.device_id));
    boards
}

/// The first device id `virtual-1`, `virtual-2`, … that no running board (in any process) uses
/// and that is not in `also_taken`. A stopped board's id becomes free again.
pub fn free_device_id(also_taken: &[String]) -> String {
    let running: Vec<String> = list_virtual_boards().into_iter().map(|entry| entry.device_id).collect();
    (1..)
        .map(|n| format!("virtual-{n}"))
        .find(|id| !running.contains(id) && !also_taken.contains(id))
        .expect("an unbounded range has a free id")
}
