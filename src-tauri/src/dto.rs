//! The types that cross into the UI. Pipeline types stay free of UI concerns; these mirror
//! them with `specta::Type` and only the shapes TypeScript handles (no u64).

use mote_pipeline::link::types::{BoardInfo, SlotStatus};
use serde::{Deserialize, Serialize};
use specta::Type;

/// A sample's split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    Train,
    Test,
}

impl From<Split> for mote_pipeline::project::Split {
    fn from(split: Split) -> Self {
        match split {
            Split::Train => mote_pipeline::project::Split::Train,
            Split::Test => mote_pipeline::project::Split::Test,
        }
    }
}

impl From<mote_pipeline::project::Split> for Split {
    fn from(split: mote_pipeline::project::Split) -> Self {
        match split {
            mote_pipeline::project::Split::Train => Split::Train,
            mote_pipeline::project::Split::Test => Split::Test,
        }
    }
}

/// A real board Mote flashes through a debug probe (or a UF2 drive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
pub enum FlashBoard {
    #[serde(rename = "microbit-v2")]
    MicrobitV2,
    #[serde(rename = "rp2040-pico")]
    Rp2040Pico,
}

impl From<FlashBoard> for mote_pipeline::firmware::RealBoard {
    fn from(board: FlashBoard) -> Self {
        match board {
            FlashBoard::MicrobitV2 => mote_pipeline::firmware::RealBoard::MicrobitV2,
            FlashBoard::Rp2040Pico => mote_pipeline::firmware::RealBoard::Rp2040Pico,
        }
    }
}

/// What the virtual board performs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "lowercase")]
pub enum Activity {
    Idle,
    Wave,
    Circle,
    Shake,
}

impl Activity {
    /// The name the virtual board knows it by.
    pub fn name(self) -> &'static str {
        match self {
            Activity::Idle => "idle",
            Activity::Wave => "wave",
            Activity::Circle => "circle",
            Activity::Shake => "shake",
        }
    }
}

/// How a model is exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// The model blob (`model.mote`).
    Blob,
    /// A C header with the blob as an array.
    C,
    /// A self-contained no_std Rust crate.
    Rust,
    /// A C library: headers, libmote.a for each core, an example, CMake, README.
    #[serde(rename = "c-library")]
    CLibrary,
    /// An Arduino library (folder and .zip).
    Arduino,
    /// A lean firmware for one board with the model built in (needs a [`LeanBoard`]).
    Firmware,
}

/// A board a lean firmware is built for (`mote deploy --export firmware --board`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
pub enum LeanBoard {
    #[serde(rename = "qemu-mps2-an386")]
    QemuMps2An386,
    #[serde(rename = "microbit-v2")]
    MicrobitV2,
}

impl LeanBoard {
    /// The name the pipeline knows it by.
    pub fn name(self) -> &'static str {
        match self {
            LeanBoard::QemuMps2An386 => "qemu-mps2-an386",
            LeanBoard::MicrobitV2 => "microbit-v2",
        }
    }
}

impl ExportFormat {
    /// The name `mote deploy --export` and the pipeline know it by.
    pub fn name(self) -> &'static str {
        match self {
            ExportFormat::Blob => "blob",
            ExportFormat::C => "c",
            ExportFormat::Rust => "rust",
            ExportFormat::CLibrary => "c-library",
            ExportFormat::Arduino => "arduino",
            ExportFormat::Firmware => "firmware",
        }
    }
}

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
/// same code `mote --json` prints, and its message.
impl<E: mote_pipeline::error::ErrorCode> From<E> for AppError {
    fn from(error: E) -> Self {
        Self::new(error.code(), error.to_string())
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The unions the interface sees name exactly what the engine knows.
    #[test]
    fn the_unions_match_the_engine() {
        let activities = [Activity::Idle, Activity::Wave, Activity::Circle, Activity::Shake];
        assert_eq!(
            activities.map(Activity::name).to_vec(),
            mote_pipeline::virtual_board::activities().collect::<Vec<_>>()
        );
        let formats = [
            ExportFormat::Blob,
            ExportFormat::C,
            ExportFormat::Rust,
            ExportFormat::CLibrary,
            ExportFormat::Arduino,
            ExportFormat::Firmware,
        ];
        assert_eq!(formats.map(ExportFormat::name), mote_pipeline::export::FORMATS);
        let lean = [LeanBoard::QemuMps2An386, LeanBoard::MicrobitV2];
        assert_eq!(lean.map(LeanBoard::name), mote_pipeline::firmware::LEAN_BOARDS.map(|(board, _)| board));
        for board in lean {
            assert_eq!(serde_json::to_value(board).unwrap(), board.name());
        }
        for format in formats {
            assert_eq!(serde_json::to_value(format).unwrap(), format.name());
        }
        let boards = [FlashBoard::MicrobitV2, FlashBoard::Rp2040Pico];
        assert_eq!(
            boards.map(mote_pipeline::firmware::RealBoard::from),
            mote_pipeline::firmware::RealBoard::ALL
        );
        for board in boards {
            let json = serde_json::to_value(board).unwrap();
            assert_eq!(json, mote_pipeline::firmware::RealBoard::from(board).name());
        }
        // The generated bindings carry them as unions where the commands take them.
        let bindings = std::fs::read_to_string(crate::bindings_path()).unwrap();
        for expected in [
            r#"export type Split = "train" | "test";"#,
            r#"export type Activity = "idle" | "wave" | "circle" | "shake";"#,
            r#"export type FlashBoard = "microbit-v2" | "rp2040-pico";"#,
            "moveSamples: (ids: number[], to: Split)",
            "split: Split, onProgress",
            "setActivity: (activity: Activity)",
            "flashPlan: (board: FlashBoard",
            "flashBoard: (board: FlashBoard",
            "exportModel: (format: ExportFormat",
        ] {
            assert!(bindings.contains(expected), "bindings.ts lacks {expected}");
        }
        for split in [Split::Train, Split::Test] {
            let json = serde_json::to_value(split).unwrap();
            assert_eq!(json, mote_pipeline::project::Split::from(split).as_str());
        }
    }
}
