//! Running a model: quantize the features into the arena, run the operators in order, read the
//! int8 scores — all in a caller-provided buffer.

use core::ops::Range;

use crate::RunError;
use crate::format::{Reader, quantize_to_i8};
use crate::kernels::{Add, Conv2d, DepthwiseConv2d, FullyConnected, Pool2d, Scratch};
use crate::model::Model;
use crate::op::{Op, OpKind, SOFTMAX_TABLE_LEN, read_op};

/// The result of one inference.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Classification<'r> {
    /// Quantized class scores (softmax output: probability ≈ (score + 128) / 256).
    pub scores: &'r [i8],
    /// Index of the highest score (the first one on ties).
    pub top: usize,
}

impl Classification<'_> {
    /// Score `index` as a probability in [0, 1).
    pub fn probability(&self, index: usize) -> f32 {
        self.scores.get(index).map_or(0.0, |&score| (i32::from(score) + 128) as f32 / 256.0)
    }
}

/// Index of the largest value; the first on ties; 0 for an empty slice.
pub fn argmax(scores: &[i8]) -> usize {
    let mut best = 0;
    for (idx, &score) in scores.iter().enumerate() {
        if score > scores[best] {
            best = idx;
        }
    }
    best
}

impl<'a> Model<'a> {
    /// Quantizes `features` (the DSP block's output) into the model's input tensor.
    pub fn quantize_input(&self, features: &[f32], arena: &mut [u8]) -> Result<(), RunError> {
        self.check_arena(arena)?;
        if features.len() != self.n_features() {
            return Err(RunError::InputLength { expected: self.n_features(), given: features.len() });
        }
        let range = self.tensor(self.input).range();
        let affine = self.feature_scale.iter().zip(self.feature_offset.iter());
        for ((slot, &x), (scale, offset)) in arena[range].iter_mut().zip(features).zip(affine) {
            *slot = quantize_to_i8(x * scale + offset) as u8;
        }
        Ok(())
    }

    /// Classifies one window's features: quantize, run every operator, return the scores (which
    /// live in `arena`).
    pub fn classify<'r>(
        &self,
        features: &[f32],
        arena: &'r mut [u8],
    ) -> Result<Classification<'r>, RunError> {
        self.classify_with(features, arena, &mut Scratch::new())
    }

    /// [`Model::classify`] with the kernels' working memory lent by the caller (a board keeps one
    /// [`Scratch`] for every inference).
    pub fn classify_with<'r>(
        &self,
        features: &[f32],
        arena: &'r mut [u8],
        scratch: &mut Scratch,
    ) -> Result<Classification<'r>, RunError> {
        self.quantize_input(features, arena)?;
        self.invoke_with(arena, scratch)
    }

    /// Runs the operators on an arena whose input tensor is already filled.
    pub fn invoke<'r>(&self, arena: &'r mut [u8]) -> Result<Classification<'r>, RunError> {
        self.invoke_with(arena, &mut Scratch::new())
    }

    /// [`Model::invoke`] with the kernels' working memory lent by the caller.
    pub fn invoke_with<'r>(
        &self,
        arena: &'r mut [u8],
        scratch: &mut Scratch,
    ) -> Result<Classification<'r>, RunError> {
        self.check_arena(arena)?;
        let mut reader = Reader::new(self.ops, "graph");
        for index in 0..self.n_ops {
            let op = read_op(&mut reader, self.consts, index as u8)
                .map_err(|_| RunError::Kernel { op: index as u8 })?;
            if !self.run_op(&op, arena, scratch) {
                return Err(RunError::Kernel { op: index as u8 });
            }
        }
        let scores: &[i8] = bytemuck::cast_slice(&arena[self.tensor(self.output).range()]);
        Ok(Classification { scores, top: argmax(scores) })
    }

    fn check_arena(&self, arena: &[u8]) -> Result<(), RunError> {
        if arena.len() < self.arena_len() {
            return Err(RunError::ArenaTooSmall { needed: self.arena_len(), given: arena.len() });
        }
        Ok(())
    }

    fn run_op(&self, op: &Op<'_>, arena: &mut [u8], scratch: &mut Scratch) -> bool {
        let input = self.tensor(op.inputs[0]);
        let output = self.tensor(op.output);
        let second = op.inputs().get(1).map(|&t| self.tensor(t).range());
        let Some((in1, in2, out)) = split_arena(arena, input.range(), second, output.range()) else {
            return false;
        };
        let (in_shape, out_shape) = (input.shape, output.shape);
        match op.kind {
            // Kernels left out of this build: `parse` refused such blobs, and the constant guards
            // let the compiler drop the kernels' code.
            OpKind::Conv2d { .. } if !cfg!(feature = "conv") => false,
            OpKind::DepthwiseConv2d { .. } if !cfg!(feature = "depthwise") => false,
            OpKind::MaxPool2d { .. } | OpKind::AveragePool2d { .. } if !cfg!(feature = "pool") => false,
            OpKind::Add { .. } if !cfg!(feature = "add") => false,
            OpKind::FullyConnected { weights, bias, requant } => FullyConnected {
                input_offset: -input.zero_point,
                weights,
                bias,
                requant,
                output_offset: output.zero_point,
                activation: op.activation,
            }
            .run_in(in1, out, scratch),
            OpKind::Conv2d { window, filter, bias, requant } => Conv2d {
                input_shape: in_shape,
                output_shape: out_shape,
                window,
                input_offset: -input.zero_point,
                filter,
                bias,
                requant,
                output_offset: output.zero_point,
                activation: op.activation,
            }
            .run_in(in1, out, scratch),
            OpKind::DepthwiseConv2d { window, depth_multiplier, filter, bias, requant } => DepthwiseConv2d {
                input_shape: in_shape,
                output_shape: out_shape,
                window,
                input_offset: -input.zero_point,
                filter,
                bias,
                requant,
                output_offset: output.zero_point,
                activation: op.activation,
                depth_multiplier,
            }
            .run(in1, out),
            OpKind::MaxPool2d { window } => {
                Pool2d { input_shape: in_shape, output_shape: out_shape, window, activation: op.activation }
                    .max(in1, out)
            }
            OpKind::AveragePool2d { window } => {
                Pool2d { input_shape: in_shape, output_shape: out_shape, window, activation: op.activation }
                    .average(in1, out)
            }
            OpKind::Add { left_shift, multipliers, shifts } => {
                let Some(in2) = in2 else { return false };
                let second = self.tensor(op.inputs[1]);
                Add {
                    left_shift,
                    input1_offset: -input.zero_point,
                    input1_multiplier: multipliers[0],
                    input1_shift: shifts[0],
                    input2_offset: -second.zero_point,
                    input2_multiplier: multipliers[1],
                    input2_shift: shifts[1],
                    output_offset: output.zero_point,
                    output_multiplier: multipliers[2],
                    output_shift: shifts[2],
                    activation: op.activation,
                }
                .run(in1, in2, out)
            }
            OpKind::Softmax { table } => softmax(in1, table, out),
            OpKind::Reshape => {
                if in1.len() != out.len() {
                    return false;
                }
                out.copy_from_slice(in1);
                true
            }
        }
    }
}

/// An operator's inputs (one or two) and its output, borrowed from the arena at once.
type Operands<'a> = (&'a [i8], Option<&'a [i8]>, &'a mut [i8]);

/// Borrows up to two input regions and the disjoint output region of the arena at once.
fn split_arena(
    arena: &mut [u8],
    first: Range<usize>,
    second: Option<Range<usize>>,
    output: Range<usize>,
) -> Option<Operands<'_>> {
    if output.end > arena.len() || output.start > output.end {
        return None;
    }
    let (before, rest) = arena.split_at_mut(output.start);
    let (out, after) = rest.split_at_mut(output.end - output.start);
    let (before, after): (&[u8], &[u8]) = (before, after);
    let region = |range: Range<usize>| -> Option<&[i8]> {
        let bytes = if range.end <= output.start {
            before.get(range)?
        } else if range.start >= output.end {
            after.get(range.start - output.end..range.end - output.end)?
        } else {
            return None;
        };
        Some(bytemuck::cast_slice(bytes))
    };
    let first = region(first)?;
    let second = match second {
        Some(range) => Some(region(range)?),
        None => None,
    };
    Some((first, second, bytemuck::cast_slice_mut(out)))
}

/// Int8 softmax with a lookup table: `e_i = table[max − x_i]` (Q0.16 values of `exp(−d · scale)`),
/// `out_i = round(256 · e_i / Σ e) − 128`, saturated to 127. Output scale 1/256, zero point −128,
/// as TFLite's int8 softmax.
fn softmax(input: &[i8], table: &[u8], output: &mut [i8]) -> bool {
    if input.len() != output.len() || table.len() != 2 * SOFTMAX_TABLE_LEN {
        return false;
    }
    let entry = |x: i8, max: i8| {
        let d = (i32::from(max) - i32::from(x)) as usize;
        u64::from(u16::from_le_bytes([table[2 * d], table[2 * d + 1]]))
    };
    let max = input.iter().copied().max().unwrap_or(0);
    let sum: u64 = input.iter().map(|&x| entry(x, max)).sum();
    if sum == 0 {
        return false;
    }
    for (out, &x) in output.iter_mut().zip(input) {
        let scaled = (entry(x, max) * 256 + sum / 2) / sum;
        *out = (scaled as i64 - 128).clamp(-128, 127) as i8;
    }
    true
}

/// Multiply-accumulates of one operator (elementwise operators count one per element).
pub(crate) fn op_macs(model: &Model<'_>, op: &Op<'_>) -> u64 {
    let input = model.tensor(op.inputs[0]);
    let output = model.tensor(op.output);
    let out_len = output.len() as u64;
    match op.kind {
        OpKind::FullyConnected { .. } => input.len() as u64 * out_len,
        OpKind::Conv2d { window, .. } => {
            out_len * (window.kernel_height * window.kernel_width * input.shape.channels) as u64
        }
        OpKind::DepthwiseConv2d { window, .. } => {
            out_len * (window.kernel_height * window.kernel_width) as u64
        }
        OpKind::MaxPool2d { window } | OpKind::AveragePool2d { window } => {
            out_len * (window.kernel_height * window.kernel_width) as u64
        }
        OpKind::Add { .. } | OpKind::Softmax { .. } | OpKind::Reshape => out_len,
    }
}
