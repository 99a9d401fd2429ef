//! int8 elementwise addition of two same-shape tensors with different quantization, as TFLite's
//! int8 `Add` reference kernel (no broadcasting).

use crate::kernels::quant::{
    ActivationRange, multiply_by_quantized_multiplier, quantize_multiplier, wrapping_mul_pow2,
};

/// Elementwise `output = input1 + input2` in int8, each tensor with its own scale and zero point.
///
/// Both inputs are rescaled to a common fixed-point scale `2 · max(scale1, scale2) / 2^left_shift`,
/// added, and the sum is requantized to the output scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Add {
    /// Headroom bits for the rescaled inputs: 20 for int8.
    pub left_shift: i32,
    /// `−input1_zero_point`.
    pub input1_offset: i32,
    pub input1_multiplier: i32,
    pub input1_shift: i32,
    /// `−input2_zero_point`.
    pub input2_offset: i32,
    pub input2_multiplier: i32,
    pub input2_shift: i32,
    /// `output_zero_point`.
    pub output_offset: i32,
    pub output_multiplier: i32,
    pub output_shift: i32,
    pub activation: ActivationRange,
}

impl Add {
    /// The `left_shift` TFLite uses for int8 `Add`.
    pub const INT8_LEFT_SHIFT: i32 = 20;

    /// Prepares the layer at conversion time, as TFLite's `Add` prepare step does for int8:
    ///
    /// `twice_max = 2 · max(scale1, scale2)`, `real1 = scale1 / twice_max`,
    /// `real2 = scale2 / twice_max`, `real_out = twice_max / (2^20 · scale_out)`, each split by
    /// [`quantize_multiplier`]. The products `2 · max` and `2^20 · scale_out` are exact in `f32`
    /// (as in TFLite) and the divisions are done in `f64`. Offsets are `−zp1`, `−zp2` and `zp_out`
    /// (the negations saturate).
    pub fn new(
        scale1: f32,
        zp1: i32,
        scale2: f32,
        zp2: i32,
        scale_out: f32,
        zp_out: i32,
        activation: ActivationRange,
    ) -> Self {
        // std::max(a, b) is `a < b ? b : a`; written out so NaN behaves the same way.
        let max_scale = if scale1 < scale2 { scale2 } else { scale1 };
        let twice_max = f64::from(2.0 * max_scale);
        let (input1_multiplier, input1_shift) = quantize_multiplier(f64::from(scale1) / twice_max);
        let (input2_multiplier, input2_shift) = quantize_multiplier(f64::from(scale2) / twice_max);
        let shifted_output_scale = f64::from((1 << Self::INT8_LEFT_SHIFT) as f32 * scale_out);
        let (output_multiplier, output_shift) = quantize_multiplier(twice_max / shifted_output_scale);
        Self {
            left_shift: Self::INT8_LEFT_SHIFT,
            input1_offset: zp1.saturating_neg(),
            input1_multiplier,
            input1_shift,
            input2_offset: zp2.saturating_neg(),
            input2_multiplier,
            input2_shift,
            output_offset: zp_out,
            output_multiplier,
            output_shift,
            activation,
        }
    }

    /// For every element `i`, with `k` in {1, 2}:
    ///
    /// ```text
    /// shifted_k = (input_k[i] + input_k_offset) · 2^left_shift
    /// scaled_k  = multiply_by_quantized_multiplier(shifted_k, input_k_multiplier, input_k_shift)
    /// output[i] = clamp(multiply_by_quantized_multiplier(scaled_1 + scaled_2, output_multiplier, output_shift)
    ///                   + output_offset, activation.min, activation.max)
    /// ```
    ///
    /// TFLite applies the input and output multipliers with
    /// `MultiplyByQuantizedMultiplierSmallerThanOneExp`, which is the same computation for the
    /// shifts `<= 0` that [`Add::new`] produces for real scales.
    ///
    /// Returns `false` and writes nothing unless the three slices have the same length and
    /// `left_shift` is in `0..=31`. Overflow (impossible for int8 with `left_shift` 20 and
    /// in-range offsets) wraps as in the C++ reference; the final `+ output_offset` saturates.
    pub fn run(&self, input1: &[i8], input2: &[i8], output: &mut [i8]) -> bool {
        if input1.len() != output.len()
            || input2.len() != output.len()
            || !(0..=31).contains(&self.left_shift)
        {
            return false;
        }
        let left_shift = self.left_shift.unsigned_abs();
        for ((value1, value2), out_value) in input1.iter().zip(input2).zip(output.iter_mut()) {
            let shifted1 = wrapping_mul_pow2(i32::from(*value1).wrapping_add(self.input1_offset), left_shift);
            let shifted2 = wrapping_mul_pow2(i32::from(*value2).wrapping_add(self.input2_offset), left_shift);
            let scaled1 =
                multiply_by_quantized_multiplier(shifted1, self.input1_multiplier, self.input1_shift);
            let scaled2 =
                multiply_by_quantized_multiplier(shifted2, self.input2_multiplier, self.input2_shift);
            let sum = scaled1.wrapping_add(scaled2);
            let requantized =
                multiply_by_quantized_multiplier(sum, self.output_multiplier, self.output_shift)
                    .saturating_add(self.output_offset);
            *out_value = self.activation.clamp_quantized(requantized);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::test_support::{AffineQuant, SENTINEL, SplitMix64};
    use proptest::prelude::*;
    use std::vec;
    use std::vec::Vec;

    #[test]
    fn new_matches_hand_derived_parameters() {
        // scale1 0.5, scale2 0.25, scale_out 1: twice_max = 1, real1 = 0.5 → (2^30, 0),
        // real2 = 0.25 → (2^30, −1), real_out = 1/2^20 = 0.5·2^−19 → (2^30, −19).
        let add = Add::new(0.5, -1, 0.25, 2, 1.0, 10, ActivationRange::NONE);
        assert_eq!(
            add,
            Add {
                left_shift: 20,
                input1_offset: 1,
                input1_multiplier: 1 << 30,
                input1_shift: 0,
                input2_offset: -2,
                input2_multiplier: 1 << 30,
                input2_shift: -1,
                output_offset: 10,
                output_multiplier: 1 << 30,
                output_shift: -19,
                activation: ActivationRange::NONE,
            }
        );
    }

    #[test]
    fn hand_computed_example() {
        // Same parameters. Element 0: input1 2 → (2+1)·0.5 = 1.5, input2 7 → (7−2)·0.25 = 1.25,
        // sum 2.75 → rounds to 3 (in fixed point: 2.75·2^20 → 1441792 / 2^19 = 2.75 → 3), + 10 = 13.
        // Element 1: −5 → −2, −1 → −0.75, sum −2.75 → −3 (away from zero), + 10 = 7.
        // Element 2: 127 → 64, 127 → 31.25, sum 95.25 → 95, + 10 = 105.
        // Element 3: −128 → −63.5, −128 → −32.5, sum −96 + 10 = −86.
        let add = Add::new(0.5, -1, 0.25, 2, 1.0, 10, ActivationRange::NONE);
        let mut output = [SENTINEL; 4];
        assert!(add.run(&[2, -5, 127, -128], &[7, -1, 127, -128], &mut output));
        assert_eq!(output, [13, 7, 105, -86]);
        let relu = Add { activation: ActivationRange::relu(10), ..add };
        assert!(relu.run(&[2, -5, 127, -128], &[7, -1, 127, -128], &mut output));
        assert_eq!(output, [13, 10, 105, 10]);
    }

    #[test]
    fn wrong_lengths_write_nothing() {
        let add = Add::new(0.5, 0, 0.25, 0, 1.0, 0, ActivationRange::NONE);
        let mut output = [SENTINEL; 3];
        assert!(!add.run(&[1, 2], &[1, 2, 3], &mut output));
        assert!(!add.run(&[1, 2, 3], &[1, 2], &mut output));
        assert!(!add.run(&[1, 2], &[1, 2], &mut output));
        assert!(!Add { left_shift: -1, ..add }.run(&[1, 2, 3], &[1, 2, 3], &mut output));
        assert!(!Add { left_shift: 32, ..add }.run(&[1, 2, 3], &[1, 2, 3], &mut output));
        assert_eq!(output, [SENTINEL; 3]);
        assert!(add.run(&[1, 2, 3], &[1, 2, 3], &mut output));
        assert!(add.run(&[], &[], &mut []));
    }

    /// The integer reference with i64 intermediates and the same requantization steps.
    fn reference_outputs(add: &Add, input1: &[i8], input2: &[i8]) -> Vec<i8> {
        input1
            .iter()
            .zip(input2)
            .map(|(value1, value2)| {
                let shifted1 = (i64::from(*value1) + i64::from(add.input1_offset)) << add.left_shift;
                let shifted2 = (i64::from(*value2) + i64::from(add.input2_offset)) << add.left_shift;
                let scaled1 = i64::from(multiply_by_quantized_multiplier(
                    i32::try_from(shifted1).unwrap(),
                    add.input1_multiplier,
                    add.input1_shift,
                ));
                let scaled2 = i64::from(multiply_by_quantized_multiplier(
                    i32::try_from(shifted2).unwrap(),
                    add.input2_multiplier,
                    add.input2_shift,
                ));
                let sum = i32::try_from(scaled1 + scaled2).unwrap();
                let value = multiply_by_quantized_multiplier(sum, add.output_multiplier, add.output_shift)
                    + add.output_offset;
                value.max(add.activation.min).min(add.activation.max) as i8
            })
            .collect()
    }

    fn random_scale(rng: &mut SplitMix64) -> f32 {
        // Log-uniform in [1e-3, 1).
        10f64.powf(rng.f64_in(-3.0, 0.0)) as f32
    }

    /// Adds two random float tensors through int8 and returns the worst
    /// `|dequantized − (a + b)| − bound`, with `bound = 1.5·scale_out + scale1 + scale2`
    /// (output rounding plus at most one input step each, including clamping at the range edge).
    fn float_case(seed: u64, len: usize, output_multiplier_error: f64) -> f64 {
        let mut rng = SplitMix64::new(seed);
        let lo1 = rng.f64_in(-4.0, 0.0);
        let lo1_hi = lo1 + rng.f64_in(0.5, 8.0);
        let input1 = rng.f64_vec(len, lo1, lo1_hi);
        let lo2 = rng.f64_in(-1.0, 0.0);
        let lo2_hi = lo2 + rng.f64_in(0.1, 2.0);
        let input2 = rng.f64_vec(len, lo2, lo2_hi);
        let expected: Vec<f64> = input1.iter().zip(&input2).map(|(a, b)| a + b).collect();
        let (quant1, quant2, quant_out) = (
            AffineQuant::covering(&input1),
            AffineQuant::covering(&input2),
            AffineQuant::covering(&expected),
        );
        let mut add = Add::new(
            quant1.scale as f32,
            quant1.zero_point,
            quant2.scale as f32,
            quant2.zero_point,
            quant_out.scale as f32,
            quant_out.zero_point,
            ActivationRange::NONE,
        );
        let real_out = f64::from(add.output_multiplier) * 2f64.powi(add.output_shift - 31);
        (add.output_multiplier, add.output_shift) = quantize_multiplier(real_out * output_multiplier_error);
        let quantized1: Vec<i8> = input1.iter().map(|value| quant1.quantize(*value)).collect();
        let quantized2: Vec<i8> = input2.iter().map(|value| quant2.quantize(*value)).collect();
        let mut output = vec![0i8; len];
        assert!(add.run(&quantized1, &quantized2, &mut output));
        // Scales went through f32 in `new`; allow for that relative 2^−24 on the result.
        let bound = 1.5 * quant_out.scale + quant1.scale + quant2.scale;
        output
            .iter()
            .zip(&expected)
            .map(|(q, expected)| {
                (quant_out.dequantize(*q) - expected).abs() - bound - expected.abs() * 1e-6 - 1e-9
            })
            .fold(f64::NEG_INFINITY, f64::max)
    }

    #[test]
    fn float_check_detects_a_wrong_multiplier() {
        for seed in 0..8 {
            assert!(float_case(seed, 64, 1.0) <= 0.0);
            assert!(float_case(seed, 64, 1.25) > 0.0, "seed {seed}");
        }
    }

    proptest! {
        #[test]
        fn matches_the_naive_reference(seed in any::<u64>(), len in 0usize..64) {
            let mut rng = SplitMix64::new(seed);
            let add = Add::new(
                random_scale(&mut rng),
                rng.int_in(-128, 127) as i32,
                random_scale(&mut rng),
                rng.int_in(-128, 127) as i32,
                random_scale(&mut rng),
                rng.int_in(-128, 127) as i32,
                rng.activation(),
            );
            let input1 = rng.i8_vec(len);
            let input2 = rng.i8_vec(len);
            let mut output = vec![SENTINEL; len];
            prop_assert!(add.run(&input1, &input2, &mut output));
            prop_assert_eq!(output, reference_outputs(&add, &input1, &input2));
        }

        #[test]
        fn float_result_is_within_bounds(seed in any::<u64>(), len in 1usize..64) {
            let excess = float_case(seed, len, 1.0);
            prop_assert!(excess <= 0.0, "excess {}", excess);
        }

        #[test]
        fn new_never_panics(
            scales in proptest::collection::vec(any::<u32>(), 3),
            zero_points in proptest::collection::vec(any::<i32>(), 3),
        ) {
            let _ = Add::new(
                f32::from_bits(scales[0]),
                zero_points[0],
                f32::from_bits(scales[1]),
                zero_points[1],
                f32::from_bits(scales[2]),
                zero_points[2],
                ActivationRange::NONE,
            );
        }

        #[test]
        fn run_never_panics(
            fields in proptest::collection::vec(any::<i32>(), 12),
            lens in proptest::collection::vec(0usize..6, 3),
            seed in any::<u64>(),
        ) {
            let add = Add {
                left_shift: fields[0] % 40,
                input1_offset: fields[1],
                input1_multiplier: fields[2],
                input1_shift: fields[3],
                input2_offset: fields[4],
                input2_multiplier: fields[5],
                input2_shift: fields[6],
                output_offset: fields[7],
                output_multiplier: fields[8],
                output_shift: fields[9],
                activation: ActivationRange { min: fields[10], max: fields[11] },
            };
            let mut rng = SplitMix64::new(seed);
            let input1 = rng.i8_vec(lens[0]);
            let input2 = rng.i8_vec(lens[1]);
            let mut output = vec![SENTINEL; lens[2]];
            if !add.run(&input1, &input2, &mut output) {
                prop_assert!(output.iter().all(|value| *value == SENTINEL));
            }
        }
    }
}
