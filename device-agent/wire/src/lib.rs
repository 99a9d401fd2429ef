//! Mote's wire protocol: the messages a host and a board exchange, and how they are framed.
//!
//! A frame on the wire is `COBS(postcard(message) ++ crc32_le(postcard(message))) ++ 0x00`.
//! COBS removes every zero byte from the body, so `0x00` marks the end of a frame and a receiver
//! that joins mid-stream (or loses bytes) resynchronises at the next zero. The CRC catches
//! corrupted bytes that COBS cannot. [`FrameDecoder`] accepts bytes in chunks of any size, never
//! allocates, never panics, and reports every bad frame as a [`FrameError`] value.
//!
//! The protocol carries a version ([`PROTOCOL_VERSION`]) in `Hello` and `DeviceInfo`. Message
//! variants are only ever appended: the position of a variant in [`Message`] is its tag on the
//! wire. `Hello` (tag 0) and `DeviceInfo` (tag 1, with `protocol_version` first) are frozen so that
//! any two versions can at least tell each other which version they speak.
#![cfg_attr(not(feature = "std"), no_std)]

mod frame;
mod message;
mod values;

#[cfg(feature = "std")]
pub use frame::encode_frame_vec;
pub use frame::{
    CRC, CRC_LEN, Decoded, EncodeError, FrameDecoder, FrameError, MAX_FRAME, MAX_PAYLOAD, encode_frame,
    max_frame_len,
};
pub use message::*;
pub use values::I16Values;

/// The version of this protocol. Bumped whenever an existing message changes shape.
pub const PROTOCOL_VERSION: u16 = 1;
