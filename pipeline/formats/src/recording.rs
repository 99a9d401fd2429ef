//! A recording: one sensor's data as interleaved `i16` with a scale per axis, and which set a
//! sample belongs to.
//!
//! Physical value = raw × scale. The content hash covers exactly what defines the data (axes, units,
//! scales, rate, values) and nothing that describes it (name, label, split, device, time), so the
//! same recording imported twice is recognised whatever it is called.

use std::fmt;

use sha2::{Digest, Sha256};

/// Which set a sample belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Split {
    Train,
    Test,
}

impl Split {
    pub fn as_str(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "test",
        }
    }

    /// `train`/`training` or `test`/`testing` (the Edge Impulse folder names).
    pub fn parse(text: &str) -> Option<Split> {
        match text {
            "train" | "training" => Some(Split::Train),
            "test" | "testing" => Some(Split::Test),
            _ => None,
        }
    }
}

impl fmt::Display for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One axis of a sample: its name, physical unit (may be empty) and scale (physical = raw × scale).
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    pub name: String,
    pub unit: String,
    pub scale: f64,
}

/// The data of a recording: what the content hash covers.
#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    pub axes: Vec<Axis>,
    pub rate_hz: f64,
    /// Interleaved by time step: `raw[step * axes.len() + axis]`.
    pub raw: Vec<i16>,
}

impl Recording {
    pub fn n_axes(&self) -> usize {
        self.axes.len()
    }

    /// Number of time steps.
    pub fn n_steps(&self) -> usize {
        if self.axes.is_empty() { 0 } else { self.raw.len() / self.axes.len() }
    }

    pub fn duration_ms(&self) -> f64 {
        self.n_steps() as f64 * 1000.0 / self.rate_hz
    }

    /// The physical value of `axis` at `step`.
    pub fn value(&self, step: usize, axis: usize) -> f64 {
        f64::from(self.raw[step * self.axes.len() + axis]) * self.axes[axis].scale
    }

    /// Physical values of one axis, in time order.
    pub fn axis_values(&self, axis: usize) -> Vec<f64> {
        (0..self.n_steps()).map(|step| self.value(step, axis)).collect()
    }

    /// Time steps `start..end` as a new recording (same axes, scales and rate).
    pub fn steps(&self, start: usize, end: usize) -> Recording {
        let n_axes = self.axes.len();
        Recording {
            axes: self.axes.clone(),
            rate_hz: self.rate_hz,
            raw: self.raw[start * n_axes..end * n_axes].to_vec(),
        }
    }

    /// The values as the store's BLOB: little-endian `i16`, interleaved.
    pub fn blob(&self) -> Vec<u8> {
        self.raw.iter().flat_map(|value| value.to_le_bytes()).collect()
    }

    /// Inverse of [`Recording::blob`]; `None` when the length is odd.
    pub fn raw_from_blob(blob: &[u8]) -> Option<Vec<i16>> {
        if !blob.len().is_multiple_of(2) {
            return None;
        }
        Some(blob.chunks_exact(2).map(|pair| i16::from_le_bytes([pair[0], pair[1]])).collect())
    }

    /// sha256 over a versioned encoding of axes (name, unit, scale), rate and values.
    pub fn content_hash(&self) -> ContentHash {
        let mut hasher = Sha256::new();
        hasher.update(b"mote-recording/1\n");
        hasher.update((self.axes.len() as u64).to_le_bytes());
        for axis in &self.axes {
            for text in [&axis.name, &axis.unit] {
                hasher.update((text.len() as u64).to_le_bytes());
                hasher.update(text.as_bytes());
            }
            hasher.update(axis.scale.to_le_bytes());
        }
        hasher.update(self.rate_hz.to_le_bytes());
        hasher.update((self.raw.len() as u64).to_le_bytes());
        hasher.update(self.blob());
        ContentHash(hex(&hasher.finalize()))
    }
}

/// One labelled sample: to add to a project (an import, a capture from a board, a dataset
/// operation) or written into a Mote dataset folder.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSample {
    /// Wanted name; a project makes it unique on insert by appending `.2`, `.3`, ... when taken.
    pub name: String,
    pub label: String,
    pub split: Split,
    pub sensor: String,
    pub device: String,
    /// UTC ISO-8601; `None` takes the project's clock (and is left out of a dataset file).
    pub created: Option<String>,
    pub recording: Recording,
}

/// A sample's content hash, lowercase hex sha256.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ContentHash(pub String);

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Lowercase hex of `bytes`, as content hashes and signatures are written.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recording() -> Recording {
        Recording {
            axes: vec![
                Axis { name: "x".into(), unit: "g".into(), scale: 0.5 },
                Axis { name: "y".into(), unit: "g".into(), scale: 0.25 },
            ],
            rate_hz: 10.0,
            raw: vec![1, -2, 3, -4, i16::MAX, i16::MIN],
        }
    }

    #[test]
    fn blob_round_trips_and_values_are_scaled() {
        let recording = recording();
        assert_eq!(recording.blob().len(), 12);
        assert_eq!(Recording::raw_from_blob(&recording.blob()).unwrap(), recording.raw);
        assert_eq!(recording.n_steps(), 3);
        assert_eq!(recording.value(1, 1), -1.0);
        assert_eq!(recording.axis_values(0), vec![0.5, 1.5, 16383.5]);
        assert_eq!(recording.duration_ms(), 300.0);
        assert!(Recording::raw_from_blob(&[1, 2, 3]).is_none());
    }

    #[test]
    fn hash_covers_data_defining_fields_only() {
        let base = recording();
        let hash = base.content_hash();
        assert_eq!(hash.0.len(), 64);
        assert_eq!(base.clone().content_hash(), hash);
        let mut changed = Vec::new();
        let mut other = base.clone();
        other.raw[0] = 2;
        changed.push(other);
        let mut other = base.clone();
        other.axes[0].scale = 0.5000001;
        changed.push(other);
        let mut other = base.clone();
        other.axes[1].unit = "m/s2".into();
        changed.push(other);
        let mut other = base.clone();
        other.rate_hz = 10.5;
        changed.push(other);
        let mut other = base.clone();
        other.axes[0].name = "xx".into();
        other.axes[1].name = "".into();
        changed.push(other);
        for other in changed {
            assert_ne!(other.content_hash(), hash, "{other:?}");
        }
    }
}
