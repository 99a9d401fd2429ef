//! A model for firmware other than Mote's agent, in every format: the blob, a C header and a
//! no_std Rust crate (`mote-convert`), and the two libraries built here.
//!
//! A model for anyone's firmware: the `c-library` export (headers, `libmote.a` for every core,
//! a C example, CMake, a README with the model's figures) and the `arduino` export (the same as
//! an Arduino library with precompiled archives, folder and zip). `libmote.a` is
//! `device-agent/capi`: Mote's own runtime and DSP behind a C ABI, so the firmware computes what
//! Mote computed, bit for bit.
//!
//! The archives ship with Mote (`mote-clib/` beside the executable, or `$MOTE_CLIB_DIR`), so an
//! export needs no Rust toolchain; in a checkout they are built from its sources when they changed
//! (`scripts/build-clib.sh`), as the board firmware is.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use mote_convert::HostBoard;
use mote_convert::estimate::{self, Footprint};
use mote_convert::export::c_string;
use mote_dsp::FeatureBlock;
use mote_formats::raw_counts::power_of_two_scale;
use mote_project::{Project, ProjectError, Sample, SampleFilter, Split};
use mote_runtime::Model;

/// A core `libmote.a` is built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Core {
    /// Folder name under `lib/` (and `scripts/build-clib.sh`'s name).
    pub name: &'static str,
    pub rust_target: &'static str,
    /// What to compile your C code with to link it.
    pub cflags: &'static str,
    pub describe: &'static str,
    /// Where Arduino's precompiled-library lookup finds it (`src/<build.mcu>[/<fpu>-<float-abi>]`),
    /// and the cores whose boards compile that way.
    pub arduino: Option<(&'static str, &'static str)>,
}

/// Every core the library is built for.
pub const CORES: [Core; 6] = [
    Core {
        name: "cortex-m0plus",
        rust_target: "thumbv6m-none-eabi",
        cflags: "-mcpu=cortex-m0plus -mthumb -mfloat-abi=soft",
        describe: "Cortex-M0+ (RP2040, SAMD21, nRF51…)",
        arduino: Some(("cortex-m0plus", "Arduino SAMD (Nano 33 IoT, MKR), Raspberry Pi Pico / RP2040 cores")),
    },
    Core {
        name: "cortex-m4f",
        rust_target: "thumbv7em-none-eabihf",
        cflags: "-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16",
        describe: "Cortex-M4F and Cortex-M7, hard-float ABI (STM32F4/L4/F7/H7, nRF52, i.MX RT…)",
        arduino: Some((
            "cortex-m4/fpv4-sp-d16-hard",
            "Arduino Renesas (UNO R4) and other hard-float Cortex-M4 cores",
        )),
    },
    Core {
        name: "cortex-m4f-softfp",
        rust_target: "thumbv7em-none-eabi",
        cflags: "-mcpu=cortex-m4 -mthumb -mfloat-abi=softfp -mfpu=fpv4-sp-d16",
        describe: "Cortex-M4F with the FPU and the soft-float calling convention (softfp)",
        arduino: Some(("cortex-m4/fpv4-sp-d16-softfp", "Arduino Mbed OS boards (Nano 33 BLE, Nicla Sense)")),
    },
    Core {
        name: "cortex-m33",
        rust_target: "thumbv8m.main-none-eabihf",
        cflags: "-mcpu=cortex-m33 -mthumb -mfloat-abi=hard -mfpu=fpv5-sp-d16",
        describe: "Cortex-M33, hard-float ABI (nRF53/nRF91, STM32U5/L5, RP2350)",
        arduino: Some(("cortex-m33/fpv5-sp-d16-hard", "hard-float Cortex-M33 cores")),
    },
    Core {
        name: "rv32imc",
        rust_target: "riscv32imc-unknown-none-elf",
        cflags: "-march=rv32imc -mabi=ilp32",
        describe: "RISC-V RV32IMC (ESP32-C3, CH32V3…)",
        arduino: Some(("esp32c3", "Arduino-ESP32 (ESP32-C3)")),
    },
    Core {
        name: "x86_64-linux",
        rust_target: "x86_64-unknown-linux-gnu",
        cflags: "",
        describe: "x86-64 Linux, for unit tests of your firmware code on a PC",
        arduino: None,
    },
];

/// The API header, the same file the library is built against.
pub const API_HEADER: &str = include_str!("../../device-agent/capi/include/mote.h");

/// `MOTE_CONTEXT_SIZE` in mote.h.
pub const CONTEXT_BYTES: usize = 256;

/// Every export format, as `mote deploy --export` and the app name them.
pub const FORMATS: [&str; 6] = ["blob", "c", "rust", "c-library", "arduino", "firmware"];

/// Writes the model `blob` of `project` in `format` into `out`; returns the files written.
/// `board` is the board a `firmware` export is built for (the others ignore it).
pub async fn export(
    project: &Project,
    format: &str,
    blob: &[u8],
    out: &Path,
    board: Option<&str>,
) -> Result<Vec<PathBuf>, ExportError> {
    match format {
        "c-library" => export_c_library(project, blob, out).await,
        "arduino" => export_arduino(project, blob, out).await,
        "firmware" => {
            let board = board.ok_or(ExportError::NeedsBoard)?;
            let (blob, board, out) = (blob.to_vec(), board.to_string(), out.to_path_buf());
            tokio::task::spawn_blocking(move || export_firmware(&blob, &board, &out))
                .await
                .map_err(|error| ExportError::BuildFailed(error.to_string()))?
        }
        "blob" | "c" | "rust" => Ok(mote_convert::export::write(format, blob, out)?),
        other => Err(ExportError::UnknownFormat(other.to_string())),
    }
}

/// Most bytes of example windows an export embeds (at least one window is always embedded).
const EXAMPLE_BUDGET_BYTES: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("unknown export format `{0}`; the formats are {formats}", formats = FORMATS.join(", "))]
    UnknownFormat(String),
    #[error(
        "a firmware export is built for one board; name it (--board), one of: {boards}",
        boards = crate::firmware::LEAN_BOARDS.map(|(board, _)| board).join(", ")
    )]
    NeedsBoard,
    #[error(transparent)]
    Firmware(#[from] crate::firmware::FirmwareError),
    #[error(
        "the C library for {core} is not at {}; Mote ships it in mote-clib/ beside its executable (or set MOTE_CLIB_DIR)",
        .path.display()
    )]
    NotBuilt { core: &'static str, path: PathBuf },
    #[error("building the C library failed (scripts/build-clib.sh):\n{0}")]
    BuildFailed(String),
    #[error("cannot run scripts/build-clib.sh: {0}")]
    RunBuild(std::io::Error),
    #[error(transparent)]
    Export(#[from] mote_convert::export::ExportError),
    #[error("the model blob is not valid: {0}")]
    Blob(#[from] mote_runtime::BlobError),
    #[error("the model's DSP block does not fit its window: {0}")]
    Dsp(#[from] mote_dsp::DspError),
    #[error("computing the example's expected results failed: {0}")]
    Host(#[from] mote_convert::HostRunError),
    #[error(transparent)]
    Project(#[from] ProjectError),
    #[error("cannot write {}: {source}", .path.display())]
    Write { path: PathBuf, source: std::io::Error },
    #[error("cannot read {}: {source}", .path.display())]
    Read { path: PathBuf, source: std::io::Error },
}

impl ExportError {
    pub fn code(&self) -> &'static str {
        match self {
            ExportError::NotBuilt { .. } => "library.not_built",
            ExportError::BuildFailed(_) | ExportError::RunBuild(_) => "build_failed",
            ExportError::UnknownFormat(_)
            | ExportError::Export(mote_convert::export::ExportError::Format(_)) => "export.format",
            ExportError::NeedsBoard => "export.board",
            ExportError::Firmware(error) => error.code(),
            ExportError::Export(mote_convert::export::ExportError::Blob(_))
            | ExportError::Blob(_)
            | ExportError::Dsp(_) => "model.invalid",
            ExportError::Export(mote_convert::export::ExportError::Write { .. }) => "io",
            ExportError::Host(_) => "library.host",
            ExportError::Project(error) => error.code(),
            ExportError::Write { .. } | ExportError::Read { .. } => "io",
        }
    }
}

/// Where the archives are (`<dir>/<core>/libmote.a` for every core): `$MOTE_CLIB_DIR` when set
/// (used as it is); else, in a checkout, built from its sources into the firmware target dir
/// (a no-op for cargo when nothing changed); else `mote-clib/` beside the executable, where an
/// installed Mote ships them.
pub fn prebuilt() -> Result<PathBuf, ExportError> {
    let dir = if let Some(dir) = std::env::var_os("MOTE_CLIB_DIR") {
        PathBuf::from(dir)
    } else if let Some(source) = crate::firmware::firmware_source() {
        build(&source)?;
        let target = std::env::var_os("MOTE_FIRMWARE_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| source.join("target"));
        target.join("mote-clib")
    } else {
        std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(|dir| dir.join("mote-clib")))
            .unwrap_or_else(|| PathBuf::from("mote-clib"))
    };
    for core in &CORES {
        let path = dir.join(core.name).join("libmote.a");
        if !path.is_file() {
            return Err(ExportError::NotBuilt { core: core.name, path });
        }
    }
    Ok(dir)
}

fn build(firmware_source: &Path) -> Result<(), ExportError> {
    let script = firmware_source.join("../../scripts/build-clib.sh");
    let output =
        Command::new("bash").arg(&script).stdin(Stdio::null()).output().map_err(ExportError::RunBuild)?;
    if !output.status.success() {
        let mut text = String::from_utf8_lossy(&output.stderr).into_owned();
        if text.trim().is_empty() {
            text = String::from_utf8_lossy(&output.stdout).into_owned();
        }
        return Err(ExportError::BuildFailed(text.trim_end().to_string()));
    }
    Ok(())
}

/// Working memory `mote_open` needs for `model`, as `device-agent/capi` lays it out: the window
/// (`i16`, padded to 4 bytes), features and DSP scratch (`f32`), the arena, and 3 bytes to align
/// an arbitrary buffer.
pub fn memory_bytes(model: &Model<'_>) -> Result<MemoryParts, ExportError> {
    let (samples, axes, rate) = (model.window_samples(), model.n_axes(), model.rate_hz());
    let scratch = model.dsp().scratch_len(samples, axes, rate)?;
    Ok(MemoryParts {
        window: (samples * axes * 2).next_multiple_of(4),
        features: model.n_features() * 4,
        scratch: scratch * 4,
        arena: model.arena_len(),
    })
}

/// The parts of the working memory, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryParts {
    pub window: usize,
    pub features: usize,
    pub scratch: usize,
    pub arena: usize,
}

impl MemoryParts {
    pub fn total(&self) -> usize {
        self.window + self.features + self.scratch + self.arena + 3
    }
}

/// One window of the project's own data, with what the host computes for it.
#[derive(Debug, Clone)]
pub struct ExampleWindow {
    pub sample: String,
    pub label: String,
    /// Interleaved raw counts, the model's axes in its order.
    pub counts: Vec<i16>,
    pub scales: Vec<f32>,
    pub scores: Vec<i8>,
    pub top: usize,
    pub anomaly: Option<f32>,
}

/// Windows of the project's test samples (the training samples when there are none), cut with
/// the model's window and stride, at most [`EXAMPLE_BUDGET_BYTES`] of counts, each classified on
/// the host with the board's code.
pub async fn example_windows(project: &Project, blob: &[u8]) -> Result<Vec<ExampleWindow>, ExportError> {
    let samples = project.load_samples(&SampleFilter::default()).await?;
    windows_of(&samples, blob)
}

fn windows_of(all: &[Sample], blob: &[u8]) -> Result<Vec<ExampleWindow>, ExportError> {
    let model = Model::parse(blob)?;
    let test: Vec<&Sample> = all.iter().filter(|sample| sample.info.split == Split::Test).collect();
    let samples = if test.is_empty() { all.iter().collect() } else { test };
    let axes: Vec<&str> = model.axes().collect();
    let (window, stride) = (model.window_samples(), model.stride_samples().max(1));
    let per_window = window * axes.len() * 2;
    let budget = (EXAMPLE_BUDGET_BYTES / per_window.max(1)).max(1);
    let mut windows = Vec::new();
    for sample in samples {
        let recording = &sample.recording;
        let Some(columns) = axes
            .iter()
            .map(|axis| recording.axes.iter().position(|a| a.name == *axis))
            .collect::<Option<Vec<usize>>>()
        else {
            continue;
        };
        let scales: Vec<f32> = columns.iter().map(|&c| recording.axes[c].scale as f32).collect();
        let mut host = HostBoard::new(blob, &scales)?;
        let (steps, width) = (recording.n_steps(), recording.n_axes());
        let mut start = 0;
        while start + window <= steps && windows.len() < budget {
            let counts: Vec<i16> = (start..start + window)
                .flat_map(|step| columns.iter().map(move |&c| recording.raw[step * width + c]))
                .collect();
            let result = host.classify(&counts)?;
            windows.push(ExampleWindow {
                sample: sample.info.name.clone(),
                label: sample.info.label.clone(),
                counts,
                scales: scales.clone(),
                scores: result.scores,
                top: result.top,
                anomaly: result.anomaly,
            });
            start += stride;
        }
    }
    Ok(windows)
}

/// Per axis, the power-of-two size of one count that holds the project's largest value on that
/// axis in ±32767 counts: the default scales for samples pushed as floats.
fn axis_scales(samples: &[Sample], model: &Model<'_>) -> Vec<f32> {
    model
        .axes()
        .map(|axis| {
            let largest = samples
                .iter()
                .filter_map(|sample| {
                    let recording = &sample.recording;
                    let column = recording.axes.iter().position(|a| a.name == axis)?;
                    let width = recording.n_axes();
                    let scale = recording.axes[column].scale;
                    recording
                        .raw
                        .iter()
                        .skip(column)
                        .step_by(width.max(1))
                        .map(|raw| f64::from(raw.unsigned_abs()) * scale)
                        .reduce(f64::max)
                })
                .fold(0.0, f64::max);
            power_of_two_scale(largest) as f32
        })
        .collect()
}

/// A float literal C reads back as the same `f32`.
fn c_float(value: f32) -> String {
    if value.is_finite() { format!("{value:?}f") } else { "0.0f".into() }
}

/// An identifier-safe name: letters, digits, `_`.
fn identifier(text: &str) -> String {
    let name: String = text.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    if name.starts_with(|c: char| c.is_ascii_digit()) || name.is_empty() { format!("m_{name}") } else { name }
}

/// `mote_model.h`: the model's sizes, labels, axes and default scales as macros; the blob is
/// declared here and defined in `mote_model.c`.
pub fn model_header(model: &Model<'_>, memory: &MemoryParts, scales: &[f32]) -> String {
    let mut h = String::new();
    let labels: Vec<&str> = model.labels().collect();
    let axes: Vec<&str> = model.axes().collect();
    let _ = writeln!(h, "/* Mote model {}: generated by Mote; do not edit. */", c_string(model.name()));
    let _ = writeln!(h, "/* Run it with mote.h (libmote.a); see README.md. */");
    let _ = writeln!(h, "#ifndef MOTE_MODEL_H\n#define MOTE_MODEL_H\n\n#include <stdint.h>\n");
    let define = |h: &mut String, name: &str, value: String, comment: &str| {
        if comment.is_empty() {
            let _ = writeln!(h, "#define {name} {value}");
        } else {
            let _ = writeln!(h, "/* {comment} */\n#define {name} {value}");
        }
    };
    define(&mut h, "MOTE_MODEL_BLOB_SIZE", format!("{}u", model.bytes().len()), "");
    define(
        &mut h,
        "MOTE_MODEL_MEMORY_SIZE",
        format!("{}u", memory.total()),
        &format!(
            "Working memory for mote_open: window {} B + features {} B + DSP scratch {} B + arena {} B + 3 B alignment",
            memory.window, memory.features, memory.scratch, memory.arena
        ),
    );
    define(&mut h, "MOTE_MODEL_AXES", format!("{}u", axes.len()), "");
    define(
        &mut h,
        "MOTE_MODEL_WINDOW_SAMPLES",
        format!("{}u", model.window_samples()),
        "Samples (time steps) per window",
    );
    define(
        &mut h,
        "MOTE_MODEL_WINDOW_VALUES",
        format!("{}u", model.window_samples() * axes.len()),
        "Values per window: samples x axes, interleaved",
    );
    define(&mut h, "MOTE_MODEL_STRIDE_SAMPLES", format!("{}u", model.stride_samples()), "");
    define(&mut h, "MOTE_MODEL_RATE_HZ", c_float(model.rate_hz()), "");
    define(&mut h, "MOTE_MODEL_FEATURES", format!("{}u", model.n_features()), "");
    define(&mut h, "MOTE_MODEL_LABEL_COUNT", format!("{}u", labels.len()), "");
    define(&mut h, "MOTE_MODEL_HAS_ANOMALY", format!("{}", u8::from(model.anomaly().is_some())), "");
    for (index, label) in labels.iter().enumerate() {
        define(
            &mut h,
            &format!("MOTE_MODEL_LABEL_{}", identifier(label).to_ascii_uppercase()),
            format!("{index}u"),
            "",
        );
    }
    let list = |items: &[&str]| items.iter().map(|item| c_string(item)).collect::<Vec<_>>().join(", ");
    define(
        &mut h,
        "MOTE_MODEL_LABELS",
        format!("{{ {} }}", list(&labels)),
        "Initializer: const char *labels[MOTE_MODEL_LABEL_COUNT] = MOTE_MODEL_LABELS;",
    );
    define(
        &mut h,
        "MOTE_MODEL_AXIS_NAMES",
        format!("{{ {} }}", list(&axes)),
        "Initializer, the model's axis order",
    );
    define(
        &mut h,
        "MOTE_MODEL_AXIS_SCALES",
        format!("{{ {} }}", scales.iter().map(|s| c_float(*s)).collect::<Vec<_>>().join(", ")),
        "Initializer: one count's size per axis covering the project's data (for mote_push_f32); use your sensor's own when you push its raw counts",
    );
    let _ = writeln!(h, "\n#ifdef __cplusplus\nextern \"C\" {{\n#endif\n");
    let _ = writeln!(
        h,
        "/** The model blob (mote_model.c). */\nextern const uint8_t mote_model_blob[MOTE_MODEL_BLOB_SIZE];"
    );
    let _ = writeln!(h, "\n#ifdef __cplusplus\n}}\n#endif\n\n#endif /* MOTE_MODEL_H */");
    h
}

/// `mote_model.c`: the blob's bytes.
pub fn model_source(model: &Model<'_>) -> String {
    let mut c = String::from(
        "/* The Mote model blob: generated by Mote; do not edit. */\n#include \"mote_model.h\"\n\n",
    );
    c.push_str("const uint8_t mote_model_blob[MOTE_MODEL_BLOB_SIZE] = {\n");
    for line in model.bytes().chunks(16) {
        let bytes: Vec<String> = line.iter().map(|b| format!("0x{b:02x}")).collect();
        let _ = writeln!(c, "    {},", bytes.join(", "));
    }
    c.push_str("};\n");
    c
}

/// `windows.h` of the static-buffer example: the project's windows and Mote's results for them.
pub fn example_data(model: &Model<'_>, windows: &[ExampleWindow]) -> String {
    let mut h = String::from(
        "/* Windows of the project's own data and what Mote computed for each on the host:\n   generated by Mote; do not edit. */\n#ifndef MOTE_EXAMPLE_WINDOWS_H\n#define MOTE_EXAMPLE_WINDOWS_H\n\n#include <stdint.h>\n#include \"mote_model.h\"\n\n",
    );
    let n_labels = model.n_labels().max(1);
    let _ = writeln!(h, "#define EXAMPLE_WINDOWS {}u\n", windows.len());
    let _ = writeln!(h, "/* Raw counts, MOTE_MODEL_WINDOW_VALUES per window (interleaved axes). */");
    let _ =
        writeln!(h, "static const int16_t example_counts[EXAMPLE_WINDOWS][MOTE_MODEL_WINDOW_VALUES] = {{");
    for window in windows {
        let _ = writeln!(h, "    {{ /* {} ({}) */", c_string(&window.sample), c_string(&window.label));
        for line in window.counts.chunks(24) {
            let values: Vec<String> = line.iter().map(|v| v.to_string()).collect();
            let _ = writeln!(h, "        {},", values.join(", "));
        }
        let _ = writeln!(h, "    }},");
    }
    let _ = writeln!(h, "}};\n\n/* The size of one count on each axis, per window. */");
    let _ = writeln!(h, "static const float example_scales[EXAMPLE_WINDOWS][MOTE_MODEL_AXES] = {{");
    for window in windows {
        let values: Vec<String> = window.scales.iter().map(|s| c_float(*s)).collect();
        let _ = writeln!(h, "    {{ {} }},", values.join(", "));
    }
    let _ = writeln!(
        h,
        "}};\n\n/* Mote's scores (and top label index, -1 without a classifier) for each window. */"
    );
    let _ = writeln!(h, "static const int8_t example_scores[EXAMPLE_WINDOWS][{n_labels}] = {{");
    for window in windows {
        let mut values: Vec<String> = window.scores.iter().map(|s| s.to_string()).collect();
        values.resize(n_labels, "0".into());
        let _ = writeln!(h, "    {{ {} }},", values.join(", "));
    }
    let _ = writeln!(h, "}};\nstatic const int32_t example_top[EXAMPLE_WINDOWS] = {{");
    let tops: Vec<String> = windows
        .iter()
        .map(|w| if model.has_classifier() { w.top.to_string() } else { "-1".into() })
        .collect();
    for line in tops.chunks(24) {
        let _ = writeln!(h, "    {},", line.join(", "));
    }
    let _ = writeln!(
        h,
        "}};\n/* Anomaly scores as IEEE-754 bits (0x7fc00000, NaN, without an anomaly block). */"
    );
    let _ = writeln!(h, "static const uint32_t example_anomaly_bits[EXAMPLE_WINDOWS] = {{");
    let bits: Vec<String> =
        windows.iter().map(|w| format!("0x{:08x}u", w.anomaly.map_or(0x7fc0_0000, f32::to_bits))).collect();
    for line in bits.chunks(8) {
        let _ = writeln!(h, "    {},", line.join(", "));
    }
    let _ = writeln!(h, "}};\n\n#endif");
    h
}

/// The static-buffer example: classify the windows of `windows.h` and check Mote's results.
const EXAMPLE_MAIN: &str = r#"/*
 * Classifies windows given as arrays (windows.h: the project's own data) with the exported model,
 * and checks every result against what Mote computed for the same window on the host.
 *
 * Build it for a PC:   cmake -B build && cmake --build build && ./build/static_buffer
 * or by hand:          cc -Iinclude src/mote_model.c examples/static_buffer/main.c lib/x86_64-linux/libmote.a
 * For a board, compile with the flags README.md lists for its core and link lib/<core>/libmote.a;
 * printf goes wherever your board's C library sends it.
 *
 * From a sensor, push samples as they come instead (see mote.h):
 *     if (mote_push_i16(&ctx, sample, MOTE_MODEL_AXES, NULL) == MOTE_WINDOW_READY) mote_run(&ctx, &result);
 */
#include <stdio.h>
#include <string.h>

#include "mote.h"
#include "mote_model.h"
#include "windows.h"

static mote_context ctx;
static uint8_t memory[MOTE_MODEL_MEMORY_SIZE];
static const char *const labels[] = MOTE_MODEL_LABELS;

int main(void) {
    unsigned matches = 0;
    for (unsigned w = 0; w < EXAMPLE_WINDOWS; w++) {
        /* Each recording has its own count sizes; a board's sensor keeps one set. */
        int32_t status = mote_open(&ctx, mote_model_blob, MOTE_MODEL_BLOB_SIZE, example_scales[w],
                                   MOTE_MODEL_AXES, memory, sizeof memory);
        if (status != MOTE_OK) {
            printf("mote_open: %s\n", mote_status_text(status));
            return 2;
        }
        mote_result result;
        status = mote_classify_i16(&ctx, example_counts[w], MOTE_MODEL_WINDOW_VALUES, &result);
        if (status != MOTE_OK) {
            printf("window %u: %s\n", w, mote_status_text(status));
            return 2;
        }
        uint32_t anomaly_bits;
        memcpy(&anomaly_bits, &result.anomaly, sizeof anomaly_bits);
        printf("window %u top=%ld label=%s scores=", w, (long)result.top,
               result.top >= 0 ? labels[result.top] : "-");
        for (uint32_t i = 0; i < result.n_scores; i++) {
            printf(i ? ",%d" : "%d", result.scores[i]);
        }
        printf(" anomaly=0x%08lx\n", (unsigned long)anomaly_bits);
        int same = result.top == example_top[w] && anomaly_bits == example_anomaly_bits[w]
                   && memcmp(result.scores, example_scores[w], result.n_scores) == 0;
        matches += same ? 1u : 0u;
    }
    printf("%u of %u windows match Mote's results\n", matches, (unsigned)EXAMPLE_WINDOWS);
    return matches == EXAMPLE_WINDOWS ? 0 : 1;
}
"#;

const CMAKE: &str = r#"# The exported Mote model as a CMake library: link `mote_model` and include mote.h + mote_model.h.
# Pick the archive for your core with -DMOTE_CORE=<folder under lib/> (default: x86_64-linux, for
# tests on a PC); compile your own code with the flags README.md lists for that core.
cmake_minimum_required(VERSION 3.13)
project(mote_model C)

set(MOTE_CORE "x86_64-linux" CACHE STRING "folder under lib/ with the libmote.a for your core")

add_library(mote STATIC IMPORTED GLOBAL)
set_target_properties(mote PROPERTIES
    IMPORTED_LOCATION "${CMAKE_CURRENT_LIST_DIR}/lib/${MOTE_CORE}/libmote.a"
    INTERFACE_INCLUDE_DIRECTORIES "${CMAKE_CURRENT_LIST_DIR}/include")

add_library(mote_model STATIC "${CMAKE_CURRENT_LIST_DIR}/src/mote_model.c")
target_include_directories(mote_model PUBLIC "${CMAKE_CURRENT_LIST_DIR}/include")
target_link_libraries(mote_model PUBLIC mote)

if(CMAKE_CURRENT_SOURCE_DIR STREQUAL CMAKE_SOURCE_DIR)
    add_executable(static_buffer examples/static_buffer/main.c)
    target_include_directories(static_buffer PRIVATE examples/static_buffer)
    target_link_libraries(static_buffer PRIVATE mote_model)
endif()
"#;

/// README.md of a C-library export: the API in brief, the cores, this model's figures.
fn readme(model: &Model<'_>, memory: &MemoryParts, windows: usize) -> String {
    let footprint = Footprint::of(model);
    let mut r = String::new();
    let _ = writeln!(r, "# Mote model `{}` as a C library\n", model.name());
    let _ = writeln!(
        r,
        "Mote's own runtime and DSP (`libmote.a`) with this model (`src/mote_model.c`): a window gives the \
         same scores in your firmware as in Mote, bit for bit. No allocation, no global state.\n"
    );
    let _ = writeln!(r, "## Files\n");
    let _ =
        writeln!(r, "- `include/mote.h`: the API (every function, status and buffer is documented there).");
    let _ = writeln!(
        r,
        "- `include/mote_model.h`, `src/mote_model.c`: this model's blob and sizes (`MOTE_MODEL_*`)."
    );
    let _ = writeln!(r, "- `lib/<core>/libmote.a`: the library for each core below.");
    let _ = writeln!(
        r,
        "- `examples/static_buffer/`: classifies {windows} window(s) of the project's data given as arrays and checks each against Mote's result."
    );
    let _ = writeln!(
        r,
        "- `CMakeLists.txt`: targets `mote` (the archive, `-DMOTE_CORE=<core>`) and `mote_model`.\n"
    );
    let _ = writeln!(r, "## Cores\n\n| folder | for | compile your code with |\n|---|---|---|");
    for core in &CORES {
        let flags = if core.cflags.is_empty() { "(the host compiler's defaults)" } else { core.cflags };
        let _ = writeln!(r, "| `{}` | {} | `{}` |", core.name, core.describe, flags);
    }
    let _ = writeln!(r, "\n## This model\n");
    let _ = writeln!(
        r,
        "- Reads {} axes ({}) at {} Hz; windows of {} samples every {} samples.",
        model.n_axes(),
        model.axes().collect::<Vec<_>>().join(", "),
        model.rate_hz(),
        model.window_samples(),
        model.stride_samples()
    );
    let _ = writeln!(r, "- Labels: {}.", model.labels().collect::<Vec<_>>().join(", "));
    let _ = writeln!(
        r,
        "- Flash: the model blob is {} B; the library code it uses (runtime and DSP) is at most about {} B on a Cortex-M4F (linked with `--gc-sections`, only what the model calls stays).",
        model.bytes().len(),
        estimate::RUNTIME_CODE_BYTES + estimate::DSP_CODE_BYTES
    );
    let _ = writeln!(
        r,
        "- RAM: `MOTE_MODEL_MEMORY_SIZE` = {} B (window {} B, features {} B, DSP scratch {} B, arena {} B, 3 B alignment) plus a `mote_context` of {CONTEXT_BYTES} B, plus stack.",
        memory.total(),
        memory.window,
        memory.features,
        memory.scratch,
        memory.arena
    );
    let _ = writeln!(
        r,
        "- Work per window: {} multiply-accumulates in the network; the DSP block reads {} values.\n",
        footprint.macs, footprint.dsp_values
    );
    let _ = writeln!(r, "| target | estimated latency per window |\n|---|---|");
    for estimate in estimate::estimate(model) {
        let _ = writeln!(
            r,
            "| {} | {:.2} ms (DSP {:.2} ms, network {:.2} ms) |",
            estimate.target.name, estimate.latency_ms, estimate.dsp_ms, estimate.nn_ms
        );
    }
    r
}

/// The model's files for both exports: headers, blob source, example.
struct ModelFiles {
    header: String,
    source: String,
    example_data: String,
    memory: MemoryParts,
    windows: usize,
}

async fn model_files(project: &Project, blob: &[u8]) -> Result<ModelFiles, ExportError> {
    let model = Model::parse(blob)?;
    let memory = memory_bytes(&model)?;
    let samples = project.load_samples(&SampleFilter::default()).await?;
    let scales = axis_scales(&samples, &model);
    let windows = windows_of(&samples, blob)?;
    Ok(ModelFiles {
        header: model_header(&model, &memory, &scales),
        source: model_source(&model),
        example_data: example_data(&model, &windows),
        memory,
        windows: windows.len(),
    })
}

fn write_files(out: &Path, files: Vec<(PathBuf, Vec<u8>)>) -> Result<Vec<PathBuf>, ExportError> {
    Ok(mote_convert::export::write_files(out, files)?)
}

fn read(path: PathBuf) -> Result<Vec<u8>, ExportError> {
    std::fs::read(&path).map_err(|source| ExportError::Read { path, source })
}

/// `mote deploy --export c-library`: headers, every core's `libmote.a`, the example, CMake and
/// README into `out`. Returns the files written.
pub async fn export_c_library(
    project: &Project,
    blob: &[u8],
    out: &Path,
) -> Result<Vec<PathBuf>, ExportError> {
    let libs = prebuilt()?;
    let model = Model::parse(blob)?;
    let files = model_files(project, blob).await?;
    let mut out_files = vec![
        (PathBuf::from("include/mote.h"), API_HEADER.as_bytes().to_vec()),
        (PathBuf::from("include/mote_model.h"), files.header.into_bytes()),
        (PathBuf::from("src/mote_model.c"), files.source.into_bytes()),
        (PathBuf::from("examples/static_buffer/main.c"), EXAMPLE_MAIN.as_bytes().to_vec()),
        (PathBuf::from("examples/static_buffer/windows.h"), files.example_data.into_bytes()),
        (PathBuf::from("CMakeLists.txt"), CMAKE.as_bytes().to_vec()),
        (PathBuf::from("README.md"), readme(&model, &files.memory, files.windows).into_bytes()),
    ];
    for core in &CORES {
        out_files.push((
            PathBuf::from(format!("lib/{}/libmote.a", core.name)),
            read(libs.join(core.name).join("libmote.a"))?,
        ));
    }
    write_files(out, out_files)
}

/// The Arduino library's name for a model (`library.properties`); without spaces, it is also its
/// folder's name.
pub fn arduino_name(model: &Model<'_>) -> String {
    let base: String = model
        .name()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '_' })
        .collect();
    let base = base.trim_matches('_');
    if base.is_empty() { "Mote_model".to_string() } else { format!("Mote_{base}") }
}

/// The sketch: an accelerometer window, the model's scores printed.
fn arduino_sketch(header: &str) -> String {
    format!(
        r#"/*
 * Classifies the accelerometer with the Mote model: reads one sample of every axis at the model's
 * rate, and prints the scores whenever a window is complete.
 *
 * readAxes() below is where your sensor goes: fill one float per model axis (MOTE_MODEL_AXIS_NAMES,
 * in that order) in the units the model was trained on. As written it reads the on-board IMU of
 * boards that have the Arduino_LSM9DS1 / Arduino_BMI270_BMM150 style API (IMU.readAcceleration);
 * replace it for other sensors.
 */
#include <{header}>

static mote_context ctx;
static uint8_t memory[MOTE_MODEL_MEMORY_SIZE];
static const float scales[MOTE_MODEL_AXES] = MOTE_MODEL_AXIS_SCALES;
static const char *const labels[] = MOTE_MODEL_LABELS;
static unsigned long nextSampleUs;

#if __has_include(<Arduino_LSM9DS1.h>)
#include <Arduino_LSM9DS1.h>
#define HAVE_IMU 1
#endif

static bool readAxes(float *values) {{
    for (unsigned i = 0; i < MOTE_MODEL_AXES; i++) values[i] = 0.0f;
#ifdef HAVE_IMU
    float x, y, z;
    if (!IMU.accelerationAvailable() || !IMU.readAcceleration(x, y, z)) return false;
    const float g = 9.80665f; /* the IMU reads g; the model was trained in m/s^2 */
    float xyz[3] = {{x * g, y * g, z * g}};
    for (unsigned i = 0; i < MOTE_MODEL_AXES && i < 3; i++) values[i] = xyz[i];
#endif
    return true;
}}

void setup() {{
    Serial.begin(115200);
    while (!Serial) {{}}
#ifdef HAVE_IMU
    if (!IMU.begin()) Serial.println("IMU not found");
#endif
    int32_t status = mote_open(&ctx, mote_model_blob, MOTE_MODEL_BLOB_SIZE, scales, MOTE_MODEL_AXES,
                               memory, sizeof memory);
    if (status != MOTE_OK) {{
        Serial.println(mote_status_text(status));
        for (;;) {{}}
    }}
    nextSampleUs = micros();
}}

void loop() {{
    const unsigned long periodUs = (unsigned long)(1000000.0f / MOTE_MODEL_RATE_HZ);
    if ((long)(micros() - nextSampleUs) < 0) return;
    nextSampleUs += periodUs;
    float sample[MOTE_MODEL_AXES];
    if (!readAxes(sample)) return;
    if (mote_push_f32(&ctx, sample, MOTE_MODEL_AXES, NULL) != MOTE_WINDOW_READY) return;
    mote_result result;
    int32_t status = mote_run(&ctx, &result);
    if (status != MOTE_OK) {{
        Serial.println(mote_status_text(status));
        return;
    }}
    for (uint32_t i = 0; i < result.n_scores; i++) {{
        Serial.print(labels[i]);
        Serial.print(": ");
        Serial.print(mote_probability(result.scores[i]), 3);
        Serial.print(i + 1 < result.n_scores ? "  " : "");
    }}
    if (MOTE_MODEL_HAS_ANOMALY) {{
        Serial.print("  anomaly: ");
        Serial.print(result.anomaly, 2);
    }}
    Serial.println();
}}
"#
    )
}

/// `mote deploy --export arduino`: the library folder `<out>/<name>/` and `<out>/<name>.zip`
/// (one top folder, as the IDE's "Add .ZIP Library" expects). Returns the files written.
pub async fn export_arduino(project: &Project, blob: &[u8], out: &Path) -> Result<Vec<PathBuf>, ExportError> {
    let libs = prebuilt()?;
    let model = Model::parse(blob)?;
    let files = model_files(project, blob).await?;
    let name = arduino_name(&model);
    let header = format!("{name}.h");
    let properties = format!(
        "name={name}\nversion=1.0.0\nauthor=Mote\nmaintainer=Mote <mote@example.invalid>\n\
         sentence=The Mote model {model_name} with Mote's int8 runtime and DSP.\n\
         paragraph=Classifies windows of {axes} at {rate} Hz into {labels}. Precompiled for Cortex-M0+, Cortex-M4F (hard and softfp), Cortex-M33 and ESP32-C3.\n\
         category=Data Processing\nurl=https://example.invalid/mote\narchitectures=*\n\
         includes={header}\nprecompiled=true\nldflags=-lmote\n",
        model_name = model.name().replace(['\n', '\r'], " "),
        axes = model.axes().collect::<Vec<_>>().join(", "),
        rate = model.rate_hz(),
        labels = model.labels().collect::<Vec<_>>().join(", "),
    );
    let umbrella = format!(
        "/* {name}: include this in a sketch. Generated by Mote; do not edit. */\n#pragma once\n#include \"mote.h\"\n#include \"mote_model.h\"\n"
    );
    let sketch_name = "classify";
    let mut entries: Vec<(String, Vec<u8>)> = vec![
        ("library.properties".into(), properties.into_bytes()),
        (format!("src/{header}"), umbrella.into_bytes()),
        ("src/mote.h".into(), API_HEADER.as_bytes().to_vec()),
        ("src/mote_model.h".into(), files.header.into_bytes()),
        ("src/mote_model.c".into(), files.source.into_bytes()),
        (format!("examples/{sketch_name}/{sketch_name}.ino"), arduino_sketch(&header).into_bytes()),
        ("README.md".into(), readme(&model, &files.memory, files.windows).into_bytes()),
    ];
    for core in &CORES {
        if let Some((mcu_folder, _)) = core.arduino {
            entries
                .push((format!("src/{mcu_folder}/libmote.a"), read(libs.join(core.name).join("libmote.a"))?));
        }
    }
    let mut written = write_files(
        &out.join(&name),
        entries.iter().map(|(path, bytes)| (PathBuf::from(path), bytes.clone())).collect(),
    )?;
    let zip_path = out.join(format!("{name}.zip"));
    let zip_error = |source: std::io::Error| ExportError::Write { path: zip_path.clone(), source };
    let file = std::fs::File::create(&zip_path).map_err(zip_error)?;
    let mut zip = zip::ZipWriter::new(file);
    // Fixed times and modes: the same model gives the same archive.
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o644);
    let to_io = |error: zip::result::ZipError| std::io::Error::other(error.to_string());
    for (path, bytes) in &entries {
        zip.start_file(format!("{name}/{path}"), options).map_err(to_io).map_err(zip_error)?;
        zip.write_all(bytes).map_err(zip_error)?;
    }
    zip.finish().map_err(to_io).map_err(zip_error)?;
    written.push(zip_path);
    Ok(written)
}

/// `mote deploy --export firmware --board <board>`: the lean firmware for this one model (only its
/// DSP block and kernels, the model built in; see [`crate::firmware::build_lean`]) as
/// `<board>.elf`, with `footprint.json` (flash and static RAM by part) and a README that says how
/// to put it on the board. Returns the files written.
pub fn export_firmware(blob: &[u8], board: &str, out: &Path) -> Result<Vec<PathBuf>, ExportError> {
    let model = Model::parse(blob)?;
    let elf = crate::firmware::build_lean(board, blob)?;
    let image = read(elf)?;
    // Two exports at once share the build; never hand out a firmware with another model in it.
    if !image.windows(blob.len()).any(|window| window == blob) {
        return Err(ExportError::BuildFailed(
            "the firmware built does not carry this model (another export was building at the same time?); export again"
                .into(),
        ));
    }
    let footprint = crate::firmware::footprint(&image).map_err(crate::firmware::FirmwareError::Flash)?;
    let plan = crate::firmware::lean_plan(&model)?;
    let json = serde_json::json!({
        "board": board,
        "model": model.name(),
        "model_bytes": blob.len(),
        "features": plan.features,
        "footprint": footprint,
    });
    let mut readme = String::new();
    let _ = writeln!(readme, "# Lean firmware for `{}` on {board}\n", model.name());
    let _ = writeln!(
        readme,
        "The Mote agent built for this one model: the model is in flash with the code, and only what it \
         runs is built in ({}). It answers Mote's protocol (record, live classification), but cannot take \
         another model by upload: export a new firmware instead.\n",
        plan.features.join(", ")
    );
    let flash_with = if board == crate::emulator::BOARD {
        format!("mote flash --board {board} --elf {board}.elf   # boots it in QEMU")
    } else {
        format!("mote flash --board {board} --elf {board}.elf")
    };
    let _ = writeln!(readme, "```\n{flash_with}\n```\n");
    let _ = writeln!(readme, "| flash | bytes |\n|---|---|");
    for (part, bytes) in &footprint.flash_parts {
        let _ = writeln!(readme, "| {part} | {bytes} |");
    }
    let _ = writeln!(readme, "| **total** | **{}** |\n", footprint.flash);
    let _ = writeln!(readme, "| static RAM | bytes |\n|---|---|");
    for (part, bytes) in &footprint.ram_parts {
        let _ = writeln!(readme, "| {part} | {bytes} |");
    }
    let _ = writeln!(readme, "| **total** (the stack comes on top) | **{}** |", footprint.static_ram);
    write_files(
        out,
        vec![
            (PathBuf::from(format!("{board}.elf")), image),
            (PathBuf::from("footprint.json"), serde_json::to_vec_pretty(&json).unwrap_or_default()),
            (PathBuf::from("README.md"), readme.into_bytes()),
        ],
    )
}
