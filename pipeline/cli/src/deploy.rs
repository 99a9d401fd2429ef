//! `mote deploy` (a model to a board, or to files) and `mote live` (on-board classification).

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use mote_pipeline::link::{Board, ConnectOptions};
use mote_pipeline::live::{LiveOptions, run_live};
use mote_pipeline::models::{ModelError, model_blob};
use mote_pipeline::project::ProjectError;
use serde_json::json;

use crate::output::print_json;
use crate::project::ProjectArg;
use crate::stream::resolve_port;

#[derive(clap::Args)]
pub struct DeployCommand {
    #[command(flatten)]
    project: ProjectArg,
    /// Model id [default: the newest].
    #[arg(long)]
    model: Option<i64>,
    /// Serial port of the board [default: the only board found].
    #[arg(long)]
    port: Option<String>,
    /// Write the model as files instead of uploading it: the blob, a C header, a no_std Rust
    /// crate, a C library (headers, libmote.a for each core, example, CMake), an Arduino library
    /// (folder and .zip), or a lean firmware for one board with the model built in (`--board`).
    #[arg(long, value_parser = mote_pipeline::export::FORMATS, requires = "out")]
    export: Option<String>,
    /// The board a `--export firmware` is built for.
    #[arg(long, value_parser = mote_pipeline::firmware::LEAN_BOARDS.map(|(board, _)| board), requires = "export")]
    board: Option<String>,
    /// Folder for `--export`.
    #[arg(long)]
    out: Option<PathBuf>,
}

pub async fn deploy(command: DeployCommand, json: bool, cancel: &AtomicBool) -> anyhow::Result<()> {
    let project = command.project.open().await?;
    let found = model_blob(&project, command.model).await;
    let exported = match (&found, command.export.as_deref(), command.out.as_ref()) {
        (Ok((_, blob)), Some(format), Some(out)) => {
            if !json {
                if format == "firmware" {
                    eprintln!("building the lean firmware into {} (a minute or so)…", out.display());
                } else {
                    eprintln!("exporting as {format} to {}…", out.display());
                }
            }
            Some(mote_pipeline::export::export(&project, format, blob, out, command.board.as_deref()).await)
        }
        _ => None,
    };
    project.close().await;
    let (stored, blob) = found?;
    if let (Some(files), Some(format), Some(out)) =
        (exported, command.export.as_deref(), command.out.as_ref())
    {
        let files = files.with_context(|| format!("exporting model {} to {}", stored.id.0, out.display()))?;
        if json {
            print_json(&json!({ "model": stored.id.0, "format": format, "files": files }));
        } else {
            for file in &files {
                println!("wrote {}", file.display());
            }
        }
        return Ok(());
    }
    let port = resolve_port(command.port)?;
    let mut board = Board::connect(&port, &ConnectOptions::default()).await?;
    let bar = if json { ProgressBar::hidden() } else { ProgressBar::new(blob.len() as u64) };
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {bytes}/{total_bytes} · {msg}").expect("valid template"),
    );
    bar.set_message(format!("uploading model {} to {}", stored.id.0, board.info().board));
    let slot = board.upload_model(&blob, cancel, |sent, _| bar.set_position(u64::from(sent))).await;
    bar.finish_and_clear();
    let slot = slot?;
    if json {
        print_json(&json!({ "model": stored.id.0, "bytes": blob.len(), "slot": slot }));
    } else {
        println!(
            "model {} ({} bytes) is active in slot {} of {} ({})",
            stored.id.0,
            blob.len(),
            slot.slot,
            board.info().board,
            board.port()
        );
    }
    Ok(())
}

#[derive(clap::Args)]
pub struct LiveCommand {
    #[command(flatten)]
    project: ProjectArg,
    /// The model the board runs, for labels and `--verify` [default: the project's newest].
    #[arg(long)]
    model: Option<i64>,
    #[arg(long)]
    port: Option<String>,
    /// Re-run every window on the host and flag any difference from the board's scores.
    #[arg(long)]
    verify: bool,
    /// Stop after this many windows [default: until Ctrl-C].
    #[arg(long)]
    windows: Option<u64>,
}

pub async fn live(command: LiveCommand, json: bool, cancel: &AtomicBool) -> anyhow::Result<()> {
    let port = resolve_port(command.port)?;
    // Labels (and verification) need the model; without a project or a model, classes are shown
    // by index. Any other problem with them is said, not taken for "no model".
    let blob = match command.project.open().await {
        Ok(project) => {
            let found = model_blob(&project, command.model).await;
            project.close().await;
            match found {
                Ok((_, blob)) => Some(blob),
                Err(ModelError::NoModel) if !command.verify => None,
                Err(error) => return Err(error.into()),
            }
        }
        Err(error)
            if !command.verify && matches!(error.downcast_ref(), Some(ProjectError::NotAProject { .. })) =>
        {
            None
        }
        Err(error) => return Err(error),
    };
    let mut board = Board::connect(&port, &ConnectOptions::default()).await?;
    let options = LiveOptions { verify: command.verify, max_windows: command.windows };
    let summary = run_live(&mut board, blob.as_deref(), &options, cancel, |window| {
        if json {
            if let Ok(line) = serde_json::to_string(window) {
                println!("{line}");
            }
        } else {
            let label = window.label.clone().unwrap_or_else(|| format!("class {}", window.top));
            let scores: Vec<String> = window.probabilities.iter().map(|p| format!("{p:.2}")).collect();
            let parity = match (window.parity, &window.parity_error) {
                (Some(true), _) => " · host ✓".to_string(),
                (Some(false), _) => " · HOST DIFFERS".to_string(),
                (None, Some(error)) => format!(" · host could not re-run it: {error}"),
                (None, None) => String::new(),
            };
            let anomaly = window.anomaly.map(|a| format!(" · anomaly {a:.2}")).unwrap_or_default();
            println!(
                "#{:<5} {:<12} [{}] · dsp {} µs · nn {} µs{anomaly}{parity}",
                window.seq,
                label,
                scores.join(" "),
                window.dsp_us,
                window.nn_us
            );
        }
        ControlFlow::Continue(())
    })
    .await?;
    if json {
        print_json(&json!({ "summary": summary }));
    } else {
        println!("{} windows", summary.windows);
        if command.verify {
            println!(
                "host parity: {} of {} windows identical{}",
                summary.verified - summary.mismatches,
                summary.verified,
                if summary.unverified > 0 {
                    format!(" ({} not compared: their window was lost on the wire)", summary.unverified)
                } else {
                    String::new()
                }
            );
        }
    }
    anyhow::ensure!(
        summary.mismatches == 0,
        "{} windows differed between board and host",
        summary.mismatches
    );
    Ok(())
}
