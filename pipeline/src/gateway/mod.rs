//! `mote gateway`: the host boards are plugged into publishes what they classify to an MQTT
//! broker. It connects to every board it finds (or the ports it is given), starts on-board
//! inference with the model each runs, and queues per window, per board:
//!
//! - `<prefix>/<device>/inference`: top label, scores, anomaly score, board time, the board's
//!   window sequence number (consecutive; subscribers drop a repeated one);
//! - `<prefix>/<device>/event`: a label held for `hold` windows in a row, an anomaly score over
//!   the threshold ("send only what matters": `only_events` leaves out the per-window results);
//! - `<prefix>/<device>/status` (retained): online with board, firmware, model and link
//!   statistics; offline with the reason when the board goes away.
//!
//! The gateway itself is `<prefix>/gateway/<id>/status`, online while it runs and offline as its
//! last will. Everything goes through the [`outbox`] (on disk, bounded) and leaves in order with
//! QoS 1 ([`mqtt`]). A board that is unplugged and plugged back is picked up again by the next
//! scan (every second).

pub mod mqtt;
pub mod outbox;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mote_wire::CRC;
use serde_json::json;

use crate::link::discover::list_ports;
use crate::link::types::SlotStatus;
use crate::link::{Board, BoardInfo, ConnectOptions, Event, Reply};
use crate::live::{LiveDecoder, LiveWindow};
pub use mqtt::{Broker, BrokerError, LinkState};
use outbox::{Kind, Message, Outbox, OutboxError};

/// When to send an event.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRules {
    /// A new top label is an event once it has held for this many windows in a row.
    pub hold: u32,
    /// An anomaly score above this is an event (once per crossing).
    pub anomaly_threshold: Option<f32>,
}

impl Default for EventRules {
    fn default() -> Self {
        EventRules { hold: 3, anomaly_threshold: None }
    }
}

/// How the gateway runs.
#[derive(Debug, Clone)]
pub struct GatewayOptions {
    pub broker: Broker,
    /// The first level of every topic. Default `mote`.
    pub prefix: String,
    /// This gateway's name (its status topic and MQTT client id).
    pub id: String,
    /// Where the outbox lives.
    pub state_dir: PathBuf,
    /// Only these serial ports; empty: every Mote board found (virtual, emulated, USB).
    pub ports: Vec<String>,
    pub events: EventRules,
    /// Publish events and statuses only, not every window's result.
    pub only_events: bool,
    /// The outbox's bound, in messages.
    pub queue_limit: u64,
    /// How often each board's status is published again (link statistics, dropped results).
    pub status_every: Duration,
}

/// Models the gateway knows, so it can name the labels of the model a board runs (found by its
/// CRC); a board running a model it does not know publishes class indices without names.
#[derive(Debug, Clone, Default)]
pub struct ModelLibrary {
    blobs: Vec<(u32, Vec<u8>)>,
}

impl ModelLibrary {
    pub fn add(&mut self, blob: Vec<u8>) {
        let crc = CRC.checksum(&blob);
        if !self.blobs.iter().any(|(known, _)| *known == crc) {
            self.blobs.push((crc, blob));
        }
    }

    fn find(&self, crc: u32) -> Option<&[u8]> {
        self.blobs.iter().find(|(known, _)| *known == crc).map(|(_, blob)| blob.as_slice())
    }
}

/// What the gateway tells whoever runs it (the CLI prints it, the app shows it).
#[derive(Debug, Clone, PartialEq)]
pub enum GatewayEvent {
    BoardOnline { device: String, port: String, board: String, model: Option<String> },
    BoardOffline { device: String, port: String, reason: String },
    BoardProblem { port: String, reason: String },
    Window { device: String, seq: u32, label: Option<String> },
    Broker { connected: bool, error: Option<String> },
}

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error(transparent)]
    Broker(#[from] BrokerError),
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    #[error("the topic prefix {0:?} may not be empty or hold `+`, `#` or a leading `/`")]
    Prefix(String),
}

impl GatewayError {
    pub fn code(&self) -> &'static str {
        match self {
            GatewayError::Broker(_) => "gateway.broker",
            GatewayError::Outbox(_) => "gateway.outbox",
            GatewayError::Prefix(_) => "gateway.prefix",
        }
    }
}

/// How a gateway run went.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct GatewaySummary {
    pub boards_seen: usize,
    pub windows: u64,
    pub published: u64,
    /// Messages still queued when it stopped (they leave on the next run).
    pub queued: u64,
}

/// A device id as one topic level (`+`, `#` and `/` replaced).
fn topic_level(name: &str) -> String {
    name.chars().map(|c| if matches!(c, '+' | '#' | '/') || c.is_control() { '_' } else { c }).collect()
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// Unix time in milliseconds, to the microsecond (a message's `time_ms`).
fn stamp() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_micros() as f64 / 1000.0)
}

/// Runs the gateway until `stop`.
pub async fn run_gateway(
    options: GatewayOptions,
    models: ModelLibrary,
    stop: Arc<AtomicBool>,
    report: Arc<dyn Fn(GatewayEvent) + Send + Sync>,
) -> Result<GatewaySummary, GatewayError> {
    let prefix = options.prefix.trim_end_matches('/').to_string();
    if prefix.is_empty() || prefix.starts_with('/') || prefix.contains(['+', '#']) {
        return Err(GatewayError::Prefix(options.prefix.clone()));
    }
    let outbox = Outbox::open(&options.state_dir, options.queue_limit).await?;
    let gateway_topic = format!("{prefix}/gateway/{}/status", topic_level(&options.id));
    let offline = json!({ "state": "offline", "gateway": options.id }).to_string().into_bytes();
    let online = json!({ "state": "online", "gateway": options.id, "queue_limit": outbox.limit() })
        .to_string()
        .into_bytes();
    let link = Arc::new(Mutex::new(LinkState::default()));
    // The sender stops after the boards, so their last statuses can still leave.
    let sender_stop = Arc::new(AtomicBool::new(false));
    let sender = {
        let (broker, id, outbox, stop, link) =
            (options.broker.clone(), options.id.clone(), outbox.clone(), sender_stop.clone(), link.clone());
        let will = (gateway_topic.clone(), offline);
        tokio::spawn(async move { mqtt::drain(&broker, &id, will, online, outbox, stop, link).await })
    };
    let shared = Arc::new(Shared {
        prefix,
        options: options.clone(),
        models,
        outbox: outbox.clone(),
        report: report.clone(),
    });
    let windows = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut boards: HashMap<String, tokio::task::JoinHandle<()>> = HashMap::new();
    let mut retry_after: HashMap<String, Instant> = HashMap::new();
    let mut seen = std::collections::HashSet::new();
    let mut last_link = LinkState::default();
    while !stop.load(Ordering::Relaxed) {
        boards.retain(|_, task| !task.is_finished());
        for port in candidate_ports(&options.ports) {
            if boards.contains_key(&port) || retry_after.get(&port).is_some_and(|at| Instant::now() < *at) {
                continue;
            }
            seen.insert(port.clone());
            retry_after.insert(port.clone(), Instant::now() + Duration::from_secs(5));
            let (shared, stop, windows) = (shared.clone(), stop.clone(), windows.clone());
            let task_port = port.clone();
            boards.insert(
                port,
                tokio::spawn(async move { serve_board(task_port, shared, stop, windows).await }),
            );
        }
        let now = link.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if now.connected != last_link.connected
            || (now.last_error.is_some() && now.last_error != last_link.last_error)
        {
            report(GatewayEvent::Broker { connected: now.connected, error: now.last_error.clone() });
        }
        last_link = now;
        if sender.is_finished() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for (_, task) in boards {
        let _ = task.await;
    }
    // Up to two seconds for what is queued to leave, when the broker is there.
    let deadline = Instant::now() + Duration::from_secs(2);
    while outbox.len().await > 0
        && link.lock().unwrap_or_else(|e| e.into_inner()).connected
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    sender_stop.store(true, Ordering::Relaxed);
    let sent = sender.await.unwrap_or(Ok(()));
    sent?;
    let published = link.lock().unwrap_or_else(|e| e.into_inner()).published;
    Ok(GatewaySummary {
        boards_seen: seen.len(),
        windows: windows.load(Ordering::Relaxed),
        published,
        queued: outbox.len().await,
    })
}

/// The ports to try: the ones given, or every virtual, emulated and USB port (never a plain
/// serial port such as `/dev/ttyS0`, which may be anything).
fn candidate_ports(given: &[String]) -> Vec<String> {
    if !given.is_empty() {
        return given.iter().filter(|port| std::path::Path::new(port).exists()).cloned().collect();
    }
    match list_ports() {
        Ok(entries) => entries
            .into_iter()
            .filter(|entry| matches!(entry.kind, "virtual" | "emulated" | "usb"))
            .map(|entry| entry.path)
            .collect(),
        Err(_) => Vec::new(),
    }
}

struct Shared {
    prefix: String,
    options: GatewayOptions,
    models: ModelLibrary,
    outbox: Outbox,
    report: Arc<dyn Fn(GatewayEvent) + Send + Sync>,
}

impl Shared {
    fn topic(&self, device: &str, leaf: &str) -> String {
        format!("{}/{}/{leaf}", self.prefix, topic_level(device))
    }

    async fn queue(&self, device: &str, leaf: &str, kind: Kind, payload: serde_json::Value) {
        let message = Message {
            topic: self.topic(device, leaf),
            payload: payload.to_string().into_bytes(),
            retain: kind == Kind::Status,
            kind,
            device: device.to_string(),
        };
        if let Err(error) = self.outbox.push(&message).await {
            (self.report)(GatewayEvent::BoardProblem { port: device.to_string(), reason: error.to_string() });
        }
    }
}

/// The model a board runs: its CRC (`None` without a valid active model).
async fn active_model(board: &mut Board) -> Option<u32> {
    let slots = board.query_slots().await.ok()?;
    slots.iter().find(|slot| slot.active).and_then(|slot| match slot.state {
        SlotStatus::Valid { crc, .. } => Some(crc),
        _ => None,
    })
}

fn status(
    state: &str,
    info: &BoardInfo,
    model: Option<u32>,
    labels: &[String],
    board: Option<&Board>,
    dropped: u64,
    reason: Option<&str>,
    session: u64,
) -> serde_json::Value {
    let wire = board.map(Board::wire);
    json!({
        "state": state,
        "device": info.device_id,
        "session": session,
        "board": info.board,
        "firmware": info.firmware_version,
        "model": model.map(|crc| json!({ "crc": format!("{crc:08x}"), "labels": labels })),
        "link": wire.map(|wire| json!({ "bytes": wire.bytes, "frames": wire.frames, "crc_errors": wire.crc_errors,
                                        "other_frame_errors": wire.other_frame_errors })),
        "dropped": dropped,
        "reason": reason,
        "time_ms": stamp(),
    })
}

fn inference(
    device: &str,
    session: u64,
    model: Option<u32>,
    window: &LiveWindow,
    labels: &[String],
) -> serde_json::Value {
    let scores: serde_json::Map<String, serde_json::Value> = window
        .probabilities
        .iter()
        .enumerate()
        .map(|(index, p)| (labels.get(index).cloned().unwrap_or_else(|| index.to_string()), json!(p)))
        .collect();
    json!({
        "device": device,
        "session": session,
        "seq": window.seq,
        "board_time_us": window.t_us,
        "label": window.label,
        "top": window.top,
        "scores": scores,
        "anomaly": window.anomaly,
        "model": model.map(|crc| format!("{crc:08x}")),
        "time_ms": stamp(),
    })
}

/// Turns windows into events.
#[derive(Debug, Default)]
struct Events {
    run: Option<(usize, u32)>,
    reported: Option<usize>,
    anomalous: bool,
}

impl Events {
    fn on_window(&mut self, rules: &EventRules, window: &LiveWindow) -> Vec<serde_json::Value> {
        let mut events = Vec::new();
        let run = match self.run {
            Some((top, count)) if top == window.top => count + 1,
            _ => 1,
        };
        self.run = Some((window.top, run));
        if run >= rules.hold.max(1) && self.reported != Some(window.top) {
            self.reported = Some(window.top);
            events.push(json!({ "kind": "label", "label": window.label, "top": window.top, "windows": run,
                                "seq": window.seq, "board_time_us": window.t_us, "time_ms": stamp() }));
        }
        if let (Some(threshold), Some(score)) = (rules.anomaly_threshold, window.anomaly) {
            let above = score > threshold;
            if above && !self.anomalous {
                events.push(
                    json!({ "kind": "anomaly", "score": score, "threshold": threshold, "seq": window.seq,
                                    "board_time_us": window.t_us, "time_ms": stamp() }),
                );
            }
            self.anomalous = above;
        }
        events
    }
}

/// One board, from connection until it goes away or the gateway stops.
async fn serve_board(
    port: String,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    windows: Arc<std::sync::atomic::AtomicU64>,
) {
    let report = shared.report.clone();
    let mut board = match Board::connect(&port, &ConnectOptions::default()).await {
        Ok(board) => board,
        Err(error) => {
            report(GatewayEvent::BoardProblem { port, reason: error.to_string() });
            return;
        }
    };
    let info = board.info().clone();
    let device = info.device_id.clone();
    let model = active_model(&mut board).await;
    let blob = model.and_then(|crc| shared.models.find(crc));
    let decoder = LiveDecoder::new(blob, &info, false);
    let (mut decoder, problem) = match decoder {
        Ok(decoder) => (Some(decoder), None),
        Err(error) => (None, Some(error.to_string())),
    };
    let labels = decoder.as_ref().map(|d| d.labels().to_vec()).unwrap_or_default();
    let dropped = shared.outbox.dropped(&device).await.unwrap_or(0);
    let reason = match (&model, &problem) {
        (None, _) => Some("the board has no model to run".to_string()),
        (_, Some(problem)) => Some(problem.clone()),
        _ => None,
    };
    // The board's results from this connection on: its sequence numbers start again when it
    // restarts, so (device, session, seq) names a window.
    let session = now_ms();
    shared
        .queue(
            &device,
            "status",
            Kind::Status,
            status("online", &info, model, &labels, Some(&board), dropped, reason.as_deref(), session),
        )
        .await;
    report(GatewayEvent::BoardOnline {
        device: device.clone(),
        port: port.clone(),
        board: info.board.clone(),
        model: model.map(|crc| format!("{crc:08x}")),
    });
    let started = match (&model, &decoder) {
        (Some(_), Some(_)) => board.start_inference(false).await.map_err(|e| e.to_string()),
        _ => Err(String::new()),
    };
    let mut events = Events::default();
    let mut status_due = Instant::now() + shared.options.status_every;
    let offline_reason = loop {
        if Instant::now() >= status_due {
            status_due = Instant::now() + shared.options.status_every;
            let dropped = shared.outbox.dropped(&device).await.unwrap_or(0);
            let update =
                status("online", &info, model, &labels, Some(&board), dropped, reason.as_deref(), session);
            shared.queue(&device, "status", Kind::Status, update).await;
        }
        if stop.load(Ordering::Relaxed) {
            if started.is_ok() {
                let _ = board.stop_inference().await;
            }
            break "the gateway stopped".to_string();
        }
        let Some(event) = board.next_event(Duration::from_millis(100)).await else { continue };
        match event {
            Event::Reply(reply @ Reply::Inference(_)) => {
                let Some(decoder) = decoder.as_mut() else { continue };
                for window in decoder.on_reply(&reply) {
                    windows.fetch_add(1, Ordering::Relaxed);
                    if !shared.options.only_events {
                        let message = inference(&device, session, model, &window, &labels);
                        shared.queue(&device, "inference", Kind::Inference, message).await;
                    }
                    for event in events.on_window(&shared.options.events, &window) {
                        let mut event = event;
                        event["device"] = json!(device);
                        event["session"] = json!(session);
                        shared.queue(&device, "event", Kind::Event, event).await;
                    }
                    report(GatewayEvent::Window {
                        device: device.clone(),
                        seq: window.seq,
                        label: window.label.clone(),
                    });
                }
            }
            Event::Reply(Reply::Error { code, detail }) => {
                report(GatewayEvent::BoardProblem {
                    port: port.clone(),
                    reason: format!("the board refused: {detail} ({code:?})"),
                });
            }
            Event::Closed(reason) => break reason,
            _ => {}
        }
    };
    let dropped = shared.outbox.dropped(&device).await.unwrap_or(0);
    let gone =
        status("offline", &info, model, &labels, Some(&board), dropped, Some(&offline_reason), session);
    shared.queue(&device, "status", Kind::Status, gone).await;
    report(GatewayEvent::BoardOffline { device, port, reason: offline_reason });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(seq: u32, top: usize, anomaly: Option<f32>) -> LiveWindow {
        LiveWindow {
            seq,
            t_us: u64::from(seq) * 1000,
            top,
            label: Some(["idle", "wave"][top].to_string()),
            probabilities: vec![0.5, 0.5],
            scores: vec![0, 0],
            anomaly,
            dsp_us: 0,
            nn_us: 0,
            dsp_instructions: None,
            nn_instructions: None,
            parity: None,
            parity_error: None,
        }
    }

    #[test]
    fn a_label_is_an_event_once_it_holds_and_an_anomaly_once_per_crossing() {
        let rules = EventRules { hold: 3, anomaly_threshold: Some(0.8) };
        let mut events = Events::default();
        let tops = [0, 0, 0, 1, 0, 1, 1, 1, 1];
        let fired: Vec<u32> = tops
            .iter()
            .enumerate()
            .flat_map(|(seq, top)| events.on_window(&rules, &window(seq as u32, *top, None)))
            .map(|event| event["seq"].as_u64().unwrap() as u32)
            .collect();
        assert_eq!(fired, [2, 7], "idle after 3 windows, wave after 3 more; a single flicker is no event");
        let mut events = Events::default();
        let scores = [0.1, 0.9, 0.95, 0.2, 0.85];
        let anomalies: Vec<f64> = scores
            .iter()
            .enumerate()
            .flat_map(|(seq, score)| events.on_window(&rules, &window(seq as u32, 0, Some(*score))))
            .filter(|event| event["kind"] == "anomaly")
            .map(|event| event["score"].as_f64().unwrap())
            .collect();
        assert_eq!(anomalies.len(), 2);
    }

    #[test]
    fn device_ids_are_one_topic_level() {
        assert_eq!(topic_level("virtual-1"), "virtual-1");
        assert_eq!(topic_level("a/b+c#"), "a_b_c_");
    }
}
