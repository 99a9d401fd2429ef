//! Capture: collecting readings of a detected stream for a duration, with an honest report.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::detection::{DetectedStream, RateSource, rate_from_arrivals};
use super::error::ForwarderError;
use super::garbage::{GarbageReason, GarbageReport};
use super::line_splitter::RawLine;
use super::reading::{LineKind, classify_line, line_text};

/// The longest capture accepted.
pub const MAX_CAPTURE_DURATION: Duration = Duration::from_secs(24 * 60 * 60);

/// How long to capture and how to stop early.
#[derive(Debug, Clone)]
pub struct CaptureOptions {
    /// How long to capture, counted from the start of [`super::ForwarderLink::capture`];
    /// above zero and at most [`MAX_CAPTURE_DURATION`].
    pub duration: Duration,
    /// Set to `true` (from any thread) to stop the capture; the samples so far are returned.
    pub cancel: Option<Arc<AtomicBool>>,
}

impl CaptureOptions {
    /// Capture for `duration`, with no cancel flag.
    pub fn for_duration(duration: Duration) -> Self {
        Self { duration, cancel: None }
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancel.as_ref().is_some_and(|cancel| cancel.load(Ordering::Relaxed))
    }
}

/// Where a capture stands, handed to the progress callback.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaptureProgress {
    pub elapsed: Duration,
    /// The requested capture duration.
    pub duration: Duration,
    pub sample_count: usize,
    pub garbage_line_count: u64,
}

impl CaptureProgress {
    /// Elapsed time as a fraction of the duration, from 0 to 1.
    pub fn fraction_done(&self) -> f64 {
        if self.duration.is_zero() {
            return 1.0;
        }
        (self.elapsed.as_secs_f64() / self.duration.as_secs_f64()).clamp(0.0, 1.0)
    }
}

/// Why a capture ended. Every variant comes with the samples captured until then.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CaptureEnd {
    /// The requested duration passed.
    DurationElapsed,
    /// The cancel flag was set or the progress callback asked to stop.
    Cancelled,
    /// The port went away (unplugged board, closed PTY, read error).
    Disconnected { detail: String },
}

/// How the capture's timing went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaptureTiming {
    pub requested_seconds: f64,
    pub elapsed_seconds: f64,
    /// The stream's rate (detected or given).
    pub expected_rate_hz: f64,
    /// `(samples − 1) ÷ (arrival of last − arrival of first)`; `None` with fewer than two samples.
    pub measured_rate_hz: Option<f64>,
    /// How far the measured rate is from the expected one, in percent of the expected.
    pub rate_deviation_percent: Option<f64>,
}

/// Everything about a capture except the values themselves.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaptureReport {
    pub sample_count: usize,
    pub end: CaptureEnd,
    /// Lines received during the capture that were not readings.
    pub garbage: GarbageReport,
    pub timing: CaptureTiming,
}

/// The samples of one capture.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Capture {
    pub axis_names: Vec<String>,
    pub axis_count: usize,
    pub sampling_rate_hz: f64,
    pub rate_source: RateSource,
    /// Interleaved: sample `sample_idx` is `values[sample_idx * axis_count..][..axis_count]`.
    pub values: Vec<f64>,
    pub report: CaptureReport,
}

impl Capture {
    pub fn sample_count(&self) -> usize {
        self.report.sample_count
    }

    /// One slice of `axis_count` values per sample.
    pub fn samples(&self) -> std::slice::ChunksExact<'_, f64> {
        self.values.chunks_exact(self.axis_count.max(1))
    }

    /// The samples as one `Vec` per sample.
    pub fn to_rows(&self) -> Vec<Vec<f64>> {
        self.samples().map(<[f64]>::to_vec).collect()
    }
}

/// Checks that a stream (whose fields are public) can be captured.
pub(crate) fn validate_stream(
    stream: &DetectedStream,
    options: &CaptureOptions,
) -> Result<(), ForwarderError> {
    if options.duration.is_zero() || options.duration > MAX_CAPTURE_DURATION {
        return Err(ForwarderError::InvalidCaptureDuration {
            duration: options.duration,
            maximum: MAX_CAPTURE_DURATION,
        });
    }
    if !(stream.sampling_rate_hz.is_finite() && stream.sampling_rate_hz > 0.0) {
        return Err(ForwarderError::InvalidSamplingRate { rate_hz: stream.sampling_rate_hz });
    }
    if stream.axis_count == 0 || stream.axis_names.len() != stream.axis_count {
        return Err(ForwarderError::AxisNameCountMismatch {
            given: stream.axis_names.len(),
            detected: stream.axis_count,
            names: stream.axis_names.join(", "),
        });
    }
    Ok(())
}

/// The samples and garbage collected so far.
#[derive(Debug)]
pub(crate) struct CaptureTally {
    axis_count: usize,
    values: Vec<f64>,
    sample_count: usize,
    first_sample_arrival: Option<Instant>,
    last_sample_arrival: Option<Instant>,
    garbage: GarbageReport,
}

impl CaptureTally {
    pub(crate) fn new(axis_count: usize) -> Self {
        Self {
            axis_count,
            values: Vec::new(),
            sample_count: 0,
            first_sample_arrival: None,
            last_sample_arrival: None,
            garbage: GarbageReport::default(),
        }
    }

    /// Takes one line; fails only if the board reported an error.
    pub(crate) fn record_line(
        &mut self,
        line: &RawLine,
        line_number: u64,
        arrived_at: Instant,
    ) -> Result<(), ForwarderError> {
        match classify_line(line, Some(self.axis_count)) {
            LineKind::Reading(values) => {
                self.values.extend_from_slice(&values);
                self.sample_count += 1;
                self.first_sample_arrival.get_or_insert(arrived_at);
                self.last_sample_arrival = Some(arrived_at);
            }
            LineKind::Garbage(reason) => self.garbage.record(line_number, &line_text(line), reason),
            LineKind::DeviceError(line) => {
                return Err(ForwarderError::DeviceReportedError { line });
            }
        }
        Ok(())
    }

    /// Counts the bytes left without a `\n` when the port went away.
    pub(crate) fn record_cut_off_line(&mut self, line: &RawLine, line_number: u64) {
        self.garbage.record(line_number, &line_text(line), GarbageReason::CutOffByDisconnect);
    }

    pub(crate) fn progress(&self, elapsed: Duration, duration: Duration) -> CaptureProgress {
        CaptureProgress {
            elapsed,
            duration,
            sample_count: self.sample_count,
            garbage_line_count: self.garbage.line_count,
        }
    }

    pub(crate) fn finish(
        self,
        stream: &DetectedStream,
        requested: Duration,
        elapsed: Duration,
        end: CaptureEnd,
    ) -> Capture {
        let measured_rate_hz = match (self.first_sample_arrival, self.last_sample_arrival) {
            (Some(first), Some(last)) => rate_from_arrivals(self.sample_count, first, last),
            _ => None,
        };
        let expected_rate_hz = stream.sampling_rate_hz;
        let rate_deviation_percent =
            measured_rate_hz.map(|measured_hz| (measured_hz - expected_rate_hz) / expected_rate_hz * 100.0);
        Capture {
            axis_names: stream.axis_names.clone(),
            axis_count: self.axis_count,
            sampling_rate_hz: expected_rate_hz,
            rate_source: stream.rate_source,
            values: self.values,
            report: CaptureReport {
                sample_count: self.sample_count,
                end,
                garbage: self.garbage,
                timing: CaptureTiming {
                    requested_seconds: requested.as_secs_f64(),
                    elapsed_seconds: elapsed.as_secs_f64(),
                    expected_rate_hz,
                    measured_rate_hz,
                    rate_deviation_percent,
                },
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(axis_count: usize, sampling_rate_hz: f64) -> DetectedStream {
        DetectedStream {
            axis_count,
            axis_names: (0..axis_count).map(|axis_idx| format!("axis{axis_idx}")).collect(),
            sampling_rate_hz,
            rate_source: RateSource::Detected,
            measured_rate_hz: Some(sampling_rate_hz),
            counted_line_count: 10,
            listened_seconds: 2.0,
            skipped_first_line: None,
            garbage: GarbageReport::default(),
        }
    }

    fn line(text: &[u8]) -> RawLine {
        RawLine::Complete(text.to_vec())
    }

    #[test]
    fn collects_interleaved_samples_and_reports_the_rest() {
        let start = Instant::now();
        let mut tally = CaptureTally::new(2);
        let lines: [&[u8]; 6] = [b"1,2", b"hello", b"3\t4", b"5,6,7", b"\xff,1", b"7 8"];
        for (line_idx, text) in lines.iter().enumerate() {
            let arrived_at = start + Duration::from_millis(10) * line_idx as u32;
            tally.record_line(&line(text), line_idx as u64 + 1, arrived_at).expect("no device error");
        }
        tally.record_cut_off_line(&line(b"9,"), 7);
        let capture = tally.finish(
            &stream(2, 50.0),
            Duration::from_secs(1),
            Duration::from_millis(60),
            CaptureEnd::Cancelled,
        );

        assert_eq!(capture.to_rows(), vec![vec![1.0, 2.0], vec![3.0, 4.0], vec![7.0, 8.0]]);
        assert_eq!(capture.sample_count(), 3);
        assert_eq!(capture.report.garbage.line_count, 4);
        let reasons: Vec<_> =
            capture.report.garbage.examples.iter().map(|example| example.reason.clone()).collect();
        assert_eq!(
            reasons,
            [
                GarbageReason::NonNumericToken { token: "hello".into() },
                GarbageReason::WrongAxisCount { expected: 2, found: 3 },
                GarbageReason::InvalidUtf8,
                GarbageReason::CutOffByDisconnect,
            ]
        );
        // Three samples over 50 ms: (3 − 1) ÷ 0.05 s = 40 Hz, 20 % under 50 Hz.
        let timing = &capture.report.timing;
        assert!((timing.measured_rate_hz.expect("two samples") - 40.0).abs() < 1e-9);
        assert!((timing.rate_deviation_percent.expect("two samples") + 20.0).abs() < 1e-9);
    }

    #[test]
    fn device_error_aborts() {
        let mut tally = CaptureTally::new(1);
        let error = tally.record_line(&line(b"ERR: overheated"), 1, Instant::now()).expect_err("aborts");
        assert_eq!(error.to_string(), "the board reported an error: ERR: overheated");
    }

    #[test]
    fn rejects_streams_that_cannot_be_captured() {
        let options = CaptureOptions::for_duration(Duration::from_secs(1));
        let mut no_axes = stream(0, 50.0);
        no_axes.axis_names.clear();
        let mut wrong_names = stream(2, 50.0);
        wrong_names.axis_names.pop();
        let cases = [
            (stream(2, 0.0), &options, "invalid_sampling_rate"),
            (no_axes, &options, "axis_name_count_mismatch"),
            (wrong_names, &options, "axis_name_count_mismatch"),
            (stream(2, 50.0), &CaptureOptions::for_duration(Duration::ZERO), "invalid_capture_duration"),
            (stream(2, 50.0), &CaptureOptions::for_duration(Duration::MAX), "invalid_capture_duration"),
        ];
        for (stream, options, expected_code) in cases {
            assert_eq!(validate_stream(&stream, options).expect_err("invalid").code(), expected_code);
        }
        assert!(validate_stream(&stream(2, 50.0), &options).is_ok());
    }

    #[test]
    fn report_serializes_with_the_end_kind() {
        let tally = CaptureTally::new(1);
        let capture = tally.finish(
            &stream(1, 10.0),
            Duration::from_secs(1),
            Duration::from_millis(500),
            CaptureEnd::Disconnected { detail: "Broken pipe".into() },
        );
        let json = serde_json::to_value(&capture.report).expect("report serializes");
        assert_eq!(json["end"], serde_json::json!({"kind": "disconnected", "detail": "Broken pipe"}));
        assert_eq!(json["timing"]["measured_rate_hz"], serde_json::Value::Null);
    }

    #[test]
    fn progress_fraction_is_clamped() {
        let tally = CaptureTally::new(1);
        let progress = tally.progress(Duration::from_secs(3), Duration::from_secs(2));
        assert_eq!(progress.fraction_done(), 1.0);
        assert_eq!(tally.progress(Duration::from_secs(1), Duration::from_secs(2)).fraction_done(), 0.5);
    }
}
