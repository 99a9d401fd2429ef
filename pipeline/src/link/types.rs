//! Owned, serializable views of what boards say, for the CLI's `--json`, the app, and the
//! project store. The wire types borrow from a frame buffer; these outlive it.

use mote_wire::{Capabilities, DeviceInfo, SlotState};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoardInfo {
    pub protocol_version: u16,
    pub board: String,
    pub firmware_version: String,
    pub device_id: String,
    pub sensors: Vec<Sensor>,
    pub max_frame: u16,
    pub model_slots: Vec<ModelSlot>,
    pub capabilities: Vec<String>,
}

impl BoardInfo {
    pub fn sensor_index(&self, name: &str) -> Option<u8> {
        self.sensors.iter().position(|sensor| sensor.name == name).map(|idx| idx as u8)
    }

    pub fn has_capability(&self, name: &str) -> bool {
        self.capabilities.iter().any(|c| c == name)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sensor {
    pub name: String,
    pub axes: Vec<Axis>,
    pub rates_hz: Vec<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Axis {
    pub name: String,
    pub unit: String,
    pub scale: f32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelSlot {
    pub slot: u8,
    pub capacity: u32,
    pub state: SlotStatus,
    pub active: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SlotStatus {
    Empty,
    Receiving { size: u32, received: u32 },
    Valid { size: u32, crc: u32 },
}

impl From<SlotState> for SlotStatus {
    fn from(state: SlotState) -> Self {
        match state {
            SlotState::Empty => SlotStatus::Empty,
            SlotState::Receiving { size, received } => SlotStatus::Receiving { size, received },
            SlotState::Valid { size, crc } => SlotStatus::Valid { size, crc },
        }
    }
}

impl From<mote_wire::SlotInfo> for ModelSlot {
    fn from(slot: mote_wire::SlotInfo) -> Self {
        Self { slot: slot.slot, capacity: slot.capacity, state: slot.state.into(), active: slot.active }
    }
}

const CAPABILITY_NAMES: [(u32, &str); 6] = [
    (Capabilities::STREAM, "stream"),
    (Capabilities::MODEL_UPLOAD, "model_upload"),
    (Capabilities::INFERENCE, "inference"),
    (Capabilities::WINDOW_ECHO, "window_echo"),
    (Capabilities::SIM_CONTROL, "sim_control"),
    (Capabilities::INSTRUCTION_COUNT, "instruction_count"),
];

impl From<&DeviceInfo<'_>> for BoardInfo {
    fn from(info: &DeviceInfo<'_>) -> Self {
        Self {
            protocol_version: info.protocol_version,
            board: info.board.to_string(),
            firmware_version: info.firmware_version.to_string(),
            device_id: info.device_id.to_string(),
            sensors: info
                .sensors
                .iter()
                .map(|sensor| Sensor {
                    name: sensor.name.to_string(),
                    axes: sensor
                        .axes
                        .iter()
                        .map(|axis| Axis {
                            name: axis.name.into(),
                            unit: axis.unit.into(),
                            scale: axis.scale,
                        })
                        .collect(),
                    rates_hz: sensor.rates_hz.to_vec(),
                })
                .collect(),
            max_frame: info.max_frame,
            model_slots: info.model_slots.iter().map(|slot| ModelSlot::from(*slot)).collect(),
            capabilities: CAPABILITY_NAMES
                .iter()
                .filter(|(bit, _)| info.capabilities.has(*bit))
                .map(|(_, name)| name.to_string())
                .collect(),
        }
    }
}
