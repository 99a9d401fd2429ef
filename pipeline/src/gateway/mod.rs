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

pub mod format;
pub mod mqtt;
pub mod outbox;
pub mod release;
pub mod settings;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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
    /// An integration's messages besides Mote's own (Home Assistant discovery, ThingsBoard).
    pub format: format::Format,
    /// The outbox's bound, in messages.
    pub queue_limit: u64,
    /// How often each board's status is published again (link statistics, dropped results).
    pub status_every: Duration,
    /// Take signed model releases from `<prefix>/<fleet>/model` (retained).
    pub fleet: Option<String>,
    /// The public key releases must be signed with; without it every release is refused.
    pub release_key: Option<Vec<u8>>,
    /// A release file to put on the boards from the start.
    pub release_file: Option<PathBuf>,
}

/// Models the gateway knows (by their [`release::model_id`]), so it can name the labels of the
/// model a board runs. A board reports only the size of its model (its slot CRC names no model),
/// so the gateway remembers what it put on each board, and otherwise takes the one known model
/// of that size; a board running a model it cannot name publishes class numbers without labels.
#[derive(Debug, Clone, Default)]
pub struct ModelLibrary {
    blobs: Vec<(u32, Vec<u8>)>,
    /// What this gateway put on each board: device → (size, model id).
    placed: HashMap<String, (u32, u32)>,
}

impl ModelLibrary {
    pub fn add(&mut self, blob: Vec<u8>) {
        let Some(id) = release::model_id(&blob) else { return };
        if !self.blobs.iter().any(|(known, _)| *known == id) {
            self.blobs.push((id, blob));
        }
    }

    fn find(&self, id: u32) -> Option<&[u8]> {
        self.blobs.iter().find(|(known, _)| *known == id).map(|(_, blob)| blob.as_slice())
    }

    /// The model a board runs, from the size of its active slot.
    fn identify(&self, device: &str, size: u32) -> Option<u32> {
        if let Some((placed_size, id)) = self.placed.get(device)
            && *placed_size == size
        {
            return Some(*id);
        }
        let mut same_size = self.blobs.iter().filter(|(_, blob)| blob.len() == size as usize);
        match (same_size.next(), same_size.next()) {
            (Some((id, _)), None) => Some(*id),
            _ => None,
        }
    }
}

/// What the gateway tells whoever runs it (the CLI prints it, the app shows it).
#[derive(Debug, Clone, PartialEq)]
pub enum GatewayEvent {
    BoardOnline {
        device: String,
        port: String,
        board: String,
        model: Option<String>,
    },
    BoardOffline {
        device: String,
        port: String,
        reason: String,
    },
    BoardProblem {
        port: String,
        reason: String,
    },
    Window {
        device: String,
        seq: u32,
        label: Option<String>,
    },
    Broker {
        connected: bool,
        error: Option<String>,
    },
    /// A release verified (`accepted`) or not (`refused`, with the reason).
    Release {
        release: Option<u64>,
        accepted: bool,
        reason: Option<String>,
    },
    /// A board's update: `refused`, `uploading`, `running` or `failed`.
    Update {
        device: String,
        state: String,
        reason: Option<String>,
    },
}

impl GatewayEvent {
    /// The event as a line for a person (the CLI prints it, the app lists it); `None` for a
    /// window's result, which is counted rather than told.
    pub fn describe(&self) -> Option<String> {
        Some(match self {
            GatewayEvent::BoardOnline { device, port, board, model } => {
                format!("{device} online on {port} ({board}, model {})", model.as_deref().unwrap_or("none"))
            }
            GatewayEvent::BoardOffline { device, port, reason } => {
                format!("{device} offline ({port}): {reason}")
            }
            GatewayEvent::BoardProblem { port, reason } => format!("{port}: {reason}"),
            GatewayEvent::Window { .. } => return None,
            GatewayEvent::Release { release, accepted, reason } => match (accepted, release) {
                (true, Some(number)) => format!("release {number} verified; putting it on the boards"),
                _ => format!("release refused: {}", reason.as_deref().unwrap_or("?")),
            },
            GatewayEvent::Update { device, state, reason: Some(reason) } => {
                format!("{device}: update {state}: {reason}")
            }
            GatewayEvent::Update { device, state, reason: None } => format!("{device}: update {state}"),
            GatewayEvent::Broker { connected: true, .. } => "connected to the broker".to_string(),
            GatewayEvent::Broker { error, .. } => {
                format!("broker unreachable: {}; results wait in the outbox", error.as_deref().unwrap_or("?"))
            }
        })
    }
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

/// A topic prefix may not be empty, start with `/` or hold a wildcard.
fn check_prefix(prefix: &str) -> Result<(), GatewayError> {
    if prefix.is_empty() || prefix.starts_with('/') || prefix.contains(['+', '#']) {
        return Err(GatewayError::Prefix(prefix.to_string()));
    }
    Ok(())
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
    check_prefix(&prefix)?;
    let outbox = Outbox::open(&options.state_dir, options.queue_limit).await?;
    let gateway_topic = format!("{prefix}/gateway/{}/status", topic_level(&options.id));
    let offline = json!({ "state": "offline", "gateway": options.id }).to_string().into_bytes();
    let online = json!({ "state": "online", "gateway": options.id, "queue_limit": outbox.limit() })
        .to_string()
        .into_bytes();
    let link = Arc::new(Mutex::new(LinkState::default()));
    // The sender stops after the boards, so their last statuses can still leave.
    let sender_stop = Arc::new(AtomicBool::new(false));
    let (incoming_tx, mut incoming) = tokio::sync::mpsc::unbounded_channel::<Vec<u8>>();
    let subscribe =
        options.fleet.as_ref().map(|fleet| (format!("{prefix}/{}/model", topic_level(fleet)), incoming_tx));
    let sender = {
        let (broker, id, outbox, stop, link) =
            (options.broker.clone(), options.id.clone(), outbox.clone(), sender_stop.clone(), link.clone());
        let will = (gateway_topic.clone(), offline);
        tokio::spawn(
            async move { mqtt::drain(&broker, &id, will, online, outbox, stop, link, subscribe).await },
        )
    };
    let (releases, _) = tokio::sync::watch::channel::<Option<Arc<release::Release>>>(None);
    let shared = Arc::new(Shared {
        prefix,
        options: options.clone(),
        models: Mutex::new(models),
        outbox: outbox.clone(),
        report: report.clone(),
        releases,
    });
    if let Some(path) = &options.release_file {
        match std::fs::read(path) {
            Ok(bytes) => shared.take_release(&bytes).await,
            Err(error) => report(GatewayEvent::Release {
                release: None,
                accepted: false,
                reason: Some(format!("{}: {error}", path.display())),
            }),
        }
    }
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
        while let Ok(bytes) = incoming.try_recv() {
            shared.take_release(&bytes).await;
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
    models: Mutex<ModelLibrary>,
    outbox: Outbox,
    report: Arc<dyn Fn(GatewayEvent) + Send + Sync>,
    /// The newest release that verified.
    releases: tokio::sync::watch::Sender<Option<Arc<release::Release>>>,
}

impl Shared {
    /// Verifies a release; a good one newer than the current goes to the boards, a bad one is
    /// refused and reported (`<prefix>/gateway/<id>/release`).
    async fn take_release(&self, bytes: &[u8]) {
        let verified = match &self.options.release_key {
            Some(key) => release::verify(bytes, key).map_err(|e| e.to_string()),
            None => {
                Err("this gateway was given no release key (--release-key), so it takes no release".into())
            }
        };
        let topic = format!("{}/gateway/{}/release", self.prefix, topic_level(&self.options.id));
        let (payload, event) = match verified {
            Ok(release) => {
                let number = release.manifest.release;
                let newer =
                    self.releases.borrow().as_ref().is_none_or(|current| number > current.manifest.release);
                let payload = json!({ "state": "accepted", "release": number, "project": release.manifest.project,
                                      "model": release.manifest.model, "crc": format!("{:08x}", release.manifest.crc),
                                      "time_ms": stamp() });
                self.models.lock().unwrap_or_else(|e| e.into_inner()).add(release.blob.clone());
                if newer {
                    self.releases.send_replace(Some(Arc::new(release)));
                }
                (payload, GatewayEvent::Release { release: Some(number), accepted: true, reason: None })
            }
            Err(reason) => (
                json!({ "state": "refused", "reason": reason, "time_ms": stamp() }),
                GatewayEvent::Release { release: None, accepted: false, reason: Some(reason) },
            ),
        };
        let message = Message {
            topic,
            payload: payload.to_string().into_bytes(),
            retain: false,
            kind: Kind::Event,
            device: String::new(),
        };
        let _ = self.outbox.push(&message).await;
        (self.report)(event);
    }

    fn blob(&self, id: u32) -> Option<Vec<u8>> {
        self.models.lock().unwrap_or_else(|e| e.into_inner()).find(id).map(<[u8]>::to_vec)
    }

    /// Remembers that `blob` is now on `device`.
    fn placed(&self, device: &str, blob: &[u8]) {
        if let Some(id) = release::model_id(blob) {
            let mut models = self.models.lock().unwrap_or_else(|e| e.into_inner());
            models.placed.insert(device.to_string(), (blob.len() as u32, id));
        }
    }
    fn topic(&self, device: &str, leaf: &str) -> String {
        format!("{}/{}/{leaf}", self.prefix, topic_level(device))
    }

    async fn queue(&self, device: &str, leaf: &str, kind: Kind, payload: serde_json::Value) {
        let mut messages = vec![Message {
            topic: self.topic(device, leaf),
            payload: payload.to_string().into_bytes(),
            retain: kind == Kind::Status,
            kind,
            device: device.to_string(),
        }];
        messages.extend(format::extra(
            self.options.format,
            &self.prefix,
            &topic_level(device),
            leaf,
            kind,
            &payload,
        ));
        for message in messages {
            if let Err(error) = self.outbox.push(&message).await {
                (self.report)(GatewayEvent::BoardProblem {
                    port: device.to_string(),
                    reason: error.to_string(),
                });
            }
        }
    }
}

/// The size of the model a board runs (`None` without a valid active model).
async fn active_model(board: &mut Board) -> Option<u32> {
    let slots = board.query_slots().await.ok()?;
    slots.iter().find(|slot| slot.active).and_then(|slot| match slot.state {
        SlotStatus::Valid { size, .. } => Some(size),
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

/// What a board runs, as the gateway knows it.
struct Running {
    /// Whether the board has a model to run.
    has_model: bool,
    /// The active model's id, when the gateway can name it.
    model: Option<u32>,
    labels: Vec<String>,
    decoder: Option<LiveDecoder>,
    /// Why it classifies nothing, when it does not.
    problem: Option<String>,
    /// When the gateway connected to it, or last changed its model (the `session` of messages).
    session: u64,
    inferring: bool,
    /// Events of this model's results.
    events: Events,
}

impl Running {
    fn new(shared: &Shared, info: &BoardInfo, has_model: bool, model: Option<u32>) -> Running {
        let blob = model.and_then(|id| shared.blob(id));
        let (decoder, problem) = match (has_model, LiveDecoder::new(blob.as_deref(), info, false)) {
            (false, _) => (None, Some("the board has no model to run".to_string())),
            (true, Ok(decoder)) => (Some(decoder), None),
            (true, Err(error)) => (None, Some(error.to_string())),
        };
        let labels = decoder.as_ref().map(|d| d.labels().to_vec()).unwrap_or_default();
        Running {
            has_model,
            model,
            labels,
            decoder,
            problem,
            session: now_ms(),
            inferring: false,
            events: Events::default(),
        }
    }

    async fn start(&mut self, board: &mut Board) {
        if self.decoder.is_some() {
            match board.start_inference(false).await {
                Ok(()) => self.inferring = true,
                Err(error) => self.problem = Some(error.to_string()),
            }
        }
    }
}

/// The status message of a board.
async fn board_status(
    shared: &Shared,
    state: &str,
    info: &BoardInfo,
    running: &Running,
    board: &Board,
    reason: Option<&str>,
) {
    let dropped = shared.outbox.dropped(&info.device_id).await.unwrap_or(0);
    let reason = reason.or(running.problem.as_deref());
    let message =
        status(state, info, running.model, &running.labels, Some(board), dropped, reason, running.session);
    shared.queue(&info.device_id, "status", Kind::Status, message).await;
}

async fn update_status(
    shared: &Shared,
    device: &str,
    state: &str,
    release: &release::Release,
    previous: Option<u32>,
    reason: Option<&str>,
) {
    let message = json!({
        "device": device,
        "state": state,
        "release": release.manifest.release,
        "model": format!("{:08x}", release.manifest.crc),
        "previous": previous.map(|crc| format!("{crc:08x}")),
        "reason": reason,
        "time_ms": stamp(),
    });
    shared.queue(device, "update", Kind::Event, message).await;
    (shared.report)(GatewayEvent::Update {
        device: device.into(),
        state: state.into(),
        reason: reason.map(str::to_string),
    });
}

/// How long a new model has to give its first results before the update counts as failed.
fn confirm_patience(release: &release::Release) -> Duration {
    let window_s = mote_runtime::Model::parse(&release.blob)
        .map(|m| m.window_samples() as f64 / f64::from(m.rate_hz()).max(1.0))
        .unwrap_or(10.0);
    Duration::from_secs_f64(3.0 * window_s + 10.0)
}

/// Puts `release` on the board: the fit check, the upload into the inactive slot (the board runs
/// its model until the whole upload checks out), the commit, and a few windows classified by the
/// new model. On any failure the board keeps (or gets back) its previous model, and the update
/// status says why. Returns false when the board went away.
async fn put_release(
    shared: &Shared,
    board: &mut Board,
    info: &BoardInfo,
    running: &mut Running,
    release: &release::Release,
    windows: &std::sync::atomic::AtomicU64,
) -> bool {
    let device = info.device_id.as_str();
    let previous = running.model;
    if let Some(reason) = release::misfit(&release.manifest, info) {
        update_status(
            shared,
            device,
            "refused",
            release,
            previous,
            Some(&format!("{reason}; it keeps its model")),
        )
        .await;
        return true;
    }
    update_status(shared, device, "uploading", release, previous, None).await;
    if running.inferring {
        let _ = board.stop_inference().await;
        running.inferring = false;
    }
    if let Err(error) = board.upload_model(&release.blob, &AtomicBool::new(false), |_, _| {}).await {
        let gone = matches!(error, crate::link::LinkError::Disconnected { .. });
        let keeps = match (previous, running.has_model) {
            (Some(id), _) => format!("model {id:08x}"),
            (None, true) => "its model".to_string(),
            (None, false) => "no model".to_string(),
        };
        let reason = format!("the upload failed ({error}); the board keeps {keeps}");
        update_status(shared, device, "failed", release, previous, Some(&reason)).await;
        if !gone {
            running.start(board).await;
        }
        return !gone;
    }
    // The new model: its labels, a session of its own, and the proof that it classifies.
    shared.placed(device, &release.blob);
    *running = Running::new(shared, info, true, Some(release.manifest.crc));
    running.start(board).await;
    let deadline = Instant::now() + confirm_patience(release);
    let mut confirmed = 0;
    while running.inferring && confirmed < 3 && Instant::now() < deadline {
        let Some(event) = board.next_event(Duration::from_millis(100)).await else { continue };
        match event {
            Event::Reply(reply @ Reply::Inference(_)) => {
                confirmed += publish_windows(shared, device, running, &reply, windows).await;
            }
            Event::Closed(_) => return false,
            _ => {}
        }
    }
    if confirmed >= 3 {
        update_status(shared, device, "running", release, previous, None).await;
        board_status(shared, "online", info, running, board, None).await;
        return true;
    }
    // It does not classify: back to the previous model when this gateway has it.
    let why = running
        .problem
        .clone()
        .unwrap_or_else(|| format!("no results within {:?}", confirm_patience(release)));
    let old = previous.and_then(|id| shared.blob(id));
    let restored = match &old {
        Some(old) => board.upload_model(old, &AtomicBool::new(false), |_, _| {}).await.is_ok(),
        None => false,
    };
    let reason = if restored {
        format!("the new model did not classify ({why}); the previous model is back")
    } else {
        format!(
            "the new model did not classify ({why}); this gateway does not have the previous model to put back"
        )
    };
    update_status(shared, device, "failed", release, previous, Some(&reason)).await;
    if let (true, Some(old)) = (restored, &old) {
        shared.placed(device, old);
        *running = Running::new(shared, info, true, previous);
        running.start(board).await;
    }
    true
}

/// Publishes the windows a reply completes (results and events); returns how many.
async fn publish_windows(
    shared: &Shared,
    device: &str,
    running: &mut Running,
    reply: &Reply,
    windows: &std::sync::atomic::AtomicU64,
) -> usize {
    let Some(decoder) = running.decoder.as_mut() else { return 0 };
    let ready = decoder.on_reply(reply);
    for window in &ready {
        windows.fetch_add(1, Ordering::Relaxed);
        if !shared.options.only_events {
            let message = inference(device, running.session, running.model, window, &running.labels);
            shared.queue(device, "inference", Kind::Inference, message).await;
        }
        for mut event in running.events.on_window(&shared.options.events, window) {
            event["device"] = json!(device);
            event["session"] = json!(running.session);
            shared.queue(device, "event", Kind::Event, event).await;
        }
        (shared.report)(GatewayEvent::Window {
            device: device.into(),
            seq: window.seq,
            label: window.label.clone(),
        });
    }
    ready.len()
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
    let size = active_model(&mut board).await;
    let model =
        size.and_then(|size| shared.models.lock().unwrap_or_else(|e| e.into_inner()).identify(&device, size));
    let mut running = Running::new(&shared, &info, size.is_some(), model);
    board_status(&shared, "online", &info, &running, &board, None).await;
    report(GatewayEvent::BoardOnline {
        device: device.clone(),
        port: port.clone(),
        board: info.board.clone(),
        model: model.map(|crc| format!("{crc:08x}")),
    });
    running.start(&mut board).await;
    let mut releases = shared.releases.subscribe();
    releases.mark_changed();
    // The release numbers this board was offered (one try each while connected).
    let mut tried: Option<u64> = None;
    let mut status_due = Instant::now() + shared.options.status_every;
    let offline_reason = loop {
        if stop.load(Ordering::Relaxed) {
            if running.inferring {
                let _ = board.stop_inference().await;
            }
            break "the gateway stopped".to_string();
        }
        if releases.has_changed().unwrap_or(false) {
            let release = releases.borrow_and_update().clone();
            if let Some(release) = release
                && tried != Some(release.manifest.release)
            {
                tried = Some(release.manifest.release);
                if running.model == Some(release.manifest.crc) {
                    update_status(&shared, &device, "running", &release, running.model, None).await;
                } else if !put_release(&shared, &mut board, &info, &mut running, &release, &windows).await {
                    break "the board went away during an update".to_string();
                }
            }
        }
        if Instant::now() >= status_due {
            status_due = Instant::now() + shared.options.status_every;
            board_status(&shared, "online", &info, &running, &board, None).await;
        }
        let Some(event) = board.next_event(Duration::from_millis(100)).await else { continue };
        match event {
            Event::Reply(reply @ Reply::Inference(_)) => {
                publish_windows(&shared, &device, &mut running, &reply, &windows).await;
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
    board_status(&shared, "offline", &info, &running, &board, Some(&offline_reason)).await;
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
