//! The host link against a real virtual-board process over a real pseudo-terminal.

use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use mote_e2e::SimProcess;
use mote_pipeline::link::stream::{CaptureEnd, CaptureRequest, capture};
use mote_pipeline::link::{Board, ConnectOptions, LinkError};
use mote_sim::ramp_value;

const IMU: u8 = 2;

async fn stream_for_ten_seconds(rate_hz: u32) {
    let sim = SimProcess::start(&["--ramp"]);
    let mut board = Board::connect(&sim.path(), &ConnectOptions::default()).await.expect("handshake");
    assert_eq!(board.info().board, "virtual");
    let request = CaptureRequest { sensor: "imu".into(), rate_hz, duration: Duration::from_secs(10) };
    let captured = capture(&mut board, &request, &AtomicBool::new(false), |_| {}).await.expect("capture");

    let expected = f64::from(rate_hz) * 10.0;
    let stats = &captured.stats;
    assert_eq!(captured.end, CaptureEnd::Completed);
    assert!(
        (captured.n_samples() as f64 - expected).abs() <= expected * 0.01,
        "{} samples",
        captured.n_samples()
    );
    assert_eq!((stats.lost_batches, stats.lost_samples), (0, 0), "sequence numbers contiguous");
    assert!(captured.gaps.is_empty());
    assert_eq!(captured.board_samples, Some(stats.samples), "every sample the board took arrived");
    let rate_error = (stats.measured_rate_hz - f64::from(rate_hz)).abs() / f64::from(rate_hz);
    assert!(rate_error < 0.01, "measured {:.2} Hz for {rate_hz} Hz", stats.measured_rate_hz);
    assert_eq!(captured.wire.crc_errors + captured.wire.other_frame_errors, 0);
    // Every value is the one the board sampled, at the time it says.
    for (idx, sample) in captured.values.chunks(6).enumerate() {
        let t_us = captured.t0_us + idx as u64 * 1_000_000 / u64::from(rate_hz);
        let expected: Vec<i16> = (0..6).map(|axis| ramp_value(IMU, axis, t_us)).collect();
        assert_eq!(sample, &expected[..], "sample {idx}");
    }
    eprintln!(
        "{rate_hz} Hz: {} samples, measured {:.3} Hz, jitter {:.2} ms, max gap {:.1} ms, {} wire bytes",
        captured.n_samples(),
        stats.measured_rate_hz,
        stats.jitter_ms,
        stats.max_gap_ms,
        captured.wire.bytes
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_ten_seconds_at_100_hz() {
    stream_for_ten_seconds(100).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_ten_seconds_at_1600_hz() {
    stream_for_ten_seconds(1600).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detects_every_corrupt_frame_and_counts_gaps_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("faults.jsonl");
    let report_arg = report.to_str().unwrap();
    let args = ["--ramp", "--fault-corrupt", "0.005", "--fault-drop", "0.005", "--fault-report", report_arg];
    let sim = SimProcess::start(&args);
    let started = Instant::now();
    let mut board = Board::connect(&sim.path(), &ConnectOptions::default()).await.expect("handshake");
    let request = CaptureRequest { sensor: "accel".into(), rate_hz: 100, duration: Duration::from_secs(10) };
    let captured = capture(&mut board, &request, &AtomicBool::new(false), |_| {}).await.expect("capture");
    let stats = &captured.stats;

    // What the board destroyed, one JSON object a line.
    let lost: Vec<serde_json::Value> = std::fs::read_to_string(&report)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let destroyed: Vec<&serde_json::Value> =
        lost.iter().filter(|entry| entry["lost"] == "SampleBatch").collect();
    let destroyed_samples: u64 =
        destroyed.iter().map(|entry| entry["values"].as_u64().unwrap()).sum::<u64>() / 3;
    let destroyed_batches = destroyed.len() as u64;
    assert!(destroyed_batches > 20, "the faults hit enough frames to mean something: {destroyed_batches}");
    assert!(stats.batches > 20, "and enough got through: {}", stats.batches);

    if captured.board_samples.is_some() {
        // The board's totals arrived: the host's counts are exact.
        assert_eq!((stats.lost_batches, stats.lost_samples), (destroyed_batches, destroyed_samples));
    } else {
        // The board's `StreamStopped` was itself destroyed (it ran into a damaged batch):
        // everything up to the last batch received is still exact.
        assert!(lost.iter().any(|entry| entry["lost"] == "StreamStopped"), "{lost:?}");
        assert!(stats.lost_batches <= destroyed_batches && stats.lost_samples <= destroyed_samples);
    }
    let gap_samples: u64 = captured.gaps.iter().map(|gap| gap.samples).sum();
    assert!(gap_samples <= stats.lost_samples);

    // Every damaged frame was caught: every value that arrived is right.
    for (sample_idx, sample) in captured.indexed_samples() {
        let t_us = captured.t0_us + sample_idx * 1_000_000 / 100;
        let expected: Vec<i16> = (0..3).map(|axis| ramp_value(0, axis, t_us)).collect();
        assert_eq!(sample, &expected[..], "sample {sample_idx}");
    }
    let bad_frames = captured.wire.crc_errors + captured.wire.other_frame_errors;
    assert!(bad_frames > 0 && bad_frames <= 2 * destroyed_batches + 2, "{bad_frames} bad frames");
    assert!(started.elapsed() < Duration::from_secs(60), "bounded time");
    eprintln!(
        "faults: {destroyed_batches} of {} batches destroyed; host counted {} lost batches / {} lost samples; {} CRC + {} other frame errors",
        stats.batches + stats.lost_batches,
        stats.lost_batches,
        stats.lost_samples,
        captured.wire.crc_errors,
        captured.wire.other_frame_errors
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_board_that_vanishes_mid_stream_ends_the_capture_with_what_arrived() {
    let mut sim = SimProcess::start(&["--ramp"]);
    let mut board = Board::connect(&sim.path(), &ConnectOptions::default()).await.expect("handshake");
    let killer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1500));
        sim.kill();
    });
    let request = CaptureRequest { sensor: "accel".into(), rate_hz: 100, duration: Duration::from_secs(10) };
    let started = Instant::now();
    let captured = capture(&mut board, &request, &AtomicBool::new(false), |_| {}).await.expect("capture");
    killer.join().unwrap();
    assert!(matches!(captured.end, CaptureEnd::Disconnected { .. }), "{:?}", captured.end);
    assert!(captured.n_samples() > 50, "what arrived is kept: {}", captured.n_samples());
    assert!(started.elapsed() < Duration::from_secs(8), "noticed promptly");
    let error = board.ping().await.unwrap_err();
    assert!(matches!(error, LinkError::Disconnected { .. }), "{error}");
    drop(board); // joins the reader thread: no task is left behind
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_board_with_another_protocol_version_is_refused_with_advice() {
    let sim = SimProcess::start(&["--protocol-version", "9"]);
    let error = Board::connect(&sim.path(), &ConnectOptions::default()).await.err().expect("refused");
    assert!(matches!(error, LinkError::ProtocolMismatch { board: 9, host: 1, .. }), "{error}");
    assert!(error.to_string().contains("update Mote"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ports_that_are_not_mote_boards_get_clear_errors() {
    use serialport::{SerialPort, TTYPort};
    use std::io::Write;

    // A board printing CSV lines, as a data-forwarder board would.
    let (mut master, slave) = TTYPort::pair().unwrap();
    let path = slave.name().unwrap();
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let printer = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = master.write_all(b"0.12,9.81,-0.03\n");
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let options = ConnectOptions { handshake_timeout: Duration::from_millis(900), ..Default::default() };
    let error = Board::connect(&path, &options).await.err().expect("refused");
    assert!(matches!(error, LinkError::NotMote { .. }), "{error}");
    assert!(error.to_string().contains("0.12,9.81"), "shows what it saw: {error}");
    assert!(error.to_string().contains("mote forward"), "{error}");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    printer.join().unwrap();

    // A silent port.
    let (_quiet_master, quiet_slave) = TTYPort::pair().unwrap();
    let error = Board::connect(&quiet_slave.name().unwrap(), &options).await.err().expect("refused");
    assert!(matches!(error, LinkError::NoAnswer { .. }), "{error}");

    // No such port; a busy port.
    let error = Board::connect("/dev/does-not-exist", &options).await.err().expect("refused");
    assert!(matches!(error, LinkError::PortNotFound { .. }), "{error}");
    let sim = SimProcess::start(&[]);
    let _first = Board::connect(&sim.path(), &options).await.expect("first connection");
    let error = Board::connect(&sim.path(), &options).await.err().expect("second refused");
    assert!(matches!(error, LinkError::PortBusy { .. }), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_board_delays_but_loses_nothing() {
    let sim = SimProcess::start(&["--ramp", "--fault-stall-after", "3000", "--stall-ms", "800"]);
    let mut board = Board::connect(&sim.path(), &ConnectOptions::default()).await.expect("handshake");
    let request = CaptureRequest { sensor: "accel".into(), rate_hz: 200, duration: Duration::from_secs(3) };
    let captured = capture(&mut board, &request, &AtomicBool::new(false), |_| {}).await.expect("capture");
    assert_eq!(captured.end, CaptureEnd::Completed);
    assert_eq!((captured.stats.lost_batches, captured.stats.lost_samples), (0, 0));
    assert_eq!(captured.n_samples(), 600);
    assert!(captured.stats.max_gap_ms > 600.0, "the stall shows: {:.0} ms", captured.stats.max_gap_ms);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_can_switch_what_the_virtual_board_performs() {
    let sim = SimProcess::start(&["--script", "idle"]);
    let mut board = Board::connect(&sim.path(), &ConnectOptions::default()).await.expect("handshake");
    assert!(board.info().has_capability("sim_control"));
    let energy = |values: &[i16]| {
        let ys: Vec<f64> = values.chunks(3).map(|s| f64::from(s[1])).collect();
        let mean = ys.iter().sum::<f64>() / ys.len() as f64;
        (ys.iter().map(|y| (y - mean).powi(2)).sum::<f64>() / ys.len() as f64).sqrt()
    };
    let request = CaptureRequest { sensor: "accel".into(), rate_hz: 100, duration: Duration::from_secs(2) };
    let idle = capture(&mut board, &request, &AtomicBool::new(false), |_| {}).await.unwrap();
    board.set_activity("shake").await.expect("switched");
    let shake = capture(&mut board, &request, &AtomicBool::new(false), |_| {}).await.unwrap();
    assert!(
        energy(&shake.values) > 20.0 * energy(&idle.values),
        "{} vs {}",
        energy(&shake.values),
        energy(&idle.values)
    );
    let error = board.set_activity("juggle").await.unwrap_err();
    assert!(error.to_string().contains("unknown activity"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_replays_as_a_live_stream() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("recording.csv");
    let rows: Vec<String> =
        (0..50).map(|i| format!("{},{},{},{},0,0,0", i * 20, i as f64 * 0.1, -1.0, 9.5)).collect();
    std::fs::write(&csv, format!("timestamp,ax,ay,az,gx,gy,gz\n{}\n", rows.join("\n"))).unwrap();
    let sim = SimProcess::start(&["--replay", csv.to_str().unwrap(), "--speed", "2"]);
    let mut board = Board::connect(&sim.path(), &ConnectOptions::default()).await.expect("handshake");
    let request = CaptureRequest { sensor: "accel".into(), rate_hz: 100, duration: Duration::from_secs(1) };
    let captured = capture(&mut board, &request, &AtomicBool::new(false), |_| {}).await.unwrap();
    let scale = captured.sensor.axes[0].scale;
    for (idx, sample) in captured.values.chunks(3).enumerate().take(40) {
        // Board time t is recording time 2t (speed 2); recording row i is at 20 i ms with ax = 0.1 i.
        let t_ms = (captured.t0_us as f64 / 1000.0 + idx as f64 * 10.0) * 2.0 % 1000.0;
        let expected_ax = (t_ms / 20.0 * 0.1) as f32;
        assert!((f32::from(sample[0]) * scale - expected_ax).abs() < 0.01 + 0.1, "sample {idx}");
        assert!((f32::from(sample[2]) * scale - 9.5).abs() < 0.01);
    }
}
