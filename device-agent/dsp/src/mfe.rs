//! The MFE block: log mel filterbank energies of audio frames (a mel spectrogram).

use crate::DspError;
use crate::block::{FeatureBlock, OutputShape, check_buffers, check_window};
use crate::mel::{FrameLayout, MelSpec};

/// Mel filterbank energies of one audio axis, frame by frame.
///
/// The window (one axis, physical units = raw × scale) is cut into frames of `frame_length_ms`
/// every `frame_stride_ms` (`1 + (window_samples − frame) / stride` frames; a tail that fills no
/// whole frame is left out). Per frame:
/// 1. pre-emphasis `y[n] = x[n] − pre_emphasis · x[n−1]`, over the whole window (`x[−1] = 0`);
/// 2. a symmetric Hamming window `0.54 − 0.46·cos(2πn / (L − 1))` over the frame's `L` samples,
///    zero-padded to `fft_length` (a frame longer than `fft_length` is an error, not truncated);
/// 3. power spectrum `P_k = |X_k|² / fft_length`, `k = 0..=fft_length/2`;
/// 4. `n_filters` triangular filters on the HTK mel scale (`2595·log10(1 + f/700)`): `n_filters
///    + 2` edges equally spaced in mel from `low_hz` to `high_hz`; filter `j` rises linearly (in
///    Hz) from edge `j` to 1 at edge `j+1` and falls to 0 at edge `j+2`; unnormalised (peak 1);
/// 5. `10·log10(energy)` in dB, clamped below at `noise_floor_db`.
///
/// Output: `(frames, n_filters)` row-major, `out[frame * n_filters + filter]`, in dB. A
/// full-scale sine (amplitude 1) lands near +12 dB with a 20 ms frame at 16 kHz; Edge Impulse
/// maps `[noise_floor_db, 12]` dB to `[0, 1]`, which a learning block may do as normalisation.
///
/// Scratch: `L + fft_length + fft_length/2 + 1 + 2·n_filters + 2` values.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct Mfe {
    /// Frame length in ms. Default 20.
    #[cfg_attr(feature = "schema", schemars(extend("exclusiveMinimum" = 0)))]
    pub frame_length_ms: f32,
    /// Distance between frame starts in ms. Default 10.
    #[cfg_attr(feature = "schema", schemars(extend("exclusiveMinimum" = 0)))]
    pub frame_stride_ms: f32,
    /// Number of mel filters, 1 to 256. Default 40.
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = 256)))]
    pub n_filters: u16,
    /// FFT size, a power of two from 16 to 4096, at least the frame length in samples. Default
    /// 512 (Edge Impulse's 256 would truncate a 20 ms frame at 16 kHz, which is refused here).
    #[cfg_attr(feature = "schema", schemars(extend("enum" = [16, 32, 64, 128, 256, 512, 1024, 2048, 4096])))]
    pub fft_length: u16,
    /// Lower edge of the first filter in Hz. Default 0.
    #[cfg_attr(feature = "schema", schemars(range(min = 0)))]
    pub low_hz: f32,
    /// Upper edge of the last filter in Hz; `None` means the Nyquist frequency. Default `None`.
    pub high_hz: Option<f32>,
    /// Energies below this many dB read as this. Default −52 (as Edge Impulse).
    pub noise_floor_db: f32,
    /// Pre-emphasis coefficient, 0 (off) to 1. Default 0.
    #[cfg_attr(feature = "schema", schemars(range(min = 0, max = 1)))]
    pub pre_emphasis: f32,
}

impl Default for Mfe {
    fn default() -> Self {
        Mfe {
            frame_length_ms: 20.0,
            frame_stride_ms: 10.0,
            n_filters: 40,
            fft_length: 512,
            low_hz: 0.0,
            high_hz: None,
            noise_floor_db: -52.0,
            pre_emphasis: 0.0,
        }
    }
}

impl Mfe {
    pub(crate) fn spec(&self) -> MelSpec {
        MelSpec {
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

    fn layout(&self, window_samples: usize, n_axes: usize, rate_hz: f32) -> Result<FrameLayout, DspError> {
        self.spec().layout("mfe", window_samples, n_axes, rate_hz)
    }
}

impl FeatureBlock for Mfe {
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
        Ok(OutputShape::TimeSeries { steps: layout.n_frames, channels: layout.n_filters })
    }

    fn scratch_len(&self, window_samples: usize, n_axes: usize, rate_hz: f32) -> Result<usize, DspError> {
        Ok(self.layout(window_samples, n_axes, rate_hz)?.scratch_len())
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
        let needed = layout.n_frames * layout.n_filters;
        check_buffers(out, needed, scratch, layout.scratch_len())?;
        let n_filters = layout.n_filters;
        self.spec().log_mel_frames(&layout, window, scales[0], rate_hz, scratch, |frame, energies| {
            out[frame * n_filters..(frame + 1) * n_filters].copy_from_slice(energies);
        })?;
        Ok(needed)
    }
}
