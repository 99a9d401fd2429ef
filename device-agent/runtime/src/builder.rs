//! Writing model blobs (the converter's side): metadata, tensors, operators and constants in,
//! an arena plan computed, a CRC appended, and the result parsed back as a self-check.

use alloc::string::String;
use alloc::vec::Vec;

use mote_dsp::DspConfig;

use crate::format::{CRC, FORMAT_VERSION, HEADER_LEN, MAGIC, TENSOR_RECORD_LEN};
use crate::kernels::{ActivationRange, Shape3, Window2d};
use crate::op::{SOFTMAX_TABLE_LEN, code};
use crate::{BlobError, Model};

/// Everything about a model except its graph.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelMeta {
    pub name: String,
    pub labels: Vec<String>,
    pub rate_hz: f32,
    pub window_samples: u32,
    pub stride_samples: u32,
    pub axes: Vec<String>,
    pub dsp: DspConfig,
    /// Per feature: `q = round(x · feature_scale[i] + feature_offset[i])`.
    pub feature_scale: Vec<f32>,
    pub feature_offset: Vec<f32>,
}

/// An activation tensor before the arena is planned.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TensorSpec {
    pub shape: Shape3,
    pub scale: f32,
    pub zero_point: i8,
}

/// Per-output-channel weights with their int32 biases and requantization.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChannelWeights {
    pub weights: Vec<i8>,
    pub bias: Vec<i32>,
    pub multipliers: Vec<i32>,
    pub shifts: Vec<i32>,
}

/// One operator before serialization (see `op.rs` for the semantics).
#[derive(Debug, Clone, PartialEq)]
pub enum OpSpec {
    FullyConnected {
        input: u8,
        output: u8,
        weights: ChannelWeights,
        activation: ActivationRange,
    },
    Conv2d {
        input: u8,
        output: u8,
        window: Window2d,
        filter: ChannelWeights,
        activation: ActivationRange,
    },
    DepthwiseConv2d {
        input: u8,
        output: u8,
        window: Window2d,
        depth_multiplier: u16,
        filter: ChannelWeights,
        activation: ActivationRange,
    },
    MaxPool2d {
        input: u8,
        output: u8,
        window: Window2d,
        activation: ActivationRange,
    },
    AveragePool2d {
        input: u8,
        output: u8,
        window: Window2d,
        activation: ActivationRange,
    },
    Add {
        inputs: [u8; 2],
        output: u8,
        left_shift: i32,
        multipliers: [i32; 3],
        shifts: [i32; 3],
        activation: ActivationRange,
    },
    Softmax {
        input: u8,
        output: u8,
        table: Vec<u16>,
    },
    Reshape {
        input: u8,
        output: u8,
    },
}

impl OpSpec {
    fn inputs(&self) -> Vec<u8> {
        match *self {
            OpSpec::Add { inputs, .. } => inputs.to_vec(),
            OpSpec::FullyConnected { input, .. }
            | OpSpec::Conv2d { input, .. }
            | OpSpec::DepthwiseConv2d { input, .. }
            | OpSpec::MaxPool2d { input, .. }
            | OpSpec::AveragePool2d { input, .. }
            | OpSpec::Softmax { input, .. }
            | OpSpec::Reshape { input, .. } => alloc::vec![input],
        }
    }

    fn output(&self) -> u8 {
        match *self {
            OpSpec::FullyConnected { output, .. }
            | OpSpec::Conv2d { output, .. }
            | OpSpec::DepthwiseConv2d { output, .. }
            | OpSpec::MaxPool2d { output, .. }
            | OpSpec::AveragePool2d { output, .. }
            | OpSpec::Add { output, .. }
            | OpSpec::Softmax { output, .. }
            | OpSpec::Reshape { output, .. } => output,
        }
    }
}

/// A k-means anomaly block (see [`crate::Model::anomaly_score`]).
#[derive(Debug, Clone, PartialEq)]
pub struct AnomalySpec {
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
    /// `n_clusters × dims`, row-major.
    pub centroids: Vec<f32>,
    pub radii: Vec<f32>,
}

/// The builder could not write a blob.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum BuildError {
    /// More than the format holds (tensors, operators, labels, name length…).
    TooLarge(&'static str),
    /// A tensor is neither read nor written by any operator.
    UnusedTensor(u8),
    /// The written blob failed the runtime's own checks (a converter bug).
    Invalid(BlobError),
}

impl core::fmt::Display for BuildError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            BuildError::TooLarge(what) => write!(f, "the model does not fit the blob format: {what}"),
            BuildError::UnusedTensor(index) => write!(f, "tensor {index} is not used by any operator"),
            BuildError::Invalid(error) => write!(f, "the written blob does not validate: {error}"),
        }
    }
}

impl core::error::Error for BuildError {}

/// Collects a model and writes its blob.
#[derive(Debug, Clone, PartialEq)]
pub struct BlobBuilder {
    meta: ModelMeta,
    tensors: Vec<TensorSpec>,
    ops: Vec<OpSpec>,
    input: u8,
    output: u8,
    anomaly: Option<AnomalySpec>,
}

impl BlobBuilder {
    pub fn new(meta: ModelMeta) -> Self {
        Self { meta, tensors: Vec::new(), ops: Vec::new(), input: 0, output: 0, anomaly: None }
    }

    /// Adds an activation tensor; returns its index.
    pub fn tensor(&mut self, spec: TensorSpec) -> u8 {
        self.tensors.push(spec);
        (self.tensors.len() - 1) as u8
    }

    /// Appends an operator (operators run in the order they are added).
    pub fn op(&mut self, op: OpSpec) {
        self.ops.push(op);
    }

    /// Names the graph's input (quantized features) and output (scores) tensors.
    pub fn io(&mut self, input: u8, output: u8) {
        self.input = input;
        self.output = output;
    }

    pub fn anomaly(&mut self, anomaly: AnomalySpec) {
        self.anomaly = Some(anomaly);
    }

    /// Plans the arena: each tensor lives from the operator that writes it (the graph input from
    /// the start) to the last operator that reads it (the graph output to the end); tensors whose
    /// lives overlap get disjoint bytes. Largest first, each at the lowest offset that fits.
    /// Returns the offsets and the arena length.
    pub fn plan_arena(&self) -> Result<(Vec<usize>, usize), BuildError> {
        let n_ops = self.ops.len();
        let mut lifetimes: Vec<Option<(usize, usize)>> = alloc::vec![None; self.tensors.len()];
        let mut touch = |tensor: u8, at: usize| {
            if let Some(life) = lifetimes.get_mut(usize::from(tensor)) {
                *life = Some(match *life {
                    None => (at, at),
                    Some((start, end)) => (start.min(at), end.max(at)),
                });
            }
        };
        for (op_idx, op) in self.ops.iter().enumerate() {
            // Positions are doubled so an op's inputs (read at 2i+1) and output (written at 2i+1)
            // conflict, while an input last read by op i and an output written by op i+1 do not.
            for input in op.inputs() {
                touch(input, 2 * op_idx + 1);
            }
            touch(op.output(), 2 * op_idx + 1);
        }
        // The graph input is written before the first operator, the output read after the last.
        if n_ops > 0 {
            touch(self.input, 0);
            touch(self.output, 2 * n_ops + 1);
        }
        let mut order: Vec<usize> = (0..self.tensors.len()).collect();
        let size = |t: usize| {
            let shape = self.tensors[t].shape;
            shape.height * shape.width * shape.channels
        };
        order.sort_by_key(|&t| (core::cmp::Reverse(size(t)), t));
        let mut offsets = alloc::vec![0usize; self.tensors.len()];
        let mut placed: Vec<usize> = Vec::new();
        let mut arena_len = 0;
        for t in order {
            let Some((start, end)) = lifetimes[t] else {
                return Err(BuildError::UnusedTensor(t as u8));
            };
            let mut busy: Vec<(usize, usize)> = placed
                .iter()
                .filter(|&&other| {
                    let (other_start, other_end) = lifetimes[other].unwrap_or((0, 0));
                    other_start <= end && start <= other_end
                })
                .map(|&other| (offsets[other], offsets[other] + size(other)))
                .collect();
            busy.sort_unstable();
            let mut offset = 0;
            for (busy_start, busy_end) in busy {
                if offset + size(t) <= busy_start {
                    break;
                }
                offset = offset.max(busy_end);
            }
            offsets[t] = offset;
            arena_len = arena_len.max(offset + size(t));
            placed.push(t);
        }
        Ok((offsets, arena_len))
    }

    /// Writes the blob and checks it with [`Model::parse`].
    pub fn build(&self) -> Result<Vec<u8>, BuildError> {
        let too_large = BuildError::TooLarge;
        if self.tensors.len() > crate::MAX_TENSORS {
            return Err(too_large("too many tensors"));
        }
        if self.ops.len() > crate::MAX_OPS {
            return Err(too_large("too many operators"));
        }
        if self.meta.labels.len() > crate::MAX_LABELS {
            return Err(too_large("too many labels"));
        }
        let (offsets, arena_len) = self.plan_arena()?;
        let mut out = Writer::default();
        out.bytes(&MAGIC);
        out.u16(FORMAT_VERSION);
        out.u16(HEADER_LEN as u16);
        out.u32(0); // total length, patched below
        out.u32(u32::try_from(arena_len).map_err(|_| too_large("arena"))?);
        out.u32(0); // flags

        let meta = &self.meta;
        out.str16(&meta.name).ok_or(too_large("name"))?;
        out.u8(meta.labels.len() as u8);
        for label in &meta.labels {
            out.str8(label).ok_or(too_large("label longer than 255 bytes"))?;
        }
        out.f32(meta.rate_hz);
        out.u32(meta.window_samples);
        out.u32(meta.stride_samples);
        out.u8(u8::try_from(meta.axes.len()).map_err(|_| too_large("axes"))?);
        for axis in &meta.axes {
            out.str8(axis).ok_or(too_large("axis name longer than 255 bytes"))?;
        }
        let dsp = crate::dsp_config::encode(&meta.dsp);
        out.u16(u16::try_from(dsp.len()).map_err(|_| too_large("DSP configuration"))?);
        out.bytes(&dsp);
        out.u32(meta.feature_scale.len() as u32);
        meta.feature_scale.iter().for_each(|&v| out.f32(v));
        meta.feature_offset.iter().for_each(|&v| out.f32(v));

        out.u8(self.tensors.len() as u8);
        for (tensor, &offset) in self.tensors.iter().zip(&offsets) {
            let start = out.len();
            for dim in [tensor.shape.height, tensor.shape.width, tensor.shape.channels] {
                out.u16(u16::try_from(dim).map_err(|_| too_large("tensor dimension above 65535"))?);
            }
            out.u8(tensor.zero_point as u8);
            out.u8(0);
            out.f32(tensor.scale);
            out.u32(offset as u32);
            debug_assert_eq!(out.len() - start, TENSOR_RECORD_LEN);
        }

        out.u8(self.input);
        out.u8(self.output);
        out.u8(self.ops.len() as u8);
        let mut consts = Writer::default();
        for op in &self.ops {
            write_op(&mut out, &mut consts, op);
        }

        match &self.anomaly {
            None => out.u8(0),
            Some(anomaly) => {
                out.u8(1);
                out.u16(u16::try_from(anomaly.radii.len()).map_err(|_| too_large("clusters"))?);
                out.u32(anomaly.mean.len() as u32);
                for values in [&anomaly.mean, &anomaly.std, &anomaly.centroids, &anomaly.radii] {
                    values.iter().for_each(|&v| out.f32(v));
                }
            }
        }
        out.u32(u32::try_from(consts.len()).map_err(|_| too_large("constants"))?);
        out.bytes(&consts.0);

        let total = out.len() + crate::CRC_LEN;
        let total = u32::try_from(total).map_err(|_| too_large("blob above 4 GiB"))?;
        out.0[12..16].copy_from_slice(&total.to_le_bytes());
        let crc = CRC.checksum(&out.0);
        out.u32(crc);
        Model::parse(&out.0).map_err(BuildError::Invalid)?;
        Ok(out.0)
    }
}

fn write_op(out: &mut Writer, consts: &mut Writer, op: &OpSpec) {
    let mut constant = |out: &mut Writer, bytes: &[u8]| {
        out.u32(consts.len() as u32);
        out.u32(bytes.len() as u32);
        consts.bytes(bytes);
    };
    let activation = |out: &mut Writer, activation: &ActivationRange| {
        out.u8(activation.min.clamp(-128, 127) as i8 as u8);
        out.u8(activation.max.clamp(-128, 127) as i8 as u8);
    };
    let window = |out: &mut Writer, window: &Window2d| {
        for field in [
            window.kernel_height,
            window.kernel_width,
            window.stride_height,
            window.stride_width,
            window.pad_top,
            window.pad_left,
        ] {
            out.u16(field.min(usize::from(u16::MAX)) as u16);
        }
    };
    let mut weights = |out: &mut Writer, weights: &ChannelWeights| {
        constant(out, bytemuck::cast_slice(&weights.weights));
        for values in [&weights.bias, &weights.multipliers, &weights.shifts] {
            let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            constant(out, &bytes);
        }
    };
    match op {
        OpSpec::FullyConnected { input, output, weights: w, activation: act } => {
            out.u8(code::FULLY_CONNECTED);
            out.u8(*input);
            out.u8(*output);
            activation(out, act);
            weights(out, w);
        }
        OpSpec::Conv2d { input, output, window: win, filter, activation: act } => {
            out.u8(code::CONV_2D);
            out.u8(*input);
            out.u8(*output);
            activation(out, act);
            window(out, win);
            weights(out, filter);
        }
        OpSpec::DepthwiseConv2d { input, output, window: win, depth_multiplier, filter, activation: act } => {
            out.u8(code::DEPTHWISE_CONV_2D);
            out.u8(*input);
            out.u8(*output);
            activation(out, act);
            window(out, win);
            weights(out, filter);
            out.u16(*depth_multiplier);
        }
        OpSpec::MaxPool2d { input, output, window: win, activation: act }
        | OpSpec::AveragePool2d { input, output, window: win, activation: act } => {
            let op_code = if matches!(op, OpSpec::MaxPool2d { .. }) {
                code::MAX_POOL_2D
            } else {
                code::AVERAGE_POOL_2D
            };
            out.u8(op_code);
            out.u8(*input);
            out.u8(*output);
            activation(out, act);
            window(out, win);
        }
        OpSpec::Add { inputs, output, left_shift, multipliers, shifts, activation: act } => {
            out.u8(code::ADD);
            out.u8(inputs[0]);
            out.u8(inputs[1]);
            out.u8(*output);
            activation(out, act);
            out.i32(*left_shift);
            for (multiplier, shift) in multipliers.iter().zip(shifts) {
                out.i32(*multiplier);
                out.i32(*shift);
            }
        }
        OpSpec::Softmax { input, output, table } => {
            out.u8(code::SOFTMAX);
            out.u8(*input);
            out.u8(*output);
            let bytes: Vec<u8> = table.iter().flat_map(|v| v.to_le_bytes()).collect();
            constant(out, &bytes);
        }
        OpSpec::Reshape { input, output } => {
            out.u8(code::RESHAPE);
            out.u8(*input);
            out.u8(*output);
        }
    }
}

/// The softmax lookup table for logits quantized with `input_scale`: entry `d` is
/// `exp(−d · input_scale)` in Q0.16 (65535 = 1.0), computed with `libm` so every machine writes
/// the same table.
pub fn softmax_table(input_scale: f32) -> Vec<u16> {
    (0..SOFTMAX_TABLE_LEN)
        .map(|d| {
            let value = libm::exp(-(d as f64) * f64::from(input_scale)) * 65535.0;
            libm::round(value).clamp(0.0, 65535.0) as u16
        })
        .collect()
}

#[derive(Default)]
struct Writer(Vec<u8>);

impl Writer {
    fn len(&self) -> usize {
        self.0.len()
    }
    fn bytes(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.bytes(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.bytes(&v.to_le_bytes());
    }
    fn i32(&mut self, v: i32) {
        self.bytes(&v.to_le_bytes());
    }
    fn f32(&mut self, v: f32) {
        self.bytes(&v.to_le_bytes());
    }
    fn str8(&mut self, s: &str) -> Option<()> {
        self.u8(u8::try_from(s.len()).ok()?);
        self.bytes(s.as_bytes());
        Some(())
    }
    fn str16(&mut self, s: &str) -> Option<()> {
        self.u16(u16::try_from(s.len()).ok()?);
        self.bytes(s.as_bytes());
        Some(())
    }
}
