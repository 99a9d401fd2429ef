//! int8 max and average pooling over `[height][width][channels]` tensors, as TFLite's int8
//! `MaxPool` and `AveragePool` reference kernels.

use crate::kernels::conv::{Shape3, Window2d};
use crate::kernels::quant::ActivationRange;
use crate::kernels::simd::{max_i8x4, min_i8x4, word};

/// A 2-D pooling layer. Input and output share scale and zero point, so no requantization.
#[derive(Clone, Copy, Debug)]
pub struct Pool2d {
    pub input_shape: Shape3,
    pub output_shape: Shape3,
    pub window: Window2d,
    pub activation: ActivationRange,
}

impl Pool2d {
    /// Largest window (`kernel_height · kernel_width`) [`Pool2d::average`] accepts: it keeps the
    /// `i32` sum and its rounding far from overflow (`2^23 · 128 = 2^30`).
    pub const MAX_AVERAGE_WINDOW: usize = 1 << 23;

    /// True when lengths, channels and window geometry agree (see [`Window2d`]).
    fn accepts(&self, input_len: usize, output_len: usize) -> bool {
        input_len == self.input_shape.len()
            && output_len == self.output_shape.len()
            && self.input_shape.channels == self.output_shape.channels
            && self.window.fits(self.input_shape, self.output_shape)
    }

    /// Folds every output element's window: starting from `start`, `accumulate(state, value)`
    /// over the input values of that channel under the window that lie inside the input (row by
    /// row), then writes `finish(state)`. Generic rather than `dyn`, so each pooling kind
    /// compiles to plain loops. Channels are innermost (they are contiguous in NHWC): each tap
    /// updates up to 32 running states from one contiguous run of inputs.
    fn fold_windows<State: Copy>(
        &self,
        input: &[i8],
        output: &mut [i8],
        start: State,
        accumulate: impl Fn(State, i8) -> State,
        finish: impl Fn(State) -> i8,
    ) {
        const CHANNEL_CHUNK: usize = 32;
        let Shape3 { height: input_height, width: input_width, channels } = self.input_shape;
        let Shape3 { height: output_height, width: output_width, .. } = self.output_shape;
        let Window2d { stride_height, stride_width, pad_top, pad_left, .. } = self.window;
        for output_y in 0..output_height {
            let rows = self.window.rows_inside(output_y, input_height);
            let row_origin = output_y * stride_height;
            for output_x in 0..output_width {
                let columns = self.window.columns_inside(output_x, input_width);
                let column_origin = output_x * stride_width;
                let output_pixel = (output_y * output_width + output_x) * channels;
                for first in (0..channels).step_by(CHANNEL_CHUNK) {
                    let count = (channels - first).min(CHANNEL_CHUNK);
                    let mut states = [start; CHANNEL_CHUNK];
                    for kernel_y in rows.clone() {
                        let input_y = row_origin + kernel_y - pad_top;
                        for kernel_x in columns.clone() {
                            let input_x = column_origin + kernel_x - pad_left;
                            let at = (input_y * input_width + input_x) * channels + first;
                            for (state, value) in states.iter_mut().zip(&input[at..at + count]) {
                                *state = accumulate(*state, *value);
                            }
                        }
                    }
                    let at = output_pixel + first;
                    for (slot, state) in output[at..at + count].iter_mut().zip(&states) {
                        *slot = finish(*state);
                    }
                }
            }
        }
    }

    /// `output[y][x][c] = clamp(max over the taps inside the input of input[iy][ix][c],
    /// activation.min, activation.max)`, with `iy = y · stride_height + ky − pad_top` and
    /// `ix = x · stride_width + kx − pad_left` (padding taps are skipped; the running maximum
    /// starts at −128 as in TFLite).
    ///
    /// Returns `false` and writes nothing unless the lengths match the shapes, input and output
    /// have the same channels and the window is consistent with the shapes (see [`Window2d`]).
    ///
    /// On Armv7E-M cores this runs [`Pool2d::max_packed`], elsewhere [`Pool2d::max_reference`];
    /// both give the same bytes.
    pub fn max(&self, input: &[i8], output: &mut [i8]) -> bool {
        #[cfg(all(target_arch = "arm", target_feature = "dsp", not(feature = "portable-kernels")))]
        {
            self.max_packed(input, output)
        }
        #[cfg(not(all(target_arch = "arm", target_feature = "dsp", not(feature = "portable-kernels"))))]
        {
            self.max_reference(input, output)
        }
    }

    /// [`Pool2d::max`] four channels at a time: a word of four inputs per tap, the running maxima
    /// and the activation clamp taken lane by lane (`SSUB8` + `SEL`). The clamp commutes with
    /// the int8 saturation (both are monotone), so clamping to the saturated bounds is the same.
    pub fn max_packed(&self, input: &[i8], output: &mut [i8]) -> bool {
        if !self.accepts(input.len(), output.len()) {
            return false;
        }
        if output.is_empty() {
            return true;
        }
        let Shape3 { height: output_height, width: output_width, channels } = self.output_shape;
        let input_width = self.input_shape.width;
        // Where the taps are consecutive pixels of one row (the 1-D case), no 2-D iterator.
        let interior = self.window.one_row_interior(input_width, output_width);
        for output_y in 0..output_height {
            for output_x in 0..output_width {
                let output_pixel = (output_y * output_width + output_x) * channels;
                if interior.contains(&output_x) {
                    let first = self.window.first_pixel(output_y, output_x, input_width);
                    let taps = (first..first + self.window.kernel_width).map(|pixel| pixel * channels);
                    self.max_position(input, output, output_pixel, taps);
                } else {
                    let taps = self.window.taps_of(self.input_shape, output_y, output_x);
                    self.max_position(input, output, output_pixel, taps.map(|(pixel, _)| pixel * channels));
                }
            }
        }
        true
    }

    /// The maxima at one output position whose taps start at `tap_pixels` (channel 0 of each).
    #[inline(always)]
    fn max_position(
        &self,
        input: &[i8],
        output: &mut [i8],
        output_pixel: usize,
        tap_pixels: impl Iterator<Item = usize> + Clone,
    ) {
        let channels = self.output_shape.channels;
        let splat = |value: i32| u32::from_ne_bytes([value.clamp(-128, 127) as i8 as u8; 4]);
        let (low, high) = (splat(self.activation.min), splat(self.activation.max));
        let quads = channels / 4 * 4;
        for first in (0..quads).step_by(4) {
            let mut largest = splat(-128);
            for at in tap_pixels.clone() {
                if let Some(quad) = input.get(at + first..).and_then(|rest| rest.first_chunk::<4>()) {
                    largest = max_i8x4(largest, word(quad));
                }
            }
            let clamped = min_i8x4(max_i8x4(largest, low), high);
            if let Some(slots) = output.get_mut(output_pixel + first..output_pixel + first + 4) {
                slots.copy_from_slice(&clamped.to_le_bytes().map(|byte| byte as i8));
            }
        }
        for channel in quads..channels {
            let largest = tap_pixels.clone().fold(i8::MIN, |largest, at| {
                input.get(at + channel).map_or(largest, |&value| largest.max(value))
            });
            if let Some(slot) = output.get_mut(output_pixel + channel) {
                *slot = self.activation.clamp_quantized(i32::from(largest));
            }
        }
    }

    /// [`Pool2d::max`] one channel at a time, through the shared window fold.
    pub fn max_reference(&self, input: &[i8], output: &mut [i8]) -> bool {
        if !self.accepts(input.len(), output.len()) {
            return false;
        }
        if output.is_empty() {
            return true;
        }
        let activation = self.activation;
        self.fold_windows(input, output, i8::MIN, i8::max, |largest| {
            activation.clamp_quantized(i32::from(largest))
        });
        true
    }

    /// TFLite int8 average over the taps inside the input (padding skipped):
    ///
    /// ```text
    /// sum   = Σ input[iy][ix][c],  count = number of taps inside the input
    /// average = if sum > 0 { (sum + count/2) / count } else { (sum − count/2) / count }   (/ truncates)
    /// output[y][x][c] = clamp(average, activation.min, activation.max)
    /// ```
    ///
    /// so the average is rounded half away from zero.
    ///
    /// Returns `false` and writes nothing under the same conditions as [`Pool2d::max`], and also
    /// when the window has more than [`Pool2d::MAX_AVERAGE_WINDOW`] taps. Every window overlaps
    /// the input (a consequence of the window checks), so `count >= 1`.
    pub fn average(&self, input: &[i8], output: &mut [i8]) -> bool {
        let window_taps = self.window.kernel_height.saturating_mul(self.window.kernel_width);
        if window_taps > Self::MAX_AVERAGE_WINDOW || !self.accepts(input.len(), output.len()) {
            return false;
        }
        if output.is_empty() {
            return true;
        }
        let activation = self.activation;
        // At most 2^23 taps of magnitude <= 128: the sum stays within ±2^30, and so do
        // `sum ± count/2`. Wrapping ops and `checked_div` only keep the code panic-free.
        self.fold_windows(
            input,
            output,
            (0_i32, 0_i32),
            |(sum, count), value| (sum.wrapping_add(i32::from(value)), count.wrapping_add(1)),
            |(sum, count)| {
                let half = count / 2;
                let rounded = if sum > 0 { sum.wrapping_add(half) } else { sum.wrapping_sub(half) };
                activation.clamp_quantized(rounded.checked_div(count).unwrap_or(0))
            },
        );
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::conv::{conv_output_len, same_padding};
    use crate::kernels::test_support::{
        AffineQuant, SENTINEL, SplitMix64, buffer_len, fuzz_size, plane_geometry,
    };
    use core::cell::Cell;
    use proptest::prelude::*;
    use proptest::test_runner::{TestCaseError, TestRunner};
    use std::vec;
    use std::vec::Vec;

    fn square_pool(kernel: usize, stride: usize, input_side: usize, channels: usize) -> Pool2d {
        let (pad_before, pad_after) = same_padding(input_side, kernel, stride);
        let output_side =
            crate::kernels::conv::conv_output_len(input_side, kernel, stride, pad_before, pad_after).unwrap();
        Pool2d {
            input_shape: Shape3 { height: input_side, width: input_side, channels },
            output_shape: Shape3 { height: output_side, width: output_side, channels },
            window: Window2d {
                kernel_height: kernel,
                kernel_width: kernel,
                stride_height: stride,
                stride_width: stride,
                pad_top: pad_before,
                pad_left: pad_before,
            },
            activation: ActivationRange::NONE,
        }
    }

    const ONE_TO_NINE: [i8; 9] = [1, 2, 3, 4, 5, 6, 7, 8, 9];

    #[test]
    fn same_padding_max_pool_hand_computed() {
        // 3×3 window, stride 1, SAME (pad 1 each side) over
        //   1 2 3      max of each clipped neighbourhood:   5 6 6
        //   4 5 6                                           8 9 9
        //   7 8 9                                           8 9 9
        let pool = square_pool(3, 1, 3, 1);
        let mut output = [SENTINEL; 9];
        assert!(pool.max(&ONE_TO_NINE, &mut output));
        assert_eq!(output, [5, 6, 6, 8, 9, 9, 8, 9, 9]);
        // Padding is skipped, not read as 0: an all-negative input keeps negative maxima.
        let negative: Vec<i8> = ONE_TO_NINE.iter().map(|value| -value).collect();
        assert!(pool.max(&negative, &mut output));
        assert_eq!(output, [-1, -1, -2, -1, -1, -2, -4, -4, -5]);
        // Activation clamp to [3, 7].
        let clamped = Pool2d { activation: ActivationRange { min: 3, max: 7 }, ..pool };
        assert!(clamped.max(&ONE_TO_NINE, &mut output));
        assert_eq!(output, [5, 6, 6, 7, 7, 7, 7, 7, 7]);
    }

    #[test]
    fn same_padding_average_pool_hand_computed() {
        // Sums and counts of the clipped 3×3 neighbourhoods:
        //   12/4 = 3      21/6 = 3.5 → 4   16/4 = 4
        //   27/6 = 4.5 → 5   45/9 = 5      33/6 = 5.5 → 6
        //   24/4 = 6      39/6 = 6.5 → 7   28/4 = 7
        let pool = square_pool(3, 1, 3, 1);
        let mut output = [SENTINEL; 9];
        assert!(pool.average(&ONE_TO_NINE, &mut output));
        assert_eq!(output, [3, 4, 4, 5, 5, 6, 6, 7, 7]);
        // Negative sums round half away from zero too: (−21 − 3)/6 = −4.
        let negative: Vec<i8> = ONE_TO_NINE.iter().map(|value| -value).collect();
        assert!(pool.average(&negative, &mut output));
        assert_eq!(output, [-3, -4, -4, -5, -5, -6, -6, -7, -7]);

        // 2×2 window, stride 2, SAME: out 2, total 1·2 + 2 − 3 = 1, pad (0, 1).
        //   [1 2 / 4 5] = 12/4 = 3    [3 / 6] = 9/2 = 4.5 → 5
        //   [7 8] = 15/2 = 7.5 → 8    [9] = 9
        let pool = square_pool(2, 2, 3, 1);
        let mut output = [SENTINEL; 4];
        assert!(pool.average(&ONE_TO_NINE, &mut output));
        assert_eq!(output, [3, 5, 8, 9]);
        assert!(pool.max(&ONE_TO_NINE, &mut output));
        assert_eq!(output, [5, 6, 8, 9]);
    }

    #[test]
    fn channels_are_pooled_independently() {
        // 1×2×2 input [[10, −10], [20, −30]], window 1×2: max [20, −10], average [15, −20].
        let pool = Pool2d {
            input_shape: Shape3 { height: 1, width: 2, channels: 2 },
            output_shape: Shape3 { height: 1, width: 1, channels: 2 },
            window: Window2d {
                kernel_height: 1,
                kernel_width: 2,
                stride_height: 1,
                stride_width: 1,
                pad_top: 0,
                pad_left: 0,
            },
            activation: ActivationRange::NONE,
        };
        let mut output = [SENTINEL; 2];
        assert!(pool.max(&[10, -10, 20, -30], &mut output));
        assert_eq!(output, [20, -10]);
        assert!(pool.average(&[10, -10, 20, -30], &mut output));
        assert_eq!(output, [15, -20]);
    }

    #[test]
    fn rejects_inconsistent_layers_without_writing() {
        let pool = square_pool(3, 1, 3, 1);
        let window = pool.window;
        let rejected = [
            Pool2d { output_shape: Shape3 { height: 3, width: 3, channels: 2 }, ..pool },
            Pool2d { output_shape: Shape3 { height: 1, width: 3, channels: 1 }, ..pool },
            Pool2d { window: Window2d { stride_height: 0, ..window }, ..pool },
            Pool2d { window: Window2d { pad_top: 3, ..window }, ..pool },
        ];
        let mut output = [SENTINEL; 9];
        for (case_idx, layer) in rejected.iter().enumerate() {
            assert!(!layer.max(&ONE_TO_NINE, &mut output), "case {case_idx}");
            assert!(!layer.max_packed(&ONE_TO_NINE, &mut output), "case {case_idx}");
            assert!(!layer.average(&ONE_TO_NINE, &mut output), "case {case_idx}");
        }
        assert!(!pool.max(&ONE_TO_NINE[..8], &mut output));
        assert!(!pool.average(&ONE_TO_NINE, &mut output[..8]));
        let huge_window = Pool2d {
            input_shape: Shape3 { height: 4096, width: 4096, channels: 0 },
            output_shape: Shape3 { height: 1, width: 1, channels: 0 },
            window: Window2d {
                kernel_height: 4096,
                kernel_width: 4096,
                stride_height: 1,
                stride_width: 1,
                pad_top: 0,
                pad_left: 0,
            },
            activation: ActivationRange::NONE,
        };
        assert!(!huge_window.average(&[], &mut []));
        assert!(huge_window.max(&[], &mut []));
        assert_eq!(output, [SENTINEL; 9]);
    }

    /// Naive pooling straight from the definition: (max, TFLite-rounded average) per output.
    fn pool_naive(input: &[i8], pool: &Pool2d) -> Vec<(i32, i32)> {
        let (input_shape, window) = (pool.input_shape, pool.window);
        let mut output = Vec::new();
        for output_y in 0..pool.output_shape.height {
            for output_x in 0..pool.output_shape.width {
                for channel in 0..input_shape.channels {
                    let mut values = Vec::new();
                    for kernel_y in 0..window.kernel_height {
                        for kernel_x in 0..window.kernel_width {
                            let y =
                                (output_y * window.stride_height + kernel_y) as i64 - window.pad_top as i64;
                            let x =
                                (output_x * window.stride_width + kernel_x) as i64 - window.pad_left as i64;
                            if y < 0
                                || x < 0
                                || y >= input_shape.height as i64
                                || x >= input_shape.width as i64
                            {
                                continue;
                            }
                            let idx = (y as usize * input_shape.width + x as usize) * input_shape.channels
                                + channel;
                            values.push(i64::from(input[idx]));
                        }
                    }
                    let count = values.len() as i64;
                    let sum: i64 = values.iter().sum();
                    // Round half away from zero of sum / count.
                    let magnitude = (sum.abs() + count / 2) / count;
                    let average = if sum < 0 { -magnitude } else { magnitude };
                    output.push((*values.iter().max().unwrap() as i32, average as i32));
                }
            }
        }
        output
    }

    /// Runs max and average pooling built from fuzzed sizes (see [`fuzz_size`]); in "derive" mode
    /// (most cases) the paddings are reduced below the kernel and the output plane follows from
    /// the window so that the accepted path is reached. Returns how many runs accepted their
    /// arguments; a rejected run must leave the output untouched.
    fn fuzz_pools(
        sizes: &[usize],
        use_exact: &[bool],
        fallback_lens: &[usize],
        activation: ActivationRange,
        seed: u64,
    ) -> Result<usize, TestCaseError> {
        let derive = use_exact[2];
        let pad = |pad: usize, kernel: usize| if derive { pad.checked_rem(kernel).unwrap_or(0) } else { pad };
        let input_shape = Shape3 { height: sizes[0], width: sizes[1], channels: sizes[2] };
        let window = Window2d {
            kernel_height: sizes[6],
            kernel_width: sizes[7],
            stride_height: sizes[8],
            stride_width: sizes[9],
            pad_top: pad(sizes[10], sizes[6]),
            pad_left: pad(sizes[11], sizes[7]),
        };
        let output_shape = if derive {
            Shape3 {
                height: conv_output_len(
                    input_shape.height,
                    window.kernel_height,
                    window.stride_height,
                    window.pad_top,
                    pad(sizes[12], window.kernel_height),
                )
                .unwrap_or(sizes[3]),
                width: conv_output_len(
                    input_shape.width,
                    window.kernel_width,
                    window.stride_width,
                    window.pad_left,
                    pad(sizes[13], window.kernel_width),
                )
                .unwrap_or(sizes[4]),
                channels: input_shape.channels,
            }
        } else {
            Shape3 { height: sizes[3], width: sizes[4], channels: sizes[5] }
        };
        let pool = Pool2d { input_shape, output_shape, window, activation };
        let mut rng = SplitMix64::new(seed);
        let input = rng.i8_vec(buffer_len(input_shape.len(), fallback_lens[0], use_exact[0]));
        let output_len = buffer_len(output_shape.len(), fallback_lens[1], use_exact[1]);
        let mut accepted_runs = 0;
        for is_average in [false, true] {
            let mut output = vec![SENTINEL; output_len];
            let accepted = if is_average {
                pool.average(&input, &mut output)
            } else {
                let packed = pool.max_packed(&input, &mut output.clone());
                let reference = pool.max(&input, &mut output);
                assert_eq!(packed, reference);
                reference
            };
            if accepted {
                accepted_runs += 1;
            } else {
                prop_assert!(output.iter().all(|value| *value == SENTINEL));
            }
        }
        Ok(accepted_runs)
    }

    #[test]
    fn never_panics() {
        let cases = 1024;
        let mut runner = TestRunner::new(ProptestConfig { cases, ..ProptestConfig::default() });
        let accepted_runs = Cell::new(0);
        let strategy = (
            proptest::collection::vec(fuzz_size(), 14),
            proptest::collection::vec(proptest::bool::weighted(0.9), 3),
            proptest::collection::vec(0usize..48, 2),
            (any::<i32>(), any::<i32>()),
            any::<u64>(),
        );
        runner
            .run(&strategy, |(sizes, use_exact, fallback_lens, (min, max), seed)| {
                let activation = ActivationRange { min, max };
                accepted_runs.set(
                    accepted_runs.get() + fuzz_pools(&sizes, &use_exact, &fallback_lens, activation, seed)?,
                );
                Ok(())
            })
            .unwrap();
        // The accepted path must be exercised too, not only the rejections.
        assert!(accepted_runs.get() > cases as usize / 20, "only {} accepted runs", accepted_runs.get());
    }

    proptest! {
        #[test]
        fn matches_the_naive_reference(
            (plane_input, plane_output, window) in plane_geometry(),
            channels in prop_oneof![0usize..4, 30usize..70],
            seed in any::<u64>(),
        ) {
            let mut rng = SplitMix64::new(seed);
            let pool = Pool2d {
                input_shape: Shape3 { channels, ..plane_input },
                output_shape: Shape3 { channels, ..plane_output },
                window,
                activation: rng.activation(),
            };
            let input = rng.i8_vec(pool.input_shape.len());
            let expected = pool_naive(&input, &pool);
            let clamp = |value: i32| value.max(pool.activation.min).min(pool.activation.max) as i8;
            let mut output = vec![SENTINEL; pool.output_shape.len()];
            prop_assert!(pool.max(&input, &mut output));
            prop_assert_eq!(&output, &expected.iter().map(|pair| clamp(pair.0)).collect::<Vec<_>>());
            // The Armv7E-M kernel (its instructions emulated here) gives the same bytes.
            let mut packed = vec![SENTINEL; pool.output_shape.len()];
            prop_assert!(pool.max_packed(&input, &mut packed));
            prop_assert_eq!(&packed, &output);
            prop_assert!(pool.average(&input, &mut output));
            prop_assert_eq!(&output, &expected.iter().map(|pair| clamp(pair.1)).collect::<Vec<_>>());
        }

        #[test]
        fn float_results_are_within_bounds(
            (plane_input, plane_output, window) in plane_geometry(),
            channels in 1usize..4,
            seed in any::<u64>(),
        ) {
            let pool = Pool2d {
                input_shape: Shape3 { channels, ..plane_input },
                output_shape: Shape3 { channels, ..plane_output },
                window,
                activation: ActivationRange::NONE,
            };
            let mut rng = SplitMix64::new(seed);
            let lo = rng.f64_in(-3.0, 0.0);
            let lo_hi = lo + rng.f64_in(0.5, 6.0);
            let input = rng.f64_vec(pool.input_shape.len(), lo, lo_hi);
            let quant = AffineQuant::covering(&input);
            let quantized: Vec<i8> = input.iter().map(|value| quant.quantize(*value)).collect();
            let mut max_output = vec![0i8; pool.output_shape.len()];
            let mut average_output = vec![0i8; pool.output_shape.len()];
            prop_assert!(pool.max(&quantized, &mut max_output));
            prop_assert!(pool.average(&quantized, &mut average_output));
            let mut out_idx = 0;
            for output_y in 0..pool.output_shape.height {
                for output_x in 0..pool.output_shape.width {
                    for channel in 0..channels {
                        let mut taps = Vec::new();
                        for kernel_y in 0..window.kernel_height {
                            for kernel_x in 0..window.kernel_width {
                                let y = (output_y * window.stride_height + kernel_y) as i64 - window.pad_top as i64;
                                let x = (output_x * window.stride_width + kernel_x) as i64 - window.pad_left as i64;
                                if (0..plane_input.height as i64).contains(&y) && (0..plane_input.width as i64).contains(&x) {
                                    taps.push(input[(y as usize * plane_input.width + x as usize) * channels + channel]);
                                }
                            }
                        }
                        let float_max = taps.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                        let float_average = taps.iter().sum::<f64>() / taps.len() as f64;
                        // Max commutes with monotone quantization: only the input rounding (half a
                        // step, one step at the clamped top edge) remains.
                        let max_error = (quant.dequantize(max_output[out_idx]) - float_max).abs();
                        prop_assert!(max_error <= 1.0 * quant.scale + 1e-9, "max error {}", max_error / quant.scale);
                        // Average: input rounding (<= 1 step) plus the output rounding (half a step).
                        let average_error = (quant.dequantize(average_output[out_idx]) - float_average).abs();
                        prop_assert!(average_error <= 1.5 * quant.scale + 1e-9, "average error {}", average_error / quant.scale);
                        out_idx += 1;
                    }
                }
            }
        }
    }
}
