//! Mote's int8 model runtime — the same code on the host (to evaluate a quantized model) and on
//! every board (to run it), so what the app reports is what the board does.
//!
//! - [`Model::parse`] checks a model blob once — header, CRC, every section's bounds, every
//!   operator against its tensors, the arena plan — and then reads it in place (zero-copy). A bad
//!   blob is a [`BlobError`] value, never a panic or an out-of-bounds read.
//! - [`Model::classify`] quantizes a window's features into a caller-provided arena (its size,
//!   [`Model::arena_len`], was planned at conversion time) and runs the int8 operators; no heap.
//! - The kernels follow the TFLite int8 quantization spec: symmetric per-channel int8 weights,
//!   asymmetric per-tensor int8 activations, int32 biases, fixed-point requantization.
//! - With the `alloc` feature, [`builder::BlobBuilder`] writes blobs (the converter's side).
//!
//! The byte layout is described in `format.rs` and `op.rs`.
#![no_std]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(test)]
extern crate std;

mod anomaly;
#[cfg(feature = "alloc")]
pub mod builder;
pub mod dsp_config;
mod error;
mod format;
mod interpreter;
pub mod kernels;
mod model;
mod op;

pub use error::{BlobError, RunError};
pub use format::{
    CRC_LEN, F32s, FORMAT_VERSION, HEADER_LEN, MAGIC, MAX_AXES, MAX_CLUSTERS, MAX_LABELS, MAX_OPS,
    MAX_TENSORS, round_to_i32,
};
pub use interpreter::{Classification, argmax};
pub use kernels::Scratch;
pub use model::{AnomalyBlock, Model, TensorInfo};
pub use op::{Op, OpKind, SOFTMAX_TABLE_LEN, code as op_code};

/// Checks a blob (for a board's upload validation): `Ok` when [`Model::parse`] accepts it.
pub fn validate(blob: &[u8]) -> Result<(), &'static str> {
    Model::parse(blob).map(|_| ()).map_err(|error| error.detail())
}
