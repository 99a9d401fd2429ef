//! The packed inner loops of the dense and convolution kernels on Armv7E-M.
//!
//! A kernel first copies what one output reads (a dense layer's input, a convolution's receptive
//! field: the im2col step) into a [`Packed`] buffer, adding the input offset once per value
//! instead of once per multiply, and storing the values as the 16-bit pairs `SMLAD` consumes.
//! Weights stay int8 in the blob: one word load and two `SXTB16` give four of them, in the order
//! `[w0, w2]`, `[w1, w3]`, so the buffer stores each group of four inputs as `[x0, x2]`, `[x1, x3]`
//! (`SXTB16` of a word of inputs produces exactly that order, so packing an aligned group costs one
//! load, two `SXTB16`, two `SADD16` and two stores). The loops then take two rows of weights (two
//! output channels) and, for convolutions, two output positions at a time: per group of four
//! taps two weight loads, four `SXTB16`, four input loads and eight `SMLAD`s make 16
//! multiply-accumulates.
//!
//! Every intermediate fits its lane (an input plus its offset within ±255 for int8 tensors, a
//! weight within ±128) and the accumulators wrap in 32 bits like the reference kernels' `i32`
//! sums, which are associative modulo 2^32: the packed kernels give the reference kernels'
//! integers exactly. Kernels fall back to the reference loop when a receptive field is longer
//! than [`PACKED_VALUES`] or an input offset would not fit a halfword lane.

use core::ops::Range;

use crate::kernels::le::LeI32;
use crate::kernels::quant::{ActivationRange, ChannelRequant, Multiplier, output_value};
use crate::kernels::simd::{pair, sadd16, smlad, sxtb16, sxtb16_ror8, word};

/// The most values one [`Packed`] buffer holds (1 KiB of stack).
pub(crate) const PACKED_VALUES: usize = 512;

/// True when `input + input_offset` fits a signed halfword for every int8 `input`.
pub(crate) fn offset_fits(input_offset: i32) -> bool {
    (i32::from(i16::MIN) + 128..=i32::from(i16::MAX) - 127).contains(&input_offset)
}

/// Up to [`PACKED_VALUES`] inputs with their offset added, in `SMLAD` order.
///
/// Logical value `i` lives in group `g = i / 4`: values 0 and 2 of the group in word `2g`, values
/// 1 and 3 in word `2g + 1` (low halfword first). Values past `len` in the last group are 0, so a
/// partial group multiplies like a full one.
pub(crate) struct Packed {
    words: [u32; PACKED_VALUES / 2],
    len: usize,
}

impl Packed {
    pub(crate) const fn new() -> Self {
        Self { words: [0; PACKED_VALUES / 2], len: 0 }
    }

    /// Starts a buffer of `len` values (at most [`PACKED_VALUES`]); the caller then writes every
    /// position below `len` once, with [`Packed::put`] or [`Packed::zeros`].
    pub(crate) fn begin(&mut self, len: usize) {
        self.len = len.min(PACKED_VALUES);
        if !self.len.is_multiple_of(4) {
            let last_group = self.len / 4;
            self.words[2 * last_group] = 0;
            self.words[2 * last_group + 1] = 0;
        }
    }

    /// Words holding the `len` values: two per group of four, rounded up.
    #[inline(always)]
    fn used_words(&self) -> &[u32] {
        &self.words[..self.len.div_ceil(4) * 2]
    }

    /// Sets value `position` (below `len`).
    #[inline]
    fn set(&mut self, position: usize, value: i32) {
        let word_idx = (position / 4) * 2 + (position & 1);
        let half = ((position >> 1) & 1) as u32 * 16;
        if let Some(slot) = self.words.get_mut(word_idx) {
            *slot = (*slot & !(0xffff << half)) | (u32::from(value as u16) << half);
        }
    }

    /// Writes `values[i] + offset` at positions `start..start + values.len()` (those below `len`).
    ///
    /// Writes go in increasing position order across calls: a span ending inside a group of four
    /// resets the rest of that group to 0, for the next span (or the padding) to fill.
    pub(crate) fn put(&mut self, start: usize, values: &[i8], offset: i32) {
        let end = start.saturating_add(values.len()).min(self.len);
        let mut position = start;
        let mut rest = &values[..end.saturating_sub(start)];
        // Up to the next group boundary one value at a time (only 2-D rows not a multiple of
        // four long start unaligned), then whole groups, then the tail as one masked group.
        while !position.is_multiple_of(4) {
            let Some((value, tail)) = rest.split_first() else { return };
            self.set(position, i32::from(*value) + offset);
            rest = tail;
            position += 1;
        }
        let offset_pair = pair(offset, offset);
        let (quads, tail) = rest.as_chunks::<4>();
        let first_word = position / 2;
        let tail_words = usize::from(!tail.is_empty()) * 2;
        let Some(words) = self.words.get_mut(first_word..first_word + quads.len() * 2 + tail_words) else {
            return;
        };
        let (pairs, _) = words.as_chunks_mut::<2>();
        for (pair, quad) in pairs.iter_mut().zip(quads) {
            let input_word = word(quad);
            pair[0] = sadd16(sxtb16(input_word), offset_pair);
            pair[1] = sadd16(sxtb16_ror8(input_word), offset_pair);
        }
        if let Some(pair) = pairs.last_mut().filter(|_| !tail.is_empty()) {
            // Lanes past the tail are masked to 0: values 0 and 2 sit in the first word, 1 and 3
            // in the second.
            const MASKS: [(u32, u32); 4] = [(0, 0), (0xffff, 0), (0xffff, 0xffff), (u32::MAX, 0xffff)];
            let (mask_even, mask_odd) = MASKS[tail.len() & 3];
            let input_word = word(&tail_quad(tail));
            pair[0] = sadd16(sxtb16(input_word), offset_pair) & mask_even;
            pair[1] = sadd16(sxtb16_ror8(input_word), offset_pair) & mask_odd;
        }
    }

    /// Starts a buffer holding exactly `values[i] + offset`.
    #[inline(always)]
    pub(crate) fn load(&mut self, values: &[i8], offset: i32) {
        self.begin(values.len());
        self.put(0, values, offset);
    }

    /// Writes 0 (a padding tap: the input zero point plus its offset) at `start..start + count`.
    pub(crate) fn zeros(&mut self, start: usize, count: usize) {
        for position in start..(start + count).min(self.len) {
            self.set(position, 0);
        }
    }
}

/// The packed kernels' working memory: two packed receptive fields (2 KiB). A board keeps one
/// with its other inference buffers and lends it to [`crate::Model::classify_with`], so no
/// inference pays for clearing it; [`crate::Model::classify`] makes one per call.
pub struct Scratch {
    pub(crate) fields: [Packed; 2],
}

impl Scratch {
    pub const fn new() -> Self {
        Self { fields: [Packed::new(), Packed::new()] }
    }
}

impl Default for Scratch {
    fn default() -> Self {
        Self::new()
    }
}

/// How many output channels' biases and multipliers a kernel decodes at once.
pub(crate) const CHANNEL_BLOCK: usize = 32;

/// The biases and multipliers of up to [`CHANNEL_BLOCK`] consecutive output channels, decoded from
/// the blob once per layer instead of once per output position.
pub(crate) struct ChannelBlock {
    bias: [i32; CHANNEL_BLOCK],
    multipliers: [Multiplier; CHANNEL_BLOCK],
}

impl ChannelBlock {
    /// Decodes `channels` (at most [`CHANNEL_BLOCK`] of them); local index 0 is `channels.start`.
    /// Built element by element, with nothing cleared first.
    pub(crate) fn load(bias: &LeI32<'_>, requant: &ChannelRequant<'_>, channels: Range<usize>) -> Self {
        let channel =
            |local: usize| Some(channels.start + local).filter(|channel| channels.contains(channel));
        Self {
            bias: core::array::from_fn(|local| channel(local).map_or(0, |channel| bias.get(channel))),
            multipliers: core::array::from_fn(|local| {
                channel(local).map_or(Multiplier::ZERO, |channel| requant.channel(channel))
            }),
        }
    }

    /// The bias of local channel `local` (0 past the block).
    #[inline(always)]
    pub(crate) fn bias(&self, local: usize) -> i32 {
        self.bias.get(local).copied().unwrap_or(0)
    }

    /// The stored int8 output of local channel `local` for accumulator `acc`.
    #[inline(always)]
    pub(crate) fn output(
        &self,
        local: usize,
        acc: i32,
        output_offset: i32,
        activation: ActivationRange,
    ) -> i8 {
        let multiplier = self.multipliers.get(local).copied().unwrap_or(Multiplier::ZERO);
        output_value(&multiplier, acc, output_offset, activation)
    }
}

/// Four weights as `([w0, w2], [w1, w3])`.
#[inline(always)]
fn weight_pairs(quad: &[i8; 4]) -> (u32, u32) {
    let packed = word(quad);
    (sxtb16(packed), sxtb16_ror8(packed))
}

/// A row's last `len % 4` weights padded with zero weights to a group of four.
#[inline(always)]
fn tail_quad(tail: &[i8]) -> [i8; 4] {
    let mut quad = [0i8; 4];
    for (slot, weight) in quad.iter_mut().zip(tail) {
        *slot = *weight;
    }
    quad
}

impl Packed {
    /// The word pairs of the whole groups, and the pair of the partial last group (if any).
    #[inline(always)]
    fn groups(&self) -> (&[[u32; 2]], Option<&[u32; 2]>) {
        let (whole, rest) = self.used_words().as_chunks::<2>();
        debug_assert!(rest.is_empty());
        if self.len.is_multiple_of(4) {
            (whole, None)
        } else {
            whole.split_last().map_or((whole, None), |(last, whole)| (whole, Some(last)))
        }
    }
}

/// Two rows of weights against one buffer: `[acc[0] + x·w0, acc[1] + x·w1]`. Both rows hold as
/// many weights as the buffer values.
#[inline(always)]
pub(crate) fn dot_two_rows(packed: &Packed, rows: [&[i8]; 2], mut acc: [i32; 2]) -> [i32; 2] {
    let (groups, last) = packed.groups();
    let (quads0, tail0) = rows[0].as_chunks::<4>();
    let (quads1, tail1) = rows[1].as_chunks::<4>();
    let mut step = |inputs: &[u32; 2], quad0: &[i8; 4], quad1: &[i8; 4]| {
        let (even0, odd0) = weight_pairs(quad0);
        acc[0] = smlad(inputs[0], even0, acc[0]);
        acc[0] = smlad(inputs[1], odd0, acc[0]);
        let (even1, odd1) = weight_pairs(quad1);
        acc[1] = smlad(inputs[0], even1, acc[1]);
        acc[1] = smlad(inputs[1], odd1, acc[1]);
    };
    for ((inputs, quad0), quad1) in groups.iter().zip(quads0).zip(quads1) {
        step(inputs, quad0, quad1);
    }
    if let Some(inputs) = last {
        step(inputs, &tail_quad(tail0), &tail_quad(tail1));
    }
    acc
}

/// Two rows of weights against two buffers (two output positions):
/// `[x0·w0, x0·w1, x1·w0, x1·w1]` added to `acc`. Both buffers hold as many values as a row.
#[inline(always)]
pub(crate) fn dot_two_by_two(columns: [&Packed; 2], rows: [&[i8]; 2], mut acc: [i32; 4]) -> [i32; 4] {
    let (groups0, last0) = columns[0].groups();
    let (groups1, last1) = columns[1].groups();
    let (quads0, tail0) = rows[0].as_chunks::<4>();
    let (quads1, tail1) = rows[1].as_chunks::<4>();
    let mut step = |inputs0: &[u32; 2], inputs1: &[u32; 2], quad0: &[i8; 4], quad1: &[i8; 4]| {
        let (even0, odd0) = weight_pairs(quad0);
        acc[0] = smlad(inputs0[0], even0, acc[0]);
        acc[0] = smlad(inputs0[1], odd0, acc[0]);
        acc[2] = smlad(inputs1[0], even0, acc[2]);
        acc[2] = smlad(inputs1[1], odd0, acc[2]);
        let (even1, odd1) = weight_pairs(quad1);
        acc[1] = smlad(inputs0[0], even1, acc[1]);
        acc[1] = smlad(inputs0[1], odd1, acc[1]);
        acc[3] = smlad(inputs1[0], even1, acc[3]);
        acc[3] = smlad(inputs1[1], odd1, acc[3]);
    };
    for (((inputs0, inputs1), quad0), quad1) in groups0.iter().zip(groups1).zip(quads0).zip(quads1) {
        step(inputs0, inputs1, quad0, quad1);
    }
    if let (Some(inputs0), Some(inputs1)) = (last0, last1) {
        step(inputs0, inputs1, &tail_quad(tail0), &tail_quad(tail1));
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    /// The definition, in i64.
    fn exact_dot(values: &[i32], weights: &[i8], acc: i32) -> i32 {
        let sum: i64 = values.iter().zip(weights).map(|(x, w)| i64::from(*x) * i64::from(*w)).sum();
        (i64::from(acc) + sum) as i32
    }

    proptest! {
        /// Values written in arbitrary pieces (single values, aligned and unaligned spans, padding)
        /// multiply like the plain list, with two rows and with two buffers.
        #[test]
        fn packed_products_match_the_definition(
            pieces in proptest::collection::vec((0usize..3, proptest::collection::vec(any::<i8>(), 0..11)), 0..40),
            offset in -128_i32..=128,
            seed_weights in proptest::collection::vec(any::<i8>(), PACKED_VALUES * 2),
            acc in proptest::array::uniform4(any::<i32>()),
        ) {
            let mut values = Vec::new();
            let mut packed = Packed::new();
            let total: usize = pieces.iter().map(|(_, piece)| piece.len()).sum::<usize>().min(PACKED_VALUES);
            packed.begin(total);
            for (kind, piece) in &pieces {
                let start = values.len();
                if start >= total { break; }
                let piece = &piece[..piece.len().min(total - start)];
                if *kind == 0 {
                    packed.zeros(start, piece.len());
                    values.extend(piece.iter().map(|_| 0));
                } else {
                    packed.put(start, piece, offset);
                    values.extend(piece.iter().map(|x| i32::from(*x) + offset));
                }
            }
            prop_assert_eq!(values.len(), total);
            let (row0, row1) = (&seed_weights[..total], &seed_weights[PACKED_VALUES..PACKED_VALUES + total]);
            prop_assert_eq!(
                dot_two_rows(&packed, [row0, row1], [acc[0], acc[1]]),
                [exact_dot(&values, row0, acc[0]), exact_dot(&values, row1, acc[1])]
            );
            // The second buffer holds the values reversed.
            let reversed: Vec<i32> = values.iter().rev().copied().collect();
            let mut second = Packed::new();
            second.begin(total);
            for (position, value) in reversed.iter().enumerate() {
                second.set(position, *value);
            }
            prop_assert_eq!(
                dot_two_by_two([&packed, &second], [row0, row1], acc),
                [
                    exact_dot(&values, row0, acc[0]),
                    exact_dot(&values, row1, acc[1]),
                    exact_dot(&reversed, row0, acc[2]),
                    exact_dot(&reversed, row1, acc[3]),
                ]
            );
        }
    }

    #[test]
    fn offsets_that_fit_a_lane() {
        assert!(offset_fits(128) && offset_fits(-127) && offset_fits(0));
        assert!(offset_fits(i32::from(i16::MAX) - 127) && !offset_fits(i32::from(i16::MAX) - 126));
        assert!(offset_fits(i32::from(i16::MIN) + 128) && !offset_fits(i32::from(i16::MIN) + 127));
    }
}
