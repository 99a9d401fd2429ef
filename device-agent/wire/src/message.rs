//! Every message that crosses the wire, in both directions.
//!
//! Borrowed (`&'a str`, `&'a [u8]`, [`I16Values`]) so a board decodes in place with no heap;
//! bounded lists are `heapless::Vec`s whose capacities are part of the protocol.

use heapless::Vec;
use serde::{Deserialize, Serialize};

use crate::I16Values;

/// Most sensors a board can describe in `DeviceInfo`.
pub const MAX_SENSORS: usize = 4;
/// Most axes one sensor can have.
pub const MAX_AXES: usize = 8;
/// Most sampling rates one sensor can list.
pub const MAX_RATES: usize = 12;
/// Most model slots a board can have (A/B = 2).
pub const MAX_SLOTS: usize = 2;
/// Most bytes of sample values in one `SampleBatch` (240 `i16` values).
pub const MAX_BATCH_BYTES: usize = 480;
/// Most bytes of model in one `ModelChunk`.
pub const MAX_CHUNK_BYTES: usize = 256;
/// Most classes an `InferenceResult` can score.
pub const MAX_CLASSES: usize = 32;

/// One message. The order of the variants is the wire format: append, never reorder.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub enum Message<'a> {
    /// host → board: who are you? (tag 0, frozen)
    Hello(Hello),
    /// board → host: the answer to `Hello`. (tag 1, frozen)
    DeviceInfo(#[serde(borrow)] DeviceInfo<'a>),
    /// host → board: are you alive?
    Ping { nonce: u32 },
    /// board → host: the answer to `Ping`, same nonce.
    Pong { nonce: u32 },
    /// board → host: a request could not be carried out.
    Error(#[serde(borrow)] ErrorReply<'a>),
    /// host → board: start sampling a sensor.
    StartStream(StartStream),
    /// board → host: a stream is running.
    StreamStarted(StreamStarted),
    /// board → host: consecutive samples of one stream.
    SampleBatch(#[serde(borrow)] SampleBatch<'a>),
    /// host → board: stop a stream.
    StopStream { stream: u8 },
    /// board → host: a stream has stopped; totals let the host count what it lost.
    StreamStopped(StreamStopped),
    /// host → board: a model upload into a slot begins.
    ModelBegin(ModelBegin),
    /// host → board: part of the model being uploaded.
    ModelChunk(#[serde(borrow)] ModelChunk<'a>),
    /// host → board: the upload is complete; validate it and make the slot active.
    ModelCommit { slot: u8 },
    /// board → host: the state of a slot (answers `ModelBegin`, `ModelChunk`, `ModelCommit`,
    /// `ModelQuery`).
    ModelStatus(ModelStatus),
    /// host → board: classify the sensor stream continuously with the active model.
    StartInference(StartInference),
    /// board → host: one classified window.
    InferenceResult(#[serde(borrow)] InferenceResult<'a>),
    /// host → board: stop classifying.
    StopInference,
    /// board → host: part of the window behind an `InferenceResult`, when asked for.
    InferenceWindow(#[serde(borrow)] InferenceWindow<'a>),
    /// host → board: report every slot.
    ModelQuery,
    /// host → board: a request that succeeded with nothing else to say is acknowledged with
    /// `Ack { request }`, `request` being the tag of the request.
    Ack { request: u8 },
    /// host → virtual board only (capability `SIM_CONTROL`).
    SimControl(#[serde(borrow)] SimControl<'a>),
}

impl Message<'_> {
    /// The variant's name, for logs and errors.
    pub fn name(&self) -> &'static str {
        match self {
            Message::Hello(_) => "Hello",
            Message::DeviceInfo(_) => "DeviceInfo",
            Message::Ping { .. } => "Ping",
            Message::Pong { .. } => "Pong",
            Message::Error(_) => "Error",
            Message::StartStream(_) => "StartStream",
            Message::StreamStarted(_) => "StreamStarted",
            Message::SampleBatch(_) => "SampleBatch",
            Message::StopStream { .. } => "StopStream",
            Message::StreamStopped(_) => "StreamStopped",
            Message::ModelBegin(_) => "ModelBegin",
            Message::ModelChunk(_) => "ModelChunk",
            Message::ModelCommit { .. } => "ModelCommit",
            Message::ModelStatus(_) => "ModelStatus",
            Message::StartInference(_) => "StartInference",
            Message::InferenceResult(_) => "InferenceResult",
            Message::StopInference => "StopInference",
            Message::InferenceWindow(_) => "InferenceWindow",
            Message::ModelQuery => "ModelQuery",
            Message::Ack { .. } => "Ack",
            Message::SimControl(_) => "SimControl",
        }
    }

    /// The variant's tag on the wire (its first byte).
    pub fn tag(&self) -> u8 {
        match self {
            Message::Hello(_) => 0,
            Message::DeviceInfo(_) => 1,
            Message::Ping { .. } => 2,
            Message::Pong { .. } => 3,
            Message::Error(_) => 4,
            Message::StartStream(_) => 5,
            Message::StreamStarted(_) => 6,
            Message::SampleBatch(_) => 7,
            Message::StopStream { .. } => 8,
            Message::StreamStopped(_) => 9,
            Message::ModelBegin(_) => 10,
            Message::ModelChunk(_) => 11,
            Message::ModelCommit { .. } => 12,
            Message::ModelStatus(_) => 13,
            Message::StartInference(_) => 14,
            Message::InferenceResult(_) => 15,
            Message::StopInference => 16,
            Message::InferenceWindow(_) => 17,
            Message::ModelQuery => 18,
            Message::Ack { .. } => 19,
            Message::SimControl(_) => 20,
        }
    }
}

#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hello {
    pub protocol_version: u16,
}

/// What a board is and what it can do.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct DeviceInfo<'a> {
    /// Must stay the first field: a host that cannot read the rest still reads this.
    pub protocol_version: u16,
    /// Board kind, e.g. `virtual`, `qemu-mps2-an386`, `microbit-v2`.
    pub board: &'a str,
    pub firmware_version: &'a str,
    /// Stable per physical board (e.g. the chip's unique id).
    pub device_id: &'a str,
    #[serde(borrow)]
    pub sensors: Vec<SensorInfo<'a>, MAX_SENSORS>,
    /// Longest frame (encoded, without the delimiter) the board accepts.
    pub max_frame: u16,
    pub model_slots: Vec<SlotInfo, MAX_SLOTS>,
    pub capabilities: Capabilities,
}

/// One sensor: its axes and the rates it samples at. Axes carry their own unit and scale
/// because one sensor may mix quantities (a 6-axis IMU reads m/s² and °/s in one burst).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct SensorInfo<'a> {
    pub name: &'a str,
    #[serde(borrow)]
    pub axes: Vec<AxisInfo<'a>, MAX_AXES>,
    pub rates_hz: Vec<u32, MAX_RATES>,
}

/// One axis of a sensor: `physical value = raw i16 × scale`, in `unit`.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq)]
pub struct AxisInfo<'a> {
    pub name: &'a str,
    pub unit: &'a str,
    pub scale: f32,
}

/// Bit set of optional features a board supports.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Capabilities(pub u32);

impl Capabilities {
    pub const STREAM: u32 = 1 << 0;
    pub const MODEL_UPLOAD: u32 = 1 << 1;
    pub const INFERENCE: u32 = 1 << 2;
    /// The board can send the window behind each inference (`InferenceWindow`).
    pub const WINDOW_ECHO: u32 = 1 << 3;
    /// A virtual board that takes `SimControl`.
    pub const SIM_CONTROL: u32 = 1 << 4;
    /// The board counts instructions (emulated boards).
    pub const INSTRUCTION_COUNT: u32 = 1 << 5;

    pub fn has(self, bit: u32) -> bool {
        self.0 & bit == bit
    }
}

/// A request could not be carried out.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct ErrorReply<'a> {
    pub code: ErrorCode,
    /// Human-readable detail from the board (may be empty).
    pub detail: &'a str,
}

/// Why a request failed. A number rather than an enum so an old host can still show a code a
/// newer board invents.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCode(pub u16);

impl ErrorCode {
    /// The request's frame was damaged or could not be read.
    pub const MALFORMED: Self = Self(1);
    /// The message is valid but not one the board takes (e.g. a board→host message).
    pub const UNEXPECTED: Self = Self(2);
    /// `Hello` asked for a protocol version the board does not speak.
    pub const PROTOCOL_VERSION: Self = Self(3);
    pub const UNKNOWN_SENSOR: Self = Self(4);
    pub const UNSUPPORTED_RATE: Self = Self(5);
    /// No free stream (or inference) resource.
    pub const BUSY: Self = Self(6);
    pub const UNKNOWN_STREAM: Self = Self(7);
    /// The board lacks the capability the request needs.
    pub const UNSUPPORTED: Self = Self(8);
    pub const UNKNOWN_SLOT: Self = Self(9);
    pub const MODEL_TOO_LARGE: Self = Self(10);
    /// A chunk does not continue the upload where the board expects it to.
    pub const MODEL_OUT_OF_ORDER: Self = Self(11);
    pub const MODEL_CRC: Self = Self(12);
    /// The uploaded bytes are not a model this board can run.
    pub const MODEL_INVALID: Self = Self(13);
    /// `ModelChunk`/`ModelCommit` without a `ModelBegin`.
    pub const NO_UPLOAD: Self = Self(14);
    pub const NO_MODEL: Self = Self(15);
    /// Writing the board's storage failed.
    pub const STORAGE: Self = Self(16);
    pub const UNKNOWN_ACTIVITY: Self = Self(17);

    pub fn name(self) -> &'static str {
        match self {
            Self::MALFORMED => "malformed request",
            Self::UNEXPECTED => "unexpected message",
            Self::PROTOCOL_VERSION => "protocol version not supported",
            Self::UNKNOWN_SENSOR => "unknown sensor",
            Self::UNSUPPORTED_RATE => "unsupported sampling rate",
            Self::BUSY => "busy",
            Self::UNKNOWN_STREAM => "unknown stream",
            Self::UNSUPPORTED => "not supported by this board",
            Self::UNKNOWN_SLOT => "unknown model slot",
            Self::MODEL_TOO_LARGE => "model too large for the slot",
            Self::MODEL_OUT_OF_ORDER => "model chunk out of order",
            Self::MODEL_CRC => "model CRC mismatch",
            Self::MODEL_INVALID => "model rejected",
            Self::NO_UPLOAD => "no model upload in progress",
            Self::NO_MODEL => "no model loaded",
            Self::STORAGE => "storage error",
            Self::UNKNOWN_ACTIVITY => "unknown activity",
            _ => "unknown error",
        }
    }
}

#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartStream {
    /// Index into `DeviceInfo::sensors`.
    pub sensor: u8,
    /// One of the sensor's `rates_hz`.
    pub rate_hz: u32,
}

#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamStarted {
    pub stream: u8,
    pub sensor: u8,
    pub rate_hz: u32,
    pub n_axes: u8,
    /// Board time of the first sample.
    pub t0_us: u64,
}

/// Consecutive samples of one stream, axes interleaved (`x0 y0 z0 x1 y1 z1 …`).
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq)]
pub struct SampleBatch<'a> {
    pub stream: u8,
    /// Counts batches of this stream from 0; a gap means batches were lost.
    pub seq: u32,
    /// Index of the first sample in the stream; lets a receiver count lost samples exactly.
    pub first_sample: u64,
    /// Board time of the first sample, in µs.
    pub t0_us: u64,
    /// Time between samples, in µs (fractional: 16 kHz is 62.5 µs).
    pub dt_us: f32,
    #[serde(borrow)]
    pub values: I16Values<'a>,
}

#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamStopped {
    pub stream: u8,
    /// Batches sent, including any the host may have lost.
    pub batches: u32,
    pub samples: u64,
}

#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelBegin {
    pub slot: u8,
    pub size: u32,
    /// CRC-32 (ISO-HDLC, as the frames use) of the whole model.
    pub crc: u32,
}

#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelChunk<'a> {
    pub slot: u8,
    pub offset: u32,
    pub bytes: &'a [u8],
}

/// Where a slot stands.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotState {
    Empty,
    /// An upload is under way; `received` bytes so far.
    Receiving {
        size: u32,
        received: u32,
    },
    /// Holds a validated model.
    Valid {
        size: u32,
        crc: u32,
    },
}

#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotInfo {
    pub slot: u8,
    /// Largest model the slot holds, in bytes.
    pub capacity: u32,
    pub state: SlotState,
    /// The model inference uses.
    pub active: bool,
}

#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelStatus {
    pub slot: SlotInfo,
}

#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartInference {
    /// Also send the window behind each result (`InferenceWindow`), for parity checks.
    pub echo_windows: bool,
}

/// One classified window.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq)]
pub struct InferenceResult<'a> {
    pub seq: u32,
    /// Board time of the window's last sample.
    pub t_us: u64,
    /// Quantized class scores, one `i8` per class (as bytes), exactly as the runtime produced them.
    pub scores: &'a [u8],
    /// Index of the best class.
    pub top: u8,
    /// Anomaly score, when the model has an anomaly block.
    pub anomaly: Option<f32>,
    pub dsp_us: u32,
    pub nn_us: u32,
    /// Instructions spent, on boards with `INSTRUCTION_COUNT`.
    pub dsp_instructions: Option<u32>,
    pub nn_instructions: Option<u32>,
}

/// Part of the window (raw interleaved samples) behind `InferenceResult` `seq`.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq)]
pub struct InferenceWindow<'a> {
    pub seq: u32,
    /// Index of the first value in the whole window.
    pub offset: u32,
    /// Values in the whole window.
    pub total: u32,
    #[serde(borrow)]
    pub values: I16Values<'a>,
}

/// Commands only a virtual board takes.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub enum SimControl<'a> {
    /// Switch the activity the simulated wearer performs (e.g. `wave`).
    SetActivity { name: &'a str },
}
