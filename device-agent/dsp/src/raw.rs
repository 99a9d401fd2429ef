//! The raw block: the window itself, in physical units, times a scale.

use crate::DspError;
use crate::block::{FeatureBlock, OutputShape, check_buffers, check_finite, check_shape, check_window};

/// The window flattened as given (axis-interleaved), each value × its axis scale × `scale`.
///
/// Output: `(samples, axes)` row-major — `out[i * n_axes + axis] = window[i * n_axes + axis] ×
/// scales[axis] × scale`. No scratch.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct Raw {
    /// Multiplies every value (Edge Impulse's `scale-axes`; default 1).
    pub scale: f32,
}

impl Default for Raw {
    fn default() -> Self {
        Raw { scale: 1.0 }
    }
}

impl FeatureBlock for Raw {
    fn validate(&self, window_samples: usize, n_axes: usize, rate_hz: f32) -> Result<(), DspError> {
        check_shape(window_samples, n_axes, rate_hz)?;
        check_finite("scale", self.scale)
    }

    fn output_shape(
        &self,
        window_samples: usize,
        n_axes: usize,
        rate_hz: f32,
    ) -> Result<OutputShape, DspError> {
        self.validate(window_samples, n_axes, rate_hz)?;
        Ok(OutputShape::TimeSeries { steps: window_samples, channels: n_axes })
    }

    fn scratch_len(&self, window_samples: usize, n_axes: usize, rate_hz: f32) -> Result<usize, DspError> {
        self.validate(window_samples, n_axes, rate_hz)?;
        Ok(0)
    }

    fn compute(
        &self,
        window: &[i16],
        n_axes: usize,
        scales: &[f32],
        rate_hz: f32,
        out: &mut [f32],
        _scratch: &mut [f32],
    ) -> Result<usize, DspError> {
        let window_samples = check_window(window, n_axes, scales)?;
        self.validate(window_samples, n_axes, rate_hz)?;
        check_buffers(out, window.len(), &[], 0)?;
        for (frame_in, frame_out) in window.chunks_exact(n_axes).zip(out.chunks_exact_mut(n_axes)) {
            for ((raw, scale), value) in frame_in.iter().zip(scales).zip(frame_out) {
                *value = f32::from(*raw) * *scale * self.scale;
            }
        }
        Ok(window.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_scales_each_axis() {
        let window = [100i16, -200, 300, -400, 0, 32767];
        let mut out = [0.0f32; 7];
        let n = Raw { scale: 2.0 }.compute(&window, 2, &[0.5, 0.25], 10.0, &mut out, &mut []).unwrap();
        assert_eq!(n, 6);
        assert_eq!(out, [100.0, -100.0, 300.0, -200.0, 0.0, 16383.5, 0.0]);
        assert_eq!(
            Raw::default().output_shape(3, 2, 10.0),
            Ok(OutputShape::TimeSeries { steps: 3, channels: 2 })
        );
    }
}
