//! `mote stream`: stream a sensor, live statistics, optional CSV.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use mote_pipeline::link::discover::list_ports;
use mote_pipeline::link::stream::{Capture, CaptureEnd, CaptureRequest, capture};
use mote_pipeline::link::{Board, ConnectOptions};

use crate::output::print_json;

#[derive(clap::Args)]
pub struct StreamCommand {
    /// Serial port of the board [default: the only board found].
    #[arg(long)]
    port: Option<String>,
    /// Sensor name, as `mote devices` lists them.
    #[arg(long, default_value = "accel")]
    sensor: String,
    /// Sampling rate [default: 100 Hz if offered, else the sensor's first rate].
    #[arg(long)]
    rate: Option<u32>,
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Write the samples to this CSV (`timestamp` in ms, then one column per axis).
    #[arg(long)]
    csv: Option<PathBuf>,
    /// Write raw counts instead of physical units.
    #[arg(long)]
    raw: bool,
}

/// The port to use: the one given, else the only board there is.
pub fn resolve_port(port: Option<String>) -> anyhow::Result<String> {
    if let Some(port) = port {
        return Ok(port);
    }
    let ports = list_ports()?;
    let virtual_boards: Vec<_> = ports.iter().filter(|p| p.kind == "virtual").collect();
    let usb: Vec<_> = ports.iter().filter(|p| p.kind == "usb").collect();
    match (virtual_boards.as_slice(), usb.as_slice()) {
        ([only], []) | ([], [only]) => Ok(only.path.clone()),
        ([], []) => anyhow::bail!("no board found: plug one in, or start a virtual board with `mote sim`"),
        _ => {
            let paths: Vec<&str> = ports.iter().map(|p| p.path.as_str()).collect();
            anyhow::bail!("several ports found ({}); choose one with --port", paths.join(", "))
        }
    }
}

pub async fn run(command: StreamCommand, json: bool, cancel: &AtomicBool) -> anyhow::Result<()> {
    anyhow::ensure!(command.seconds > 0.0 && command.seconds.is_finite(), "--seconds must be positive");
    let port = resolve_port(command.port)?;
    let mut board = Board::connect(&port, &ConnectOptions::default()).await?;
    let sensor = board
        .info()
        .sensors
        .iter()
        .find(|s| s.name == command.sensor)
        .cloned()
        .with_context(|| format!("{} has no sensor `{}`", board.info().board, command.sensor))?;
    let rate_hz =
        command.rate.unwrap_or(if sensor.rates_hz.contains(&100) { 100 } else { sensor.rates_hz[0] });
    let request = CaptureRequest {
        sensor: command.sensor.clone(),
        rate_hz,
        duration: Duration::from_secs_f64(command.seconds),
    };
    let total = (command.seconds * f64::from(rate_hz)).round() as u64;
    let bar = if json { ProgressBar::hidden() } else { ProgressBar::new(total) };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {bar:30} {pos}/{len} samples · {msg}")
            .expect("valid template"),
    );
    let captured = capture(&mut board, &request, cancel, |update| {
        let stats = update.stats;
        bar.set_position(stats.samples.min(total));
        bar.set_message(format!(
            "{:.1} Hz · jitter {:.1} ms · lost {} batches",
            stats.measured_rate_hz, stats.jitter_ms, stats.lost_batches
        ));
    })
    .await?;
    bar.finish_and_clear();
    if let Some(path) = &command.csv {
        write_csv(path, &captured, command.raw)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if json {
        print_json(&captured);
    } else {
        print_summary(&port, &captured, command.csv.as_deref());
    }
    if let CaptureEnd::Disconnected { reason } = &captured.end {
        anyhow::bail!(
            "the board disconnected after {} samples ({reason}); they were kept",
            captured.n_samples()
        );
    }
    Ok(())
}

fn print_summary(port: &str, captured: &Capture, csv: Option<&std::path::Path>) {
    let stats = &captured.stats;
    let how = match &captured.end {
        CaptureEnd::Completed => "done",
        CaptureEnd::Cancelled => "cancelled",
        CaptureEnd::Disconnected { .. } => "disconnected",
    };
    println!(
        "{how}: {} samples of {} at {} Hz from {port}",
        captured.n_samples(),
        captured.sensor.name,
        captured.rate_hz
    );
    println!(
        "  measured {:.2} Hz · jitter {:.2} ms · max gap {:.1} ms",
        stats.measured_rate_hz, stats.jitter_ms, stats.max_gap_ms
    );
    println!(
        "  lost {} batches ({} samples) · {} CRC errors · {} other bad frames · {} bytes",
        stats.lost_batches,
        stats.lost_samples,
        captured.wire.crc_errors,
        captured.wire.other_frame_errors,
        captured.wire.bytes
    );
    if let Some(csv) = csv {
        println!("  written to {}", csv.display());
    }
}

fn write_csv(path: &std::path::Path, captured: &Capture, raw: bool) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let axes = &captured.sensor.axes;
    let names: Vec<&str> = axes.iter().map(|a| a.name.as_str()).collect();
    writeln!(out, "timestamp,{}", names.join(","))?;
    for (sample_idx, sample) in captured.indexed_samples() {
        let t_ms = sample_idx as f64 * 1000.0 / f64::from(captured.rate_hz);
        write!(out, "{t_ms:.3}")?;
        for (value, axis) in sample.iter().zip(axes) {
            if raw {
                write!(out, ",{value}")?;
            } else {
                write!(out, ",{}", f32::from(*value) * axis.scale)?;
            }
        }
        writeln!(out)?;
    }
    out.flush()
}
