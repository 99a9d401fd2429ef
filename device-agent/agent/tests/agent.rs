//! The agent against host implementations of its traits: a byte queue for the link, a clock
//! the test advances by hand, and a sensor whose every value is known.

use std::cell::Cell;
use std::collections::VecDeque;
use std::rc::Rc;

use mote_agent::{Agent, Clock, Link, LinkError, RamModelStore, Sensors};
use mote_wire::*;

#[derive(Default)]
struct QueueLink {
    to_board: VecDeque<u8>,
    from_board: Vec<u8>,
}

impl Link for QueueLink {
    fn read(&mut self, buf: &mut [u8]) -> usize {
        let n = buf.len().min(self.to_board.len());
        for (slot, byte) in buf.iter_mut().zip(self.to_board.drain(..n)) {
            *slot = byte;
        }
        n
    }
    fn write(&mut self, frame: &[u8]) -> Result<(), LinkError> {
        self.from_board.extend_from_slice(frame);
        Ok(())
    }
}

#[derive(Clone, Default)]
struct ManualClock(Rc<Cell<u64>>);

impl Clock for ManualClock {
    fn now_us(&mut self) -> u64 {
        self.0.get()
    }
}

/// Axis `a` of the sample at time `t` is `t / 1000 + a` (truncated to i16).
struct TimeSensor;

impl Sensors for TimeSensor {
    fn sample(&mut self, _sensor: u8, t_us: u64, out: &mut [i16]) {
        for (axis, value) in out.iter_mut().enumerate() {
            *value = (t_us / 1000 + axis as u64) as i16;
        }
    }
}

type TestAgent = Agent<'static, QueueLink, TimeSensor, ManualClock, RamModelStore<1024>>;

fn board() -> (TestAgent, ManualClock) {
    let clock = ManualClock::default();
    let mut sensors = heapless::Vec::new();
    let _ = sensors.push(SensorInfo {
        name: "accel",
        axes: ["x", "y", "z"].map(|name| AxisInfo { name, unit: "m/s2", scale: 0.01 }).into_iter().collect(),
        rates_hz: heapless::Vec::from_slice(&[100, 1600]).unwrap(),
    });
    let info = DeviceInfo {
        protocol_version: PROTOCOL_VERSION,
        board: "test",
        firmware_version: "0.0.0",
        device_id: "t1",
        sensors,
        max_frame: 0,
        model_slots: heapless::Vec::new(),
        capabilities: Capabilities(0),
    };
    let agent = Agent::new(info, QueueLink::default(), TimeSensor, clock.clone(), RamModelStore::new());
    (agent, clock)
}

fn send(agent: &mut TestAgent, message: &Message<'_>) {
    let frame = encode_frame_vec(message).unwrap();
    agent.link_mut().to_board.extend(frame);
    agent.poll();
}

/// Calls `check` with every message the board has sent since the last call.
fn replies(agent: &mut TestAgent, mut check: impl FnMut(Message<'_>)) {
    let bytes = std::mem::take(&mut agent.link_mut().from_board);
    let mut decoder = FrameDecoder::<MAX_FRAME>::new();
    let mut input = &bytes[..];
    while let Decoded::Frame { result, remaining } = decoder.feed(input) {
        check(result.expect("the board sends valid frames"));
        input = remaining;
    }
}

fn expect_error(agent: &mut TestAgent, code: ErrorCode) {
    let mut seen = Vec::new();
    replies(agent, |message| seen.push(format!("{message:?}")));
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(seen[0].contains(&format!("code: {code:?}")), "expected {code:?}, got {seen:?}");
}

#[test]
fn answers_hello_with_its_description() {
    let (mut agent, _) = board();
    send(&mut agent, &Message::Hello(Hello { protocol_version: PROTOCOL_VERSION }));
    let mut infos = 0;
    replies(&mut agent, |message| {
        let Message::DeviceInfo(info) = message else { panic!("{message:?}") };
        assert_eq!(info.protocol_version, PROTOCOL_VERSION);
        assert_eq!(info.sensors[0].axes.len(), 3);
        assert_eq!(info.model_slots.len(), 2);
        assert!(info.capabilities.has(Capabilities::STREAM | Capabilities::MODEL_UPLOAD));
        assert_eq!(usize::from(info.max_frame), MAX_FRAME - 1);
        infos += 1;
    });
    assert_eq!(infos, 1);
}

#[test]
fn streams_every_sample_at_the_rate_with_contiguous_sequence_numbers() {
    let (mut agent, clock) = board();
    clock.0.set(5_000);
    send(&mut agent, &Message::StartStream(StartStream { sensor: 0, rate_hz: 100 }));
    let mut stream_id = None;
    replies(&mut agent, |message| match message {
        Message::StreamStarted(started) => {
            assert_eq!((started.n_axes, started.t0_us), (3, 5_000));
            stream_id = Some(started.stream);
        }
        other => panic!("{other:?}"),
    });
    let (mut samples, mut next_seq) = (0u64, 0u32);
    for ms in (5..=10_005).step_by(2) {
        clock.0.set(ms * 1000);
        agent.poll();
        replies(&mut agent, |message| {
            let Message::SampleBatch(batch) = message else { panic!("{message:?}") };
            assert_eq!(batch.seq, next_seq);
            assert_eq!(batch.first_sample, samples);
            assert_eq!(batch.t0_us, 5_000 + samples * 10_000);
            let values: Vec<i16> = batch.values.iter().collect();
            for (idx, chunk) in values.chunks(3).enumerate() {
                let t_ms = (batch.t0_us / 1000) as i16 + 10 * idx as i16;
                assert_eq!(chunk, [t_ms, t_ms + 1, t_ms + 2]);
            }
            assert!(clock.0.get() - batch.t0_us < 60_000, "a batch waits at most 50 ms");
            samples += values.len() as u64 / 3;
            next_seq += 1;
        });
    }
    send(&mut agent, &Message::StopStream { stream: stream_id.unwrap() });
    replies(&mut agent, |message| match message {
        Message::SampleBatch(batch) => samples += batch.values.len() as u64 / 3,
        Message::StreamStopped(stopped) => {
            assert_eq!(stopped.samples, 1001, "10 s at 100 Hz, both ends included");
            assert_eq!(stopped.samples, samples);
        }
        other => panic!("{other:?}"),
    });
}

#[test]
fn refuses_bad_requests_with_clear_codes() {
    let (mut agent, _) = board();
    send(&mut agent, &Message::StartStream(StartStream { sensor: 9, rate_hz: 100 }));
    expect_error(&mut agent, ErrorCode::UNKNOWN_SENSOR);
    send(&mut agent, &Message::StartStream(StartStream { sensor: 0, rate_hz: 99 }));
    expect_error(&mut agent, ErrorCode::UNSUPPORTED_RATE);
    send(&mut agent, &Message::StopStream { stream: 1 });
    expect_error(&mut agent, ErrorCode::UNKNOWN_STREAM);
    send(&mut agent, &Message::Pong { nonce: 1 });
    expect_error(&mut agent, ErrorCode::UNEXPECTED);
    send(&mut agent, &Message::SimControl(SimControl::SetActivity { name: "wave" }));
    expect_error(&mut agent, ErrorCode::UNSUPPORTED);
    send(&mut agent, &Message::ModelChunk(ModelChunk { slot: 0, offset: 0, bytes: &[1] }));
    expect_error(&mut agent, ErrorCode::NO_UPLOAD);
    agent.link_mut().to_board.extend([0x03, 0xff, 0x12, 0x00]);
    agent.poll();
    expect_error(&mut agent, ErrorCode::MALFORMED);
}

fn upload(agent: &mut TestAgent, slot: u8, model: &[u8], crc: u32) -> Vec<String> {
    let mut log = Vec::new();
    send(agent, &Message::ModelBegin(ModelBegin { slot, size: model.len() as u32, crc }));
    for (idx, chunk) in model.chunks(100).enumerate() {
        let offset = (idx * 100) as u32;
        send(agent, &Message::ModelChunk(ModelChunk { slot, offset, bytes: chunk }));
    }
    send(agent, &Message::ModelCommit { slot });
    replies(agent, |message| log.push(format!("{message:?}")));
    log
}

#[test]
fn model_upload_switches_slots_only_after_validation() {
    let (mut agent, _) = board();
    let model_a: Vec<u8> = (0..700u32).map(|i| (i * 7) as u8).collect();
    let log = upload(&mut agent, 0, &model_a, CRC.checksum(&model_a));
    assert!(log.last().unwrap().contains("Valid") && log.last().unwrap().contains("active: true"), "{log:?}");
    use mote_agent::ModelStore;
    assert_eq!(agent.store().active(), Some(0));

    // Uploading over the active slot is refused; a bad CRC leaves slot 0 active.
    let log = upload(&mut agent, 0, &model_a, CRC.checksum(&model_a));
    assert!(log[0].contains(&format!("{:?}", ErrorCode::BUSY)), "{log:?}");
    let model_b = vec![0x5a; 300];
    let log = upload(&mut agent, 1, &model_b, 0xdead_beef);
    assert!(log.last().unwrap().contains(&format!("{:?}", ErrorCode::MODEL_CRC)), "{log:?}");
    assert_eq!(agent.store().active(), Some(0));
    assert_eq!(agent.store().read(0, 700).unwrap(), &model_a[..]);

    // A chunk out of order is refused and the upload can continue from where it stands.
    send(&mut agent, &Message::ModelBegin(ModelBegin { slot: 1, size: 300, crc: CRC.checksum(&model_b) }));
    send(&mut agent, &Message::ModelChunk(ModelChunk { slot: 1, offset: 100, bytes: &model_b[..100] }));
    let mut log = Vec::new();
    replies(&mut agent, |message| log.push(format!("{message:?}")));
    assert!(log[1].contains(&format!("{:?}", ErrorCode::MODEL_OUT_OF_ORDER)), "{log:?}");
    for offset in [0usize, 100, 200] {
        let chunk = ModelChunk { slot: 1, offset: offset as u32, bytes: &model_b[offset..offset + 100] };
        send(&mut agent, &Message::ModelChunk(chunk));
    }
    send(&mut agent, &Message::ModelCommit { slot: 1 });
    assert_eq!(agent.store().active(), Some(1));
}

#[test]
fn a_new_hello_stops_what_the_last_host_started() {
    let (mut agent, clock) = board();
    send(&mut agent, &Message::StartStream(StartStream { sensor: 0, rate_hz: 1600 }));
    send(&mut agent, &Message::Hello(Hello { protocol_version: PROTOCOL_VERSION }));
    replies(&mut agent, |_| {});
    clock.0.set(1_000_000);
    agent.poll();
    assert!(agent.link_mut().from_board.is_empty(), "no samples after a new Hello");
    assert_eq!(agent.next_deadline_us(), None);
}
