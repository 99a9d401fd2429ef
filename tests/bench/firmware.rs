//! The firmware on the emulated Cortex-M4F (QEMU mps2-an386, `-icount shift=0`: one instruction
//! per virtual nanosecond): instructions per window for DSP and inference with four models
//! trained here (dense, 1-D CNN, depthwise-separable CNN, spectral → dense), on the general agent
//! with the packed Armv7E-M kernels and on the same agent with the portable kernels (the
//! baseline, `scripts/build-firmware.sh --portable`); the peer engine `microflow` running the same
//! three networks on the same emulated core (`scripts/peers/microflow-m4f.sh`); the lean firmware
//! for the BasicMotions impulse (`mote deploy --export firmware`) on the emulated board and the
//! micro:bit v2, next to the general agent: flash and static RAM by part; and the stack's
//! high-water mark read from painted memory through QEMU's monitor after all the inference ran.
//!
//! `cargo test -p mote-e2e --bench firmware` (debug profile, as the other benches here; after
//! `scripts/build-firmware.sh`; trains with the debug-built `mote`; the peer needs the Python venv
//! the script installs). `MOTE_BENCH_PEER=0` skips the peer. Figures in docs/benchmarks.md.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use mote_e2e::clib::{CNN, DENSE, ModelSettings, SEPARABLE_CNN, mote, train_basic_motions};
use mote_pipeline::emulator::{BootOptions, EmulatedBoard};
use mote_pipeline::firmware::{Footprint, footprint};

/// From the firmware (device-agent/firmware/qemu-mps2-an386/src/main.rs).
const STACK_TOP: u32 = 0x2040_0000;
const STACK_PAINTED: u32 = 64 * 1024;
const STACK_PAINT: u32 = 0x5354_4b21;
const WINDOWS: usize = 6;

/// A model trained here, with what the pipeline says about it.
struct Trained {
    name: &'static str,
    /// The peer network it matches (`dense`, `cnn`, `dscnn`).
    peer: Option<&'static str>,
    work: tempfile::TempDir,
    macs: u64,
    blob: usize,
    arena: usize,
    /// The pipeline's estimate for the Cortex-M4F (cycles for NN and DSP).
    estimated: (f64, f64),
}

/// Instructions per window on one firmware: DSP and NN, one entry per window.
struct Counts {
    dsp: Vec<u64>,
    nn: Vec<u64>,
}

fn median(values: &[u64]) -> u64 {
    let mut sorted = values.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

/// Trains BasicMotions with `dsp`/`learn` settings (stride 1 s, so the board classifies once a
/// second).
fn train((name, dsp, learn): ModelSettings, peer: Option<&'static str>) -> Trained {
    let work = tempfile::tempdir().unwrap();
    train_basic_motions(work.path(), 1000, dsp, learn);
    let blob = std::fs::read(work.path().join("p/models/1/model.mote")).unwrap();
    let model = mote_runtime::Model::parse(&blob).expect("the trained blob parses");
    let footprint = mote_convert::estimate::Footprint::of(&model);
    let m4f = mote_convert::estimate::TARGETS.iter().find(|t| t.id == "cortex-m4f-64mhz").unwrap();
    let estimated = (
        footprint.nn_cycles(m4f),
        footprint.dsp_values as f64 * f64::from(footprint.dsp_instructions_per_value),
    );
    Trained { name, peer, macs: model.macs(), blob: blob.len(), arena: model.arena_len(), estimated, work }
}

/// Uploads the model to the board on `port` and reads WINDOWS results with their instruction
/// counts (and the host's parity check of each).
fn measure(trained: &Trained, port: &str) -> Counts {
    let dir = trained.work.path();
    mote(dir, &["deploy", "--project", "p", "--port", port]);
    let text = mote(
        dir,
        &["--json", "live", "--project", "p", "--port", port, "--verify", "--windows", &WINDOWS.to_string()],
    );
    let (mut dsp, mut nn) = (Vec::new(), Vec::new());
    for line in text.lines().filter(|line| line.starts_with('{') && line.contains("\"seq\"")) {
        let window: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(window["parity"], true, "{}: board and host differ: {window}", trained.name);
        dsp.push(window["dsp_instructions"].as_u64().expect("instructions counted"));
        nn.push(window["nn_instructions"].as_u64().expect("instructions counted"));
    }
    assert_eq!(nn.len(), WINDOWS, "{text}");
    Counts { dsp, nn }
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

/// The general agent's ELF for `board` (built by the test command's firmware step).
fn general_elf(board: &str) -> PathBuf {
    mote_pipeline::firmware::board_elf(board, "thumbv7em-none-eabihf")
}

fn read_footprint(elf: &Path) -> Footprint {
    footprint(&std::fs::read(elf).unwrap_or_else(|e| panic!("{}: {e}", elf.display()))).unwrap()
}

/// One column per firmware: flash and static RAM by part.
fn print_footprints(columns: &[(String, Footprint)]) {
    let mut parts: Vec<String> = Vec::new();
    for (_, footprint) in columns {
        for (part, _) in &footprint.flash_parts {
            if !parts.contains(part) {
                parts.push(part.clone());
            }
        }
    }
    let names: Vec<&str> = columns.iter().map(|(name, _)| name.as_str()).collect();
    println!("| flash (B) | {} |", names.join(" | "));
    println!("|---|{}", "---|".repeat(columns.len()));
    for part in &parts {
        let cells: Vec<String> = columns
            .iter()
            .map(|(_, f)| f.flash_parts.iter().find(|(p, _)| p == part).map_or(0, |(_, b)| *b).to_string())
            .collect();
        println!("| {part} | {} |", cells.join(" | "));
    }
    let totals: Vec<String> = columns.iter().map(|(_, f)| format!("**{}**", f.flash)).collect();
    println!("| **total** | {} |", totals.join(" | "));
    let mut ram_parts: Vec<String> = Vec::new();
    for (_, footprint) in columns {
        for (part, _) in &footprint.ram_parts {
            if !ram_parts.contains(part) {
                ram_parts.push(part.clone());
            }
        }
    }
    println!("| static RAM (B) | {} |", names.join(" | "));
    for part in &ram_parts {
        let cells: Vec<String> = columns
            .iter()
            .map(|(_, f)| f.ram_parts.iter().find(|(p, _)| p == part).map_or(0, |(_, b)| *b).to_string())
            .collect();
        println!("| {part} | {} |", cells.join(" | "));
    }
    let totals: Vec<String> = columns.iter().map(|(_, f)| format!("**{}**", f.static_ram)).collect();
    println!("| **total static RAM** | {} |", totals.join(" | "));
}

fn main() {
    let packed_elf = mote_e2e::qemu::firmware_elf();
    let status = Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/build-firmware.sh"))
        .args(["--portable", "qemu-mps2-an386"])
        .status()
        .unwrap();
    assert!(status.success(), "scripts/build-firmware.sh --portable");
    let portable_elf =
        mote_pipeline::firmware::variant_elf("portable", "qemu-mps2-an386", "thumbv7em-none-eabihf");
    let dir = tempfile::tempdir().unwrap();
    let monitor = dir.path().join("monitor.sock");
    let packed_board = EmulatedBoard::boot(&BootOptions {
        elf: Some(packed_elf.clone()),
        register: false,
        monitor: Some(monitor.clone()),
    })
    .expect("the emulated board boots");
    let portable_board =
        EmulatedBoard::boot(&BootOptions { elf: Some(portable_elf.clone()), register: false, monitor: None })
            .expect("the emulated board with the portable kernels boots");

    let spectral = (
        "spectral (FFT 64) → dense 30-16-4",
        "block = \"spectral\"",
        "block = \"dense\"\nhidden = [30, 16]\nepochs = 60",
    );
    let models = [
        train(DENSE, Some("dense")),
        train(CNN, Some("cnn")),
        train(SEPARABLE_CNN, Some("dscnn")),
        train(spectral, None),
    ];
    let runs: Vec<(Counts, Counts)> =
        models.iter().map(|m| (measure(m, &packed_board.port), measure(m, &portable_board.port))).collect();
    let stack = stack_high_water(&monitor);
    drop((packed_board, portable_board));

    let peers = if std::env::var("MOTE_BENCH_PEER").as_deref() == Ok("0") {
        Vec::new()
    } else {
        mote_e2e::peer::microflow_m4f()
    };

    println!("instructions per window on the emulated Cortex-M4F ({WINDOWS} windows each, median):");
    println!(
        "| model | MACs | NN portable kernels | NN packed (estimate) | speed-up | per MAC portable → packed | DSP instructions (estimate) | blob | arena |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (model, (packed, portable)) in models.iter().zip(&runs) {
        let (nn, nn_portable, dsp) = (median(&packed.nn), median(&portable.nn), median(&packed.dsp));
        let per_mac = |n: u64| n as f64 / model.macs.max(1) as f64;
        println!(
            "| {} | {} | {} | {} ({:.0}) | {:.2}× | {:.2} → {:.2} | {} ({:.0}) | {} B | {} B |",
            model.name,
            model.macs,
            nn_portable,
            nn,
            model.estimated.0,
            nn_portable as f64 / nn as f64,
            per_mac(nn_portable),
            per_mac(nn),
            dsp,
            model.estimated.1,
            model.blob,
            model.arena
        );
        let spread = |v: &[u64]| v.iter().max().unwrap() - v.iter().min().unwrap();
        println!("|   (spread across windows: NN {}, DSP {}) |", spread(&packed.nn), spread(&packed.dsp));
    }
    if !peers.is_empty() {
        println!();
        println!("against the peer on the same emulated core (instructions per inference):");
        println!(
            "| network | Mote (packed) | {} | Mote / peer | peer per MAC | peer flash (B) | peer stack (B) |",
            peers[0].engine
        );
        println!("|---|---|---|---|---|---|---|");
        for (model, (packed, _)) in models.iter().zip(&runs) {
            let Some(peer) = peers.iter().find(|p| Some(p.network.as_str()) == model.peer) else { continue };
            let nn = median(&packed.nn);
            println!(
                "| {} | {nn} | {} | {:.2} | {:.1} | {} | {} |",
                model.name,
                peer.instructions,
                nn as f64 / peer.instructions as f64,
                peer.instructions_per_mac(),
                peer.flash,
                peer.stack
            );
        }
        for peer in &peers {
            println!(
                "  peer {} {}: {} MACs, flash {} B (over an empty harness {} B) {:?}, static RAM {} B, stack {} B (harness {} B), output {:?} (LiteRT {:?})",
                peer.engine,
                peer.network,
                peer.macs,
                peer.flash,
                peer.flash_over_baseline,
                peer.flash_split,
                peer.static_ram,
                peer.stack,
                peer.stack_baseline,
                peer.output,
                peer.litert_output
            );
        }
    }

    // The lean firmware for the BasicMotions impulse (the dense model) next to the general agent.
    println!();
    println!("firmware footprints (ELF sections and symbols; the stack comes on top of static RAM):");
    let impulse = &models[0];
    let mut columns = Vec::new();
    for board in ["qemu-mps2-an386", "microbit-v2"] {
        let out = impulse.work.path().join(format!("lean-{board}"));
        mote(
            impulse.work.path(),
            &[
                "deploy",
                "--project",
                "p",
                "--export",
                "firmware",
                "--board",
                board,
                "--out",
                out.to_str().unwrap(),
            ],
        );
        columns.push((format!("{board} general"), read_footprint(&general_elf(board))));
        columns.push((
            format!("{board} lean (BasicMotions)"),
            read_footprint(&out.join(format!("{board}.elf"))),
        ));
    }
    print_footprints(&columns);

    // What each optional kernel and DSP block adds to a lean micro:bit firmware (any model can be
    // built in with any features; a blob needing a left-out one would be refused at run time),
    // next to the constants the flash estimate uses.
    println!();
    println!("lean micro:bit v2 firmware code by feature (the estimate's constants in brackets):");
    let blob = impulse.work.path().join("p/models/1/model.mote");
    let lean_flash = |features: &str| -> u64 {
        let bytes = std::fs::read(&blob).unwrap();
        let model = mote_runtime::Model::parse(&bytes).unwrap();
        let plan = mote_pipeline::firmware::lean_plan(&model).unwrap();
        let status = Command::new("bash")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/build-firmware.sh"))
            .args(["--lean", features, "microbit-v2"])
            .env("MOTE_LEAN_MODEL", &blob)
            .env("MOTE_LEAN_MEMORY", plan.memory.map(|n| n.to_string()).join(","))
            .status()
            .unwrap();
        assert!(status.success(), "lean build with {features}");
        read_footprint(&mote_pipeline::firmware::variant_elf("lean", "microbit-v2", "thumbv7em-none-eabihf"))
            .flash
    };
    let blob_bytes = std::fs::metadata(&blob).unwrap().len();
    let raw = lean_flash("mote-dsp/raw");
    println!(
        "  base (agent, wire, board, runtime core, raw block): {} B [{}]",
        raw - blob_bytes,
        mote_convert::estimate::LEAN_BASE_BYTES
    );
    for (kernel, constant) in mote_convert::estimate::KERNEL_CODE_BYTES {
        let with = lean_flash(&format!("mote-dsp/raw mote-runtime/{kernel}"));
        println!("  kernel {kernel}: +{} B [{constant}]", with - raw);
    }
    for (block, constant) in mote_convert::estimate::DSP_BLOCK_CODE_BYTES {
        let with = lean_flash(&format!("mote-dsp/{block}"));
        println!("  DSP block {block}: +{} B [{constant}]", with - raw);
    }
    println!(
        "stack high-water of the general agent on the emulated board (painted {STACK_PAINTED} B below {STACK_TOP:#x}), after every model ran: {stack} B"
    );
}
