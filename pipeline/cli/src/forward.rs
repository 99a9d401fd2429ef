//! `mote forward`: capture from a board that prints readings as text lines (data-forwarder mode).

use std::io::Write;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use mote_pipeline::link::forwarder::{
    Capture, CaptureEnd, CaptureOptions, DEFAULT_BAUD_RATE, DetectionOptions, ForwarderLink,
};
use serde::Serialize;

use crate::output::print_json;

#[derive(clap::Args)]
pub struct ForwardCommand {
    /// Serial port of the board [default: the only board found].
    #[arg(long)]
    port: Option<String>,
    #[arg(long, default_value_t = DEFAULT_BAUD_RATE)]
    baud: u32,
    /// Sampling rate in Hz; needed when the board prints 2 lines a second or fewer.
    #[arg(long)]
    rate: Option<f64>,
    /// Axis names, comma-separated (as many as the board prints values per line).
    #[arg(long, value_delimiter = ',')]
    axes: Option<Vec<String>>,
    /// How long to listen before deciding the axis count and rate.
    #[arg(long, default_value_t = 2.0)]
    listen_seconds: f64,
    /// How long to capture after detection (0: detect only).
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Write the samples to this CSV (`timestamp` in ms, then one column per axis).
    #[arg(long)]
    csv: Option<PathBuf>,
}

#[derive(Serialize)]
struct Summary<'a> {
    detected: &'a mote_pipeline::link::forwarder::DetectedStream,
    capture: Option<&'a mote_pipeline::link::forwarder::CaptureReport>,
}

pub fn run(command: ForwardCommand, json: bool, cancel: Arc<AtomicBool>) -> anyhow::Result<()> {
    anyhow::ensure!(command.seconds >= 0.0 && command.seconds.is_finite(), "--seconds must be 0 or more");
    anyhow::ensure!(
        command.listen_seconds.is_finite() && command.listen_seconds > 0.0,
        "--listen-seconds must be positive"
    );
    let port = crate::stream::resolve_port(command.port)?;
    let mut link = ForwarderLink::open(&port, command.baud)?;
    let options = DetectionOptions {
        window: Duration::from_secs_f64(command.listen_seconds),
        sampling_rate_hz: command.rate,
        axis_names: command.axes,
    };
    if !json {
        eprintln!("listening to {port} for {:.1} s…", options.listening_time().as_secs_f64());
    }
    let detected = link.detect(&options)?;
    if !json {
        println!(
            "detected {} axes ({}) at {:.2} Hz{}",
            detected.axis_count,
            detected.axis_names.join(", "),
            detected.sampling_rate_hz,
            if command.rate.is_some() { " (given)" } else { "" }
        );
        report_garbage(detected.garbage.line_count, &detected.garbage.examples);
    }
    let mut captured = None;
    if command.seconds > 0.0 {
        let bar = if json { ProgressBar::hidden() } else { ProgressBar::new(1000) };
        bar.set_style(ProgressStyle::with_template("{bar:30} {msg}").expect("valid template"));
        let mut capture_options = CaptureOptions::for_duration(Duration::from_secs_f64(command.seconds));
        capture_options.cancel = Some(cancel);
        let capture = link.capture(&detected, &capture_options, |progress| {
            bar.set_position((progress.fraction_done() * 1000.0) as u64);
            bar.set_message(format!(
                "{} samples, {} garbage lines",
                progress.sample_count, progress.garbage_line_count
            ));
            ControlFlow::Continue(())
        })?;
        bar.finish_and_clear();
        if let Some(path) = &command.csv {
            write_csv(path, &capture).with_context(|| format!("cannot write {}", path.display()))?;
        }
        captured = Some(capture);
    }
    if json {
        print_json(&Summary { detected: &detected, capture: captured.as_ref().map(|c| &c.report) });
    } else if let Some(capture) = &captured {
        let timing = &capture.report.timing;
        let how = match &capture.report.end {
            CaptureEnd::DurationElapsed => "done".to_string(),
            CaptureEnd::Cancelled => "cancelled".to_string(),
            CaptureEnd::Disconnected { detail } => format!("disconnected ({detail})"),
        };
        println!("{how}: {} samples in {:.1} s", capture.sample_count(), timing.elapsed_seconds);
        if let Some(rate) = timing.measured_rate_hz {
            println!("  measured {rate:.2} Hz");
        }
        report_garbage(capture.report.garbage.line_count, &capture.report.garbage.examples);
        if let Some(path) = &command.csv {
            println!("  written to {}", path.display());
        }
    }
    if let Some(Capture { report, .. }) = &captured
        && let CaptureEnd::Disconnected { detail } = &report.end
    {
        anyhow::bail!(
            "the board disconnected after {} samples ({detail}); they were kept",
            report.sample_count
        );
    }
    Ok(())
}

fn report_garbage(count: u64, examples: &[mote_pipeline::link::forwarder::GarbageLine]) {
    if count == 0 {
        return;
    }
    println!("  {count} lines were not readings, e.g.:");
    for example in examples {
        println!("    line {}: {:?} ({:?})", example.line_number, example.text, example.reason);
    }
}

fn write_csv(path: &std::path::Path, capture: &Capture) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(out, "timestamp,{}", capture.axis_names.join(","))?;
    for (idx, sample) in capture.samples().enumerate() {
        write!(out, "{:.3}", idx as f64 * 1000.0 / capture.sampling_rate_hz)?;
        for value in sample {
            write!(out, ",{value}")?;
        }
        writeln!(out)?;
    }
    out.flush()
}

pub struct RecordOptions {
    pub port: String,
    pub baud: u32,
    pub label: String,
    pub seconds: f64,
    pub count: u32,
    pub split: mote_pipeline::project::Split,
}

/// `mote record --forwarder`: detects the board's stream, fits the project to it (a
/// project with no samples takes its axes and rate), then records `count` samples.
pub async fn record_into_project(
    dir: &std::path::Path,
    options: RecordOptions,
    json: bool,
    cancel: Arc<AtomicBool>,
) -> anyhow::Result<()> {
    use mote_pipeline::record::ForwarderRecorder;

    let mut project = mote_pipeline::project::Project::open_or_create(dir).await?;
    let port = options.port.clone();
    let baud = options.baud;
    if !json {
        eprintln!("listening to {port} for 2 s…");
    }
    let (link, detected) =
        tokio::task::spawn_blocking(move || ForwarderRecorder::listen(&port, baud)).await??;
    let mut recorder = ForwarderRecorder::fit(&mut project, &options.port, link, detected).await?;
    if recorder.adopted() && !json {
        let data = recorder.data();
        println!(
            "the project now records {} axes ({}) at {} Hz from this board",
            data.axes.len(),
            data.axes.join(", "),
            data.rate_hz
        );
    }
    let detected = recorder.detected().clone();
    let mut recorded = 0;
    let mut problem = None;
    for idx in 0..options.count {
        let bar = if json { ProgressBar::hidden() } else { ProgressBar::new(1000) };
        bar.set_style(ProgressStyle::with_template("{msg} {bar:30}").expect("valid template"));
        bar.set_message(format!("{} {}/{}", options.label, idx + 1, options.count));
        let (name, label, split, seconds) =
            (format!("{}.{}", options.label, idx + 1), options.label.clone(), options.split, options.seconds);
        let cancel = cancel.clone();
        let (returned, recording) = tokio::task::spawn_blocking(move || {
            let recording = recorder.record(name, &label, split, seconds, cancel, |progress| {
                bar.set_position((progress.fraction_done() * 1000.0) as u64)
            });
            bar.finish_and_clear();
            (recorder, recording)
        })
        .await?;
        recorder = returned;
        match recording {
            Ok(sample) => {
                let added = project.add_samples(vec![sample]).await?;
                recorded += added.added.len();
                if !added.duplicates.is_empty() && !json {
                    println!(
                        "recording {} was identical to a sample already in the project: not stored twice",
                        idx + 1
                    );
                }
            }
            Err(error) => {
                problem = Some(crate::output::RecordingProblem {
                    index: idx + 1,
                    count: options.count,
                    recorded,
                    error,
                });
                break;
            }
        }
    }
    project.close().await;
    if json {
        let problem = problem.as_ref().map(ToString::to_string);
        print_json(&serde_json::json!({ "recorded": recorded, "problem": problem, "detected": detected }));
    } else {
        println!("recorded {recorded} × {} s of `{}` into {}", options.seconds, options.label, dir.display());
    }
    problem.map_or(Ok(()), |problem| Err(problem.into()))
}
