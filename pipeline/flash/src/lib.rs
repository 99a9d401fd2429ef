//! Firmware (and optionally a model) onto real boards.
//!
//! - [`plan`]: what flashing an ELF would do, from the ELF's loadable segments and the chip's
//!   memory map and flash algorithm in probe-rs's target database — which sectors are erased,
//!   which bytes are written where, with which algorithm — without any hardware. Segments outside
//!   the chip's flash or over the model slots are refused by address.
//! - [`flash_with_probe`]: the plan carried out by probe-rs through a debug probe (the micro:bit's
//!   onboard CMSIS-DAP interface chip, or a probe wired to the Pico's SWD pins), then a reset.
//! - [`uf2`]: a UF2 image for the RP2040's USB bootloader (hold BOOTSEL while plugging the Pico
//!   in; it mounts as `RPI-RP2`), written to a file or to the drive ([`find_uf2_drive`]).
//!
//! A model placed with the firmware goes into slot 0 in the layout the agent's
//! `FlashModelStore` reads (header sector, then the blob), so the board boots with it active.

mod footprint;

pub use footprint::{Footprint, footprint};

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use object::read::elf::{ElfFile32, ProgramHeader as _};
use probe_rs::config::{MemoryRegion, Registry};
use serde::Serialize;

/// The boards Mote flashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RealBoard {
    MicrobitV2,
    Rp2040Pico,
}

impl RealBoard {
    pub const ALL: [RealBoard; 2] = [RealBoard::MicrobitV2, RealBoard::Rp2040Pico];

    pub fn name(self) -> &'static str {
        match self {
            RealBoard::MicrobitV2 => "microbit-v2",
            RealBoard::Rp2040Pico => "rp2040-pico",
        }
    }

    /// The chip's name in probe-rs's target database.
    pub fn chip(self) -> &'static str {
        match self {
            RealBoard::MicrobitV2 => "nRF52833_xxAA",
            RealBoard::Rp2040Pico => "RP2040",
        }
    }

    /// The firmware's compilation target.
    pub fn rust_target(self) -> &'static str {
        match self {
            RealBoard::MicrobitV2 => "thumbv7em-none-eabihf",
            RealBoard::Rp2040Pico => "thumbv6m-none-eabi",
        }
    }

    /// The board's flash layout (`mote_agent::layout`, which the firmware uses too).
    pub fn layout(self) -> mote_agent::layout::FlashLayout {
        match self {
            RealBoard::MicrobitV2 => mote_agent::layout::MICROBIT_V2,
            RealBoard::Rp2040Pico => mote_agent::layout::RP2040_PICO,
        }
    }

    /// The two model slots.
    pub fn slots(self) -> [Range<u64>; 2] {
        let layout = self.layout();
        let slot = |start: u32| u64::from(start)..u64::from(start) + u64::from(layout.slot_len);
        [slot(layout.slot0), slot(layout.slot1)]
    }

    /// Flash sector size the slot layout uses (the header sector).
    fn slot_sector(self) -> u64 {
        4096
    }
}

impl std::str::FromStr for RealBoard {
    type Err = FlashError;
    fn from_str(name: &str) -> Result<Self, FlashError> {
        RealBoard::ALL
            .into_iter()
            .find(|board| board.name() == name)
            .ok_or_else(|| FlashError::UnknownBoard(name.into()))
    }
}

impl fmt::Display for RealBoard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FlashError {
    #[error("unknown board `{0}`; the boards are microbit-v2 and rp2040-pico")]
    UnknownBoard(String),
    #[error("not firmware: {0}")]
    BadElf(String),
    #[error("probe-rs does not know the chip {0}: {1}")]
    UnknownChip(&'static str, String),
    #[error("the firmware has nothing to load (no loadable segment with bytes)")]
    Empty,
    #[error(
        "{what} at {start:#010x}..{end:#010x} lies outside the {chip}'s flash ({flash_start:#010x}..{flash_end:#010x})"
    )]
    OutsideFlash { what: String, start: u64, end: u64, chip: &'static str, flash_start: u64, flash_end: u64 },
    #[error(
        "{what} at {start:#010x}..{end:#010x} overlaps model slot {slot} ({slot_start:#010x}..{slot_end:#010x})"
    )]
    SlotOverlap { what: String, start: u64, end: u64, slot: usize, slot_start: u64, slot_end: u64 },
    #[error("the model ({size} bytes) does not fit a model slot ({capacity} bytes)")]
    ModelTooLarge { size: usize, capacity: u64 },
    #[error("no debug probe found. {hint}")]
    NoProbe { hint: &'static str },
    #[error("flashing through the probe failed: {0}")]
    Probe(String),
    #[error("UF2 images are for the RP2040's bootloader; {0} is flashed through its debug probe")]
    NoUf2(RealBoard),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl FlashError {
    /// A stable code for scripts and the app.
    pub fn code(&self) -> &'static str {
        match self {
            FlashError::UnknownBoard(_) => "unknown_board",
            FlashError::BadElf(_) | FlashError::Empty => "not_firmware",
            FlashError::UnknownChip(..) => "unknown_chip",
            FlashError::OutsideFlash { .. } => "outside_flash",
            FlashError::SlotOverlap { .. } => "slot_overlap",
            FlashError::ModelTooLarge { .. } => "model_too_large",
            FlashError::NoProbe { .. } => "no_probe",
            FlashError::Probe(_) => "probe_failed",
            FlashError::NoUf2(_) => "no_uf2",
            FlashError::Io(_) => "io",
        }
    }
}

/// Bytes to put at an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub what: String,
    pub address: u64,
    pub bytes: Vec<u8>,
}

/// The ELF's loadable segments at their load (physical) addresses — where the bytes go in flash
/// (`.data`'s initial values included).
pub fn elf_segments(elf: &[u8]) -> Result<Vec<Segment>, FlashError> {
    let file =
        ElfFile32::<object::LittleEndian>::parse(elf).map_err(|e| FlashError::BadElf(e.to_string()))?;
    let endian = file.endian();
    if file.elf_header().e_machine.get(endian) != object::elf::EM_ARM {
        return Err(FlashError::BadElf("not an ARM executable".into()));
    }
    let mut segments = Vec::new();
    for header in file.elf_program_headers() {
        if header.p_type(endian) != object::elf::PT_LOAD || header.p_filesz(endian) == 0 {
            continue;
        }
        let bytes = header
            .data(endian, elf)
            .map_err(|_| FlashError::BadElf("a segment runs past the file".into()))?;
        segments.push(Segment {
            what: format!("firmware segment {}", segments.len()),
            address: u64::from(header.p_paddr(endian)),
            bytes: bytes.to_vec(),
        });
    }
    if segments.is_empty() {
        return Err(FlashError::Empty);
    }
    segments.sort_by_key(|segment| segment.address);
    for (index, segment) in segments.iter_mut().enumerate() {
        segment.what = format!("firmware segment {index}");
    }
    Ok(segments)
}

/// A model blob laid out as slot 0 (`FlashModelStore`): the header sector, then the blob.
pub fn model_segments(board: RealBoard, blob: &[u8]) -> Result<Vec<Segment>, FlashError> {
    let slot = board.slots()[0].clone();
    let capacity = slot.end - slot.start - board.slot_sector();
    if blob.len() as u64 > capacity {
        return Err(FlashError::ModelTooLarge { size: blob.len(), capacity });
    }
    let header = mote_agent::slot_header(blob.len() as u32, mote_wire::CRC.checksum(blob), 1);
    Ok(vec![
        Segment { what: "model slot 0 header".into(), address: slot.start, bytes: header.to_vec() },
        Segment {
            what: "model slot 0".into(),
            address: slot.start + board.slot_sector(),
            bytes: blob.to_vec(),
        },
    ])
}

/// One write of the plan.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PlannedWrite {
    pub what: String,
    pub start: u64,
    pub len: u64,
}

/// What flashing would do.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FlashPlan {
    pub board: RealBoard,
    pub chip: &'static str,
    /// The probe-rs flash algorithm for the chip's flash.
    pub algorithm: String,
    pub flash: Range<u64>,
    pub sector_size: u64,
    pub writes: Vec<PlannedWrite>,
    /// Sector-aligned ranges erased before programming, merged.
    pub erase: Vec<Range<u64>>,
    pub bytes_written: u64,
    pub bytes_erased: u64,
}

impl fmt::Display for FlashPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} ({}), flash {:#010x}..{:#010x}, algorithm {}",
            self.board, self.chip, self.flash.start, self.flash.end, self.algorithm
        )?;
        for write in &self.writes {
            writeln!(f, "  write {:>7} B at {:#010x}  {}", write.len, write.start, write.what)?;
        }
        for range in &self.erase {
            writeln!(
                f,
                "  erase {:#010x}..{:#010x} ({} sectors of {} B)",
                range.start,
                range.end,
                (range.end - range.start) / self.sector_size,
                self.sector_size
            )?;
        }
        write!(f, "  {} B written, {} B erased", self.bytes_written, self.bytes_erased)
    }
}

/// The plan for `segments` (firmware and perhaps a model) on `board`.
pub fn plan(board: RealBoard, segments: &[Segment]) -> Result<FlashPlan, FlashError> {
    let target = Registry::from_builtin_families()
        .get_target_by_name(board.chip())
        .map_err(|e| FlashError::UnknownChip(board.chip(), e.to_string()))?;
    let flash = target
        .memory_map
        .iter()
        .find_map(|region| match region {
            MemoryRegion::Nvm(nvm) if !nvm.is_alias => Some(nvm.range.clone()),
            _ => None,
        })
        .ok_or_else(|| FlashError::UnknownChip(board.chip(), "no flash in its memory map".into()))?;
    let algorithm = target
        .flash_algorithms
        .iter()
        .filter(|algorithm| algorithm.flash_properties.address_range.start <= flash.start)
        .max_by_key(|algorithm| algorithm.default)
        .ok_or_else(|| FlashError::UnknownChip(board.chip(), "no flash algorithm".into()))?;
    let sector_size = algorithm.flash_properties.sectors.first().map_or(4096, |sector| sector.size).max(1);

    let firmware_end = |segment: &Segment| segment.address + segment.bytes.len() as u64;
    let mut writes = Vec::new();
    for segment in segments {
        let (start, end) = (segment.address, firmware_end(segment));
        if start < flash.start || end > flash.end {
            return Err(FlashError::OutsideFlash {
                what: segment.what.clone(),
                start,
                end,
                chip: board.chip(),
                flash_start: flash.start,
                flash_end: flash.end,
            });
        }
        let is_model = segment.what.starts_with("model");
        for (slot, range) in board.slots().iter().enumerate() {
            if !is_model && start < range.end && range.start < end {
                return Err(FlashError::SlotOverlap {
                    what: segment.what.clone(),
                    start,
                    end,
                    slot,
                    slot_start: range.start,
                    slot_end: range.end,
                });
            }
        }
        writes.push(PlannedWrite { what: segment.what.clone(), start, len: end - start });
    }
    // Sectors touched, merged into ranges.
    let mut sectors = BTreeMap::new();
    for write in &writes {
        let first = (write.start - flash.start) / sector_size;
        let last = (write.start + write.len - 1 - flash.start) / sector_size;
        for sector in first..=last {
            sectors.insert(sector, ());
        }
    }
    let mut erase: Vec<Range<u64>> = Vec::new();
    for &sector in sectors.keys() {
        let start = flash.start + sector * sector_size;
        match erase.last_mut() {
            Some(last) if last.end == start => last.end += sector_size,
            _ => erase.push(start..start + sector_size),
        }
    }
    Ok(FlashPlan {
        board,
        chip: board.chip(),
        algorithm: algorithm.name.clone(),
        flash,
        sector_size,
        bytes_written: writes.iter().map(|write| write.len).sum(),
        bytes_erased: erase.iter().map(|range| range.end - range.start).sum(),
        writes,
        erase,
    })
}

/// The attached debug probes, by name.
pub fn list_probes() -> Vec<String> {
    probe_rs::probe::list::Lister::new()
        .list_all()
        .into_iter()
        .map(|probe| format!("{} ({:04x}:{:04x})", probe.identifier, probe.vendor_id, probe.product_id))
        .collect()
}

/// Progress of a probe flash: (operation, bytes done, bytes total).
pub type Progress<'a> = &'a mut dyn FnMut(&str, u64, u64);

/// Erases and programs `segments` through the first debug probe found, then resets the board.
/// Not run here: there is no board or probe on the test machine; the probe-less path is tested.
pub fn flash_with_probe(
    board: RealBoard,
    segments: &[Segment],
    progress: Progress<'_>,
) -> Result<(), FlashError> {
    let checked = plan(board, segments)?;
    let probes = probe_rs::probe::list::Lister::new().list_all();
    let Some(info) = probes.first() else {
        return Err(FlashError::NoProbe {
            hint: match board {
                RealBoard::MicrobitV2 => {
                    "Connect the micro:bit by USB: its interface chip is the probe (on Linux, a udev rule for 0d28:0204 gives your user access)."
                }
                RealBoard::Rp2040Pico => {
                    "Wire a debug probe to the Pico's SWD pins, or use its USB bootloader instead: hold BOOTSEL while plugging it in and pass --uf2."
                }
            },
        });
    };
    let probe_error = |e: &dyn std::fmt::Display| FlashError::Probe(e.to_string());
    let probe = info.open().map_err(|e| probe_error(&e))?;
    let mut session =
        probe.attach(board.chip(), probe_rs::Permissions::default()).map_err(|e| probe_error(&e))?;
    let mut loader = session.target().flash_loader();
    for segment in segments {
        loader.add_data(segment.address, &segment.bytes).map_err(|e| probe_error(&e))?;
    }
    let total = checked.bytes_written;
    let mut done = 0u64;
    let mut options = probe_rs::flashing::DownloadOptions::default();
    options.verify = true;
    options.progress = probe_rs::flashing::FlashProgress::new(move |event| {
        if let probe_rs::flashing::ProgressEvent::Progress { operation, size, .. } = event {
            done += size;
            let name = match operation {
                probe_rs::flashing::ProgressOperation::Erase => "erase",
                probe_rs::flashing::ProgressOperation::Program => "program",
                probe_rs::flashing::ProgressOperation::Verify => "verify",
                probe_rs::flashing::ProgressOperation::Fill => "fill",
            };
            progress(name, done.min(total), total);
        }
    });
    loader.commit(&mut session, options).map_err(|e| probe_error(&e))?;
    session.core(0).and_then(|mut core| core.reset()).map_err(|e| probe_error(&e))?;
    Ok(())
}

/// The UF2 family id of the RP2040.
pub const RP2040_FAMILY: u32 = 0xe48b_ff56;
const UF2_MAGIC_START0: u32 = 0x0A32_4655;
const UF2_MAGIC_START1: u32 = 0x9E5D_5157;
const UF2_MAGIC_END: u32 = 0x0AB1_6F30;
const UF2_FLAG_FAMILY: u32 = 0x0000_2000;
const UF2_PAYLOAD: u64 = 256;

/// A UF2 image of `segments` for the RP2040 bootloader: one 512-byte block per 256-byte flash
/// page touched (untouched bytes of a page are 0xFF).
pub fn uf2(board: RealBoard, segments: &[Segment]) -> Result<Vec<u8>, FlashError> {
    if board != RealBoard::Rp2040Pico {
        return Err(FlashError::NoUf2(board));
    }
    plan(board, segments)?;
    let mut pages: BTreeMap<u64, [u8; UF2_PAYLOAD as usize]> = BTreeMap::new();
    for segment in segments {
        for (i, byte) in segment.bytes.iter().enumerate() {
            let address = segment.address + i as u64;
            let page =
                pages.entry(address / UF2_PAYLOAD * UF2_PAYLOAD).or_insert([0xFF; UF2_PAYLOAD as usize]);
            page[(address % UF2_PAYLOAD) as usize] = *byte;
        }
    }
    let count = pages.len() as u32;
    let mut image = Vec::with_capacity(pages.len() * 512);
    for (number, (address, payload)) in pages.iter().enumerate() {
        let mut block = [0u8; 512];
        let words = [
            UF2_MAGIC_START0,
            UF2_MAGIC_START1,
            UF2_FLAG_FAMILY,
            *address as u32,
            UF2_PAYLOAD as u32,
            number as u32,
            count,
            RP2040_FAMILY,
        ];
        for (i, word) in words.iter().enumerate() {
            block[i * 4..i * 4 + 4].copy_from_slice(&word.to_le_bytes());
        }
        block[32..32 + UF2_PAYLOAD as usize].copy_from_slice(payload);
        block[508..].copy_from_slice(&UF2_MAGIC_END.to_le_bytes());
        image.extend_from_slice(&block);
    }
    Ok(image)
}

/// A mounted RP2040 bootloader drive (`RPI-RP2`, recognised by its `INFO_UF2.TXT`), searched in
/// the usual mount places.
pub fn find_uf2_drive() -> Option<PathBuf> {
    let user = std::env::var("USER").unwrap_or_default();
    let roots = [format!("/media/{user}"), format!("/run/media/{user}"), "/media".into(), "/mnt".into()];
    roots
        .iter()
        .map(|root| Path::new(root).join("RPI-RP2"))
        .find(|drive| drive.join("INFO_UF2.TXT").is_file())
}
