//! The agent's request loop: read frames, answer them, pump the running streams.

use mote_dsp::FeatureBlock;
use mote_runtime::Model;
use mote_wire::{
    CRC_LEN, Capabilities, Decoded, DeviceInfo, ErrorCode, ErrorReply, FrameDecoder, FrameError, I16Values,
    InferenceResult, InferenceWindow, MAX_BATCH_BYTES, MAX_FRAME, MAX_PAYLOAD, Message, ModelStatus,
    SlotInfo, SlotState, StartInference, StartStream, StreamStarted, StreamStopped, encode_frame,
};

use crate::inference::{Inference, InferenceBuffers, NoInference};
use crate::stream::{SampleBuf, Stream};
use crate::upload::Upload;
use crate::{Clock, Link, ModelStore, Refusal, Sensors};

/// Streams that can run at once.
pub const MAX_STREAMS: usize = 2;

/// What a board answers to a message only a board sends.
const BOARD_TO_HOST: &str = "a board-to-host message sent to the board";

/// Reads per `poll` at most, so streaming keeps its schedule while a host floods us.
const MAX_READS_PER_POLL: usize = 8;

/// The agent. `'b` is the lifetime of the board's description; `B` holds inference memory
/// ([`NoInference`] until [`Agent::with_inference`]).
pub struct Agent<'b, L, S, C, M, B = NoInference> {
    rx: Rx,
    core: Core<'b, L, S, C, M, B>,
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

struct Core<'b, L, S, C, M, B> {
    info: DeviceInfo<'b>,
    link: L,
    sensors: S,
    clock: C,
    store: M,
    validate_model: fn(&[u8]) -> Result<(), &'static str>,
    tx: Tx,
    streams: [Option<Stream>; MAX_STREAMS],
    upload: Option<Upload>,
    buffers: B,
    inference: Option<Inference>,
}

impl<'b, L: Link, S: Sensors, C: Clock, M: ModelStore> Agent<'b, L, S, C, M, NoInference> {
    /// A new agent for the board `info` describes. `info.model_slots` is filled from `store`
    /// and `info.max_frame` from the protocol; `STREAM` (and `MODEL_UPLOAD` when the store
    /// accepts uploads) are added to the capabilities.
    pub fn new(mut info: DeviceInfo<'b>, link: L, sensors: S, clock: C, store: M) -> Self {
        info.max_frame = MAX_FRAME as u16 - 1;
        info.capabilities.0 |= Capabilities::STREAM;
        if store.accepts_uploads() {
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
                buffers: NoInference,
                inference: None,
            },
        }
    }

    /// Lets the agent run models: `buffers` is its inference memory. Adds the `INFERENCE` and
    /// `WINDOW_ECHO` capabilities, and committed models must pass the runtime's blob check.
    pub fn with_inference<B: InferenceBuffers>(self, buffers: B) -> Agent<'b, L, S, C, M, B> {
        let Core { mut info, link, sensors, clock, store, tx, streams, upload, .. } = self.core;
        info.capabilities.0 |= Capabilities::INFERENCE | Capabilities::WINDOW_ECHO;
        Agent {
            rx: self.rx,
            core: Core {
                info,
                link,
                sensors,
                clock,
                store,
                validate_model: mote_runtime::validate,
                tx,
                streams,
                upload,
                buffers,
                inference: None,
            },
        }
    }
}

impl<'b, L: Link, S: Sensors, C: Clock, M: ModelStore, B: InferenceBuffers> Agent<'b, L, S, C, M, B> {
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
            while let Decoded::Frame { result, remaining } = rx.decoder.feed_requests(input) {
                core.handle(result);
                input = remaining;
            }
        }
        core.pump_streams();
    }

    /// The earliest board time at which [`Agent::poll`] has streaming work to do, if any
    /// stream runs (lets a board or the simulator sleep until then).
    pub fn next_deadline_us(&self) -> Option<u64> {
        let streams =
            self.core.streams.iter().flatten().map(|stream| stream.sample_time_us(stream.next_sample));
        let inference = self
            .core
            .inference
            .as_ref()
            .filter(|inference| !self.core.streaming(inference.sensor))
            .map(|inference| inference.sample_time_us(inference.next_sample));
        streams.chain(inference).min()
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

impl<'b, L: Link, S: Sensors, C: Clock, M: ModelStore, B: InferenceBuffers> Core<'b, L, S, C, M, B> {
    fn handle(&mut self, request: Result<Message<'_>, FrameError>) {
        let message = match request {
            Ok(message) => message,
            Err(FrameError::WrongDirection { .. }) => {
                return self.refuse(Refusal::new(ErrorCode::UNEXPECTED, BOARD_TO_HOST));
            }
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
                    upload.commit(&mut self.store, self.validate_model).map(|()| {
                        self.send_slot(slot);
                        self.restart_inference();
                    })
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
            Message::StartInference(request) => {
                self.start_inference(request).map(|()| self.ack(message.tag()))
            }
            Message::StopInference => self.stop_inference().map(|()| self.ack(message.tag())),
            Message::DeviceInfo(_)
            | Message::Pong { .. }
            | Message::Error(_)
            | Message::StreamStarted(_)
            | Message::SampleBatch(_)
            | Message::StreamStopped(_)
            | Message::ModelStatus(_)
            | Message::InferenceResult(_)
            | Message::InferenceWindow(_)
            // The request decoder reports these as `WrongDirection` (above).
            | Message::Ack { .. } => Err(Refusal::new(ErrorCode::UNEXPECTED, BOARD_TO_HOST)),
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
        let _ = self.stop_inference();
        for slot in &mut self.streams {
            if let Some(stream) = slot.take() {
                self.sensors.stop(stream.sensor);
            }
        }
        self.upload = None;
    }

    /// Whether a stream samples `sensor`.
    fn streaming(&self, sensor: u8) -> bool {
        self.streams.iter().flatten().any(|stream| stream.sensor == sensor)
    }

    fn start_inference(&mut self, request: StartInference) -> Result<(), Refusal> {
        if !self.info.capabilities.has(Capabilities::INFERENCE) {
            return Err(Refusal::new(ErrorCode::UNSUPPORTED, "this board does not run models"));
        }
        if self.inference.is_some() {
            return Err(Refusal::new(ErrorCode::BUSY, "inference is already running; stop it first"));
        }
        let slot =
            self.store.active().ok_or(Refusal::new(ErrorCode::NO_MODEL, "no model has been uploaded"))?;
        let SlotState::Valid { size, .. } = self.store.state(slot) else {
            return Err(Refusal::new(ErrorCode::NO_MODEL, "the active slot holds no valid model"));
        };
        let blob =
            self.store.read(slot, size).ok_or(Refusal::new(ErrorCode::STORAGE, "model slot unreadable"))?;
        let model =
            Model::parse(blob).map_err(|error| Refusal::new(ErrorCode::MODEL_INVALID, error.detail()))?;
        let memory = self.buffers.memory();
        let mut inference = Inference::new(&model, slot, size, &self.info, &memory, request.echo_windows)?;
        if let Some(stream) = self.streams.iter().flatten().find(|stream| stream.sensor == inference.sensor) {
            if stream.rate_hz != inference.rate_hz {
                return Err(Refusal::new(
                    ErrorCode::BUSY,
                    "the sensor is streaming at another rate than the model's",
                ));
            }
        } else {
            self.sensors.start(inference.sensor, inference.rate_hz)?;
        }
        inference.start_us = self.clock.now_us();
        self.inference = Some(inference);
        Ok(())
    }

    fn stop_inference(&mut self) -> Result<(), Refusal> {
        let inference = self
            .inference
            .take()
            .ok_or(Refusal::new(ErrorCode::UNKNOWN_STREAM, "inference is not running"))?;
        if !self.streaming(inference.sensor) {
            self.sensors.stop(inference.sensor);
        }
        Ok(())
    }

    /// A new model became active: keep classifying, with the new model.
    fn restart_inference(&mut self) {
        if let Some(running) = self.inference.as_ref() {
            let echo_windows = running.echo_windows;
            let _ = self.stop_inference();
            if let Err(refusal) = self.start_inference(StartInference { echo_windows }) {
                self.refuse(refusal);
            }
        }
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
        if self.streaming(request.sensor) {
            return Err(Refusal::new(ErrorCode::BUSY, "that sensor is already streaming"));
        }
        let shared = self.inference.as_ref().filter(|inference| inference.sensor == request.sensor);
        if shared.is_some_and(|inference| inference.rate_hz != request.rate_hz) {
            return Err(Refusal::new(ErrorCode::BUSY, "the sensor is running inference at another rate"));
        }
        let free = self
            .streams
            .iter()
            .position(Option::is_none)
            .ok_or(Refusal::new(ErrorCode::BUSY, "all streams are in use"))?;
        if shared.is_none() {
            self.sensors.start(request.sensor, request.rate_hz)?;
        }
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
        match self.inference.as_mut().filter(|inference| inference.sensor == stream.sensor) {
            // Inference keeps the sensor and samples it on its own schedule again.
            Some(inference) => {
                inference.start_us = self.clock.now_us();
                inference.next_sample = 0;
            }
            None => self.sensors.stop(stream.sensor),
        }
        let stopped =
            StreamStopped { stream: stream_id, batches: stream.batches, samples: stream.next_sample };
        self.tx.send(&mut self.link, &Message::StreamStopped(stopped));
        Ok(())
    }

    fn pump_streams(&mut self) {
        let now_us = self.clock.now_us();
        let mut sample: SampleBuf = [0; mote_wire::MAX_AXES];
        for stream_id in 0..MAX_STREAMS {
            let Some(stream) = self.streams[stream_id].as_mut() else { continue };
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
                if let Some(inference) = self.inference.as_mut().filter(|i| i.sensor == stream.sensor) {
                    let window_ready = inference.push(&sample[..n_axes], self.buffers.memory().window);
                    if window_ready {
                        let outcome = infer(
                            &self.store,
                            &mut self.buffers,
                            inference,
                            &mut self.tx,
                            &mut self.link,
                            &mut self.clock,
                            t_us,
                        );
                        if let Err(refusal) = outcome {
                            // The stream keeps the sensor; only inference stops.
                            self.inference = None;
                            let reply = ErrorReply { code: refusal.code, detail: refusal.detail };
                            self.tx.send(&mut self.link, &Message::Error(reply));
                        }
                    }
                }
            }
            if stream.is_stale(now_us) {
                self.tx.send(&mut self.link, &Message::SampleBatch(stream.batch_message(stream_id as u8)));
                stream.clear_batch();
            }
        }
        self.pump_inference(now_us);
    }

    /// Samples for inference while no stream samples its sensor.
    fn pump_inference(&mut self, now_us: u64) {
        let Some(sensor) = self.inference.as_ref().map(|inference| inference.sensor) else { return };
        if self.streaming(sensor) {
            return;
        }
        let n_axes = self.info.sensors.get(usize::from(sensor)).map_or(0, |s| s.axes.len());
        let mut sample: SampleBuf = [0; mote_wire::MAX_AXES];
        while let Some(inference) = self.inference.as_mut() {
            if inference.next_sample >= inference.due_samples(now_us) {
                break;
            }
            let t_us = inference.sample_time_us(inference.next_sample);
            inference.next_sample += 1;
            self.sensors.sample(sensor, t_us, &mut sample[..n_axes]);
            if inference.push(&sample[..n_axes], self.buffers.memory().window) {
                let outcome = infer(
                    &self.store,
                    &mut self.buffers,
                    inference,
                    &mut self.tx,
                    &mut self.link,
                    &mut self.clock,
                    t_us,
                );
                if let Err(refusal) = outcome {
                    let _ = self.stop_inference();
                    self.refuse(refusal);
                }
            }
        }
    }
}

/// Classifies the full window in `buffers`, sends the result (and the window, when asked), and
/// slides the window by the stride.
fn infer(
    store: &impl ModelStore,
    buffers: &mut impl InferenceBuffers,
    inference: &mut Inference,
    tx: &mut Tx,
    link: &mut impl Link,
    clock: &mut impl Clock,
    t_us: u64,
) -> Result<(), Refusal> {
    let blob = store
        .read(inference.slot, inference.size)
        .ok_or(Refusal::new(ErrorCode::STORAGE, "model slot unreadable"))?;
    let model =
        Model::parse_trusted(blob).map_err(|error| Refusal::new(ErrorCode::MODEL_INVALID, error.detail()))?;
    let memory = buffers.memory();
    let n_axes = inference.n_axes();
    let window_len = inference.window_samples * n_axes;
    let n_features = model.n_features();
    let dsp_error = Refusal::new(ErrorCode::MODEL_INVALID, "the model's DSP block failed on this window");
    let (window, features) = (
        memory.window.get(..window_len).ok_or(dsp_error)?,
        memory.features.get_mut(..n_features).ok_or(dsp_error)?,
    );

    // Each instruction count is read right next to the work it measures, with the clock read
    // outside: the clock's own arithmetic is not counted as DSP or inference.
    let started_us = clock.now_us();
    let started_instructions = clock.instructions();
    model
        .dsp()
        .compute(window, n_axes, &inference.scales, model.rate_hz(), features, memory.scratch)
        .map_err(|_| dsp_error)?;
    let dsp_done_instructions = clock.instructions();
    let dsp_done_us = clock.now_us();
    let nn_started_instructions = clock.instructions();
    let anomaly = model.anomaly_score(features);
    let (scores, top): (&[i8], usize) = if model.has_classifier() {
        let classified = match memory.kernels {
            Some(kernels) => model.classify_with(features, memory.arena, kernels),
            None => model.classify(features, memory.arena),
        };
        let result = classified.map_err(|error| Refusal::new(ErrorCode::MODEL_INVALID, error.detail()))?;
        (result.scores, result.top)
    } else {
        (&[], 0)
    };
    let done_instructions = clock.instructions();
    let done_us = clock.now_us();
    let elapsed = |from: u64, to: u64| u32::try_from(to.saturating_sub(from)).unwrap_or(u32::MAX);
    let counted = |from: Option<u64>, to: Option<u64>| Some(elapsed(from?, to?));
    let result = InferenceResult {
        seq: inference.seq,
        t_us,
        scores: bytemuck::cast_slice(scores),
        top: top as u8,
        anomaly,
        dsp_us: elapsed(started_us, dsp_done_us),
        nn_us: elapsed(dsp_done_us, done_us),
        dsp_instructions: counted(started_instructions, dsp_done_instructions),
        nn_instructions: counted(nn_started_instructions, done_instructions),
    };
    tx.send(link, &Message::InferenceResult(result));
    if inference.echo_windows {
        let window = &memory.window[..window_len];
        let per_message = MAX_BATCH_BYTES / 2;
        let mut bytes = [0u8; MAX_BATCH_BYTES];
        for (chunk_idx, chunk) in window.chunks(per_message).enumerate() {
            for (pair, value) in bytes.chunks_exact_mut(2).zip(chunk) {
                pair.copy_from_slice(&value.to_le_bytes());
            }
            let values = I16Values::from_le_bytes(&bytes[..2 * chunk.len()]).unwrap_or(I16Values::empty());
            let message = InferenceWindow {
                seq: inference.seq,
                offset: (chunk_idx * per_message) as u32,
                total: window_len as u32,
                values,
            };
            tx.send(link, &Message::InferenceWindow(message));
        }
    }
    inference.advance(memory.window);
    Ok(())
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
