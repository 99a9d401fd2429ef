//! The inner loop of the dense and convolution kernels: `acc + Σ (input[i] + offset) · weights[i]`
//! in wrapping `i32`.
//!
//! On cores with the Armv7E-M DSP extension (Cortex-M4/M7) four multiply-accumulates take two
//! word loads, four `SXTB16` (sign-extend bytes 0/2 and 1/3 into halfwords), two `SADD16` (the
//! input offset, per halfword) and two `SMLAD` (two 16×16 products added to the accumulator).
//! Every intermediate fits its lane (a shifted input is within ±255, a weight within ±128, a
//! pair of products within ±65,280) and `SMLAD`'s 32-bit sum wraps like `wrapping_add`, so the
//! result is the portable loop's, bit for bit. Elsewhere (the host, Cortex-M0+) the portable loop
//! runs.

/// `acc + Σ_i (input[i] + input_offset) · weights[i]` over the shorter of the two slices,
/// wrapping. `input_offset` is `−zero_point` of an int8 tensor, so within `−127..=128`.
#[inline]
pub(crate) fn dot(input: &[i8], weights: &[i8], input_offset: i32, acc: i32) -> i32 {
    #[cfg(all(target_arch = "arm", target_feature = "dsp"))]
    {
        by_quads(input, weights, input_offset, acc)
    }
    #[cfg(not(all(target_arch = "arm", target_feature = "dsp")))]
    {
        portable(input, weights, input_offset, acc)
    }
}

#[inline]
fn portable(input: &[i8], weights: &[i8], input_offset: i32, mut acc: i32) -> i32 {
    for (input_value, weight) in input.iter().zip(weights) {
        let shifted_input = i32::from(*input_value).wrapping_add(input_offset);
        acc = acc.wrapping_add(shifted_input.wrapping_mul(i32::from(*weight)));
    }
    acc
}

/// The Armv7E-M loop: four multiply-accumulates per step with `SXTB16`, `SADD16` and `SMLAD`
/// (exact emulations of them on other targets, so the host tests it too).
#[cfg_attr(not(all(target_arch = "arm", target_feature = "dsp")), allow(dead_code))]
#[inline]
fn by_quads(input: &[i8], weights: &[i8], input_offset: i32, mut acc: i32) -> i32 {
    use crate::kernels::simd::{pair, sadd16, smlad, sxtb16, sxtb16_ror8, word};
    let len = input.len().min(weights.len());
    let (input, weights) = (&input[..len], &weights[..len]);
    // The offset in both halfwords; it fits one (−127..=128).
    let offset_pair = pair(input_offset, input_offset);
    let (input_quads, input_rest) = input.as_chunks::<4>();
    let (weight_quads, weight_rest) = weights.as_chunks::<4>();
    for (input_quad, weight_quad) in input_quads.iter().zip(weight_quads) {
        let (x, w) = (word(input_quad), word(weight_quad));
        acc = smlad(sadd16(sxtb16(x), offset_pair), sxtb16(w), acc);
        acc = smlad(sadd16(sxtb16_ror8(x), offset_pair), sxtb16_ror8(w), acc);
    }
    portable(input_rest, weight_rest, input_offset, acc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    proptest! {
        /// Both loops against the i64 definition (wrapping to i32).
        #[test]
        fn matches_the_definition(
            pairs in proptest::collection::vec((any::<i8>(), any::<i8>()), 0..80),
            zero_point in any::<i8>(),
            acc in any::<i32>(),
        ) {
            let input: Vec<i8> = pairs.iter().map(|p| p.0).collect();
            let weights: Vec<i8> = pairs.iter().map(|p| p.1).collect();
            let offset = -i32::from(zero_point);
            let exact: i64 = i64::from(acc)
                + input.iter().zip(&weights).map(|(x, w)| (i64::from(*x) + i64::from(offset)) * i64::from(*w)).sum::<i64>();
            prop_assert_eq!(dot(&input, &weights, offset, acc), exact as i32);
            prop_assert_eq!(portable(&input, &weights, offset, acc), exact as i32);
            prop_assert_eq!(by_quads(&input, &weights, offset, acc), exact as i32);
        }
    }
}
