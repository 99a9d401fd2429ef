//! The emulated Cortex-M4 board for tests: the built firmware booted through
//! `mote_pipeline::emulator` (what `mote flash --board qemu-mps2-an386` uses). Stops when dropped.

use std::path::PathBuf;

use mote_pipeline::emulator::{BootOptions, EmulatedBoard};

/// The firmware ELF (`scripts/build-firmware.sh`, run by the test command, builds it).
pub fn firmware_elf() -> PathBuf {
    let elf = mote_pipeline::emulator::firmware_elf();
    assert!(elf.exists(), "{} is not built; run scripts/build-firmware.sh", elf.display());
    elf
}

pub struct QemuBoard {
    board: EmulatedBoard,
    pub pty: String,
}

impl QemuBoard {
    /// Boots the firmware; returns once QEMU has named the UART's pseudo-terminal.
    pub fn boot() -> QemuBoard {
        let board =
            EmulatedBoard::boot(&BootOptions { elf: Some(firmware_elf()), register: false, monitor: None })
                .unwrap_or_else(|error| panic!("the emulated board boots: {error}"));
        QemuBoard { pty: board.port.clone(), board }
    }

    /// Whether QEMU is still running (a firmware panic ends it through semihosting).
    pub fn is_running(&mut self) -> bool {
        self.board.is_running()
    }
}
