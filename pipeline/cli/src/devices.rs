//! `mote devices`: serial ports and the boards behind them.

use std::time::Duration;

use mote_pipeline::link::discover::{PortEntry, list_ports};
use mote_pipeline::link::{Board, BoardInfo, ConnectOptions};
use serde::Serialize;

use crate::output::print_json;

#[derive(clap::Args)]
pub struct DevicesCommand {
    /// Say hello to every port to show the board behind it (virtual boards are always asked).
    #[arg(long)]
    probe: bool,
}

#[derive(Serialize)]
struct Device {
    #[serde(flatten)]
    port: PortEntry,
    board: Option<BoardInfo>,
    problem: Option<String>,
}

pub async fn run(command: DevicesCommand, json: bool) -> anyhow::Result<()> {
    let options = ConnectOptions { handshake_timeout: Duration::from_millis(1500), ..Default::default() };
    let mut devices = Vec::new();
    for port in list_ports()? {
        let (board, problem) = if command.probe || port.kind == "virtual" {
            match Board::connect(&port.path, &options).await {
                Ok(board) => (Some(board.info().clone()), None),
                Err(error) => (None, Some(error.to_string())),
            }
        } else {
            (None, None)
        };
        devices.push(Device { port, board, problem });
    }
    if json {
        print_json(&devices);
        return Ok(());
    }
    if devices.is_empty() {
        println!("No serial ports or boards found. Plug in a board, or start a virtual one: mote sim");
        return Ok(());
    }
    for device in &devices {
        let port = &device.port;
        let identity = match (port.vid, port.pid) {
            (Some(vid), Some(pid)) => format!(" {vid:04x}:{pid:04x}"),
            _ => String::new(),
        };
        let product = port.product.as_deref().unwrap_or("");
        println!("{}  [{}{identity}] {product}", port.path, port.kind);
        if let Some(name) = &port.likely_board {
            println!("    likely: {name}");
        }
        if let Some(board) = &device.board {
            println!(
                "    board {} · firmware {} · id {}",
                board.board, board.firmware_version, board.device_id
            );
            for sensor in &board.sensors {
                let axes: Vec<&str> = sensor.axes.iter().map(|a| a.name.as_str()).collect();
                println!(
                    "    sensor {:<6} {:<32} rates {:?} Hz",
                    sensor.name,
                    axes.join(" "),
                    sensor.rates_hz
                );
            }
            for slot in &board.model_slots {
                let active = if slot.active { " (active)" } else { "" };
                println!("    model slot {}: {:?}{active}", slot.slot, slot.state);
            }
        }
        if let Some(problem) = &device.problem {
            println!("    {problem}");
        }
    }
    Ok(())
}
