//! Test-only helpers shared by the kernel tests: seeded random data, float quantization and owned blobs.

use std::vec::Vec;

use crate::kernels::conv::{Shape3, Window2d, conv_output_len};
use crate::kernels::le::LeI32;
use crate::kernels::quant::{ActivationRange, ChannelRequant, quantize_multiplier};

/// SplitMix64: a tiny seeded generator so proptest only has to pick shapes and a seed.
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform integer in `lo..=hi`.
    pub fn int_in(&mut self, lo: i64, hi: i64) -> i64 {
        let span = (hi - lo) as u64 + 1;
        lo + (self.next_u64() % span) as i64
    }

    pub fn i8(&mut self) -> i8 {
        self.next_u64() as i8
    }

    pub fn i8_vec(&mut self, len: usize) -> Vec<i8> {
        (0..len).map(|_| self.i8()).collect()
    }

    /// Uniform float in `[lo, hi)`.
    pub fn f64_in(&mut self, lo: f64, hi: f64) -> f64 {
        let unit = (self.next_u64() >> 11) as f64 / (1_u64 << 53) as f64;
        lo + (hi - lo) * unit
    }

    pub fn f64_vec(&mut self, len: usize, lo: f64, hi: f64) -> Vec<f64> {
        (0..len).map(|_| self.f64_in(lo, hi)).collect()
    }

    /// NONE, a ReLU, or a random `min <= max` int8 range.
    pub fn activation(&mut self) -> ActivationRange {
        match self.int_in(0, 2) {
            0 => ActivationRange::NONE,
            1 => ActivationRange::relu(self.int_in(-128, 127) as i32),
            _ => {
                let a = self.int_in(-128, 127) as i32;
                let b = self.int_in(-128, 127) as i32;
                ActivationRange { min: a.min(b), max: a.max(b) }
            }
        }
    }
}

/// Little-endian bytes of `values`, as they are stored in a model blob.
pub fn le_bytes(values: &[i32]) -> Vec<u8> {
    values.iter().flat_map(|value| value.to_le_bytes()).collect()
}

pub fn le_view(bytes: &[u8]) -> LeI32<'_> {
    LeI32::new(bytes).expect("length is a multiple of 4")
}

/// Requantization arrays owned by a test, viewed as [`ChannelRequant`].
pub struct OwnedRequant {
    pub multipliers: Vec<u8>,
    pub shifts: Vec<u8>,
}

impl OwnedRequant {
    pub fn from_pairs(pairs: &[(i32, i32)]) -> Self {
        let multipliers: Vec<i32> = pairs.iter().map(|pair| pair.0).collect();
        let shifts: Vec<i32> = pairs.iter().map(|pair| pair.1).collect();
        Self { multipliers: le_bytes(&multipliers), shifts: le_bytes(&shifts) }
    }

    pub fn from_reals(reals: &[f64]) -> Self {
        let pairs: Vec<(i32, i32)> = reals.iter().map(|real| quantize_multiplier(*real)).collect();
        Self::from_pairs(&pairs)
    }

    /// Random multipliers in `[2^30, 2^31)` (sometimes 0) with shifts in `−16..=1`.
    pub fn random(rng: &mut SplitMix64, n_channels: usize) -> Self {
        let pairs: Vec<(i32, i32)> = (0..n_channels)
            .map(|_| {
                let multiplier =
                    if rng.int_in(0, 15) == 0 { 0 } else { rng.int_in(1 << 30, i64::from(i32::MAX)) as i32 };
                (multiplier, rng.int_in(-16, 1) as i32)
            })
            .collect();
        Self::from_pairs(&pairs)
    }

    pub fn view(&self) -> ChannelRequant<'_> {
        ChannelRequant { multipliers: le_view(&self.multipliers), shifts: le_view(&self.shifts) }
    }
}

/// Asymmetric per-tensor int8 quantization: `real = (q − zero_point) · scale`.
#[derive(Clone, Copy, Debug)]
pub struct AffineQuant {
    pub scale: f64,
    pub zero_point: i32,
}

impl AffineQuant {
    /// Covers `[min(values ∪ {0}), max(values ∪ {0})]` with the 256 int8 levels, as the converter
    /// does: `scale = (hi − lo)/255`, `zero_point = −128 − round(lo/scale)`.
    pub fn covering(values: &[f64]) -> Self {
        let lo = values.iter().copied().fold(0.0_f64, f64::min);
        let hi = values.iter().copied().fold(0.0_f64, f64::max);
        let scale = if hi > lo { (hi - lo) / 255.0 } else { 1.0 / 255.0 };
        let zero_point = (-128.0 - (lo / scale).round()).clamp(-128.0, 127.0) as i32;
        Self { scale, zero_point }
    }

    pub fn quantize(&self, value: f64) -> i8 {
        ((value / self.scale).round() + f64::from(self.zero_point)).clamp(-128.0, 127.0) as i8
    }

    pub fn dequantize(&self, quantized: i8) -> f64 {
        f64::from(i32::from(quantized) - self.zero_point) * self.scale
    }
}

/// A float linear layer (fully connected, conv2d, depthwise) quantized the way the converter does
/// it, with the float result it should approximate and a per-output error bound.
pub struct QuantizedLinear {
    pub input: Vec<i8>,
    pub input_quant: AffineQuant,
    pub weights: Vec<i8>,
    pub bias: Vec<u8>,
    pub requant: OwnedRequant,
    pub output_quant: AffineQuant,
    /// The float layer applied to the original float tensors.
    pub expected: Vec<f64>,
    /// Allowed `|dequantized output − expected|` per output.
    pub bounds: Vec<f64>,
}

impl QuantizedLinear {
    /// Quantizes `input` asymmetrically, `weights` symmetrically per output channel
    /// (`weight_channel(weight_idx)`) and `bias` with scale `input_scale · weight_scale[c]`.
    ///
    /// `float_layer(input, weights, bias)` is the layer in f64; output `o` belongs to channel
    /// `output_channel(o)`. The bound for each output is `1.5 · output_scale` (two roundings plus
    /// clamping at the edge of the output range) plus the effect of quantizing the operands, which
    /// by linearity is `float_layer(|x − x̂|, |w|, 0) + float_layer(|x̂|, |w − ŵ|, 0) + |b − b̂|`.
    /// `multiplier_error` scales every real multiplier (1.0 for a correct kernel setup).
    pub fn build(
        input: &[f64],
        weights: &[f64],
        bias: &[f64],
        weight_channel: impl Fn(usize) -> usize,
        output_channel: impl Fn(usize) -> usize,
        float_layer: impl Fn(&[f64], &[f64], &[f64]) -> Vec<f64>,
        multiplier_error: f64,
    ) -> Self {
        let n_channels = bias.len();
        let input_quant = AffineQuant::covering(input);
        let quantized_input: Vec<i8> = input.iter().map(|x| input_quant.quantize(*x)).collect();
        let dequantized_input: Vec<f64> =
            quantized_input.iter().map(|q| input_quant.dequantize(*q)).collect();

        let mut weight_scales = std::vec![0.0_f64; n_channels];
        for (weight_idx, weight) in weights.iter().enumerate() {
            let channel = weight_channel(weight_idx);
            weight_scales[channel] = weight_scales[channel].max(weight.abs() / 127.0);
        }
        for scale in &mut weight_scales {
            if *scale == 0.0 {
                *scale = 1.0 / 127.0;
            }
        }
        let quantized_weights: Vec<i8> = weights
            .iter()
            .enumerate()
            .map(|(weight_idx, weight)| {
                (weight / weight_scales[weight_channel(weight_idx)]).round().clamp(-127.0, 127.0) as i8
            })
            .collect();
        let dequantized_weights: Vec<f64> = quantized_weights
            .iter()
            .enumerate()
            .map(|(weight_idx, q)| f64::from(*q) * weight_scales[weight_channel(weight_idx)])
            .collect();

        let bias_scales: Vec<f64> = weight_scales.iter().map(|scale| input_quant.scale * scale).collect();
        let quantized_bias: Vec<i32> =
            bias.iter().zip(&bias_scales).map(|(b, scale)| (b / scale).round() as i32).collect();
        let bias_errors: Vec<f64> = bias
            .iter()
            .zip(&quantized_bias)
            .zip(&bias_scales)
            .map(|((b, q), scale)| (b - f64::from(*q) * scale).abs())
            .collect();

        let expected = float_layer(input, weights, bias);
        let zero_bias = std::vec![0.0; n_channels];
        let input_errors: Vec<f64> =
            input.iter().zip(&dequantized_input).map(|(x, x_hat)| (x - x_hat).abs()).collect();
        let abs_weights: Vec<f64> = weights.iter().map(|w| w.abs()).collect();
        let abs_dequantized_input: Vec<f64> = dequantized_input.iter().map(|x| x.abs()).collect();
        let weight_errors: Vec<f64> =
            weights.iter().zip(&dequantized_weights).map(|(w, w_hat)| (w - w_hat).abs()).collect();
        let input_error_effect = float_layer(&input_errors, &abs_weights, &zero_bias);
        let weight_error_effect = float_layer(&abs_dequantized_input, &weight_errors, &zero_bias);

        let output_quant = AffineQuant::covering(&expected);
        let bounds = (0..expected.len())
            .map(|out_idx| {
                1.5 * output_quant.scale
                    + input_error_effect[out_idx]
                    + weight_error_effect[out_idx]
                    + bias_errors[output_channel(out_idx)]
                    + 1e-9
            })
            .collect();
        let reals: Vec<f64> =
            bias_scales.iter().map(|scale| scale / output_quant.scale * multiplier_error).collect();
        Self {
            input: quantized_input,
            input_quant,
            weights: quantized_weights,
            bias: le_bytes(&quantized_bias),
            requant: OwnedRequant::from_reals(&reals),
            output_quant,
            expected,
            bounds,
        }
    }

    /// `input_offset` for the kernel: `−input_zero_point`.
    pub fn input_offset(&self) -> i32 {
        -self.input_quant.zero_point
    }

    /// The largest `|dequantized − expected| − bound` over all outputs (<= 0 means within bounds).
    pub fn worst_excess(&self, output: &[i8]) -> f64 {
        assert_eq!(output.len(), self.expected.len());
        output
            .iter()
            .zip(&self.expected)
            .zip(&self.bounds)
            .map(|((q, expected), bound)| (self.output_quant.dequantize(*q) - expected).abs() - bound)
            .fold(f64::NEG_INFINITY, f64::max)
    }
}

/// The value output buffers are filled with before a run that must not write.
pub const SENTINEL: i8 = 0x5A;

/// A random sliding-window geometry (channels left at 0): input planes up to 6×6, kernels up to
/// 4×4, strides up to 3 and each padding smaller than the kernel, with the output size from
/// [`conv_output_len`] of the explicit paddings.
pub fn plane_geometry() -> impl proptest::strategy::Strategy<Value = (Shape3, Shape3, Window2d)> {
    use proptest::strategy::{Just, Strategy};
    (1usize..=6, 1usize..=6, 1usize..=4, 1usize..=4, 1usize..=3, 1usize..=3)
        .prop_flat_map(|(height, width, kernel_height, kernel_width, stride_height, stride_width)| {
            (
                Just((height, width)),
                Just(Window2d {
                    kernel_height,
                    kernel_width,
                    stride_height,
                    stride_width,
                    pad_top: 0,
                    pad_left: 0,
                }),
                (0..kernel_height, 0..kernel_height, 0..kernel_width, 0..kernel_width),
            )
        })
        .prop_filter_map(
            "kernel larger than the padded input",
            |((height, width), window, (pad_top, pad_bottom, pad_left, pad_right))| {
                let output_height =
                    conv_output_len(height, window.kernel_height, window.stride_height, pad_top, pad_bottom)?;
                let output_width =
                    conv_output_len(width, window.kernel_width, window.stride_width, pad_left, pad_right)?;
                Some((
                    Shape3 { height, width, channels: 0 },
                    Shape3 { height: output_height, width: output_width, channels: 0 },
                    Window2d { pad_top, pad_left, ..window },
                ))
            },
        )
}

/// Mostly small sizes, sometimes 0 and sometimes huge: for never-panics tests.
pub fn fuzz_size() -> impl proptest::strategy::Strategy<Value = usize> {
    use proptest::prelude::*;
    prop_oneof![
        12 => 1usize..5,
        1 => Just(0usize),
        1 => Just(usize::MAX),
        1 => Just(usize::MAX / 2 + 1),
        1 => (1usize << 20)..(1usize << 40),
    ]
}

/// `exact` when it is small enough to allocate, otherwise `fallback`.
pub fn buffer_len(exact: usize, fallback: usize, use_exact: bool) -> usize {
    if use_exact && exact <= 512 { exact } else { fallback }
}
