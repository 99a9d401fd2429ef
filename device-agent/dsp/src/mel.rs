//! Log mel energies of audio frames: the part MFE and MFCC share.
//!
//! Per frame: pre-emphasis, Hamming window, zero-pad to `fft_length`, power spectrum
//! `|X_k|² / fft_length`, triangular mel filters (HTK mel scale), dB with a noise floor.

use core::f32::consts::PI;

use crate::block::{check_finite, check_shape, ms_to_samples};
use crate::fft::{check_fft_length, power_spectrum};
use crate::{DspError, larger};

/// The most mel filters a block accepts.
pub const MAX_FILTERS: u16 = 256;
/// Energies below this read as −300 dB before the noise floor applies (no `log(0)`).
const ENERGY_FLOOR: f32 = 1e-30;

/// HTK's mel scale: `2595 · log10(1 + f / 700)`.
pub fn hz_to_mel(hz: f32) -> f32 {
    2595.0 * libm::log10f(1.0 + hz / 700.0)
}

/// The inverse of [`hz_to_mel`]: `700 · (10^(mel / 2595) − 1)`.
pub fn mel_to_hz(mel: f32) -> f32 {
    700.0 * (libm::exp10f(mel / 2595.0) - 1.0)
}

/// The parameters MFE and MFCC share (MFCC's extra ones live in [`crate::Mfcc`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct MelSpec {
    pub frame_length_ms: f32,
    pub frame_stride_ms: f32,
    pub n_filters: u16,
    pub fft_length: u16,
    pub low_hz: f32,
    pub high_hz: Option<f32>,
    pub noise_floor_db: f32,
    pub pre_emphasis: f32,
}

/// Frame geometry for one input shape, after validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FrameLayout {
    pub frame_samples: usize,
    pub stride_samples: usize,
    pub n_frames: usize,
    pub fft_length: usize,
    pub n_filters: usize,
}

impl FrameLayout {
    /// Scratch for [`MelSpec::log_mel_frames`]: Hamming window, FFT buffer, power spectrum,
    /// filter edges, one frame's log energies.
    pub fn scratch_len(&self) -> usize {
        self.frame_samples + self.fft_length + self.fft_length / 2 + 1 + self.n_filters + 2 + self.n_filters
    }
}

impl MelSpec {
    /// Validates everything and works out the frames.
    pub fn layout(
        &self,
        block: &'static str,
        window_samples: usize,
        n_axes: usize,
        rate_hz: f32,
    ) -> Result<FrameLayout, DspError> {
        check_shape(window_samples, n_axes, rate_hz)?;
        if n_axes != 1 {
            return Err(DspError::AxisCount { block, expected: 1, got: n_axes });
        }
        let fft_length = check_fft_length(self.fft_length)?;
        if self.n_filters == 0 || self.n_filters > MAX_FILTERS {
            return Err(DspError::OutOfRange {
                parameter: "n_filters",
                value: f32::from(self.n_filters),
                allowed: "1 to 256",
            });
        }
        let nyquist_hz = rate_hz / 2.0;
        if !(self.low_hz.is_finite() && self.low_hz >= 0.0) {
            return Err(DspError::OutOfRange {
                parameter: "low_hz",
                value: self.low_hz,
                allowed: "0 Hz or more, below high_hz",
            });
        }
        if self.low_hz >= nyquist_hz {
            return Err(DspError::AboveNyquist { parameter: "low_hz", value_hz: self.low_hz, nyquist_hz });
        }
        let high_hz = self.high_hz.unwrap_or(nyquist_hz);
        if !(high_hz.is_finite() && high_hz > self.low_hz) {
            return Err(DspError::OutOfRange {
                parameter: "high_hz",
                value: high_hz,
                allowed: "above low_hz, up to the Nyquist frequency",
            });
        }
        if high_hz > nyquist_hz {
            return Err(DspError::AboveNyquist { parameter: "high_hz", value_hz: high_hz, nyquist_hz });
        }
        check_finite("noise_floor_db", self.noise_floor_db)?;
        if !(0.0..=1.0).contains(&self.pre_emphasis) {
            return Err(DspError::OutOfRange {
                parameter: "pre_emphasis",
                value: self.pre_emphasis,
                allowed: "0 (off) to 1",
            });
        }
        let frame_samples = ms_to_samples("frame_length_ms", self.frame_length_ms, rate_hz)?;
        let stride_samples = ms_to_samples("frame_stride_ms", self.frame_stride_ms, rate_hz)?;
        if frame_samples > fft_length {
            return Err(DspError::FrameLongerThanFft { frame_samples, fft_length });
        }
        if window_samples < frame_samples {
            return Err(DspError::WindowShorterThanFrame { window_samples, frame_samples });
        }
        Ok(FrameLayout {
            frame_samples,
            stride_samples,
            n_frames: 1 + (window_samples - frame_samples) / stride_samples,
            fft_length,
            n_filters: usize::from(self.n_filters),
        })
    }

    /// Computes each frame's log mel energies (dB, at least `noise_floor_db`) and hands them to
    /// `each_frame(frame_idx, energies_db)`. `scratch` holds at least `layout.scratch_len()`.
    pub fn log_mel_frames(
        &self,
        layout: &FrameLayout,
        window: &[i16],
        scale: f32,
        rate_hz: f32,
        scratch: &mut [f32],
        mut each_frame: impl FnMut(usize, &[f32]),
    ) -> Result<(), DspError> {
        let FrameLayout { frame_samples, stride_samples, n_frames, fft_length, n_filters } = *layout;
        let half = fft_length / 2;
        let (hamming, rest) = scratch.split_at_mut(frame_samples);
        let (buf, rest) = rest.split_at_mut(fft_length);
        let (power, rest) = rest.split_at_mut(half + 1);
        let (edges, rest) = rest.split_at_mut(n_filters + 2);
        let energies = &mut rest[..n_filters];

        // Symmetric Hamming window (numpy.hamming); a one-sample frame keeps its sample.
        let denominator = (frame_samples - 1).max(1) as f32;
        for (i, w) in hamming.iter_mut().enumerate() {
            *w = 0.54 - 0.46 * libm::cosf(2.0 * PI * i as f32 / denominator);
        }
        if frame_samples == 1 {
            hamming[0] = 1.0;
        }

        // Filter edges: n_filters + 2 points equally spaced in mel from low_hz to high_hz.
        let high_hz = self.high_hz.unwrap_or(rate_hz / 2.0);
        let (mel_low, mel_high) = (hz_to_mel(self.low_hz), hz_to_mel(high_hz));
        let n_intervals = (n_filters + 1) as f32;
        for (i, edge) in edges.iter_mut().enumerate() {
            *edge = mel_to_hz(mel_low + (mel_high - mel_low) * i as f32 / n_intervals);
        }

        let bin_hz = rate_hz / fft_length as f32;
        let inv_fft_length = 1.0 / fft_length as f32;
        for frame_idx in 0..n_frames {
            let start = frame_idx * stride_samples;
            let mut previous = if start == 0 { 0.0 } else { f32::from(window[start - 1]) * scale };
            for ((dst, raw), w) in
                buf.iter_mut().zip(&window[start..start + frame_samples]).zip(hamming.iter())
            {
                let value = f32::from(*raw) * scale;
                *dst = (value - self.pre_emphasis * previous) * w;
                previous = value;
            }
            buf[frame_samples..].fill(0.0);
            power_spectrum(buf, power)?;

            for (filter, energy) in energies.iter_mut().enumerate() {
                let (left, center, right) = (edges[filter], edges[filter + 1], edges[filter + 2]);
                let mut sum = 0.0f32;
                let first = (left / bin_hz) as usize;
                for (k, p) in power.iter().enumerate().skip(first) {
                    let f = k as f32 * bin_hz;
                    if f >= right {
                        break;
                    }
                    if f <= left {
                        continue;
                    }
                    let weight = if f <= center {
                        (f - left) / (center - left)
                    } else {
                        (right - f) / (right - center)
                    };
                    sum += weight * (p * inv_fft_length);
                }
                *energy = larger(10.0 * libm::log10f(larger(sum, ENERGY_FLOOR)), self.noise_floor_db);
            }
            each_frame(frame_idx, energies);
        }
        Ok(())
    }
}
