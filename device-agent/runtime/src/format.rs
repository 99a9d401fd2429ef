//! The model blob's byte layout, and a bounds-checked reader over it.
//!
//! Everything is little-endian and unaligned (a blob sits anywhere in flash or RAM).
//!
//! ```text
//! header   magic "MOTEMODL" · version u16 · header_len u16 · total_len u32 · arena_len u32 · flags u32
//! meta     name str16 · n_labels u8 · labels str8… · rate_hz f32 · window_samples u32 ·
//!          stride_samples u32 · n_axes u8 · axis names str8… · dsp bytes16 ·
//!          n_features u32 · feature_scale f32[n_features] · feature_offset f32[n_features]
//! tensors  n_tensors u8 · n_tensors × 16-byte records
//!          (height u16 · width u16 · channels u16 · zero_point i8 · reserved u8 · scale f32 ·
//!           arena_offset u32)
//! graph    input u8 · output u8 · n_ops u8 · ops (op code u8 + fixed fields, see `op.rs`)
//! anomaly  present u8 · [n_clusters u16 · dims u32 · mean f32[dims] · std f32[dims] ·
//!           centroids f32[n_clusters·dims] · radii f32[n_clusters]]
//! consts   len u32 · bytes (weights i8, biases/multipliers/shifts i32, lookup tables u16)
//! trailer  crc32 u32 (CRC-32/ISO-HDLC of every byte before it)
//! ```
//! `str8`/`str16` are a u8/u16 length then UTF-8; `bytes16` a u16 length then bytes.
//!
//! The input features are quantized by `q = clamp(round(x · feature_scale[i] + feature_offset[i]))`
//! (normalisation and the input tensor's quantization folded into one multiply-add per feature).

use crate::BlobError;

/// First bytes of every blob.
pub const MAGIC: [u8; 8] = *b"MOTEMODL";
/// The format version this runtime reads and writes.
pub const FORMAT_VERSION: u16 = 1;
/// Bytes of the fixed header.
pub const HEADER_LEN: usize = 24;
/// Bytes of one tensor record.
pub const TENSOR_RECORD_LEN: usize = 16;
/// Bytes of the CRC trailer.
pub const CRC_LEN: usize = 4;

/// Most classes a model may have (as many as an `InferenceResult` carries).
pub const MAX_LABELS: usize = 32;
/// Most tensors in a graph.
pub const MAX_TENSORS: usize = 64;
/// Most operators in a graph.
pub const MAX_OPS: usize = 64;
/// Most input axes.
pub const MAX_AXES: usize = 8;
/// Most k-means clusters.
pub const MAX_CLUSTERS: usize = 256;

/// The blob CRC (the one the wire frames use).
pub(crate) const CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

/// Reads fields in order; every read is bounds-checked and names its section on failure.
#[derive(Clone)]
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    section: &'static str,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8], section: &'static str) -> Self {
        Self { bytes, pos: 0, section }
    }

    pub fn section(&mut self, section: &'static str) {
        self.section = section;
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    pub fn bytes(&mut self, len: usize) -> Result<&'a [u8], BlobError> {
        let end = self.pos.checked_add(len).filter(|&end| end <= self.bytes.len());
        let end = end.ok_or(BlobError::Truncated { section: self.section })?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], BlobError> {
        let mut out = [0; N];
        out.copy_from_slice(self.bytes(N)?);
        Ok(out)
    }

    pub fn u8(&mut self) -> Result<u8, BlobError> {
        Ok(self.array::<1>()?[0])
    }

    pub fn i8(&mut self) -> Result<i8, BlobError> {
        Ok(self.u8()? as i8)
    }

    pub fn u16(&mut self) -> Result<u16, BlobError> {
        self.array().map(u16::from_le_bytes)
    }

    pub fn u32(&mut self) -> Result<u32, BlobError> {
        self.array().map(u32::from_le_bytes)
    }

    pub fn i32(&mut self) -> Result<i32, BlobError> {
        self.array().map(i32::from_le_bytes)
    }

    pub fn f32(&mut self) -> Result<f32, BlobError> {
        self.array().map(f32::from_le_bytes)
    }

    /// `count` little-endian f32s, left as bytes.
    pub fn f32s(&mut self, count: usize) -> Result<F32s<'a>, BlobError> {
        let len = count.checked_mul(4).ok_or(BlobError::Truncated { section: self.section })?;
        Ok(F32s(self.bytes(len)?))
    }

    pub fn str8(&mut self, what: &'static str) -> Result<&'a str, BlobError> {
        let len = self.u8()?;
        let bytes = self.bytes(usize::from(len))?;
        core::str::from_utf8(bytes).map_err(|_| BlobError::BadText { what })
    }

    pub fn str16(&mut self, what: &'static str) -> Result<&'a str, BlobError> {
        let len = self.u16()?;
        let bytes = self.bytes(usize::from(len))?;
        core::str::from_utf8(bytes).map_err(|_| BlobError::BadText { what })
    }
}

/// Little-endian f32s inside the blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct F32s<'a>(pub(crate) &'a [u8]);

impl F32s<'_> {
    pub fn len(&self) -> usize {
        self.0.len() / 4
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Value `idx`, or 0 past the end.
    pub fn get(&self, idx: usize) -> f32 {
        match self.0.get(idx * 4..idx * 4 + 4) {
            Some(bytes) => f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]),
            None => 0.0,
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = f32> + '_ {
        self.0.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// Rounds half away from zero and saturates to `i32` (NaN gives 0) — the rounding of TFLite's
/// `Quantize`, written out so host and board agree without `std`.
pub fn round_to_i32(value: f32) -> i32 {
    libm::roundf(value) as i32
}

/// `round_to_i32(value).clamp(−128, 127)` as an `i8`, the same for every `f32`, in a handful of
/// instructions. Below 2^31 in magnitude `value − trunc(value)` is exact (a value with a fraction
/// is below 2^23), so comparing it with ±0.5 rounds half away from zero like `roundf`; beyond,
/// the conversion saturates and so do the adjustments; a NaN converts to 0 and compares false.
#[inline]
pub fn quantize_to_i8(value: f32) -> i8 {
    let truncated = value as i32;
    let fraction = value - truncated as f32;
    let rounded =
        truncated.saturating_add(i32::from(fraction >= 0.5)).saturating_sub(i32::from(fraction <= -0.5));
    rounded.clamp(-128, 127) as i8
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn quantizing_to_i8_rounds_like_roundf(bits in any::<u32>(), near in -140.0_f32..140.0) {
            for value in [f32::from_bits(bits), near, near.trunc() + 0.5, near.trunc() - 0.5] {
                prop_assert_eq!(quantize_to_i8(value), round_to_i32(value).clamp(-128, 127) as i8, "{}", value);
            }
        }
    }
}
