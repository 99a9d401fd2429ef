//! RAM, flash and latency of a model on common microcontrollers, before any board is touched.
//!
//! - RAM = the arena (planned at conversion) + the window buffer (`i16` per sample and axis) +
//!   the feature vector and DSP scratch (`f32`) + the agent's fixed buffers.
//! - Flash = what the lean firmware for this model (`mote deploy --export firmware`) takes on the
//!   micro:bit v2: the agent, wire protocol, board support and runtime core, plus the code of the
//!   optional kernels the model runs (convolution, depthwise, pooling, add) and of its DSP block,
//!   plus the blob. The parts were measured by building lean firmwares with one feature more each
//!   (`cargo test -p mote-e2e --bench firmware` prints them next to these constants); the test
//!   that builds a lean firmware holds the estimate within 25 % of its size.
//! - Latency = cycles per multiply-accumulate (dense, convolution, depthwise apart) + per requantized output
//!   value + per pooled value + per input feature quantized + per operator, and cycles per DSP input
//!   value, at the target's usual clock. Calibrated on the emulated Cortex-M4F, which counts
//!   instructions exactly (`cargo test -p mote-e2e --bench firmware`, docs/benchmarks.md) and
//!   whose per-function instruction profile shows where they go: with the packed Armv7E-M kernels
//!   (`mote_runtime::kernels::packed`) a dense MAC takes ~2 instructions (the 8-MAC step of two
//!   rows is 16) and a convolution MAC ~1.6 (the 16-MAC step of two positions by two channels);
//!   each convolution output ~90 (requantization, clamp, the 2×2 blocks' set-up, and packing its
//!   receptive field shared by the output channels), each depthwise MAC ~3 and output ~100, each
//!   dense output ~150 (setting up a pair of rows, bias, multiplier, rounding, clamp), each pooled
//!   value ~20, each input feature ~35 (float scale, rounding), and each operator ~300 (decoding it
//!   from the blob, shape checks, dispatch); the DSP blocks 12.5 (raw), 62.5 (flatten, 7
//!   statistics) and 457 (spectral) instructions per input value. Instructions are taken as cycles on the M4F (its
//!   int8 code is mostly single-cycle ALU and load work); the other cores scale from it (M0+: no
//!   FPU, so float work is soft-float, no DSP extension, so the reference one-MAC-at-a-time
//!   kernels, and no 64-bit multiply for requantization; M7: dual issue). Only the M4F figures
//!   are measured; the scale factors are estimates.

use mote_dsp::FeatureBlock;
use mote_runtime::Model;
use serde::Serialize;

/// `.text` + `.rodata` bytes of `mote-runtime` for thumbv7em-none-eabihf, opt-level "s", before
/// the firmware's linker drops unused code (an upper bound). `scripts/measure-code-size.sh --check`
/// (run by the test command) fails when a build differs from this by more than 10 %.
pub const RUNTIME_CODE_BYTES: u64 = 35_691;
/// `.text` + `.rodata` bytes of `mote-dsp` (all blocks, incl. FFT tables) for the same build.
pub const DSP_CODE_BYTES: u64 = 34_476;
/// The agent's fixed RAM (frame buffers, stream batches), excluding stack.
pub const AGENT_RAM_BYTES: u64 = 4 * 1024;

/// Flash of a lean micro:bit v2 firmware without its model: the agent, the wire protocol, board
/// support, start-up code, and the runtime's core (blob checks, fully connected, softmax,
/// reshape) with the `raw` DSP block. opt-level "s", thumbv7em-none-eabihf.
pub const LEAN_BASE_BYTES: u64 = 37_960;
/// Flash each optional kernel adds to a lean firmware (the runtime's cargo features).
pub const KERNEL_CODE_BYTES: [(&str, u64); 4] =
    [("conv", 6_504), ("depthwise", 3_680), ("pool", 2_944), ("add", 608)];
/// Flash each DSP block adds to a lean firmware beyond `raw` (mote-dsp's cargo features; the
/// spectral, MFE and MFCC blocks carry the FFT and its tables).
pub const DSP_BLOCK_CODE_BYTES: [(&str, u64); 5] =
    [("raw", 0), ("flatten", 576), ("spectral", 24_132), ("mfe", 26_956), ("mfcc", 28_096)];

/// The runtime's cargo feature (a key of [`KERNEL_CODE_BYTES`]) an operator needs, if any; the
/// lean firmware is built with exactly these.
pub fn kernel_feature(op: &mote_runtime::Op<'_>) -> Option<&'static str> {
    use mote_runtime::OpKind;
    match op.kind {
        OpKind::Conv2d { .. } => Some("conv"),
        OpKind::DepthwiseConv2d { .. } => Some("depthwise"),
        OpKind::MaxPool2d { .. } | OpKind::AveragePool2d { .. } => Some("pool"),
        OpKind::Add { .. } => Some("add"),
        OpKind::FullyConnected { .. } | OpKind::Softmax { .. } | OpKind::Reshape => None,
    }
}

/// Flash of the code a lean firmware for `model` carries (all but the blob).
pub fn lean_code_bytes(model: &Model<'_>) -> u64 {
    let mut features: Vec<&str> = model.ops().filter_map(|op| kernel_feature(&op)).collect();
    features.sort_unstable();
    features.dedup();
    let kernels: u64 = features
        .iter()
        .filter_map(|feature| KERNEL_CODE_BYTES.iter().find(|(name, _)| name == feature))
        .map(|(_, bytes)| bytes)
        .sum();
    let dsp = model.dsp();
    let block =
        DSP_BLOCK_CODE_BYTES.iter().find(|(name, _)| *name == dsp.name()).map_or(0, |(_, bytes)| *bytes);
    LEAN_BASE_BYTES + kernels + block
}

/// A microcontroller family at its usual clock.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Target {
    /// Used in gates, e.g. `latency_ms@cortex-m4f-64mhz`.
    pub id: &'static str,
    pub name: &'static str,
    pub clock_hz: u32,
    /// Cycles per int8 multiply-accumulate in dense layers.
    pub cycles_per_mac: f32,
    /// Cycles per int8 multiply-accumulate in convolutions (packing receptive fields included).
    pub cycles_per_conv_mac: f32,
    /// Cycles per output value of a dense layer (setting up its dot product, bias,
    /// requantization, clamp).
    pub cycles_per_dense_output: f32,
    /// Cycles per output value of a convolution (bias, requantization, clamp, and the packing
    /// of its receptive field shared among the output channels).
    pub cycles_per_conv_output: f32,
    /// Cycles per multiply-accumulate of a depthwise convolution.
    pub cycles_per_depthwise_mac: f32,
    /// Cycles per output value of a depthwise convolution (its taps' set-up, requantization).
    pub cycles_per_depthwise_output: f32,
    /// Cycles per output value of a pooling layer.
    pub cycles_per_pooled: f32,
    /// Cycles per input feature quantized to int8 (float work).
    pub cycles_per_feature: f32,
    /// Fixed cycles per operator (decoding it, shape checks, dispatch, softmax table lookups).
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
        cycles_per_dense_output: 250.0,
        cycles_per_conv_output: 120.0,
        cycles_per_depthwise_mac: 25.0,
        cycles_per_depthwise_output: 120.0,
        cycles_per_pooled: 30.0,
        cycles_per_feature: 250.0,
        cycles_per_op: 600.0,
        dsp_vs_m4f: 6.0,
    },
    Target {
        id: "cortex-m0plus-133mhz",
        name: "Cortex-M0+ @ 133 MHz (RP2040, Pico)",
        clock_hz: 133_000_000,
        cycles_per_mac: 13.0,
        cycles_per_conv_mac: 25.0,
        cycles_per_dense_output: 250.0,
        cycles_per_conv_output: 120.0,
        cycles_per_depthwise_mac: 25.0,
        cycles_per_depthwise_output: 120.0,
        cycles_per_pooled: 30.0,
        cycles_per_feature: 250.0,
        cycles_per_op: 600.0,
        dsp_vs_m4f: 6.0,
    },
    Target {
        id: "cortex-m4f-64mhz",
        name: "Cortex-M4F @ 64 MHz (nRF52833, micro:bit v2)",
        clock_hz: 64_000_000,
        cycles_per_mac: 2.0,
        cycles_per_conv_mac: 1.6,
        cycles_per_dense_output: 153.0,
        cycles_per_conv_output: 90.0,
        cycles_per_depthwise_mac: 3.0,
        cycles_per_depthwise_output: 100.0,
        cycles_per_pooled: 20.0,
        cycles_per_feature: 35.0,
        cycles_per_op: 300.0,
        dsp_vs_m4f: 1.0,
    },
    Target {
        id: "cortex-m7-480mhz",
        name: "Cortex-M7 @ 480 MHz (STM32H7)",
        clock_hz: 480_000_000,
        cycles_per_mac: 1.0,
        cycles_per_conv_mac: 0.75,
        cycles_per_dense_output: 80.0,
        cycles_per_conv_output: 40.0,
        cycles_per_depthwise_mac: 1.4,
        cycles_per_depthwise_output: 45.0,
        cycles_per_pooled: 9.0,
        cycles_per_feature: 18.0,
        cycles_per_op: 150.0,
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
    /// Output values of dense layers.
    pub dense_outputs: u64,
    /// Output values of convolutions.
    pub conv_outputs: u64,
    /// Multiply-accumulates in depthwise convolutions (not in `conv_macs`).
    pub depthwise_macs: u64,
    /// Output values of depthwise convolutions.
    pub depthwise_outputs: u64,
    /// Output values of pooling layers.
    pub pooled_outputs: u64,
    /// Input features quantized per inference.
    pub features: u64,
    /// Operators per inference.
    pub ops: u64,
    /// Input values the DSP block reads per window.
    pub dsp_values: u64,
    /// Cortex-M4F instructions per input value of this DSP block.
    pub dsp_instructions_per_value: f32,
    /// Flash of the code of the lean firmware for this model (see [`lean_code_bytes`]).
    pub code_bytes: u64,
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
            dense_outputs: model.dense_outputs(),
            conv_outputs: model.conv_outputs(),
            depthwise_macs: model.depthwise_macs(),
            depthwise_outputs: model.depthwise_outputs(),
            pooled_outputs: model.pooled_outputs(),
            features: model.n_features() as u64,
            ops: model.ops().count() as u64,
            dsp_values: window_values,
            dsp_instructions_per_value: m4f_instructions_per_dsp_value(&model.dsp()),
            code_bytes: lean_code_bytes(model),
        }
    }

    pub fn ram_bytes(&self) -> u64 {
        self.arena_bytes + self.window_bytes + self.features_bytes + self.dsp_scratch_bytes + AGENT_RAM_BYTES
    }

    /// Cycles of one inference on `target`.
    pub fn nn_cycles(&self, target: &Target) -> f64 {
        let dense_macs = self.macs.saturating_sub(self.conv_macs).saturating_sub(self.depthwise_macs);
        dense_macs as f64 * f64::from(target.cycles_per_mac)
            + self.conv_macs as f64 * f64::from(target.cycles_per_conv_mac)
            + self.dense_outputs as f64 * f64::from(target.cycles_per_dense_output)
            + self.conv_outputs as f64 * f64::from(target.cycles_per_conv_output)
            + self.depthwise_macs as f64 * f64::from(target.cycles_per_depthwise_mac)
            + self.depthwise_outputs as f64 * f64::from(target.cycles_per_depthwise_output)
            + self.pooled_outputs as f64 * f64::from(target.cycles_per_pooled)
            + self.features as f64 * f64::from(target.cycles_per_feature)
            + self.ops as f64 * f64::from(target.cycles_per_op)
    }

    /// The lean firmware's flash: its code and the blob.
    pub fn flash_bytes(&self) -> u64 {
        self.blob_bytes + self.code_bytes
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
