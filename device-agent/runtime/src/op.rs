//! Operators as stored in the blob: codes, fixed fields, and decoding into kernel parameters.
//!
//! Each operator is its code (u8) followed by fixed fields. Tensor references are indices into
//! the tensor table; constants are `(offset u32, len u32)` ranges of the constant section.
//!
//! | code | operator          | fields after the code |
//! |------|-------------------|-----------------------|
//! | 1    | fully connected   | in · out · act_min i8 · act_max i8 · weights · bias · multipliers · shifts |
//! | 2    | conv 2-D          | in · out · act · window · filter · bias · multipliers · shifts |
//! | 3    | depthwise conv 2-D| as conv 2-D, then depth_multiplier u16 |
//! | 4    | max pool 2-D      | in · out · act · window |
//! | 5    | average pool 2-D  | in · out · act · window |
//! | 6    | add               | in1 · in2 · out · act · left_shift · m1 · s1 · m2 · s2 · m_out · s_out (i32 each) |
//! | 7    | softmax           | in · out · table (256 × u16: `exp(-d · scale_in)` in Q0.16 for d = max − x) |
//! | 8    | reshape           | in · out (a copy) |
//!
//! `window` is kernel height, kernel width, stride height, stride width, pad top, pad left (u16
//! each). Weights are symmetric per output channel (zero point 0); a 1-D convolution over time is
//! a 2-D one of height 1.

use crate::BlobError;
use crate::format::Reader;
use crate::kernels::{ActivationRange, ChannelRequant, LeI32, Window2d};

/// Operator codes.
pub mod code {
    pub const FULLY_CONNECTED: u8 = 1;
    pub const CONV_2D: u8 = 2;
    pub const DEPTHWISE_CONV_2D: u8 = 3;
    pub const MAX_POOL_2D: u8 = 4;
    pub const AVERAGE_POOL_2D: u8 = 5;
    pub const ADD: u8 = 6;
    pub const SOFTMAX: u8 = 7;
    pub const RESHAPE: u8 = 8;
}

/// Entries of the softmax lookup table.
pub const SOFTMAX_TABLE_LEN: usize = 256;

/// What an operator computes, with its constants borrowed from the blob.
#[derive(Debug, Clone, Copy)]
pub enum OpKind<'a> {
    FullyConnected {
        weights: &'a [i8],
        bias: LeI32<'a>,
        requant: ChannelRequant<'a>,
    },
    Conv2d {
        window: Window2d,
        filter: &'a [i8],
        bias: LeI32<'a>,
        requant: ChannelRequant<'a>,
    },
    DepthwiseConv2d {
        window: Window2d,
        depth_multiplier: usize,
        filter: &'a [i8],
        bias: LeI32<'a>,
        requant: ChannelRequant<'a>,
    },
    MaxPool2d {
        window: Window2d,
    },
    AveragePool2d {
        window: Window2d,
    },
    Add {
        left_shift: i32,
        multipliers: [i32; 3],
        shifts: [i32; 3],
    },
    Softmax {
        table: &'a [u8],
    },
    Reshape,
}

/// One decoded operator.
#[derive(Debug, Clone, Copy)]
pub struct Op<'a> {
    pub inputs: [u8; 2],
    pub n_inputs: usize,
    pub output: u8,
    pub activation: ActivationRange,
    pub kind: OpKind<'a>,
}

impl Op<'_> {
    /// The operator's name, for reports.
    pub fn name(&self) -> &'static str {
        match self.kind {
            OpKind::FullyConnected { .. } => "fully_connected",
            OpKind::Conv2d { .. } => "conv_2d",
            OpKind::DepthwiseConv2d { .. } => "depthwise_conv_2d",
            OpKind::MaxPool2d { .. } => "max_pool_2d",
            OpKind::AveragePool2d { .. } => "average_pool_2d",
            OpKind::Add { .. } => "add",
            OpKind::Softmax { .. } => "softmax",
            OpKind::Reshape => "reshape",
        }
    }

    pub fn inputs(&self) -> &[u8] {
        &self.inputs[..self.n_inputs]
    }
}

/// Reads one operator; constants are resolved against `consts`.
pub(crate) fn read_op<'a>(reader: &mut Reader<'a>, consts: &'a [u8], index: u8) -> Result<Op<'a>, BlobError> {
    let op_code = reader.u8()?;
    let constant = |reader: &mut Reader<'a>, what: &'static str| -> Result<&'a [u8], BlobError> {
        let offset = reader.u32()? as usize;
        let len = reader.u32()? as usize;
        offset
            .checked_add(len)
            .and_then(|end| consts.get(offset..end))
            .ok_or(BlobError::BadConstant { index, what })
    };
    let int32s =
        |bytes: &'a [u8], what: &'static str| LeI32::new(bytes).ok_or(BlobError::BadOp { index, why: what });
    let mut inputs = [reader.u8()?, 0];
    let mut n_inputs = 1;
    if op_code == code::ADD {
        inputs[1] = reader.u8()?;
        n_inputs = 2;
    }
    let output = reader.u8()?;
    let activation = match op_code {
        code::SOFTMAX | code::RESHAPE => ActivationRange::NONE,
        _ => {
            let (min, max) = (i32::from(reader.i8()?), i32::from(reader.i8()?));
            if min > max {
                return Err(BlobError::BadOp { index, why: "activation range is empty" });
            }
            ActivationRange { min, max }
        }
    };
    let window = |reader: &mut Reader<'a>| -> Result<Window2d, BlobError> {
        let mut fields = [0usize; 6];
        for field in &mut fields {
            *field = usize::from(reader.u16()?);
        }
        let [kernel_height, kernel_width, stride_height, stride_width, pad_top, pad_left] = fields;
        if kernel_height == 0 || kernel_width == 0 || stride_height == 0 || stride_width == 0 {
            return Err(BlobError::BadOp { index, why: "kernel and stride must be at least 1" });
        }
        if pad_top >= kernel_height || pad_left >= kernel_width {
            return Err(BlobError::BadOp { index, why: "padding must be smaller than the kernel" });
        }
        Ok(Window2d { kernel_height, kernel_width, stride_height, stride_width, pad_top, pad_left })
    };
    let weights = |reader: &mut Reader<'a>| -> Result<(&'a [i8], LeI32<'a>, ChannelRequant<'a>), BlobError> {
        let weights: &'a [i8] = bytemuck::cast_slice(constant(reader, "weights")?);
        let bias = int32s(constant(reader, "bias")?, "bias is not whole int32s")?;
        let multipliers = int32s(constant(reader, "multipliers")?, "multipliers are not whole int32s")?;
        let shifts = int32s(constant(reader, "shifts")?, "shifts are not whole int32s")?;
        Ok((weights, bias, ChannelRequant { multipliers, shifts }))
    };
    let not_built = |op: &'static str| Err(BlobError::OpNotBuilt { index, op });
    let kind = match op_code {
        code::CONV_2D if !cfg!(feature = "conv") => return not_built("conv_2d"),
        code::DEPTHWISE_CONV_2D if !cfg!(feature = "depthwise") => return not_built("depthwise_conv_2d"),
        code::MAX_POOL_2D if !cfg!(feature = "pool") => return not_built("max_pool_2d"),
        code::AVERAGE_POOL_2D if !cfg!(feature = "pool") => return not_built("average_pool_2d"),
        code::ADD if !cfg!(feature = "add") => return not_built("add"),
        code::FULLY_CONNECTED => {
            let (weights, bias, requant) = weights(reader)?;
            OpKind::FullyConnected { weights, bias, requant }
        }
        code::CONV_2D => {
            let window = window(reader)?;
            let (filter, bias, requant) = weights(reader)?;
            OpKind::Conv2d { window, filter, bias, requant }
        }
        code::DEPTHWISE_CONV_2D => {
            let window = window(reader)?;
            let (filter, bias, requant) = weights(reader)?;
            let depth_multiplier = usize::from(reader.u16()?);
            if depth_multiplier == 0 {
                return Err(BlobError::BadOp { index, why: "depth multiplier must be at least 1" });
            }
            OpKind::DepthwiseConv2d { window, depth_multiplier, filter, bias, requant }
        }
        code::MAX_POOL_2D => OpKind::MaxPool2d { window: window(reader)? },
        code::AVERAGE_POOL_2D => OpKind::AveragePool2d { window: window(reader)? },
        code::ADD => {
            let left_shift = reader.i32()?;
            if !(0..=30).contains(&left_shift) {
                return Err(BlobError::BadOp { index, why: "add left shift must be 0..=30" });
            }
            let mut multipliers = [0; 3];
            let mut shifts = [0; 3];
            for (multiplier, shift) in multipliers.iter_mut().zip(&mut shifts) {
                *multiplier = reader.i32()?;
                *shift = reader.i32()?;
            }
            OpKind::Add { left_shift, multipliers, shifts }
        }
        code::SOFTMAX => {
            let table = constant(reader, "softmax table")?;
            if table.len() != 2 * SOFTMAX_TABLE_LEN {
                return Err(BlobError::BadOp { index, why: "softmax table must have 256 u16 entries" });
            }
            OpKind::Softmax { table }
        }
        code::RESHAPE => OpKind::Reshape,
        code => return Err(BlobError::UnknownOp { index, code }),
    };
    Ok(Op { inputs, n_inputs, output, activation, kind })
}
