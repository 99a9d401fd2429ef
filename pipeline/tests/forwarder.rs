//! Data-forwarder mode against real pseudo-terminals: a fake board thread writes lines to the
//! master side, the forwarder opens the slave side's path like any serial device.

use std::io::Write;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mote_pipeline::link::forwarder::{
    CaptureEnd, CaptureOptions, DEFAULT_BAUD_RATE, DetectionOptions, ForwarderError, ForwarderLink,
    GarbageReason, RateSource,
};
use serialport::{SerialPort, TTYPort};

/// The longest any fake board runs, so a failing test cannot hang.
const BOARD_SAFETY_LIMIT: Duration = Duration::from_secs(60);

/// What the fake board does after its last scripted line.
#[derive(Clone, Copy, PartialEq)]
enum AfterScript {
    /// Keep the master side open until stopped.
    HoldUntilStopped,
    /// Wait a moment so the forwarder reads everything, then close the master side.
    Disconnect,
}

/// A thread that writes lines to the master side of a PTY on absolute deadlines.
struct FakeBoard {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<u64>>,
}

impl FakeBoard {
    /// Writes `lines` one every `period` (scheduled from the start, so it does not drift).
    fn start(
        mut master: TTYPort,
        period: Duration,
        lines: impl Iterator<Item = Vec<u8>> + Send + 'static,
        after_script: AfterScript,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let board_stop = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let started = Instant::now();
            let mut written_line_count = 0u64;
            for (line_idx, line) in lines.enumerate() {
                if board_stop.load(Ordering::Relaxed) || started.elapsed() > BOARD_SAFETY_LIMIT {
                    return written_line_count;
                }
                let due = started + period * line_idx as u32;
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                if master.write_all(&line).is_err() {
                    return written_line_count;
                }
                written_line_count += 1;
            }
            match after_script {
                AfterScript::HoldUntilStopped => {
                    while !board_stop.load(Ordering::Relaxed) && started.elapsed() < BOARD_SAFETY_LIMIT {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                }
                AfterScript::Disconnect => {
                    // Closing the master hangs up the slave: Linux discards what the forwarder
                    // has not read yet, so give it a moment to read everything first.
                    std::thread::sleep(Duration::from_millis(300));
                    drop(master);
                }
            }
            written_line_count
        });
        Self { stop, thread: Some(thread) }
    }

    /// Stops the board and returns how many lines it wrote.
    fn stop(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().expect("board thread").join().expect("board thread panicked")
    }
}

impl Drop for FakeBoard {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A PTY pair and a forwarder link opened on its slave path. The pair's own slave handle is
/// returned too and must be kept alive while the test runs.
fn open_pty() -> (TTYPort, TTYPort, ForwarderLink) {
    let (master, slave) = TTYPort::pair().expect("create a pseudo-terminal pair");
    let slave_path = slave.name().expect("the slave side has a path");
    let link = ForwarderLink::open(&slave_path, DEFAULT_BAUD_RATE).expect("open the slave side");
    (master, slave, link)
}

fn repeat_line(line: &'static [u8]) -> impl Iterator<Item = Vec<u8>> + Send + 'static {
    std::iter::repeat_with(move || line.to_vec())
}

fn short_window(sampling_rate_hz: Option<f64>) -> DetectionOptions {
    DetectionOptions { window: Duration::from_secs(1), sampling_rate_hz, axis_names: None }
}

fn keep_going(_: &mote_pipeline::link::forwarder::CaptureProgress) -> ControlFlow<()> {
    ControlFlow::Continue(())
}

#[test]
fn detects_three_axes_at_62_5_hz() {
    let (master, _slave, mut link) = open_pty();
    let lines = (0u64..).map(|line_idx| format!("{line_idx},{},-{line_idx}.5\n", line_idx * 2).into_bytes());
    let board = FakeBoard::start(master, Duration::from_millis(16), lines, AfterScript::HoldUntilStopped);

    let stream = link.detect(&DetectionOptions::default()).expect("detection succeeds");
    assert_eq!(stream.axis_count, 3);
    assert_eq!(stream.axis_names, ["axis0", "axis1", "axis2"]);
    assert_eq!(stream.rate_source, RateSource::Detected);
    let deviation = (stream.sampling_rate_hz - 62.5).abs() / 62.5;
    assert!(deviation <= 0.02, "detected {} Hz, expected 62.5 Hz ± 2 %", stream.sampling_rate_hz);
    assert!(stream.garbage.is_empty(), "{:?}", stream.garbage);

    let capture = link
        .capture(&stream, &CaptureOptions::for_duration(Duration::from_secs(1)), keep_going)
        .expect("capture succeeds");
    board.stop();
    assert_eq!(capture.report.end, CaptureEnd::DurationElapsed);
    assert!(capture.sample_count() > 0);
    assert_eq!(capture.values.len(), capture.sample_count() * 3);
    for sample in capture.samples() {
        assert_eq!(sample[1], sample[0] * 2.0, "{sample:?}");
        assert_eq!(sample[2], -(sample[0] + 0.5), "{sample:?}");
    }
    // Consecutive samples: nothing dropped between them.
    let first_values: Vec<f64> = capture.samples().map(|sample| sample[0]).collect();
    assert!(first_values.windows(2).all(|pair| pair[1] == pair[0] + 1.0), "{first_values:?}");
}

#[test]
fn err_line_aborts_detection_with_its_text() {
    let (master, _slave, mut link) = open_pty();
    let lines = std::iter::repeat_n(b"1,2,3\n".to_vec(), 5).chain([b"ERR: sensor not found\r\n".to_vec()]);
    let board = FakeBoard::start(master, Duration::from_millis(20), lines, AfterScript::HoldUntilStopped);

    let error = link.detect(&DetectionOptions::default()).expect_err("the board reported an error");
    board.stop();
    let ForwarderError::DeviceReportedError { line } = &error else { panic!("unexpected error {error:?}") };
    assert_eq!(line, "ERR: sensor not found");
    assert!(error.to_string().contains("ERR: sensor not found"), "{error}");
}

#[test]
fn err_line_aborts_capture_with_its_text() {
    let (master, _slave, mut link) = open_pty();
    let lines = std::iter::repeat_n(b"4 5\n".to_vec(), 100).chain([b"ERR: imu overheated\n".to_vec()]);
    let board = FakeBoard::start(master, Duration::from_millis(20), lines, AfterScript::HoldUntilStopped);

    let stream = link.detect(&short_window(None)).expect("detection succeeds");
    let error = link
        .capture(&stream, &CaptureOptions::for_duration(Duration::from_secs(30)), keep_going)
        .expect_err("the board reported an error");
    board.stop();
    assert_eq!(error.code(), "device_reported_error");
    assert!(error.to_string().contains("ERR: imu overheated"), "{error}");
}

#[test]
fn garbage_lines_are_counted_and_shown() {
    let over_long_line = [vec![b'1'; 2000], b"\n".to_vec()].concat();
    let garbage: Vec<Vec<u8>> = vec![
        b"hello\n".to_vec(),
        b"1,2\n".to_vec(),
        b"1,x,3\n".to_vec(),
        over_long_line,
        b"\xff\xfe,1,2\n".to_vec(),
        b"1,2,3,4\r\n".to_vec(),
    ];
    // 150 good lines, then each garbage line followed by 10 good ones.
    let mut script: Vec<Vec<u8>> = vec![b"1,2,3\n".to_vec(); 150];
    let mut garbage_line_numbers = Vec::new();
    for garbage_line in &garbage {
        script.push(garbage_line.clone());
        garbage_line_numbers.push(script.len() as u64);
        script.extend(std::iter::repeat_n(b"1,2,3\n".to_vec(), 10));
    }
    let total_line_count = script.len() as u64;
    let (master, _slave, mut link) = open_pty();
    let board = FakeBoard::start(
        master,
        Duration::from_millis(10),
        script.into_iter(),
        AfterScript::HoldUntilStopped,
    );

    let stream = link.detect(&short_window(None)).expect("detection succeeds");
    assert_eq!(stream.axis_count, 3);
    let lines_before_capture = 1 + stream.counted_line_count as u64 + stream.garbage.line_count;
    // Stop once every line the board wrote has been accounted for (or after 30 s).
    let capture = link
        .capture(&stream, &CaptureOptions::for_duration(Duration::from_secs(30)), |progress| {
            let lines_seen =
                lines_before_capture + progress.sample_count as u64 + progress.garbage_line_count;
            if lines_seen >= total_line_count { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
        })
        .expect("capture succeeds despite garbage");
    assert_eq!(board.stop(), total_line_count);
    assert_eq!(capture.report.end, CaptureEnd::Cancelled, "every line should have been seen");

    let garbage_line_count = stream.garbage.line_count + capture.report.garbage.line_count;
    assert_eq!(garbage_line_count, garbage.len() as u64);
    let good_line_count = total_line_count - garbage.len() as u64;
    assert_eq!(1 + stream.counted_line_count as u64 + capture.sample_count() as u64, good_line_count);
    assert!(capture.samples().all(|sample| sample == [1.0, 2.0, 3.0]));

    // Examples from both phases, in order: the first five garbage lines of the script.
    let examples: Vec<_> = stream.garbage.examples.iter().chain(&capture.report.garbage.examples).collect();
    let over_long_text = format!("{}…", "1".repeat(64));
    let expected = [
        ("hello", GarbageReason::NonNumericToken { token: "hello".into() }),
        ("1,2", GarbageReason::WrongAxisCount { expected: 3, found: 2 }),
        ("1,x,3", GarbageReason::NonNumericToken { token: "x".into() }),
        (over_long_text.as_str(), GarbageReason::LineTooLong { byte_count: 2000 }),
        ("\u{fffd}\u{fffd},1,2", GarbageReason::InvalidUtf8),
        ("1,2,3,4", GarbageReason::WrongAxisCount { expected: 3, found: 4 }),
    ];
    assert!(examples.len() >= 5, "{examples:?}");
    for (example_idx, example) in examples.iter().enumerate() {
        let (text, reason) = &expected[example_idx];
        assert_eq!(example.text, *text);
        assert_eq!(&example.reason, reason);
        assert_eq!(example.line_number, garbage_line_numbers[example_idx]);
    }
}

#[test]
fn slow_board_needs_a_given_rate() {
    let (master, _slave, mut link) = open_pty();
    let board = FakeBoard::start(
        master,
        Duration::from_secs(1),
        repeat_line(b"0.5 1.5\n"),
        AfterScript::HoldUntilStopped,
    );

    let error = link.detect(&DetectionOptions::default()).expect_err("1 Hz is too slow to detect");
    assert_eq!(error.code(), "rate_too_low_to_detect", "{error}");
    assert!(error.to_string().contains("give the sampling rate"), "{error}");

    let options = DetectionOptions {
        sampling_rate_hz: Some(1.0),
        axis_names: Some(vec!["temperature".into(), "humidity".into()]),
        ..DetectionOptions::default()
    };
    let stream = link.detect(&options).expect("detection with a given rate succeeds");
    assert_eq!(stream.axis_names, ["temperature", "humidity"]);
    assert_eq!(stream.sampling_rate_hz, 1.0);
    assert_eq!(stream.rate_source, RateSource::UserGiven);

    let capture = link
        .capture(&stream, &CaptureOptions::for_duration(Duration::from_secs(2)), keep_going)
        .expect("capture succeeds");
    board.stop();
    assert!(capture.sample_count() >= 1);
    assert_eq!(capture.sampling_rate_hz, 1.0);
    assert!(capture.samples().all(|sample| sample == [0.5, 1.5]));
}

#[test]
fn tab_and_space_separated_lines_with_crlf() {
    let (master, _slave, mut link) = open_pty();
    let formats: [&[u8]; 3] = [b"1.5\t-2\t3e2\r\n", b"1.5 -2   3e2\r\n", b" 1.5,\t-2, 300\r\n"];
    let lines = (0usize..).map(move |line_idx| formats[line_idx % formats.len()].to_vec());
    let board = FakeBoard::start(master, Duration::from_millis(20), lines, AfterScript::HoldUntilStopped);

    let stream = link.detect(&short_window(None)).expect("detection succeeds");
    assert_eq!(stream.axis_count, 3);
    assert!(stream.garbage.is_empty(), "{:?}", stream.garbage);
    let capture = link
        .capture(&stream, &CaptureOptions::for_duration(Duration::from_secs(1)), keep_going)
        .expect("capture succeeds");
    board.stop();
    assert!(capture.sample_count() > 0);
    assert!(capture.report.garbage.is_empty(), "{:?}", capture.report.garbage);
    assert!(capture.samples().all(|sample| sample == [1.5, -2.0, 300.0]), "{:?}", capture.to_rows());
}

#[test]
fn board_disconnecting_mid_capture_keeps_the_samples() {
    let (master, _slave, mut link) = open_pty();
    let script = (0u64..250).map(|line_idx| format!("{line_idx}\t{line_idx}\n").into_bytes());
    let board = FakeBoard::start(master, Duration::from_millis(10), script, AfterScript::Disconnect);

    let stream = link.detect(&short_window(None)).expect("detection succeeds");
    let capture_duration = Duration::from_secs(30);
    let capture = link
        .capture(&stream, &CaptureOptions::for_duration(capture_duration), keep_going)
        .expect("a disconnect is not an error: the samples come back");
    let written_line_count = board.stop();

    let CaptureEnd::Disconnected { detail } = &capture.report.end else {
        panic!("expected a disconnect, got {:?}", capture.report.end);
    };
    assert!(!detail.is_empty());
    assert!(capture.report.timing.elapsed_seconds < capture_duration.as_secs_f64());
    assert!(capture.sample_count() > 0);
    assert_eq!(capture.values.len(), capture.sample_count() * 2);
    let seen_line_count = 1 + stream.counted_line_count as u64 + capture.sample_count() as u64;
    assert!(seen_line_count <= written_line_count, "{seen_line_count} > {written_line_count}");
    // Samples are the board's lines in order, up to where the forwarder stopped.
    let last_sample = capture.samples().last().expect("samples");
    assert_eq!(last_sample[0], (seen_line_count - 1) as f64);
}

#[test]
fn missing_and_busy_ports_are_named_as_such() {
    let error = ForwarderLink::open("/dev/mote-no-such-port", DEFAULT_BAUD_RATE).expect_err("no such port");
    assert_eq!(error.code(), "port_not_found", "{error}");
    assert!(error.to_string().contains("/dev/mote-no-such-port"), "{error}");

    let (_master, slave, _link) = open_pty();
    let slave_path = slave.name().expect("the slave side has a path");
    let error = ForwarderLink::open(&slave_path, DEFAULT_BAUD_RATE).expect_err("already open");
    assert_eq!(error.code(), "port_busy", "{error}");
}

/// The `mote` CLI (crate `mote-cli`), built by `cargo build --workspace` beside this test.
fn mote_binary() -> std::path::PathBuf {
    let mut dir = std::env::current_exe().expect("test binary path");
    dir.pop();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let path = dir.join("mote");
    assert!(path.exists(), "{} is not built; run `cargo build --workspace`", path.display());
    path
}

/// Runs `mote record --forwarder` against a fake board printing `line` every `period`.
fn record_from_fake_board(
    project: &std::path::Path,
    period: Duration,
    line: fn(u64) -> String,
    label: &str,
    count: u32,
) -> std::process::Output {
    let (master, slave) = TTYPort::pair().expect("create a pseudo-terminal pair");
    let path = slave.name().expect("the slave side has a path");
    let lines = (0u64..).map(move |idx| line(idx).into_bytes());
    let board = FakeBoard::start(master, period, lines, AfterScript::HoldUntilStopped);
    let output = std::process::Command::new(mote_binary())
        .args(["record", "--forwarder", "--port", &path, "--label", label, "--seconds", "1"])
        .args(["--count", &count.to_string(), "--project"])
        .arg(project)
        .output()
        .expect("mote runs");
    board.stop();
    drop(slave);
    output
}

fn project_state(dir: &std::path::Path) -> (mote_project::DataSection, Vec<mote_project::SampleInfo>) {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
        let project = mote_project::Project::open(dir).await.expect("the project opens");
        let samples = project.list_samples(&mote_project::SampleFilter::default()).await.unwrap();
        let data = project.config().data.clone();
        project.close().await;
        (data, samples)
    })
}

#[test]
fn recording_from_a_forwarder_board_fits_the_project_or_says_why_not() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("project");

    // An empty project takes the board's three axes and its rate (50 Hz).
    let tilt = |idx: u64| format!("{:.2},-2.25,9.81\r\n", (idx % 50) as f64 * 0.1);
    let output = record_from_fake_board(&dir, Duration::from_millis(20), tilt, "tilt", 2);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("now records 3 axes (axis0, axis1, axis2) at 50 Hz"), "{stdout}");
    let (data, samples) = project_state(&dir);
    assert_eq!((data.sensor.as_str(), data.axes.len(), data.rate_hz), ("forwarder", 3, 50.0));
    assert_eq!(samples.len(), 2);
    for sample in &samples {
        assert_eq!((sample.label.as_str(), sample.rate_hz), ("tilt", 50.0));
        // About a second of readings (the host's clock decides where the second ends).
        assert!((40..=60).contains(&sample.n_steps), "{} samples", sample.n_steps);
    }

    // A board that does not fit the project now: a clear error, the project unchanged.
    let three: fn(u64) -> String = |idx| format!("{idx},2,3\n");
    let four: fn(u64) -> String = |idx| format!("{idx},2,3,4\n");
    for (period, line, expected) in [
        (Duration::from_millis(40), three, "prints at 25"),
        (Duration::from_millis(20), four, "prints 4 values per line but the project records 3 axes"),
    ] {
        let output = record_from_fake_board(&dir, period, line, "tilt", 1);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success());
        assert!(stderr.contains(expected), "{stderr}");
        let (after, samples) = project_state(&dir);
        assert_eq!((after, samples.len()), (data.clone(), 2));
    }
}

/// The engine's own recorder (what `mote record --forwarder` and the app both call): an empty
/// project takes the board's axes and rate and stores what it records; a board that does not fit
/// a project with samples is refused before anything is recorded.
#[test]
fn the_forwarder_recorder_fits_the_project_then_records() {
    use mote_pipeline::record::{ForwarderRecorder, RecordError};

    let work = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut project = runtime.block_on(mote_project::Project::open_or_create(work.path().join("p"))).unwrap();
    let board = |period: Duration, line: fn(u64) -> String| {
        let (master, slave) = TTYPort::pair().expect("create a pseudo-terminal pair");
        let lines = (0u64..).map(move |idx| line(idx).into_bytes());
        (FakeBoard::start(master, period, lines, AfterScript::HoldUntilStopped), slave)
    };

    let (fake, slave) = board(Duration::from_millis(20), |idx| format!("{},1,2\n", idx % 7));
    let path = slave.name().unwrap();
    let (link, detected) = ForwarderRecorder::listen(&path, DEFAULT_BAUD_RATE).unwrap();
    let mut recorder = runtime.block_on(ForwarderRecorder::fit(&mut project, &path, link, detected)).unwrap();
    assert!(recorder.adopted());
    assert_eq!((recorder.data().axes.len(), recorder.data().rate_hz), (3, 50.0));
    assert_eq!(project.config().data.rate_hz, 50.0, "saved in mote.toml");
    let mut updates = 0;
    let cancel = Arc::new(AtomicBool::new(false));
    let sample = recorder
        .record("tilt.1".into(), "tilt", mote_project::Split::Train, 0.5, cancel, |_| updates += 1)
        .unwrap();
    assert!(updates > 0, "progress is reported");
    assert_eq!((sample.recording.rate_hz, sample.recording.axes.len()), (50.0, 3));
    let added = runtime.block_on(project.add_samples(vec![sample])).unwrap();
    assert_eq!(added.added.len(), 1);
    fake.stop();
    drop(slave);

    let (fake, slave) = board(Duration::from_millis(40), |idx| format!("{idx},1,2\n"));
    let path = slave.name().unwrap();
    let (link, detected) = ForwarderRecorder::listen(&path, DEFAULT_BAUD_RATE).unwrap();
    let refused = runtime.block_on(ForwarderRecorder::fit(&mut project, &path, link, detected));
    assert!(matches!(refused, Err(RecordError::Rate { .. })), "a 25 Hz board for a 50 Hz project");
    assert_eq!(project.config().data.rate_hz, 50.0);
    fake.stop();
    drop(slave);
    runtime.block_on(project.close());
}
