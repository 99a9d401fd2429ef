//! `mote flash`: firmware onto a board.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mote_pipeline::emulator::{self, BootOptions, EmulatedBoard};
use serde_json::json;

#[derive(clap::Args)]
pub struct FlashCommand {
    /// The board.
    #[arg(long, value_parser = [emulator::BOARD])]
    board: String,
    /// A firmware ELF to use [default: build this checkout's firmware if it changed].
    #[arg(long)]
    elf: Option<PathBuf>,
    /// Return once the board is up and leave it running (stop it with `kill PID`); by default
    /// the board runs until Ctrl-C.
    #[arg(long)]
    detach: bool,
}

pub fn run(command: FlashCommand, json: bool, stop: &AtomicBool) -> anyhow::Result<()> {
    if !json {
        eprintln!("building and booting {} …", command.board);
    }
    let mut board = EmulatedBoard::boot(&BootOptions { elf: command.elf, register: true, monitor: None })?;
    if json {
        // One line: a script reading the output sees the board as soon as it is up.
        println!(
            "{}",
            json!({
                "board": emulator::BOARD, "device_id": emulator::DEVICE_ID, "port": board.port,
                "pid": board.pid, "detached": command.detach,
            })
        );
    } else {
        println!("emulated board {} on {} (QEMU pid {})", emulator::DEVICE_ID, board.port, board.pid);
        println!("try: mote deploy --port {}   then   mote live --port {}", board.port, board.port);
    }
    if command.detach {
        let pid = board.detach();
        if !json {
            println!("left running; stop it with: kill {pid}");
        }
        return Ok(());
    }
    if !json {
        println!("Ctrl-C stops the board");
    }
    while !stop.load(Ordering::Relaxed) {
        if !board.is_running() {
            anyhow::bail!(
                "QEMU stopped (the firmware ended or crashed); its output was:\n{}",
                board_log(&board)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

fn board_log(board: &EmulatedBoard) -> String {
    std::fs::read_to_string(&board.log).unwrap_or_default().trim().to_string()
}
