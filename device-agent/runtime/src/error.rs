//! Why a blob was refused or an inference could not run — plain values, never panics.

use core::fmt;

/// A model blob that cannot be used, and the first thing found wrong with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BlobError {
    /// Shorter than a header and a CRC.
    TooShort { len: usize },
    /// Does not start with [`crate::MAGIC`]: not a Mote model.
    BadMagic,
    /// Written by a newer (or unknown) converter.
    UnsupportedVersion { found: u16 },
    /// The header's length disagrees with the bytes given (cut or padded upload).
    LengthMismatch { header: u32, actual: usize },
    /// The trailing CRC does not match the contents.
    Crc { stored: u32, computed: u32 },
    /// A section ends past the end of the blob.
    Truncated { section: &'static str },
    /// Bytes left over after the last section.
    TrailingBytes { count: usize },
    /// A name or label is not UTF-8.
    BadText { what: &'static str },
    /// More of something than the runtime supports.
    TooMany { what: &'static str, max: usize },
    /// The DSP block configuration could not be read.
    BadDsp,
    /// A tensor is malformed (zero size, outside the arena, bad quantization).
    BadTensor { index: u8, why: &'static str },
    /// An operator code this runtime does not know.
    UnknownOp { index: u8, code: u8 },
    /// An operator's parameters do not fit its tensors.
    BadOp { index: u8, why: &'static str },
    /// A constant reference points outside the constant section.
    BadConstant { index: u8, what: &'static str },
    /// Metadata that contradicts the graph (input/output sizes, labels, window).
    BadMetadata { why: &'static str },
    /// The anomaly block is malformed.
    BadAnomaly { why: &'static str },
    /// The model's DSP block is left out of this build (a firmware built for another impulse).
    DspNotBuilt { block: &'static str },
    /// An operator whose kernel is left out of this build (a firmware built for another impulse).
    OpNotBuilt { index: u8, op: &'static str },
}

impl BlobError {
    /// A short fixed description (what a board sends back in its error reply).
    pub fn detail(&self) -> &'static str {
        match self {
            BlobError::TooShort { .. } => "model blob too short",
            BlobError::BadMagic => "not a Mote model blob (bad magic)",
            BlobError::UnsupportedVersion { .. } => {
                "model blob format version not supported by this firmware"
            }
            BlobError::LengthMismatch { .. } => "model blob length does not match its header",
            BlobError::Crc { .. } => "model blob CRC mismatch",
            BlobError::Truncated { section } => section,
            BlobError::TrailingBytes { .. } => "bytes after the model blob's last section",
            BlobError::BadText { .. } => "model blob text is not UTF-8",
            BlobError::TooMany { .. } => "model blob exceeds a runtime limit",
            BlobError::BadDsp => "model blob DSP configuration unreadable",
            BlobError::BadTensor { why, .. } => why,
            BlobError::UnknownOp { .. } => "model blob uses an operator this firmware does not know",
            BlobError::BadOp { why, .. } => why,
            BlobError::BadConstant { .. } => "model blob constant out of bounds",
            BlobError::BadMetadata { why } => why,
            BlobError::BadAnomaly { why } => why,
            BlobError::DspNotBuilt { .. } => "model uses a DSP block this firmware was built without",
            BlobError::OpNotBuilt { .. } => "model uses an operator this firmware was built without",
        }
    }
}

impl fmt::Display for BlobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            BlobError::TooShort { len } => write!(f, "model blob is {len} bytes, too short to be a model"),
            BlobError::BadMagic => f.write_str("not a Mote model blob (the magic bytes are wrong)"),
            BlobError::UnsupportedVersion { found } => write!(
                f,
                "model blob format version {found}; this runtime reads version {}",
                crate::FORMAT_VERSION
            ),
            BlobError::LengthMismatch { header, actual } => {
                write!(f, "model blob header says {header} bytes but {actual} were given")
            }
            BlobError::Crc { stored, computed } => {
                write!(f, "model blob CRC is {stored:#010x} but the contents give {computed:#010x}")
            }
            BlobError::Truncated { section } => write!(f, "model blob truncated: {section}"),
            BlobError::TrailingBytes { count } => {
                write!(f, "{count} unexpected bytes after the last section")
            }
            BlobError::BadText { what } => write!(f, "model blob {what} is not valid UTF-8"),
            BlobError::TooMany { what, max } => write!(f, "model blob has more than {max} {what}"),
            BlobError::BadDsp => f.write_str("the model's DSP block configuration cannot be read"),
            BlobError::BadTensor { index, why } => write!(f, "tensor {index}: {why}"),
            BlobError::UnknownOp { index, code } => {
                write!(f, "operator {index}: unknown operator code {code}")
            }
            BlobError::BadOp { index, why } => write!(f, "operator {index}: {why}"),
            BlobError::BadConstant { index, what } => {
                write!(f, "operator {index}: {what} lies outside the constant section")
            }
            BlobError::BadMetadata { why } => write!(f, "model metadata: {why}"),
            BlobError::BadAnomaly { why } => write!(f, "anomaly block: {why}"),
            BlobError::DspNotBuilt { block } => write!(
                f,
                "the model's DSP block `{block}` is not in this build (a firmware built for another impulse)"
            ),
            BlobError::OpNotBuilt { index, op } => write!(
                f,
                "operator {index} ({op}) is not in this build (a firmware built for another impulse)"
            ),
        }
    }
}

impl core::error::Error for BlobError {}

/// An inference that could not run on a valid model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RunError {
    /// The arena given is smaller than the model's [`crate::Model::arena_len`].
    ArenaTooSmall { needed: usize, given: usize },
    /// The feature vector's length is not the model's input length.
    InputLength { expected: usize, given: usize },
    /// A kernel refused its operands (cannot happen for a blob that parsed; reported, not panicked).
    Kernel { op: u8 },
}

impl RunError {
    /// A short fixed description.
    pub fn detail(&self) -> &'static str {
        match self {
            RunError::ArenaTooSmall { .. } => "arena smaller than the model needs",
            RunError::InputLength { .. } => "feature count does not match the model",
            RunError::Kernel { .. } => "kernel refused its operands",
        }
    }
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            RunError::ArenaTooSmall { needed, given } => {
                write!(f, "the model needs a {needed}-byte arena, {given} bytes were given")
            }
            RunError::InputLength { expected, given } => {
                write!(f, "the model takes {expected} features, {given} were given")
            }
            RunError::Kernel { op } => write!(f, "operator {op} refused its operands"),
        }
    }
}

impl core::error::Error for RunError {}
