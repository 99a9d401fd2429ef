//! What every feature block offers: validation, sizes, and `compute`; plus the shared input checks.

use crate::DspError;

/// The layout of a block's output, so a learning block knows whether a 2-D view exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputShape {
    /// A flat feature vector with no spatial layout (flatten, spectral).
    Flat {
        /// The number of features.
        len: usize,
    },
    /// A row-major `(steps, channels)` matrix: rows are time steps, columns are channels.
    /// Raw: `(samples, axes)`; MFE: `(frames, filters)`; MFCC: `(frames, coefficients)`.
    TimeSeries {
        /// Rows: samples (raw) or frames (MFE, MFCC).
        steps: usize,
        /// Columns: axes (raw), mel filters (MFE) or cepstral coefficients (MFCC).
        channels: usize,
    },
}

impl OutputShape {
    /// The number of `f32` values the block writes.
    pub fn len(&self) -> usize {
        match *self {
            OutputShape::Flat { len } => len,
            OutputShape::TimeSeries { steps, channels } => steps * channels,
        }
    }

    /// True if the block writes nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A DSP block: turns one window of interleaved `i16` samples into `f32` features.
///
/// `window_samples` is the number of samples *per axis* (time steps); a window holds
/// `window_samples * n_axes` values, axis-interleaved (`[x0, y0, z0, x1, y1, z1, …]`). Physical
/// value = raw × `scales[axis]`.
///
/// The size queries and `compute` validate everything first and return a [`DspError`] for any bad
/// parameter or buffer; nothing here panics or allocates.
pub trait FeatureBlock {
    /// Checks the block's parameters against this input shape.
    fn validate(&self, window_samples: usize, n_axes: usize, rate_hz: f32) -> Result<(), DspError>;

    /// The output's layout for this input shape.
    fn output_shape(
        &self,
        window_samples: usize,
        n_axes: usize,
        rate_hz: f32,
    ) -> Result<OutputShape, DspError>;

    /// How many `f32` values `compute` writes.
    fn output_len(&self, window_samples: usize, n_axes: usize, rate_hz: f32) -> Result<usize, DspError> {
        Ok(self.output_shape(window_samples, n_axes, rate_hz)?.len())
    }

    /// How many `f32` values of scratch `compute` needs (it may be 0).
    fn scratch_len(&self, window_samples: usize, n_axes: usize, rate_hz: f32) -> Result<usize, DspError>;

    /// Computes the features of one window into `out[..output_len]` and returns `output_len`.
    /// `out` and `scratch` may be longer than needed; their extra values are left alone.
    fn compute(
        &self,
        window: &[i16],
        n_axes: usize,
        scales: &[f32],
        rate_hz: f32,
        out: &mut [f32],
        scratch: &mut [f32],
    ) -> Result<usize, DspError>;
}

/// Checks the input shape common to all blocks.
pub(crate) fn check_shape(window_samples: usize, n_axes: usize, rate_hz: f32) -> Result<(), DspError> {
    if n_axes == 0 {
        return Err(DspError::OutOfRange { parameter: "n_axes", value: 0.0, allowed: "at least 1" });
    }
    if window_samples == 0 {
        return Err(DspError::OutOfRange { parameter: "window_samples", value: 0.0, allowed: "at least 1" });
    }
    if !(rate_hz.is_finite() && rate_hz > 0.0) {
        return Err(DspError::OutOfRange {
            parameter: "rate_hz",
            value: rate_hz,
            allowed: "finite and above 0",
        });
    }
    Ok(())
}

/// Checks the window against `n_axes` and `scales`; returns `window_samples`.
pub(crate) fn check_window(window: &[i16], n_axes: usize, scales: &[f32]) -> Result<usize, DspError> {
    if n_axes == 0 {
        return Err(DspError::OutOfRange { parameter: "n_axes", value: 0.0, allowed: "at least 1" });
    }
    if !window.len().is_multiple_of(n_axes) {
        return Err(DspError::WindowLength { len: window.len(), n_axes });
    }
    if scales.len() != n_axes {
        return Err(DspError::ScaleCount { expected: n_axes, got: scales.len() });
    }
    if let Some(scale) = scales.iter().find(|scale| !scale.is_finite()) {
        return Err(DspError::OutOfRange { parameter: "scales", value: *scale, allowed: "finite numbers" });
    }
    Ok(window.len() / n_axes)
}

/// Checks the caller's buffers.
pub(crate) fn check_buffers(
    out: &[f32],
    out_needed: usize,
    scratch: &[f32],
    scratch_needed: usize,
) -> Result<(), DspError> {
    if out.len() < out_needed {
        return Err(DspError::OutputTooSmall { needed: out_needed, got: out.len() });
    }
    if scratch.len() < scratch_needed {
        return Err(DspError::ScratchTooSmall { needed: scratch_needed, got: scratch.len() });
    }
    Ok(())
}

/// Checks that a parameter is a finite number.
pub(crate) fn check_finite(parameter: &'static str, value: f32) -> Result<(), DspError> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(DspError::OutOfRange { parameter, value, allowed: "a finite number" })
    }
}

/// Converts a duration in milliseconds to a whole number of samples, rounding to nearest
/// (`round(ms * rate_hz / 1000)`, in f32 with libm, so host and board agree).
pub(crate) fn ms_to_samples(parameter: &'static str, ms: f32, rate_hz: f32) -> Result<usize, DspError> {
    let samples = libm::roundf(ms * rate_hz / 1000.0);
    if !(ms.is_finite() && ms > 0.0 && (1.0..=16_777_216.0).contains(&samples)) {
        return Err(DspError::OutOfRange {
            parameter,
            value: ms,
            allowed: "at least one sample at this rate and at most 2^24 samples",
        });
    }
    Ok(samples as usize)
}
