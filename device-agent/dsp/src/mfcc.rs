//! The MFCC block: cepstral coefficients (DCT of log mel energies) of audio frames.

use core::f32::consts::PI;

use crate::block::{FeatureBlock, OutputShape, check_buffers, check_window};
use crate::mel::{FrameLayout, MelSpec};
use crate::{DspError, Mfe};

/// Mel-frequency cepstral coefficients of one audio axis, frame by frame.
///
/// Each frame's log mel energies are computed exactly as [`Mfe`] does (dB, clamped at
/// `noise_floor_db`); then an orthonormal DCT-II, `c_n = s_n Σ_j e_j cos(π n (2j + 1) / (2F))`
/// with `s_0 = √(1/F)`, `s_n = √(2/F)` (`F = n_filters`, as `scipy.fft.dct(norm="ortho")`), keeps
/// `n_coefficients`; with `cepstral_lifter = Some(L)`, `c_n ×= 1 + (L/2)·sin(π n / L)` (HTK).
/// Because the energies are in dB (not natural log), coefficients are 10/ln 10 ≈ 4.34 times
/// those of an `ln`-based MFCC; silence gives `c_0 = √F · noise_floor_db` and zeros.
///
/// Output: `(frames, n_coefficients)` row-major, `out[frame * n_coefficients + n]`.
///
/// Scratch: MFE's scratch plus `n_coefficients · n_filters` (the cosine table).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct Mfcc {
    /// Frame length in ms. Default 20.
    #[cfg_attr(feature = "schema", schemars(extend("exclusiveMinimum" = 0)))]
    pub frame_length_ms: f32,
    /// Distance between frame starts in ms. Default 20 (as Edge Impulse).
    #[cfg_attr(feature = "schema", schemars(extend("exclusiveMinimum" = 0)))]
    pub frame_stride_ms: f32,
    /// Number of mel filters, 1 to 256. Default 32 (as Edge Impulse).
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = 256)))]
    pub n_filters: u16,
    /// FFT size, a power of two from 16 to 4096, at least the frame length in samples. Default 512.
    #[cfg_attr(feature = "schema", schemars(extend("enum" = [16, 32, 64, 128, 256, 512, 1024, 2048, 4096])))]
    pub fft_length: u16,
    /// Lower edge of the first filter in Hz. Default 300 (as Edge Impulse).
    #[cfg_attr(feature = "schema", schemars(range(min = 0)))]
    pub low_hz: f32,
    /// Upper edge of the last filter in Hz; `None` means the Nyquist frequency. Default `None`.
    pub high_hz: Option<f32>,
    /// Energies below this many dB read as this before the DCT. Default −100.
    pub noise_floor_db: f32,
    /// Pre-emphasis coefficient, 0 (off) to 1. Default 0.98 (as Edge Impulse).
    #[cfg_attr(feature = "schema", schemars(range(min = 0, max = 1)))]
    pub pre_emphasis: f32,
    /// Number of coefficients kept, 1 to `n_filters`. Default 13 (as Edge Impulse).
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = 256)))]
    pub n_coefficients: u16,
    /// Sinusoidal cepstral lifter `L` (HTK uses 22); `None` for none. Default `None`.
    #[cfg_attr(feature = "schema", schemars(extend("exclusiveMinimum" = 0)))]
    pub cepstral_lifter: Option<f32>,
}

impl Default for Mfcc {
    fn default() -> Self {
        Mfcc {
            frame_length_ms: 20.0,
            frame_stride_ms: 20.0,
            n_filters: 32,
            fft_length: 512,
            low_hz: 300.0,
            high_hz: None,
            noise_floor_db: -100.0,
            pre_emphasis: 0.98,
            n_coefficients: 13,
            cepstral_lifter: None,
        }
    }
}

impl Mfcc {
    /// The MFE block that computes this block's log mel energies.
    pub fn mfe(&self) -> Mfe {
        Mfe {
            frame_length_ms: self.frame_length_ms,
            frame_stride_ms: self.frame_stride_ms,
            n_filters: self.n_filters,
            fft_length: self.fft_length,
            low_hz: self.low_hz,
            high_hz: self.high_hz,
            noise_floor_db: self.noise_floor_db,
            pre_emphasis: self.pre_emphasis,
        }
    }

    fn spec(&self) -> MelSpec {
        self.mfe().spec()
    }

    fn layout(&self, window_samples: usize, n_axes: usize, rate_hz: f32) -> Result<FrameLayout, DspError> {
        let layout = self.spec().layout("mfcc", window_samples, n_axes, rate_hz)?;
        let n_coefficients = usize::from(self.n_coefficients);
        if n_coefficients == 0 {
            return Err(DspError::OutOfRange {
                parameter: "n_coefficients",
                value: 0.0,
                allowed: "1 to n_filters",
            });
        }
        if n_coefficients > layout.n_filters {
            return Err(DspError::MoreCoefficientsThanFilters {
                n_coefficients,
                n_filters: layout.n_filters,
            });
        }
        if let Some(lifter) = self.cepstral_lifter
            && !(lifter.is_finite() && lifter > 0.0)
        {
            return Err(DspError::OutOfRange {
                parameter: "cepstral_lifter",
                value: lifter,
                allowed: "above 0 (or none)",
            });
        }
        Ok(layout)
    }

    fn scratch_for(&self, layout: &FrameLayout) -> usize {
        layout.scratch_len() + usize::from(self.n_coefficients) * layout.n_filters
    }
}

impl FeatureBlock for Mfcc {
    fn validate(&self, window_samples: usize, n_axes: usize, rate_hz: f32) -> Result<(), DspError> {
        self.layout(window_samples, n_axes, rate_hz).map(|_| ())
    }

    fn output_shape(
        &self,
        window_samples: usize,
        n_axes: usize,
        rate_hz: f32,
    ) -> Result<OutputShape, DspError> {
        let layout = self.layout(window_samples, n_axes, rate_hz)?;
        Ok(OutputShape::TimeSeries { steps: layout.n_frames, channels: usize::from(self.n_coefficients) })
    }

    fn scratch_len(&self, window_samples: usize, n_axes: usize, rate_hz: f32) -> Result<usize, DspError> {
        Ok(self.scratch_for(&self.layout(window_samples, n_axes, rate_hz)?))
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
        let window_samples = check_window(window, n_axes, scales)?;
        let layout = self.layout(window_samples, n_axes, rate_hz)?;
        let n_coefficients = usize::from(self.n_coefficients);
        let n_filters = layout.n_filters;
        let needed = layout.n_frames * n_coefficients;
        check_buffers(out, needed, scratch, self.scratch_for(&layout))?;

        // DCT-II basis with the orthonormal scale and the lifter folded in, row n = coefficient n.
        let (mel_scratch, rest) = scratch.split_at_mut(layout.scratch_len());
        let basis = &mut rest[..n_coefficients * n_filters];
        let two_f = (2 * n_filters) as f32;
        for (n, row) in basis.chunks_exact_mut(n_filters).enumerate() {
            let scale = if n == 0 {
                libm::sqrtf(1.0 / n_filters as f32)
            } else {
                libm::sqrtf(2.0 / n_filters as f32)
            };
            let lifter = match self.cepstral_lifter {
                Some(l) => 1.0 + (l / 2.0) * libm::sinf(PI * n as f32 / l),
                None => 1.0,
            };
            for (j, value) in row.iter_mut().enumerate() {
                *value = libm::cosf(PI * (n * (2 * j + 1)) as f32 / two_f) * scale * lifter;
            }
        }

        let basis = &*basis;
        self.spec().log_mel_frames(&layout, window, scales[0], rate_hz, mel_scratch, |frame, energies| {
            let row_out = &mut out[frame * n_coefficients..(frame + 1) * n_coefficients];
            for (value, row) in row_out.iter_mut().zip(basis.chunks_exact(n_filters)) {
                *value = row.iter().zip(energies).fold(0.0f32, |acc, (b, e)| acc + b * e);
            }
        })?;
        Ok(needed)
    }
}
