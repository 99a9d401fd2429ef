//! int8 fully connected (dense) layer with per-output-channel requantization, as TFLite's
//! `FullyConnectedPerChannel` reference kernel.

use crate::kernels::dot::dot;
use crate::kernels::le::LeI32;
use crate::kernels::packed::{PACKED_VALUES, Packed, Scratch, dot_two_rows, offset_fits};
use crate::kernels::quant::{ActivationRange, ChannelRequant, output_value};

/// A fully connected layer `output = W · input + bias` in int8.
///
/// Weights are symmetric per output channel (zero point 0), so only the input needs an offset.
#[derive(Clone, Copy, Debug)]
pub struct FullyConnected<'a> {
    /// `−input_zero_point`.
    pub input_offset: i32,
    /// `[n_out][n_in]`, row-major.
    pub weights: &'a [i8],
    /// `n_out` biases with scale `input_scale · weight_scale[o]`, or empty for no bias.
    pub bias: LeI32<'a>,
    /// `n_out` multipliers and shifts for `input_scale · weight_scale[o] / output_scale`.
    pub requant: ChannelRequant<'a>,
    /// `output_zero_point`.
    pub output_offset: i32,
    pub activation: ActivationRange,
}

impl FullyConnected<'_> {
    /// Computes every output `o` in `0..n_out`:
    ///
    /// ```text
    /// acc = bias[o] + Σ_i (input[i] + input_offset) · weights[o][i]      (bias[o] = 0 without bias)
    /// output[o] = clamp(multiply_by_quantized_multiplier(acc, multipliers[o], shifts[o]) + output_offset,
    ///                   activation.min, activation.max)
    /// ```
    ///
    /// `n_in = input.len()` and `n_out = output.len()`. Returns `false` and writes nothing unless
    /// `weights.len() == n_out · n_in`, the requantization arrays hold `n_out` values and the bias
    /// holds `n_out` or 0 values.
    ///
    /// Overflow: `acc` is accumulated in `i32` with wrapping adds and multiplies. Conversion keeps
    /// realistic layers far from overflow (each term is at most `255 · 128`); wrapping keeps the
    /// kernel panic-free and matches the C++ reference on two's-complement targets. The final
    /// `+ output_offset` saturates, so an extreme requantized value still clamps to the right end.
    ///
    /// On Armv7E-M cores this runs [`FullyConnected::run_packed`], elsewhere
    /// [`FullyConnected::run_reference`]; both give the same integers.
    pub fn run(&self, input: &[i8], output: &mut [i8]) -> bool {
        #[cfg(all(target_arch = "arm", target_feature = "dsp", not(feature = "portable-kernels")))]
        {
            self.run_packed(input, output)
        }
        #[cfg(not(all(target_arch = "arm", target_feature = "dsp", not(feature = "portable-kernels"))))]
        {
            self.run_reference(input, output)
        }
    }

    /// [`FullyConnected::run`] with the interpreter's scratch memory.
    pub(crate) fn run_in(&self, input: &[i8], output: &mut [i8], scratch: &mut Scratch) -> bool {
        #[cfg(all(target_arch = "arm", target_feature = "dsp", not(feature = "portable-kernels")))]
        {
            self.run_packed_in(input, output, &mut scratch.fields[0])
        }
        #[cfg(not(all(target_arch = "arm", target_feature = "dsp", not(feature = "portable-kernels"))))]
        {
            let _ = scratch;
            self.run_reference(input, output)
        }
    }

    fn lengths_match(&self, n_in: usize, n_out: usize) -> bool {
        n_out.checked_mul(n_in) == Some(self.weights.len())
            && self.requant.has_channels(n_out)
            && (self.bias.is_empty() || self.bias.len() == n_out)
    }

    /// [`FullyConnected::run`] with the input packed once (offset added, `SMLAD` order; see
    /// `kernels::packed`) and two rows of weights per pass. Falls back to
    /// [`FullyConnected::run_reference`] for inputs longer than the packed buffer.
    pub fn run_packed(&self, input: &[i8], output: &mut [i8]) -> bool {
        self.run_packed_in(input, output, &mut Packed::new())
    }

    fn run_packed_in(&self, input: &[i8], output: &mut [i8], packed: &mut Packed) -> bool {
        let (n_in, n_out) = (input.len(), output.len());
        if !self.lengths_match(n_in, n_out) {
            return false;
        }
        if n_in == 0 || n_in > PACKED_VALUES || !offset_fits(self.input_offset) {
            return self.run_reference(input, output);
        }
        packed.load(input, self.input_offset);
        let (offset, activation) = (self.output_offset, self.activation);
        let mut rows = self.weights.chunks_exact(2 * n_in.max(1));
        let mut outputs = output.chunks_exact_mut(2);
        let mut out_idx = 0;
        for (pair, values) in (&mut rows).zip(&mut outputs) {
            let (row0, row1) = pair.split_at(n_in);
            let acc =
                dot_two_rows(packed, [row0, row1], [self.bias.get(out_idx), self.bias.get(out_idx + 1)]);
            values[0] = output_value(&self.requant.channel(out_idx), acc[0], offset, activation);
            values[1] = output_value(&self.requant.channel(out_idx + 1), acc[1], offset, activation);
            out_idx += 2;
        }
        if let Some(last) = outputs.into_remainder().first_mut() {
            let row = rows.remainder();
            let [acc, _] = dot_two_rows(packed, [row, row], [self.bias.get(out_idx), 0]);
            *last = output_value(&self.requant.channel(out_idx), acc, offset, activation);
        }
        true
    }

    /// [`FullyConnected::run`] one output at a time.
    pub fn run_reference(&self, input: &[i8], output: &mut [i8]) -> bool {
        let n_in = input.len();
        if !self.lengths_match(n_in, output.len()) {
            return false;
        }
        for (out_idx, out_value) in output.iter_mut().enumerate() {
            let weight_row = &self.weights[out_idx * n_in..(out_idx + 1) * n_in];
            // `LeI32::get` is 0 past the end, which is exactly "no bias" for an empty bias.
            let acc = dot(input, weight_row, self.input_offset, self.bias.get(out_idx));
            let requantized = self.requant.requantize(out_idx, acc).saturating_add(self.output_offset);
            *out_value = self.activation.clamp_quantized(requantized);
        }
        true
    }

    /// Multiply-accumulates one run performs: `weights.len()` (`n_out · n_in`).
    pub fn macs(&self) -> u64 {
        self.weights.len() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::quant::multiply_by_quantized_multiplier;
    use crate::kernels::test_support::{
        OwnedRequant, QuantizedLinear, SENTINEL, SplitMix64, le_bytes, le_view,
    };
    use proptest::prelude::*;
    use std::vec;
    use std::vec::Vec;

    /// Naive dense layer: `out[o] = bias[o] + Σ_i input[i] · weights[o·n_in + i]`.
    fn dense_naive<T>(input: &[T], weights: &[T], bias: &[T]) -> Vec<T>
    where
        T: Copy + core::ops::Add<Output = T> + core::ops::Mul<Output = T>,
    {
        let n_in = input.len();
        (0..bias.len())
            .map(|out_idx| {
                let mut acc = bias[out_idx];
                for in_idx in 0..n_in {
                    acc = acc + input[in_idx] * weights[out_idx * n_in + in_idx];
                }
                acc
            })
            .collect()
    }

    /// The integer reference: i64 accumulation, then the same requantization steps.
    fn reference_outputs(
        input: &[i8],
        layer: &FullyConnected<'_>,
        n_out: usize,
        bias: &[i32],
        pairs: &[(i32, i32)],
    ) -> Vec<i8> {
        let shifted_input: Vec<i64> =
            input.iter().map(|q| i64::from(*q) + i64::from(layer.input_offset)).collect();
        let weights: Vec<i64> = layer.weights.iter().map(|w| i64::from(*w)).collect();
        let bias: Vec<i64> =
            if bias.is_empty() { vec![0; n_out] } else { bias.iter().map(|b| i64::from(*b)).collect() };
        dense_naive(&shifted_input, &weights, &bias)
            .iter()
            .enumerate()
            .map(|(out_idx, acc)| {
                let acc = i32::try_from(*acc).expect("small layers fit in i32");
                let (multiplier, shift) = pairs[out_idx];
                let value = multiply_by_quantized_multiplier(acc, multiplier, shift) + layer.output_offset;
                value.max(layer.activation.min).min(layer.activation.max) as i8
            })
            .collect()
    }

    #[test]
    fn hand_computed_example() {
        // input_offset 2 (zero point −2): shifted inputs are [3, −1, 0].
        // Row 0 weights [1, 2, 3]:  3 − 2 + 0 = 1,   + bias 10 = 11, · 0.5 = 5.5 → 6.
        // Row 1 weights [−4, 0, 5]: −12 + 0 + 0 = −12, + bias −1 = −13, · 0.5 = −6.5 → −6 (ties up).
        // Output offset −3: [3, −9].
        let weights = [1i8, 2, 3, -4, 0, 5];
        let bias = le_bytes(&[10, -1]);
        let requant = OwnedRequant::from_pairs(&[(1 << 30, 0), (1 << 30, 0)]);
        let layer = FullyConnected {
            input_offset: 2,
            weights: &weights,
            bias: le_view(&bias),
            requant: requant.view(),
            output_offset: -3,
            activation: ActivationRange::NONE,
        };
        let mut output = [0i8; 2];
        assert!(layer.run(&[1, -3, -2], &mut output));
        assert_eq!(output, [3, -9]);
        // ReLU with zero point −3 clamps the second output to −3.
        let relu = FullyConnected { activation: ActivationRange::relu(-3), ..layer };
        assert!(relu.run(&[1, -3, -2], &mut output));
        assert_eq!(output, [3, -3]);
        assert_eq!(layer.macs(), 6);
    }

    #[test]
    fn wrong_lengths_write_nothing() {
        let weights = [1i8; 6];
        let bias = le_bytes(&[1, 2]);
        let requant = OwnedRequant::from_pairs(&[(1 << 30, 0), (1 << 30, 0)]);
        let short_requant = OwnedRequant::from_pairs(&[(1 << 30, 0)]);
        let bias_three = le_bytes(&[1, 2, 3]);
        let layer = FullyConnected {
            input_offset: 0,
            weights: &weights,
            bias: le_view(&bias),
            requant: requant.view(),
            output_offset: 0,
            activation: ActivationRange::NONE,
        };
        let mut output = [SENTINEL; 2];
        assert!(!layer.run(&[1, 2], &mut output));
        assert!(!layer.run(&[1, 2, 3, 4], &mut output));
        assert!(!layer.run(&[1, 2, 3], &mut output[..1]));
        assert!(!FullyConnected { weights: &weights[..5], ..layer }.run(&[1, 2, 3], &mut output));
        assert!(!FullyConnected { requant: short_requant.view(), ..layer }.run(&[1, 2, 3], &mut output));
        assert!(!FullyConnected { bias: le_view(&bias_three), ..layer }.run(&[1, 2, 3], &mut output));
        assert!(!layer.run_packed(&[1, 2], &mut output));
        assert!(!FullyConnected { weights: &weights[..5], ..layer }.run_packed(&[1, 2, 3], &mut output));
        assert_eq!(output, [SENTINEL; 2]);
        // The same layer with consistent lengths runs, also without bias.
        assert!(FullyConnected { bias: le_view(&[]), ..layer }.run(&[1, 2, 3], &mut output));
        assert!(layer.run(&[1, 2, 3], &mut output));
    }

    #[test]
    fn empty_input_gives_requantized_bias() {
        let bias = le_bytes(&[7, -7]);
        let requant = OwnedRequant::from_pairs(&[(1 << 30, 1), (1 << 30, 1)]);
        let layer = FullyConnected {
            input_offset: 5,
            weights: &[],
            bias: le_view(&bias),
            requant: requant.view(),
            output_offset: 1,
            activation: ActivationRange::NONE,
        };
        let mut output = [0i8; 2];
        assert!(layer.run(&[], &mut output));
        assert_eq!(output, [8, -6]);
    }

    fn float_case(seed: u64, n_in: usize, n_out: usize, multiplier_error: f64) -> f64 {
        let mut rng = SplitMix64::new(seed);
        let input_lo = rng.f64_in(-2.0, 0.5);
        let input_lo_hi = input_lo + rng.f64_in(0.5, 3.0);
        let input = rng.f64_vec(n_in, input_lo, input_lo_hi);
        // Each output channel gets its own weight magnitude, so per-channel scales differ.
        let channel_magnitudes = rng.f64_vec(n_out, 0.05, 2.0);
        let weights: Vec<f64> =
            (0..n_out * n_in).map(|idx| channel_magnitudes[idx / n_in] * rng.f64_in(-1.0, 1.0)).collect();
        let bias = rng.f64_vec(n_out, -1.0, 1.0);
        let case = QuantizedLinear::build(
            &input,
            &weights,
            &bias,
            |weight_idx| weight_idx / n_in,
            |out_idx| out_idx,
            dense_naive::<f64>,
            multiplier_error,
        );
        let layer = FullyConnected {
            input_offset: case.input_offset(),
            weights: &case.weights,
            bias: le_view(&case.bias),
            requant: case.requant.view(),
            output_offset: case.output_quant.zero_point,
            activation: ActivationRange::NONE,
        };
        let mut output = vec![0i8; n_out];
        assert!(layer.run(&case.input, &mut output));
        case.worst_excess(&output)
    }

    #[test]
    fn float_check_detects_a_wrong_multiplier() {
        for seed in 0..8 {
            assert!(float_case(seed, 24, 8, 1.0) <= 0.0);
            let excess = float_case(seed, 24, 8, 1.25);
            assert!(excess > 0.0, "seed {seed}: a 25% multiplier error went unnoticed ({excess})");
        }
    }

    proptest! {
        #[test]
        /// Both kernels — the reference loop and the Armv7E-M one (its instructions emulated on
        /// the host) — on both sides of the packed buffer's limit.
        fn matches_the_naive_reference(
            seed in any::<u64>(),
            n_in in prop_oneof![4 => 0usize..40, 1 => 500usize..530],
            n_out in 0usize..12,
            with_bias in any::<bool>(),
        ) {
            let mut rng = SplitMix64::new(seed);
            let input = rng.i8_vec(n_in);
            let weights = rng.i8_vec(n_in * n_out);
            let bias: Vec<i32> =
                if with_bias { (0..n_out).map(|_| rng.int_in(-1 << 20, 1 << 20) as i32).collect() } else { vec![] };
            let bias_bytes = le_bytes(&bias);
            let requant = OwnedRequant::random(&mut rng, n_out);
            let pairs: Vec<(i32, i32)> = (0..n_out).map(|c| (requant.view().multipliers.get(c), requant.view().shifts.get(c))).collect();
            let layer = FullyConnected {
                input_offset: rng.int_in(-127, 128) as i32,
                weights: &weights,
                bias: le_view(&bias_bytes),
                requant: requant.view(),
                output_offset: rng.int_in(-128, 127) as i32,
                activation: rng.activation(),
            };
            let expected = reference_outputs(&input, &layer, n_out, &bias, &pairs);
            let mut output = vec![SENTINEL; n_out];
            prop_assert!(layer.run_reference(&input, &mut output));
            prop_assert_eq!(&output, &expected);
            let mut output = vec![SENTINEL; n_out];
            prop_assert!(layer.run_packed(&input, &mut output));
            prop_assert_eq!(&output, &expected);
        }

        #[test]
        fn float_result_is_within_bounds(seed in any::<u64>(), n_in in 1usize..64, n_out in 1usize..10) {
            let excess = float_case(seed, n_in, n_out, 1.0);
            prop_assert!(excess <= 0.0, "excess {}", excess);
        }

        #[test]
        fn never_panics(
            seed in any::<u64>(),
            input_len in 0usize..10,
            output_len in 0usize..6,
            weights_len in 0usize..64,
            bias_values in 0usize..8,
            requant_values in 0usize..8,
            input_offset in any::<i32>(),
            output_offset in any::<i32>(),
            min in any::<i32>(),
            max in any::<i32>(),
        ) {
            let mut rng = SplitMix64::new(seed);
            let input = rng.i8_vec(input_len);
            let weights = rng.i8_vec(weights_len);
            let bias: Vec<i32> = (0..bias_values).map(|_| rng.next_u64() as i32).collect();
            let bias_bytes = le_bytes(&bias);
            let pairs: Vec<(i32, i32)> = (0..requant_values).map(|_| (rng.next_u64() as i32, rng.next_u64() as i32)).collect();
            let requant = OwnedRequant::from_pairs(&pairs);
            let layer = FullyConnected {
                input_offset,
                weights: &weights,
                bias: le_view(&bias_bytes),
                requant: requant.view(),
                output_offset,
                activation: ActivationRange { min, max },
            };
            let mut output = vec![SENTINEL; output_len];
            if !layer.run(&input, &mut output) {
                prop_assert!(output.iter().all(|value| *value == SENTINEL));
            }
        }
    }
}
