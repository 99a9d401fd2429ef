//! Fuzzes `FrameDecoder` with arbitrary bytes arriving in two chunks, and checks every message it
//! decodes against a round-trip oracle: re-encoded, it must decode again to the same message.
//!
//! The first input byte picks where the rest is split, so the fuzzer also explores frames cut at
//! every point. Besides the oracle, a frame outcome needs a delimiter: there are never more
//! outcomes than zero bytes.
//!
//! Start from the seeds (the golden frames): from an empty corpus libFuzzer seldom gets past the
//! CRC to a real message. From `device-agent/wire/fuzz`:
//! `cargo +nightly fuzz run frame_decoder corpus/frame_decoder seeds/frame_decoder`
//! (create `corpus/frame_decoder` first; results in `docs/benchmarks.md`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use mote_wire::*;

fuzz_target!(|data: &[u8]| {
    let Some((&split, bytes)) = data.split_first() else {
        return;
    };
    let split = bytes.len() * usize::from(split) / usize::from(u8::MAX);
    let (first, second) = bytes.split_at(split);

    let mut decoder = FrameDecoder::<MAX_FRAME>::new();
    let mut outcomes = 0;
    for chunk in [first, second] {
        let mut input = chunk;
        while let Decoded::Frame { result, remaining } = decoder.feed(input) {
            outcomes += 1;
            if let Ok(message) = result {
                check_round_trip(&message);
            }
            input = remaining;
        }
        assert!(decoder.pending() <= MAX_FRAME);
    }
    assert!(outcomes <= bytes.iter().filter(|&&byte| byte == 0).count());
});

/// A decoded message, encoded again, decodes to itself; and the fixed-buffer encoder agrees
/// with the allocating one whenever the payload fits.
fn check_round_trip(message: &Message<'_>) {
    let frame = encode_frame_vec(message).expect("a decoded message encodes");
    // Re-encoding never lengthens the payload (varints come out canonical), but COBS may add a
    // byte or two, so the second decoder holds a little more than the first.
    let mut decoder = FrameDecoder::<{ max_frame_len(MAX_FRAME) }>::new();
    match decoder.feed(&frame) {
        Decoded::Frame {
            result: Ok(again),
            remaining: [],
        } => {
            // NaN never equals itself: then the bits on the wire must match instead.
            if again != *message {
                assert_eq!(format!("{again:?}"), format!("{message:?}"));
                assert_eq!(encode_frame_vec(&again).unwrap(), frame);
            }
        }
        other => panic!("{message:?} encoded as {frame:02x?} decodes as {other:?}"),
    }

    let mut scratch = [0u8; MAX_PAYLOAD + CRC_LEN];
    let mut out = [0u8; MAX_FRAME];
    match encode_frame(message, &mut scratch, &mut out) {
        Ok(len) => assert_eq!(out[..len], frame[..]),
        Err(error) => {
            assert_eq!(error, EncodeError::BufferFull);
            let payload_len = postcard::to_stdvec(message).unwrap().len();
            assert!(
                payload_len > MAX_PAYLOAD,
                "{message:?} should fit the fixed buffers"
            );
        }
    }
}
