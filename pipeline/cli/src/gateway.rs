//! `mote gateway`: publish what the boards plugged into this host classify to an MQTT broker.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use mote_pipeline::gateway::release::{self, ReleaseKey};
use mote_pipeline::gateway::{
    Broker, EventRules, GatewayEvent, GatewayOptions, ModelLibrary, mqtt, run_gateway,
};
use mote_pipeline::models::{ModelError, model_blob};
use mote_pipeline::project::Project;
use serde_json::json;

use crate::output::print_json;

#[derive(clap::Args)]
pub struct GatewayCommand {
    /// The broker: mqtt://host[:port] (1883) or mqtts://host[:port] (8883, with --ca).
    #[arg(long, default_value = "mqtt://127.0.0.1:1883")]
    broker: String,
    /// The CA certificate (PEM) the broker's TLS certificate must chain to.
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
    /// MQTT user name; the password is read from $MOTE_MQTT_PASSWORD (never the command line).
    #[arg(long)]
    username: Option<String>,
    /// The first level of every topic.
    #[arg(long, default_value = "mote")]
    prefix: String,
    /// This gateway's name (its status topic and MQTT client id).
    #[arg(long, default_value = "gateway")]
    id: String,
    /// Only these serial ports (repeatable) [default: every Mote board found].
    #[arg(long = "port", value_name = "PORT")]
    ports: Vec<String>,
    /// Projects whose models the boards may run (repeatable): their labels name the classes.
    #[arg(long = "project", value_name = "DIR")]
    projects: Vec<PathBuf>,
    /// A new top label is an event after this many windows in a row.
    #[arg(long, default_value_t = 3)]
    hold: u32,
    /// An anomaly score above this is an event.
    #[arg(long, value_name = "SCORE")]
    anomaly_threshold: Option<f32>,
    /// Publish events and statuses only, not every window's result.
    #[arg(long)]
    only_events: bool,
    /// Also publish for an integration: Home Assistant's MQTT discovery, or ThingsBoard's gateway API.
    #[arg(long, default_value = "mote", value_parser = ["mote", "homeassistant", "thingsboard"])]
    format: String,
    /// The outbox's bound in messages; when full, the oldest results are dropped first.
    #[arg(long, default_value_t = mote_pipeline::gateway::outbox::DEFAULT_LIMIT)]
    queue_limit: u64,
    /// Publish each board's status again every this many seconds.
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS")]
    status_every: f64,
    /// Take signed model releases from <prefix>/<FLEET>/model and put them on the boards.
    #[arg(long)]
    fleet: Option<String>,
    /// The release public key (64 hex digits, or a file holding them, e.g. a project's
    /// keys/release.pub); releases not signed with it are refused.
    #[arg(long, value_name = "KEY")]
    release_key: Option<String>,
    /// Put this release file (from `mote release --out`) on the boards.
    #[arg(long = "release", value_name = "FILE")]
    release_file: Option<PathBuf>,
    /// Where the outbox lives [default: the user's data folder, per gateway id].
    #[arg(long, value_name = "DIR")]
    state: Option<PathBuf>,
}

pub async fn run(command: GatewayCommand, json: bool, cancel: Arc<AtomicBool>) -> anyhow::Result<()> {
    let mut broker = Broker::parse(&command.broker)?;
    broker.ca_file = command.ca.clone();
    if command.broker.starts_with("mqtts://") && broker.ca_file.is_none() {
        anyhow::bail!("mqtts:// needs --ca, the CA certificate the broker's certificate chains to");
    }
    broker.username = command.username.clone();
    broker.password = std::env::var("MOTE_MQTT_PASSWORD").ok();
    let mut models = ModelLibrary::default();
    for dir in &command.projects {
        let project = Project::open(dir).await?;
        let blob = model_blob(&project, None).await;
        project.close().await;
        match blob {
            Ok((_, blob)) => models.add(blob),
            Err(ModelError::NoModel) => {
                eprintln!("{} has no model yet; its boards publish class numbers", dir.display())
            }
            Err(error) => return Err(error.into()),
        }
    }
    let state_dir = match &command.state {
        Some(dir) => dir.clone(),
        None => Project::data_dir()?.join("gateway").join(&command.id),
    };
    let release_key = command.release_key.as_deref().map(release::public_key).transpose()?;
    let options = GatewayOptions {
        broker,
        prefix: command.prefix.clone(),
        id: command.id.clone(),
        state_dir,
        ports: command.ports.clone(),
        events: EventRules { hold: command.hold, anomaly_threshold: command.anomaly_threshold },
        only_events: command.only_events,
        format: mote_pipeline::gateway::format::Format::parse(&command.format).unwrap_or_default(),
        queue_limit: command.queue_limit,
        status_every: std::time::Duration::from_secs_f64(command.status_every.max(0.1)),
        fleet: command.fleet.clone(),
        release_key,
        release_file: command.release_file.clone(),
    };
    let report: Arc<dyn Fn(GatewayEvent) + Send + Sync> = Arc::new(move |event| print_event(&event, json));
    let summary = run_gateway(options, models, cancel, report).await?;
    if json {
        print_json(&json!({ "summary": summary }));
    } else {
        println!(
            "stopped: {} boards seen, {} windows, {} messages acknowledged by the broker, {} still queued",
            summary.boards_seen, summary.windows, summary.published, summary.queued
        );
    }
    Ok(())
}

fn print_event(event: &GatewayEvent, json: bool) {
    let (value, text) = match event {
        GatewayEvent::BoardOnline { device, port, board, model } => (
            json!({ "event": "online", "device": device, "port": port, "board": board, "model": model }),
            format!("{device} online on {port} ({board}, model {})", model.as_deref().unwrap_or("none")),
        ),
        GatewayEvent::BoardOffline { device, port, reason } => (
            json!({ "event": "offline", "device": device, "port": port, "reason": reason }),
            format!("{device} offline ({port}): {reason}"),
        ),
        GatewayEvent::BoardProblem { port, reason } => {
            (json!({ "event": "problem", "port": port, "reason": reason }), format!("{port}: {reason}"))
        }
        GatewayEvent::Window { .. } => return,
        GatewayEvent::Release { release, accepted, reason } => (
            json!({ "event": "release", "release": release, "accepted": accepted, "reason": reason }),
            match (accepted, release) {
                (true, Some(number)) => format!("release {number} verified; putting it on the boards"),
                _ => format!("release refused: {}", reason.as_deref().unwrap_or("?")),
            },
        ),
        GatewayEvent::Update { device, state, reason } => (
            json!({ "event": "update", "device": device, "state": state, "reason": reason }),
            match reason {
                Some(reason) => format!("{device}: update {state}: {reason}"),
                None => format!("{device}: update {state}"),
            },
        ),
        GatewayEvent::Broker { connected, error } => (
            json!({ "event": "broker", "connected": connected, "error": error }),
            if *connected {
                "connected to the broker".to_string()
            } else {
                format!("broker unreachable: {}; results wait in the outbox", error.as_deref().unwrap_or("?"))
            },
        ),
    };
    if json {
        println!("{value}");
    } else {
        println!("{text}");
    }
}

#[derive(clap::Args)]
pub struct ReleaseCommand {
    #[command(flatten)]
    project: crate::project::ProjectArg,
    /// The model to release [default: the newest].
    #[arg(long)]
    model: Option<i64>,
    /// Write the signed release to this file.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Publish it (retained) on <prefix>/<FLEET>/model at this broker.
    #[arg(long, requires = "fleet")]
    broker: Option<String>,
    #[arg(long)]
    fleet: Option<String>,
    #[arg(long, default_value = "mote")]
    prefix: String,
    /// The CA certificate for an mqtts:// broker.
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
    /// MQTT user name; the password is read from $MOTE_MQTT_PASSWORD.
    #[arg(long)]
    username: Option<String>,
}

/// `mote release`: sign the project's model with its release key (created on first use) and
/// write it to a file or publish it for a fleet's gateways.
pub async fn release(command: ReleaseCommand, json: bool) -> anyhow::Result<()> {
    if command.out.is_none() && command.broker.is_none() {
        anyhow::bail!("say where the release goes: --out FILE, or --broker URL --fleet NAME");
    }
    let dir = command.project.dir()?;
    let project = command.project.open().await?;
    let blob = model_blob(&project, command.model).await;
    let name = project.config().project.name.clone();
    project.close().await;
    let (model, blob) = blob?;
    let key = ReleaseKey::for_project(&dir)?;
    let number = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let signed = key.sign(&name, model.id.0, &blob, number)?;
    let bytes = serde_json::to_vec(&signed)?;
    if let Some(out) = &command.out {
        std::fs::write(out, &bytes).map_err(|e| anyhow::anyhow!("writing {}: {e}", out.display()))?;
    }
    let mut topic = None;
    if let (Some(address), Some(fleet)) = (&command.broker, &command.fleet) {
        let mut broker = Broker::parse(address)?;
        broker.ca_file = command.ca.clone();
        broker.username = command.username.clone();
        broker.password = std::env::var("MOTE_MQTT_PASSWORD").ok();
        let to = format!("{}/{fleet}/model", command.prefix.trim_end_matches('/'));
        mqtt::publish_once(&broker, &format!("mote-release-{number}"), &to, bytes.clone(), true).await?;
        topic = Some(to);
    }
    let public = key.public_hex();
    if json {
        print_json(
            &json!({ "release": number, "model": model.id.0, "bytes": blob.len(), "public_key": public,
                            "out": command.out, "topic": topic }),
        );
    } else {
        println!("release {number}: model {} ({} bytes), signed with key {public}", model.id.0, blob.len());
        println!(
            "gateways take it with --release-key {public} (or {})",
            dir.join("keys/release.pub").display()
        );
        if let Some(out) = &command.out {
            println!("written to {}", out.display());
        }
        if let Some(topic) = topic {
            println!("published, retained, on {topic}");
        }
    }
    Ok(())
}
