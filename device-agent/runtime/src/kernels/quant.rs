//! Fixed-point requantization with TFLite int8 reference semantics (gemmlowp "double rounding").
//!
//! A real multiplier `r` is stored as an `i32` `multiplier` in `[2^30, 2^31)` and a power-of-two
//! `shift`, with `r ≈ multiplier · 2^(shift − 31)`. Applying it to an `i32` accumulator takes two
//! roundings, exactly as TFLite's `MultiplyByQuantizedMultiplier` does when it is built without
//! `TFLITE_SINGLE_ROUNDING` (the default for LiteRT and TFLite Micro reference kernels):
//!
//! 1. [`saturating_rounding_doubling_high_mul`] keeps the high 32 bits of `2·x·multiplier`, rounding
//!    ties towards +∞;
//! 2. [`rounding_divide_by_pot`] divides by `2^−shift`, rounding ties away from zero.
//!
//! Every function here is total: no input panics, not even in debug builds. Where TFLite's C++
//! relies on undefined signed overflow, the choice made here is documented on the function.

use crate::kernels::le::LeI32;

/// `2^31` as an `f64`, the scale between a fraction in `[0.5, 1)` and a Q31 multiplier.
const TWO_POW_31: f64 = 2_147_483_648.0;

/// `2^64` as an `f64`, used to lift subnormal numbers into the normal range in [`frexp`].
const TWO_POW_64: f64 = 18_446_744_073_709_551_616.0;

/// `2^52` as an `f64`: every `f64` at least this large in magnitude is already an integer.
const TWO_POW_52: f64 = 4_503_599_627_370_496.0;

/// High 32 bits of `2·a·b` with rounding, as gemmlowp's `SaturatingRoundingDoublingHighMul`.
///
/// With `ab = a·b` computed exactly in `i64`:
/// `nudge = if ab >= 0 { 2^30 } else { 1 − 2^30 }` and the result is `(ab + nudge) / 2^31`, where
/// `/` is `i64` division truncating towards zero (as in gemmlowp and CMSIS-NN; not an arithmetic
/// shift). Together this equals `floor(ab / 2^31 + 1/2)`: round to nearest, ties towards +∞
/// (for example `−2.5 → −2` and `2.5 → 3`).
///
/// The only case that does not fit in `i32`, `a == b == i32::MIN` (which would be `+2^31`),
/// saturates to `i32::MAX`.
#[inline]
pub fn saturating_rounding_doubling_high_mul(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    // |a·b| <= 2^62, so adding 2^30 does not overflow i64. The truncating division of the
    // definition equals this floor (an arithmetic shift): for ab >= 0 both are
    // floor((ab + 2^30) / 2^31), and for ab < 0 truncation is the ceiling,
    // ceil((ab + 1 − 2^30) / 2^31) = floor((ab + 1 − 2^30 + 2^31 − 1) / 2^31) — the same. The
    // shift compiles to SMULL, ADDS, ADC and two shifts on a Cortex-M, with no sign correction.
    // The result lies in [−2^31 + 1, 2^31 − 1] once the saturating case is excluded.
    ((i64::from(a) * i64::from(b) + (1 << 30)) >> 31) as i32
}

/// `x / 2^exponent` rounded to nearest with ties away from zero, as gemmlowp's `RoundingDivideByPOT`.
///
/// For `exponent` in `1..=31`, with `mask = 2^exponent − 1`:
/// `remainder = x & mask`, `threshold = (mask >> 1) + (x < 0 ? 1 : 0)`,
/// result `= (x >> exponent) + (remainder > threshold ? 1 : 0)` (`>>` is arithmetic).
///
/// Outside the documented range `0..=31` the function stays total and exact: a negative
/// `exponent` is treated as 0 (returns `x`), and for `exponent >= 32` the quotient has magnitude at
/// most 1/2, so the result is 0 except `x = i32::MIN, exponent = 32` (exactly −1/2), which rounds to −1.
pub fn rounding_divide_by_pot(x: i32, exponent: i32) -> i32 {
    if exponent <= 0 {
        return x;
    }
    if exponent >= 32 {
        return if exponent == 32 && x == i32::MIN { -1 } else { 0 };
    }
    let mask = ((1_i64 << exponent) - 1) as i32;
    let remainder = x & mask;
    let threshold = (mask >> 1) + i32::from(x < 0);
    (x >> exponent) + i32::from(remainder > threshold)
}

/// `x · 2^exponent` reduced modulo `2^32` (two's-complement wrap); 0 when `exponent >= 32`.
///
/// This is what `x * (1 << exponent)` compiles to in TFLite's C++ on every supported target
/// (formally undefined on overflow there).
#[inline]
pub(crate) fn wrapping_mul_pow2(x: i32, exponent: u32) -> i32 {
    if exponent >= 32 { 0 } else { x.wrapping_shl(exponent) }
}

/// Multiplies `x` by the real number `multiplier · 2^(shift − 31)`, as TFLite's
/// `MultiplyByQuantizedMultiplier` (double rounding):
///
/// `left_shift = max(shift, 0)`, `right_shift = max(−shift, 0)`, result
/// `= rounding_divide_by_pot(saturating_rounding_doubling_high_mul(x · 2^left_shift, multiplier), right_shift)`.
///
/// Overflow choice: TFLite computes `x * (1 << left_shift)` in `i32`, which overflows when
/// `|x| · 2^left_shift >= 2^31` (undefined in C++, a wrap in practice). Here the product wraps
/// modulo `2^32` (and is 0 for `left_shift >= 32`), which reproduces the compiled C++ on
/// two's-complement targets. It only matters for real multipliers `>= 1` applied to large
/// accumulators. `right_shift` saturates for `shift = i32::MIN`.
pub fn multiply_by_quantized_multiplier(x: i32, multiplier: i32, shift: i32) -> i32 {
    let left_shift = shift.max(0).unsigned_abs();
    let right_shift = shift.min(0).saturating_neg();
    let shifted = wrapping_mul_pow2(x, left_shift);
    rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted, multiplier), right_shift)
}

/// Splits a real multiplier into `(multiplier, shift)` with `real ≈ multiplier · 2^(shift − 31)`,
/// as TFLite's `QuantizeMultiplier` (double-rounding build):
///
/// 1. `real == 0` → `(0, 0)`.
/// 2. `(fraction, shift) = frexp(real)`, so `real = fraction · 2^shift` with `|fraction|` in `[0.5, 1)`.
/// 3. `q = round(fraction · 2^31)`, ties away from zero (`std::round`).
/// 4. If `q == 2^31`, halve it and increment `shift` (the rounding carried into the next power).
/// 5. If `shift < −31` the multiplier would shift every bit out: return `(0, 0)`.
///
/// So for a positive finite `real`, `multiplier` is in `[2^30, 2^31)` and the relative error of
/// the reconstruction is at most `2^−31`. Examples: `0.5 → (2^30, 0)`, `0.25 → (2^30, −1)`,
/// `1.0 → (2^30, 1)`.
///
/// Inputs outside the documented domain (finite, `>= 0`) never panic: NaN gives `(0, 0)`; a
/// negative `real` follows the same steps as TFLite (giving a multiplier in `[−2^31, −2^30]`);
/// magnitudes of `2^31` and more, including infinities, saturate to `(i32::MAX, 31)` or
/// `(i32::MIN, 31)` (TFLite would produce a shift > 31 there, which its runtime cannot apply).
pub fn quantize_multiplier(real: f64) -> (i32, i32) {
    if real.is_nan() || real == 0.0 {
        return (0, 0);
    }
    let saturated = if real > 0.0 { (i32::MAX, 31) } else { (i32::MIN, 31) };
    if real.is_infinite() {
        return saturated;
    }
    let (fraction, mut shift) = frexp(real);
    // |fraction · 2^31| is in [2^30, 2^31], exact (scaling by a power of two), so the cast is exact.
    let mut q_fixed = round_half_away_from_zero(fraction * TWO_POW_31) as i64;
    if q_fixed == 1_i64 << 31 {
        q_fixed /= 2;
        shift += 1;
    }
    if shift < -31 {
        return (0, 0);
    }
    if shift > 31 {
        return saturated;
    }
    // q_fixed is in [−2^31, 2^31 − 1] here.
    (q_fixed as i32, shift)
}

/// `value = fraction · 2^exponent` with `|fraction|` in `[0.5, 1)`, like C's `frexp`.
///
/// Zero, infinities and NaN are returned unchanged with exponent 0. Subnormal inputs are first
/// multiplied by `2^64` (exact) so their leading bit moves into the exponent field.
fn frexp(value: f64) -> (f64, i32) {
    if value == 0.0 || value.is_nan() || value.is_infinite() {
        return (value, 0);
    }
    const EXPONENT_MASK: u64 = 0x7ff << 52;
    let (normal, extra_exponent) =
        if value.to_bits() & EXPONENT_MASK == 0 { (value * TWO_POW_64, -64) } else { (value, 0) };
    let bits = normal.to_bits();
    let biased_exponent = ((bits & EXPONENT_MASK) >> 52) as i32;
    // Biased exponent 1022 encodes 2^−1, i.e. a magnitude in [0.5, 1).
    let fraction = f64::from_bits((bits & !EXPONENT_MASK) | (1022 << 52));
    (fraction, biased_exponent - 1022 + extra_exponent)
}

/// Rounds to the nearest integer, ties away from zero (C's `round`), without `std` or `libm`.
///
/// NaN, infinities and magnitudes `>= 2^52` (already integers) are returned unchanged.
fn round_half_away_from_zero(value: f64) -> f64 {
    if !(value > -TWO_POW_52 && value < TWO_POW_52) {
        return value;
    }
    // |value| < 2^52: the truncation fits in i64 and `value − truncated` is exact.
    let truncated = value as i64 as f64;
    let remainder = value - truncated;
    if remainder >= 0.5 {
        truncated + 1.0
    } else if remainder <= -0.5 {
        truncated - 1.0
    } else {
        truncated
    }
}

/// Per-output-channel requantization parameters: views into the model blob.
///
/// Channel `c` uses `multiply_by_quantized_multiplier(acc, multipliers.get(c), shifts.get(c))`.
#[derive(Clone, Copy, Debug)]
pub struct ChannelRequant<'a> {
    pub multipliers: LeI32<'a>,
    pub shifts: LeI32<'a>,
}

impl ChannelRequant<'_> {
    /// True when both arrays hold exactly `n_channels` values.
    pub(crate) fn has_channels(&self, n_channels: usize) -> bool {
        self.multipliers.len() == n_channels && self.shifts.len() == n_channels
    }

    /// `multiply_by_quantized_multiplier(acc, multipliers[channel_idx], shifts[channel_idx])`.
    pub(crate) fn requantize(&self, channel_idx: usize, acc: i32) -> i32 {
        multiply_by_quantized_multiplier(acc, self.multipliers.get(channel_idx), self.shifts.get(channel_idx))
    }

    /// Channel `channel_idx`'s multiplier, decoded once for all the outputs it scales.
    #[inline]
    pub(crate) fn channel(&self, channel_idx: usize) -> Multiplier {
        Multiplier::new(self.multipliers.get(channel_idx), self.shifts.get(channel_idx))
    }
}

/// A quantized multiplier with its shift decoded once into what [`multiply_by_quantized_multiplier`]
/// derives on every call, so applying it is branch-free.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Multiplier {
    multiplier: i32,
    /// `max(shift, 0)`, below 32.
    left_shift: u32,
    /// `max(−shift, 0)`, below 32.
    right_shift: u32,
    /// `2^right_shift − 1`.
    mask: i32,
}

impl Multiplier {
    /// Scales everything to 0.
    pub(crate) const ZERO: Self = Self { multiplier: 0, left_shift: 0, right_shift: 0, mask: 0 };

    #[inline]
    pub(crate) fn new(multiplier: i32, shift: i32) -> Self {
        let left_shift = shift.max(0).unsigned_abs();
        let right_shift = shift.min(0).unsigned_abs();
        if left_shift >= 32 || right_shift >= 32 {
            // A left shift of 32 or more makes the shifted value 0. A right shift of 32 or more
            // rounds every high product to 0: it is never `i32::MIN` (at least `−2^31 + 1`), and
            // only `i32::MIN` divided by `2^32` would round to −1. Either way the result is 0,
            // which the multiplier 0 gives too.
            return Self::ZERO;
        }
        Self { multiplier, left_shift, right_shift, mask: ((1_u64 << right_shift) - 1) as i32 }
    }

    /// `multiply_by_quantized_multiplier(x, multiplier, shift)`, the same integer for every `x`.
    #[inline(always)]
    pub(crate) fn apply(&self, x: i32) -> i32 {
        let high = saturating_rounding_doubling_high_mul(x.wrapping_shl(self.left_shift), self.multiplier);
        // `rounding_divide_by_pot` with the mask precomputed (exponent 0: mask 0, nothing added).
        let threshold = (self.mask >> 1) + i32::from(high < 0);
        (high >> self.right_shift) + i32::from(high & self.mask > threshold)
    }
}

/// What every per-channel kernel does to an accumulator: scale it, add the output zero point
/// (saturating) and clamp to the activation, giving the stored int8 value.
#[inline(always)]
pub(crate) fn output_value(
    multiplier: &Multiplier,
    acc: i32,
    output_offset: i32,
    activation: ActivationRange,
) -> i8 {
    activation.clamp_quantized(multiplier.apply(acc).saturating_add(output_offset))
}

/// Fused activation as a clamp in the output's quantized domain.
///
/// Kernels apply it as TFLite does, `min(max(value, min), max)` (so `max` wins if `min > max`),
/// and then saturate to the int8 range, which changes nothing for ranges built by the
/// constructors below.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActivationRange {
    pub min: i32,
    pub max: i32,
}

impl ActivationRange {
    /// No activation: the full int8 range.
    pub const NONE: Self = Self { min: -128, max: 127 };

    /// ReLU: `min = max(−128, zero_point)`, `max = 127` (TFLite `CalculateActivationRangeQuantized`).
    ///
    /// A `zero_point` outside the int8 range (not a valid int8 tensor) is clamped into it.
    pub fn relu(zero_point: i32) -> Self {
        Self { min: zero_point.clamp(-128, 127), max: 127 }
    }

    /// ReLU6: `min` as [`ActivationRange::relu`],
    /// `max = min(127, zero_point + round(6.0f32 / scale))`.
    ///
    /// The division is done in `f32` and rounded with ties away from zero, as TFLite's
    /// `TfLiteRound(f / scale)`; the conversion to `i32` and the addition saturate, and `max` is
    /// finally clamped to `[−128, 127]`. A zero, negative or NaN `scale` gives a degenerate range
    /// but never panics.
    pub fn relu6(scale: f32, zero_point: i32) -> Self {
        let six_quantized = round_half_away_from_zero(f64::from(6.0_f32 / scale)) as i32;
        Self {
            min: zero_point.clamp(-128, 127),
            max: zero_point.saturating_add(six_quantized).clamp(-128, 127),
        }
    }

    /// `min(max(value, self.min), self.max)`, then saturated to `[−128, 127]`, as an `i8`.
    #[inline]
    pub fn clamp_quantized(&self, value: i32) -> i8 {
        value.max(self.min).min(self.max).clamp(i32::from(i8::MIN), i32::from(i8::MAX)) as i8
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn quantize_multiplier_golden_values() {
        // 0.5 = 0.5·2^0 → round(0.5·2^31) = 2^30, shift 0.
        assert_eq!(quantize_multiplier(0.5), (1 << 30, 0));
        // 0.25 = 0.5·2^−1.
        assert_eq!(quantize_multiplier(0.25), (1 << 30, -1));
        // 1.0 = 0.5·2^1.
        assert_eq!(quantize_multiplier(1.0), (1 << 30, 1));
        // 0.75 = 0.75·2^0 → 0.75·2^31 = 3·2^29.
        assert_eq!(quantize_multiplier(0.75), (3 << 29, 0));
        assert_eq!(quantize_multiplier(0.0), (0, 0));
        assert_eq!(quantize_multiplier(-0.0), (0, 0));
        // 2^−31 = 0.5·2^−30: still representable (shift −30 >= −31).
        assert_eq!(quantize_multiplier(1.0 / TWO_POW_31), (1 << 30, -30));
        // 2^−32 = 0.5·2^−31: the smallest kept shift.
        assert_eq!(quantize_multiplier(0.5 / TWO_POW_31), (1 << 30, -31));
        // 2^−33 = 0.5·2^−32: flushed to zero.
        assert_eq!(quantize_multiplier(0.25 / TWO_POW_31), (0, 0));
        // 1 − 2^−40 has fraction ≈ 1 − 2^−40, and round(fraction·2^31) = 2^31 carries:
        // halved to 2^30 with shift 0 + 1.
        assert_eq!(quantize_multiplier(1.0 - 1.0 / (TWO_POW_31 * 512.0)), (1 << 30, 1));
        // The largest fraction below the carry: (2^31 − 1)/2^31 → multiplier 2^31 − 1, shift 0.
        assert_eq!(quantize_multiplier((TWO_POW_31 - 1.0) / TWO_POW_31), (i32::MAX, 0));
        // 0.1 = 0.8·2^−3, and 0.8·2^31 = 1717986918.4 → 1717986918.
        assert_eq!(quantize_multiplier(0.1), (1_717_986_918, -3));
        // Ties round away from zero: fraction (2^30 + 0.5)/2^31 → 2^30 + 1.
        assert_eq!(quantize_multiplier((1073741824.5) / TWO_POW_31), (1_073_741_825, 0));
    }

    #[test]
    fn quantize_multiplier_outside_the_domain_is_total() {
        assert_eq!(quantize_multiplier(f64::NAN), (0, 0));
        assert_eq!(quantize_multiplier(f64::INFINITY), (i32::MAX, 31));
        assert_eq!(quantize_multiplier(f64::NEG_INFINITY), (i32::MIN, 31));
        // 2^30 = 0.5·2^31: the largest power of two that still fits.
        assert_eq!(quantize_multiplier(TWO_POW_31 / 2.0), (1 << 30, 31));
        assert_eq!(quantize_multiplier(TWO_POW_31), (i32::MAX, 31));
        assert_eq!(quantize_multiplier(f64::MAX), (i32::MAX, 31));
        // Subnormals and the smallest normal number are far below 2^−32.
        assert_eq!(quantize_multiplier(f64::from_bits(1)), (0, 0));
        assert_eq!(quantize_multiplier(f64::MIN_POSITIVE), (0, 0));
        // Negative multipliers follow TFLite's steps: −0.75 → round(−0.75·2^31).
        assert_eq!(quantize_multiplier(-0.75), (-(3 << 29), 0));
        // A fraction of −1 + 2^−40 rounds to −2^31, which TFLite keeps (no carry for negatives).
        assert_eq!(quantize_multiplier(-1.0 + 1.0 / (TWO_POW_31 * 512.0)), (i32::MIN, 0));
    }

    #[test]
    fn frexp_golden_values() {
        assert_eq!(frexp(8.0), (0.5, 4));
        assert_eq!(frexp(0.75), (0.75, 0));
        assert_eq!(frexp(1.0), (0.5, 1));
        assert_eq!(frexp(-3.0), (-0.75, 2));
        assert_eq!(frexp(0.0), (0.0, 0));
        // The smallest subnormal is 2^−1074 = 0.5·2^−1073.
        assert_eq!(frexp(f64::from_bits(1)), (0.5, -1073));
        // The largest subnormal is (1 − 2^−52)·2^−1022: fraction 1 − 2^−52, exponent −1022.
        assert_eq!(frexp(f64::from_bits((1 << 52) - 1)), (1.0 - f64::EPSILON, -1022));
        assert_eq!(frexp(f64::MIN_POSITIVE), (0.5, -1021));
        assert_eq!(frexp(f64::MAX), (1.0 - f64::EPSILON / 2.0, 1024));
    }

    #[test]
    fn round_half_away_from_zero_golden_values() {
        for (value, expected) in [
            (0.5, 1.0),
            (-0.5, -1.0),
            (1.5, 2.0),
            (2.5, 3.0),
            (-2.5, -3.0),
            (0.49999999999999994, 0.0),
            (-1.2, -1.0),
            (1.0e300, 1.0e300),
            (4503599627370495.5, 4503599627370496.0),
        ] {
            assert_eq!(round_half_away_from_zero(value), expected, "{value}");
        }
        assert!(round_half_away_from_zero(f64::NAN).is_nan());
    }

    #[test]
    fn saturating_rounding_doubling_high_mul_golden_values() {
        // 2^30 stands for 0.5 in Q31: x·0.5 with ties towards +∞.
        assert_eq!(saturating_rounding_doubling_high_mul(13, 1 << 30), 7); // 6.5 → 7
        assert_eq!(saturating_rounding_doubling_high_mul(-13, 1 << 30), -6); // −6.5 → −6
        assert_eq!(saturating_rounding_doubling_high_mul(-14, 1 << 30), -7);
        assert_eq!(saturating_rounding_doubling_high_mul(-15, 1 << 30), -7); // −7.5 → −7
        assert_eq!(saturating_rounding_doubling_high_mul(i32::MIN, i32::MIN), i32::MAX);
        // MIN·MAX/2^31 = −(2^31 − 1) exactly.
        assert_eq!(saturating_rounding_doubling_high_mul(i32::MIN, i32::MAX), -i32::MAX);
        assert_eq!(saturating_rounding_doubling_high_mul(i32::MAX, i32::MAX), i32::MAX - 1);
        assert_eq!(saturating_rounding_doubling_high_mul(0, i32::MIN), 0);
    }

    #[test]
    fn rounding_divide_by_pot_golden_values() {
        assert_eq!(rounding_divide_by_pot(5, 1), 3); // 2.5 → 3
        assert_eq!(rounding_divide_by_pot(-5, 1), -3); // −2.5 → −3
        assert_eq!(rounding_divide_by_pot(-7, 1), -4); // −3.5 → −4
        assert_eq!(rounding_divide_by_pot(-6, 2), -2); // −1.5 → −2
        assert_eq!(rounding_divide_by_pot(-5, 2), -1); // −1.25 → −1
        assert_eq!(rounding_divide_by_pot(7, 0), 7);
        assert_eq!(rounding_divide_by_pot(i32::MIN, 31), -1);
        assert_eq!(rounding_divide_by_pot(i32::MAX, 31), 1); // ≈ 0.99999999953
        assert_eq!(rounding_divide_by_pot(1 << 30, 31), 1); // 0.5 → 1
        assert_eq!(rounding_divide_by_pot(-(1 << 30), 31), -1); // −0.5 → −1
        assert_eq!(rounding_divide_by_pot((1 << 30) - 1, 31), 0);
        // Outside 0..=31.
        assert_eq!(rounding_divide_by_pot(7, -3), 7);
        assert_eq!(rounding_divide_by_pot(i32::MIN, 32), -1);
        assert_eq!(rounding_divide_by_pot(i32::MAX, 32), 0);
        assert_eq!(rounding_divide_by_pot(i32::MIN, 33), 0);
        assert_eq!(rounding_divide_by_pot(-1, i32::MAX), 0);
    }

    #[test]
    fn multiply_by_quantized_multiplier_golden_values() {
        // Real 0.5: 13·0.5 = 6.5 → 7; −13·0.5 = −6.5 → −6 (first rounding, ties towards +∞).
        assert_eq!(multiply_by_quantized_multiplier(13, 1 << 30, 0), 7);
        assert_eq!(multiply_by_quantized_multiplier(-13, 1 << 30, 0), -6);
        // Real 0.25 shows the double rounding: 5·0.25 = 1.25, but first 5·0.5 = 2.5 → 3,
        // then 3/2 = 1.5 → 2. A single rounding would give 1.
        assert_eq!(multiply_by_quantized_multiplier(5, 1 << 30, -1), 2);
        // −5·0.25: −2.5 → −2, then −2/2 = −1.
        assert_eq!(multiply_by_quantized_multiplier(-5, 1 << 30, -1), -1);
        // −14·0.25: −7 exactly, then −3.5 → −4 (ties away from zero in the second rounding).
        assert_eq!(multiply_by_quantized_multiplier(-14, 1 << 30, -1), -4);
        // Real 1.0 is (2^30, 1): the identity.
        for x in [0, 1, -1, 12345, -12345, (1 << 30) - 1, -(1 << 30)] {
            assert_eq!(multiply_by_quantized_multiplier(x, 1 << 30, 1), x);
        }
        // Real 3.0 = 0.75·2^2: 1000·3.
        assert_eq!(multiply_by_quantized_multiplier(1000, 3 << 29, 2), 3000);
        // Left shifts wrap like the compiled C++: 2^30·2 = 2^31 wraps to i32::MIN, then
        // MIN·0.5(Q31) = −2^30.
        assert_eq!(multiply_by_quantized_multiplier(1 << 30, 1 << 30, 1), -(1 << 30));
        assert_eq!(multiply_by_quantized_multiplier(12345, 1 << 30, 40), 0);
        assert_eq!(multiply_by_quantized_multiplier(12345, 1 << 30, i32::MIN), 0);
    }

    #[test]
    fn activation_ranges() {
        assert_eq!(ActivationRange::relu(-5), ActivationRange { min: -5, max: 127 });
        assert_eq!(ActivationRange::relu(-300), ActivationRange { min: -128, max: 127 });
        // 6/0.05 = 120 → max = −10 + 120.
        assert_eq!(ActivationRange::relu6(0.05, -10), ActivationRange { min: -10, max: 110 });
        // 6/0.1 = 60, 100 + 60 = 160 → 127.
        assert_eq!(ActivationRange::relu6(0.1, 100), ActivationRange { min: 100, max: 127 });
        // 6/4 = 1.5 rounds away from zero to 2; 6/12 = 0.5 to 1.
        assert_eq!(ActivationRange::relu6(4.0, 0), ActivationRange { min: 0, max: 2 });
        assert_eq!(ActivationRange::relu6(12.0, 0), ActivationRange { min: 0, max: 1 });
        // Degenerate scales never panic.
        assert_eq!(ActivationRange::relu6(0.0, 3), ActivationRange { min: 3, max: 127 });
        assert_eq!(ActivationRange::relu6(-0.0, 3), ActivationRange { min: 3, max: -128 });
        assert_eq!(ActivationRange::relu6(f32::NAN, 3), ActivationRange { min: 3, max: 3 });
    }

    #[test]
    fn clamp_quantized_follows_tflite_order() {
        let range = ActivationRange { min: -10, max: 20 };
        assert_eq!(range.clamp_quantized(-11), -10);
        assert_eq!(range.clamp_quantized(21), 20);
        assert_eq!(range.clamp_quantized(5), 5);
        // min > max: max wins, as std::min(std::max(v, min), max).
        let inverted = ActivationRange { min: 50, max: 10 };
        assert_eq!(inverted.clamp_quantized(0), 10);
        assert_eq!(inverted.clamp_quantized(100), 10);
        // Out-of-int8 ranges still produce int8 values.
        let wide = ActivationRange { min: i32::MIN, max: i32::MAX };
        assert_eq!(wide.clamp_quantized(1000), 127);
        assert_eq!(wide.clamp_quantized(-1000), -128);
    }

    /// Round half away from zero of `numerator / 2^exponent`, exact in i128.
    fn reference_divide_by_pot(numerator: i128, exponent: u32) -> i128 {
        let denominator = 1_i128 << exponent;
        let magnitude = (numerator.abs() + denominator / 2) / denominator;
        if exponent == 0 {
            numerator
        } else if numerator < 0 {
            -magnitude
        } else {
            magnitude
        }
    }

    proptest! {
        #[test]
        fn quantize_multiplier_reconstructs_the_real(real in 1e-6_f64..10.0) {
            let (multiplier, shift) = quantize_multiplier(real);
            prop_assert!((1 << 30..=i32::MAX).contains(&multiplier), "{multiplier}");
            let reconstructed = f64::from(multiplier) * 2_f64.powi(shift - 31);
            prop_assert!((reconstructed - real).abs() <= real * 2_f64.powi(-30), "{real} {reconstructed}");
        }

        #[test]
        fn quantize_multiplier_is_total(bits in any::<u64>()) {
            let (multiplier, shift) = quantize_multiplier(f64::from_bits(bits));
            prop_assert!((-31..=31).contains(&shift));
            prop_assert!(multiplier == 0 || multiplier.unsigned_abs() >= 1 << 30);
        }

        #[test]
        fn saturating_rounding_doubling_high_mul_matches_i128(a in any::<i32>(), b in any::<i32>()) {
            // floor(a·b/2^31 + 1/2) = floor((a·b + 2^30) / 2^31), then saturated.
            let exact = (i128::from(a) * i128::from(b) + (1 << 30)).div_euclid(1 << 31);
            let expected = exact.min(i128::from(i32::MAX));
            prop_assert_eq!(i128::from(saturating_rounding_doubling_high_mul(a, b)), expected);
        }

        #[test]
        fn a_decoded_multiplier_scales_like_the_function(
            x in any::<i32>(),
            multiplier in any::<i32>(),
            shift in -40_i32..40,
        ) {
            prop_assert_eq!(
                Multiplier::new(multiplier, shift).apply(x),
                multiply_by_quantized_multiplier(x, multiplier, shift)
            );
        }

        #[test]
        fn rounding_divide_by_pot_matches_i64(x in any::<i32>(), exponent in 0_i32..=31) {
            let denominator = 1_i64 << exponent;
            let magnitude = (i64::from(x).abs() + denominator / 2) / denominator;
            let expected = if exponent == 0 { i64::from(x) } else if x < 0 { -magnitude } else { magnitude };
            prop_assert_eq!(i64::from(rounding_divide_by_pot(x, exponent)), expected);
        }

        #[test]
        fn rounding_divide_by_pot_extends_exactly(x in any::<i32>(), exponent in 32_i32..=70) {
            let expected = reference_divide_by_pot(i128::from(x), exponent as u32);
            prop_assert_eq!(i128::from(rounding_divide_by_pot(x, exponent)), expected);
        }

        #[test]
        fn multiply_by_quantized_multiplier_is_within_one_of_the_exact_product(
            x in any::<i32>(),
            real in 1e-6_f64..10.0,
        ) {
            let (multiplier, shift) = quantize_multiplier(real);
            // Keep x·2^left_shift inside i32 (no wrap) so the result approximates x·real.
            let x = if shift > 0 { x >> shift } else { x };
            let result = i128::from(multiply_by_quantized_multiplier(x, multiplier, shift));
            // Exact product with the quantized multiplier, rounded once: double rounding is
            // at most one step away from it.
            // real < 10 keeps shift <= 4, so 31 − shift is a right shift.
            let exact_single_rounding =
                reference_divide_by_pot(i128::from(x) * i128::from(multiplier), (31 - shift) as u32);
            prop_assert!((result - exact_single_rounding).abs() <= 1, "{result} {exact_single_rounding}");
            // And against the real multiplier: one step plus the multiplier's relative error.
            let float_product = f64::from(x) * real;
            let tolerance = 1.0 + float_product.abs() * 2_f64.powi(-30) + 0.5;
            prop_assert!((result as f64 - float_product).abs() <= tolerance, "{result} {float_product}");
        }

        #[test]
        fn multiply_by_quantized_multiplier_never_panics(x in any::<i32>(), multiplier in any::<i32>(), shift in any::<i32>()) {
            let _ = multiply_by_quantized_multiplier(x, multiplier, shift);
            let _ = multiply_by_quantized_multiplier(x, multiplier, shift % 40);
            let _ = rounding_divide_by_pot(x, shift);
            let _ = saturating_rounding_doubling_high_mul(x, multiplier);
        }

        #[test]
        fn relu6_never_panics(scale_bits in any::<u32>(), zero_point in any::<i32>()) {
            let range = ActivationRange::relu6(f32::from_bits(scale_bits), zero_point);
            prop_assert!((-128..=127).contains(&range.min) && (-128..=127).contains(&range.max));
        }
    }
}
