//! The open port in data-forwarder mode: reads lines with bounded waits, detects and captures.

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, Read};
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use super::capture::{Capture, CaptureEnd, CaptureOptions, CaptureProgress, CaptureTally, validate_stream};
use super::detection::{DetectedStream, DetectionOptions, DetectionTally};
use super::error::ForwarderError;
use super::line_splitter::{LineSplitter, RawLine};

/// The baud rate boards running Edge Impulse's data forwarder use unless told otherwise.
pub const DEFAULT_BAUD_RATE: u32 = 115_200;
/// The longest one read of the port blocks; every loop checks its deadline at least this often.
pub const READ_TIMEOUT: Duration = Duration::from_millis(50);
/// How often, at most, the capture progress callback is called.
pub const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);

/// Bytes asked for in one read.
const READ_CHUNK_BYTES: usize = 4096;

/// What one step of reading produced.
enum LinePoll {
    /// A complete line that arrived before the deadline.
    Line { line: RawLine, line_number: u64, arrived_at: Instant },
    /// Nothing complete yet; call again.
    Idle,
    /// The deadline has passed and every line that arrived before it has been handed out.
    DeadlinePassed,
    /// The port is gone. Carries the bytes left without a `\n`, if any, as a numbered line.
    Disconnected { detail: String, cut_off_line: Option<(RawLine, u64)> },
}

/// A port (or any byte source) read in data-forwarder mode.
///
/// Lines that arrive after one call's deadline stay queued for the next call, so a
/// [`detect`](Self::detect) followed by [`capture`](Self::capture) loses no line in between.
pub struct ForwarderLink {
    port_name: String,
    source: Box<dyn Read + Send>,
    splitter: LineSplitter,
    /// Complete lines not handed out yet, with their arrival times.
    queued_lines: VecDeque<(RawLine, Instant)>,
    /// Lines handed out since the port was opened; the last one's number.
    line_count: u64,
    read_buffer: Vec<u8>,
    /// Set once the source failed; it is not read again.
    disconnect_detail: Option<String>,
}

impl fmt::Debug for ForwarderLink {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("ForwarderLink")
            .field("port_name", &self.port_name)
            .field("line_count", &self.line_count)
            .field("queued_line_count", &self.queued_lines.len())
            .field("disconnect_detail", &self.disconnect_detail)
            .finish_non_exhaustive()
    }
}

impl ForwarderLink {
    /// Opens a serial port at `baud_rate` ([`DEFAULT_BAUD_RATE`] for most boards; pseudo-terminals
    /// ignore it) and discards whatever the OS had buffered before, so old lines do not arrive in
    /// one burst and spoil rate detection.
    pub fn open(port_path: &str, baud_rate: u32) -> Result<Self, ForwarderError> {
        if baud_rate == 0 {
            return Err(ForwarderError::InvalidBaudRate);
        }
        let port = serialport::new(port_path, baud_rate)
            .timeout(READ_TIMEOUT)
            .open()
            .map_err(|error| ForwarderError::from_open_error(port_path, error))?;
        port.clear(serialport::ClearBuffer::Input).map_err(|error| ForwarderError::PortOpenFailed {
            path: port_path.to_owned(),
            detail: format!("could not discard stale input: {}", error.description),
        })?;
        Ok(Self::from_reader(port_path, Box::new(port)))
    }

    /// Reads from any byte source, e.g. a TCP bridge to a board.
    ///
    /// `source` must not block for long: a read that has no data should fail with
    /// [`io::ErrorKind::TimedOut`] or [`io::ErrorKind::WouldBlock`] within about [`READ_TIMEOUT`],
    /// as a serial port opened by [`open`](Self::open) does. `Ok(0)` and any other error mean the
    /// source is gone.
    pub fn from_reader(port_name: impl Into<String>, source: Box<dyn Read + Send>) -> Self {
        Self {
            port_name: port_name.into(),
            source,
            splitter: LineSplitter::new(),
            queued_lines: VecDeque::new(),
            line_count: 0,
            read_buffer: vec![0; READ_CHUNK_BYTES],
            disconnect_detail: None,
        }
    }

    /// The path or name the link was opened with.
    pub fn port_name(&self) -> &str {
        &self.port_name
    }

    /// Listens for [`DetectionOptions::listening_time`] and learns the stream's axis count and
    /// sampling rate (see the [module docs](super) for how).
    ///
    /// Fails if the board sends an `ERR` line, sends no readings, is too slow for its rate to be
    /// detected without being given, or goes away.
    pub fn detect(&mut self, options: &DetectionOptions) -> Result<DetectedStream, ForwarderError> {
        options.validate()?;
        let started = Instant::now();
        let deadline = started + options.listening_time();
        let mut tally = DetectionTally::new();
        loop {
            match self.poll_line(deadline) {
                LinePoll::Line { line, line_number, arrived_at } => {
                    tally.record_line(&line, line_number, arrived_at)?
                }
                LinePoll::Idle => {}
                LinePoll::DeadlinePassed => break,
                LinePoll::Disconnected { detail, .. } => {
                    return Err(ForwarderError::Disconnected { path: self.port_name.clone(), detail });
                }
            }
        }
        tally.finish(options, started.elapsed())
    }

    /// Captures readings of `stream` for `options.duration`.
    ///
    /// `on_progress` is called at the start, at most every [`PROGRESS_INTERVAL`] while capturing
    /// (returning [`ControlFlow::Break`] stops the capture) and once more with the final numbers.
    /// Setting `options.cancel` also stops it. If the port goes away, the samples captured so far
    /// are returned with [`CaptureEnd::Disconnected`]. Fails only on invalid arguments or when the
    /// board sends an `ERR` line.
    pub fn capture<ProgressCallback>(
        &mut self,
        stream: &DetectedStream,
        options: &CaptureOptions,
        mut on_progress: ProgressCallback,
    ) -> Result<Capture, ForwarderError>
    where
        ProgressCallback: FnMut(&CaptureProgress) -> ControlFlow<()>,
    {
        validate_stream(stream, options)?;
        let started = Instant::now();
        let deadline = started + options.duration;
        let mut tally = CaptureTally::new(stream.axis_count);
        let mut last_progress_at = started;
        let mut end = match on_progress(&tally.progress(Duration::ZERO, options.duration)) {
            ControlFlow::Break(()) => Some(CaptureEnd::Cancelled),
            ControlFlow::Continue(()) => None,
        };
        while end.is_none() {
            if options.is_cancelled() {
                end = Some(CaptureEnd::Cancelled);
                break;
            }
            match self.poll_line(deadline) {
                LinePoll::Line { line, line_number, arrived_at } => {
                    tally.record_line(&line, line_number, arrived_at)?
                }
                LinePoll::Idle => {}
                LinePoll::DeadlinePassed => end = Some(CaptureEnd::DurationElapsed),
                LinePoll::Disconnected { detail, cut_off_line } => {
                    if let Some((line, line_number)) = cut_off_line {
                        tally.record_cut_off_line(&line, line_number);
                    }
                    end = Some(CaptureEnd::Disconnected { detail });
                }
            }
            let now = Instant::now();
            if end.is_none() && now.duration_since(last_progress_at) >= PROGRESS_INTERVAL {
                last_progress_at = now;
                if on_progress(&tally.progress(now - started, options.duration)).is_break() {
                    end = Some(CaptureEnd::Cancelled);
                }
            }
        }
        let elapsed = started.elapsed();
        // The final report; there is nothing left to stop.
        let _ = on_progress(&tally.progress(elapsed, options.duration));
        let end = end.unwrap_or(CaptureEnd::DurationElapsed);
        Ok(tally.finish(stream, options.duration, elapsed, end))
    }

    /// Hands out the next line that arrived before `deadline`, reading the source (blocking at
    /// most about [`READ_TIMEOUT`]) if none is queued.
    fn poll_line(&mut self, deadline: Instant) -> LinePoll {
        if let Some((_, arrived_at)) = self.queued_lines.front() {
            if *arrived_at > deadline {
                return LinePoll::DeadlinePassed;
            }
            if let Some((line, arrived_at)) = self.queued_lines.pop_front() {
                self.line_count += 1;
                return LinePoll::Line { line, line_number: self.line_count, arrived_at };
            }
        }
        if Instant::now() >= deadline {
            return LinePoll::DeadlinePassed;
        }
        if let Some(detail) = &self.disconnect_detail {
            let detail = detail.clone();
            let cut_off_line = self.splitter.take_partial_line().map(|line| {
                self.line_count += 1;
                (line, self.line_count)
            });
            return LinePoll::Disconnected { detail, cut_off_line };
        }
        match self.source.read(&mut self.read_buffer) {
            Ok(0) => self.disconnect_detail = Some("the port reported end of file".to_owned()),
            Ok(byte_count) => {
                let arrived_at = Instant::now();
                let mut lines = Vec::new();
                self.splitter.push(&self.read_buffer[..byte_count], &mut lines);
                self.queued_lines.extend(lines.into_iter().map(|line| (line, arrived_at)));
            }
            Err(error)
                if error.kind() == io::ErrorKind::TimedOut || error.kind() == io::ErrorKind::Interrupted => {}
            // A non-blocking source: wait a little so the caller's loop does not spin.
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(READ_TIMEOUT / 10),
            Err(error) => self.disconnect_detail = Some(format!("reading the port failed: {error}")),
        }
        LinePoll::Idle
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A byte source that hands out scripted chunks, then times out or ends.
    struct ScriptedSource {
        chunks: VecDeque<io::Result<Vec<u8>>>,
        end_of_file_when_done: bool,
    }

    impl Read for ScriptedSource {
        fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
            match self.chunks.pop_front() {
                Some(Ok(bytes)) => {
                    let byte_count = bytes.len().min(buffer.len());
                    buffer[..byte_count].copy_from_slice(&bytes[..byte_count]);
                    Ok(byte_count)
                }
                Some(Err(error)) => Err(error),
                None if self.end_of_file_when_done => Ok(0),
                None => {
                    std::thread::sleep(Duration::from_millis(5));
                    Err(io::Error::new(io::ErrorKind::TimedOut, "Operation timed out"))
                }
            }
        }
    }

    fn link_of(chunks: Vec<io::Result<Vec<u8>>>, end_of_file_when_done: bool) -> ForwarderLink {
        ForwarderLink::from_reader(
            "scripted",
            Box::new(ScriptedSource { chunks: chunks.into(), end_of_file_when_done }),
        )
    }

    fn stream(axis_count: usize) -> DetectedStream {
        DetectedStream {
            axis_count,
            axis_names: (0..axis_count).map(|axis_idx| format!("axis{axis_idx}")).collect(),
            sampling_rate_hz: 100.0,
            rate_source: super::super::RateSource::UserGiven,
            measured_rate_hz: None,
            counted_line_count: 0,
            listened_seconds: 0.0,
            skipped_first_line: None,
            garbage: Default::default(),
        }
    }

    #[test]
    fn end_of_file_returns_the_samples_and_the_cut_off_line() {
        let mut link = link_of(vec![Ok(b"1,2\n3,4\nx\n5,".to_vec())], true);
        let capture = link
            .capture(&stream(2), &CaptureOptions::for_duration(Duration::from_secs(5)), |_| {
                ControlFlow::Continue(())
            })
            .expect("capture");
        assert_eq!(capture.to_rows(), vec![vec![1.0, 2.0], vec![3.0, 4.0]]);
        assert_eq!(
            capture.report.end,
            CaptureEnd::Disconnected { detail: "the port reported end of file".into() }
        );
        let examples: Vec<_> = capture
            .report
            .garbage
            .examples
            .iter()
            .map(|example| (example.line_number, example.text.as_str()))
            .collect();
        assert_eq!(examples, [(3, "x"), (4, "5,")]);
    }

    #[test]
    fn read_errors_end_the_capture_as_a_disconnect() {
        let mut link = link_of(
            vec![Ok(b"7\n".to_vec()), Err(io::Error::new(io::ErrorKind::BrokenPipe, "Broken pipe"))],
            false,
        );
        let capture = link
            .capture(&stream(1), &CaptureOptions::for_duration(Duration::from_secs(5)), |_| {
                ControlFlow::Continue(())
            })
            .expect("capture");
        assert_eq!(capture.values, [7.0]);
        assert_eq!(
            capture.report.end,
            CaptureEnd::Disconnected { detail: "reading the port failed: Broken pipe".into() }
        );
    }

    #[test]
    fn callback_and_cancel_flag_stop_the_capture() {
        let mut link = link_of(vec![Ok(b"1\n2\n".to_vec())], false);
        let mut call_count = 0;
        let capture = link
            .capture(&stream(1), &CaptureOptions::for_duration(Duration::from_secs(60)), |progress| {
                call_count += 1;
                if progress.sample_count == 2 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
            })
            .expect("capture");
        assert_eq!(capture.values, [1.0, 2.0]);
        assert_eq!(capture.report.end, CaptureEnd::Cancelled);
        assert!(call_count >= 2);

        let cancel = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let options = CaptureOptions { duration: Duration::from_secs(60), cancel: Some(cancel) };
        let capture = link.capture(&stream(1), &options, |_| ControlFlow::Continue(())).expect("capture");
        assert_eq!(capture.report.end, CaptureEnd::Cancelled);
    }

    #[test]
    fn detection_fails_on_disconnect() {
        let mut link = link_of(vec![Ok(b"1,2\n1,2\n".to_vec())], true);
        let error = link.detect(&DetectionOptions::default()).expect_err("source ended");
        assert_eq!(error.code(), "disconnected");
    }

    #[test]
    fn zero_baud_rate_is_refused_before_opening() {
        let error = ForwarderLink::open("/dev/null", 0).expect_err("zero baud");
        assert_eq!(error.code(), "invalid_baud_rate");
    }
}
