//! The emulated Cortex-M4F board: the firmware's ELF in `qemu-system-arm -M mps2-an386`, its
//! UART on a pseudo-terminal, announced in the board registry so discovery, the CLI and the app
//! treat it like any serial board.
//!
//! QEMU runs with `-icount shift=0,sleep=on`: one instruction is one virtual nanosecond, and idle
//! time (the firmware sleeps in WFI between SysTicks) passes in real time, so the firmware counts
//! the instructions of DSP and inference exactly. Virtual time still lags the host's (the host
//! time spent emulating is not counted), so the firmware re-aligns its clock with the host's
//! through semihosting (`SYS_ELAPSED`) on every wake-up: semihosting must stay enabled.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mote_sim::registry::{Registration, VirtualBoardEntry};

use crate::firmware::{self, FirmwareError};

/// The board's name (its firmware crate, the `--board` value and the id it reports).
pub const BOARD: &str = "qemu-mps2-an386";
/// The device id the firmware reports.
pub const DEVICE_ID: &str = "qemu-mps2-an386-1";
const TARGET: &str = "thumbv7em-none-eabihf";
/// How long QEMU may take to name its pseudo-terminal.
const BOOT_PATIENCE: Duration = Duration::from_secs(20);

#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error(
        "qemu-system-arm is not installed (`scripts/install.sh` installs it, or `apt-get install qemu-system-arm`)"
    )]
    QemuMissing,
    #[error(transparent)]
    Firmware(#[from] FirmwareError),
    #[error("{} is not firmware for {BOARD}: {reason}", path.display())]
    NotFirmware { path: PathBuf, reason: String },
    #[error("QEMU stopped before the board was up: {0}")]
    QemuExited(String),
    #[error("QEMU did not name its serial port within {} s", BOOT_PATIENCE.as_secs())]
    NoSerialPort,
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl EmulatorError {
    /// A stable code for scripts and the app.
    pub fn code(&self) -> &'static str {
        match self {
            EmulatorError::QemuMissing => "qemu_missing",
            EmulatorError::Firmware(error) => error.code(),
            EmulatorError::NotFirmware { .. } => "not_firmware",
            EmulatorError::QemuExited(_) | EmulatorError::NoSerialPort => "emulator_failed",
            EmulatorError::Io(_) => "io",
        }
    }
}

/// The emulated board's ELF.
pub fn firmware_elf() -> PathBuf {
    firmware::board_elf(BOARD, TARGET)
}

/// Builds the emulated board's firmware if needed and returns the ELF.
pub fn build_firmware() -> Result<PathBuf, EmulatorError> {
    Ok(firmware::build(BOARD, TARGET)?)
}

/// Checks that `path` is a 32-bit little-endian ARM executable before QEMU gets it.
pub fn check_elf(path: &Path) -> Result<(), EmulatorError> {
    let not_firmware =
        |reason: &str| EmulatorError::NotFirmware { path: path.to_path_buf(), reason: reason.into() };
    let mut header = [0u8; 20];
    let mut file = std::fs::File::open(path).map_err(|error| not_firmware(&error.to_string()))?;
    file.read_exact(&mut header).map_err(|_| not_firmware("too short for an ELF header"))?;
    if &header[..4] != b"\x7fELF" {
        return Err(not_firmware("not an ELF file"));
    }
    if header[4] != 1 || header[5] != 1 {
        return Err(not_firmware("not a 32-bit little-endian ELF"));
    }
    // e_type 2 = executable; e_machine 40 = ARM.
    if u16::from_le_bytes([header[16], header[17]]) != 2 || u16::from_le_bytes([header[18], header[19]]) != 40
    {
        return Err(not_firmware("not an ARM executable"));
    }
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct BootOptions {
    /// The firmware to boot [default: build this checkout's firmware if needed].
    pub elf: Option<PathBuf>,
    /// Announce the board in the registry (discovery lists it) while it runs.
    pub register: bool,
    /// Serve QEMU's monitor on this Unix socket (for reading memory, e.g. the stack high-water).
    pub monitor: Option<PathBuf>,
}

/// A running emulated board; QEMU stops when this is dropped (unless detached).
#[derive(Debug)]
pub struct EmulatedBoard {
    child: Option<Child>,
    /// The board's serial port (a pseudo-terminal).
    pub port: String,
    /// QEMU's process id.
    pub pid: u32,
    /// QEMU's own output (for diagnostics), removed with the board.
    pub log: PathBuf,
    registration: Option<Registration>,
}

impl EmulatedBoard {
    /// Boots the firmware and waits until QEMU names the UART's pseudo-terminal.
    pub fn boot(options: &BootOptions) -> Result<Self, EmulatorError> {
        let elf = match &options.elf {
            Some(elf) if elf.exists() => elf.clone(),
            Some(elf) => return Err(FirmwareError::NotBuilt(elf.clone()).into()),
            None => build_firmware()?,
        };
        check_elf(&elf)?;
        // QEMU's messages go to a file rather than a pipe: a detached board outlives this process.
        let log =
            std::env::temp_dir().join(format!("mote-qemu-{}-{}.log", std::process::id(), unique_suffix()));
        let out = std::fs::File::create(&log)?;
        let monitor = match &options.monitor {
            Some(socket) => format!("unix:{},server=on,wait=off", socket.display()),
            None => "none".into(),
        };
        let child = Command::new("qemu-system-arm")
            .args(["-M", "mps2-an386", "-display", "none", "-nodefaults", "-monitor", &monitor])
            .args(["-semihosting-config", "enable=on,target=native"])
            .args(["-icount", "shift=0,sleep=on"])
            .args(["-serial", "pty", "-kernel"])
            .arg(&elf)
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .map_err(|error| match error.kind() {
                std::io::ErrorKind::NotFound => EmulatorError::QemuMissing,
                _ => EmulatorError::Io(error),
            })?;
        let pid = child.id();
        let mut board =
            EmulatedBoard { child: Some(child), port: String::new(), pid, log, registration: None };
        board.port = board.wait_for_port()?;
        if options.register {
            board.registration = Some(Registration::register(&VirtualBoardEntry {
                pid,
                device_id: DEVICE_ID.into(),
                path: Some(board.port.clone()),
                tcp: None,
                kind: Some("emulated".into()),
            })?);
        }
        Ok(board)
    }

    fn wait_for_port(&mut self) -> Result<String, EmulatorError> {
        let deadline = Instant::now() + BOOT_PATIENCE;
        loop {
            let text = std::fs::read_to_string(&self.log).unwrap_or_default();
            if let Some(at) = text.find("/dev/pts/") {
                let port: String = text[at..].chars().take_while(|c| !c.is_whitespace()).collect();
                return Ok(port);
            }
            if !self.is_running() {
                return Err(EmulatorError::QemuExited(text.trim().to_string()));
            }
            if Instant::now() > deadline {
                return Err(EmulatorError::NoSerialPort);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether QEMU still runs (a firmware panic ends it through semihosting).
    pub fn is_running(&mut self) -> bool {
        self.child.as_mut().is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// Leaves QEMU running (and registered) after this process ends; returns its process id.
    pub fn detach(mut self) -> u32 {
        self.child = None;
        if let Some(registration) = self.registration.take() {
            registration.keep();
        }
        self.pid
    }
}

impl Drop for EmulatedBoard {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

fn unique_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
