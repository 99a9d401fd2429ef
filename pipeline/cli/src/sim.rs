//! `mote sim`: a virtual board in this process.

use std::sync::atomic::AtomicBool;

#[derive(clap::Args)]
pub struct SimCommand {
    #[command(flatten)]
    args: mote_sim::SimArgs,
}

pub fn run(command: SimCommand, json: bool, stop: &AtomicBool) -> anyhow::Result<()> {
    let exit = mote_sim::run(&command.args, stop, |ready| {
        if json {
            println!("{}", serde_json::to_string(ready).unwrap_or_default());
        } else {
            let place =
                ready.path.clone().or(ready.tcp.map(|addr| format!("tcp://{addr}"))).unwrap_or_default();
            println!("virtual board {} on {place}", ready.device_id);
            println!("models are kept in {}", ready.flash.display());
            if let Some(warning) = &ready.warning {
                eprintln!("warning: {warning}");
            }
            println!("try: mote stream --port {place} --sensor imu --seconds 5   (Ctrl-C stops the board)");
        }
    })?;
    if exit == mote_sim::Exit::Disconnected && !json {
        eprintln!("the board disconnected (fault injection)");
    }
    Ok(())
}
