//! `FlashModelStore` over a RAM-backed NOR flash that behaves like the real part: erase to 0xFF
//! in whole sectors, writes only clear bits and must be aligned, and can lose power mid-upload.
#![cfg(feature = "flash-store")]

use embedded_storage::nor_flash::{ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash};
use mote_agent::{FlashModelStore, ModelStore, SlotRegion};
use mote_wire::SlotState;

const SECTOR: usize = 4096;
const SLOT: u32 = 16 * 1024;

#[derive(Debug)]
struct Fault(NorFlashErrorKind);
impl NorFlashError for Fault {
    fn kind(&self) -> NorFlashErrorKind {
        self.0
    }
}

/// Flash memory: `mem` outlives every store built on it (leaked for the test).
struct RamFlash {
    mem: *mut u8,
    len: usize,
}

impl ErrorType for RamFlash {
    type Error = Fault;
}

impl ReadNorFlash for RamFlash {
    const READ_SIZE: usize = 1;
    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Fault> {
        let from = offset as usize;
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = unsafe { *self.mem.add(from + i) };
        }
        Ok(())
    }
    fn capacity(&self) -> usize {
        self.len
    }
}

impl NorFlash for RamFlash {
    const WRITE_SIZE: usize = 4;
    const ERASE_SIZE: usize = SECTOR;
    fn erase(&mut self, from: u32, to: u32) -> Result<(), Fault> {
        if from as usize % SECTOR != 0 || to as usize % SECTOR != 0 || to as usize > self.len {
            return Err(Fault(NorFlashErrorKind::NotAligned));
        }
        for at in from..to {
            unsafe { *self.mem.add(at as usize) = 0xFF };
        }
        Ok(())
    }
    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Fault> {
        if offset as usize % 4 != 0 || bytes.len() % 4 != 0 || offset as usize + bytes.len() > self.len {
            return Err(Fault(NorFlashErrorKind::NotAligned));
        }
        for (i, byte) in bytes.iter().enumerate() {
            unsafe { *self.mem.add(offset as usize + i) &= *byte };
        }
        Ok(())
    }
}

fn flash() -> (*mut u8, usize) {
    let mem: &'static mut [u8] = Box::leak(vec![0xFFu8; 2 * SLOT as usize].into_boxed_slice());
    (mem.as_mut_ptr(), mem.len())
}

/// A board booting with this flash.
fn boot(mem: *mut u8, len: usize) -> FlashModelStore<RamFlash> {
    let regions = [
        SlotRegion { offset: 0, len: SLOT, mapped: mem },
        SlotRegion { offset: SLOT, len: SLOT, mapped: unsafe { mem.add(SLOT as usize) } },
    ];
    unsafe { FlashModelStore::new(RamFlash { mem, len }, regions) }.expect("valid layout")
}

fn model(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
}

/// Uploads `bytes` in uneven chunks; commits unless `cut_at` stops it first.
fn upload(store: &mut FlashModelStore<RamFlash>, slot: u8, bytes: &[u8], cut_at: Option<usize>) {
    store.begin(slot, bytes.len() as u32).unwrap();
    let mut at = 0;
    for size in [7usize, 300, 1, 513, 4096].iter().cycle() {
        if at == bytes.len() || cut_at.is_some_and(|cut| at >= cut) {
            break;
        }
        let end = (at + size).min(bytes.len());
        store.write(slot, at as u32, &bytes[at..end]).unwrap();
        at = end;
    }
    if cut_at.is_none() {
        assert_eq!(store.read(slot, bytes.len() as u32).unwrap(), bytes, "read back before commit");
        store.commit(slot, bytes.len() as u32, mote_wire::CRC.checksum(bytes)).unwrap();
    }
}

#[test]
fn models_survive_a_reset_and_a_cut_upload_changes_nothing() {
    let (mem, len) = flash();
    let first = model(5_001, 1);
    let mut store = boot(mem, len);
    assert_eq!(store.active(), None);
    assert_eq!(store.capacity(0), SLOT - SECTOR as u32);
    upload(&mut store, 0, &first, None);
    drop(store);

    let mut store = boot(mem, len);
    assert_eq!(store.active(), Some(0));
    assert_eq!(store.read(0, first.len() as u32).unwrap(), &first[..]);
    assert!(matches!(store.state(0), SlotState::Valid { size: 5_001, .. }));

    // Power lost halfway through the next upload: after the reset the first model still runs.
    let second = model(9_000, 2);
    upload(&mut store, 1, &second, Some(4_000));
    drop(store);
    let mut store = boot(mem, len);
    assert_eq!(store.active(), Some(0));
    assert_eq!(store.state(1), SlotState::Empty);

    // Completed, the newer slot wins after a reset; then the other slot again.
    upload(&mut store, 1, &second, None);
    drop(store);
    let mut store = boot(mem, len);
    assert_eq!(store.active(), Some(1));
    assert_eq!(store.read(1, second.len() as u32).unwrap(), &second[..]);
    let third = model(12_288 - 3, 3);
    upload(&mut store, 0, &third, None);
    drop(store);
    let store = boot(mem, len);
    assert_eq!(store.active(), Some(0));
    assert_eq!(store.read(0, third.len() as u32).unwrap(), &third[..]);
}

#[test]
fn bad_requests_are_refused() {
    let (mem, len) = flash();
    let mut store = boot(mem, len);
    assert!(store.begin(0, SLOT).is_err(), "larger than the slot");
    assert!(store.begin(2, 10).is_err(), "no such slot");
    assert!(store.write(0, 0, &[1, 2, 3]).is_err(), "no upload begun");
    store.begin(0, 100).unwrap();
    store.write(0, 0, &[0; 10]).unwrap();
    assert!(store.write(0, 20, &[0; 10]).is_err(), "out of order");
    assert!(store.write(0, 10, &[0; 91]).is_err(), "past the announced size");
    // A slot whose bytes were damaged after commit does not count at boot.
    store.write(0, 10, &[7; 90]).unwrap();
    let mut bytes = vec![0u8; 10];
    bytes.extend([7u8; 90]);
    store.commit(0, 100, mote_wire::CRC.checksum(&bytes)).unwrap();
    drop(store);
    unsafe { *mem.add(SECTOR + 50) = 0 };
    let store = boot(mem, len);
    assert_eq!(store.active(), None);
}
