//! Model slots held in RAM: boards without spare flash (and the QEMU board), and the virtual
//! board's working copy of its file-backed flash.

use mote_wire::{ErrorCode, SlotState};

use crate::{ModelStore, Refusal};

/// Two slots of `CAP` bytes each.
pub struct RamModelStore<const CAP: usize> {
    slots: [[u8; CAP]; 2],
    states: [SlotState; 2],
    active: Option<u8>,
}

impl<const CAP: usize> Default for RamModelStore<CAP> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const CAP: usize> RamModelStore<CAP> {
    pub const fn new() -> Self {
        Self { slots: [[0; CAP]; 2], states: [SlotState::Empty; 2], active: None }
    }

    /// Restores slots saved earlier (see [`RamModelStore::slot_bytes`]). A slot whose bytes do
    /// not fit or do not match its recorded CRC is restored as empty.
    pub fn restore(&mut self, slot: u8, bytes: &[u8], crc: u32, active: bool) {
        let Some(dest) = self.slots.get_mut(usize::from(slot)) else { return };
        let valid = bytes.len() <= CAP && mote_wire::CRC.checksum(bytes) == crc;
        if !valid {
            return;
        }
        dest[..bytes.len()].copy_from_slice(bytes);
        self.states[usize::from(slot)] = SlotState::Valid { size: bytes.len() as u32, crc };
        if active {
            self.active = Some(slot);
        }
    }

    /// The bytes of a valid slot.
    pub fn slot_bytes(&self, slot: u8) -> Option<&[u8]> {
        match self.states.get(usize::from(slot))? {
            SlotState::Valid { size, .. } => self.read(slot, *size),
            _ => None,
        }
    }

    fn check_slot(&self, slot: u8) -> Result<usize, Refusal> {
        let idx = usize::from(slot);
        if idx < self.slots.len() {
            Ok(idx)
        } else {
            Err(Refusal::new(ErrorCode::UNKNOWN_SLOT, "no such model slot"))
        }
    }
}

impl<const CAP: usize> ModelStore for RamModelStore<CAP> {
    fn slot_count(&self) -> u8 {
        2
    }

    fn capacity(&self, _slot: u8) -> u32 {
        CAP as u32
    }

    fn state(&self, slot: u8) -> SlotState {
        self.states.get(usize::from(slot)).copied().unwrap_or(SlotState::Empty)
    }

    fn active(&self) -> Option<u8> {
        self.active
    }

    fn begin(&mut self, slot: u8, size: u32) -> Result<(), Refusal> {
        let idx = self.check_slot(slot)?;
        if size as usize > CAP {
            return Err(Refusal::new(ErrorCode::MODEL_TOO_LARGE, "model larger than the slot"));
        }
        self.states[idx] = SlotState::Empty;
        self.slots[idx].fill(0xFF);
        Ok(())
    }

    fn write(&mut self, slot: u8, offset: u32, bytes: &[u8]) -> Result<(), Refusal> {
        let idx = self.check_slot(slot)?;
        let start = offset as usize;
        let dest = self.slots[idx]
            .get_mut(start..start.saturating_add(bytes.len()))
            .ok_or(Refusal::new(ErrorCode::MODEL_TOO_LARGE, "write past the end of the slot"))?;
        dest.copy_from_slice(bytes);
        Ok(())
    }

    fn read(&self, slot: u8, len: u32) -> Option<&[u8]> {
        self.slots.get(usize::from(slot))?.get(..len as usize)
    }

    fn commit(&mut self, slot: u8, size: u32, crc: u32) -> Result<(), Refusal> {
        let idx = self.check_slot(slot)?;
        self.states[idx] = SlotState::Valid { size, crc };
        self.active = Some(slot);
        Ok(())
    }
}
