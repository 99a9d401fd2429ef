//! Where the real boards keep their two model slots: the one table the firmware, `mote-flash`
//! (flash plans, a model placed in slot 0, UF2 images) and the tests read. Each board's
//! `memory.x` keeps code below `slot0`; `tests/flash.rs` holds the linker scripts to this table.

/// A board's flash and the two 64 KiB model slots at its top, as addresses the CPU reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlashLayout {
    /// Where flash starts in the address map (the flash driver's offset 0).
    pub flash_base: u32,
    pub flash_len: u32,
    pub slot0: u32,
    pub slot1: u32,
    pub slot_len: u32,
}

impl FlashLayout {
    /// Slot `index`'s offset from the start of flash (what a flash driver is given).
    pub const fn slot_offset(&self, index: usize) -> u32 {
        (if index == 0 { self.slot0 } else { self.slot1 }) - self.flash_base
    }
}

/// BBC micro:bit v2 (nRF52833): 512 KiB of flash at 0.
pub const MICROBIT_V2: FlashLayout = FlashLayout {
    flash_base: 0,
    flash_len: 512 * 1024,
    slot0: 0x0006_0000,
    slot1: 0x0007_0000,
    slot_len: 64 * 1024,
};

/// Raspberry Pi Pico (RP2040): 2 MiB of QSPI flash, executed in place at 0x1000_0000.
pub const RP2040_PICO: FlashLayout = FlashLayout {
    flash_base: 0x1000_0000,
    flash_len: 2 * 1024 * 1024,
    slot0: 0x101E_0000,
    slot1: 0x101F_0000,
    slot_len: 64 * 1024,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slots_are_the_top_128_kib_of_flash() {
        for layout in [MICROBIT_V2, RP2040_PICO] {
            assert_eq!(layout.slot1, layout.slot0 + layout.slot_len);
            assert_eq!(layout.slot1 + layout.slot_len, layout.flash_base + layout.flash_len);
        }
        assert_eq!((RP2040_PICO.slot_offset(0), RP2040_PICO.slot_offset(1)), (0x1E_0000, 0x1F_0000));
    }
}
