//! The gateway's one connection to the broker (rumqttc): it drains the outbox in order with
//! QoS 1 and removes each message once the broker has acknowledged it. While the broker is
//! unreachable it retries every second and the outbox keeps filling; after every (re)connection
//! it starts again from the oldest unacknowledged message, so nothing is lost — a message that
//! reached the broker just before the connection broke may arrive twice, and subscribers tell
//! the copies apart by the device and sequence number every result carries.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rumqttc::{
    AsyncClient, Event, Incoming, LastWill, MqttOptions, Outgoing, QoS, TlsConfiguration, Transport,
};

use super::outbox::{Outbox, OutboxError};

/// Where the broker is and how to log in.
#[derive(Debug, Clone, PartialEq)]
pub struct Broker {
    pub host: String,
    pub port: u16,
    /// TLS with this CA certificate (PEM); `None` is plain TCP.
    pub ca_file: Option<std::path::PathBuf>,
    pub username: Option<String>,
    pub password: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("the broker address {0:?} is not mqtt://host[:port] or mqtts://host[:port]")]
    Address(String),
    #[error("the CA file {path}: {reason}")]
    Ca { path: std::path::PathBuf, reason: String },
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    #[error("the broker {address} did not take the message: {reason}")]
    Unreachable { address: String, reason: String },
}

impl Broker {
    /// `mqtt://host[:port]` (port 1883) or `mqtts://host[:port]` (port 8883; needs a CA file).
    pub fn parse(address: &str) -> Result<Broker, BrokerError> {
        let bad = || BrokerError::Address(address.to_string());
        let (tls, rest) = if let Some(rest) = address.strip_prefix("mqtts://") {
            (true, rest)
        } else if let Some(rest) = address.strip_prefix("mqtt://") {
            (false, rest)
        } else {
            (false, address)
        };
        let rest = rest.trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) => (host, port.parse::<u16>().map_err(|_| bad())?),
            None => (rest, if tls { 8883 } else { 1883 }),
        };
        if host.is_empty() || host.contains('/') {
            return Err(bad());
        }
        Ok(Broker { host: host.to_string(), port, ca_file: None, username: None, password: None })
    }

    /// Whether the connection can be set up (the CA file read and holding a certificate);
    /// nothing is sent.
    pub fn check(&self) -> Result<(), BrokerError> {
        self.options("check", None).map(|_| ())
    }

    fn options(&self, client_id: &str, will: Option<LastWill>) -> Result<MqttOptions, BrokerError> {
        let mut options = MqttOptions::new(client_id, &self.host, self.port);
        options.set_keep_alive(Duration::from_secs(5));
        options.set_clean_session(true);
        options.set_inflight(WINDOW as u16);
        // Releases carry a whole model (hex): up to 4 MiB a packet, both ways.
        options.set_max_packet_size(MAX_PACKET, MAX_PACKET);
        if let Some(will) = will {
            options.set_last_will(will);
        }
        if let Some(user) = &self.username {
            options.set_credentials(user, self.password.clone().unwrap_or_default());
        }
        if let Some(path) = &self.ca_file {
            let ca = std::fs::read(path)
                .map_err(|e| BrokerError::Ca { path: path.clone(), reason: e.to_string() })?;
            if !String::from_utf8_lossy(&ca).contains("-----BEGIN CERTIFICATE-----") {
                return Err(BrokerError::Ca {
                    path: path.clone(),
                    reason: "holds no PEM certificate".into(),
                });
            }
            // One crypto provider for the process (ring, already in the build); installing it
            // again is harmless.
            let _ = rustls::crypto::ring::default_provider().install_default();
            options.set_transport(Transport::tls_with_config(TlsConfiguration::Simple {
                ca,
                alpn: None,
                client_auth: None,
            }));
        }
        Ok(options)
    }
}

/// The largest MQTT packet sent or taken.
const MAX_PACKET: usize = 4 << 20;

/// Messages handed to the client and not yet acknowledged, at most.
const WINDOW: usize = 64;

/// What the connection is doing, for the gateway's status and the app.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LinkState {
    pub connected: bool,
    pub published: u64,
    pub last_error: Option<String>,
}

/// Runs until `stop`: connects (again and again), drains `outbox`. `will` is the gateway's
/// offline status; `online` is published (retained) after each connection.
/// `subscribe`: a topic whose messages are handed to `incoming` (model releases).
#[allow(clippy::too_many_arguments)]
pub async fn drain(
    broker: &Broker,
    client_id: &str,
    will: (String, Vec<u8>),
    online: Vec<u8>,
    outbox: Outbox,
    stop: Arc<AtomicBool>,
    state: Arc<std::sync::Mutex<LinkState>>,
    subscribe: Option<(String, tokio::sync::mpsc::UnboundedSender<Vec<u8>>)>,
) -> Result<(), BrokerError> {
    let options =
        broker.options(client_id, Some(LastWill::new(&will.0, will.1.clone(), QoS::AtLeastOnce, true)))?;
    let (client, mut events) = AsyncClient::new(options, WINDOW * 2);
    let mut sender = Sender {
        outbox,
        client,
        cursor: 0,
        handed: VecDeque::new(),
        in_flight: HashMap::new(),
        connected: false,
        acknowledged: 0,
    };
    while !stop.load(Ordering::Relaxed) {
        if sender.connected {
            sender.hand_over().await?;
        }
        tokio::select! {
            event = events.poll() => match event {
                Ok(Event::Incoming(Incoming::Publish(publish))) => {
                    if let Some((topic, incoming)) = &subscribe
                        && &publish.topic == topic
                        && !publish.payload.is_empty()
                    {
                        let _ = incoming.send(publish.payload.to_vec());
                    }
                }
                Ok(event) => {
                    if sender.on_event(event, &will.0, &online).await? {
                        if let Some((topic, _)) = &subscribe {
                            let _ = sender.client.try_subscribe(topic, QoS::AtLeastOnce);
                        }
                        let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
                        state.connected = true;
                        state.last_error = None;
                    }
                }
                Err(error) => {
                    sender.disconnected();
                    {
                        let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
                        state.connected = false;
                        state.last_error = Some(error.to_string());
                    }
                    pause(&stop).await;
                }
            },
            () = sender.outbox.added(), if sender.connected => {}
            () = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
        state.lock().unwrap_or_else(|e| e.into_inner()).published = sender.acknowledged;
    }
    // A clean goodbye: the broker sends no last will then, so say offline ourselves.
    if sender.connected {
        let _ = sender.client.try_publish(&will.0, QoS::AtLeastOnce, true, will.1.clone());
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        while let Ok(Ok(event)) = tokio::time::timeout_at(deadline, events.poll()).await {
            if matches!(event, Event::Incoming(Incoming::PubAck(_))) && sender.in_flight.is_empty() {
                break;
            }
            sender.on_event(event, &will.0, &online).await?;
        }
        let _ = sender.client.try_disconnect();
        let _ = tokio::time::timeout(Duration::from_millis(500), events.poll()).await;
    }
    Ok(())
}

/// Publishes one message with QoS 1 and waits until the broker has it (10 s at most).
pub async fn publish_once(
    broker: &Broker,
    client_id: &str,
    topic: &str,
    payload: Vec<u8>,
    retain: bool,
) -> Result<(), BrokerError> {
    let options = broker.options(client_id, None)?;
    let (client, mut events) = AsyncClient::new(options, 4);
    let address = format!("{}:{}", broker.host, broker.port);
    let unreachable = |reason: String| BrokerError::Unreachable { address: address.clone(), reason };
    let delivered = async {
        loop {
            match events.poll().await {
                Ok(Event::Incoming(Incoming::ConnAck(_))) => {
                    client
                        .try_publish(topic, QoS::AtLeastOnce, retain, payload.clone())
                        .map_err(|e| unreachable(e.to_string()))?;
                }
                Ok(Event::Incoming(Incoming::PubAck(_))) => return Ok(()),
                Ok(_) => {}
                Err(error) => return Err(unreachable(error.to_string())),
            }
        }
    };
    let outcome = tokio::time::timeout(Duration::from_secs(10), delivered)
        .await
        .unwrap_or_else(|_| Err(unreachable("no answer within 10 s".into())));
    let _ = client.try_disconnect();
    let _ = tokio::time::timeout(Duration::from_millis(300), events.poll()).await;
    outcome
}

/// A second between connection attempts (the event loop reconnects on its next poll).
async fn pause(stop: &AtomicBool) {
    for _ in 0..10 {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

struct Sender {
    outbox: Outbox,
    client: AsyncClient,
    /// The newest outbox id handed to the client on this connection.
    cursor: i64,
    /// Handed to the client, in order, waiting for their packet ids.
    handed: VecDeque<i64>,
    /// Packet id → outbox id, waiting for the broker's acknowledgement.
    in_flight: HashMap<u16, i64>,
    connected: bool,
    /// Messages the broker has acknowledged, on every connection.
    acknowledged: u64,
}

impl Sender {
    /// Gives the client the next messages, up to the window.
    async fn hand_over(&mut self) -> Result<(), OutboxError> {
        let room = WINDOW.saturating_sub(self.handed.len() + self.in_flight.len());
        if room == 0 {
            return Ok(());
        }
        for queued in self.outbox.after(self.cursor, room as u32).await? {
            let message = queued.message;
            if self
                .client
                .try_publish(message.topic, QoS::AtLeastOnce, message.retain, message.payload)
                .is_err()
            {
                break; // the request channel is full: next round
            }
            self.handed.push_back(queued.id);
            self.cursor = queued.id;
        }
        Ok(())
    }

    /// Handles one event; true when the connection (re)opened.
    async fn on_event(&mut self, event: Event, will_topic: &str, online: &[u8]) -> Result<bool, OutboxError> {
        match event {
            Event::Incoming(Incoming::ConnAck(_)) => {
                // A new session: everything not acknowledged goes again, from the oldest.
                self.cursor = 0;
                self.handed.clear();
                self.in_flight.clear();
                self.connected = true;
                let _ = self.client.try_publish(will_topic, QoS::AtLeastOnce, true, online.to_vec());
                // The status above takes a packet id too; it is not from the outbox.
                self.handed.push_back(0);
                return Ok(true);
            }
            Event::Outgoing(Outgoing::Publish(pkid)) => {
                if let Some(id) = self.handed.pop_front()
                    && id != 0
                {
                    self.in_flight.insert(pkid, id);
                }
            }
            Event::Incoming(Incoming::PubAck(ack)) => {
                if let Some(id) = self.in_flight.remove(&ack.pkid) {
                    self.outbox.remove(id).await?;
                    self.acknowledged += 1;
                }
            }
            _ => {}
        }
        Ok(false)
    }

    fn disconnected(&mut self) {
        self.connected = false;
        self.handed.clear();
        self.in_flight.clear();
        self.cursor = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_addresses() {
        assert_eq!(Broker::parse("mqtt://127.0.0.1:1884").unwrap().port, 1884);
        assert_eq!(Broker::parse("localhost").unwrap().port, 1883);
        assert_eq!(Broker::parse("mqtts://broker.lan").unwrap().port, 8883);
        assert!(matches!(Broker::parse("mqtt://host:99999"), Err(BrokerError::Address(_))));
        assert!(matches!(Broker::parse("mqtt://"), Err(BrokerError::Address(_))));
        assert!(matches!(Broker::parse("http://x/y"), Err(BrokerError::Address(_))));
    }
}
