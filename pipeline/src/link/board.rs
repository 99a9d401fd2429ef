//! A connected board that speaks mote-wire: open the port, handshake, send requests, receive
//! replies and sample batches.
//!
//! A reader thread owns the port's read side: it decodes frames and hands them to the async
//! side through a bounded channel. When the consumer falls behind, the thread stops reading,
//! the serial buffers fill and the board's writes slow down — back-pressure instead of an
//! unbounded queue. Dropping a [`Board`] stops and joins the thread.

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mote_wire::{
    Decoded, FrameDecoder, FrameError, Hello, Message, PROTOCOL_VERSION, SimControl, StartStream,
    StreamStarted, StreamStopped, encode_frame_vec,
};
use serde::Serialize;
use serialport::{ClearBuffer, SerialPort, TTYPort};
use tokio::sync::mpsc;

use super::error::LinkError;
use super::types::{BoardInfo, ModelSlot};

/// Longest frame the host accepts (boards send at most `mote_wire::MAX_FRAME`).
const HOST_MAX_FRAME: usize = 4096;
/// Events buffered between the reader thread and the consumer.
const CHANNEL_DEPTH: usize = 512;
/// How long one read waits, so the thread notices a stop request quickly.
const READ_TIMEOUT: Duration = Duration::from_millis(50);
/// How long a request waits for its reply.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub baud_rate: u32,
    /// Total time to wait for the board to answer `Hello` (sent up to three times).
    pub handshake_timeout: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self { baud_rate: 115_200, handshake_timeout: Duration::from_secs(3) }
    }
}

/// Consecutive samples of one stream, as received.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub stream: u8,
    pub seq: u32,
    pub first_sample: u64,
    pub t0_us: u64,
    pub dt_us: f32,
    /// Interleaved axes.
    pub values: Vec<i16>,
    /// When the host received it.
    pub arrived: Instant,
}

/// A classified window reported by the board.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Inference {
    pub seq: u32,
    pub t_us: u64,
    pub scores: Vec<i8>,
    pub top: u8,
    pub anomaly: Option<f32>,
    pub dsp_us: u32,
    pub nn_us: u32,
    pub dsp_instructions: Option<u32>,
    pub nn_instructions: Option<u32>,
}

/// Part of the window behind an inference.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowPart {
    pub seq: u32,
    pub offset: u32,
    pub total: u32,
    pub values: Vec<i16>,
}

/// Everything but sample batches that a board sends.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    DeviceInfo(BoardInfo),
    Pong {
        nonce: u32,
    },
    Error {
        code: mote_wire::ErrorCode,
        detail: String,
    },
    StreamStarted(StreamStarted),
    StreamStopped(StreamStopped),
    ModelStatus(ModelSlot),
    Ack {
        request: u8,
    },
    Inference(Inference),
    Window(WindowPart),
    /// A host→board message coming back (a loopback cable?).
    Unexpected(&'static str),
}

/// What arrives from a board.
#[derive(Debug)]
pub enum Event {
    Batch(Batch),
    Reply(Reply),
    /// A frame that could not be read (damaged, lost bytes, or a newer protocol).
    BadFrame(FrameError),
    /// The port is gone; no more events follow.
    Closed(String),
}

/// Byte and frame counts of a connection, from the wire.
#[derive(Debug, Default)]
pub struct WireCounters {
    pub bytes: AtomicU64,
    pub frames: AtomicU64,
    pub crc_errors: AtomicU64,
    pub other_frame_errors: AtomicU64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct WireSnapshot {
    pub bytes: u64,
    pub frames: u64,
    pub crc_errors: u64,
    pub other_frame_errors: u64,
}

impl WireCounters {
    pub fn snapshot(&self) -> WireSnapshot {
        WireSnapshot {
            bytes: self.bytes.load(Ordering::Relaxed),
            frames: self.frames.load(Ordering::Relaxed),
            crc_errors: self.crc_errors.load(Ordering::Relaxed),
            other_frame_errors: self.other_frame_errors.load(Ordering::Relaxed),
        }
    }
}

pub struct Board {
    port_name: String,
    info: BoardInfo,
    writer: TTYPort,
    events: mpsc::Receiver<Event>,
    /// Events that arrived while a request waited for its reply.
    pending: VecDeque<Event>,
    stop: Arc<AtomicBool>,
    reader: Option<JoinHandle<()>>,
    counters: Arc<WireCounters>,
    /// Set once `Closed` has been seen.
    closed: Option<String>,
}

impl Board {
    /// Opens `port`, says `Hello` and checks the board's answer.
    pub async fn connect(port: &str, options: &ConnectOptions) -> Result<Board, LinkError> {
        let serial = serialport::new(port, options.baud_rate)
            .timeout(READ_TIMEOUT)
            .open_native()
            .map_err(|error| LinkError::from_open(port, error))?;
        let _ = serial.clear(ClearBuffer::Input);
        let reader_port = serial
            .try_clone_native()
            .map_err(|error| LinkError::Open { port: port.into(), source: error })?;
        let (sender, events) = mpsc::channel(CHANNEL_DEPTH);
        let stop = Arc::new(AtomicBool::new(false));
        let counters = Arc::new(WireCounters::default());
        let first_bytes = Arc::new(std::sync::Mutex::new(Vec::new()));
        let reader = {
            let (stop, counters, first_bytes) = (stop.clone(), counters.clone(), first_bytes.clone());
            std::thread::Builder::new()
                .name(format!("mote-link {port}"))
                .spawn(move || read_loop(reader_port, sender, &stop, &counters, &first_bytes))
                .map_err(|error| LinkError::Write { port: port.into(), source: error })?
        };
        let mut board = Board {
            port_name: port.to_string(),
            info: placeholder_info(),
            writer: serial,
            events,
            pending: VecDeque::new(),
            stop,
            reader: Some(reader),
            counters,
            closed: None,
        };
        board.info = board.handshake(options.handshake_timeout, &first_bytes).await?;
        Ok(board)
    }

    async fn handshake(
        &mut self,
        timeout: Duration,
        first_bytes: &std::sync::Mutex<Vec<u8>>,
    ) -> Result<BoardInfo, LinkError> {
        let started = Instant::now();
        for attempt in 0..3u32 {
            // A zero first: the board drops whatever half frame it holds.
            self.write_bytes(&[0])?;
            self.send(&Message::Hello(Hello { protocol_version: PROTOCOL_VERSION }))?;
            let deadline = started + timeout * (attempt + 1) / 3;
            while let Some(event) = self.next_event_until(deadline).await {
                match event {
                    Event::Reply(Reply::DeviceInfo(info)) if info.protocol_version == PROTOCOL_VERSION => {
                        return Ok(info);
                    }
                    Event::Reply(Reply::DeviceInfo(info)) => return Err(self.mismatch(info.protocol_version)),
                    Event::BadFrame(FrameError::Malformed { device_info_version: Some(version), .. })
                        if version != PROTOCOL_VERSION =>
                    {
                        return Err(self.mismatch(version));
                    }
                    Event::Closed(reason) => {
                        return Err(LinkError::Disconnected { port: self.port_name.clone(), reason });
                    }
                    _ => {}
                }
            }
        }
        let wire = self.counters.snapshot();
        let waited_ms = started.elapsed().as_millis() as u64;
        let port = self.port_name.clone();
        Err(if wire.bytes == 0 {
            LinkError::NoAnswer { port, waited_ms }
        } else if wire.frames == 0 {
            let sample = describe_bytes(&first_bytes.lock().map(|b| b.clone()).unwrap_or_default());
            LinkError::NotMote { port, bytes: wire.bytes, sample }
        } else {
            LinkError::Timeout { port, request: "Hello", waited_ms }
        })
    }

    fn mismatch(&self, board: u16) -> LinkError {
        let advice = if board > PROTOCOL_VERSION {
            "update Mote to a version that speaks the board's protocol"
        } else {
            "flash the board with the firmware of this Mote version (`mote flash`)"
        };
        LinkError::ProtocolMismatch { port: self.port_name.clone(), board, host: PROTOCOL_VERSION, advice }
    }

    pub fn info(&self) -> &BoardInfo {
        &self.info
    }

    pub fn port(&self) -> &str {
        &self.port_name
    }

    pub fn wire(&self) -> WireSnapshot {
        self.counters.snapshot()
    }

    /// Sends one message.
    pub fn send(&mut self, message: &Message<'_>) -> Result<(), LinkError> {
        let frame = encode_frame_vec(message)
            .map_err(|error| LinkError::Invalid(format!("{} cannot be encoded: {error}", message.name())))?;
        self.write_bytes(&frame)
    }

    fn write_bytes(&mut self, mut bytes: &[u8]) -> Result<(), LinkError> {
        if let Some(reason) = &self.closed {
            return Err(LinkError::Disconnected { port: self.port_name.clone(), reason: reason.clone() });
        }
        let deadline = Instant::now() + REPLY_TIMEOUT;
        while !bytes.is_empty() {
            match self.writer.write(bytes) {
                Ok(0) => break,
                Ok(n) => bytes = &bytes[n..],
                Err(error)
                    if matches!(
                        error.kind(),
                        ErrorKind::TimedOut | ErrorKind::Interrupted | ErrorKind::WouldBlock
                    ) && Instant::now() < deadline => {}
                Err(source)
                    if source.kind() == ErrorKind::BrokenPipe || source.raw_os_error() == Some(libc::EIO) =>
                {
                    let reason = source.to_string();
                    self.closed = Some(reason.clone());
                    return Err(LinkError::Disconnected { port: self.port_name.clone(), reason });
                }
                Err(source) => return Err(LinkError::Write { port: self.port_name.clone(), source }),
            }
        }
        Ok(())
    }

    /// The next event, waiting at most until `deadline`; `None` on timeout.
    async fn next_event_until(&mut self, deadline: Instant) -> Option<Event> {
        if let Some(event) = self.pending.pop_front() {
            return Some(event);
        }
        if let Some(reason) = &self.closed {
            return Some(Event::Closed(reason.clone()));
        }
        let wait = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(wait, self.events.recv()).await {
            Ok(Some(event)) => {
                if let Event::Closed(reason) = &event {
                    self.closed = Some(reason.clone());
                }
                Some(event)
            }
            Ok(None) => {
                let reason = "the reader stopped".to_string();
                self.closed = Some(reason.clone());
                Some(Event::Closed(reason))
            }
            Err(_) => None,
        }
    }

    /// Drops every event received so far (e.g. batches of a stream that has been stopped, whose
    /// id a new stream may reuse). A disconnect is kept.
    pub fn discard_pending(&mut self) {
        self.pending.clear();
        while let Ok(event) = self.events.try_recv() {
            if let Event::Closed(reason) = event {
                self.closed = Some(reason);
            }
        }
    }

    /// The next event, waiting at most `timeout`; `None` on timeout.
    pub async fn next_event(&mut self, timeout: Duration) -> Option<Event> {
        self.next_event_until(Instant::now() + timeout).await
    }

    /// Sends `message` and waits for the reply `accept` takes. Events that arrive meanwhile
    /// are kept for [`Board::next_event`]. An `Error` reply becomes [`LinkError::Refused`].
    pub async fn request(
        &mut self,
        message: &Message<'_>,
        accept: impl Fn(&Reply) -> bool,
        timeout: Duration,
    ) -> Result<Reply, LinkError> {
        self.send(message)?;
        self.wait_for(message.name(), accept, timeout).await
    }

    /// Waits for the reply `accept` takes to a request (`request` names it in errors) that was
    /// already sent; like [`Board::request`] otherwise.
    pub async fn wait_for(
        &mut self,
        request: &'static str,
        accept: impl Fn(&Reply) -> bool,
        timeout: Duration,
    ) -> Result<Reply, LinkError> {
        let deadline = Instant::now() + timeout;
        let mut kept = VecDeque::new();
        let outcome = loop {
            let Some(event) = self.next_event_until(deadline).await else {
                break Err(LinkError::Timeout {
                    port: self.port_name.clone(),
                    request,
                    waited_ms: timeout.as_millis() as u64,
                });
            };
            match event {
                Event::Reply(reply) if accept(&reply) => break Ok(reply),
                Event::Reply(Reply::Error { code, detail }) => {
                    break Err(LinkError::Refused { request, code, detail });
                }
                Event::Closed(reason) => {
                    break Err(LinkError::Disconnected { port: self.port_name.clone(), reason });
                }
                other => kept.push_back(other),
            }
        };
        kept.append(&mut self.pending);
        self.pending = kept;
        outcome
    }

    pub async fn ping(&mut self) -> Result<Duration, LinkError> {
        let started = Instant::now();
        let nonce = started.elapsed().subsec_nanos() ^ 0x6d6f_7465;
        self.request(&Message::Ping { nonce }, |reply| *reply == Reply::Pong { nonce }, REPLY_TIMEOUT)
            .await?;
        Ok(started.elapsed())
    }

    pub async fn start_stream(&mut self, sensor: u8, rate_hz: u32) -> Result<StreamStarted, LinkError> {
        let request = Message::StartStream(StartStream { sensor, rate_hz });
        match self
            .request(&request, |r| matches!(r, Reply::StreamStarted(s) if s.sensor == sensor), REPLY_TIMEOUT)
            .await?
        {
            Reply::StreamStarted(started) => Ok(started),
            _ => unreachable!("accepted only StreamStarted"),
        }
    }

    /// Stops a stream. Batches still in flight stay queued for [`Board::next_event`]. `None`
    /// when the board's `StreamStopped` was lost (e.g. to line noise) twice.
    pub async fn stop_stream(&mut self, stream: u8) -> Result<Option<StreamStopped>, LinkError> {
        let accept = |r: &Reply| matches!(r, Reply::StreamStopped(s) if s.stream == stream);
        for _ in 0..2 {
            match self.request(&Message::StopStream { stream }, accept, REPLY_TIMEOUT / 2).await {
                Ok(Reply::StreamStopped(stopped)) => return Ok(Some(stopped)),
                // Our first StopStream was carried out but its answer was lost.
                Err(LinkError::Refused { code: mote_wire::ErrorCode::UNKNOWN_STREAM, .. }) => {
                    return Ok(None);
                }
                Err(LinkError::Timeout { .. }) => continue,
                Err(error) => return Err(error),
                Ok(_) => unreachable!("accepted only StreamStopped"),
            }
        }
        Ok(None)
    }

    /// Tells a virtual board which activity to perform.
    pub async fn set_activity(&mut self, activity: &str) -> Result<(), LinkError> {
        let request = Message::SimControl(SimControl::SetActivity { name: activity });
        let tag = request.tag();
        self.request(&request, |r| *r == Reply::Ack { request: tag }, REPLY_TIMEOUT).await?;
        Ok(())
    }
}

impl Drop for Board {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Closing the channel frees a reader blocked on a full queue.
        self.events.close();
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

fn placeholder_info() -> BoardInfo {
    BoardInfo {
        protocol_version: 0,
        board: String::new(),
        firmware_version: String::new(),
        device_id: String::new(),
        sensors: Vec::new(),
        max_frame: 0,
        model_slots: Vec::new(),
        capabilities: Vec::new(),
    }
}

fn read_loop(
    mut port: TTYPort,
    sender: mpsc::Sender<Event>,
    stop: &AtomicBool,
    counters: &WireCounters,
    first_bytes: &std::sync::Mutex<Vec<u8>>,
) {
    let mut decoder = Box::new(FrameDecoder::<HOST_MAX_FRAME>::new());
    let mut buf = vec![0u8; 8192];
    while !stop.load(Ordering::Relaxed) {
        let n = match port.read(&mut buf) {
            Ok(0) => {
                let _ = sender.blocking_send(Event::Closed("the port closed".into()));
                return;
            }
            Ok(n) => n,
            Err(error)
                if matches!(
                    error.kind(),
                    ErrorKind::TimedOut | ErrorKind::WouldBlock | ErrorKind::Interrupted
                ) =>
            {
                continue;
            }
            Err(error) => {
                let _ = sender.blocking_send(Event::Closed(error.to_string()));
                return;
            }
        };
        if counters.bytes.fetch_add(n as u64, Ordering::Relaxed) < 64
            && let Ok(mut first) = first_bytes.lock()
        {
            let room = 64usize.saturating_sub(first.len());
            first.extend_from_slice(&buf[..n.min(room)]);
        }
        let mut input = &buf[..n];
        while let Decoded::Frame { result, remaining } = decoder.feed(input) {
            input = remaining;
            let event = match result {
                Ok(message) => {
                    counters.frames.fetch_add(1, Ordering::Relaxed);
                    to_event(message)
                }
                Err(error) => {
                    let counter = if matches!(error, FrameError::Crc { .. }) {
                        &counters.crc_errors
                    } else {
                        &counters.other_frame_errors
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                    Event::BadFrame(error)
                }
            };
            if sender.blocking_send(event).is_err() {
                return;
            }
        }
    }
}

fn to_event(message: Message<'_>) -> Event {
    let reply = match message {
        Message::SampleBatch(batch) => {
            return Event::Batch(Batch {
                stream: batch.stream,
                seq: batch.seq,
                first_sample: batch.first_sample,
                t0_us: batch.t0_us,
                dt_us: batch.dt_us,
                values: batch.values.iter().collect(),
                arrived: Instant::now(),
            });
        }
        Message::DeviceInfo(info) => Reply::DeviceInfo(BoardInfo::from(&info)),
        Message::Pong { nonce } => Reply::Pong { nonce },
        Message::Error(error) => Reply::Error { code: error.code, detail: error.detail.to_string() },
        Message::StreamStarted(started) => Reply::StreamStarted(started),
        Message::StreamStopped(stopped) => Reply::StreamStopped(stopped),
        Message::ModelStatus(status) => Reply::ModelStatus(status.slot.into()),
        Message::Ack { request } => Reply::Ack { request },
        Message::InferenceResult(result) => Reply::Inference(Inference {
            seq: result.seq,
            t_us: result.t_us,
            scores: result.scores.iter().map(|&b| b as i8).collect(),
            top: result.top,
            anomaly: result.anomaly,
            dsp_us: result.dsp_us,
            nn_us: result.nn_us,
            dsp_instructions: result.dsp_instructions,
            nn_instructions: result.nn_instructions,
        }),
        Message::InferenceWindow(window) => Reply::Window(WindowPart {
            seq: window.seq,
            offset: window.offset,
            total: window.total,
            values: window.values.iter().collect(),
        }),
        other => Reply::Unexpected(other.name()),
    };
    Event::Reply(reply)
}

/// What a stream of unknown bytes looks like, for an error message.
fn describe_bytes(bytes: &[u8]) -> String {
    let printable = bytes.iter().filter(|b| b.is_ascii_graphic() || b.is_ascii_whitespace()).count();
    if !bytes.is_empty() && printable * 10 >= bytes.len() * 9 {
        let text: String = String::from_utf8_lossy(bytes).chars().take(40).collect();
        format!("it looks like text: {text:?}")
    } else {
        let hex: Vec<String> = bytes.iter().take(16).map(|b| format!("{b:02x}")).collect();
        format!("first bytes: {}", hex.join(" "))
    }
}
