//! The one error type of this crate: a bad parameter or a bad buffer, never a panic.

use core::fmt;

/// Why a block refused its parameters or its input.
///
/// Every message names the parameter (as spelled in the config) and what is allowed.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum DspError {
    /// A parameter is outside its allowed range.
    OutOfRange {
        /// The parameter's name, e.g. `"fft_length"` or `"filter.order"`.
        parameter: &'static str,
        /// The value given (integers are shown as floats).
        value: f32,
        /// What is allowed, in words, e.g. `"a power of two from 16 to 4096"`.
        allowed: &'static str,
    },
    /// A frequency lies above the Nyquist frequency (half the sampling rate), or at it where
    /// that is not allowed (filter cut-offs).
    AboveNyquist {
        /// The parameter's name, e.g. `"filter.cutoff_hz"`.
        parameter: &'static str,
        /// The frequency given.
        value_hz: f32,
        /// Half the sampling rate.
        nyquist_hz: f32,
    },
    /// The band edges are not strictly increasing: `edges[index] <= edges[index - 1]`.
    BandEdgesNotIncreasing {
        /// The index of the first edge that is not above its predecessor.
        index: usize,
    },
    /// A spectral band contains no FFT bin, so its power would always be zero.
    EmptyBand {
        /// The band's lower edge.
        low_hz: f32,
        /// The band's upper edge.
        high_hz: f32,
        /// The FFT bin spacing, `rate_hz / fft_length`.
        bin_hz: f32,
    },
    /// `Flatten.stats` selects no statistic.
    NoStatistics,
    /// An audio frame has more samples than the FFT.
    FrameLongerThanFft {
        /// `frame_length_ms` in samples at the given rate.
        frame_samples: usize,
        /// The configured `fft_length`.
        fft_length: usize,
    },
    /// `n_coefficients` is larger than `n_filters`.
    MoreCoefficientsThanFilters {
        /// The configured `n_coefficients`.
        n_coefficients: usize,
        /// The configured `n_filters`.
        n_filters: usize,
    },
    /// The window is shorter than one audio frame.
    WindowShorterThanFrame {
        /// Samples per axis in the window.
        window_samples: usize,
        /// `frame_length_ms` in samples at the given rate.
        frame_samples: usize,
    },
    /// The block needs a particular number of axes (MFE and MFCC take one).
    AxisCount {
        /// The block's name, e.g. `"mfe"`.
        block: &'static str,
        /// The number of axes the block takes.
        expected: usize,
        /// The number of axes given.
        got: usize,
    },
    /// The window's length is not a multiple of `n_axes`.
    WindowLength {
        /// `window.len()`.
        len: usize,
        /// The number of axes given.
        n_axes: usize,
    },
    /// `scales` does not have one entry per axis.
    ScaleCount {
        /// The number of axes.
        expected: usize,
        /// `scales.len()`.
        got: usize,
    },
    /// The output buffer is shorter than `output_len`.
    OutputTooSmall {
        /// `output_len` for this window.
        needed: usize,
        /// `out.len()`.
        got: usize,
    },
    /// The scratch buffer is shorter than `scratch_len`.
    ScratchTooSmall {
        /// `scratch_len` for this window.
        needed: usize,
        /// `scratch.len()`.
        got: usize,
    },
    /// This build leaves the block out (its cargo feature is off): a firmware built for another
    /// impulse.
    NotBuilt,
}

impl DspError {
    /// The parameter the error is about, as spelled in the config (`"fft_length"`,
    /// `"filter.cutoff_hz"`, `"bands"`); `None` for errors about the input or the buffers.
    pub fn parameter(&self) -> Option<&'static str> {
        match *self {
            DspError::OutOfRange { parameter, .. } | DspError::AboveNyquist { parameter, .. } => {
                Some(parameter)
            }
            DspError::BandEdgesNotIncreasing { .. } | DspError::EmptyBand { .. } => Some("bands"),
            DspError::NoStatistics => Some("stats"),
            DspError::FrameLongerThanFft { .. } => Some("fft_length"),
            DspError::MoreCoefficientsThanFilters { .. } => Some("n_coefficients"),
            DspError::WindowShorterThanFrame { .. } => Some("frame_length_ms"),
            DspError::AxisCount { .. }
            | DspError::WindowLength { .. }
            | DspError::ScaleCount { .. }
            | DspError::OutputTooSmall { .. }
            | DspError::ScratchTooSmall { .. }
            | DspError::NotBuilt => None,
        }
    }
}

impl fmt::Display for DspError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            DspError::OutOfRange { parameter, value, allowed } => {
                write!(f, "{parameter} is {value}; allowed: {allowed}")
            }
            DspError::AboveNyquist { parameter, value_hz, nyquist_hz } => write!(
                f,
                "{parameter} is {value_hz} Hz; it must lie below the Nyquist frequency, {nyquist_hz} Hz \
                 (half the sampling rate)"
            ),
            DspError::BandEdgesNotIncreasing { index } => write!(
                f,
                "bands.edges must be strictly increasing, but edge {index} is not above edge {}",
                index.saturating_sub(1)
            ),
            DspError::EmptyBand { low_hz, high_hz, bin_hz } => write!(
                f,
                "the band {low_hz}..{high_hz} Hz contains no FFT bin (bins are {bin_hz} Hz apart); \
                 widen the band or increase fft_length"
            ),
            DspError::NoStatistics => f.write_str("stats must select at least one statistic"),
            DspError::FrameLongerThanFft { frame_samples, fft_length } => write!(
                f,
                "frame_length_ms is {frame_samples} samples at this rate, more than fft_length \
                 ({fft_length}); increase fft_length or shorten the frame"
            ),
            DspError::MoreCoefficientsThanFilters { n_coefficients, n_filters } => {
                write!(f, "n_coefficients is {n_coefficients}; allowed: 1 to n_filters ({n_filters})")
            }
            DspError::WindowShorterThanFrame { window_samples, frame_samples } => write!(
                f,
                "the window has {window_samples} samples, fewer than one frame (frame_length_ms is \
                 {frame_samples} samples at this rate)"
            ),
            DspError::AxisCount { block, expected, got } => {
                write!(f, "the {block} block takes {expected} axis/axes, got {got}")
            }
            DspError::WindowLength { len, n_axes } => {
                write!(f, "the window has {len} values, not a multiple of n_axes ({n_axes})")
            }
            DspError::ScaleCount { expected, got } => {
                write!(f, "scales has {got} entries; it needs one per axis ({expected})")
            }
            DspError::OutputTooSmall { needed, got } => {
                write!(f, "the output buffer holds {got} values; the block writes {needed}")
            }
            DspError::ScratchTooSmall { needed, got } => {
                write!(f, "the scratch buffer holds {got} values; the block needs {needed}")
            }
            DspError::NotBuilt => {
                f.write_str("this build does not include the block (built for another impulse)")
            }
        }
    }
}

impl core::error::Error for DspError {}
