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
        dsp::dot(input, weights, input_offset, acc)
    }
    #[cfg(not(all(target_arch = "arm", target_feature = "dsp")))]
    {
        portable(input, weights, input_offset, acc)
    }
}

#[cfg_attr(all(target_arch = "arm", target_feature = "dsp"), allow(dead_code))]
#[inline]
fn portable(input: &[i8], weights: &[i8], input_offset: i32, mut acc: i32) -> i32 {
    for (input_value, weight) in input.iter().zip(weights) {
        let shifted_input = i32::from(*input_value).wrapping_add(input_offset);
        acc = acc.wrapping_add(shifted_input.wrapping_mul(i32::from(*weight)));
    }
    acc
}

#[cfg(all(target_arch = "arm", target_feature = "dsp"))]
mod dsp {
    /// Four bytes as a little-endian word (the order `SXTB16` splits them in).
    #[inline(always)]
    fn word(bytes: &[i8]) -> u32 {
        u32::from_le_bytes([bytes[0] as u8, bytes[1] as u8, bytes[2] as u8, bytes[3] as u8])
    }

    #[inline]
    pub(super) fn dot(input: &[i8], weights: &[i8], input_offset: i32, mut acc: i32) -> i32 {
        let len = input.len().min(weights.len());
        let (input, weights) = (&input[..len], &weights[..len]);
        // The offset in both halfwords; it fits one (−127..=128).
        let offset_pair = (input_offset as u32 & 0xffff) | ((input_offset as u32) << 16);
        let mut input_quads = input.chunks_exact(4);
        let mut weight_quads = weights.chunks_exact(4);
        for (input_quad, weight_quad) in (&mut input_quads).zip(&mut weight_quads) {
            let (x, w) = (word(input_quad), word(weight_quad));
            // SAFETY: register-only DSP instructions (no memory, no stack); they change the GE
            // flags, which the compiler treats as clobbered without `preserves_flags`.
            unsafe {
                core::arch::asm!(
                    "sxtb16 {x_even}, {x}",
                    "sxtb16 {x_odd}, {x}, ror #8",
                    "sadd16 {x_even}, {x_even}, {offset}",
                    "sadd16 {x_odd}, {x_odd}, {offset}",
                    "sxtb16 {w_even}, {w}",
                    "sxtb16 {w_odd}, {w}, ror #8",
                    "smlad {acc}, {x_even}, {w_even}, {acc}",
                    "smlad {acc}, {x_odd}, {w_odd}, {acc}",
                    x = in(reg) x,
                    w = in(reg) w,
                    offset = in(reg) offset_pair,
                    x_even = out(reg) _,
                    x_odd = out(reg) _,
                    w_even = out(reg) _,
                    w_odd = out(reg) _,
                    acc = inout(reg) acc,
                    options(pure, nomem, nostack),
                );
            }
        }
        super::portable(input_quads.remainder(), weight_quads.remainder(), input_offset, acc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    proptest! {
        /// The host runs the portable loop; this pins it to the i64 definition (wrapping to i32).
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
        }
    }
}
