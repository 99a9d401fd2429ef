//! Framing: `COBS(postcard(message) ++ crc32_le) ++ 0x00`, and a decoder for bytes in chunks.

use core::fmt;

use serde::Deserialize;

use crate::Message;

/// The frame checksum: CRC-32/ISO-HDLC (the zlib/Ethernet CRC) of the postcard payload.
pub const CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
/// Bytes of CRC after the payload.
pub const CRC_LEN: usize = 4;
/// Largest postcard payload a board must accept: a full `SampleBatch` with every counter at its
/// largest (tag 1 + stream 1 + seq 5 + first_sample 10 + t0_us 10 + dt_us 4 + length 2 + 480).
pub const MAX_PAYLOAD: usize = 513;
/// Largest encoded frame for [`MAX_PAYLOAD`], delimiter included.
pub const MAX_FRAME: usize = max_frame_len(MAX_PAYLOAD);

/// Longest encoded frame, delimiter included, for a payload of `payload_len` bytes.
pub const fn max_frame_len(payload_len: usize) -> usize {
    cobs::max_encoding_length(payload_len + CRC_LEN) + 1
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodeError {
    /// The message does not fit the scratch or output buffer.
    BufferFull,
    /// postcard refused the message.
    Serialize,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::BufferFull => f.write_str("message does not fit the frame buffer"),
            EncodeError::Serialize => f.write_str("message could not be serialized"),
        }
    }
}

impl core::error::Error for EncodeError {}

/// Encodes `message` as one frame into `out` and returns the frame's length (delimiter included).
/// `scratch` holds the postcard payload and its CRC on the way; [`MAX_PAYLOAD`] + [`CRC_LEN`]
/// bytes are always enough for messages within the protocol's limits.
pub fn encode_frame(message: &Message<'_>, scratch: &mut [u8], out: &mut [u8]) -> Result<usize, EncodeError> {
    let payload_len = match postcard::to_slice(message, scratch) {
        Ok(payload) => payload.len(),
        Err(postcard::Error::SerializeBufferFull) => return Err(EncodeError::BufferFull),
        Err(_) => return Err(EncodeError::Serialize),
    };
    let crc = CRC.checksum(&scratch[..payload_len]).to_le_bytes();
    scratch.get_mut(payload_len..payload_len + CRC_LEN).ok_or(EncodeError::BufferFull)?.copy_from_slice(&crc);
    let body = &scratch[..payload_len + CRC_LEN];
    let encoded_len = cobs::try_encode(body, out).map_err(|_| EncodeError::BufferFull)?;
    *out.get_mut(encoded_len).ok_or(EncodeError::BufferFull)? = 0;
    Ok(encoded_len + 1)
}

/// Encodes `message` as one frame into a new vector (host side).
#[cfg(feature = "std")]
pub fn encode_frame_vec(message: &Message<'_>) -> Result<std::vec::Vec<u8>, EncodeError> {
    let mut payload = postcard::to_allocvec(message).map_err(|_| EncodeError::Serialize)?;
    let crc = CRC.checksum(&payload).to_le_bytes();
    payload.extend_from_slice(&crc);
    let mut out = std::vec![0u8; cobs::max_encoding_length(payload.len()) + 1];
    let encoded_len = cobs::try_encode(&payload, &mut out).map_err(|_| EncodeError::BufferFull)?;
    out.truncate(encoded_len);
    out.push(0);
    Ok(out)
}

/// Why a frame was thrown away.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrameError {
    /// More bytes arrived before a delimiter than the decoder holds; they were skipped up to
    /// the next delimiter.
    Oversized { limit: usize },
    /// The bytes between two delimiters are not valid COBS.
    Cobs,
    /// Too short to hold a CRC.
    Truncated { len: usize },
    /// The CRC does not match: bytes were corrupted or lost.
    Crc { expected: u32, computed: u32 },
    /// The CRC is good but the payload is not a message this side can read. When the payload
    /// is a `DeviceInfo`, `device_info_version` is the protocol version it declares (a newer
    /// board).
    Malformed { error: postcard::Error, device_info_version: Option<u16> },
    /// The message was read but bytes were left over.
    TrailingBytes { extra: usize },
    /// A board-to-host message arrived at a board ([`FrameDecoder::feed_requests`]); `tag` is
    /// its variant.
    WrongDirection { tag: u8 },
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::Oversized { limit } => write!(f, "frame longer than {limit} bytes"),
            FrameError::Cobs => f.write_str("frame is not valid COBS"),
            FrameError::Truncated { len } => write!(f, "frame of {len} bytes is too short"),
            FrameError::Crc { expected, computed } => {
                write!(f, "CRC mismatch (frame says {expected:08x}, bytes give {computed:08x})")
            }
            FrameError::Malformed { error, .. } => write!(f, "unreadable message: {error}"),
            FrameError::TrailingBytes { extra } => {
                write!(f, "{extra} bytes left over after the message")
            }
            FrameError::WrongDirection { tag } => {
                write!(f, "message tag {tag} goes from a board to the host")
            }
        }
    }
}

impl core::error::Error for FrameError {}

/// The outcome of [`FrameDecoder::feed`].
#[derive(Debug)]
pub enum Decoded<'buf, 'input> {
    /// Every input byte was taken; no frame is complete yet.
    NeedMore,
    /// A frame ended. `remaining` is the input after its delimiter: feed it next.
    Frame { result: Result<Message<'buf>, FrameError>, remaining: &'input [u8] },
}

/// Turns a byte stream into messages. Holds at most `N` bytes of one frame (delimiter
/// excluded); anything longer is reported as [`FrameError::Oversized`] and skipped. Empty
/// frames (`0x00 0x00`) are ignored, so a sender may emit a zero to flush a receiver's state.
pub struct FrameDecoder<const N: usize> {
    buf: [u8; N],
    len: usize,
    overflowed: bool,
}

impl<const N: usize> Default for FrameDecoder<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> FrameDecoder<N> {
    pub const fn new() -> Self {
        Self { buf: [0; N], len: 0, overflowed: false }
    }

    /// Bytes of an unfinished frame held now.
    pub fn pending(&self) -> usize {
        self.len
    }

    /// Forgets any unfinished frame.
    pub fn reset(&mut self) {
        self.len = 0;
        self.overflowed = false;
    }

    /// Takes bytes until the end of a frame (or of `input`).
    ///
    /// ```
    /// # use mote_wire::*;
    /// let mut decoder = FrameDecoder::<MAX_FRAME>::new();
    /// // `Hello { protocol_version: 1 }`, arriving in two pieces.
    /// let frame = [0x01, 0x06, 0x01, 0x69, 0x22, 0xde, 0x36, 0x00];
    /// assert!(matches!(decoder.feed(&frame[..3]), Decoded::NeedMore));
    /// let mut input = &frame[3..];
    /// while let Decoded::Frame { result, remaining } = decoder.feed(input) {
    ///     assert_eq!(result, Ok(Message::Hello(Hello { protocol_version: 1 })));
    ///     input = remaining;
    /// }
    /// ```
    pub fn feed<'buf, 'input>(&'buf mut self, input: &'input [u8]) -> Decoded<'buf, 'input> {
        self.feed_with(input, message)
    }

    /// [`FrameDecoder::feed`] for a board: reads only the messages a host sends, and reports a
    /// board-to-host message as [`FrameError::WrongDirection`]. The same frames give the same
    /// messages as `feed`; a board that decodes this way carries no decoder for the messages it
    /// only ever sends.
    pub fn feed_requests<'buf, 'input>(&'buf mut self, input: &'input [u8]) -> Decoded<'buf, 'input> {
        self.feed_with(input, request)
    }

    fn feed_with<'buf, 'input>(
        &'buf mut self,
        input: &'input [u8],
        read: fn(&[u8]) -> Result<Message<'_>, FrameError>,
    ) -> Decoded<'buf, 'input> {
        let mut input = input;
        loop {
            let Some(end) = input.iter().position(|&byte| byte == 0) else {
                self.take(input);
                return Decoded::NeedMore;
            };
            self.take(&input[..end]);
            input = &input[end + 1..];
            let (len, overflowed) = (self.len, self.overflowed);
            self.reset();
            if overflowed {
                return Decoded::Frame { result: Err(FrameError::Oversized { limit: N }), remaining: input };
            }
            if len == 0 {
                continue;
            }
            return Decoded::Frame { result: decode_body(&mut self.buf[..len], read), remaining: input };
        }
    }

    fn take(&mut self, bytes: &[u8]) {
        if self.overflowed {
            return;
        }
        match self.buf.get_mut(self.len..self.len + bytes.len()) {
            Some(slot) => {
                slot.copy_from_slice(bytes);
                self.len += bytes.len();
            }
            None => self.overflowed = true,
        }
    }
}

/// Decodes one frame body (COBS bytes between delimiters) in place and `read`s its payload.
fn decode_body(
    body: &mut [u8],
    read: fn(&[u8]) -> Result<Message<'_>, FrameError>,
) -> Result<Message<'_>, FrameError> {
    let len = cobs::decode_in_place(body).map_err(|_| FrameError::Cobs)?;
    if len < CRC_LEN + 1 {
        return Err(FrameError::Truncated { len });
    }
    let (payload, crc) = body[..len].split_at(len - CRC_LEN);
    let expected = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
    let computed = CRC.checksum(payload);
    if expected != computed {
        return Err(FrameError::Crc { expected, computed });
    }
    read(payload)
}

/// Any message.
fn message(payload: &[u8]) -> Result<Message<'_>, FrameError> {
    match postcard::take_from_bytes::<Message<'_>>(payload) {
        Ok((message, [])) => Ok(message),
        // A newer board's `DeviceInfo` may append fields: still say which version it speaks.
        Ok((Message::DeviceInfo(info), rest)) if info.protocol_version != crate::PROTOCOL_VERSION => {
            let _ = rest;
            Err(FrameError::Malformed {
                error: postcard::Error::DeserializeBadEncoding,
                device_info_version: Some(info.protocol_version),
            })
        }
        Ok((_, rest)) => Err(FrameError::TrailingBytes { extra: rest.len() }),
        Err(error) => Err(FrameError::Malformed { error, device_info_version: device_info_version(payload) }),
    }
}

/// A host-to-board message, read variant by variant exactly as `Message`'s own decoder reads it
/// (the variant's index as a varint, then its fields), so only those variants' decoders exist.
fn request(payload: &[u8]) -> Result<Message<'_>, FrameError> {
    fn malformed(error: postcard::Error) -> FrameError {
        FrameError::Malformed { error, device_info_version: None }
    }
    fn whole<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, FrameError> {
        match postcard::take_from_bytes::<T>(body) {
            Ok((value, [])) => Ok(value),
            Ok((_, rest)) => Err(FrameError::TrailingBytes { extra: rest.len() }),
            Err(error) => Err(malformed(error)),
        }
    }
    let (tag, body) = postcard::take_from_bytes::<u32>(payload).map_err(malformed)?;
    Ok(match tag {
        0 => Message::Hello(whole(body)?),
        2 => Message::Ping { nonce: whole(body)? },
        5 => Message::StartStream(whole(body)?),
        8 => Message::StopStream { stream: whole(body)? },
        10 => Message::ModelBegin(whole(body)?),
        11 => Message::ModelChunk(whole(body)?),
        12 => Message::ModelCommit { slot: whole(body)? },
        14 => Message::StartInference(whole(body)?),
        16 => {
            whole::<()>(body)?;
            Message::StopInference
        }
        18 => {
            whole::<()>(body)?;
            Message::ModelQuery
        }
        20 => Message::SimControl(whole(body)?),
        1 | 3 | 4 | 6 | 7 | 9 | 13 | 15 | 17 | 19 => {
            return Err(FrameError::WrongDirection { tag: tag as u8 });
        }
        _ => return Err(malformed(postcard::Error::DeserializeBadEnum)),
    })
}

/// Reads the protocol version a `DeviceInfo` payload declares, whatever follows it.
fn device_info_version(payload: &[u8]) -> Option<u16> {
    match payload {
        [1, rest @ ..] => postcard::take_from_bytes::<u16>(rest).ok().map(|(version, _)| version),
        _ => None,
    }
}
