//! RAM, flash and latency of a model on common microcontrollers, before any board is touched.
//!
//! - RAM = the arena (planned at conversion) + the window buffer (`i16` per sample and axis) +
//!   the feature vector and DSP scratch (`f32`) + the agent's fixed buffers.
//! - Flash = the blob + the runtime and DSP code, measured from a `thumbv7em-none-eabihf` build
//!   at opt-level "s" (`scripts/measure-code-size.sh`; its `--check` in the test command keeps the
//!   figures current).
//! - Latency = cycles per multiply-accumulate × MACs + cycles per DSP input value × values, at
//!   the target's usual clock. Calibrated on the emulated Cortex-M4F, which counts instructions
//!   exactly (`cargo test -p mote-e2e --bench firmware`, docs/benchmarks.md): dense networks
//!   (1,808 and 2,528 MACs, 4 operators each) fit ~1,200 instructions per operator + 6 per MAC
//!   (the inner loop is 3 per MAC with the Armv7E-M `SMLAD`; the rest is per output: bias,
//!   requantization, clamping), and a 1-D CNN's convolutions ~14 per MAC (short rows of
//!   `kernel × channels` taps); the DSP blocks 12.5 (raw), 62.5 (flatten, 7 statistics) and 457 (spectral) instructions per
//!   input value. Instructions are taken as cycles on the M4F (its int8 code is mostly
//!   single-cycle ALU and load work); the other cores scale from it (M0+: no FPU, so float DSP
//!   is soft-float, and no DSP extension, so the portable one-MAC-at-a-time loop; M7: dual issue). Only the M4F figures are
//!   measured; the scale factors are estimates.

use mote_dsp::FeatureBlock;
use mote_runtime::Model;
use serde::Serialize;

/// `.text` + `.rodata` bytes of `mote-runtime` for thumbv7em-none-eabihf, opt-level "s", before
/// the firmware's linker drops unused code (an upper bound). `scripts/measure-code-size.sh --check`
/// (run by the test command) fails when a build differs from this by more than 10 %.
pub const RUNTIME_CODE_BYTES: u64 = 30_490;
/// `.text` + `.rodata` bytes of `mote-dsp` (all blocks, incl. FFT tables) for the same build.
pub const DSP_CODE_BYTES: u64 = 35_007;
/// The agent's fixed RAM (frame buffers, stream batches), excluding stack.
pub const AGENT_RAM_BYTES: u64 = 4 * 1024;

/// A microcontroller family at its usual clock.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Target {
    /// Used in gates, e.g. `latency_ms@cortex-m4f-64mhz`.
    pub id: &'static str,
    pub name: &'static str,
    pub clock_hz: u32,
    /// Cycles per int8 multiply-accumulate in dense layers (and pooling steps).
    pub cycles_per_mac: f32,
    /// Cycles per int8 multiply-accumulate in convolutions.
    pub cycles_per_conv_mac: f32,
    /// Fixed cycles per operator (setup, requantization of the output, softmax table lookups).
    pub cycles_per_op: f32,
    /// The DSP's cycles on this core per instruction it takes on the Cortex-M4F (float math:
    /// soft-float on M0+).
    pub dsp_vs_m4f: f32,
}

/// Instructions per DSP input value on the emulated Cortex-M4F, per block (measured for raw,
/// flatten and spectral; MFE and MFCC add a mel filter bank, a log and a DCT to the spectrum
/// and are estimated from spectral).
pub fn m4f_instructions_per_dsp_value(dsp: &mote_dsp::DspConfig) -> f32 {
    match dsp {
        mote_dsp::DspConfig::Raw(_) => 12.5,
        mote_dsp::DspConfig::Flatten(_) => 62.5,
        mote_dsp::DspConfig::Spectral(_) => 457.0,
        mote_dsp::DspConfig::Mfe(_) => 600.0,
        mote_dsp::DspConfig::Mfcc(_) => 700.0,
    }
}

/// The targets every report lists.
pub const TARGETS: [Target; 4] = [
    Target {
        id: "cortex-m0plus-48mhz",
        name: "Cortex-M0+ @ 48 MHz (e.g. SAMD21)",
        clock_hz: 48_000_000,
        cycles_per_mac: 13.0,
        cycles_per_conv_mac: 25.0,
        cycles_per_op: 1700.0,
        dsp_vs_m4f: 6.0,
    },
    Target {
        id: "cortex-m0plus-133mhz",
        name: "Cortex-M0+ @ 133 MHz (RP2040, Pico)",
        clock_hz: 133_000_000,
        cycles_per_mac: 13.0,
        cycles_per_conv_mac: 25.0,
        cycles_per_op: 1700.0,
        dsp_vs_m4f: 6.0,
    },
    Target {
        id: "cortex-m4f-64mhz",
        name: "Cortex-M4F @ 64 MHz (nRF52833, micro:bit v2)",
        clock_hz: 64_000_000,
        cycles_per_mac: 6.0,
        cycles_per_conv_mac: 14.0,
        cycles_per_op: 1200.0,
        dsp_vs_m4f: 1.0,
    },
    Target {
        id: "cortex-m7-480mhz",
        name: "Cortex-M7 @ 480 MHz (STM32H7)",
        clock_hz: 480_000_000,
        cycles_per_mac: 3.0,
        cycles_per_conv_mac: 7.0,
        cycles_per_op: 600.0,
        dsp_vs_m4f: 0.5,
    },
];

/// A model's footprint on one target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    pub target: Target,
    pub ram_bytes: u64,
    pub flash_bytes: u64,
    pub dsp_ms: f32,
    pub nn_ms: f32,
    pub latency_ms: f32,
}

/// Sizes that do not depend on the target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Footprint {
    pub blob_bytes: u64,
    pub arena_bytes: u64,
    pub window_bytes: u64,
    pub features_bytes: u64,
    pub dsp_scratch_bytes: u64,
    pub macs: u64,
    /// The part of `macs` in convolutions.
    pub conv_macs: u64,
    /// Operators per inference.
    pub ops: u64,
    /// Input values the DSP block reads per window.
    pub dsp_values: u64,
    /// Cortex-M4F instructions per input value of this DSP block.
    pub dsp_instructions_per_value: f32,
}

impl Footprint {
    pub fn of(model: &Model<'_>) -> Self {
        let window_values = (model.window_samples() * model.n_axes()) as u64;
        let scratch =
            model.dsp().scratch_len(model.window_samples(), model.n_axes(), model.rate_hz()).unwrap_or(0);
        Self {
            blob_bytes: model.bytes().len() as u64,
            arena_bytes: model.arena_len() as u64,
            window_bytes: 2 * window_values,
            features_bytes: 4 * model.n_features() as u64,
            dsp_scratch_bytes: 4 * scratch as u64,
            macs: model.macs(),
            conv_macs: model.conv_macs(),
            ops: model.ops().count() as u64,
            dsp_values: window_values,
            dsp_instructions_per_value: m4f_instructions_per_dsp_value(&model.dsp()),
        }
    }

    pub fn ram_bytes(&self) -> u64 {
        self.arena_bytes + self.window_bytes + self.features_bytes + self.dsp_scratch_bytes + AGENT_RAM_BYTES
    }

    /// Cycles of one inference on `target`.
    pub fn nn_cycles(&self, target: &Target) -> f64 {
        let dense_macs = self.macs.saturating_sub(self.conv_macs);
        dense_macs as f64 * f64::from(target.cycles_per_mac)
            + self.conv_macs as f64 * f64::from(target.cycles_per_conv_mac)
            + self.ops as f64 * f64::from(target.cycles_per_op)
    }

    pub fn flash_bytes(&self) -> u64 {
        self.blob_bytes + RUNTIME_CODE_BYTES + DSP_CODE_BYTES
    }
}

/// The model on every target in [`TARGETS`].
pub fn estimate(model: &Model<'_>) -> Vec<Estimate> {
    let footprint = Footprint::of(model);
    TARGETS
        .iter()
        .map(|&target| {
            let ms = |cycles: f64| (cycles / f64::from(target.clock_hz) * 1000.0) as f32;
            let nn_ms = ms(footprint.nn_cycles(&target));
            let dsp_cycles = footprint.dsp_values as f64
                * f64::from(footprint.dsp_instructions_per_value)
                * f64::from(target.dsp_vs_m4f);
            let dsp_ms = ms(dsp_cycles);
            Estimate {
                target,
                ram_bytes: footprint.ram_bytes(),
                flash_bytes: footprint.flash_bytes(),
                dsp_ms,
                nn_ms,
                latency_ms: dsp_ms + nn_ms,
            }
        })
        .collect()
}
