//! The model of a lean firmware: built into flash with the code, one slot that is always valid
//! and active, and no uploads (a new model is a new firmware).

use mote_wire::{ErrorCode, SlotState};

use crate::{ModelStore, Refusal};

/// A model compiled into the firmware (`include_bytes!`), offered as slot 0.
pub struct BuiltInModel {
    blob: &'static [u8],
    crc: u32,
}

impl BuiltInModel {
    /// Wraps `blob`; its CRC (what the host matches against its models) is computed once here.
    pub fn new(blob: &'static [u8]) -> Self {
        Self { blob, crc: mote_wire::CRC.checksum(blob) }
    }
}

const BUILT_IN: Refusal = Refusal::new(
    ErrorCode::UNSUPPORTED,
    "this firmware carries its model built in; build one for the new model",
);

impl ModelStore for BuiltInModel {
    fn slot_count(&self) -> u8 {
        1
    }

    fn accepts_uploads(&self) -> bool {
        false
    }

    fn capacity(&self, _slot: u8) -> u32 {
        self.blob.len() as u32
    }

    fn state(&self, slot: u8) -> SlotState {
        if slot == 0 {
            SlotState::Valid { size: self.blob.len() as u32, crc: self.crc }
        } else {
            SlotState::Empty
        }
    }

    fn active(&self) -> Option<u8> {
        Some(0)
    }

    fn begin(&mut self, _slot: u8, _size: u32) -> Result<(), Refusal> {
        Err(BUILT_IN)
    }

    fn write(&mut self, _slot: u8, _offset: u32, _bytes: &[u8]) -> Result<(), Refusal> {
        Err(BUILT_IN)
    }

    fn read(&self, slot: u8, len: u32) -> Option<&[u8]> {
        if slot == 0 { self.blob.get(..len as usize) } else { None }
    }

    fn commit(&mut self, _slot: u8, _size: u32, _crc: u32) -> Result<(), Refusal> {
        Err(BUILT_IN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offers_its_model_and_refuses_uploads() {
        static BLOB: [u8; 5] = [1, 2, 3, 4, 5];
        let mut store = BuiltInModel::new(&BLOB);
        assert_eq!(store.active(), Some(0));
        assert_eq!(store.state(0), SlotState::Valid { size: 5, crc: mote_wire::CRC.checksum(&BLOB) });
        assert_eq!(store.state(1), SlotState::Empty);
        assert_eq!(store.read(0, 5), Some(&BLOB[..]));
        assert_eq!(store.read(0, 6), None);
        assert!(!store.accepts_uploads());
        assert_eq!(store.begin(0, 5).unwrap_err().code, ErrorCode::UNSUPPORTED);
        assert_eq!(store.read(0, 5), Some(&BLOB[..]), "a refused upload changes nothing");
    }
}
