//! The project commands: `init`, `import`, `export`, `list`, `stats`, `features`, `train`,
//! `test`, `record`.

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use mote_pipeline::features::compute_features;
use mote_pipeline::form::{Field, Form, Kind};
use mote_pipeline::impulse::{Impulse, ImpulseForms};
use mote_pipeline::link::stream::{CaptureRequest, capture};
use mote_pipeline::link::{Board, ConnectOptions};
use mote_pipeline::project::{ImportOptions, Project, SampleFilter, Split, SystemClock};
use mote_pipeline::record::{choose_sensor, sample_from_capture};
use mote_pipeline::training::{DEFAULT_UNCERTAIN_THRESHOLD, test_project, train_project};
use serde_json::json;

use crate::output::{RecordingProblem, print_json};

#[derive(clap::Args, Clone)]
pub struct ProjectArg {
    /// Project folder [default: the user's default project].
    #[arg(long, global = true, value_name = "DIR")]
    project: Option<PathBuf>,
}

impl ProjectArg {
    pub fn dir(&self) -> anyhow::Result<PathBuf> {
        match &self.project {
            Some(dir) => Ok(dir.clone()),
            None => Ok(Project::default_dir()?),
        }
    }

    pub async fn open(&self) -> anyhow::Result<Project> {
        let dir = self.dir()?;
        Project::open(&dir).await.with_context(|| format!("opening the project in {}", dir.display()))
    }
}

fn split_arg(text: &str) -> Result<Split, String> {
    Split::parse(text).ok_or_else(|| format!("`{text}` is not a split (train or test)"))
}

#[derive(clap::Args)]
pub struct FilterArgs {
    #[arg(long)]
    label: Option<String>,
    #[arg(long, value_parser = split_arg)]
    split: Option<Split>,
    #[arg(long)]
    device: Option<String>,
}

impl FilterArgs {
    fn filter(&self) -> SampleFilter {
        SampleFilter { label: self.label.clone(), split: self.split, device: self.device.clone() }
    }
}

#[derive(clap::Subcommand)]
pub enum ProjectCommand {
    /// Create a project folder (mote.toml + mote.db).
    Init {
        #[command(flatten)]
        project: ProjectArg,
    },
    /// Import files or a dataset folder (Edge Impulse CSV/JSON, WAV, Mote dataset). All or nothing.
    Import {
        #[command(flatten)]
        project: ProjectArg,
        /// Files or folders.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Label for every sample [default: the dataset's, else the file name up to the first dot].
        #[arg(long)]
        label: Option<String>,
        #[arg(long, value_parser = split_arg)]
        split: Option<Split>,
        /// Verify Edge Impulse JSON signatures with this HMAC key.
        #[arg(long)]
        hmac_key: Option<String>,
    },
    /// Export the project as a bundle for CI (`mote build`), or samples as a Mote dataset (csv),
    /// Parquet, or Edge Impulse JSON.
    Export {
        #[command(flatten)]
        project: ProjectArg,
        #[arg(long, default_value = "bundle", value_parser = ["bundle", "csv", "parquet", "ei-json"])]
        format: String,
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// List samples.
    List {
        #[command(flatten)]
        project: ProjectArg,
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// Statistics per label and per axis.
    Stats {
        #[command(flatten)]
        project: ProjectArg,
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// The DSP and learning blocks' parameters: what each takes, its default (fitted to this
    /// project's data and window) and what it does — the fields of the app's Impulse design page.
    Blocks {
        #[command(flatten)]
        project: ProjectArg,
        /// Only this block (e.g. `spectral`, `conv1d`).
        block: Option<String>,
    },
    /// Compute the impulse's features for every window (a check that the impulse fits the data).
    Features {
        #[command(flatten)]
        project: ProjectArg,
        /// Also write every window's features to this CSV (`split,label,sample,f0,f1,…`).
        #[arg(long, value_name = "FILE")]
        csv: Option<PathBuf>,
    },
    /// Train the impulse's learning block; evaluates on the test split.
    Train {
        #[command(flatten)]
        project: ProjectArg,
    },
    /// Classify the test split with the newest model.
    Test {
        #[command(flatten)]
        project: ProjectArg,
        /// Windows whose top score is below this count as uncertain.
        #[arg(long, default_value_t = DEFAULT_UNCERTAIN_THRESHOLD)]
        threshold: f32,
    },
    /// Record labelled samples from a board into the project.
    Record {
        #[command(flatten)]
        project: ProjectArg,
        #[arg(long)]
        label: String,
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        /// How many samples to record, one after the other.
        #[arg(long, default_value_t = 1)]
        count: u32,
        #[arg(long)]
        port: Option<String>,
        /// Sensor [default: the project's `data.sensor`].
        #[arg(long)]
        sensor: Option<String>,
        #[arg(long, value_parser = split_arg, default_value = "train")]
        split: Split,
        /// The board prints readings as text lines (data-forwarder mode): listen 2 s for its
        /// axes and rate, then record. A project with no samples takes the board's settings.
        #[arg(long)]
        forwarder: bool,
        /// Baud rate of a data-forwarder board.
        #[arg(long, default_value_t = mote_pipeline::link::forwarder::DEFAULT_BAUD_RATE, requires = "forwarder")]
        baud: u32,
    },
}

pub async fn run(command: ProjectCommand, json: bool, cancel: Arc<AtomicBool>) -> anyhow::Result<()> {
    match command {
        ProjectCommand::Init { project } => {
            let dir = project.dir()?;
            let created = Project::create(&dir, None, Arc::new(SystemClock)).await?;
            created.close().await;
            if json {
                print_json(&json!({ "project": dir }));
            } else {
                println!(
                    "created a project in {}; edit {}/mote.toml to design the impulse",
                    dir.display(),
                    dir.display()
                );
            }
        }
        ProjectCommand::Import { project, paths, label, split, hmac_key } => {
            let dir = project.dir()?;
            let mut opened = Project::open_or_create(&dir).await?;
            let options = ImportOptions { label, split, hmac_key, ..ImportOptions::default() };
            let mut imported = 0;
            let mut duplicates = 0;
            let mut adopted = None;
            for path in &paths {
                let report = if path.is_dir() {
                    opened.import_dir(path, &options).await
                } else {
                    opened.import_files(std::slice::from_ref(path), &options).await
                };
                let report = match report {
                    Ok(report) => report,
                    Err(error) => {
                        opened.close().await;
                        return Err(error.into());
                    }
                };
                imported += report.imported.len();
                duplicates += report.duplicates.len();
                if report.preset_adopted && !json {
                    println!("adopted the dataset's impulse preset (mote.toml)");
                }
                if let Some(settings) = &report.adopted {
                    if !json {
                        println!(
                            "the project had no samples and took the imported data's settings: {settings}"
                        );
                    }
                    adopted = Some(settings.to_string());
                }
            }
            let total = opened.sample_count().await?;
            opened.close().await;
            if json {
                print_json(&json!({
                    "imported": imported, "duplicates": duplicates, "samples": total, "adopted": adopted,
                }));
            } else {
                println!(
                    "imported {imported} samples ({duplicates} already in the project); the project holds {total}"
                );
            }
        }
        ProjectCommand::Export { project, format, out, filter } => {
            let opened = project.open().await?;
            if format == "bundle" {
                let exported = mote_pipeline::bundle::export_bundle(&opened, &out).await;
                opened.close().await;
                let lock = exported?;
                if json {
                    print_json(&json!({ "out": out, "files": lock.files.len(), "lock": lock }));
                } else {
                    println!(
                        "bundle with {} files written to {} (checked by its mote.lock)",
                        lock.files.len(),
                        out.display()
                    );
                }
                return Ok(());
            }
            let result = match format.as_str() {
                "parquet" => opened.export_parquet(&out, &filter.filter()).await,
                "ei-json" => opened.export_ei_json(&out, &filter.filter()).await,
                _ => opened.export_dataset(&out, &filter.filter()).await,
            };
            opened.close().await;
            let report = result?;
            if json {
                print_json(&json!({ "out": out, "report": format!("{report:?}") }));
            } else {
                println!("exported to {}", out.display());
            }
        }
        ProjectCommand::List { project, filter } => {
            let opened = project.open().await?;
            let samples = opened.list_samples(&filter.filter()).await;
            opened.close().await;
            let samples = samples?;
            if json {
                let rows: Vec<_> = samples
                    .iter()
                    .map(|s| {
                        json!({ "id": s.id.0, "name": s.name, "label": s.label, "split": s.split.as_str(),
                        "device": s.device, "rate_hz": s.rate_hz, "steps": s.n_steps, "created": s.created })
                    })
                    .collect();
                print_json(&rows);
            } else if samples.is_empty() {
                println!("no samples; record some (mote record) or import a dataset (mote import)");
            } else {
                println!(
                    "{:>5}  {:<24} {:<12} {:<6} {:>9}  {}",
                    "id", "name", "label", "split", "length", "device"
                );
                for s in &samples {
                    println!(
                        "{:>5}  {:<24} {:<12} {:<6} {:>8.1}s  {}",
                        s.id.0,
                        s.name,
                        s.label,
                        s.split.as_str(),
                        s.duration_ms() / 1000.0,
                        s.device
                    );
                }
            }
        }
        ProjectCommand::Stats { project, filter } => {
            let opened = project.open().await?;
            let stats = opened.stats(&filter.filter()).await;
            opened.close().await;
            let stats = stats?;
            if json {
                let labels: Vec<_> = stats.labels.iter().map(|l| json!({ "label": l.label, "count": l.count, "train": l.train, "test": l.test, "seconds": l.total_duration_ms / 1000.0 })).collect();
                let axes: Vec<_> = stats.per_label_axis.iter().map(|a| json!({ "label": a.label, "axis": a.axis, "mean": a.mean, "std": a.std, "min": a.min, "max": a.max })).collect();
                print_json(&json!({ "labels": labels, "axes": axes }));
            } else {
                println!("{:<14} {:>6} {:>6} {:>6} {:>10}", "label", "count", "train", "test", "seconds");
                for l in &stats.labels {
                    println!(
                        "{:<14} {:>6} {:>6} {:>6} {:>10.1}",
                        l.label,
                        l.count,
                        l.train,
                        l.test,
                        l.total_duration_ms / 1000.0
                    );
                }
                println!();
                println!(
                    "{:<14} {:<8} {:>10} {:>10} {:>10} {:>10}",
                    "label", "axis", "mean", "std", "min", "max"
                );
                for a in &stats.per_label_axis {
                    println!(
                        "{:<14} {:<8} {:>10.3} {:>10.3} {:>10.3} {:>10.3}",
                        a.label.as_deref().unwrap_or("all"),
                        a.axis,
                        a.mean,
                        a.std,
                        a.min,
                        a.max
                    );
                }
            }
        }
        ProjectCommand::Blocks { project, block } => {
            let opened = project.open().await?;
            let forms = ImpulseForms::for_config(opened.config());
            opened.close().await;
            let chosen = |form: &&Form| block.as_ref().is_none_or(|name| &form.block == name);
            let dsp: Vec<&Form> = forms.dsp.iter().filter(chosen).collect();
            let learn: Vec<&Form> = forms.learn.iter().filter(chosen).collect();
            if dsp.is_empty() && learn.is_empty() {
                let names: Vec<&str> =
                    forms.dsp.iter().chain(&forms.learn).map(|form| form.block.as_str()).collect();
                anyhow::bail!(
                    "there is no block {:?}; the blocks are {}",
                    block.unwrap_or_default(),
                    names.join(", ")
                );
            }
            if json {
                print_json(&json!({ "dsp": dsp, "learn": learn }));
            } else {
                for (section, forms) in [("dsp", &dsp), ("learn", &learn)] {
                    for form in forms.iter() {
                        println!("[{section}] block = \"{}\"", form.block);
                        print_fields(&form.fields, "  ");
                        println!();
                    }
                }
            }
        }
        ProjectCommand::Features { project, csv } => {
            let opened = project.open().await?;
            let impulse = Impulse::from_config(opened.config());
            let samples = opened.load_samples(&SampleFilter::default()).await;
            opened.close().await;
            let impulse = impulse?;
            let set = compute_features(&samples?, &impulse)?;
            if let Some(path) = &csv {
                write_features_csv(&set, path).with_context(|| format!("writing {}", path.display()))?;
            }
            if json {
                print_json(
                    &json!({ "windows": set.n_rows(), "features_per_window": set.n_features, "shape": format!("{:?}", impulse.output) }),
                );
            } else {
                println!(
                    "{} windows × {} features ({:?}), DSP block {}",
                    set.n_rows(),
                    set.n_features,
                    impulse.output,
                    impulse.dsp.name()
                );
            }
        }
        ProjectCommand::Train { project } => {
            let opened = project.open().await?;
            let bar = if json { ProgressBar::hidden() } else { ProgressBar::new(0) };
            bar.set_style(
                ProgressStyle::with_template("{bar:30} epoch {pos}/{len} · {msg}").expect("valid template"),
            );
            let progress_bar = bar.clone();
            let cancel_flag = cancel.clone();
            let result = train_project(&opened, cancel, move |epoch| {
                progress_bar.set_length(epoch.epochs as u64);
                progress_bar.set_position(epoch.epoch as u64);
                let validation = epoch
                    .validation_accuracy
                    .map(|a| format!(" · validation accuracy {a:.3}"))
                    .unwrap_or_default();
                let stage = match epoch.stage {
                    mote_pipeline::training::Stage::Teacher => "teacher · ".to_string(),
                    mote_pipeline::training::Stage::Model => String::new(),
                    mote_pipeline::training::Stage::Prune { step } => format!("pruning step {step} · "),
                };
                progress_bar.set_message(format!("{stage}loss {:.4}{validation}", epoch.train_loss));
                if cancel_flag.load(std::sync::atomic::Ordering::Relaxed) {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            })
            .await;
            bar.finish_and_clear();
            opened.close().await;
            let report = result?;
            if json {
                print_json(&report);
            } else {
                let features = match report.features {
                    mote_pipeline::features::FeatureSource::Cached => "features from the project's cache",
                    mote_pipeline::features::FeatureSource::Computed => "features computed",
                };
                println!(
                    "trained model {} on {} windows × {} features in {:.1} s ({features})",
                    report.model, report.train_windows, report.n_features, report.seconds
                );
                if report.augmented_windows > 0 {
                    println!("with {} augmented copies of training windows", report.augmented_windows);
                }
                if !report.pruning.is_empty() {
                    println!("pruned: step · filters · dense · MACs · parameters · validation accuracy");
                    for step in &report.pruning {
                        println!(
                            "  {:>2} · {:?} · {:?} · {} · {} · {}",
                            step.step,
                            step.conv_filters,
                            step.hidden,
                            step.macs,
                            step.parameters,
                            step.accuracy.map_or("–".to_string(), |a| format!("{a:.3}"))
                        );
                    }
                }
                match &report.test {
                    Some(test) => println!(
                        "test accuracy {:.3} ({} windows; {} uncertain)",
                        test.top1_accuracy, test.total, test.uncertain
                    ),
                    None => println!("no test split to evaluate on"),
                }
                let int8 = &report.int8;
                if let Some(comparison) = &int8.comparison {
                    println!(
                        "int8 test accuracy {:.3} (float {:.3}; same top class on {:.1} % of windows)",
                        comparison.int8.top1_accuracy,
                        comparison.float.top1_accuracy,
                        100.0 * comparison.agreement
                    );
                    for class in &comparison.per_class {
                        println!(
                            "  {:<20} {:>5} windows · float {:.3} · int8 {:.3}",
                            class.label, class.windows, class.float_accuracy, class.int8_accuracy
                        );
                    }
                }
                let clipped: Vec<String> = int8
                    .tensors
                    .iter()
                    .enumerate()
                    .filter(|(_, tensor)| tensor.clip < 1.0)
                    .map(|(index, tensor)| {
                        let name = if index == 0 { "input".to_string() } else { format!("layer {index}") };
                        format!("{name} {:.0} %", 100.0 * tensor.clip)
                    })
                    .collect();
                if !clipped.is_empty() {
                    println!(
                        "int8 ranges clipped where that quantizes the calibration data better: {}",
                        clipped.join(", ")
                    );
                }
                println!(
                    "int8 model {} bytes, arena {} bytes, {} MACs per window",
                    int8.blob_bytes, int8.arena_bytes, int8.macs
                );
                for estimate in &int8.estimates {
                    println!(
                        "  {:<42} RAM {:>7} B · flash {:>7} B · {:.2} ms",
                        estimate.target.name, estimate.ram_bytes, estimate.flash_bytes, estimate.latency_ms
                    );
                }
            }
        }
        ProjectCommand::Test { project, threshold } => {
            let opened = project.open().await?;
            let result = test_project(&opened, threshold).await;
            opened.close().await;
            let evaluation = result?;
            if json {
                print_json(&evaluation);
            } else {
                println!(
                    "test accuracy {:.3} over {} windows ({} uncertain below {threshold})",
                    evaluation.top1_accuracy, evaluation.total, evaluation.uncertain
                );
                println!("confusion (rows: true, columns: predicted): {:?}", evaluation.confusion);
            }
        }
        ProjectCommand::Record { project, label, seconds, count, port, sensor, split, forwarder, baud } => {
            anyhow::ensure!(seconds > 0.0 && seconds.is_finite(), "--seconds must be positive");
            let dir = project.dir()?;
            if forwarder {
                anyhow::ensure!(sensor.is_none(), "--sensor does not apply to a data-forwarder board");
                let port = crate::stream::resolve_port(port)?;
                let options = crate::forward::RecordOptions { port, baud, label, seconds, count, split };
                return crate::forward::record_into_project(&dir, options, json, cancel).await;
            }
            let mut opened = Project::open_or_create(&dir).await?;
            let port = crate::stream::resolve_port(port)?;
            let mut board = Board::connect(&port, &ConnectOptions::default()).await?;
            let sensor = sensor.unwrap_or_else(|| opened.config().data.sensor.clone());
            let rate_hz = opened.config().data.rate_hz.round() as u32;
            // The sensor must fit the project before anything is recorded.
            if let Err(error) = choose_sensor(&mut opened, board.info(), &sensor, rate_hz).await {
                opened.close().await;
                return Err(error.into());
            }
            let request = CaptureRequest { sensor, rate_hz, duration: Duration::from_secs_f64(seconds) };
            let mut recorded = 0;
            let mut problem = None;
            for idx in 0..count {
                let bar = if json {
                    ProgressBar::hidden()
                } else {
                    ProgressBar::new((seconds * f64::from(rate_hz)) as u64)
                };
                bar.set_style(
                    ProgressStyle::with_template("{msg} {bar:30} {pos}/{len} samples")
                        .expect("valid template"),
                );
                bar.set_message(format!("{label} {}/{count}", idx + 1));
                let captured =
                    capture(&mut board, &request, &cancel, |update| bar.set_position(update.stats.samples))
                        .await?;
                bar.finish_and_clear();
                let device = board.info().device_id.clone();
                let sample = match sample_from_capture(
                    captured,
                    format!("{label}.{}", idx + 1),
                    &label,
                    split,
                    &device,
                ) {
                    Ok(sample) => sample,
                    Err(error) => {
                        problem = Some(RecordingProblem { index: idx + 1, count, recorded, error });
                        break;
                    }
                };
                opened.add_samples(vec![sample]).await?;
                recorded += 1;
            }
            opened.close().await;
            if json {
                print_json(
                    &json!({ "recorded": recorded, "problem": problem.as_ref().map(ToString::to_string) }),
                );
            } else {
                println!("recorded {recorded} × {seconds} s of `{label}` into {}", dir.display());
            }
            if let Some(problem) = problem {
                return Err(problem.into());
            }
        }
    }
    Ok(())
}

/// Every window's features as CSV: `split,label,sample,f0,f1,…`, one row per window.
fn write_features_csv(
    set: &mote_pipeline::features::FeatureSet,
    path: &std::path::Path,
) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let header: Vec<String> = (0..set.n_features).map(|i| format!("f{i}")).collect();
    writeln!(out, "split,label,sample,{}", header.join(","))?;
    let quote = |text: &str| format!("\"{}\"", text.replace('"', "\"\""));
    for idx in 0..set.n_rows() {
        let values: Vec<String> = set.row(idx).iter().map(|v| format!("{v:?}")).collect();
        writeln!(
            out,
            "{},{},{},{}",
            set.splits[idx].as_str(),
            quote(&set.labels[idx]),
            quote(&set.sample_names[idx]),
            values.join(",")
        )?;
    }
    out.flush()?;
    Ok(())
}

/// One line per field (`key  takes  (default …)`), its help below; sub-tables indented.
fn print_fields(fields: &[Field], indent: &str) {
    for field in fields {
        let default = match &field.default {
            Some(_) if !matches!(field.kind, Kind::Group { .. }) => {
                format!("  (default {})", field.default_toml().unwrap_or_default())
            }
            _ => String::new(),
        };
        println!("{indent}{:<24} {}{default}", field.key, field.takes());
        if !field.help.is_empty() {
            println!("{indent}  {}", field.help);
        }
        if let Kind::Group { fields } = &field.kind {
            print_fields(fields, &format!("{indent}    "));
        }
    }
}
