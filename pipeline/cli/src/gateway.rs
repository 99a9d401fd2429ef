//! `mote gateway`: publish what the boards plugged into this host classify to an MQTT broker.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use mote_pipeline::gateway::release::ReleaseKey;
use mote_pipeline::gateway::settings::{GatewaySettings, Resolved};
use mote_pipeline::gateway::{Broker, GatewayEvent, mqtt, run_gateway};
use mote_pipeline::models::model_blob;
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
    #[arg(long, default_value_t = mote_pipeline::gateway::outbox::DEFAULT_LIMIT as u32)]
    queue_limit: u32,
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

impl GatewayCommand {
    fn settings(&self) -> GatewaySettings {
        let path = |path: &Option<PathBuf>| path.as_ref().map(|p| p.display().to_string());
        GatewaySettings {
            broker: self.broker.clone(),
            ca: path(&self.ca),
            username: self.username.clone(),
            password: std::env::var("MOTE_MQTT_PASSWORD").ok(),
            prefix: self.prefix.clone(),
            id: self.id.clone(),
            ports: self.ports.clone(),
            projects: self.projects.iter().map(|dir| dir.display().to_string()).collect(),
            hold: self.hold,
            anomaly_threshold: self.anomaly_threshold,
            only_events: self.only_events,
            format: self.format.clone(),
            queue_limit: self.queue_limit,
            status_every_s: self.status_every,
            fleet: self.fleet.clone(),
            release_key: self.release_key.clone(),
            release_file: path(&self.release_file),
            state: path(&self.state),
        }
    }
}

pub async fn run(command: GatewayCommand, json: bool, cancel: Arc<AtomicBool>) -> anyhow::Result<()> {
    let Resolved { options, models, notes } = command.settings().resolve().await?;
    for note in notes {
        eprintln!("{note}");
    }
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
    let Some(text) = event.describe() else { return };
    if !json {
        println!("{text}");
        return;
    }
    let value = match event {
        GatewayEvent::BoardOnline { device, port, board, model } => {
            json!({ "event": "online", "device": device, "port": port, "board": board, "model": model })
        }
        GatewayEvent::BoardOffline { device, port, reason } => {
            json!({ "event": "offline", "device": device, "port": port, "reason": reason })
        }
        GatewayEvent::BoardProblem { port, reason } => {
            json!({ "event": "problem", "port": port, "reason": reason })
        }
        GatewayEvent::Window { .. } => return,
        GatewayEvent::Release { release, accepted, reason } => {
            json!({ "event": "release", "release": release, "accepted": accepted, "reason": reason })
        }
        GatewayEvent::Update { device, state, reason } => {
            json!({ "event": "update", "device": device, "state": state, "reason": reason })
        }
        GatewayEvent::Broker { connected, error } => {
            json!({ "event": "broker", "connected": connected, "error": error })
        }
    };
    println!("{value}");
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
