//! A sample: one labelled recording of one sensor, stored as interleaved `i16` with a scale per axis.
//!
//! The recording itself ([`Recording`], its axes and content hash) and [`Split`] are defined with
//! the file formats in `mote_formats::recording`; this module adds what the store knows about a
//! sample (id, name, label, device, time).

use std::fmt;

pub(crate) use mote_formats::recording::hex;
pub use mote_formats::recording::{Axis, ContentHash, NewSample, Recording, Split};

/// A sample's row id in the project store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SampleId(pub i64);

impl fmt::Display for SampleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A sample's description, without its values.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleInfo {
    pub id: SampleId,
    /// Unique in the project, e.g. `wave.01`.
    pub name: String,
    pub label: String,
    pub split: Split,
    pub sensor: String,
    pub axes: Vec<Axis>,
    pub rate_hz: f64,
    /// The device id it was recorded on, or the import source.
    pub device: String,
    /// UTC ISO-8601.
    pub created: String,
    pub n_steps: usize,
    pub hash: ContentHash,
}

impl SampleInfo {
    pub fn duration_ms(&self) -> f64 {
        self.n_steps as f64 * 1000.0 / self.rate_hz
    }
}

/// A stored sample with its values.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub info: SampleInfo,
    pub recording: Recording,
}

/// Selects samples; `None` fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SampleFilter {
    pub label: Option<String>,
    pub split: Option<Split>,
    pub device: Option<String>,
}

impl SampleFilter {
    pub fn all() -> Self {
        SampleFilter::default()
    }

    pub fn matches(&self, info: &SampleInfo) -> bool {
        self.label.as_ref().is_none_or(|label| *label == info.label)
            && self.split.is_none_or(|split| split == info.split)
            && self.device.as_ref().is_none_or(|device| *device == info.device)
    }
}
