//! Golden frames: the exact bytes of one frame for every message variant, frozen.
//!
//! Each case is a message, its postcard payload and the whole frame on the wire,
//! `COBS(payload ++ crc32_le(payload)) ++ 00`. If one of these tests fails, the wire format
//! changed: that breaks every board already flashed, so it is only right together with a
//! `PROTOCOL_VERSION` bump (and `Hello` and the start of `DeviceInfo` never change).
//!
//! The vectors were made by encoding once and then checked against an independent encoder
//! written from the specs (python3: postcard payloads built by hand, `zlib.crc32`, COBS from
//! the paper): all 21 payloads and frames agreed. What to look for when reading them:
//!
//! * postcard: integers are varints, 7 bits a byte, least significant first, high bit set on
//!   all but the last (`16_000` is `80 7d`, `0xdead_beef` is `ef fd b6 f5 0d`); `u8` and `bool`
//!   are one byte; `f32` is 4 little-endian bytes (62.5 is `0x427a_0000`, so `00 00 7a 42`);
//!   strings and byte slices are a varint length and the bytes; an enum is its variant index as a
//!   varint, then its fields; `None` is `00`, `Some(x)` is `01` and `x`. No field is signed, so
//!   zigzag never appears; `I16Values` are a byte string, 2 little-endian bytes a value.
//! * CRC: CRC-32/ISO-HDLC of the payload, appended little-endian. `Hello`: payload `00 01`,
//!   `zlib.crc32(b"\x00\x01") == 0x36de_2269`, so the body is `00 01 69 22 de 36`.
//! * COBS: each code byte counts itself and the non-zero bytes up to the next zero (which it
//!   replaces) or the end. `Hello`'s body becomes `01` (the zero at once) `06 01 69 22 de 36`
//!   (five bytes, then the end), then the delimiter `00`. `ModelChunk`'s bytes `00 01 fe ff`
//!   show zeros inside a payload; `Ping`'s body has none, so it is one block `0b` + 10 bytes.

mod common;

use common::frame_of_payload;
use mote_wire::*;

/// One frozen frame. Hex strings ignore whitespace.
struct Golden {
    message: Message<'static>,
    /// The postcard payload.
    payload: &'static str,
    /// The whole frame, delimiter included.
    frame: &'static str,
}

/// Every message variant at least once, every `SlotState` variant, both `Option` states.
fn cases() -> Vec<Golden> {
    vec![
        Golden {
            message: Message::Hello(Hello { protocol_version: 1 }),
            payload: "00 01",
            frame: "01 06 01 69 22 de 36 00",
        },
        Golden {
            message: Message::DeviceInfo(DeviceInfo {
                protocol_version: 1,
                board: "virtual",
                firmware_version: "0.1.0",
                device_id: "sim-1",
                sensors: heapless::Vec::from_slice(&[SensorInfo {
                    name: "imu",
                    axes: heapless::Vec::from_slice(&[
                        AxisInfo { name: "ax", unit: "m/s2", scale: 0.001 },
                        AxisInfo { name: "gz", unit: "deg/s", scale: 0.0625 },
                    ])
                    .unwrap(),
                    rates_hz: heapless::Vec::from_slice(&[50, 100, 16_000]).unwrap(),
                }])
                .unwrap(),
                max_frame: 300,
                model_slots: heapless::Vec::from_slice(&[
                    SlotInfo {
                        slot: 0,
                        capacity: 65_536,
                        state: SlotState::Valid { size: 1000, crc: 0xcbf4_3926 },
                        active: true,
                    },
                    SlotInfo { slot: 1, capacity: 65_536, state: SlotState::Empty, active: false },
                ])
                .unwrap(),
                capabilities: Capabilities(
                    Capabilities::STREAM
                        | Capabilities::MODEL_UPLOAD
                        | Capabilities::INFERENCE
                        | Capabilities::SIM_CONTROL,
                ),
            }),
            // One row each: tag, version, "virtual", "0.1.0", "sim-1" | 1 sensor, "imu", 2 axes |
            // "ax", "m/s2", 0.001 | "gz", "deg/s", 0.0625 | 3 rates: 50, 100, 16000 |
            // max_frame 300 | 2 slots; slot 0, capacity 65536, Valid { 1000, 0xcbf43926 }, active |
            // slot 1, capacity 65536, Empty, not active | capabilities 0x17
            payload: "01 01 07 76 69 72 74 75 61 6c 05 30 2e 31 2e 30 05 73 69 6d 2d 31 \
                      01 03 69 6d 75 02 \
                      02 61 78 04 6d 2f 73 32 6f 12 83 3a \
                      02 67 7a 05 64 65 67 2f 73 00 00 80 3d \
                      03 32 64 80 7d \
                      ac 02 \
                      02 00 80 80 04 02 e8 07 a6 f2 d0 df 0c 01 \
                      01 80 80 04 00 00 \
                      17",
            frame: "32 01 01 07 76 69 72 74 75 61 6c 05 30 2e 31 2e \
                    30 05 73 69 6d 2d 31 01 03 69 6d 75 02 02 61 78 \
                    04 6d 2f 73 32 6f 12 83 3a 02 67 7a 05 64 65 67 \
                    2f 73 01 0b 80 3d 03 32 64 80 7d ac 02 02 11 80 \
                    80 04 02 e8 07 a6 f2 d0 df 0c 01 01 80 80 04 01 \
                    06 17 fa 51 09 8d 00",
        },
        Golden {
            message: Message::Ping { nonce: 0xdead_beef },
            payload: "02 ef fd b6 f5 0d",
            frame: "0b 02 ef fd b6 f5 0d 3b 75 2b f4 00",
        },
        Golden { message: Message::Pong { nonce: 0 }, payload: "03 00", frame: "02 03 05 3c 41 f4 6a 00" },
        Golden {
            message: Message::Error(ErrorReply { code: ErrorCode::UNKNOWN_SENSOR, detail: "no sensor 3" }),
            payload: "04 04 0b 6e 6f 20 73 65 6e 73 6f 72 20 33",
            frame: "13 04 04 0b 6e 6f 20 73 65 6e 73 6f 72 20 33 ff 47 3a b0 00",
        },
        Golden {
            message: Message::StartStream(StartStream { sensor: 0, rate_hz: 16_000 }),
            payload: "05 00 80 7d",
            frame: "02 05 07 80 7d e4 ba ad 03 00",
        },
        Golden {
            message: Message::StreamStarted(StreamStarted {
                stream: 1,
                sensor: 0,
                rate_hz: 100,
                n_axes: 3,
                t0_us: 1_234_567,
            }),
            payload: "06 01 00 64 03 87 ad 4b",
            frame: "03 06 01 0a 64 03 87 ad 4b 80 f4 e0 65 00",
        },
        Golden {
            message: Message::SampleBatch(SampleBatch {
                stream: 1,
                seq: 300,
                first_sample: 4800,
                t0_us: 1_300_000,
                dt_us: 62.5,
                // 1, -1, 256, -32768
                values: I16Values::from_le_bytes(&[0x01, 0x00, 0xff, 0xff, 0x00, 0x01, 0x00, 0x80]).unwrap(),
            }),
            payload: "07 01 ac 02 c0 25 a0 ac 4f 00 00 7a 42 08 01 00 ff ff 00 01 00 80",
            frame: "0a 07 01 ac 02 c0 25 a0 ac 4f 01 05 7a 42 08 01 \
                    03 ff ff 02 01 06 80 e0 27 7c a6 00",
        },
        Golden {
            message: Message::StopStream { stream: 1 },
            payload: "08 01",
            frame: "07 08 01 61 a8 07 fe 00",
        },
        Golden {
            message: Message::StreamStopped(StreamStopped { stream: 1, batches: 75, samples: 6000 }),
            payload: "09 01 4b f0 2e",
            frame: "0a 09 01 4b f0 2e 5a 7c 2b c7 00",
        },
        Golden {
            message: Message::ModelBegin(ModelBegin { slot: 1, size: 20_000, crc: 0xcbf4_3926 }),
            payload: "0a 01 a0 9c 01 a6 f2 d0 df 0c",
            frame: "0f 0a 01 a0 9c 01 a6 f2 d0 df 0c 4c d0 3d fb 00",
        },
        Golden {
            message: Message::ModelChunk(ModelChunk {
                slot: 1,
                offset: 256,
                bytes: &[0x00, 0x01, 0xfe, 0xff],
            }),
            payload: "0b 01 80 02 04 00 01 fe ff",
            frame: "06 0b 01 80 02 04 08 01 fe ff 5d 2e 57 3e 00",
        },
        Golden {
            message: Message::ModelCommit { slot: 1 },
            payload: "0c 01",
            frame: "07 0c 01 65 6d 6b 9a 00",
        },
        Golden {
            message: Message::ModelStatus(ModelStatus {
                slot: SlotInfo {
                    slot: 1,
                    capacity: 65_536,
                    state: SlotState::Receiving { size: 20_000, received: 256 },
                    active: false,
                },
            }),
            payload: "0d 01 80 80 04 01 a0 9c 01 80 02 00",
            frame: "0c 0d 01 80 80 04 01 a0 9c 01 80 02 05 d9 d1 cc e0 00",
        },
        Golden {
            message: Message::StartInference(StartInference { echo_windows: true }),
            payload: "0e 01",
            frame: "07 0e 01 e7 0f 5d a8 00",
        },
        Golden {
            message: Message::InferenceResult(InferenceResult {
                seq: 7,
                t_us: 2_000_000,
                scores: &[0x80, 0x7f, 0xf6], // -128, 127, -10
                top: 1,
                anomaly: Some(0.25),
                dsp_us: 1500,
                nn_us: 12_000,
                dsp_instructions: None,
                nn_instructions: Some(3_000_000),
            }),
            payload: "0f 07 80 89 7a 03 80 7f f6 01 01 00 00 80 3e dc 0b e0 5d 00 01 c0 8d b7 01",
            frame: "0c 0f 07 80 89 7a 03 80 7f f6 01 01 01 07 80 3e \
                    dc 0b e0 5d 0a 01 c0 8d b7 01 6c 5c 67 3f 00",
        },
        Golden { message: Message::StopInference, payload: "10", frame: "06 10 e9 ff b5 cf 00" },
        Golden {
            message: Message::InferenceWindow(InferenceWindow {
                seq: 7,
                offset: 0,
                total: 375,
                values: I16Values::from_le_bytes(&[0xfe, 0xff, 0x03, 0x00]).unwrap(), // -2, 3
            }),
            payload: "11 07 00 f7 02 04 fe ff 03 00",
            frame: "03 11 07 07 f7 02 04 fe ff 03 05 4f ea 1a a5 00",
        },
        Golden { message: Message::ModelQuery, payload: "12", frame: "06 12 c5 9e bb 21 00" },
        Golden { message: Message::Ack { request: 12 }, payload: "13 0c", frame: "07 13 0c 46 1f 80 29 00" },
        Golden {
            message: Message::SimControl(SimControl::SetActivity { name: "wave" }),
            payload: "14 00 04 77 61 76 65",
            frame: "02 14 09 04 77 61 76 65 f6 b3 3d 01 00",
        },
    ]
}

#[test]
fn payloads_are_the_golden_bytes() {
    for case in cases() {
        let payload = postcard::to_allocvec(&case.message).unwrap();
        assert_eq!(hex(&payload), normalise(case.payload), "payload of {:?}", case.message);
    }
}

#[test]
fn encode_frame_gives_the_golden_frames() {
    for case in cases() {
        let mut scratch = [0u8; MAX_PAYLOAD + CRC_LEN];
        let mut out = [0u8; MAX_FRAME];
        let len = encode_frame(&case.message, &mut scratch, &mut out).unwrap();
        assert_eq!(hex(&out[..len]), normalise(case.frame), "frame of {:?}", case.message);
    }
}

#[test]
fn encode_frame_vec_gives_the_golden_frames() {
    for case in cases() {
        let frame = encode_frame_vec(&case.message).unwrap();
        assert_eq!(hex(&frame), normalise(case.frame), "frame of {:?}", case.message);
    }
}

#[test]
fn golden_frames_decode_to_their_messages() {
    for case in cases() {
        let frame = unhex(case.frame);
        let mut decoder = FrameDecoder::<MAX_FRAME>::new();
        match decoder.feed(&frame) {
            Decoded::Frame { result, remaining } => {
                assert_eq!(result, Ok(case.message));
                assert!(remaining.is_empty());
            }
            Decoded::NeedMore => panic!("no frame in {}", case.frame),
        }
        assert_eq!(decoder.pending(), 0);
    }
}

#[test]
fn golden_frames_back_to_back_decode_in_order() {
    let cases = cases();
    let stream: Vec<u8> = cases.iter().flat_map(|case| unhex(case.frame)).collect();
    let mut decoder = FrameDecoder::<MAX_FRAME>::new();
    let mut input = &stream[..];
    let mut case_idx = 0;
    while let Decoded::Frame { result, remaining } = decoder.feed(input) {
        assert_eq!(result.as_ref(), Ok(&cases[case_idx].message));
        case_idx += 1;
        input = remaining;
    }
    assert_eq!(case_idx, cases.len());
}

#[test]
fn table_covers_every_variant() {
    let mut tags: Vec<u8> = cases().iter().map(|case| case.message.tag()).collect();
    tags.dedup();
    assert_eq!(tags, (0..=20).collect::<Vec<u8>>(), "one case per tag, in tag order");
    for case in cases() {
        assert_eq!(unhex(case.payload)[0], case.message.tag(), "{}", case.message.name());
    }

    // Tag 21 is not a message yet. When a variant is appended this fails: add its golden case.
    let mut decoder = FrameDecoder::<MAX_FRAME>::new();
    let result = first_result(&mut decoder, &frame_of_payload(&[21]));
    assert!(matches!(result, Err(FrameError::Malformed { device_info_version: None, .. })));
}

#[test]
fn crc_is_crc32_iso_hdlc() {
    // The standard check value of CRC-32/ISO-HDLC (zlib, Ethernet, PNG).
    assert_eq!(CRC.checksum(b"123456789"), 0xcbf4_3926);
}

/// The largest message of each kind whose size the protocol bounds, and its payload size.
fn largest_messages() -> Vec<(Message<'static>, usize)> {
    static MAX_VALUES: [u8; MAX_BATCH_BYTES] = [0xff; MAX_BATCH_BYTES];
    static MAX_CHUNK: [u8; MAX_CHUNK_BYTES] = [0xff; MAX_CHUNK_BYTES];
    static MAX_SCORES: [u8; MAX_CLASSES] = [0xff; MAX_CLASSES];
    let values = I16Values::from_le_bytes(&MAX_VALUES).unwrap();
    vec![
        (
            // tag 1, stream 1, seq 5, first_sample 10, t0_us 10, dt_us 4, length 2, values 480
            Message::SampleBatch(SampleBatch {
                stream: u8::MAX,
                seq: u32::MAX,
                first_sample: u64::MAX,
                t0_us: u64::MAX,
                dt_us: f32::MAX,
                values,
            }),
            513,
        ),
        (
            Message::InferenceWindow(InferenceWindow {
                seq: u32::MAX,
                offset: u32::MAX,
                total: u32::MAX,
                values,
            }),
            498,
        ),
        (Message::ModelChunk(ModelChunk { slot: u8::MAX, offset: u32::MAX, bytes: &MAX_CHUNK }), 265),
        (
            Message::InferenceResult(InferenceResult {
                seq: u32::MAX,
                t_us: u64::MAX,
                scores: &MAX_SCORES,
                top: u8::MAX,
                anomaly: Some(f32::MAX),
                dsp_us: u32::MAX,
                nn_us: u32::MAX,
                dsp_instructions: Some(u32::MAX),
                nn_instructions: Some(u32::MAX),
            }),
            77,
        ),
    ]
}

#[test]
fn largest_messages_fit_the_protocol_buffers() {
    for (message, payload_len) in largest_messages() {
        assert_eq!(postcard::to_allocvec(&message).unwrap().len(), payload_len, "{}", message.name());
        assert!(payload_len <= MAX_PAYLOAD, "{} needs {payload_len} bytes", message.name());
        let mut scratch = [0u8; MAX_PAYLOAD + CRC_LEN];
        let mut out = [0u8; MAX_FRAME];
        let len = encode_frame(&message, &mut scratch, &mut out).unwrap();
        let mut decoder = FrameDecoder::<MAX_FRAME>::new();
        assert_eq!(first_result(&mut decoder, &out[..len]), Ok(message));
    }
}

/// The result of the first frame in `stream`.
fn first_result<'buf, const N: usize>(
    decoder: &'buf mut FrameDecoder<N>,
    stream: &[u8],
) -> Result<Message<'buf>, FrameError> {
    match decoder.feed(stream) {
        Decoded::Frame { result, .. } => result,
        Decoded::NeedMore => panic!("no frame in {stream:02x?}"),
    }
}

/// Lowercase hex, bytes separated by single spaces.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect::<Vec<_>>().join(" ")
}

/// A table's hex string in the form [`hex`] writes.
fn normalise(hex_text: &str) -> String {
    hex(&unhex(hex_text))
}

fn unhex(hex_text: &str) -> Vec<u8> {
    let digits: Vec<u8> = hex_text.bytes().filter(|byte| !byte.is_ascii_whitespace()).collect();
    digits.chunks(2).map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap()).collect()
}
