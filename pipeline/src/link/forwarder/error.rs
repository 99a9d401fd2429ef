//! Everything that can stop data-forwarder mode, each saying what was wrong and what to do.

use std::time::Duration;

/// Why opening, detecting or capturing failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ForwarderError {
    /// No device at the path.
    #[error("serial port {path} not found: is the board plugged in, and is the path right?")]
    PortNotFound { path: String },

    /// The user may not open the device.
    #[error(
        "permission denied opening serial port {path}: add your user to the `dialout` group with \
         `sudo usermod -aG dialout $USER`, then log out and in again"
    )]
    PermissionDenied { path: String },

    /// Another program holds the port.
    #[error(
        "serial port {path} is busy ({detail}): close the other program that has it open \
         (a serial monitor?)"
    )]
    PortBusy { path: String, detail: String },

    /// Opening failed for another reason.
    #[error("could not open serial port {path}: {detail}")]
    PortOpenFailed { path: String, detail: String },

    /// A baud rate of zero would hang up the line.
    #[error("baud rate must be above 0")]
    InvalidBaudRate,

    /// The detection window is outside the accepted range.
    #[error(
        "detection window of {:.3} s is out of range: it must be from {:.0} s to {:.0} s",
        .window.as_secs_f64(),
        .minimum.as_secs_f64(),
        .maximum.as_secs_f64()
    )]
    InvalidDetectionWindow { window: Duration, minimum: Duration, maximum: Duration },

    /// The user-given sampling rate is not a positive number.
    #[error("sampling rate {rate_hz} Hz is invalid: it must be a positive number")]
    InvalidSamplingRate { rate_hz: f64 },

    /// The user-given axis names do not fit the stream.
    #[error("{given} axis names were given ({names}), but the board sends {detected} values per line")]
    AxisNameCountMismatch { given: usize, detected: usize, names: String },

    /// An axis name is empty or repeated.
    #[error("axis name {name:?} is {problem}: every axis needs its own non-empty name")]
    InvalidAxisName { name: String, problem: &'static str },

    /// The capture duration is zero or too long.
    #[error(
        "capture duration of {:.3} s is out of range: it must be above 0 s and at most {:.0} s",
        .duration.as_secs_f64(),
        .maximum.as_secs_f64()
    )]
    InvalidCaptureDuration { duration: Duration, maximum: Duration },

    /// The board sent a line starting with `ERR`.
    #[error("the board reported an error: {line}")]
    DeviceReportedError { line: String },

    /// Detection heard no usable reading.
    #[error(
        "no readings received in {:.1} s ({received_line_count} lines, {garbage_line_count} of \
         them garbage): check that the board prints numbers, one reading per line, at the baud \
         rate the port was opened with",
        .window.as_secs_f64()
    )]
    NoReadings { window: Duration, received_line_count: u64, garbage_line_count: u64 },

    /// The rate could not be auto-detected because it is too low (or too few lines arrived).
    #[error(
        "could not detect the sampling rate: {} in {:.1} s, and rates are only auto-detected \
         above {minimum_hz} Hz; give the sampling rate explicitly",
        what_detection_heard(*.measured_rate_hz, *.counted_line_count),
        .window.as_secs_f64()
    )]
    RateTooLowToDetect {
        measured_rate_hz: Option<f64>,
        counted_line_count: usize,
        window: Duration,
        minimum_hz: f64,
    },

    /// The port went away during detection.
    #[error("serial port {path} disconnected during detection: {detail}")]
    Disconnected { path: String, detail: String },
}

/// The middle of the [`ForwarderError::RateTooLowToDetect`] message.
fn what_detection_heard(measured_rate_hz: Option<f64>, counted_line_count: usize) -> String {
    match measured_rate_hz {
        Some(rate_hz) => format!("{rate_hz:.2} Hz measured from {counted_line_count} lines"),
        None => format!("only {counted_line_count} complete line(s) heard"),
    }
}

impl ForwarderError {
    /// A stable code for the UI to match on instead of the message.
    pub fn code(&self) -> &'static str {
        match self {
            ForwarderError::PortNotFound { .. } => "port_not_found",
            ForwarderError::PermissionDenied { .. } => "permission_denied",
            ForwarderError::PortBusy { .. } => "port_busy",
            ForwarderError::PortOpenFailed { .. } => "port_open_failed",
            ForwarderError::InvalidBaudRate => "invalid_baud_rate",
            ForwarderError::InvalidDetectionWindow { .. } => "invalid_detection_window",
            ForwarderError::InvalidSamplingRate { .. } => "invalid_sampling_rate",
            ForwarderError::AxisNameCountMismatch { .. } => "axis_name_count_mismatch",
            ForwarderError::InvalidAxisName { .. } => "invalid_axis_name",
            ForwarderError::InvalidCaptureDuration { .. } => "invalid_capture_duration",
            ForwarderError::DeviceReportedError { .. } => "device_reported_error",
            ForwarderError::NoReadings { .. } => "no_readings",
            ForwarderError::RateTooLowToDetect { .. } => "rate_too_low_to_detect",
            ForwarderError::Disconnected { .. } => "disconnected",
        }
    }

    /// Maps a failure of `serialport`'s `open` to what the user should know.
    pub(crate) fn from_open_error(path: &str, error: serialport::Error) -> Self {
        let path = path.to_owned();
        match error.kind {
            serialport::ErrorKind::Io(std::io::ErrorKind::NotFound) => ForwarderError::PortNotFound { path },
            serialport::ErrorKind::Io(std::io::ErrorKind::PermissionDenied) => {
                ForwarderError::PermissionDenied { path }
            }
            // serialport reports EBUSY (TIOCEXCL) and a held flock as `NoDevice`.
            serialport::ErrorKind::NoDevice => ForwarderError::PortBusy { path, detail: error.description },
            _ => ForwarderError::PortOpenFailed { path, detail: error.description },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serialport::ErrorKind;

    #[test]
    fn maps_open_errors_to_what_the_user_should_know() {
        let cases = [
            (ErrorKind::Io(std::io::ErrorKind::NotFound), "port_not_found"),
            (ErrorKind::Io(std::io::ErrorKind::PermissionDenied), "permission_denied"),
            (ErrorKind::NoDevice, "port_busy"),
            (ErrorKind::Unknown, "port_open_failed"),
            (ErrorKind::InvalidInput, "port_open_failed"),
        ];
        for (kind, expected_code) in cases {
            let error =
                ForwarderError::from_open_error("/dev/ttyACM0", serialport::Error::new(kind, "details"));
            assert_eq!(error.code(), expected_code, "{kind:?}");
            assert!(error.to_string().contains("/dev/ttyACM0"), "{error}");
        }
    }

    #[test]
    fn permission_denied_says_how_to_fix_it() {
        let error = ForwarderError::from_open_error(
            "/dev/ttyUSB0",
            serialport::Error::new(ErrorKind::Io(std::io::ErrorKind::PermissionDenied), "Permission denied"),
        );
        let message = error.to_string();
        assert!(message.contains("dialout"), "{message}");
        assert!(message.contains("sudo usermod -aG dialout $USER"), "{message}");
        assert!(message.contains("log out"), "{message}");
    }

    #[test]
    fn rate_too_low_asks_for_the_rate() {
        let error = ForwarderError::RateTooLowToDetect {
            measured_rate_hz: Some(1.0),
            counted_line_count: 2,
            window: Duration::from_secs(2),
            minimum_hz: 2.0,
        };
        let message = error.to_string();
        assert!(message.contains("1.00 Hz"), "{message}");
        assert!(message.contains("give the sampling rate"), "{message}");
    }
}
