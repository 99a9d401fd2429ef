//! `mote`: the workbench from the command line — the same functions the desktop app calls,
//! for scripts and CI.

mod build;
mod deploy;
mod devices;
mod flash;
mod forward;
mod gateway;
mod output;
mod project;
mod sim;
mod stream;
mod tune;

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "mote", version, about = "Mote: a local-first TinyML workbench")]
struct Cli {
    /// Print results as JSON (for scripts).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start a virtual board (the device agent on a pseudo-terminal) and keep it running.
    Sim(sim::SimCommand),
    /// List serial ports and boards.
    Devices(devices::DevicesCommand),
    /// Stream a sensor from a board, showing rate, jitter and losses live.
    Stream(stream::StreamCommand),
    /// Capture from a board that prints readings as text lines (Edge Impulse data-forwarder style).
    Forward(forward::ForwardCommand),
    /// Rebuild a bundle's model (CI): verify its lock, train, quantize, write artifacts, check gates.
    /// Exit code 0 = all gates pass, 1 = a gate failed, 2 = the bundle is unusable.
    Build(build::BuildCommand),
    /// Upload a trained model to a board (or export it as files).
    Deploy(deploy::DeployCommand),
    /// Show a board classifying its sensor live.
    Live(deploy::LiveCommand),
    /// Put the device agent's firmware on a board. `qemu-mps2-an386` boots it in QEMU (a Cortex-M4F)
    /// on a serial pseudo-terminal that `mote devices`, `deploy`, `live` and the app use like any board.
    Flash(flash::FlashCommand),
    /// Search impulses (window, DSP block, learning block and size, augmentation, pruning) for the
    /// most accurate one within a board's RAM, flash and latency budget. A stopped search resumes
    /// where it was; `--apply N` writes a trial into mote.toml and trains it.
    Tune(tune::TuneCommand),
    /// Publish what the boards plugged into this host classify to an MQTT broker: every window,
    /// events, and each board's status; results wait on disk while the broker is away.
    Gateway(gateway::GatewayCommand),
    /// Sign the project's model with its release key (made on first use) for gateways to put on
    /// their boards: write it to a file, or publish it retained for a fleet.
    Release(gateway::ReleaseCommand),
    #[command(flatten)]
    Project(project::ProjectCommand),
}

fn main() -> ExitCode {
    end_quietly_on_a_closed_pipe();
    let cli = Cli::parse();
    let cancel = cancel_on_ctrl_c();
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    if let Command::Build(command) = cli.command {
        return runtime.block_on(build::run(command, cli.json));
    }
    let result = match cli.command {
        Command::Build(_) => unreachable!("handled above"),
        Command::Sim(command) => sim::run(command, cli.json, &cancel),
        Command::Devices(command) => runtime.block_on(devices::run(command, cli.json)),
        Command::Stream(command) => runtime.block_on(stream::run(command, cli.json, &cancel)),
        Command::Forward(command) => forward::run(command, cli.json, cancel.clone()),
        Command::Deploy(command) => runtime.block_on(deploy::deploy(command, cli.json, &cancel)),
        Command::Live(command) => runtime.block_on(deploy::live(command, cli.json, &cancel)),
        Command::Flash(command) => flash::run(command, cli.json, &cancel),
        Command::Tune(command) => runtime.block_on(tune::run(command, cli.json, cancel.clone())),
        Command::Gateway(command) => runtime.block_on(gateway::run(command, cli.json, cancel.clone())),
        Command::Release(command) => runtime.block_on(gateway::release(command, cli.json)),
        Command::Project(command) => runtime.block_on(project::run(command, cli.json, cancel.clone())),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            output::print_error(&error, cli.json);
            ExitCode::FAILURE
        }
    }
}

/// `mote stats | head -3`: when the reader of stdout goes away, end as other Unix tools do (by
/// SIGPIPE, silently) instead of panicking in `println!`. Rust ignores SIGPIPE by default so that
/// writes return errors; sockets are written with `MSG_NOSIGNAL` and a serial port reports a
/// closed peer as an I/O error, so only pipes are affected.
fn end_quietly_on_a_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in `main`, before any thread starts; SIG_DFL is a valid handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// A flag set by the first Ctrl-C; a second Ctrl-C ends the process at once.
fn cancel_on_ctrl_c() -> Arc<AtomicBool> {
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = cancel.clone();
    std::thread::spawn(move || {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
        runtime.block_on(async {
            if tokio::signal::ctrl_c().await.is_ok() {
                flag.store(true, Ordering::Relaxed);
            }
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        });
    });
    cancel
}
