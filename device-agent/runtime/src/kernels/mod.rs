//! The int8 kernels, with TFLite (LiteRT) int8 quantization semantics.
//!
//! The kernels are `no_std` and allocate nothing: constant tensors are borrowed from the model
//! blob (`&[i8]` for weights, [`LeI32`] views for `i32` arrays that may be unaligned) and
//! activations are caller-provided slices. All arithmetic is integer and follows the TFLite int8
//! reference kernels, so the host and a Cortex-M board produce bit-identical outputs.
//!
//! Layout: activations are NHWC without the batch dimension, `[height][width][channels]`,
//! row-major. Every `run` validates its lengths and shapes first and returns `false`, writing
//! nothing, when they disagree; no input makes a kernel panic.

pub mod add;
pub mod conv;
mod dot;
pub mod fully_connected;
pub mod le;
pub(crate) mod packed;
pub mod pool;
pub mod quant;
mod simd;

#[cfg(test)]
mod test_support;

pub use add::Add;
pub use conv::{Conv2d, DepthwiseConv2d, Shape3, Window2d, axis_fits, conv_output_len, same_padding};
pub use fully_connected::FullyConnected;
pub use le::LeI32;
pub use packed::Scratch;
pub use pool::Pool2d;
pub use quant::{
    ActivationRange, ChannelRequant, multiply_by_quantized_multiplier, quantize_multiplier,
    rounding_divide_by_pot, saturating_rounding_doubling_high_mul,
};
