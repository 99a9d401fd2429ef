//! Features: every window of every sample through the impulse's DSP block — the same
//! `mote-dsp` code a board runs.

use mote_dsp::{FeatureBlock, WindowSpec};
use mote_project::{Sample, Split};

use crate::impulse::Impulse;

#[derive(Debug, thiserror::Error)]
pub enum FeatureError {
    #[error("sample `{sample}` has no axis `{axis}` (it has: {has}); the impulse needs {needs}")]
    MissingAxis { sample: String, axis: String, has: String, needs: String },
    #[error("sample `{sample}` was recorded at {found} Hz, the impulse expects {expected} Hz")]
    Rate { sample: String, found: f64, expected: f32 },
    #[error("sample `{sample}`: {error}")]
    Dsp { sample: String, error: mote_dsp::DspError },
    #[error("no samples to compute features from")]
    Empty,
}

impl FeatureError {
    pub fn code(&self) -> &'static str {
        match self {
            FeatureError::MissingAxis { .. } => "features.missing_axis",
            FeatureError::Rate { .. } => "features.rate",
            FeatureError::Dsp { .. } => "features.dsp",
            FeatureError::Empty => "features.empty",
        }
    }
}

/// One row per window.
#[derive(Debug, Clone, Default)]
pub struct FeatureSet {
    /// Row-major, `n_rows × n_features`.
    pub features: Vec<f32>,
    pub n_features: usize,
    /// The label of each row (its sample's label).
    pub labels: Vec<String>,
    pub splits: Vec<Split>,
    /// Which sample each row came from.
    pub sample_names: Vec<String>,
}

impl FeatureSet {
    pub fn n_rows(&self) -> usize {
        self.labels.len()
    }

    pub fn row(&self, idx: usize) -> &[f32] {
        &self.features[idx * self.n_features..(idx + 1) * self.n_features]
    }

    /// The rows of one split, as a new set.
    pub fn split(&self, split: Split) -> FeatureSet {
        let mut out = FeatureSet { n_features: self.n_features, ..FeatureSet::default() };
        for idx in (0..self.n_rows()).filter(|&idx| self.splits[idx] == split) {
            out.features.extend_from_slice(self.row(idx));
            out.labels.push(self.labels[idx].clone());
            out.splits.push(split);
            out.sample_names.push(self.sample_names[idx].clone());
        }
        out
    }
}

/// Cuts every sample into windows and computes each window's features.
pub fn compute_features(samples: &[Sample], impulse: &Impulse) -> Result<FeatureSet, FeatureError> {
    let n_axes = impulse.axes.len();
    let n_features = impulse.output.len();
    let mut set = FeatureSet { n_features, ..FeatureSet::default() };
    let mut window = vec![0i16; impulse.window_samples * n_axes];
    let mut selected = Vec::new();
    let scratch_len = impulse
        .dsp
        .scratch_len(impulse.window_samples, n_axes, impulse.rate_hz)
        .map_err(|error| FeatureError::Dsp { sample: String::new(), error })?;
    let mut scratch = vec![0f32; scratch_len];
    let mut out = vec![0f32; n_features];
    for sample in samples {
        let name = &sample.info.name;
        let recording = &sample.recording;
        if (recording.rate_hz - f64::from(impulse.rate_hz)).abs() > 1e-3 * recording.rate_hz.max(1.0) {
            return Err(FeatureError::Rate {
                sample: name.clone(),
                found: recording.rate_hz,
                expected: impulse.rate_hz,
            });
        }
        // The impulse's axes, in the impulse's order, from the sample's columns.
        let columns: Vec<usize> = impulse
            .axes
            .iter()
            .map(|axis| {
                recording.axes.iter().position(|a| &a.name == axis).ok_or_else(|| FeatureError::MissingAxis {
                    sample: name.clone(),
                    axis: axis.clone(),
                    has: recording.axes.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", "),
                    needs: impulse.axes.join(", "),
                })
            })
            .collect::<Result<_, _>>()?;
        let scales: Vec<f32> = columns.iter().map(|&c| recording.axes[c].scale as f32).collect();
        let n_steps = recording.n_steps();
        let source_axes = recording.n_axes();
        selected.clear();
        for step in 0..n_steps {
            for &column in &columns {
                selected.push(recording.raw[step * source_axes + column]);
            }
        }
        let dsp_error = |error| FeatureError::Dsp { sample: name.clone(), error };
        for range in impulse.window.windows(n_steps, impulse.rate_hz).map_err(dsp_error)? {
            WindowSpec::copy_window(&selected, n_axes, range, &mut window).map_err(dsp_error)?;
            impulse
                .dsp
                .compute(&window, n_axes, &scales, impulse.rate_hz, &mut out, &mut scratch)
                .map_err(dsp_error)?;
            set.features.extend_from_slice(&out);
            set.labels.push(sample.info.label.clone());
            set.splits.push(sample.info.split);
            set.sample_names.push(name.clone());
        }
    }
    if set.n_rows() == 0 {
        return Err(FeatureError::Empty);
    }
    Ok(set)
}
