//! Helpers shared by the integration tests.

use mote_wire::CRC;

/// Frames any payload, readable or not, the way `encode_frame` does:
/// `COBS(payload ++ crc32_le(payload)) ++ 00`.
pub fn frame_of_payload(payload: &[u8]) -> Vec<u8> {
    let mut body = payload.to_vec();
    body.extend_from_slice(&CRC.checksum(payload).to_le_bytes());
    let mut frame = vec![0u8; cobs::max_encoding_length(body.len()) + 1];
    let len = cobs::try_encode(&body, &mut frame).unwrap();
    frame.truncate(len);
    frame.push(0);
    frame
}
