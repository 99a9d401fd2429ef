//! `mote-sim`: start a virtual board and print where to reach it.

use std::sync::atomic::AtomicBool;

use clap::Parser;

/// A virtual Mote board: the real device agent behind a pseudo-terminal.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    sim: mote_sim::SimArgs,
    /// Print the ready line as JSON.
    #[arg(long)]
    json: bool,
}

static STOP: AtomicBool = AtomicBool::new(false);

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match mote_sim::run(&cli.sim, &STOP, |ready| print_ready(ready, cli.json)) {
        Ok(mote_sim::Exit::Stopped) => std::process::ExitCode::SUCCESS,
        Ok(mote_sim::Exit::Disconnected) => {
            eprintln!("mote-sim: disconnected by fault injection");
            std::process::ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn print_ready(ready: &mote_sim::Ready, json: bool) {
    if json {
        println!("{}", serde_json::to_string(ready).unwrap_or_default());
    } else {
        let place = ready.path.clone().or(ready.tcp.map(|addr| format!("tcp://{addr}"))).unwrap_or_default();
        println!("virtual board {} on {place}", ready.device_id);
        if let Some(warning) = &ready.warning {
            eprintln!("warning: flash file {}: {warning}", ready.flash.display());
        }
    }
    use std::io::Write;
    let _ = std::io::stdout().flush();
}
