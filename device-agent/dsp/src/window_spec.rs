//! How a recorded sample is cut into the windows a DSP block sees.

use crate::DspError;
use crate::block::ms_to_samples;

/// Window length and stride in milliseconds; converted to samples with the sample's rate.
///
/// Rules, for a sample of `len` samples and a window of `w` samples (`round(length_ms * rate /
/// 1000)`) moving by `s` samples:
/// - `len >= w`: windows start at `0, s, 2s, …` while they fit entirely; a last partial window is
///   dropped. That is `1 + (len - w) / s` windows.
/// - `0 < len < w`: exactly **one** window `0..w`; it reaches past the sample's end, and the part
///   beyond is zero (see [`WindowSpec::copy_window`]).
/// - `len == 0`: no window.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct WindowSpec {
    /// Window length in milliseconds.
    pub length_ms: f32,
    /// Distance between the starts of consecutive windows, in milliseconds.
    pub stride_ms: f32,
}

impl Default for WindowSpec {
    /// One-second windows every half second.
    fn default() -> Self {
        WindowSpec { length_ms: 1000.0, stride_ms: 500.0 }
    }
}

/// One window's sample range, `start..end` in samples (per axis); `end` may lie past the sample's
/// end only when the sample is shorter than one window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowRange {
    /// First sample of the window.
    pub start: usize,
    /// One past the last sample of the window.
    pub end: usize,
}

/// The windows of one sample, in order. Made by [`WindowSpec::windows`].
#[derive(Debug, Clone)]
pub struct Windows {
    next_start: usize,
    remaining: usize,
    length: usize,
    stride: usize,
}

impl Iterator for Windows {
    type Item = WindowRange;

    fn next(&mut self) -> Option<WindowRange> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let start = self.next_start;
        self.next_start += self.stride;
        Some(WindowRange { start, end: start + self.length })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for Windows {}

impl WindowSpec {
    /// The window length in samples at `rate_hz`.
    pub fn length_samples(&self, rate_hz: f32) -> Result<usize, DspError> {
        check_rate(rate_hz)?;
        ms_to_samples("length_ms", self.length_ms, rate_hz)
    }

    /// The stride in samples at `rate_hz`.
    pub fn stride_samples(&self, rate_hz: f32) -> Result<usize, DspError> {
        check_rate(rate_hz)?;
        ms_to_samples("stride_ms", self.stride_ms, rate_hz)
    }

    /// The windows of a sample `sample_len` samples long (per axis), recorded at `rate_hz`.
    pub fn windows(&self, sample_len: usize, rate_hz: f32) -> Result<Windows, DspError> {
        let length = self.length_samples(rate_hz)?;
        let stride = self.stride_samples(rate_hz)?;
        let remaining = match sample_len {
            0 => 0,
            len if len < length => 1,
            len => 1 + (len - length) / stride,
        };
        Ok(Windows { next_start: 0, remaining, length, stride })
    }

    /// Copies one window of an axis-interleaved sample into `dst`, zero-filling whatever lies
    /// past the sample's end. `dst` must hold `(range.end - range.start) * n_axes` values.
    pub fn copy_window(
        sample: &[i16],
        n_axes: usize,
        range: WindowRange,
        dst: &mut [i16],
    ) -> Result<(), DspError> {
        if n_axes == 0 {
            return Err(DspError::OutOfRange { parameter: "n_axes", value: 0.0, allowed: "at least 1" });
        }
        if !sample.len().is_multiple_of(n_axes) {
            return Err(DspError::WindowLength { len: sample.len(), n_axes });
        }
        let needed = range.end.saturating_sub(range.start) * n_axes;
        if dst.len() < needed {
            return Err(DspError::OutputTooSmall { needed, got: dst.len() });
        }
        let from = (range.start * n_axes).min(sample.len());
        let to = (range.end * n_axes).min(sample.len());
        let copied = to - from;
        dst[..copied].copy_from_slice(&sample[from..to]);
        dst[copied..needed].fill(0);
        Ok(())
    }
}

fn check_rate(rate_hz: f32) -> Result<(), DspError> {
    if rate_hz.is_finite() && rate_hz > 0.0 {
        Ok(())
    } else {
        Err(DspError::OutOfRange { parameter: "rate_hz", value: rate_hz, allowed: "finite and above 0" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_counts() {
        // (length_ms, stride_ms, rate_hz, sample_len, expected count, expected last window)
        type Case = (f32, f32, f32, usize, usize, Option<(usize, usize)>);
        let cases: &[Case] = &[
            (1000.0, 500.0, 100.0, 100, 1, Some((0, 100))), // exactly one window
            (1000.0, 500.0, 100.0, 149, 1, Some((0, 100))), // partial tail dropped
            (1000.0, 500.0, 100.0, 150, 2, Some((50, 150))),
            (1000.0, 500.0, 100.0, 1000, 19, Some((900, 1000))),
            (1000.0, 500.0, 100.0, 40, 1, Some((0, 100))), // short sample: one zero-padded window
            (1000.0, 500.0, 100.0, 0, 0, None),
            (1000.0, 62.5, 16_000.0, 32_000, 17, Some((16_000, 32_000))),
            (2000.0, 80.0, 62.5, 625, 101, Some((500, 625))), // 125-sample windows, stride 5
            (10_000.0, 10_000.0, 10.0, 100, 1, Some((0, 100))), // BasicMotions: one 100-sample window
        ];
        for &(length_ms, stride_ms, rate_hz, sample_len, count, last) in cases {
            let spec = WindowSpec { length_ms, stride_ms };
            let windows = spec.windows(sample_len, rate_hz).unwrap();
            assert_eq!(windows.len(), count, "{spec:?} over {sample_len} samples");
            let windows: Vec<WindowRange> = windows.collect();
            assert_eq!(windows.len(), count, "{spec:?} over {sample_len} samples");
            assert_eq!(windows.last().map(|w| (w.start, w.end)), last, "{spec:?} over {sample_len} samples");
        }
    }

    #[test]
    fn copy_window_zero_pads_short_samples() {
        let sample = [1i16, 2, 3, 4, 5, 6]; // 3 samples × 2 axes
        let range =
            WindowSpec { length_ms: 50.0, stride_ms: 50.0 }.windows(3, 100.0).unwrap().next().unwrap();
        assert_eq!(range, WindowRange { start: 0, end: 5 });
        let mut dst = [9i16; 10];
        WindowSpec::copy_window(&sample, 2, range, &mut dst).unwrap();
        assert_eq!(dst, [1, 2, 3, 4, 5, 6, 0, 0, 0, 0]);
    }

    #[test]
    fn bad_specs_are_errors() {
        let cases = [
            (WindowSpec { length_ms: 0.0, stride_ms: 10.0 }, 100.0, "length_ms"),
            (WindowSpec { length_ms: 100.0, stride_ms: 0.0 }, 100.0, "stride_ms"),
            (WindowSpec { length_ms: 1.0, stride_ms: 1.0 }, 100.0, "length_ms"), // rounds to 0 samples
            (WindowSpec { length_ms: f32::NAN, stride_ms: 1.0 }, 100.0, "length_ms"),
            (WindowSpec::default(), 0.0, "rate_hz"),
        ];
        for (spec, rate_hz, parameter) in cases {
            match spec.windows(100, rate_hz) {
                Err(DspError::OutOfRange { parameter: p, .. }) => assert_eq!(p, parameter, "{spec:?}"),
                other => panic!("{spec:?}: expected an error about {parameter}, got {other:?}"),
            }
        }
    }
}
