//! What a firmware image costs: flash and static RAM from an ELF's sections, and its code and
//! read-only data attributed to Mote's parts by symbol (the crate a symbol's name belongs to).
//!
//! The attribution is by the symbol that holds the code: with link-time optimisation a kernel
//! inlined into the agent counts as the agent's, so the parts are a close estimate, not exact;
//! the totals are exact.

use object::{Object as _, ObjectSection as _, ObjectSymbol as _, SectionKind, SymbolKind};
use serde::Serialize;

use crate::FlashError;

/// Flash and RAM of one firmware.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Footprint {
    /// Bytes in flash: code, read-only data, the initial values of `.data`, the vector table.
    pub flash: u64,
    /// Static RAM: `.data`, `.bss` and `.uninit` (the stack comes on top; it is measured, not
    /// read from the ELF).
    pub static_ram: u64,
    /// Flash code and read-only data by part, largest first; the rest (start-up code, padding,
    /// data without a symbol) is under "board, core and the rest".
    pub flash_parts: Vec<(String, u64)>,
    /// Static RAM by part (the inference buffers, the model slots, the rest).
    pub ram_parts: Vec<(String, u64)>,
}

/// The part a flash symbol belongs to, from its (mangled or not) name.
fn flash_part(name: &str) -> &'static str {
    if name.contains("mote_runtime") {
        "runtime"
    } else if name.contains("mote_dsp") || name.contains("microfft") {
        "DSP"
    } else if name.contains("mote_agent") || name.contains("mote_wire") || name.contains("postcard") {
        "agent + wire"
    } else if name.contains("4lean5MODEL") || name.contains("lean::MODEL") {
        "model"
    } else if name.contains("REPLAY") {
        "replayed sensor table"
    } else {
        "board, core and the rest"
    }
}

/// The part a RAM symbol belongs to.
fn ram_part(name: &str) -> &'static str {
    if name.contains("BUFFERS") {
        "inference buffers"
    } else if name.contains("STORE") {
        "model slots"
    } else {
        "agent, board and the rest"
    }
}

/// Reads `elf`'s footprint.
pub fn footprint(elf: &[u8]) -> Result<Footprint, FlashError> {
    let file = object::File::parse(elf).map_err(|e| FlashError::BadElf(e.to_string()))?;
    let (mut flash, mut static_ram) = (0, 0);
    let mut flash_sections = Vec::new();
    let mut ram_sections = Vec::new();
    for section in file.sections() {
        let name = section.name().unwrap_or_default();
        let size = section.size();
        match section.kind() {
            SectionKind::Text | SectionKind::ReadOnlyData | SectionKind::ReadOnlyString => {
                flash += size;
                flash_sections.push(section.index());
            }
            SectionKind::Data => {
                // Initial values in flash, the variables in RAM.
                flash += size;
                static_ram += size;
                ram_sections.push(section.index());
            }
            SectionKind::UninitializedData => {
                static_ram += size;
                ram_sections.push(section.index());
            }
            _ if name == ".vector_table" => {
                flash += size;
                flash_sections.push(section.index());
            }
            _ if name == ".uninit" => {
                static_ram += size;
                ram_sections.push(section.index());
            }
            _ => {}
        }
    }
    let mut flash_parts = std::collections::BTreeMap::<&str, u64>::new();
    let mut ram_parts = std::collections::BTreeMap::<&str, u64>::new();
    for symbol in file.symbols() {
        if !matches!(symbol.kind(), SymbolKind::Text | SymbolKind::Data) || symbol.size() == 0 {
            continue;
        }
        let Some(section) = symbol.section_index() else { continue };
        let name = symbol.name().unwrap_or_default();
        if flash_sections.contains(&section) {
            *flash_parts.entry(flash_part(name)).or_default() += symbol.size();
        } else if ram_sections.contains(&section) {
            *ram_parts.entry(ram_part(name)).or_default() += symbol.size();
        }
    }
    let complete = |parts: std::collections::BTreeMap<&str, u64>, total: u64, rest: &str| {
        let named: u64 = parts.iter().filter(|(part, _)| **part != rest).map(|(_, size)| size).sum();
        let mut parts: Vec<(String, u64)> = parts
            .into_iter()
            .filter(|(part, _)| *part != rest)
            .map(|(part, size)| (part.to_string(), size))
            .collect();
        parts.push((rest.to_string(), total.saturating_sub(named)));
        parts.sort_by(|a, b| b.1.cmp(&a.1));
        parts
    };
    Ok(Footprint {
        flash,
        static_ram,
        flash_parts: complete(flash_parts, flash, "board, core and the rest"),
        ram_parts: complete(ram_parts, static_ram, "agent, board and the rest"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parts_by_crate() {
        assert_eq!(flash_part("_ZN12mote_runtime7kernels4conv6Conv2d3run17h0123456789abcdefE"), "runtime");
        assert_eq!(flash_part("_ZN8mote_dsp7flatten7Flatten7compute17h0123456789abcdefE"), "DSP");
        assert_eq!(flash_part("_ZN10mote_agent5agent5Agent4poll17h0123456789abcdefE"), "agent + wire");
        assert_eq!(flash_part("_ZN15qemu_mps2_an3864lean5MODEL17h0123456789abcdefE"), "model");
        assert_eq!(flash_part("memcpy"), "board, core and the rest");
        assert_eq!(ram_part("_ZN15qemu_mps2_an3867BUFFERS17h0123456789abcdefE"), "inference buffers");
    }

    #[test]
    fn refuses_what_is_not_an_elf() {
        assert!(footprint(b"not an elf at all").is_err());
    }
}
