//! Data-forwarder mode: reading boards that only print sensor readings as text lines over serial.
//!
//! Compatible with what Edge Impulse's data forwarder expects from a board: one reading per line
//! (`\n`, `\r\n` tolerated), values separated by commas, tabs or spaces (runs of separators are
//! fine), every value a number. A line starting with `ERR` is the board reporting a fault and
//! aborts detection or capture with [`ForwarderError::DeviceReportedError`].
//!
//! The flow is: [`ForwarderLink::open`] a port, [`ForwarderLink::detect`] the stream (axis count
//! and sampling rate), then [`ForwarderLink::capture`] for a duration.
//!
//! Detection listens for a window (2 s by default, 1 s at least). The first line is ignored
//! because the port may have been opened in the middle of it. The axis count comes from the next
//! line that is all numbers; lines with another axis count are garbage. The sampling rate is
//! measured from host-side arrival timestamps as `(lines − 1) ÷ (arrival of last line − arrival
//! of first counted line)`, which is more precise than Edge Impulse's `lines ÷ window` because it
//! does not count the idle time before the first and after the last line. Lines that arrive in
//! the same read share its timestamp; at the rates boards print, a read returns within a
//! fraction of a sample period. A rate is only auto-detected above 2 Hz: a slower board must be
//! given its rate.
//!
//! Nothing the board sends is dropped silently: lines that are not readings (non-numeric tokens,
//! a wrong axis count, longer than [`MAX_LINE_BYTES`], invalid UTF-8) are counted in a
//! [`GarbageReport`] with the first few as examples. If the port vanishes during a capture, the
//! samples captured so far are returned with [`CaptureEnd::Disconnected`].
//!
//! Everything is synchronous and bounded: the port is read with a short timeout
//! ([`READ_TIMEOUT`]) and every loop checks a deadline, so a caller can run it on a thread.

mod capture;
mod detection;
mod error;
mod garbage;
mod line_splitter;
mod link;
mod reading;

pub use capture::{
    Capture, CaptureEnd, CaptureOptions, CaptureProgress, CaptureReport, CaptureTiming, MAX_CAPTURE_DURATION,
};
pub use detection::{
    DEFAULT_DETECTION_WINDOW, DetectedStream, DetectionOptions, MAX_DETECTION_WINDOW,
    MIN_AUTO_DETECTED_RATE_HZ, MIN_DETECTION_WINDOW, RateSource,
};
pub use error::ForwarderError;
pub use garbage::{GarbageLine, GarbageReason, GarbageReport, MAX_GARBAGE_EXAMPLES};
pub use line_splitter::MAX_LINE_BYTES;
pub use link::{DEFAULT_BAUD_RATE, ForwarderLink, PROGRESS_INTERVAL, READ_TIMEOUT};
