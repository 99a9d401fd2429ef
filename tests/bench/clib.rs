//! The C library on the emulated Cortex-M4F, next to the Rust firmware in the same run: for a
//! dense network and a 1-D CNN trained on BasicMotions, the exported static-buffer example's
//! flash and RAM split into library, model, example and C runtime (from the linker's map), and
//! instructions per window (`tests/clib/bench.c`, SysTick under `-icount shift=0`) against the
//! instructions the firmware reports for the same model (`mote live`, DSP + network).
//!
//! `cargo test -p mote-e2e --bench clib` (after `scripts/build-firmware.sh`; the C library is
//! built by the export). Figures in docs/benchmarks.md.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use mote_e2e::clib::{CNN, DENSE, Machine, ModelSettings, mote, sources, train_basic_motions};
use mote_pipeline::emulator::{BootOptions, EmulatedBoard};

const WINDOWS: usize = 6;

fn median(values: &mut [u64]) -> u64 {
    values.sort();
    values[values.len() / 2]
}

/// Compiles `source` (C) to an object for the Cortex-M4F.
fn object(export: &Path, source: &Path, out: &Path) {
    let status = Command::new("arm-none-eabi-gcc")
        .args(Machine::CortexM4f.cflags())
        .args(["--specs=picolibc.specs", "-O2", "-ffunction-sections", "-fdata-sections", "-c"])
        .arg("-I")
        .arg(export.join("include"))
        .arg("-I")
        .arg(export.join("examples/static_buffer"))
        .arg(source)
        .arg("-o")
        .arg(out)
        .status()
        .unwrap();
    assert!(status.success(), "compiling {}", source.display());
}

/// Links `objects` with the Cortex-M4F library for mps2-an386; writes `<elf>.map`.
fn link(export: &Path, objects: &[&Path], elf: &Path) {
    let status = Command::new("arm-none-eabi-gcc")
        .args(Machine::CortexM4f.cflags())
        .args(["--specs=picolibc.specs", "--oslib=semihost", "--crt0=semihost", "-Wl,--gc-sections"])
        .args(["-Wl,--no-warn-execstack", "-Wl,--defsym=__flash=0x0", "-Wl,--defsym=__flash_size=0x400000"])
        .args(["-Wl,--defsym=__ram=0x20000000", "-Wl,--defsym=__ram_size=0x400000"])
        .args(objects)
        .arg(export.join("lib/cortex-m4f/libmote.a"))
        .arg(format!("-Wl,-Map,{}", elf.with_extension("map").display()))
        .arg("-o")
        .arg(elf)
        .status()
        .unwrap();
    assert!(status.success(), "linking {}", elf.display());
}

/// (flash, RAM) bytes by part, from the map's input sections: `.text`/`.init`/`.rodata` count as
/// flash, `.data` as both, `.bss` as RAM; picolibc's stack reservation is reported on its own.
fn split(map: &Path) -> BTreeMap<&'static str, (u64, u64)> {
    let text = std::fs::read_to_string(map).unwrap();
    let body = &text[text.find("Linker script and memory map").unwrap()..];
    let mut parts: BTreeMap<&'static str, (u64, u64)> = BTreeMap::new();
    let mut output = String::new();
    let mut pending: Option<String> = None;
    for line in body.lines() {
        if line.starts_with('.') {
            output = line.split_whitespace().next().unwrap_or("").to_string();
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let (size, file) = match words.as_slice() {
            [name] if name.starts_with('.') => {
                pending = Some(name.to_string());
                continue;
            }
            [address, size, file] if pending.is_some() && address.starts_with("0x") => (*size, *file),
            [name, address, size, file] if name.starts_with('.') && address.starts_with("0x") => {
                (*size, *file)
            }
            _ => {
                pending = None;
                continue;
            }
        };
        pending = None;
        let Ok(size) = u64::from_str_radix(size.trim_start_matches("0x"), 16) else { continue };
        let part = if file.contains("libmote.a") {
            "library (libmote.a)"
        } else if file.ends_with("mote_model.o") {
            "model (mote_model.c)"
        } else if file.ends_with("main.o") || file.ends_with("bench.o") {
            "example (main.c + windows.h)"
        } else {
            "C runtime (picolibc, libgcc, startup)"
        };
        let entry = parts.entry(part).or_default();
        match output.as_str() {
            ".text" | ".init" | ".rodata" | ".fini" => entry.0 += size,
            ".data" => {
                entry.0 += size;
                entry.1 += size;
            }
            ".bss" | ".tbss" | ".noinit" => entry.1 += size,
            ".stack" => parts.entry("stack (picolibc's reservation)").or_default().1 += size,
            _ => {}
        }
    }
    parts
}

struct Run {
    name: &'static str,
    macs: u64,
    split: BTreeMap<&'static str, (u64, u64)>,
    c_instructions: u64,
    rust_instructions: u64,
    rust_dsp: u64,
    rust_nn: u64,
}

fn measure((name, dsp, learn): ModelSettings, port: &str) -> Run {
    let work = tempfile::tempdir().unwrap();
    // Stride 1 s: the firmware classifies once a second (windows of 10 s, as the example's).
    let project = train_basic_motions(work.path(), 1000, dsp, learn);
    mote(work.path(), &["deploy", "--project", "p", "--export", "c-library", "--out", "c"]);
    let export = work.path().join("c");
    let build = work.path().join("build");
    std::fs::create_dir_all(&build).unwrap();
    let (main, model, bench) = (build.join("main.o"), build.join("mote_model.o"), build.join("bench.o"));
    object(&export, &export.join("examples/static_buffer/main.c"), &main);
    object(&export, &export.join("src/mote_model.c"), &model);
    object(&export, &sources().join("bench.c"), &bench);
    let example = build.join("static_buffer.elf");
    link(&export, &[&main, &model], &example);
    let counting = build.join("bench.elf");
    link(&export, &[&bench, &model], &counting);
    let ran = Machine::CortexM4f.run(&counting, true);
    assert!(ran.success, "{}", ran.text);
    let mut c_counts: Vec<u64> = ran
        .text
        .lines()
        .filter_map(|line| line.strip_prefix("instructions "))
        .map(|rest| rest.split(' ').nth(1).unwrap().parse().unwrap())
        .collect();
    assert_eq!(c_counts.len(), 40, "{}", ran.text);

    mote(work.path(), &["deploy", "--project", "p", "--port", port]);
    let text = mote(
        work.path(),
        &["--json", "live", "--project", "p", "--port", port, "--windows", &WINDOWS.to_string()],
    );
    let (mut totals, mut dsp_counts, mut nn_counts) = (Vec::new(), Vec::new(), Vec::new());
    for line in text.lines().filter(|line| line.starts_with('{') && line.contains("\"seq\"")) {
        let window: serde_json::Value = serde_json::from_str(line).unwrap();
        let dsp = window["dsp_instructions"].as_u64().expect("instructions counted");
        let nn = window["nn_instructions"].as_u64().expect("instructions counted");
        totals.push(dsp + nn);
        dsp_counts.push(dsp);
        nn_counts.push(nn);
    }
    assert_eq!(totals.len(), WINDOWS, "{text}");
    let blob = std::fs::read(project.join("models/1/model.mote")).unwrap();
    let model = mote_runtime::Model::parse(&blob).unwrap();
    Run {
        name,
        macs: model.macs(),
        split: split(&example.with_extension("map")),
        c_instructions: median(&mut c_counts),
        rust_instructions: median(&mut totals),
        rust_dsp: median(&mut dsp_counts),
        rust_nn: median(&mut nn_counts),
    }
}

fn main() {
    let board = EmulatedBoard::boot(&BootOptions {
        elf: Some(mote_e2e::qemu::firmware_elf()),
        register: false,
        monitor: None,
    })
    .expect("the emulated board boots");
    let runs = [measure(DENSE, &board.port), measure(CNN, &board.port)];
    drop(board);
    println!(
        "instructions per window on the emulated Cortex-M4F (median; C: 40 test windows, firmware: {WINDOWS} live windows):"
    );
    println!(
        "| model | MACs | C library (libmote.a from C) | Rust firmware (DSP + network) | C / firmware |"
    );
    println!("|---|---|---|---|---|");
    for run in &runs {
        println!(
            "| {} | {} | {} | {} ({} + {}) | {:.3}× |",
            run.name,
            run.macs,
            run.c_instructions,
            run.rust_instructions,
            run.rust_dsp,
            run.rust_nn,
            run.c_instructions as f64 / run.rust_instructions as f64
        );
    }
    for run in &runs {
        println!();
        println!("static-buffer example, {} — bytes by part (linker map, -O2, --gc-sections):", run.name);
        println!("| part | flash | RAM |");
        println!("|---|---|---|");
        let (mut flash, mut ram) = (0, 0);
        for (part, (f, r)) in &run.split {
            println!("| {part} | {f} | {r} |");
            flash += f;
            ram += r;
        }
        println!("| total | {flash} | {ram} |");
    }
}
