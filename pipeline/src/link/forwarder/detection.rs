//! Detection: learning a stream's axis count and sampling rate from the lines heard in a window.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::error::ForwarderError;
use super::garbage::GarbageReport;
use super::line_splitter::RawLine;
use super::reading::{LineKind, classify_line, line_text};

/// How long detection listens unless told otherwise.
pub const DEFAULT_DETECTION_WINDOW: Duration = Duration::from_secs(2);
/// The shortest detection window accepted.
pub const MIN_DETECTION_WINDOW: Duration = Duration::from_secs(1);
/// The longest detection window accepted.
pub const MAX_DETECTION_WINDOW: Duration = Duration::from_secs(60);
/// Rates at or below this are not auto-detected: the user must give them.
pub const MIN_AUTO_DETECTED_RATE_HZ: f64 = 2.0;

/// With a user-given rate, detection listens at least this many sample periods, so that a slow
/// board sends a line beyond the ignored first one.
const MIN_PERIODS_WITH_GIVEN_RATE: f64 = 2.5;
/// The most that listening is stretched for a slow user-given rate.
const MAX_STRETCHED_WINDOW: Duration = Duration::from_secs(30);

/// What detection needs from the user.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectionOptions {
    /// How long to listen: from [`MIN_DETECTION_WINDOW`] to [`MAX_DETECTION_WINDOW`].
    pub window: Duration,
    /// The board's sampling rate, if the user knows it; skips rate detection.
    pub sampling_rate_hz: Option<f64>,
    /// Names for the axes, in the order the board prints them; `axis0`, `axis1`, … if `None`.
    pub axis_names: Option<Vec<String>>,
}

impl Default for DetectionOptions {
    fn default() -> Self {
        Self { window: DEFAULT_DETECTION_WINDOW, sampling_rate_hz: None, axis_names: None }
    }
}

impl DetectionOptions {
    /// Checks everything that can be checked before listening.
    pub fn validate(&self) -> Result<(), ForwarderError> {
        if !(MIN_DETECTION_WINDOW..=MAX_DETECTION_WINDOW).contains(&self.window) {
            return Err(ForwarderError::InvalidDetectionWindow {
                window: self.window,
                minimum: MIN_DETECTION_WINDOW,
                maximum: MAX_DETECTION_WINDOW,
            });
        }
        if let Some(rate_hz) = self.sampling_rate_hz
            && !(rate_hz.is_finite() && rate_hz > 0.0)
        {
            return Err(ForwarderError::InvalidSamplingRate { rate_hz });
        }
        if let Some(names) = &self.axis_names {
            for (name_idx, name) in names.iter().enumerate() {
                if name.trim().is_empty() {
                    return Err(ForwarderError::InvalidAxisName { name: name.clone(), problem: "empty" });
                }
                if names[..name_idx].contains(name) {
                    return Err(ForwarderError::InvalidAxisName { name: name.clone(), problem: "repeated" });
                }
            }
        }
        Ok(())
    }

    /// How long detection listens: the window, stretched for a slow user-given rate (at most to
    /// 30 s) so that at least one line after the ignored first one arrives.
    pub fn listening_time(&self) -> Duration {
        let stretched = match self.sampling_rate_hz {
            Some(rate_hz) if rate_hz.is_finite() && rate_hz > 0.0 => Duration::from_secs_f64(
                (MIN_PERIODS_WITH_GIVEN_RATE / rate_hz).min(MAX_STRETCHED_WINDOW.as_secs_f64()),
            ),
            _ => Duration::ZERO,
        };
        self.window.max(stretched)
    }
}

/// Where a stream's sampling rate came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RateSource {
    /// Measured during detection.
    Detected,
    /// Given by the user.
    UserGiven,
}

/// What detection learned about the stream.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DetectedStream {
    /// Values per line.
    pub axis_count: usize,
    /// One name per axis.
    pub axis_names: Vec<String>,
    /// The rate used from now on: measured, or the user's.
    pub sampling_rate_hz: f64,
    pub rate_source: RateSource,
    /// The rate measured from arrival times, also when the user gave one; `None` if fewer than
    /// two lines were counted.
    pub measured_rate_hz: Option<f64>,
    /// Lines that were readings with the stream's axis count (the ignored first line excluded).
    pub counted_line_count: usize,
    /// How long detection listened.
    pub listened_seconds: f64,
    /// The first line, ignored because the port may have been opened in its middle.
    pub skipped_first_line: Option<String>,
    /// Lines heard during detection that were not readings.
    pub garbage: GarbageReport,
}

/// `(lines − 1) ÷ (arrival of last − arrival of first)`; `None` without two lines apart in time.
pub(crate) fn rate_from_arrivals(
    line_count: usize,
    first_arrival: Instant,
    last_arrival: Instant,
) -> Option<f64> {
    if line_count < 2 {
        return None;
    }
    let span = last_arrival.checked_duration_since(first_arrival)?;
    if span.is_zero() {
        return None;
    }
    Some((line_count - 1) as f64 / span.as_secs_f64())
}

/// The lines heard so far during detection, with their arrival times.
#[derive(Debug, Default)]
pub(crate) struct DetectionTally {
    received_line_count: u64,
    skipped_first_line: Option<String>,
    axis_count: Option<usize>,
    counted_line_count: usize,
    first_counted_arrival: Option<Instant>,
    last_counted_arrival: Option<Instant>,
    garbage: GarbageReport,
}

impl DetectionTally {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Takes one line; fails only if the board reported an error.
    pub(crate) fn record_line(
        &mut self,
        line: &RawLine,
        line_number: u64,
        arrived_at: Instant,
    ) -> Result<(), ForwarderError> {
        self.received_line_count += 1;
        let kind = classify_line(line, self.axis_count);
        if let LineKind::DeviceError(line) = kind {
            return Err(ForwarderError::DeviceReportedError { line });
        }
        if self.received_line_count == 1 {
            self.skipped_first_line = Some(line_text(line));
            return Ok(());
        }
        match kind {
            LineKind::Reading(values) => {
                self.axis_count.get_or_insert(values.len());
                self.counted_line_count += 1;
                self.first_counted_arrival.get_or_insert(arrived_at);
                self.last_counted_arrival = Some(arrived_at);
            }
            LineKind::Garbage(reason) => self.garbage.record(line_number, &line_text(line), reason),
            LineKind::DeviceError(_) => {}
        }
        Ok(())
    }

    /// Turns the tally into the stream's description, or says why it cannot.
    pub(crate) fn finish(
        self,
        options: &DetectionOptions,
        listened: Duration,
    ) -> Result<DetectedStream, ForwarderError> {
        let (Some(axis_count), Some(first_arrival), Some(last_arrival)) =
            (self.axis_count, self.first_counted_arrival, self.last_counted_arrival)
        else {
            return Err(ForwarderError::NoReadings {
                window: listened,
                received_line_count: self.received_line_count,
                garbage_line_count: self.garbage.line_count,
            });
        };
        let measured_rate_hz = rate_from_arrivals(self.counted_line_count, first_arrival, last_arrival);
        let (sampling_rate_hz, rate_source) = match (options.sampling_rate_hz, measured_rate_hz) {
            (Some(given_hz), _) => (given_hz, RateSource::UserGiven),
            (None, Some(measured_hz)) if measured_hz > MIN_AUTO_DETECTED_RATE_HZ => {
                (measured_hz, RateSource::Detected)
            }
            (None, _) => {
                return Err(ForwarderError::RateTooLowToDetect {
                    measured_rate_hz,
                    counted_line_count: self.counted_line_count,
                    window: listened,
                    minimum_hz: MIN_AUTO_DETECTED_RATE_HZ,
                });
            }
        };
        let axis_names = match &options.axis_names {
            None => (0..axis_count).map(|axis_idx| format!("axis{axis_idx}")).collect(),
            Some(names) if names.len() == axis_count => names.clone(),
            Some(names) => {
                return Err(ForwarderError::AxisNameCountMismatch {
                    given: names.len(),
                    detected: axis_count,
                    names: names.join(", "),
                });
            }
        };
        Ok(DetectedStream {
            axis_count,
            axis_names,
            sampling_rate_hz,
            rate_source,
            measured_rate_hz,
            counted_line_count: self.counted_line_count,
            listened_seconds: listened.as_secs_f64(),
            skipped_first_line: self.skipped_first_line,
            garbage: self.garbage,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::forwarder::GarbageReason;

    /// Feeds `lines` as if they arrived every `period`, starting at a fixed instant.
    fn tally_of(lines: &[&str], period: Duration) -> Result<DetectionTally, ForwarderError> {
        let start = Instant::now();
        let mut tally = DetectionTally::new();
        for (line_idx, text) in lines.iter().enumerate() {
            let raw = RawLine::Complete(text.as_bytes().to_vec());
            tally.record_line(&raw, line_idx as u64 + 1, start + period * line_idx as u32)?;
        }
        Ok(tally)
    }

    fn detect(
        lines: &[&str],
        period: Duration,
        options: &DetectionOptions,
    ) -> Result<DetectedStream, ForwarderError> {
        tally_of(lines, period)?.finish(options, DEFAULT_DETECTION_WINDOW)
    }

    #[test]
    fn measures_rate_between_first_and_last_counted_lines() {
        let lines = vec!["2,3"; 11];
        let stream =
            detect(&lines, Duration::from_millis(16), &DetectionOptions::default()).expect("detects");
        assert_eq!(stream.axis_count, 2);
        assert_eq!(stream.axis_names, ["axis0", "axis1"]);
        assert_eq!(stream.counted_line_count, 10);
        assert_eq!(stream.rate_source, RateSource::Detected);
        assert!((stream.sampling_rate_hz - 62.5).abs() < 1e-6, "{}", stream.sampling_rate_hz);
        assert_eq!(stream.skipped_first_line.as_deref(), Some("2,3"));
    }

    #[test]
    fn ignores_a_cut_first_line_and_counts_garbage() {
        let lines = ["3", "1,2,3", "hello", "1,2", "4,5,6", "7,8,9"];
        let stream =
            detect(&lines, Duration::from_millis(100), &DetectionOptions::default()).expect("detects");
        assert_eq!(stream.axis_count, 3);
        assert_eq!(stream.counted_line_count, 3);
        assert_eq!(stream.skipped_first_line.as_deref(), Some("3"));
        assert_eq!(stream.garbage.line_count, 2);
        assert_eq!(
            stream
                .garbage
                .examples
                .iter()
                .map(|example| (example.line_number, example.reason.clone()))
                .collect::<Vec<_>>(),
            vec![
                (3, GarbageReason::NonNumericToken { token: "hello".into() }),
                (4, GarbageReason::WrongAxisCount { expected: 3, found: 2 }),
            ]
        );
    }

    #[test]
    fn axis_count_comes_from_the_first_reading_after_the_skipped_line() {
        let lines = ["x", "booting", "1 2 3 4", "5 6 7 8", "1 2 3 4"];
        let stream =
            detect(&lines, Duration::from_millis(100), &DetectionOptions::default()).expect("detects");
        assert_eq!(stream.axis_count, 4);
        assert_eq!(stream.garbage.line_count, 1);
    }

    #[test]
    fn device_error_aborts_even_on_the_first_line() {
        for lines in [&["ERR: sensor not found"][..], &["1,2", "1,2", "ERR: imu"][..]] {
            let error = tally_of(lines, Duration::from_millis(10)).expect_err("aborts");
            let ForwarderError::DeviceReportedError { line } = error else { panic!("{error:?}") };
            assert_eq!(&line, lines.last().expect("has lines"));
        }
    }

    #[test]
    fn slow_rates_need_the_user() {
        let lines = ["1", "1", "1"];
        let error =
            detect(&lines, Duration::from_secs(1), &DetectionOptions::default()).expect_err("too slow");
        let ForwarderError::RateTooLowToDetect { measured_rate_hz, .. } = error else { panic!("{error:?}") };
        assert_eq!(measured_rate_hz, Some(1.0));

        let options = DetectionOptions { sampling_rate_hz: Some(1.0), ..DetectionOptions::default() };
        let stream = detect(&lines, Duration::from_secs(1), &options).expect("user gave the rate");
        assert_eq!(stream.sampling_rate_hz, 1.0);
        assert_eq!(stream.rate_source, RateSource::UserGiven);
        assert_eq!(stream.measured_rate_hz, Some(1.0));
    }

    #[test]
    fn one_counted_line_is_not_enough_to_detect_a_rate() {
        let error = detect(&["1", "1"], Duration::from_millis(10), &DetectionOptions::default())
            .expect_err("one line");
        assert!(
            matches!(
                error,
                ForwarderError::RateTooLowToDetect { measured_rate_hz: None, counted_line_count: 1, .. }
            ),
            "{error:?}"
        );
    }

    #[test]
    fn no_readings_is_its_own_error() {
        for lines in [&[][..], &["1,2"][..], &["1,2", "hello", "world"][..]] {
            let error = detect(lines, Duration::from_millis(10), &DetectionOptions::default())
                .expect_err("no readings");
            assert_eq!(error.code(), "no_readings", "{lines:?}");
        }
    }

    #[test]
    fn axis_names_must_match_the_stream() {
        let lines = ["1,2,3", "1,2,3", "1,2,3", "1,2,3"];
        let names = |names: &[&str]| DetectionOptions {
            axis_names: Some(names.iter().map(|name| name.to_string()).collect()),
            ..DetectionOptions::default()
        };
        let period = Duration::from_millis(10);
        let stream = detect(&lines, period, &names(&["x", "y", "z"])).expect("names fit");
        assert_eq!(stream.axis_names, ["x", "y", "z"]);
        let error = detect(&lines, period, &names(&["x", "y"])).expect_err("names do not fit");
        assert!(
            matches!(error, ForwarderError::AxisNameCountMismatch { given: 2, detected: 3, .. }),
            "{error:?}"
        );
    }

    #[test]
    fn validates_options_before_listening() {
        let cases = [
            (
                DetectionOptions { window: Duration::from_millis(999), ..DetectionOptions::default() },
                "invalid_detection_window",
            ),
            (
                DetectionOptions { window: Duration::MAX, ..DetectionOptions::default() },
                "invalid_detection_window",
            ),
            (
                DetectionOptions { sampling_rate_hz: Some(0.0), ..DetectionOptions::default() },
                "invalid_sampling_rate",
            ),
            (
                DetectionOptions { sampling_rate_hz: Some(f64::NAN), ..DetectionOptions::default() },
                "invalid_sampling_rate",
            ),
            (
                DetectionOptions {
                    axis_names: Some(vec!["x".into(), "".into()]),
                    ..DetectionOptions::default()
                },
                "invalid_axis_name",
            ),
            (
                DetectionOptions {
                    axis_names: Some(vec!["x".into(), "x".into()]),
                    ..DetectionOptions::default()
                },
                "invalid_axis_name",
            ),
        ];
        for (options, expected_code) in cases {
            assert_eq!(options.validate().expect_err("invalid").code(), expected_code, "{options:?}");
        }
        assert!(DetectionOptions::default().validate().is_ok());
    }

    #[test]
    fn slow_given_rates_stretch_the_listening_time() {
        let with_rate =
            |rate_hz| DetectionOptions { sampling_rate_hz: Some(rate_hz), ..DetectionOptions::default() };
        assert_eq!(DetectionOptions::default().listening_time(), DEFAULT_DETECTION_WINDOW);
        assert_eq!(with_rate(100.0).listening_time(), DEFAULT_DETECTION_WINDOW);
        assert_eq!(with_rate(1.0).listening_time(), Duration::from_millis(2500));
        assert_eq!(with_rate(0.001).listening_time(), MAX_STRETCHED_WINDOW);
    }

    #[test]
    fn rate_needs_two_lines_apart_in_time() {
        let start = Instant::now();
        assert_eq!(rate_from_arrivals(1, start, start), None);
        assert_eq!(rate_from_arrivals(5, start, start), None);
        assert_eq!(rate_from_arrivals(3, start, start + Duration::from_secs(1)), Some(2.0));
    }
}
