//! The agent's request loop: read frames, answer them, pump the running streams.

use mote_wire::{
    CRC_LEN, Capabilities, Decoded, DeviceInfo, ErrorCode, ErrorReply, FrameDecoder, FrameError, MAX_FRAME,
    MAX_PAYLOAD, Message, ModelStatus, SlotInfo, StartStream, StreamStarted, StreamStopped, encode_frame,
};

use crate::stream::{SampleBuf, Stream};
use crate::upload::Upload;
use crate::{Clock, Link, ModelStore, Refusal, Sensors};

/// Streams that can run at once.
pub const MAX_STREAMS: usize = 2;

/// Reads per `poll` at most, so streaming keeps its schedule while a host floods us.
const MAX_READS_PER_POLL: usize = 8;

/// The agent. `'b` is the lifetime of the board's description.
pub struct Agent<'b, L, S, C, M> {
    rx: Rx,
    core: Core<'b, L, S, C, M>,
}

struct Rx {
    decoder: FrameDecoder<MAX_FRAME>,
    buf: [u8; 128],
}

struct Tx {
    scratch: [u8; MAX_PAYLOAD + CRC_LEN],
    frame: [u8; MAX_FRAME],
}

impl Tx {
    fn send(&mut self, link: &mut impl Link, message: &Message<'_>) {
        // Messages the agent builds always fit; a failure here means a lost frame, which the
        // host sees as a sequence gap or a timeout.
        if let Ok(len) = encode_frame(message, &mut self.scratch, &mut self.frame) {
            let _ = link.write(&self.frame[..len]);
        }
    }
}

struct Core<'b, L, S, C, M> {
    info: DeviceInfo<'b>,
    link: L,
    sensors: S,
    clock: C,
    store: M,
    validate_model: fn(&[u8]) -> Result<(), &'static str>,
    tx: Tx,
    streams: [Option<Stream>; MAX_STREAMS],
    upload: Option<Upload>,
}

impl<'b, L: Link, S: Sensors, C: Clock, M: ModelStore> Agent<'b, L, S, C, M> {
    /// A new agent for the board `info` describes. `info.model_slots` is filled from `store`
    /// and `info.max_frame` from the protocol; `STREAM` (and `MODEL_UPLOAD` when the store has
    /// slots) are added to the capabilities.
    pub fn new(mut info: DeviceInfo<'b>, link: L, sensors: S, clock: C, store: M) -> Self {
        info.max_frame = MAX_FRAME as u16 - 1;
        info.capabilities.0 |= Capabilities::STREAM;
        if store.slot_count() > 0 {
            info.capabilities.0 |= Capabilities::MODEL_UPLOAD;
        }
        Self {
            rx: Rx { decoder: FrameDecoder::new(), buf: [0; 128] },
            core: Core {
                info,
                link,
                sensors,
                clock,
                store,
                validate_model: |_| Ok(()),
                tx: Tx { scratch: [0; MAX_PAYLOAD + CRC_LEN], frame: [0; MAX_FRAME] },
                streams: [const { None }; MAX_STREAMS],
                upload: None,
            },
        }
    }

    /// Sets the check a committed model must pass besides size and CRC (the runtime's blob
    /// validation on boards that run models).
    pub fn with_model_validation(mut self, validate: fn(&[u8]) -> Result<(), &'static str>) -> Self {
        self.core.validate_model = validate;
        self
    }

    /// Does all work that is due: answers what has arrived, sends the samples that are due.
    /// Call it often (every millisecond or so, or on every UART/timer interrupt).
    pub fn poll(&mut self) {
        let Self { rx, core } = self;
        for _ in 0..MAX_READS_PER_POLL {
            let n = core.link.read(&mut rx.buf);
            if n == 0 {
                break;
            }
            let mut input = &rx.buf[..n.min(rx.buf.len())];
            while let Decoded::Frame { result, remaining } = rx.decoder.feed(input) {
                core.handle(result);
                input = remaining;
            }
        }
        core.pump_streams();
    }

    /// The earliest board time at which [`Agent::poll`] has streaming work to do, if any
    /// stream runs (lets a board or the simulator sleep until then).
    pub fn next_deadline_us(&self) -> Option<u64> {
        self.core.streams.iter().flatten().map(|stream| stream.sample_time_us(stream.next_sample)).min()
    }

    pub fn sensors_mut(&mut self) -> &mut S {
        &mut self.core.sensors
    }

    pub fn store(&self) -> &M {
        &self.core.store
    }

    pub fn link_mut(&mut self) -> &mut L {
        &mut self.core.link
    }
}

impl<'b, L: Link, S: Sensors, C: Clock, M: ModelStore> Core<'b, L, S, C, M> {
    fn handle(&mut self, request: Result<Message<'_>, FrameError>) {
        let message = match request {
            Ok(message) => message,
            Err(error) => return self.refuse(Refusal::new(ErrorCode::MALFORMED, frame_error_detail(&error))),
        };
        let outcome = match message {
            Message::Hello(_) => {
                self.reset();
                let info = self.device_info();
                self.tx.send(&mut self.link, &Message::DeviceInfo(info));
                Ok(())
            }
            Message::Ping { nonce } => {
                self.tx.send(&mut self.link, &Message::Pong { nonce });
                Ok(())
            }
            Message::StartStream(request) => self.start_stream(request),
            Message::StopStream { stream } => self.stop_stream(stream),
            Message::ModelBegin(request) => Upload::begin(&mut self.store, &request).map(|upload| {
                self.upload = Some(upload);
                self.send_slot(upload.slot);
            }),
            Message::ModelChunk(chunk) => match self.upload.as_mut() {
                None => Err(Refusal::new(mote_wire::ErrorCode::NO_UPLOAD, "send ModelBegin first")),
                Some(upload) => {
                    let result = upload.chunk(&mut self.store, chunk.slot, chunk.offset, chunk.bytes);
                    if result.is_ok() {
                        self.send_slot(chunk.slot);
                    }
                    result
                }
            },
            Message::ModelCommit { slot } => match self.upload.take() {
                Some(upload) if upload.slot == slot => {
                    upload.commit(&mut self.store, self.validate_model).map(|()| self.send_slot(slot))
                }
                other => {
                    self.upload = other;
                    Err(Refusal::new(ErrorCode::NO_UPLOAD, "no upload in progress for that slot"))
                }
            },
            Message::ModelQuery => {
                for slot in 0..self.store.slot_count() {
                    self.send_slot(slot);
                }
                Ok(())
            }
            Message::SimControl(ref command) => {
                if self.info.capabilities.has(Capabilities::SIM_CONTROL) {
                    let tag = message.tag();
                    self.sensors.sim_control(command).map(|()| self.ack(tag))
                } else {
                    Err(Refusal::new(ErrorCode::UNSUPPORTED, "not a virtual board"))
                }
            }
            Message::StartInference(_) | Message::StopInference => {
                Err(Refusal::new(ErrorCode::UNSUPPORTED, "this firmware does not run models yet"))
            }
            Message::DeviceInfo(_)
            | Message::Pong { .. }
            | Message::Error(_)
            | Message::StreamStarted(_)
            | Message::SampleBatch(_)
            | Message::StreamStopped(_)
            | Message::ModelStatus(_)
            | Message::InferenceResult(_)
            | Message::InferenceWindow(_)
            | Message::Ack { .. } => {
                Err(Refusal::new(ErrorCode::UNEXPECTED, "a board-to-host message sent to the board"))
            }
        };
        if let Err(refusal) = outcome {
            self.refuse(refusal);
        }
    }

    fn ack(&mut self, request_tag: u8) {
        self.tx.send(&mut self.link, &Message::Ack { request: request_tag });
    }

    fn refuse(&mut self, refusal: Refusal) {
        let reply = Message::Error(ErrorReply { code: refusal.code, detail: refusal.detail });
        self.tx.send(&mut self.link, &reply);
    }

    /// A new host: stop everything the last one started.
    fn reset(&mut self) {
        for slot in &mut self.streams {
            if let Some(stream) = slot.take() {
                self.sensors.stop(stream.sensor);
            }
        }
        self.upload = None;
    }

    fn device_info(&self) -> DeviceInfo<'b> {
        let mut info = self.info.clone();
        info.model_slots.clear();
        for slot in 0..self.store.slot_count() {
            let _ = info.model_slots.push(self.slot_info(slot));
        }
        info
    }

    fn slot_info(&self, slot: u8) -> SlotInfo {
        let state = match self.upload {
            Some(upload) if upload.slot == slot => upload.state(),
            _ => self.store.state(slot),
        };
        SlotInfo {
            slot,
            capacity: self.store.capacity(slot),
            state,
            active: self.store.active() == Some(slot),
        }
    }

    fn send_slot(&mut self, slot: u8) {
        let status = Message::ModelStatus(ModelStatus { slot: self.slot_info(slot) });
        self.tx.send(&mut self.link, &status);
    }

    fn start_stream(&mut self, request: StartStream) -> Result<(), Refusal> {
        let sensor = self
            .info
            .sensors
            .get(usize::from(request.sensor))
            .ok_or(Refusal::new(ErrorCode::UNKNOWN_SENSOR, "no sensor with that index"))?;
        if !sensor.rates_hz.contains(&request.rate_hz) {
            return Err(Refusal::new(ErrorCode::UNSUPPORTED_RATE, "rate not in the sensor's rates_hz"));
        }
        let n_axes = sensor.axes.len() as u8;
        if self.streams.iter().flatten().any(|stream| stream.sensor == request.sensor) {
            return Err(Refusal::new(ErrorCode::BUSY, "that sensor is already streaming"));
        }
        let free = self
            .streams
            .iter()
            .position(Option::is_none)
            .ok_or(Refusal::new(ErrorCode::BUSY, "all streams are in use"))?;
        self.sensors.start(request.sensor, request.rate_hz)?;
        let start_us = self.clock.now_us();
        self.streams[free] = Some(Stream::new(request.sensor, n_axes, request.rate_hz, start_us));
        let started = StreamStarted {
            stream: free as u8,
            sensor: request.sensor,
            rate_hz: request.rate_hz,
            n_axes,
            t0_us: start_us,
        };
        self.tx.send(&mut self.link, &Message::StreamStarted(started));
        Ok(())
    }

    fn stop_stream(&mut self, stream_id: u8) -> Result<(), Refusal> {
        let mut stream = self
            .streams
            .get_mut(usize::from(stream_id))
            .and_then(Option::take)
            .ok_or(Refusal::new(ErrorCode::UNKNOWN_STREAM, "no running stream with that id"))?;
        if !stream.is_empty() {
            self.tx.send(&mut self.link, &Message::SampleBatch(stream.batch_message(stream_id)));
            stream.clear_batch();
        }
        self.sensors.stop(stream.sensor);
        let stopped =
            StreamStopped { stream: stream_id, batches: stream.batches, samples: stream.next_sample };
        self.tx.send(&mut self.link, &Message::StreamStopped(stopped));
        Ok(())
    }

    fn pump_streams(&mut self) {
        let now_us = self.clock.now_us();
        let mut sample: SampleBuf = [0; mote_wire::MAX_AXES];
        for (stream_id, slot) in self.streams.iter_mut().enumerate() {
            let Some(stream) = slot.as_mut() else { continue };
            let n_axes = usize::from(stream.n_axes);
            let due = stream.due_samples(now_us);
            while stream.next_sample < due {
                let t_us = stream.sample_time_us(stream.next_sample);
                self.sensors.sample(stream.sensor, t_us, &mut sample[..n_axes]);
                stream.push(&sample[..n_axes]);
                if stream.is_full() {
                    self.tx
                        .send(&mut self.link, &Message::SampleBatch(stream.batch_message(stream_id as u8)));
                    stream.clear_batch();
                }
            }
            if stream.is_stale(now_us) {
                self.tx.send(&mut self.link, &Message::SampleBatch(stream.batch_message(stream_id as u8)));
                stream.clear_batch();
            }
        }
    }
}

fn frame_error_detail(error: &FrameError) -> &'static str {
    match error {
        FrameError::Oversized { .. } => "frame too long",
        FrameError::Cobs => "frame is not valid COBS",
        FrameError::Truncated { .. } => "frame too short",
        FrameError::Crc { .. } => "frame CRC mismatch",
        FrameError::Malformed { .. } => "message not understood",
        FrameError::TrailingBytes { .. } => "bytes after the message",
        _ => "bad frame",
    }
}
