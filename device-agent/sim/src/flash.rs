//! The virtual board's "flash": model slots kept in a file, so a restarted board still has its
//! model. The file is replaced atomically (write a temporary file, then rename) whenever a slot
//! is committed, so a crash mid-upload leaves the previous models intact.

use std::io::Write;
use std::path::{Path, PathBuf};

use mote_agent::{ModelStore, RamModelStore, Refusal};
use mote_wire::{CRC, ErrorCode, SlotState};

/// Bytes per slot: larger than any model a microcontroller would hold.
pub const SLOT_CAPACITY: usize = 256 * 1024;

const MAGIC: &[u8; 8] = b"MOTEFLS1";

pub struct FileFlash {
    path: PathBuf,
    slots: Box<RamModelStore<SLOT_CAPACITY>>,
}

#[derive(Debug, thiserror::Error)]
pub enum FlashError {
    #[error("cannot read the virtual board's flash file {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

impl FileFlash {
    /// Opens (or starts) the flash file at `path`. A damaged file is not an error: its slots
    /// come up empty, as a real board's would after a bad erase, and the reason is returned.
    pub fn open(path: &Path) -> Result<(Self, Option<String>), FlashError> {
        let mut slots = Box::new(RamModelStore::new());
        let warning = match std::fs::read(path) {
            Ok(bytes) => restore(&mut slots, &bytes).err(),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => return Err(FlashError::Io { path: path.into(), source }),
        };
        Ok((Self { path: path.into(), slots }, warning))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn persist(&self) -> std::io::Result<()> {
        let mut bytes = Vec::from(&MAGIC[..]);
        bytes.push(self.slots.active().map_or(0xFF, |slot| slot));
        for slot in 0..2u8 {
            let model = self.slots.slot_bytes(slot).unwrap_or(&[]);
            bytes.extend_from_slice(&(model.len() as u32).to_le_bytes());
            bytes.extend_from_slice(&CRC.checksum(model).to_le_bytes());
            bytes.extend_from_slice(model);
        }
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let temporary = self.path.with_extension("tmp");
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        std::fs::rename(&temporary, &self.path)
    }
}

fn restore(slots: &mut RamModelStore<SLOT_CAPACITY>, bytes: &[u8]) -> Result<(), String> {
    let rest = bytes.strip_prefix(&MAGIC[..]).ok_or("not a Mote flash file")?;
    let (&active, mut rest) = rest.split_first().ok_or("truncated")?;
    for slot in 0..2u8 {
        let header = rest.get(..8).ok_or("truncated")?;
        let len = u32::from_le_bytes(header[..4].try_into().expect("4 bytes")) as usize;
        let crc = u32::from_le_bytes(header[4..].try_into().expect("4 bytes"));
        let model = rest.get(8..8 + len).ok_or("truncated")?;
        if len > 0 {
            slots.restore(slot, model, crc, active == slot);
        }
        rest = &rest[8 + len..];
    }
    Ok(())
}

impl ModelStore for FileFlash {
    fn slot_count(&self) -> u8 {
        self.slots.slot_count()
    }
    fn capacity(&self, slot: u8) -> u32 {
        self.slots.capacity(slot)
    }
    fn state(&self, slot: u8) -> SlotState {
        self.slots.state(slot)
    }
    fn active(&self) -> Option<u8> {
        self.slots.active()
    }
    fn begin(&mut self, slot: u8, size: u32) -> Result<(), Refusal> {
        self.slots.begin(slot, size)
    }
    fn write(&mut self, slot: u8, offset: u32, bytes: &[u8]) -> Result<(), Refusal> {
        self.slots.write(slot, offset, bytes)
    }
    fn read(&self, slot: u8, len: u32) -> Option<&[u8]> {
        self.slots.read(slot, len)
    }
    fn commit(&mut self, slot: u8, size: u32, crc: u32) -> Result<(), Refusal> {
        self.slots.commit(slot, size, crc)?;
        self.persist().map_err(|_| Refusal::new(ErrorCode::STORAGE, "could not write the flash file"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_models_survive_a_restart() {
        let dir = std::env::temp_dir().join(format!("mote-flash-test-{}", std::process::id()));
        let path = dir.join("flash.bin");
        let model = vec![7u8; 1000];
        {
            let (mut flash, warning) = FileFlash::open(&path).unwrap();
            assert!(warning.is_none());
            flash.begin(1, 1000).unwrap();
            flash.write(1, 0, &model).unwrap();
            flash.commit(1, 1000, CRC.checksum(&model)).unwrap();
        }
        let (flash, _) = FileFlash::open(&path).unwrap();
        assert_eq!(flash.active(), Some(1));
        assert_eq!(flash.read(1, 1000).unwrap(), &model[..]);
        assert_eq!(flash.state(0), SlotState::Empty);

        std::fs::write(&path, b"garbage").unwrap();
        let (flash, warning) = FileFlash::open(&path).unwrap();
        assert_eq!(flash.active(), None);
        assert!(warning.unwrap().contains("not a Mote flash file"));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
