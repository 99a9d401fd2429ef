//! `DspConfig`: any one block, chosen by name, as a project stores it.

use crate::block::{FeatureBlock, OutputShape};
use crate::{DspError, Flatten, Mfcc, Mfe, Raw, Spectral};

/// One DSP block with its parameters.
///
/// With the `serde` feature it is written with a `block` tag and the block's parameters beside it,
/// e.g. in TOML:
///
/// ```toml
/// block = "spectral"
/// fft_length = 64
/// filter = { low_pass = { cutoff_hz = 3.0, order = 6 } }
/// bands = { equal = 8 }
/// ```
///
/// Missing parameters take the block's defaults. Reading this form back needs the `alloc`
/// feature (an internally tagged enum buffers the map); each block's own struct deserializes
/// without an allocator (e.g. with postcard on a board).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(all(feature = "serde", feature = "alloc"), derive(serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(tag = "block", rename_all = "snake_case"))]
pub enum DspConfig {
    /// See [`Raw`].
    Raw(Raw),
    /// See [`Flatten`].
    Flatten(Flatten),
    /// See [`Spectral`].
    Spectral(Spectral),
    /// See [`Mfe`].
    Mfe(Mfe),
    /// See [`Mfcc`].
    Mfcc(Mfcc),
}

impl DspConfig {
    /// The block's name, as in the `block` tag.
    pub fn name(&self) -> &'static str {
        match self {
            DspConfig::Raw(_) => "raw",
            DspConfig::Flatten(_) => "flatten",
            DspConfig::Spectral(_) => "spectral",
            DspConfig::Mfe(_) => "mfe",
            DspConfig::Mfcc(_) => "mfcc",
        }
    }

    /// The block's code, or [`NotBuilt`] when its cargo feature left it out of this build.
    fn block(&self) -> &dyn FeatureBlock {
        match self {
            #[cfg(feature = "raw")]
            DspConfig::Raw(block) => block,
            #[cfg(feature = "flatten")]
            DspConfig::Flatten(block) => block,
            #[cfg(feature = "spectral")]
            DspConfig::Spectral(block) => block,
            #[cfg(feature = "mfe")]
            DspConfig::Mfe(block) => block,
            #[cfg(feature = "mfcc")]
            DspConfig::Mfcc(block) => block,
            #[allow(unreachable_patterns)]
            _ => &NotBuilt,
        }
    }
}

/// Whether this build computes each block (its cargo feature is on): a reader of configurations
/// can refuse a block that is left out before decoding its parameters.
macro_rules! built {
    ($($block:ident: $feature:literal),*) => {$(
        impl $block {
            #[doc = concat!("Whether this build computes the block (cargo feature `", $feature, "`).")]
            pub const BUILT: bool = cfg!(feature = $feature);
        }
    )*};
}

built!(Raw: "raw", Flatten: "flatten", Spectral: "spectral", Mfe: "mfe", Mfcc: "mfcc");

/// A block this build does not compute: every query answers [`DspError::NotBuilt`].
struct NotBuilt;

impl FeatureBlock for NotBuilt {
    fn validate(&self, _: usize, _: usize, _: f32) -> Result<(), DspError> {
        Err(DspError::NotBuilt)
    }

    fn output_shape(&self, _: usize, _: usize, _: f32) -> Result<OutputShape, DspError> {
        Err(DspError::NotBuilt)
    }

    fn scratch_len(&self, _: usize, _: usize, _: f32) -> Result<usize, DspError> {
        Err(DspError::NotBuilt)
    }

    fn compute(
        &self,
        _: &[i16],
        _: usize,
        _: &[f32],
        _: f32,
        _: &mut [f32],
        _: &mut [f32],
    ) -> Result<usize, DspError> {
        Err(DspError::NotBuilt)
    }
}

impl FeatureBlock for DspConfig {
    fn validate(&self, window_samples: usize, n_axes: usize, rate_hz: f32) -> Result<(), DspError> {
        self.block().validate(window_samples, n_axes, rate_hz)
    }

    fn output_shape(
        &self,
        window_samples: usize,
        n_axes: usize,
        rate_hz: f32,
    ) -> Result<OutputShape, DspError> {
        self.block().output_shape(window_samples, n_axes, rate_hz)
    }

    fn scratch_len(&self, window_samples: usize, n_axes: usize, rate_hz: f32) -> Result<usize, DspError> {
        self.block().scratch_len(window_samples, n_axes, rate_hz)
    }

    fn compute(
        &self,
        window: &[i16],
        n_axes: usize,
        scales: &[f32],
        rate_hz: f32,
        out: &mut [f32],
        scratch: &mut [f32],
    ) -> Result<usize, DspError> {
        self.block().compute(window, n_axes, scales, rate_hz, out, scratch)
    }
}

impl From<Raw> for DspConfig {
    fn from(block: Raw) -> Self {
        DspConfig::Raw(block)
    }
}

impl From<Flatten> for DspConfig {
    fn from(block: Flatten) -> Self {
        DspConfig::Flatten(block)
    }
}

impl From<Spectral> for DspConfig {
    fn from(block: Spectral) -> Self {
        DspConfig::Spectral(block)
    }
}

impl From<Mfe> for DspConfig {
    fn from(block: Mfe) -> Self {
        DspConfig::Mfe(block)
    }
}

impl From<Mfcc> for DspConfig {
    fn from(block: Mfcc) -> Self {
        DspConfig::Mfcc(block)
    }
}

impl DspConfig {
    /// Every block's name, as the `block` tag spells it.
    pub const BLOCKS: [&'static str; 5] = ["raw", "flatten", "spectral", "mfe", "mfcc"];
}

/// The JSON schema of a block's parameters (its table without `block`), or `None` for an unknown
/// block name. Field docs, defaults and ranges come from the block types; the app builds its
/// parameter forms from these.
#[cfg(feature = "schema")]
pub fn block_schema(block: &str) -> Option<schemars::Schema> {
    let generator = schemars::generate::SchemaSettings::draft2020_12()
        .with(|settings| settings.inline_subschemas = true)
        .into_generator();
    Some(match block {
        "raw" => generator.into_root_schema_for::<Raw>(),
        "flatten" => generator.into_root_schema_for::<Flatten>(),
        "spectral" => generator.into_root_schema_for::<Spectral>(),
        "mfe" => generator.into_root_schema_for::<Mfe>(),
        "mfcc" => generator.into_root_schema_for::<Mfcc>(),
        _ => return None,
    })
}
