//! The emulated Cortex-M4 board: the firmware ELF in `qemu-system-arm -M mps2-an386`, its UART on
//! a pseudo-terminal. Killed when dropped.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The firmware ELF (`scripts/build-firmware.sh`, run by the test command, builds it).
pub fn firmware_elf() -> PathBuf {
    let dir = std::env::var_os("MOTE_FIRMWARE_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../device-agent/firmware/target"));
    let elf = dir.join("thumbv7em-none-eabihf/release/qemu-mps2-an386");
    assert!(elf.exists(), "{} is not built; run scripts/build-firmware.sh", elf.display());
    elf
}

pub struct QemuBoard {
    child: Child,
    pub pty: String,
}

impl QemuBoard {
    /// Boots the firmware; returns once QEMU has named the UART's pseudo-terminal.
    pub fn boot() -> QemuBoard {
        let mut child = Command::new("qemu-system-arm")
            .args(["-M", "mps2-an386", "-display", "none", "-monitor", "none", "-nodefaults"])
            .args(["-semihosting-config", "enable=on,target=native"])
            // One instruction = one virtual ns; idle (WFI) time passes in real time.
            .args(["-icount", "shift=0,sleep=on"])
            .args(["-serial", "pty", "-kernel"])
            .arg(firmware_elf())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("qemu-system-arm starts (scripts/install.sh test installs it)");
        let stderr = child.stderr.take().expect("piped");
        let stdout = child.stdout.take().expect("piped");
        let (sender, receiver) = std::sync::mpsc::channel();
        for stream in [Box::new(stderr) as Box<dyn std::io::Read + Send>, Box::new(stdout)] {
            let sender = sender.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if let Some(at) = line.find("/dev/pts/") {
                        let pty: String = line[at..].chars().take_while(|c| !c.is_whitespace()).collect();
                        let _ = sender.send(pty);
                    }
                }
            });
        }
        let pty =
            receiver.recv_timeout(Duration::from_secs(20)).expect("QEMU names its serial pseudo-terminal");
        QemuBoard { child, pty }
    }

    /// Whether QEMU is still running (a firmware panic ends it through semihosting).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for QemuBoard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
