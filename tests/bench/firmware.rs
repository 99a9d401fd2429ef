//! The firmware on the emulated Cortex-M4F (QEMU mps2-an386, `-icount shift=0`: one instruction
//! per virtual nanosecond): instructions per window for DSP and inference with three models
//! trained here, instructions per MAC and per DSP input value, the ELF split into runtime, DSP,
//! agent and the rest, static RAM, and the stack's high-water mark read from painted memory
//! through QEMU's monitor after all the inference ran.
//!
//! `cargo test -p mote-e2e --bench firmware` (debug profile, as the other benches here; after `scripts/build-firmware.sh`; trains with the
//! debug-built `mote`). Figures in docs/benchmarks.md.

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use mote_e2e::clib::{CNN, DENSE, ModelSettings, mote, train_basic_motions};
use mote_pipeline::emulator::{BootOptions, EmulatedBoard};

/// From the firmware (device-agent/firmware/qemu-mps2-an386/src/main.rs).
const STACK_TOP: u32 = 0x2040_0000;
const STACK_PAINTED: u32 = 64 * 1024;
const STACK_PAINT: u32 = 0x5354_4b21;
const WINDOWS: usize = 6;

struct Measured {
    name: &'static str,
    macs: u64,
    dsp_values: u64,
    blob: usize,
    arena: usize,
    dsp: Vec<u64>,
    nn: Vec<u64>,
    /// The pipeline's estimate for the Cortex-M4F (cycles for NN and DSP).
    estimated: (f64, f64),
}

fn median(values: &[u64]) -> u64 {
    let mut sorted = values.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

/// Trains BasicMotions with `dsp`/`learn` settings (stride 1 s, so the board classifies once a
/// second), uploads it, and reads WINDOWS results with their instruction counts.
fn measure((name, dsp, learn): ModelSettings, port: &str) -> Measured {
    let work = tempfile::tempdir().unwrap();
    train_basic_motions(work.path(), 1000, dsp, learn);
    mote(work.path(), &["deploy", "--project", "p", "--port", port]);
    let text = mote(
        work.path(),
        &["--json", "live", "--project", "p", "--port", port, "--windows", &WINDOWS.to_string()],
    );
    let (mut dsp_counts, mut nn_counts) = (Vec::new(), Vec::new());
    for line in text.lines().filter(|line| line.starts_with('{') && line.contains("\"seq\"")) {
        let window: serde_json::Value = serde_json::from_str(line).unwrap();
        dsp_counts.push(window["dsp_instructions"].as_u64().expect("instructions counted"));
        nn_counts.push(window["nn_instructions"].as_u64().expect("instructions counted"));
    }
    assert_eq!(nn_counts.len(), WINDOWS, "{text}");
    let blob = std::fs::read(work.path().join("p/models/1/model.mote")).unwrap();
    let model = mote_runtime::Model::parse(&blob).expect("the trained blob parses");
    let footprint = mote_convert::estimate::Footprint::of(&model);
    let m4f = mote_convert::estimate::TARGETS.iter().find(|t| t.id == "cortex-m4f-64mhz").unwrap();
    let estimated = (
        footprint.nn_cycles(m4f),
        footprint.dsp_values as f64 * f64::from(footprint.dsp_instructions_per_value),
    );
    Measured {
        name,
        macs: model.macs(),
        dsp_values: 100 * 6, // a 10 s window at 10 Hz, 6 axes
        blob: blob.len(),
        arena: model.arena_len(),
        dsp: dsp_counts,
        nn: nn_counts,
        estimated,
    }
}

/// Code and read-only data per part of the firmware, from the ELF's symbols.
fn elf_split(elf: &Path) -> BTreeMap<&'static str, u64> {
    let output = Command::new("arm-none-eabi-nm")
        .args(["--print-size", "--size-sort", "--demangle"])
        .arg(elf)
        .output()
        .expect("arm-none-eabi-nm (binutils-arm-none-eabi) runs");
    let mut parts = BTreeMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let fields: Vec<&str> = line.splitn(4, ' ').collect();
        let [_, size, kind, name] = fields[..] else { continue };
        if !matches!(kind, "t" | "T" | "r" | "R") {
            continue;
        }
        let size = u64::from_str_radix(size, 16).unwrap_or(0);
        let part = if name.contains("mote_runtime") {
            "runtime"
        } else if name.contains("mote_dsp") || name.contains("microfft") {
            "DSP"
        } else if name.contains("mote_agent") || name.contains("mote_wire") || name.contains("postcard") {
            "agent + wire"
        } else if name.contains("REPLAY") {
            "replay table"
        } else {
            "board, core and the rest"
        };
        *parts.entry(part).or_insert(0) += size;
    }
    parts
}

/// `.text`, `.rodata`, `.data`, `.bss` sizes.
fn sections(elf: &Path) -> BTreeMap<String, u64> {
    let output =
        Command::new("arm-none-eabi-size").arg("-A").arg(elf).output().expect("arm-none-eabi-size runs");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (name, size) = (fields.next()?, fields.next()?.parse().ok()?);
            name.starts_with('.').then(|| (name.to_string(), size))
        })
        .collect()
}

/// The deepest the stack went: painted words still intact from the bottom of the painted span.
fn stack_high_water(monitor: &Path) -> u32 {
    let dump = tempfile::NamedTempFile::new().unwrap();
    let mut socket = std::os::unix::net::UnixStream::connect(monitor).expect("QEMU monitor");
    socket.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    let command =
        format!("pmemsave {:#x} {STACK_PAINTED} \"{}\"\n", STACK_TOP - STACK_PAINTED, dump.path().display());
    socket.write_all(command.as_bytes()).unwrap();
    // The monitor echoes the command and prompts again once it has run it.
    let mut said = Vec::new();
    let mut chunk = [0u8; 4096];
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        if let Ok(n) = socket.read(&mut chunk) {
            said.extend_from_slice(&chunk[..n]);
        }
        let text = String::from_utf8_lossy(&said);
        if text.matches("(qemu)").count() >= 2 {
            break;
        }
    }
    let bytes = std::fs::read(dump.path()).unwrap();
    assert_eq!(
        bytes.len(),
        STACK_PAINTED as usize,
        "pmemsave wrote the span; the monitor said {:?}",
        String::from_utf8_lossy(&said)
    );
    let intact = bytes
        .chunks_exact(4)
        .take_while(|word| u32::from_le_bytes([word[0], word[1], word[2], word[3]]) == STACK_PAINT)
        .count() as u32;
    assert!(intact > 0, "the stack used the whole painted span (≥ {STACK_PAINTED} B)");
    STACK_PAINTED - intact * 4
}

fn main() {
    let elf = mote_e2e::qemu::firmware_elf();
    let dir = tempfile::tempdir().unwrap();
    let monitor = dir.path().join("monitor.sock");
    let board = EmulatedBoard::boot(&BootOptions {
        elf: Some(elf.clone()),
        register: false,
        monitor: Some(monitor.clone()),
    })
    .expect("the emulated board boots");

    let spectral = (
        "spectral (FFT 64) → dense 30-16-4",
        "block = \"spectral\"",
        "block = \"dense\"\nhidden = [30, 16]\nepochs = 60",
    );
    let runs = [measure(DENSE, &board.port), measure(CNN, &board.port), measure(spectral, &board.port)];
    let stack = stack_high_water(&monitor);
    drop(board);

    println!("instructions per window on the emulated Cortex-M4F ({WINDOWS} windows each, median):");
    println!(
        "| model | MACs | NN instructions (estimate) | per MAC | DSP instructions (estimate) | per input value | blob | arena |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for run in &runs {
        let (nn, dsp) = (median(&run.nn), median(&run.dsp));
        println!(
            "| {} | {} | {} ({:.0}) | {:.2} | {} ({:.0}) | {:.1} | {} B | {} B |",
            run.name,
            run.macs,
            nn,
            run.estimated.0,
            nn as f64 / run.macs.max(1) as f64,
            dsp,
            run.estimated.1,
            dsp as f64 / run.dsp_values as f64,
            run.blob,
            run.arena
        );
        let spread = |v: &[u64]| v.iter().max().unwrap() - v.iter().min().unwrap();
        println!("|   (spread across windows: NN {}, DSP {}) |", spread(&run.nn), spread(&run.dsp));
    }
    println!();
    println!("ELF {} — code and read-only data by part (symbol sizes):", elf.display());
    for (part, size) in elf_split(&elf) {
        println!("  {part:<28} {size:>8} B");
    }
    let sections = sections(&elf);
    for name in [".vector_table", ".text", ".rodata", ".data", ".bss", ".uninit"] {
        if let Some(size) = sections.get(name) {
            println!("  section {name:<20} {size:>8} B");
        }
    }
    println!("stack high-water (painted {STACK_PAINTED} B below {STACK_TOP:#x}): {stack} B");
}
