//! A peer inference engine measured as the firmware bench measures Mote: the `microflow` crate
//! running the bench's three networks (dense, 1-D CNN, depthwise-separable CNN; int8) on the
//! emulated Cortex-M4F (QEMU mps2-an386, `-icount shift=0`). The work is done by
//! `scripts/peers/microflow-m4f.sh` (Python venv and TensorFlow for the .tflite files, the
//! firmware in device-agent/peers/microflow-m4f built with Debian's rustc); this runs it and reads
//! its JSON. A cold run takes a few minutes (venv, crates), a warm one under a minute.

use std::path::Path;
use std::process::{Command, Stdio};

/// One network's figures on the emulated Cortex-M4F.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerFigures {
    /// e.g. "microflow 0.1.3".
    pub engine: String,
    /// "dense", "cnn" or "dscnn".
    pub network: String,
    pub description: String,
    /// Instructions per inference (`predict`: float input quantized, int8 layers, output
    /// dequantized), the median of the runs.
    pub instructions: u64,
    pub macs: u64,
    /// `.text + .rodata + .data` of the whole ELF (harness included; `.vector_table` not).
    pub flash: u64,
    /// `flash` by part, from the ELF's symbols: "microflow code", "model data", "fixed input",
    /// and the rest (harness, semihosting, core, cortex-m-rt).
    pub flash_split: Vec<(String, u64)>,
    /// `flash` minus that of the same harness with no model and no microflow.
    pub flash_over_baseline: u64,
    /// `.data + .bss`: microflow keeps every tensor on the stack.
    pub static_ram: u64,
    /// Stack high-water mark of the whole binary, and of the harness alone (no model).
    pub stack: u64,
    pub stack_baseline: u64,
    /// The dequantized output for the fixed input, and what the LiteRT interpreter gives.
    pub output: Vec<f64>,
    pub litert_output: Vec<f64>,
}

impl PeerFigures {
    pub fn instructions_per_mac(&self) -> f64 {
        self.instructions as f64 / self.macs.max(1) as f64
    }
}

/// Runs `scripts/peers/microflow-m4f.sh` and returns one entry per network; panics (with the
/// script's own messages on stderr above) if a step fails.
pub fn microflow_m4f() -> Vec<PeerFigures> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ is in the repository");
    let out = tempfile::tempdir().expect("temp dir");
    let status = Command::new(repo.join("scripts/peers/microflow-m4f.sh"))
        .arg(out.path())
        .stdout(Stdio::null())
        .status()
        .expect("scripts/peers/microflow-m4f.sh runs");
    assert!(status.success(), "scripts/peers/microflow-m4f.sh failed ({status})");
    let json =
        std::fs::read_to_string(out.path().join("microflow-m4f.json")).expect("the script wrote its JSON");
    parse(&json)
}

/// Reads the script's `microflow-m4f.json` (an array, one object per network).
pub fn parse(json: &str) -> Vec<PeerFigures> {
    let value: serde_json::Value = serde_json::from_str(json).expect("microflow-m4f.json is JSON");
    let networks = value.as_array().expect("an array of networks");
    networks
        .iter()
        .map(|n| {
            let text = |key: &str| n[key].as_str().unwrap_or_else(|| panic!("{key}: a string")).to_string();
            let number = |key: &str| n[key].as_u64().unwrap_or_else(|| panic!("{key}: a count"));
            let floats = |key: &str| -> Vec<f64> {
                let values = n[key].as_array().unwrap_or_else(|| panic!("{key}: an array"));
                values.iter().map(|v| v.as_f64().expect("a number")).collect()
            };
            let split = n["flash_split"].as_object().expect("flash_split: an object");
            PeerFigures {
                engine: text("engine"),
                network: text("network"),
                description: text("description"),
                instructions: number("instructions"),
                macs: number("macs"),
                flash: number("flash"),
                flash_split: split.iter().map(|(k, v)| (k.clone(), v.as_u64().expect("bytes"))).collect(),
                flash_over_baseline: number("flash_over_baseline"),
                static_ram: number("static_ram"),
                stack: number("stack"),
                stack_baseline: number("stack_baseline"),
                output: floats("output"),
                litert_output: floats("litert_output"),
            }
        })
        .collect()
}
