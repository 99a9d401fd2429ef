//! The spectral block: filtered RMS, spectral peaks and band powers of each axis.

use core::f32::consts::PI;

use crate::block::{FeatureBlock, OutputShape, check_buffers, check_finite, check_shape, check_window};
use crate::fft::{check_fft_length, power_spectrum_with};
use crate::{DspError, Filter, larger};

/// The most band edges `Bands::Edges` holds (so at most 32 bands).
pub const MAX_BAND_EDGES: usize = 33;
/// The most spectral peaks a spectral block reports per axis.
pub const MAX_PEAKS: u8 = 16;
/// Floor for `log_power`: powers below `1e-10` read as −100 dB.
const LOG_POWER_FLOOR: f32 = 1e-10;

/// How the spectrum is cut into bands.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Bands {
    /// Explicit edges in Hz, strictly increasing, from 0 up to the Nyquist frequency; `k` edges
    /// make `k − 1` bands. Band `i` holds the FFT bins with `edges[i] <= f < edges[i + 1]`; the
    /// last band also holds a bin exactly at its upper edge. Every band must hold a bin.
    Edges(
        #[cfg_attr(feature = "schema", schemars(with = "Vec<f32>", length(min = 2, max = 33)))]
        heapless::Vec<f32, MAX_BAND_EDGES>,
    ),
    /// `n` equal bands over everything above DC: bins `1..=fft_length/2` split into `n`
    /// contiguous groups of `fft_length / (2n)` bins (sizes differ by at most one when `n` does
    /// not divide `fft_length/2`). Band `b` covers `(b, b + 1] × nyquist / n`. `1 <= n <=
    /// fft_length / 2`.
    Equal(#[cfg_attr(feature = "schema", schemars(range(min = 1)))] u16),
}

impl Bands {
    /// Bands with these edges in Hz (up to [`MAX_BAND_EDGES`]); the rest is checked by
    /// `validate`, which knows the sampling rate.
    pub fn from_edges(edges: &[f32]) -> Result<Bands, DspError> {
        heapless::Vec::from_slice(edges).map(Bands::Edges).map_err(|_| DspError::OutOfRange {
            parameter: "bands.edges",
            value: edges.len() as f32,
            allowed: "2 to 33 edges (1 to 32 bands)",
        })
    }

    /// The number of bands.
    pub fn count(&self) -> usize {
        match self {
            Bands::Edges(edges) => edges.len().saturating_sub(1),
            Bands::Equal(n) => usize::from(*n),
        }
    }

    /// Band `band`'s bins, `start..end`, for an FFT of `fft_length` at `rate_hz`.
    fn bins(&self, band: usize, fft_length: usize, rate_hz: f32) -> (usize, usize) {
        let half = fft_length / 2;
        match self {
            Bands::Edges(edges) => {
                let bin_hz = rate_hz / fft_length as f32;
                let last = band + 2 == edges.len();
                let start = first_bin_at_or_above(edges[band], bin_hz, half);
                let end = if last {
                    first_bin_above(edges[band + 1], bin_hz, half)
                } else {
                    first_bin_at_or_above(edges[band + 1], bin_hz, half)
                };
                (start, end.max(start))
            }
            Bands::Equal(n) => {
                let n = usize::from(*n).max(1);
                (1 + band * half / n, 1 + (band + 1) * half / n)
            }
        }
    }

    fn validate(&self, fft_length: usize, rate_hz: f32) -> Result<(), DspError> {
        let nyquist_hz = rate_hz / 2.0;
        match self {
            Bands::Equal(n) => {
                if *n == 0 || usize::from(*n) > fft_length / 2 {
                    return Err(DspError::OutOfRange {
                        parameter: "bands.equal",
                        value: f32::from(*n),
                        allowed: "1 to fft_length / 2",
                    });
                }
            }
            Bands::Edges(edges) => {
                if edges.len() < 2 {
                    return Err(DspError::OutOfRange {
                        parameter: "bands.edges",
                        value: edges.len() as f32,
                        allowed: "2 to 33 edges (1 to 32 bands)",
                    });
                }
                for (index, edge) in edges.iter().enumerate() {
                    if !(edge.is_finite() && *edge >= 0.0) {
                        return Err(DspError::OutOfRange {
                            parameter: "bands.edges",
                            value: *edge,
                            allowed: "frequencies from 0 Hz to the Nyquist frequency",
                        });
                    }
                    if *edge > nyquist_hz {
                        return Err(DspError::AboveNyquist {
                            parameter: "bands.edges",
                            value_hz: *edge,
                            nyquist_hz,
                        });
                    }
                    if index > 0 && *edge <= edges[index - 1] {
                        return Err(DspError::BandEdgesNotIncreasing { index });
                    }
                }
                for band in 0..self.count() {
                    let (start, end) = self.bins(band, fft_length, rate_hz);
                    if start >= end {
                        return Err(DspError::EmptyBand {
                            low_hz: edges[band],
                            high_hz: edges[band + 1],
                            bin_hz: rate_hz / fft_length as f32,
                        });
                    }
                }
            }
        }
        Ok(())
    }
}

/// The first bin `k <= half + 1` with `k * bin_hz >= freq_hz` (bin frequencies computed exactly
/// as in `compute`, so validation and computation agree on every boundary).
fn first_bin_at_or_above(freq_hz: f32, bin_hz: f32, half: usize) -> usize {
    (0..=half).find(|k| *k as f32 * bin_hz >= freq_hz).unwrap_or(half + 1)
}

/// The first bin `k <= half + 1` with `k * bin_hz > freq_hz`.
fn first_bin_above(freq_hz: f32, bin_hz: f32, half: usize) -> usize {
    (0..=half).find(|k| *k as f32 * bin_hz > freq_hz).unwrap_or(half + 1)
}

/// Spectral features of each axis.
///
/// Per axis: the mean is removed, the filter runs (see [`Filter`]), then Welch's method gives a
/// one-sided power spectrum:
/// - frames of `L = min(window_samples, fft_length)` samples, hop `fft_length / 2` (50 %
///   overlap); a window up to `fft_length` long is one frame, zero-padded to `fft_length`; a
///   longer one has `1 + (window_samples − fft_length) / (fft_length / 2)` frames and a tail that
///   fills no whole frame is left out;
/// - each frame × a periodic Hann window `w` of length `L`, FFT, and
///   `P_k = c_k |X_k|² / (fft_length · Σw²)`, `c_k = 2` except at DC and Nyquist (`c = 1`),
///   averaged over frames. Normalised so `Σ_k P_k` is the signal's mean square: a sine of
///   amplitude `A` has total power `A²/2`, in physical units squared.
///
/// Output, flat and axis-major; for each axis, `1 + 2·n_peaks + bands.count()` values:
/// 1. the RMS of the mean-removed, filtered signal;
/// 2. `n_peaks` pairs `(frequency_hz, height)`: local maxima of `P` (`P_k > P_{k−1}`,
///    `P_k >= P_{k+1}`, `0 < k < fft_length/2`) above `peak_threshold`, highest first (equal
///    heights: lower frequency first); the frequency is the bin's `k · rate / fft_length`, the
///    height `P_k`; missing peaks are `(0, 0)` (height −100 in `log_power`);
/// 3. the power of each band, `Σ P_k` over its bins (see [`Bands`]).
///
/// With `log_power`, peak heights and band powers are `10·log10(max(p, 1e-10))` (dB); the RMS and
/// the threshold stay linear.
///
/// Scratch: `window_samples + L + fft_length + fft_length/2 + 1` values.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct Spectral {
    /// FFT size: a power of two from 16 to 4096. Default 128.
    #[cfg_attr(feature = "schema", schemars(extend("enum" = [16, 32, 64, 128, 256, 512, 1024, 2048, 4096])))]
    pub fft_length: u16,
    /// Filter before the FFT. Default: 3 Hz, 6th-order Butterworth low-pass (as Edge Impulse).
    pub filter: Filter,
    /// Bands whose power is reported. Default: edges 0.1, 0.5, 1, 2, 5 Hz (as Edge Impulse).
    pub bands: Bands,
    /// Number of spectral peaks reported, 0 to 16. Default 3.
    #[cfg_attr(feature = "schema", schemars(range(max = 16)))]
    pub n_peaks: u8,
    /// Minimum peak height (linear power, physical units squared). Default 0.1.
    #[cfg_attr(feature = "schema", schemars(range(min = 0)))]
    pub peak_threshold: f32,
    /// Report peak heights and band powers in dB. Default false.
    pub log_power: bool,
}

impl Default for Spectral {
    fn default() -> Self {
        Spectral {
            fft_length: 128,
            filter: Filter::LowPass { cutoff_hz: 3.0, order: 6 },
            bands: Bands::from_edges(&[0.1, 0.5, 1.0, 2.0, 5.0]).unwrap_or(Bands::Equal(4)),
            n_peaks: 3,
            peak_threshold: 0.1,
            log_power: false,
        }
    }
}

/// Edge Impulse's band edges for motion, in Hz.
const MOTION_BAND_EDGES: [f32; 5] = [0.1, 0.5, 1.0, 2.0, 5.0];
/// The default low-pass cutoff, in Hz, used at rates up to [`MOTION_RATE_LIMIT_HZ`].
const MOTION_CUTOFF_HZ: f32 = 3.0;
/// Above this rate the data is not body motion (audio, vibration): no default low-pass.
const MOTION_RATE_LIMIT_HZ: f32 = 1000.0;

impl Spectral {
    /// Defaults that fit `rate_hz` and a window of `window_samples`, for the parameters a person
    /// did not set (`fft_length`, when given, is kept and the bands follow it):
    ///
    /// - `fft_length`: the smallest power of two that holds the window, from 16 to 4096;
    /// - bands: Edge Impulse's edges 0.1, 0.5, 1, 2, 5 Hz when each holds an FFT bin and 5 Hz is
    ///   below the Nyquist frequency, else four equal bands over the whole spectrum;
    /// - filter: a 3 Hz 6th-order low-pass up to 1 kHz (body motion), none above.
    ///
    /// The result validates for every rate and window [`FeatureBlock::validate`] accepts.
    pub fn defaults_for(rate_hz: f32, window_samples: usize, fft_length: Option<u16>) -> Spectral {
        let fft_length =
            fft_length.unwrap_or_else(|| window_samples.clamp(16, 4096).next_power_of_two() as u16);
        let edges = Bands::from_edges(&MOTION_BAND_EDGES).unwrap_or(Bands::Equal(4));
        let bands = match edges.validate(usize::from(fft_length), rate_hz) {
            Ok(()) => edges,
            Err(_) => Bands::Equal(4.min(fft_length / 2).max(1)),
        };
        let filter = if rate_hz <= MOTION_RATE_LIMIT_HZ && MOTION_CUTOFF_HZ < rate_hz / 2.0 {
            Filter::LowPass { cutoff_hz: MOTION_CUTOFF_HZ, order: 6 }
        } else {
            Filter::None
        };
        Spectral { fft_length, filter, bands, ..Spectral::default() }
    }

    /// Features per axis: `1 + 2·n_peaks + bands.count()`.
    pub fn features_per_axis(&self) -> usize {
        1 + 2 * usize::from(self.n_peaks) + self.bands.count()
    }

    fn frame_len(&self, window_samples: usize) -> usize {
        window_samples.min(usize::from(self.fft_length))
    }

    fn height(&self, power: f32) -> f32 {
        if self.log_power { 10.0 * libm::log10f(larger(power, LOG_POWER_FLOOR)) } else { power }
    }
}

impl FeatureBlock for Spectral {
    fn validate(&self, window_samples: usize, n_axes: usize, rate_hz: f32) -> Result<(), DspError> {
        check_shape(window_samples, n_axes, rate_hz)?;
        let fft_length = check_fft_length(self.fft_length)?;
        self.filter.validate(rate_hz)?;
        if self.n_peaks > MAX_PEAKS {
            return Err(DspError::OutOfRange {
                parameter: "n_peaks",
                value: f32::from(self.n_peaks),
                allowed: "0 to 16",
            });
        }
        check_finite("peak_threshold", self.peak_threshold)?;
        if self.peak_threshold < 0.0 {
            return Err(DspError::OutOfRange {
                parameter: "peak_threshold",
                value: self.peak_threshold,
                allowed: "0 or more",
            });
        }
        self.bands.validate(fft_length, rate_hz)
    }

    fn output_shape(
        &self,
        window_samples: usize,
        n_axes: usize,
        rate_hz: f32,
    ) -> Result<OutputShape, DspError> {
        self.validate(window_samples, n_axes, rate_hz)?;
        Ok(OutputShape::Flat { len: n_axes * self.features_per_axis() })
    }

    fn scratch_len(&self, window_samples: usize, n_axes: usize, rate_hz: f32) -> Result<usize, DspError> {
        self.validate(window_samples, n_axes, rate_hz)?;
        let fft_length = usize::from(self.fft_length);
        Ok(window_samples + self.frame_len(window_samples) + fft_length + fft_length / 2 + 1)
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
        let needed = self.output_len(window_samples, n_axes, rate_hz)?;
        let scratch_needed = self.scratch_len(window_samples, n_axes, rate_hz)?;
        check_buffers(out, needed, scratch, scratch_needed)?;

        let fft_length = usize::from(self.fft_length);
        let half = fft_length / 2;
        let frame_len = self.frame_len(window_samples);
        let hop = half;
        let n_frames = 1 + (window_samples - frame_len) / hop;
        let bin_hz = rate_hz / fft_length as f32;

        let (signal, rest) = scratch.split_at_mut(window_samples);
        let (hann, rest) = rest.split_at_mut(frame_len);
        let (frame, rest) = rest.split_at_mut(fft_length);
        let psd = &mut rest[..half + 1];

        let mut hann_energy = 0.0f32;
        for (i, w) in hann.iter_mut().enumerate() {
            *w = 0.5 - 0.5 * libm::cosf(2.0 * PI * i as f32 / frame_len as f32);
            hann_energy += *w * *w;
        }
        // Σ_k P_k = Σ (w·x)² / Σ w²; a one-frame window of one sample has no energy at all.
        let norm =
            if hann_energy > 0.0 { 1.0 / (fft_length as f32 * hann_energy * n_frames as f32) } else { 0.0 };
        let mut cascade = self.filter.design(rate_hz);

        let mut written = 0;
        for (axis, scale) in scales.iter().enumerate() {
            // 1. Physical units, mean removed, filtered.
            let mut sum = 0.0f32;
            for (value, raw) in signal.iter_mut().zip(window.iter().skip(axis).step_by(n_axes)) {
                *value = f32::from(*raw) * *scale;
                sum += *value;
            }
            let mean = sum / window_samples as f32;
            signal.iter_mut().for_each(|value| *value -= mean);
            if let Some(cascade) = cascade.as_mut() {
                cascade.run(signal);
            }
            let sum_squares = signal.iter().fold(0.0f32, |acc, value| acc + value * value);
            out[written] = libm::sqrtf(sum_squares / window_samples as f32);
            written += 1;

            // 2. Welch's averaged, one-sided power spectrum.
            psd.fill(0.0);
            for frame_idx in 0..n_frames {
                let start = frame_idx * hop;
                for ((dst, value), w) in
                    frame.iter_mut().zip(&signal[start..start + frame_len]).zip(hann.iter())
                {
                    *dst = value * w;
                }
                frame[frame_len..].fill(0.0);
                power_spectrum_with(frame, |k, p| psd[k] += p)?;
            }
            for (k, p) in psd.iter_mut().enumerate() {
                let one_sided = if k == 0 || k == half { 1.0 } else { 2.0 };
                *p *= one_sided * norm;
            }

            // 3. Peaks, highest first.
            let mut peaks = [(0.0f32, 0usize); MAX_PEAKS as usize];
            let mut n_found = 0usize;
            let n_peaks = usize::from(self.n_peaks);
            for k in 1..half {
                let p = psd[k];
                if !(p > psd[k - 1] && p >= psd[k + 1] && p > self.peak_threshold) {
                    continue;
                }
                let position = peaks[..n_found].iter().position(|(height, _)| p > *height).unwrap_or(n_found);
                if position < n_peaks {
                    let last = n_found.min(n_peaks - 1);
                    peaks.copy_within(position..last, position + 1);
                    peaks[position] = (p, k);
                    n_found = (n_found + 1).min(n_peaks);
                }
            }
            for (height, k) in &peaks[..n_peaks] {
                out[written] = *k as f32 * bin_hz;
                out[written + 1] = self.height(*height);
                written += 2;
            }

            // 4. Band powers.
            for band in 0..self.bands.count() {
                let (start, end) = self.bands.bins(band, fft_length, rate_hz);
                let power = psd[start.min(half + 1)..end.min(half + 1)].iter().fold(0.0f32, |acc, p| acc + p);
                out[written] = self.height(power);
                written += 1;
            }
        }
        Ok(written)
    }
}
