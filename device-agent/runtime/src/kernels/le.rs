//! Read-only view of a little-endian `i32` array stored unaligned inside a byte blob.
//!
//! Constant tensors (biases, requantization multipliers and shifts) are stored in the model blob
//! with no alignment guarantee, so they cannot be reinterpreted as `&[i32]`. `LeI32` reads each
//! value from four bytes instead, on every target, so host and board see the same numbers.

/// A view of `bytes.len() / 4` little-endian `i32` values.
#[derive(Clone, Copy, Debug)]
pub struct LeI32<'a> {
    bytes: &'a [u8],
}

impl<'a> LeI32<'a> {
    /// Wraps `bytes`; `None` unless `bytes.len()` is a multiple of 4.
    pub fn new(bytes: &'a [u8]) -> Option<Self> {
        if bytes.len().is_multiple_of(4) { Some(Self { bytes }) } else { None }
    }

    /// Number of `i32` values (`bytes.len() / 4`).
    pub fn len(&self) -> usize {
        self.bytes.len() / 4
    }

    /// True when the view holds no values.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Value `value_idx`, decoded as `i32::from_le_bytes(bytes[4*value_idx..4*value_idx+4])`.
    ///
    /// Never panics: returns 0 when `value_idx >= len()`. Kernels validate lengths before reading,
    /// so the 0 is never observed by a kernel that reported success.
    pub fn get(&self, value_idx: usize) -> i32 {
        let Some(start) = value_idx.checked_mul(4) else {
            return 0;
        };
        match self.bytes.get(start..).and_then(|rest| rest.first_chunk::<4>()) {
            Some(chunk) => i32::from_le_bytes(*chunk),
            None => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::LeI32;
    use std::vec::Vec;

    #[test]
    fn rejects_lengths_that_are_not_a_multiple_of_four() {
        for len in [1usize, 2, 3, 5, 7] {
            assert!(LeI32::new(&[0u8; 8][..len]).is_none(), "len {len}");
        }
        for len in [0usize, 4, 8] {
            assert_eq!(LeI32::new(&[0u8; 8][..len]).unwrap().len(), len / 4);
        }
    }

    #[test]
    fn decodes_little_endian_values_at_any_alignment() {
        let values = [0i32, 1, -1, i32::MIN, i32::MAX, 0x1234_5678];
        let mut blob = Vec::new();
        blob.push(0xAAu8); // shifts the array to an odd address
        for value in values {
            blob.extend_from_slice(&value.to_le_bytes());
        }
        let view = LeI32::new(&blob[1..]).unwrap();
        assert_eq!(view.len(), values.len());
        assert!(!view.is_empty());
        for (value_idx, value) in values.iter().enumerate() {
            assert_eq!(view.get(value_idx), *value);
        }
        // 0x1234_5678 is stored as 78 56 34 12.
        assert_eq!(&blob[blob.len() - 4..], &[0x78, 0x56, 0x34, 0x12]);
    }

    #[test]
    fn out_of_range_reads_return_zero() {
        let bytes = 7i32.to_le_bytes();
        let view = LeI32::new(&bytes).unwrap();
        assert_eq!(view.get(0), 7);
        assert_eq!(view.get(1), 0);
        assert_eq!(view.get(usize::MAX), 0);
        assert_eq!(view.get(usize::MAX / 4 + 1), 0);
        let empty = LeI32::new(&[]).unwrap();
        assert!(empty.is_empty());
        assert_eq!(empty.get(0), 0);
    }
}
