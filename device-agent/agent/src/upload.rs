//! A model upload in progress: `ModelBegin` → `ModelChunk`… → `ModelCommit`.

use mote_wire::{CRC, ErrorCode, ModelBegin, SlotState};

use crate::{ModelStore, Refusal};

#[derive(Debug, Clone, Copy)]
pub(crate) struct Upload {
    pub slot: u8,
    pub size: u32,
    pub crc: u32,
    pub received: u32,
}

impl Upload {
    /// Checks a `ModelBegin` against the store and prepares the slot.
    pub fn begin(store: &mut impl ModelStore, request: &ModelBegin) -> Result<Self, Refusal> {
        if request.slot >= store.slot_count() {
            return Err(Refusal::new(ErrorCode::UNKNOWN_SLOT, "no such model slot"));
        }
        if store.active() == Some(request.slot) {
            return Err(Refusal::new(
                ErrorCode::BUSY,
                "that slot holds the active model; upload into the other slot",
            ));
        }
        if request.size == 0 {
            return Err(Refusal::new(ErrorCode::MODEL_INVALID, "model is empty"));
        }
        if request.size > store.capacity(request.slot) {
            return Err(Refusal::new(ErrorCode::MODEL_TOO_LARGE, "model larger than the slot"));
        }
        store.begin(request.slot, request.size)?;
        Ok(Self { slot: request.slot, size: request.size, crc: request.crc, received: 0 })
    }

    /// Stores one chunk; it must continue exactly where the last one ended.
    pub fn chunk(
        &mut self,
        store: &mut impl ModelStore,
        slot: u8,
        offset: u32,
        bytes: &[u8],
    ) -> Result<(), Refusal> {
        if slot != self.slot {
            return Err(Refusal::new(ErrorCode::NO_UPLOAD, "no upload in progress for that slot"));
        }
        if offset != self.received {
            return Err(Refusal::new(
                ErrorCode::MODEL_OUT_OF_ORDER,
                "chunk does not continue where the upload stands",
            ));
        }
        let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        if len > self.size - self.received {
            return Err(Refusal::new(ErrorCode::MODEL_TOO_LARGE, "chunk runs past the model size"));
        }
        store.write(slot, offset, bytes)?;
        self.received += len;
        Ok(())
    }

    /// Checks the whole model and makes its slot active. On error the slot stays invalid and
    /// the previously active model stays active.
    pub fn commit(
        &self,
        store: &mut impl ModelStore,
        validate: fn(&[u8]) -> Result<(), &'static str>,
    ) -> Result<(), Refusal> {
        if self.received != self.size {
            return Err(Refusal::new(ErrorCode::MODEL_INVALID, "upload incomplete"));
        }
        let model = store
            .read(self.slot, self.size)
            .ok_or(Refusal::new(ErrorCode::STORAGE, "slot cannot be read back"))?;
        if CRC.checksum(model) != self.crc {
            return Err(Refusal::new(ErrorCode::MODEL_CRC, "model CRC does not match ModelBegin"));
        }
        validate(model).map_err(|why| Refusal::new(ErrorCode::MODEL_INVALID, why))?;
        store.commit(self.slot, self.size, self.crc)
    }

    pub fn state(&self) -> SlotState {
        SlotState::Receiving { size: self.size, received: self.received }
    }
}
