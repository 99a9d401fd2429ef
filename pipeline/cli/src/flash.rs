//! `mote flash`: firmware onto a board — the emulated Cortex-M4F in QEMU, or a real board through
//! a debug probe (probe-rs) or the RP2040's USB bootloader (UF2).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use mote_pipeline::emulator::{self, BootOptions, EmulatedBoard};
use mote_pipeline::firmware::{self, FirmwareImage, RealBoard};
use serde_json::json;

use crate::output::print_json;

#[derive(clap::Args)]
pub struct FlashCommand {
    /// The board.
    #[arg(long, value_parser = [emulator::BOARD, "microbit-v2", "rp2040-pico"])]
    board: String,
    /// A firmware ELF to use [default: build this checkout's firmware for the board if it changed].
    #[arg(long)]
    elf: Option<PathBuf>,
    /// QEMU: return once the board is up and leave it running (stop it with `kill PID`); by
    /// default the board runs until Ctrl-C.
    #[arg(long)]
    detach: bool,
    /// Real boards: show what would be erased and written, with which flash algorithm, and stop.
    #[arg(long)]
    dry_run: bool,
    /// Real boards: also put this model blob (`mote deploy --export blob`) into model slot 0, so
    /// the board boots running it.
    #[arg(long)]
    model_blob: Option<PathBuf>,
    /// Pico: write a UF2 image here (a file, or the mounted RPI-RP2 drive) instead of using a
    /// probe. Without it, a mounted RPI-RP2 drive is used when one is found.
    #[arg(long)]
    uf2: Option<PathBuf>,
}

pub fn run(command: FlashCommand, json: bool, stop: &AtomicBool) -> anyhow::Result<()> {
    if command.board == emulator::BOARD {
        return run_emulated(command, json, stop);
    }
    let board: RealBoard = command.board.parse()?;
    let blob = match &command.model_blob {
        Some(path) => Some(std::fs::read(path).with_context(|| format!("reading {}", path.display()))?),
        None => None,
    };
    let FirmwareImage { elf: elf_path, segments, .. } =
        firmware::image(board, command.elf.as_deref(), blob.as_deref())?;
    let plan = firmware::plan(board, &segments)?;
    if command.dry_run {
        if json {
            print_json(&json!({ "dry_run": true, "elf": elf_path, "plan": plan }));
        } else {
            println!("{plan}");
            println!("(dry run: nothing was written)");
        }
        return Ok(());
    }
    let drive = (board == RealBoard::Rp2040Pico).then(firmware::find_uf2_drive).flatten();
    if let Some(target) = command.uf2.clone().or(drive) {
        let image = firmware::uf2(board, &segments)?;
        let out = if target.is_dir() { target.join(format!("mote-{}.uf2", board.name())) } else { target };
        std::fs::write(&out, &image).with_context(|| format!("writing {}", out.display()))?;
        if json {
            print_json(
                &json!({ "board": board, "uf2": out, "bytes": image.len(), "blocks": image.len() / 512 }),
            );
        } else {
            println!(
                "wrote {} ({} blocks) — the Pico restarts into the firmware once the drive has it",
                out.display(),
                image.len() / 512
            );
        }
        return Ok(());
    }
    let bar = (!json).then(|| {
        let bar = indicatif::ProgressBar::new(plan.bytes_written);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{msg:8} [{bar:30}] {bytes}/{total_bytes}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let mut progress = |operation: &str, done: u64, total: u64| {
        if let Some(bar) = &bar {
            bar.set_length(total);
            bar.set_message(operation.to_string());
            bar.set_position(done);
        }
    };
    firmware::flash_with_probe(board, &segments, &mut progress)?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if json {
        print_json(&json!({ "board": board, "flashed": true, "plan": plan }));
    } else {
        println!("flashed {} ({} bytes) and reset the board", board, plan.bytes_written);
    }
    Ok(())
}

fn run_emulated(command: FlashCommand, json: bool, stop: &AtomicBool) -> anyhow::Result<()> {
    if command.dry_run || command.model_blob.is_some() || command.uf2.is_some() {
        anyhow::bail!(
            "--dry-run, --model-blob and --uf2 are for real boards; upload a model to the emulated board with `mote deploy`"
        );
    }
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
                std::fs::read_to_string(&board.log).unwrap_or_default().trim()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}
