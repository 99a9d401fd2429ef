//! Round trips and decoder properties: any message survives encode → decode, and the decoder
//! copes with whatever a serial line delivers — arbitrary chunks, garbage, corrupted bytes,
//! over-long frames and boards that speak a newer protocol.
//!
//! The strategies leak the strings and byte slices they make so that they can yield
//! `Message<'static>`; a whole run leaks a few MiB at most.

mod common;

use std::fmt::Debug;

use common::frame_of_payload;
use mote_wire::*;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;

/// Variants of `Message`; tag 21 is not a message yet (`golden.rs` checks both).
const MESSAGE_KINDS: u8 = 21;

/// Room for the largest message the strategies make: a `DeviceInfo` with every list full and
/// every string 11 four-byte characters long is about 3.6 KiB.
const BIG: usize = max_frame_len(8192);

// ---------------------------------------------------------------------------------------------
// Strategies

fn text() -> impl Strategy<Value = &'static str> {
    vec(any::<char>(), 0..12).prop_map(|chars| &*String::from_iter(chars).leak())
}

/// A length up to `max`, `max` itself made likely: full lists are where sizes overflow.
fn length(max: usize) -> impl Strategy<Value = usize> {
    prop_oneof![3 => 0..=max, 1 => Just(max)]
}

fn bytes(max_len: usize) -> impl Strategy<Value = &'static [u8]> {
    length(max_len).prop_flat_map(|len| vec(any::<u8>(), len)).prop_map(|bytes| &*bytes.leak())
}

fn i16_values(max_values: usize) -> impl Strategy<Value = I16Values<'static>> {
    length(max_values).prop_flat_map(|len| vec(any::<i16>(), len)).prop_map(|values| {
        let out = vec![0u8; values.len() * 2].leak();
        I16Values::encode_into(&values, out).unwrap()
    })
}

/// Any `f32` bit pattern, with the special values (NaN, ±∞, ±0, subnormals) made likely.
fn float() -> impl Strategy<Value = f32> {
    prop_oneof![any::<f32>(), any::<u32>().prop_map(f32::from_bits)]
}

fn bounded<T: Clone + Debug, const N: usize>(
    element: impl Strategy<Value = T>,
) -> impl Strategy<Value = heapless::Vec<T, N>> {
    vec(element, 0..=N).prop_map(|items| heapless::Vec::from_slice(&items).unwrap())
}

fn slot_info() -> impl Strategy<Value = SlotInfo> {
    let state = prop_oneof![
        Just(SlotState::Empty),
        (any::<u32>(), any::<u32>()).prop_map(|(size, received)| SlotState::Receiving { size, received }),
        (any::<u32>(), any::<u32>()).prop_map(|(size, crc)| SlotState::Valid { size, crc }),
    ];
    (any::<u8>(), any::<u32>(), state, any::<bool>()).prop_map(|(slot, capacity, state, active)| SlotInfo {
        slot,
        capacity,
        state,
        active,
    })
}

fn sensor_info() -> impl Strategy<Value = SensorInfo<'static>> {
    let axis = (text(), text(), float()).prop_map(|(name, unit, scale)| AxisInfo { name, unit, scale });
    (text(), bounded(axis), bounded(any::<u32>())).prop_map(|(name, axes, rates_hz)| SensorInfo {
        name,
        axes,
        rates_hz,
    })
}

fn device_info() -> impl Strategy<Value = DeviceInfo<'static>> {
    (
        any::<u16>(),
        (text(), text(), text()),
        bounded(sensor_info()),
        any::<u16>(),
        bounded(slot_info()),
        any::<u32>(),
    )
        .prop_map(
            |(
                protocol_version,
                (board, firmware_version, device_id),
                sensors,
                max_frame,
                model_slots,
                capabilities,
            )| {
                DeviceInfo {
                    protocol_version,
                    board,
                    firmware_version,
                    device_id,
                    sensors,
                    max_frame,
                    model_slots,
                    capabilities: Capabilities(capabilities),
                }
            },
        )
}

/// Messages of one kind (`Message::tag`), with arbitrary contents within the protocol's limits.
fn message_of_kind(kind: u8) -> BoxedStrategy<Message<'static>> {
    match kind {
        0 => any::<u16>().prop_map(|protocol_version| Message::Hello(Hello { protocol_version })).boxed(),
        1 => device_info().prop_map(Message::DeviceInfo).boxed(),
        2 => any::<u32>().prop_map(|nonce| Message::Ping { nonce }).boxed(),
        3 => any::<u32>().prop_map(|nonce| Message::Pong { nonce }).boxed(),
        4 => (any::<u16>(), text())
            .prop_map(|(code, detail)| Message::Error(ErrorReply { code: ErrorCode(code), detail }))
            .boxed(),
        5 => (any::<u8>(), any::<u32>())
            .prop_map(|(sensor, rate_hz)| Message::StartStream(StartStream { sensor, rate_hz }))
            .boxed(),
        6 => (any::<u8>(), any::<u8>(), any::<u32>(), any::<u8>(), any::<u64>())
            .prop_map(|(stream, sensor, rate_hz, n_axes, t0_us)| {
                Message::StreamStarted(StreamStarted { stream, sensor, rate_hz, n_axes, t0_us })
            })
            .boxed(),
        7 => {
            (any::<u8>(), any::<u32>(), any::<u64>(), any::<u64>(), float(), i16_values(MAX_BATCH_BYTES / 2))
                .prop_map(|(stream, seq, first_sample, t0_us, dt_us, values)| {
                    Message::SampleBatch(SampleBatch { stream, seq, first_sample, t0_us, dt_us, values })
                })
                .boxed()
        }
        8 => any::<u8>().prop_map(|stream| Message::StopStream { stream }).boxed(),
        9 => (any::<u8>(), any::<u32>(), any::<u64>())
            .prop_map(|(stream, batches, samples)| {
                Message::StreamStopped(StreamStopped { stream, batches, samples })
            })
            .boxed(),
        10 => (any::<u8>(), any::<u32>(), any::<u32>())
            .prop_map(|(slot, size, crc)| Message::ModelBegin(ModelBegin { slot, size, crc }))
            .boxed(),
        11 => (any::<u8>(), any::<u32>(), bytes(MAX_CHUNK_BYTES))
            .prop_map(|(slot, offset, bytes)| Message::ModelChunk(ModelChunk { slot, offset, bytes }))
            .boxed(),
        12 => any::<u8>().prop_map(|slot| Message::ModelCommit { slot }).boxed(),
        13 => slot_info().prop_map(|slot| Message::ModelStatus(ModelStatus { slot })).boxed(),
        14 => any::<bool>()
            .prop_map(|echo_windows| Message::StartInference(StartInference { echo_windows }))
            .boxed(),
        15 => (
            (any::<u32>(), any::<u64>(), bytes(MAX_CLASSES), any::<u8>()),
            proptest::option::of(float()),
            (any::<u32>(), any::<u32>()),
            (proptest::option::of(any::<u32>()), proptest::option::of(any::<u32>())),
        )
            .prop_map(
                |(
                    (seq, t_us, scores, top),
                    anomaly,
                    (dsp_us, nn_us),
                    (dsp_instructions, nn_instructions),
                )| {
                    Message::InferenceResult(InferenceResult {
                        seq,
                        t_us,
                        scores,
                        top,
                        anomaly,
                        dsp_us,
                        nn_us,
                        dsp_instructions,
                        nn_instructions,
                    })
                },
            )
            .boxed(),
        16 => Just(Message::StopInference).boxed(),
        17 => (any::<u32>(), any::<u32>(), any::<u32>(), i16_values(MAX_BATCH_BYTES / 2))
            .prop_map(|(seq, offset, total, values)| {
                Message::InferenceWindow(InferenceWindow { seq, offset, total, values })
            })
            .boxed(),
        18 => Just(Message::ModelQuery).boxed(),
        19 => any::<u8>().prop_map(|request| Message::Ack { request }).boxed(),
        20 => text().prop_map(|name| Message::SimControl(SimControl::SetActivity { name })).boxed(),
        _ => unreachable!("message kind {kind}"),
    }
}

fn any_message() -> impl Strategy<Value = Message<'static>> {
    (0..MESSAGE_KINDS).prop_flat_map(message_of_kind)
}

/// Bytes with zeros and small COBS code bytes made likely, so random input reaches past COBS.
fn noisy_bytes(max_len: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(prop_oneof![3 => any::<u8>(), 1 => 0u8..8], 0..max_len)
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// Feeds `chunks` one after another and collects every frame's outcome; a decoded message is
/// kept as its re-encoded frame, which compares bit for bit (NaN included).
fn decode_chunks<const N: usize>(
    decoder: &mut FrameDecoder<N>,
    chunks: &[&[u8]],
) -> Vec<Result<Vec<u8>, FrameError>> {
    let mut results = Vec::new();
    for chunk in chunks {
        let mut input = *chunk;
        while let Decoded::Frame { result, remaining } = decoder.feed(input) {
            results.push(result.map(|message| encode_frame_vec(&message).unwrap()));
            input = remaining;
        }
        assert!(decoder.pending() <= N);
    }
    results
}

/// Splits `bytes` at the given cut points (any order, duplicates allowed).
fn split_at_cuts<'a>(bytes: &'a [u8], cuts: &[Index]) -> Vec<&'a [u8]> {
    let mut positions: Vec<usize> = cuts.iter().map(|cut| cut.index(bytes.len() + 1)).collect();
    positions.sort_unstable();
    let mut chunks = Vec::new();
    let mut start = 0;
    for position in positions.into_iter().chain([bytes.len()]) {
        chunks.push(&bytes[start..position]);
        start = position;
    }
    chunks
}

fn frames_of(messages: &[Message<'_>]) -> Vec<Vec<u8>> {
    messages.iter().map(|message| encode_frame_vec(message).unwrap()).collect()
}

/// Decodes a stream that must hold exactly one frame.
fn decode_one<const N: usize>(frame: &[u8]) -> Result<Vec<u8>, FrameError> {
    let mut results = decode_chunks(&mut FrameDecoder::<N>::new(), &[frame]);
    assert_eq!(results.len(), 1, "frames in {frame:02x?}");
    results.pop().unwrap()
}

/// `decoded` is `expected`: equal, or — where a float is NaN, which never equals itself — the
/// same structure and the same bits on the wire.
fn check_same(decoded: &Message<'_>, expected: &Message<'_>) -> Result<(), TestCaseError> {
    if decoded != expected {
        prop_assert_eq!(format!("{decoded:?}"), format!("{expected:?}"));
        prop_assert_eq!(encode_frame_vec(decoded).unwrap(), encode_frame_vec(expected).unwrap());
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Round trips

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn every_message_round_trips(message in any_message()) {
        let frame = encode_frame_vec(&message).unwrap();
        prop_assert_eq!(frame.last(), Some(&0));
        prop_assert!(!frame[..frame.len() - 1].contains(&0), "a zero inside the frame");

        let mut decoder = FrameDecoder::<BIG>::new();
        match decoder.feed(&frame) {
            Decoded::Frame { result: Ok(decoded), remaining: [] } => {
                prop_assert_eq!(decoded.tag(), message.tag());
                check_same(&decoded, &message)?;
            }
            other => prop_assert!(false, "{} did not come back: {other:?}", message.name()),
        }
    }

    /// `encode_frame` with the protocol's fixed buffers writes what `encode_frame_vec` does
    /// whenever the payload fits, and every message but a `DeviceInfo` (whose strings the
    /// protocol does not bound) fits.
    #[test]
    fn fixed_buffers_agree_with_encode_frame_vec(message in any_message()) {
        let payload_len = postcard::to_allocvec(&message).unwrap().len();
        let mut scratch = [0u8; MAX_PAYLOAD + CRC_LEN];
        let mut out = [0u8; MAX_FRAME];
        match encode_frame(&message, &mut scratch, &mut out) {
            Ok(len) => prop_assert_eq!(&out[..len], &encode_frame_vec(&message).unwrap()[..]),
            Err(error) => {
                prop_assert_eq!(error, EncodeError::BufferFull);
                prop_assert!(payload_len > MAX_PAYLOAD, "{payload_len} bytes should fit");
            }
        }
        if !matches!(message, Message::DeviceInfo(_)) {
            prop_assert!(payload_len <= MAX_PAYLOAD, "{} of {payload_len} bytes", message.name());
        }
    }
}

#[test]
fn strategies_cover_every_kind() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    for kind in 0..MESSAGE_KINDS {
        let message = message_of_kind(kind).new_tree(&mut runner).unwrap().current();
        assert_eq!(message.tag(), kind, "{}", message.name());
    }
}

// ---------------------------------------------------------------------------------------------
// Decoder properties

proptest! {
    /// (a) However a stream of frames is cut into chunks, the same messages come out.
    #[test]
    fn chunk_boundaries_do_not_matter(
        messages in vec(any_message(), 1..8),
        cuts in vec(any::<Index>(), 0..24),
    ) {
        let frames = frames_of(&messages);
        let stream = frames.concat();
        let expected: Vec<_> = frames.into_iter().map(Ok).collect();

        let chunks = split_at_cuts(&stream, &cuts);
        prop_assert_eq!(&decode_chunks(&mut FrameDecoder::<BIG>::new(), &chunks), &expected);

        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        prop_assert_eq!(&decode_chunks(&mut FrameDecoder::<BIG>::new(), &bytes), &expected);
    }

    /// (b) Garbage before and between frames costs only itself: every frame after the next
    /// delimiter is decoded.
    #[test]
    fn decoder_resyncs_after_garbage(
        messages in vec(any_message(), 1..6),
        garbage in vec(noisy_bytes(600), 6),
        cuts in vec(any::<Index>(), 0..24),
    ) {
        let frames = frames_of(&messages);
        let mut stream = Vec::new();
        for (frame, noise) in frames.iter().zip(&garbage) {
            stream.extend_from_slice(noise);
            stream.push(0);
            stream.extend_from_slice(frame);
        }
        let chunks = split_at_cuts(&stream, &cuts);
        let results = decode_chunks(&mut FrameDecoder::<BIG>::new(), &chunks);
        let decoded: Vec<_> = results.into_iter().filter_map(Result::ok).collect();
        prop_assert_eq!(decoded, frames);
    }

    /// (b) Joining in the middle of a frame loses that frame and nothing after it.
    #[test]
    fn joining_mid_frame_loses_only_that_frame(
        messages in vec(any_message(), 1..6),
        tail in vec(1u8..=255, 0..300),
    ) {
        let frames = frames_of(&messages);
        let mut stream = tail.clone();
        stream.extend(frames.concat());
        let results = decode_chunks(&mut FrameDecoder::<BIG>::new(), &[&stream]);
        prop_assert_eq!(results.len(), frames.len());
        if tail.is_empty() {
            prop_assert_eq!(&results[0], &Ok(frames[0].clone()));
        } else {
            prop_assert!(results[0].is_err(), "{:?}", results[0]);
        }
        let rest: Vec<_> = frames[1..].iter().cloned().map(Ok).collect();
        prop_assert_eq!(&results[1..], &rest[..]);
    }

    /// (c) Arbitrary bytes never panic and never give more frames than there are delimiters.
    #[test]
    fn arbitrary_bytes_are_harmless(
        bytes in noisy_bytes(2048),
        cuts in vec(any::<Index>(), 0..8),
    ) {
        let delimiters = bytes.iter().filter(|&&byte| byte == 0).count();
        let chunks = split_at_cuts(&bytes, &cuts);
        let small = decode_chunks(&mut FrameDecoder::<16>::new(), &chunks);
        prop_assert!(small.len() <= delimiters);
        let full = decode_chunks(&mut FrameDecoder::<MAX_FRAME>::new(), &chunks);
        prop_assert!(full.len() <= delimiters);
    }

    /// (d) A frame with one byte changed (not into a delimiter) is always an error, never a
    /// different message, and the frame after it still decodes.
    #[test]
    fn a_changed_byte_is_always_caught(
        message in any_message(),
        position in any::<Index>(),
        flip in 1u8..=255,
    ) {
        let frame = encode_frame_vec(&message).unwrap();
        let position = position.index(frame.len() - 1);
        prop_assume!(frame[position] ^ flip != 0);
        let mut corrupted = frame.clone();
        corrupted[position] ^= flip;
        corrupted.extend_from_slice(&frame);

        let results = decode_chunks(&mut FrameDecoder::<BIG>::new(), &[&corrupted]);
        prop_assert_eq!(results.len(), 2);
        prop_assert!(results[0].is_err(), "byte {position} ^ {flip:#04x} gave {:?}", results[0]);
        prop_assert_eq!(&results[1], &Ok(frame));
    }

    /// (e) A frame longer than the decoder holds is reported as `Oversized`, and the next frame
    /// decodes, however the bytes arrive.
    #[test]
    fn oversized_frames_are_skipped(
        bytes in vec(any::<u8>(), 64..=MAX_CHUNK_BYTES),
        nonce in any::<u32>(),
        cuts in vec(any::<Index>(), 0..8),
    ) {
        let long = Message::ModelChunk(ModelChunk { slot: 0, offset: 0, bytes: &bytes });
        let short = Message::Ping { nonce };
        let stream = [encode_frame_vec(&long).unwrap(), encode_frame_vec(&short).unwrap()].concat();

        let results = decode_chunks(&mut FrameDecoder::<64>::new(), &split_at_cuts(&stream, &cuts));
        prop_assert_eq!(
            results,
            vec![Err(FrameError::Oversized { limit: 64 }), Ok(encode_frame_vec(&short).unwrap())]
        );
    }

    /// (f) Whatever follows a `DeviceInfo`'s version, the version is never lost to a
    /// `Malformed` error.
    #[test]
    fn device_info_version_survives_unreadable_payloads(
        version in any::<u16>(),
        tail in vec(any::<u8>(), 0..64),
    ) {
        let mut payload = vec![1];
        payload.extend_from_slice(&postcard::to_allocvec(&version).unwrap());
        payload.extend_from_slice(&tail);
        let mut decoder = FrameDecoder::<BIG>::new();
        let Decoded::Frame { result, .. } = decoder.feed(&frame_of_payload(&payload)) else {
            unreachable!("a whole frame was fed");
        };
        match result {
            Ok(Message::DeviceInfo(info)) => prop_assert_eq!(info.protocol_version, version),
            Err(FrameError::Malformed { device_info_version, .. }) => {
                prop_assert_eq!(device_info_version, Some(version));
            }
            Err(FrameError::TrailingBytes { .. }) => {}
            other => prop_assert!(false, "{other:?}"),
        }
    }
}

/// (d) Exhaustively: every position and every change of a few small frames.
#[test]
fn every_single_byte_change_is_caught() {
    let messages = [
        Message::Hello(Hello { protocol_version: 1 }),
        Message::Ping { nonce: 0xdead_beef },
        Message::StopInference,
        Message::ModelChunk(ModelChunk { slot: 1, offset: 256, bytes: &[0, 1, 0, 0, 0xfe, 0xff, 0] }),
        Message::SampleBatch(SampleBatch {
            stream: 1,
            seq: 300,
            first_sample: 4800,
            t0_us: 1_300_000,
            dt_us: 62.5,
            values: I16Values::from_le_bytes(&[0x01, 0x00, 0xff, 0xff, 0x00, 0x01, 0x00, 0x80]).unwrap(),
        }),
        Message::InferenceResult(InferenceResult {
            seq: 7,
            t_us: 2_000_000,
            scores: &[0x80, 0x7f, 0xf6, 0x00],
            top: 1,
            anomaly: Some(0.25),
            dsp_us: 1500,
            nn_us: 12_000,
            dsp_instructions: None,
            nn_instructions: Some(3_000_000),
        }),
    ];
    for message in &messages {
        let frame = encode_frame_vec(message).unwrap();
        for position in 0..frame.len() - 1 {
            for flip in 1..=255u8 {
                if frame[position] ^ flip == 0 {
                    continue;
                }
                let mut corrupted = frame.clone();
                corrupted[position] ^= flip;
                let result = decode_one::<MAX_FRAME>(&corrupted);
                assert!(result.is_err(), "{}: byte {position} ^ {flip:#04x}", message.name());
            }
        }
    }
}

/// (e) The decoder holds exactly `N` bytes of frame body: `N` decode, `N + 1` are `Oversized`.
#[test]
fn oversized_starts_one_byte_past_the_limit() {
    // A `ModelChunk` frame body is its payload (4 + k bytes for k < 128) + CRC + 1 COBS byte.
    let bytes = [0x55; 64];
    let frame_with_body = |body_len: usize| {
        (0..bytes.len())
            .map(|len| {
                let message = Message::ModelChunk(ModelChunk { slot: 0, offset: 0, bytes: &bytes[..len] });
                encode_frame_vec(&message).unwrap()
            })
            .find(|frame| frame.len() - 1 == body_len)
            .unwrap()
    };
    let fits = frame_with_body(48);
    let too_long = frame_with_body(49);
    assert!(decode_one::<48>(&fits).is_ok());
    assert_eq!(decode_one::<48>(&too_long), Err(FrameError::Oversized { limit: 48 }));
}

/// What a bad frame must give; the postcard error inside `Malformed` is not pinned.
#[derive(Debug, PartialEq)]
enum Expected {
    Malformed { device_info_version: Option<u16> },
    TrailingBytes(usize),
    Truncated(usize),
    Cobs,
}

impl Expected {
    fn of(error: &FrameError) -> Option<Self> {
        Some(match error {
            FrameError::Malformed { device_info_version, .. } => {
                Expected::Malformed { device_info_version: *device_info_version }
            }
            FrameError::TrailingBytes { extra } => Expected::TrailingBytes(*extra),
            FrameError::Truncated { len } => Expected::Truncated(*len),
            FrameError::Cobs => Expected::Cobs,
            _ => return None,
        })
    }
}

/// (f) and the other ways a frame can be bad, each with the error it must give.
#[test]
fn bad_frames_give_the_right_error() {
    // Version 1, three empty strings, `n_sensors` sensors (each "", no axes, no rates),
    // max_frame 0, no slots, no capabilities.
    let device_info_with_sensors = |n_sensors: u8| {
        let mut payload = vec![1, 1, 0, 0, 0, n_sensors];
        payload.extend(std::iter::repeat_n([0, 0, 0], n_sensors.into()).flatten());
        payload.extend([0, 0, 0]);
        payload
    };
    assert!(decode_one::<MAX_FRAME>(&frame_of_payload(&device_info_with_sensors(4))).is_ok());

    let future = |version| Expected::Malformed { device_info_version: version };
    let cases = [
        (
            "a DeviceInfo from version 7 that this version cannot read",
            frame_of_payload(&[1, 7, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            future(Some(7)),
        ),
        ("a DeviceInfo from version 300", frame_of_payload(&[1, 0xac, 0x02, 0x80]), future(Some(300))),
        (
            "more sensors than a DeviceInfo holds",
            frame_of_payload(&device_info_with_sensors(5)),
            future(Some(1)),
        ),
        ("a DeviceInfo without a version", frame_of_payload(&[1]), future(None)),
        ("an unknown tag", frame_of_payload(&[0x7f]), future(None)),
        (
            "a varint longer than a u32",
            frame_of_payload(&[2, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
            future(None),
        ),
        ("an odd number of sample bytes", frame_of_payload(&[0x11, 0, 0, 0, 3, 1, 2, 3]), future(None)),
        ("a bool that is neither 0 nor 1", frame_of_payload(&[0x0e, 2]), future(None)),
        ("a Ping with a byte too many", frame_of_payload(&[2, 5, 0]), Expected::TrailingBytes(1)),
        ("a CRC and nothing else", frame_of_payload(&[]), Expected::Truncated(4)),
        ("a COBS code past the end", vec![0x05, 0x01, 0x02, 0x00], Expected::Cobs),
    ];
    for (what, frame, expected) in cases {
        match decode_one::<MAX_FRAME>(&frame) {
            Err(error) => assert_eq!(Expected::of(&error), Some(expected), "{what}: {error:?}"),
            Ok(frame) => panic!("{what}: decoded as {frame:02x?}"),
        }
    }
}

/// A zero between frames is an empty frame and is ignored: senders may flush with one.
#[test]
fn empty_frames_are_ignored() {
    let frame = encode_frame_vec(&Message::ModelQuery).unwrap();
    let stream = [&[0u8, 0, 0][..], &frame, &[0, 0], &frame].concat();
    let results = decode_chunks(&mut FrameDecoder::<MAX_FRAME>::new(), &[&stream]);
    assert_eq!(results, vec![Ok(frame.clone()), Ok(frame)]);
}

/// A newer board may append fields to `DeviceInfo`; this version still learns which version it
/// speaks instead of a bare "trailing bytes".
#[test]
fn a_device_info_with_appended_fields_still_reports_its_version() {
    let info = DeviceInfo {
        protocol_version: PROTOCOL_VERSION + 1,
        board: "future",
        firmware_version: "9.0.0",
        device_id: "f1",
        sensors: heapless::Vec::new(),
        max_frame: 520,
        model_slots: heapless::Vec::new(),
        capabilities: Capabilities(0),
    };
    let mut payload = postcard::to_allocvec(&Message::DeviceInfo(info)).unwrap();
    payload.extend_from_slice(&[0x05, 0x2a, 0x01]);
    let frame = common::frame_of_payload(&payload);
    let mut decoder = FrameDecoder::<MAX_FRAME>::new();
    let Decoded::Frame { result, .. } = decoder.feed(&frame) else { panic!("one frame") };
    assert!(
        matches!(result, Err(FrameError::Malformed { device_info_version: Some(v), .. }) if v == PROTOCOL_VERSION + 1),
        "{result:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// A board's decoder

/// What `feed_requests` makes of one frame, next to `feed`.
fn both<'a>(
    frame: &[u8],
    all: &'a mut FrameDecoder<BIG>,
    requests: &'a mut FrameDecoder<BIG>,
) -> (Result<Message<'a>, FrameError>, Result<Message<'a>, FrameError>) {
    let (Decoded::Frame { result: full, .. }, Decoded::Frame { result: request, .. }) =
        (all.feed(frame), requests.feed_requests(frame))
    else {
        panic!("one frame each")
    };
    (full, request)
}

/// Whether a host sends this message to a board.
fn to_board(message: &Message<'_>) -> bool {
    matches!(
        message,
        Message::Hello(_)
            | Message::Ping { .. }
            | Message::StartStream(_)
            | Message::StopStream { .. }
            | Message::ModelBegin(_)
            | Message::ModelChunk(_)
            | Message::ModelCommit { .. }
            | Message::StartInference(_)
            | Message::StopInference
            | Message::ModelQuery
            | Message::SimControl(_)
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    /// A board's decoder gives every host-to-board message exactly as the full decoder does, and
    /// names every board-to-host one as such.
    #[test]
    fn the_request_decoder_reads_what_a_host_sends(message in any_message()) {
        let frame = encode_frame_vec(&message).unwrap();
        let (mut all, mut requests) = (FrameDecoder::<BIG>::new(), FrameDecoder::<BIG>::new());
        let (full, request) = both(&frame, &mut all, &mut requests);
        let full = full.expect("the full decoder reads every message");
        if to_board(&message) {
            check_same(&request.expect("a host-to-board message"), &full)?;
        } else {
            prop_assert_eq!(request, Err(FrameError::WrongDirection { tag: message.tag() }));
        }
    }

    /// On any payload (valid CRC, arbitrary bytes) the two decoders agree: the same message, or
    /// both refuse (a board-to-host message counts as refused by the board's decoder).
    #[test]
    fn the_request_decoder_agrees_with_the_full_one_on_any_payload(
        tag in prop_oneof![3 => 0u8..22, 1 => any::<u8>()],
        body in vec(any::<u8>(), 0..48),
    ) {
        let payload: Vec<u8> = std::iter::once(tag).chain(body).collect();
        let frame = frame_of_payload(&payload);
        let (mut all, mut requests) = (FrameDecoder::<BIG>::new(), FrameDecoder::<BIG>::new());
        let (full, request) = both(&frame, &mut all, &mut requests);
        match (&full, &request) {
            (Ok(full), Ok(request)) => {
                prop_assert!(to_board(full));
                check_same(request, full)?;
            }
            (Ok(full), Err(error)) => {
                prop_assert!(!to_board(full), "{full:?} refused: {error}");
                prop_assert_eq!(error, &FrameError::WrongDirection { tag: full.tag() });
            }
            (Err(_), Ok(request)) => prop_assert!(false, "only the board's decoder read {request:?}"),
            (Err(_), Err(_)) => {}
        }
    }
}
