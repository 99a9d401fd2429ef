//! `mote tune`: search impulses for the most accurate one within a board's budget; resume a
//! stopped search; show it; apply a trial to `mote.toml` and train it.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use mote_pipeline::training::train_project;
use mote_pipeline::tune::{Budget, TuneReport, TuneSettings, apply_trial, latest_report, tune};

use crate::output::print_json;
use crate::project::ProjectArg;

#[derive(clap::Args)]
pub struct TuneCommand {
    #[command(flatten)]
    project: ProjectArg,
    /// The board's core and clock the costs are estimated for.
    #[arg(long, default_value = "cortex-m4f-64mhz", value_parser = ["cortex-m0plus-48mhz", "cortex-m0plus-133mhz", "cortex-m4f-64mhz", "cortex-m7-480mhz"])]
    target: String,
    /// RAM budget in KiB (window, features, arena and scratch).
    #[arg(long, value_name = "KIB")]
    ram: Option<f64>,
    /// Flash budget in KiB (model, runtime and DSP code).
    #[arg(long, value_name = "KIB")]
    flash: Option<f64>,
    /// Latency budget per window in milliseconds (DSP and inference).
    #[arg(long, value_name = "MS")]
    latency_ms: Option<f32>,
    /// The lowest acceptable accuracy (cross-validated on the training samples), 0–1.
    #[arg(long, value_name = "FRACTION")]
    min_accuracy: Option<f32>,
    /// Stop starting trials after this many minutes (run again to go on).
    #[arg(long)]
    minutes: Option<f64>,
    /// Seeds the order of the trials [default: the project's seed].
    #[arg(long)]
    seed: Option<u64>,
    /// Start a new search even when one with these settings can be resumed.
    #[arg(long)]
    new: bool,
    /// Print the newest search without running trials.
    #[arg(long, conflicts_with_all = ["apply", "new"])]
    show: bool,
    /// Do not check the best trials on the emulated Cortex-M4F (QEMU) afterwards.
    #[arg(long)]
    no_board: bool,
    /// Write trial N of the newest search into mote.toml (comments kept) and train it.
    #[arg(long, value_name = "N")]
    apply: Option<usize>,
}

pub async fn run(command: TuneCommand, json: bool, cancel: Arc<AtomicBool>) -> anyhow::Result<()> {
    let mut project = command.project.open().await?;
    let result = run_in(&mut project, &command, json, cancel).await;
    project.close().await;
    result
}

async fn run_in(
    project: &mut mote_pipeline::project::Project,
    command: &TuneCommand,
    json: bool,
    cancel: Arc<AtomicBool>,
) -> anyhow::Result<()> {
    if let Some(number) = command.apply {
        let impulse = apply_trial(project, number).await?;
        if !json {
            println!("mote.toml now holds trial {number}: {}; training it", impulse.describe());
        }
        let report = train_project(project, cancel, |_| ControlFlow::Continue(())).await?;
        if json {
            print_json(&serde_json::json!({ "applied": number, "impulse": impulse, "train": report }));
        } else {
            let test = report
                .test
                .as_ref()
                .map_or("no test split".into(), |t| format!("test accuracy {:.3}", t.top1_accuracy));
            println!("trained model {}: {test}", report.model);
        }
        return Ok(());
    }
    if command.show {
        let report = latest_report(project).await?;
        write_plots(project, &report);
        return print_report(&report, json);
    }

    let budget = Budget::from_kib(command.ram, command.flash, command.latency_ms, command.min_accuracy);
    let mut settings = TuneSettings::for_project(project, &command.target, budget).await?;
    if let Some(seed) = command.seed {
        settings.seed = seed;
    }
    settings.measure_on_board = !command.no_board;
    let bar = if json { ProgressBar::hidden() } else { ProgressBar::new(0) };
    bar.set_style(
        ProgressStyle::with_template("{bar:30} trial {pos}/{len} · {msg}").context("progress style")?,
    );
    let progress_bar = bar.clone();
    let report = tune(project, &settings, command.new, command.minutes, cancel.clone(), move |progress| {
        progress_bar.set_length(progress.total as u64);
        progress_bar.set_position(progress.done as u64);
        let eta = progress.eta_s.map_or(String::new(), |eta| format!(" · about {} left", minutes(eta)));
        let last = progress.last.as_ref().map_or(String::new(), |t| match (&t.result, &t.error) {
            (Some(r), _) => format!(" · last: {} → {:.3}", t.description, r.accuracy),
            (None, reason) => {
                format!(" · last: {} failed: {}", t.description, reason.as_deref().unwrap_or(""))
            }
        });
        progress_bar.set_message(format!("{} elapsed{eta}{last}", minutes(progress.elapsed_s)));
    })
    .await;
    bar.finish_and_clear();
    let report = report?;
    write_plots(project, &report);
    print_report(&report, json)?;
    if !json && !report.finished {
        let why = if cancel.load(std::sync::atomic::Ordering::Relaxed) { "stopped" } else { "out of time" };
        println!(
            "{why} after {} of {} trials; run the same command again to go on",
            report.trials.len(),
            report.total
        );
    }
    Ok(())
}

fn minutes(seconds: f64) -> String {
    if seconds < 90.0 { format!("{seconds:.0} s") } else { format!("{:.1} min", seconds / 60.0) }
}

fn write_plots(project: &mote_pipeline::project::Project, report: &TuneReport) {
    let dir = project.dir().join("tune").join(report.tune.to_string());
    for (name, svg) in mote_pipeline::tune::pareto_plots(report) {
        let _ = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(dir.join(name), svg));
    }
}

fn print_report(report: &TuneReport, json: bool) -> anyhow::Result<()> {
    if json {
        print_json(report);
        return Ok(());
    }
    let budget = &report.settings.budget;
    let limits: Vec<String> = [
        budget.ram_bytes.map(|b| format!("RAM ≤ {:.1} KiB", b as f64 / 1024.0)),
        budget.flash_bytes.map(|b| format!("flash ≤ {:.1} KiB", b as f64 / 1024.0)),
        budget.latency_ms.map(|ms| format!("latency ≤ {ms} ms")),
        budget.min_accuracy.map(|a| format!("accuracy ≥ {a}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    println!(
        "search {} on {} ({}): {} of {} trials",
        report.tune,
        report.settings.target,
        if limits.is_empty() { "no budget".to_string() } else { limits.join(", ") },
        report.trials.len(),
        report.total
    );
    println!("  #  accuracy  test    RAM KiB  flash KiB  latency ms  measured  impulse");
    for trial in &report.trials {
        let marks = format!(
            "{}{}{}",
            if Some(trial.number - 1) == report.best { "★" } else { " " },
            if trial.pareto_latency || trial.pareto_ram { "◆" } else { " " },
            if trial.baseline { "ⓑ" } else { " " },
        );
        match &trial.result {
            Some(r) => println!(
                "{:>3} {:>8.3}  {:>6}  {:>7.1}  {:>9.1}  {:>10.2}  {:>8}  {}{}{}",
                trial.number,
                r.accuracy,
                r.test_accuracy.map_or("–".into(), |a| format!("{a:.3}")),
                r.ram_bytes as f64 / 1024.0,
                r.flash_bytes as f64 / 1024.0,
                r.latency_ms,
                r.measured_instructions.map_or("–".into(), |i| format!("{:.2} ms", i as f64 / 64_000.0)),
                trial.description,
                if trial.within_budget { "" } else { "  (over budget)" },
                format_args!(" {marks}")
            ),
            None => println!(
                "{:>3} failed: {} — {}",
                trial.number,
                trial.description,
                trial.error.as_deref().unwrap_or("")
            ),
        }
    }
    match report.best {
        Some(best) => println!(
            "★ best within budget: trial {} — apply it with `mote tune --apply {}`; ◆ Pareto front; ⓑ the impulse the search started from; measured = instructions per window on the emulated Cortex-M4F at 64 MHz",
            best + 1,
            best + 1
        ),
        None => println!("no trial is within the budget yet"),
    }
    Ok(())
}
