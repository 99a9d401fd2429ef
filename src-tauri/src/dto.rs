//! The types that cross into the UI. Pipeline types stay free of UI concerns; these mirror
//! them with `specta::Type` and only the shapes TypeScript handles (no u64).

use mote_pipeline::link::types::{BoardInfo, SlotStatus};
use serde::Serialize;
use specta::Type;

/// Every failed command reaches the UI as a stable code and a message for people.
#[derive(Debug, Clone, Serialize, Type)]
pub struct AppError {
    pub code: String,
    pub message: String,
}

impl AppError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self { code: code.into(), message: message.into() }
    }
}

/// Every engine error reaches the interface with its stable code (`mote_pipeline::error`), the
/// same code `mote --json` prints. A cancelled training run says that no model was stored.
impl<E: mote_pipeline::error::ErrorCode> From<E> for AppError {
    fn from(error: E) -> Self {
        let code = error.code();
        if code == "train.cancelled" {
            return Self::new(code, "training was cancelled; no model was stored");
        }
        Self::new(code, error.to_string())
    }
}

#[derive(Debug, Clone, Serialize, Type)]
pub struct AppInfo {
    pub version: String,
    pub protocol_version: u16,
}

#[derive(Debug, Clone, Serialize, Type)]
pub struct Axis {
    pub name: String,
    pub unit: String,
    pub scale: f32,
}

#[derive(Debug, Clone, Serialize, Type)]
pub struct Sensor {
    pub name: String,
    pub axes: Vec<Axis>,
    pub rates_hz: Vec<u32>,
}

#[derive(Debug, Clone, Serialize, Type)]
pub struct ModelSlot {
    pub slot: u8,
    pub capacity: u32,
    /// `empty`, `receiving` or `valid`.
    pub state: String,
    pub size: Option<u32>,
    pub active: bool,
}

#[derive(Debug, Clone, Serialize, Type)]
pub struct Board {
    pub port: String,
    pub board: String,
    pub firmware_version: String,
    pub device_id: String,
    pub protocol_version: u16,
    pub sensors: Vec<Sensor>,
    pub model_slots: Vec<ModelSlot>,
    pub capabilities: Vec<String>,
}

impl Board {
    pub fn new(port: &str, info: &BoardInfo) -> Self {
        Self {
            port: port.to_string(),
            board: info.board.clone(),
            firmware_version: info.firmware_version.clone(),
            device_id: info.device_id.clone(),
            protocol_version: info.protocol_version,
            sensors: info
                .sensors
                .iter()
                .map(|sensor| Sensor {
                    name: sensor.name.clone(),
                    axes: sensor
                        .axes
                        .iter()
                        .map(|axis| Axis {
                            name: axis.name.clone(),
                            unit: axis.unit.clone(),
                            scale: axis.scale,
                        })
                        .collect(),
                    rates_hz: sensor.rates_hz.clone(),
                })
                .collect(),
            model_slots: info
                .model_slots
                .iter()
                .map(|slot| {
                    let (state, size) = match slot.state {
                        SlotStatus::Empty => ("empty", None),
                        SlotStatus::Receiving { size, .. } => ("receiving", Some(size)),
                        SlotStatus::Valid { size, .. } => ("valid", Some(size)),
                    };
                    ModelSlot {
                        slot: slot.slot,
                        capacity: slot.capacity,
                        state: state.into(),
                        size,
                        active: slot.active,
                    }
                })
                .collect(),
            capabilities: info.capabilities.clone(),
        }
    }
}

/// A serial port, and the board behind it when known.
#[derive(Debug, Clone, Serialize, Type)]
pub struct Device {
    pub path: String,
    /// `usb`, `virtual`, `pci`, `bluetooth` or `unknown`.
    pub kind: String,
    pub product: Option<String>,
    pub likely_board: Option<String>,
    /// The app is connected to this port.
    pub connected: bool,
    /// This app started this virtual board.
    pub started_here: bool,
}

#[derive(Debug, Clone, Serialize, Type)]
pub struct VirtualBoard {
    pub device_id: String,
    pub path: String,
}

/// Live samples for the chart: raw counts, interleaved; multiply by each axis's scale.
#[derive(Debug, Clone, Serialize, Type)]
pub struct LiveBatch {
    /// Index of the first sample in the stream.
    pub first_sample: f64,
    pub values: Vec<i16>,
    pub measured_rate_hz: f64,
    pub jitter_ms: f64,
    pub lost_batches: u32,
}

/// The connection to a board ended (cable pulled, board stopped, or closed on request).
#[derive(Debug, Clone, Serialize, serde::Deserialize, Type, tauri_specta::Event)]
pub struct SessionEnded {
    pub port: String,
    pub error: Option<String>,
}

/// A board that prints readings as text lines (data-forwarder style), as detection found it.
#[derive(Debug, Clone, Serialize, Type)]
pub struct ForwarderDevice {
    pub port: String,
    pub axis_count: u32,
    pub axis_names: Vec<String>,
    /// The rate measured from arrival times.
    pub rate_hz: f64,
    pub lines: u32,
    pub listened_seconds: f64,
    /// Lines that were not readings, and a few of them as examples ("line 3: …").
    pub garbage_lines: u32,
    pub garbage_examples: Vec<String>,
}
