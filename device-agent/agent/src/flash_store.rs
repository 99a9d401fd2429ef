//! Model slots in a board's flash (feature `flash-store`), for any `embedded-storage` NOR flash
//! whose contents are also memory-mapped (nRF52 NVMC, RP2040 XIP flash).
//!
//! Each slot is a run of erase sectors: the first sector holds a 16-byte header written last
//! (`MOTS`, size, CRC, generation), the model starts at the second sector. A slot counts only when
//! its header is complete and the CRC of its bytes matches, so a reset or pulled cable in the
//! middle of an upload leaves the previous model in charge. The active slot is the valid one with
//! the higher generation. Chunks of any length are staged to the flash's write size; the tail is
//! flushed when the last byte of the announced size arrives, before the agent reads it back.

use embedded_storage::nor_flash::NorFlash;
use mote_wire::{ErrorCode, SlotState};

use crate::{ModelStore, Refusal};

const MAGIC: u32 = u32::from_le_bytes(*b"MOTS");
const HEADER_LEN: usize = 16;
/// Largest write granularity supported (bytes staged before a flash write).
const STAGE: usize = 256;

/// The header that makes a slot valid: magic, model size, model CRC, generation (the valid slot
/// with the higher generation is active). Host tools use it to place a model with the firmware.
pub fn slot_header(size: u32, crc: u32, generation: u32) -> [u8; HEADER_LEN] {
    let mut header = [0u8; HEADER_LEN];
    for (i, word) in [MAGIC, size, crc, generation].into_iter().enumerate() {
        header[i * 4..i * 4 + 4].copy_from_slice(&word.to_le_bytes());
    }
    header
}

/// Where one slot lives: its offset in the flash (as `NorFlash` counts) and where the same bytes
/// appear in the address space.
#[derive(Debug, Clone, Copy)]
pub struct SlotRegion {
    pub offset: u32,
    pub len: u32,
    pub mapped: *const u8,
}

/// Two model slots in flash.
pub struct FlashModelStore<F: NorFlash> {
    flash: F,
    regions: [SlotRegion; 2],
    states: [SlotState; 2],
    generations: [u32; 2],
    active: Option<u8>,
    upload: Option<Staged>,
}

struct Staged {
    slot: u8,
    size: u32,
    /// Bytes of the model already written to flash.
    flushed: u32,
    stage: [u8; STAGE],
    staged: usize,
}

impl<F: NorFlash> FlashModelStore<F> {
    /// Reads both slot headers and picks the active slot.
    ///
    /// # Safety
    /// Each region's `mapped` pointer must point at `len` readable bytes that show the flash at
    /// `offset` (memory-mapped flash), valid for as long as the store lives, and nothing but this
    /// store may write that flash.
    pub unsafe fn new(flash: F, regions: [SlotRegion; 2]) -> Result<Self, &'static str> {
        for region in &regions {
            let sector = F::ERASE_SIZE as u32;
            if region.offset % sector != 0 || region.len % sector != 0 || region.len < 2 * sector {
                return Err("slot regions must be whole erase sectors, at least two");
            }
            if F::WRITE_SIZE > STAGE || STAGE % F::WRITE_SIZE != 0 || HEADER_LEN % F::WRITE_SIZE != 0 {
                return Err("unsupported flash write size");
            }
        }
        let mut store = Self {
            flash,
            regions,
            states: [SlotState::Empty; 2],
            generations: [0; 2],
            active: None,
            upload: None,
        };
        for slot in 0..2u8 {
            if let Some((size, crc, generation)) = store.header(slot) {
                let data = store.data(slot, size);
                if data.is_some_and(|bytes| mote_wire::CRC.checksum(bytes) == crc) {
                    store.states[usize::from(slot)] = SlotState::Valid { size, crc };
                    store.generations[usize::from(slot)] = generation;
                }
            }
        }
        store.active = match (store.states, store.generations) {
            ([SlotState::Valid { .. }, SlotState::Valid { .. }], [a, b]) => Some(if b > a { 1 } else { 0 }),
            ([SlotState::Valid { .. }, _], _) => Some(0),
            ([_, SlotState::Valid { .. }], _) => Some(1),
            _ => None,
        };
        Ok(store)
    }

    fn sector(&self) -> u32 {
        F::ERASE_SIZE as u32
    }

    fn mapped(&self, slot: u8, from: u32, len: u32) -> Option<&[u8]> {
        let region = self.regions.get(usize::from(slot))?;
        let end = from.checked_add(len)?;
        if end > region.len {
            return None;
        }
        // SAFETY: inside the region the caller of `new` vouched for; writes need `&mut self`, so
        // none happens while the returned slice lives.
        Some(unsafe { core::slice::from_raw_parts(region.mapped.add(from as usize), len as usize) })
    }

    fn header(&self, slot: u8) -> Option<(u32, u32, u32)> {
        let bytes = self.mapped(slot, 0, HEADER_LEN as u32)?;
        let word = |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        (word(0) == MAGIC && word(4) <= self.capacity(slot)).then(|| (word(4), word(8), word(12)))
    }

    fn data(&self, slot: u8, len: u32) -> Option<&[u8]> {
        self.mapped(slot, self.sector(), len)
    }

    fn check_slot(&self, slot: u8) -> Result<usize, Refusal> {
        let idx = usize::from(slot);
        if idx < 2 { Ok(idx) } else { Err(Refusal::new(ErrorCode::UNKNOWN_SLOT, "no such model slot")) }
    }

    fn storage_error(_: F::Error) -> Refusal {
        Refusal::new(ErrorCode::STORAGE, "flash write failed")
    }

    /// Writes the staged bytes (padded with 0xFF to the write size) and empties the stage.
    fn flush(&mut self) -> Result<(), Refusal> {
        let sector = self.sector();
        let Some(upload) = self.upload.as_mut() else { return Ok(()) };
        if upload.staged == 0 {
            return Ok(());
        }
        let padded = upload.staged.div_ceil(F::WRITE_SIZE) * F::WRITE_SIZE;
        upload.stage[upload.staged..padded].fill(0xFF);
        let at = self.regions[usize::from(upload.slot)].offset + sector + upload.flushed;
        self.flash.write(at, &upload.stage[..padded]).map_err(Self::storage_error)?;
        upload.flushed += upload.staged as u32;
        upload.staged = 0;
        Ok(())
    }
}

impl<F: NorFlash> ModelStore for FlashModelStore<F> {
    fn slot_count(&self) -> u8 {
        2
    }

    fn capacity(&self, slot: u8) -> u32 {
        self.regions.get(usize::from(slot)).map_or(0, |region| region.len - self.sector())
    }

    fn state(&self, slot: u8) -> SlotState {
        self.states.get(usize::from(slot)).copied().unwrap_or(SlotState::Empty)
    }

    fn active(&self) -> Option<u8> {
        self.active
    }

    fn begin(&mut self, slot: u8, size: u32) -> Result<(), Refusal> {
        let idx = self.check_slot(slot)?;
        if size > self.capacity(slot) {
            return Err(Refusal::new(ErrorCode::MODEL_TOO_LARGE, "model larger than the slot"));
        }
        self.states[idx] = SlotState::Empty;
        self.upload = None;
        let region = self.regions[idx];
        // The header sector first: from here on the slot is invalid whatever happens.
        let end = region.offset + self.sector() + size.div_ceil(self.sector()) * self.sector();
        self.flash.erase(region.offset, end).map_err(Self::storage_error)?;
        self.upload = Some(Staged { slot, size, flushed: 0, stage: [0xFF; STAGE], staged: 0 });
        Ok(())
    }

    fn write(&mut self, slot: u8, offset: u32, bytes: &[u8]) -> Result<(), Refusal> {
        let upload = self
            .upload
            .as_ref()
            .filter(|upload| upload.slot == slot)
            .ok_or(Refusal::new(ErrorCode::NO_UPLOAD, "no upload in progress for that slot"))?;
        if offset != upload.flushed + upload.staged as u32 {
            return Err(Refusal::new(ErrorCode::MODEL_OUT_OF_ORDER, "chunk does not continue the upload"));
        }
        if u64::from(offset) + bytes.len() as u64 > u64::from(upload.size) {
            return Err(Refusal::new(ErrorCode::MODEL_TOO_LARGE, "write past the end of the model"));
        }
        let mut rest = bytes;
        while !rest.is_empty() {
            let Some(upload) = self.upload.as_mut() else { break };
            let take = rest.len().min(STAGE - upload.staged);
            upload.stage[upload.staged..upload.staged + take].copy_from_slice(&rest[..take]);
            upload.staged += take;
            rest = &rest[take..];
            if upload.staged == STAGE {
                self.flush()?;
            }
        }
        // The last byte arrived: everything must be in flash before the agent reads it back.
        if self.upload.as_ref().is_some_and(|u| u.flushed + u.staged as u32 == u.size) {
            self.flush()?;
        }
        Ok(())
    }

    fn read(&self, slot: u8, len: u32) -> Option<&[u8]> {
        self.data(slot, len)
    }

    fn commit(&mut self, slot: u8, size: u32, crc: u32) -> Result<(), Refusal> {
        let idx = self.check_slot(slot)?;
        let generation = self.generations.iter().max().copied().unwrap_or(0).wrapping_add(1);
        let header = slot_header(size, crc, generation);
        self.flash.write(self.regions[idx].offset, &header).map_err(Self::storage_error)?;
        self.upload = None;
        self.states[idx] = SlotState::Valid { size, crc };
        self.generations[idx] = generation;
        self.active = Some(slot);
        Ok(())
    }
}
