//! RAM, flash and latency of a model on common microcontrollers, before any board is touched.
//!
//! - RAM = the arena (planned at conversion) + the window buffer (`i16` per sample and axis) +
//!   the feature vector and DSP scratch (`f32`) + the agent's fixed buffers.
//! - Flash = the blob + the runtime and DSP code, measured from a `thumbv7em-none-eabihf` build
//!   at opt-level "s" (`scripts/measure-code-size.sh`; its `--check` in the test command keeps the
//!   figures current).
//! - Latency = cycles per multiply-accumulate × MACs + cycles per DSP input value × values, at
//!   the target's usual clock. The per-core cycle figures are first estimates for scalar C-like
//!   kernels; the emulated Cortex-M4 board's instruction counts calibrate them.

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
    /// Cycles per int8 multiply-accumulate in the runtime's kernels.
    pub cycles_per_mac: f32,
    /// Cycles per input value of the DSP block (float math; soft-float on M0+).
    pub cycles_per_dsp_value: f32,
}

/// The targets every report lists.
pub const TARGETS: [Target; 4] = [
    Target {
        id: "cortex-m0plus-48mhz",
        name: "Cortex-M0+ @ 48 MHz (e.g. SAMD21)",
        clock_hz: 48_000_000,
        cycles_per_mac: 12.0,
        cycles_per_dsp_value: 400.0,
    },
    Target {
        id: "cortex-m0plus-133mhz",
        name: "Cortex-M0+ @ 133 MHz (RP2040, Pico)",
        clock_hz: 133_000_000,
        cycles_per_mac: 12.0,
        cycles_per_dsp_value: 400.0,
    },
    Target {
        id: "cortex-m4f-64mhz",
        name: "Cortex-M4F @ 64 MHz (nRF52833, micro:bit v2)",
        clock_hz: 64_000_000,
        cycles_per_mac: 5.0,
        cycles_per_dsp_value: 60.0,
    },
    Target {
        id: "cortex-m7-480mhz",
        name: "Cortex-M7 @ 480 MHz (STM32H7)",
        clock_hz: 480_000_000,
        cycles_per_mac: 2.5,
        cycles_per_dsp_value: 25.0,
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
    /// Input values the DSP block reads per window.
    pub dsp_values: u64,
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
            dsp_values: window_values,
        }
    }

    pub fn ram_bytes(&self) -> u64 {
        self.arena_bytes + self.window_bytes + self.features_bytes + self.dsp_scratch_bytes + AGENT_RAM_BYTES
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
            let nn_ms = ms(footprint.macs as f64 * f64::from(target.cycles_per_mac));
            let dsp_ms = ms(footprint.dsp_values as f64 * f64::from(target.cycles_per_dsp_value));
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
