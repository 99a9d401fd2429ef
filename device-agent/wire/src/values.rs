//! Interleaved little-endian `i16` sample values, borrowed straight from a frame.

use core::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error as _};

/// A run of `i16` values stored as little-endian bytes. Borrowed, so decoding a
/// `SampleBatch` copies nothing; on the wire it is a postcard byte string (2 bytes a value,
/// where postcard's own `i16` encoding would take up to 3).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct I16Values<'a>(&'a [u8]);

impl<'a> I16Values<'a> {
    /// Wraps little-endian bytes; `None` when the length is odd.
    pub fn from_le_bytes(bytes: &'a [u8]) -> Option<Self> {
        (bytes.len() % 2 == 0).then_some(Self(bytes))
    }

    /// Writes `values` as little-endian bytes into `out` and wraps them.
    /// Returns `None` when `out` is too small.
    pub fn encode_into(values: &[i16], out: &'a mut [u8]) -> Option<Self> {
        let bytes = out.get_mut(..values.len() * 2)?;
        for (chunk, value) in bytes.chunks_exact_mut(2).zip(values) {
            chunk.copy_from_slice(&value.to_le_bytes());
        }
        Some(Self(bytes))
    }

    pub const fn empty() -> Self {
        Self(&[])
    }

    pub fn len(&self) -> usize {
        self.0.len() / 2
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, idx: usize) -> Option<i16> {
        let bytes = self.0.get(idx * 2..idx * 2 + 2)?;
        Some(i16::from_le_bytes([bytes[0], bytes[1]]))
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = i16> + 'a {
        self.0.chunks_exact(2).map(|pair| i16::from_le_bytes([pair[0], pair[1]]))
    }

    pub fn as_le_bytes(&self) -> &'a [u8] {
        self.0
    }
}

impl fmt::Debug for I16Values<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Serialize for I16Values<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(self.0)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for I16Values<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let bytes = <&'a [u8]>::deserialize(deserializer)?;
        Self::from_le_bytes(bytes)
            .ok_or_else(|| D::Error::invalid_length(bytes.len(), &"an even number of bytes"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_and_reads_back() {
        let mut buf = [0u8; 8];
        let values = I16Values::encode_into(&[1, -2, i16::MAX, i16::MIN], &mut buf).unwrap();
        assert_eq!(values.len(), 4);
        assert_eq!(values.iter().collect::<heapless::Vec<i16, 4>>(), [1, -2, i16::MAX, i16::MIN]);
        assert_eq!(values.get(1), Some(-2));
        assert_eq!(values.get(4), None);
    }

    #[test]
    fn refuses_odd_byte_counts_and_small_buffers() {
        assert!(I16Values::from_le_bytes(&[1, 2, 3]).is_none());
        let mut small = [0u8; 3];
        assert!(I16Values::encode_into(&[1, 2], &mut small).is_none());
    }
}
