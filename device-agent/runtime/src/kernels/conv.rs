//! int8 2-D convolution and depthwise convolution over `[height][width][channels]` tensors, with the
//! sliding-window geometry (output sizes, SAME padding) they share with pooling.
//!
//! Semantics are TFLite's `ConvPerChannel` and `DepthwiseConvPerChannel` reference kernels with
//! dilation 1. A 1-D convolution over time is a 2-D one with height 1 and width = time.

use core::ops::Range;

use crate::kernels::dot::dot;
use crate::kernels::le::LeI32;
use crate::kernels::packed::{
    CHANNEL_BLOCK, ChannelBlock, PACKED_VALUES, Packed, Scratch, dot_two_by_two, dot_two_rows, offset_fits,
};
use crate::kernels::quant::{ActivationRange, ChannelRequant};
use crate::kernels::simd::{pair, sadd16, smlabb, smlatt, sxtb16, sxtb16_ror8, word};

/// Dimensions of an activation tensor stored as `[height][width][channels]`, row-major.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape3 {
    pub height: usize,
    pub width: usize,
    pub channels: usize,
}

impl Shape3 {
    /// `height · width · channels`, saturating at `usize::MAX`.
    ///
    /// A saturated value can never equal a slice length (those are at most `isize::MAX`), so a
    /// length check against it fails instead of wrapping around.
    pub fn len(&self) -> usize {
        self.height.saturating_mul(self.width).saturating_mul(self.channels)
    }

    /// True when the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A sliding window with explicit leading padding.
///
/// The trailing padding (`pad_bottom`, `pad_right`) is implied by the output shape: it is the
/// least padding that fits the last window. Kernels accept a window only when the output size
/// equals [`conv_output_len`] with that padding and both paddings are smaller than the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window2d {
    pub kernel_height: usize,
    pub kernel_width: usize,
    pub stride_height: usize,
    pub stride_width: usize,
    pub pad_top: usize,
    pub pad_left: usize,
}

/// Output length along one axis with explicit padding:
/// `(input + pad_before + pad_after − kernel) / stride + 1` (integer division).
///
/// `None` when `stride == 0`, `kernel == 0`, the padded input is shorter than the kernel, or the
/// padded length overflows `usize`.
pub fn conv_output_len(
    input: usize,
    kernel: usize,
    stride: usize,
    pad_before: usize,
    pad_after: usize,
) -> Option<usize> {
    if stride == 0 || kernel == 0 {
        return None;
    }
    let padded = input.checked_add(pad_before)?.checked_add(pad_after)?;
    let room = padded.checked_sub(kernel)?;
    Some(room / stride + 1)
}

/// TFLite SAME padding along one axis, as `(pad_before, pad_after)`.
///
/// The output length is `ceil(input / stride)`;
/// `total = max(0, (output − 1) · stride + kernel − input)`, `pad_before = total / 2` and
/// `pad_after = total − pad_before` (the odd element goes after, as in TFLite).
/// A `stride` of 0 has no SAME padding and gives `(0, 0)`.
pub fn same_padding(input: usize, kernel: usize, stride: usize) -> (usize, usize) {
    if stride == 0 {
        return (0, 0);
    }
    let output = input.div_ceil(stride);
    // In i128 nothing overflows, and (output − 1)·stride < input keeps `total` below `kernel`.
    let needed = (output as i128 - 1) * stride as i128 + kernel as i128;
    let total = (needed - input as i128).clamp(0, kernel as i128) as usize;
    (total / 2, total - total / 2)
}

/// True when `output` is the output length of a window `(kernel, stride, pad_before)` over
/// `input` and every window overlaps the input.
///
/// The trailing padding is implied by the output: the least `pad_after` that fits the last
/// window, `max(0, (output − 1) · stride + kernel − input − pad_before)`. The axis fits when
/// `input >= 1`, `pad_before < kernel`, `pad_after < kernel` and
/// `conv_output_len(input, kernel, stride, pad_before, pad_after) == Some(output)`.
/// The padding limits mean no window lies entirely in the padding; every TFLite SAME and VALID
/// layer satisfies them (SAME pads less than a kernel in total). The equality rejects outputs that
/// leave out a whole window that would fit.
pub fn axis_fits(input: usize, output: usize, kernel: usize, stride: usize, pad_before: usize) -> bool {
    let Some(last_window_start) = output.checked_sub(1).and_then(|last| last.checked_mul(stride)) else {
        return false;
    };
    let (Some(span), Some(padded_before)) =
        (last_window_start.checked_add(kernel), input.checked_add(pad_before))
    else {
        return false;
    };
    let pad_after = span.saturating_sub(padded_before);
    input >= 1
        && pad_before < kernel
        && pad_after < kernel
        && conv_output_len(input, kernel, stride, pad_before, pad_after) == Some(output)
}

/// Kernel taps `k` of output position `output_idx` whose input position
/// `output_idx · stride + k − pad_before` lies inside `0..input`.
fn taps_inside(
    output_idx: usize,
    kernel: usize,
    stride: usize,
    pad_before: usize,
    input: usize,
) -> Range<usize> {
    let origin = output_idx.saturating_mul(stride);
    let start = pad_before.saturating_sub(origin).min(kernel);
    let end = input.saturating_add(pad_before).saturating_sub(origin).min(kernel);
    start..end.max(start)
}

/// `Σ_{output_idx} |taps_inside(output_idx)|` along one axis, saturating.
fn axis_tap_count(output: usize, kernel: usize, stride: usize, pad_before: usize, input: usize) -> u64 {
    (0..output).fold(0_u64, |count, output_idx| {
        count.saturating_add(taps_inside(output_idx, kernel, stride, pad_before, input).len() as u64)
    })
}

impl Window2d {
    /// True when both spatial axes of `output` are consistent with this window over `input`:
    /// `output` is [`conv_output_len`] of the leading padding and the least trailing padding that
    /// fits, the input is not empty, and both paddings are smaller than the kernel (so every window
    /// overlaps the input, as in all TFLite SAME and VALID layers). Channels are not compared.
    pub(crate) fn fits(&self, input: Shape3, output: Shape3) -> bool {
        axis_fits(input.height, output.height, self.kernel_height, self.stride_height, self.pad_top)
            && axis_fits(input.width, output.width, self.kernel_width, self.stride_width, self.pad_left)
    }

    /// Kernel rows `ky` of output row `output_y` that read input row
    /// `output_y · stride_height + ky − pad_top` inside `0..input_height`.
    pub(crate) fn rows_inside(&self, output_y: usize, input_height: usize) -> Range<usize> {
        taps_inside(output_y, self.kernel_height, self.stride_height, self.pad_top, input_height)
    }

    /// Kernel columns `kx` of output column `output_x` that read an input column inside the input.
    pub(crate) fn columns_inside(&self, output_x: usize, input_width: usize) -> Range<usize> {
        taps_inside(output_x, self.kernel_width, self.stride_width, self.pad_left, input_width)
    }

    /// Output columns below `output_width` whose kernel columns all read inside an input row of
    /// `input_width` (`pad_left <= x·stride` and `x·stride − pad_left + kernel_width <= width`).
    pub(crate) fn interior_columns(&self, input_width: usize, output_width: usize) -> Range<usize> {
        match (input_width + self.pad_left).checked_sub(self.kernel_width) {
            Some(room) => {
                self.pad_left.div_ceil(self.stride_width)..(room / self.stride_width + 1).min(output_width)
            }
            None => 0..0,
        }
    }

    /// For a one-row window without top padding, the output columns whose taps are
    /// `kernel_width` consecutive pixels of one input row, each starting at
    /// [`Window2d::first_pixel`]; empty for any other window.
    pub(crate) fn one_row_interior(&self, input_width: usize, output_width: usize) -> Range<usize> {
        if self.kernel_height == 1 && self.pad_top == 0 {
            self.interior_columns(input_width, output_width)
        } else {
            0..0
        }
    }

    /// The input pixel of the first tap of output `(output_y, output_x)`, for a column in
    /// [`Window2d::one_row_interior`].
    pub(crate) fn first_pixel(&self, output_y: usize, output_x: usize, input_width: usize) -> usize {
        output_y * self.stride_height * input_width + output_x * self.stride_width - self.pad_left
    }

    /// `(input pixel, kernel tap)` of every tap of output `(output_y, output_x)` that lies inside
    /// the input, row by row: the pixel is `iy · input.width + ix` and the tap
    /// `ky · kernel_width + kx`. Only for a window that [`Window2d::fits`] `input`.
    pub(crate) fn taps_of(
        &self,
        input: Shape3,
        output_y: usize,
        output_x: usize,
    ) -> impl Iterator<Item = (usize, usize)> + Clone {
        let Window2d { kernel_width, stride_height, stride_width, pad_top, pad_left, .. } = *self;
        let columns = self.columns_inside(output_x, input.width);
        self.rows_inside(output_y, input.height).flat_map(move |kernel_y| {
            let input_y = output_y * stride_height + kernel_y - pad_top;
            columns.clone().map(move |kernel_x| {
                let input_x = output_x * stride_width + kernel_x - pad_left;
                // The tap wraps only for windows no filter could have (a pooling window wider
                // than memory); a kernel with a filter has `kernel_height · kernel_width` taps.
                (input_y * input.width + input_x, kernel_y.wrapping_mul(kernel_width).wrapping_add(kernel_x))
            })
        })
    }

    /// Number of `(output position, kernel tap)` pairs that read inside the input, over the whole
    /// output plane. Inside-ness is separable, so this is (row pairs) · (column pairs).
    pub(crate) fn taps_inside_count(&self, input: Shape3, output: Shape3) -> u64 {
        let row_pairs =
            axis_tap_count(output.height, self.kernel_height, self.stride_height, self.pad_top, input.height);
        let column_pairs =
            axis_tap_count(output.width, self.kernel_width, self.stride_width, self.pad_left, input.width);
        row_pairs.saturating_mul(column_pairs)
    }
}

/// A 2-D convolution with per-output-channel requantization.
#[derive(Clone, Copy, Debug)]
pub struct Conv2d<'a> {
    pub input_shape: Shape3,
    pub output_shape: Shape3,
    pub window: Window2d,
    /// `−input_zero_point`.
    pub input_offset: i32,
    /// `[out_channels][kernel_height][kernel_width][in_channels]`, symmetric (zero point 0).
    pub filter: &'a [i8],
    /// `out_channels` biases with scale `input_scale · filter_scale[oc]`, or empty for no bias.
    pub bias: LeI32<'a>,
    /// `out_channels` multipliers and shifts for `input_scale · filter_scale[oc] / output_scale`.
    pub requant: ChannelRequant<'a>,
    /// `output_zero_point`.
    pub output_offset: i32,
    pub activation: ActivationRange,
}

impl Conv2d<'_> {
    /// True when every length and shape precondition of [`Conv2d::run`] holds.
    fn accepts(&self, input_len: usize, output_len: usize) -> bool {
        let out_channels = self.output_shape.channels;
        let filter_len = out_channels
            .saturating_mul(self.window.kernel_height)
            .saturating_mul(self.window.kernel_width)
            .saturating_mul(self.input_shape.channels);
        input_len == self.input_shape.len()
            && output_len == self.output_shape.len()
            && self.window.fits(self.input_shape, self.output_shape)
            && self.filter.len() == filter_len
            && self.requant.has_channels(out_channels)
            && (self.bias.is_empty() || self.bias.len() == out_channels)
    }

    /// For every output position `(y, x)` and output channel `oc`:
    ///
    /// ```text
    /// acc = bias[oc] + Σ_{ky, kx, ic} (input[iy][ix][ic] + input_offset) · filter[oc][ky][kx][ic]
    ///       with iy = y · stride_height + ky − pad_top, ix = x · stride_width + kx − pad_left
    /// output[y][x][oc] = clamp(multiply_by_quantized_multiplier(acc, multipliers[oc], shifts[oc])
    ///                          + output_offset, activation.min, activation.max)
    /// ```
    ///
    /// The sum runs only over taps inside the input: a padding tap stands for the input zero
    /// point and adds 0. `bias[oc]` is 0 without bias.
    ///
    /// Returns `false` and writes nothing unless: `input.len()` and `output.len()` match the
    /// shapes; the output height and width are consistent with the window (see [`Window2d`]:
    /// [`conv_output_len`] with the implied trailing padding, non-empty input, paddings smaller
    /// than the kernel); `filter.len() == out_channels · kernel_height ·
    /// kernel_width · in_channels`; the requantization arrays hold `out_channels` values; the bias
    /// holds `out_channels` or 0 values.
    ///
    /// Overflow is handled as in [`crate::kernels::FullyConnected::run`]: wrapping `i32` accumulation and a
    /// saturating `+ output_offset`.
    ///
    /// On Armv7E-M cores this runs the packed kernel ([`Conv2d::run_packed`]), elsewhere the
    /// reference loop ([`Conv2d::run_reference`]); both give the same integers.
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

    /// [`Conv2d::run`] with the interpreter's scratch memory.
    pub(crate) fn run_in(&self, input: &[i8], output: &mut [i8], scratch: &mut Scratch) -> bool {
        #[cfg(all(target_arch = "arm", target_feature = "dsp", not(feature = "portable-kernels")))]
        {
            self.run_packed_in(input, output, scratch)
        }
        #[cfg(not(all(target_arch = "arm", target_feature = "dsp", not(feature = "portable-kernels"))))]
        {
            let _ = scratch;
            self.run_reference(input, output)
        }
    }

    /// [`Conv2d::run`] one output at a time, one dot product per kernel row inside the input.
    pub fn run_reference(&self, input: &[i8], output: &mut [i8]) -> bool {
        if !self.accepts(input.len(), output.len()) {
            return false;
        }
        if output.is_empty() {
            return true;
        }
        let Shape3 { height: input_height, width: input_width, channels: in_channels } = self.input_shape;
        let Shape3 { height: output_height, width: output_width, channels: out_channels } = self.output_shape;
        let Window2d { kernel_height, kernel_width, stride_height, stride_width, pad_top, pad_left } =
            self.window;
        for output_y in 0..output_height {
            let rows = self.window.rows_inside(output_y, input_height);
            let row_origin = output_y * stride_height;
            for output_x in 0..output_width {
                let columns = self.window.columns_inside(output_x, input_width);
                let column_origin = output_x * stride_width;
                let output_pixel = (output_y * output_width + output_x) * out_channels;
                for out_channel in 0..out_channels {
                    let mut acc = self.bias.get(out_channel);
                    // With no input channels every tap is empty; skipping the loops keeps the run
                    // time bounded by the buffer sizes even for huge (valid) empty inputs.
                    if in_channels > 0 && !columns.is_empty() {
                        // The taps of one kernel row that lie inside the input are contiguous in
                        // both the input (NHWC) and the filter: one dot product per row.
                        let span = columns.len() * in_channels;
                        for kernel_y in rows.clone() {
                            let input_y = row_origin + kernel_y - pad_top;
                            let input_x = column_origin + columns.start - pad_left;
                            let input_start = (input_y * input_width + input_x) * in_channels;
                            let filter_start = ((out_channel * kernel_height + kernel_y) * kernel_width
                                + columns.start)
                                * in_channels;
                            acc = dot(
                                &input[input_start..input_start + span],
                                &self.filter[filter_start..filter_start + span],
                                self.input_offset,
                                acc,
                            );
                        }
                    }
                    let requantized =
                        self.requant.requantize(out_channel, acc).saturating_add(self.output_offset);
                    output[output_pixel + out_channel] = self.activation.clamp_quantized(requantized);
                }
            }
        }
        true
    }

    /// [`Conv2d::run`] with the receptive fields of two output positions packed once
    /// (`kernels::packed`) and multiplied by two output channels' filters at a time, with biases
    /// and multipliers decoded once per layer. Falls back to [`Conv2d::run_reference`] when a
    /// receptive field is longer than the packed buffer.
    pub fn run_packed(&self, input: &[i8], output: &mut [i8]) -> bool {
        self.run_packed_in(input, output, &mut Scratch::new())
    }

    fn run_packed_in(&self, input: &[i8], output: &mut [i8], scratch: &mut Scratch) -> bool {
        if !self.accepts(input.len(), output.len()) {
            return false;
        }
        let taps = self
            .window
            .kernel_height
            .saturating_mul(self.window.kernel_width)
            .saturating_mul(self.input_shape.channels);
        if output.is_empty() || taps == 0 || taps > PACKED_VALUES || !offset_fits(self.input_offset) {
            return self.run_reference(input, output);
        }
        let Shape3 { height: output_height, width: output_width, channels: out_channels } = self.output_shape;
        let (offset, activation) = (self.output_offset, self.activation);
        let interior = self.window.interior_columns(self.input_shape.width, output_width);
        let fields = &mut scratch.fields;
        for first_channel in (0..out_channels).step_by(CHANNEL_BLOCK) {
            let channels = first_channel..(first_channel + CHANNEL_BLOCK).min(out_channels);
            let block = ChannelBlock::load(&self.bias, &self.requant, channels.clone());
            let filters = &self.filter[channels.start * taps..channels.end * taps];
            for output_y in 0..output_height {
                let mut output_x = 0;
                while output_x < output_width {
                    let positions = (output_width - output_x).min(2);
                    self.pack(&mut fields[0], input, output_y, output_x, &interior);
                    if positions == 2 {
                        self.pack(&mut fields[1], input, output_y, output_x + 1, &interior);
                    }
                    let first = (output_y * output_width + output_x) * out_channels + channels.start;
                    let second = first + out_channels;
                    let mut pairs = filters.chunks_exact(2 * taps);
                    let mut local = 0;
                    for pair in &mut pairs {
                        let (row0, row1) = pair.split_at(taps);
                        let (bias0, bias1) = (block.bias(local), block.bias(local + 1));
                        if positions == 2 {
                            let acc = dot_two_by_two(
                                [&fields[0], &fields[1]],
                                [row0, row1],
                                [bias0, bias1, bias0, bias1],
                            );
                            output[first + local] = block.output(local, acc[0], offset, activation);
                            output[first + local + 1] = block.output(local + 1, acc[1], offset, activation);
                            output[second + local] = block.output(local, acc[2], offset, activation);
                            output[second + local + 1] = block.output(local + 1, acc[3], offset, activation);
                        } else {
                            let acc = dot_two_rows(&fields[0], [row0, row1], [bias0, bias1]);
                            output[first + local] = block.output(local, acc[0], offset, activation);
                            output[first + local + 1] = block.output(local + 1, acc[1], offset, activation);
                        }
                        local += 2;
                    }
                    let last = pairs.remainder();
                    if !last.is_empty() {
                        let bias = block.bias(local);
                        if positions == 2 {
                            let acc = dot_two_by_two([&fields[0], &fields[1]], [last, last], [bias; 4]);
                            output[first + local] = block.output(local, acc[0], offset, activation);
                            output[second + local] = block.output(local, acc[2], offset, activation);
                        } else {
                            let acc = dot_two_rows(&fields[0], [last, last], [bias; 2]);
                            output[first + local] = block.output(local, acc[0], offset, activation);
                        }
                    }
                    output_x += positions;
                }
            }
        }
        true
    }

    /// Packs the receptive field of output `(output_y, output_x)` in filter order
    /// (`[kernel_y][kernel_x][in_channel]`), padding taps as 0. `interior` holds the output
    /// columns whose window lies wholly inside the input.
    #[inline(always)]
    fn pack(
        &self,
        field: &mut Packed,
        input: &[i8],
        output_y: usize,
        output_x: usize,
        interior: &Range<usize>,
    ) {
        let Window2d { kernel_height, kernel_width, stride_height, stride_width, pad_left, .. } = self.window;
        if kernel_height == 1 && interior.contains(&output_x) {
            // A 1-D convolution away from the edges (one kernel row, so no vertical padding):
            // one contiguous span.
            let row_len = kernel_width * self.input_shape.channels;
            let input_x = output_x * stride_width - pad_left;
            let input_start =
                (output_y * stride_height * self.input_shape.width + input_x) * self.input_shape.channels;
            if let Some(span) = input.get(input_start..input_start + row_len) {
                field.load(span, self.input_offset);
                return;
            }
        }
        self.gather(field, input, output_y, output_x);
    }

    /// [`Conv2d::pack`] for any position, with padding.
    fn gather(&self, field: &mut Packed, input: &[i8], output_y: usize, output_x: usize) {
        let Shape3 { height: input_height, width: input_width, channels: in_channels } = self.input_shape;
        let Window2d { kernel_height, kernel_width, stride_height, stride_width, pad_top, pad_left } =
            self.window;
        let row_len = kernel_width * in_channels;
        let rows = self.window.rows_inside(output_y, input_height);
        let columns = self.window.columns_inside(output_x, input_width);
        let column_origin = output_x * stride_width;
        field.begin(kernel_height * row_len);
        if columns.len() == kernel_width {
            // Every column inside: each kernel row inside the input is one contiguous span.
            let input_x = column_origin - pad_left;
            for kernel_y in 0..kernel_height {
                if rows.contains(&kernel_y) {
                    let input_y = output_y * stride_height + kernel_y - pad_top;
                    let input_start = (input_y * input_width + input_x) * in_channels;
                    field.put(
                        kernel_y * row_len,
                        &input[input_start..input_start + row_len],
                        self.input_offset,
                    );
                } else {
                    field.zeros(kernel_y * row_len, row_len);
                }
            }
            return;
        }
        for kernel_y in 0..kernel_height {
            let row_start = kernel_y * row_len;
            if !rows.contains(&kernel_y) || columns.is_empty() {
                field.zeros(row_start, row_len);
                continue;
            }
            let input_y = output_y * stride_height + kernel_y - pad_top;
            let input_x = column_origin + columns.start - pad_left;
            let input_start = (input_y * input_width + input_x) * in_channels;
            let span = columns.len() * in_channels;
            field.zeros(row_start, columns.start * in_channels);
            field.put(
                row_start + columns.start * in_channels,
                &input[input_start..input_start + span],
                self.input_offset,
            );
            field.zeros(row_start + columns.end * in_channels, row_len - columns.end * in_channels);
        }
    }

    /// Multiply-accumulates one run performs: taps inside the input (padding taps are skipped)
    /// times `in_channels · out_channels`, saturating. Takes `O(output height + width)` time.
    pub fn macs(&self) -> u64 {
        if self.input_shape.channels == 0 || self.output_shape.channels == 0 {
            return 0;
        }
        self.window
            .taps_inside_count(self.input_shape, self.output_shape)
            .saturating_mul(self.input_shape.channels as u64)
            .saturating_mul(self.output_shape.channels as u64)
    }
}

/// A depthwise 2-D convolution with per-output-channel requantization.
///
/// `out_channels = in_channels · depth_multiplier`, and output channel `oc` reads input channel
/// `oc / depth_multiplier`.
#[derive(Clone, Copy, Debug)]
pub struct DepthwiseConv2d<'a> {
    pub input_shape: Shape3,
    pub output_shape: Shape3,
    pub window: Window2d,
    pub depth_multiplier: usize,
    /// `−input_zero_point`.
    pub input_offset: i32,
    /// `[1][kernel_height][kernel_width][out_channels]`, symmetric (zero point 0).
    pub filter: &'a [i8],
    /// `out_channels` biases with scale `input_scale · filter_scale[oc]`, or empty for no bias.
    pub bias: LeI32<'a>,
    /// `out_channels` multipliers and shifts for `input_scale · filter_scale[oc] / output_scale`.
    pub requant: ChannelRequant<'a>,
    /// `output_zero_point`.
    pub output_offset: i32,
    pub activation: ActivationRange,
}

impl DepthwiseConv2d<'_> {
    /// True when every length and shape precondition of [`DepthwiseConv2d::run`] holds.
    fn accepts(&self, input_len: usize, output_len: usize) -> bool {
        let out_channels = self.output_shape.channels;
        let filter_len =
            self.window.kernel_height.saturating_mul(self.window.kernel_width).saturating_mul(out_channels);
        self.depth_multiplier > 0
            && self.input_shape.channels.checked_mul(self.depth_multiplier) == Some(out_channels)
            && input_len == self.input_shape.len()
            && output_len == self.output_shape.len()
            && self.window.fits(self.input_shape, self.output_shape)
            && self.filter.len() == filter_len
            && self.requant.has_channels(out_channels)
            && (self.bias.is_empty() || self.bias.len() == out_channels)
    }

    /// For every output position `(y, x)` and output channel `oc`:
    ///
    /// ```text
    /// ic  = oc / depth_multiplier
    /// acc = bias[oc] + Σ_{ky, kx} (input[iy][ix][ic] + input_offset) · filter[ky][kx][oc]
    /// output[y][x][oc] = clamp(multiply_by_quantized_multiplier(acc, multipliers[oc], shifts[oc])
    ///                          + output_offset, activation.min, activation.max)
    /// ```
    ///
    /// over the taps inside the input, with `iy`, `ix` as in [`Conv2d::run`].
    ///
    /// Returns `false` and writes nothing unless `depth_multiplier >= 1`,
    /// `out_channels == in_channels · depth_multiplier`, the lengths match the shapes, the output
    /// spatial size is consistent with the window (as for [`Conv2d::run`]),
    /// `filter.len() == kernel_height · kernel_width · out_channels`, the requantization arrays
    /// hold `out_channels` values and the bias `out_channels` or 0 values.
    ///
    /// On Armv7E-M cores this runs [`DepthwiseConv2d::run_packed`], elsewhere
    /// [`DepthwiseConv2d::run_reference`]; both give the same integers.
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

    /// [`DepthwiseConv2d::run`] one output value at a time.
    pub fn run_reference(&self, input: &[i8], output: &mut [i8]) -> bool {
        if !self.accepts(input.len(), output.len()) {
            return false;
        }
        if output.is_empty() {
            return true;
        }
        let Shape3 { height: input_height, width: input_width, channels: in_channels } = self.input_shape;
        let Shape3 { height: output_height, width: output_width, channels: out_channels } = self.output_shape;
        let Window2d { kernel_width, stride_height, stride_width, pad_top, pad_left, .. } = self.window;
        for output_y in 0..output_height {
            let rows = self.window.rows_inside(output_y, input_height);
            let row_origin = output_y * stride_height;
            for output_x in 0..output_width {
                let columns = self.window.columns_inside(output_x, input_width);
                let column_origin = output_x * stride_width;
                let output_pixel = (output_y * output_width + output_x) * out_channels;
                for out_channel in 0..out_channels {
                    let in_channel = out_channel / self.depth_multiplier;
                    let mut acc = self.bias.get(out_channel);
                    for kernel_y in rows.clone() {
                        let input_y = row_origin + kernel_y - pad_top;
                        for kernel_x in columns.clone() {
                            let input_x = column_origin + kernel_x - pad_left;
                            let input_value =
                                input[(input_y * input_width + input_x) * in_channels + in_channel];
                            let filter_value = self.filter
                                [(kernel_y * kernel_width + kernel_x) * out_channels + out_channel];
                            let shifted_input = i32::from(input_value).wrapping_add(self.input_offset);
                            acc = acc.wrapping_add(shifted_input.wrapping_mul(i32::from(filter_value)));
                        }
                    }
                    let requantized =
                        self.requant.requantize(out_channel, acc).saturating_add(self.output_offset);
                    output[output_pixel + out_channel] = self.activation.clamp_quantized(requantized);
                }
            }
        }
        true
    }

    /// [`DepthwiseConv2d::run`] four channels at a time (depth multiplier 1): per tap one word of
    /// four inputs and one of four weights, split by `SXTB16` and multiplied lane by lane
    /// (`SMLABB`, `SMLATT`) into four accumulators. Biases and multipliers are decoded once per
    /// block of [`CHANNEL_BLOCK`] channels, not per output. Other depth multipliers take the
    /// reference loop; the last `channels % 4` channels of a block its arithmetic.
    pub fn run_packed(&self, input: &[i8], output: &mut [i8]) -> bool {
        if !self.accepts(input.len(), output.len()) {
            return false;
        }
        if self.depth_multiplier != 1 || output.is_empty() || !offset_fits(self.input_offset) {
            return self.run_reference(input, output);
        }
        let Shape3 { height: output_height, width: output_width, channels } = self.output_shape;
        let input_width = self.input_shape.width;
        let kernel_width = self.window.kernel_width;
        // Where the taps are consecutive pixels of one row (the 1-D case), no 2-D iterator.
        let interior = self.window.one_row_interior(input_width, output_width);
        for block_start in (0..channels).step_by(CHANNEL_BLOCK) {
            let block_end = (block_start + CHANNEL_BLOCK).min(channels);
            let block = ChannelBlock::load(&self.bias, &self.requant, block_start..block_end);
            for output_y in 0..output_height {
                for output_x in 0..output_width {
                    let output_pixel = (output_y * output_width + output_x) * channels;
                    // (input index, filter index) of channel 0 at every tap inside the input.
                    if interior.contains(&output_x) {
                        let first_pixel = self.window.first_pixel(output_y, output_x, input_width);
                        let taps = (0..kernel_width)
                            .map(move |tap| ((first_pixel + tap) * channels, tap * channels));
                        self.depthwise_position(
                            input,
                            output,
                            &block,
                            block_start..block_end,
                            output_pixel,
                            taps,
                        );
                    } else {
                        let taps = self.window.taps_of(self.input_shape, output_y, output_x);
                        let taps = taps.map(move |(pixel, tap)| (pixel * channels, tap * channels));
                        self.depthwise_position(
                            input,
                            output,
                            &block,
                            block_start..block_end,
                            output_pixel,
                            taps,
                        );
                    }
                }
            }
        }
        true
    }

    /// The outputs of channels `block_channels` (decoded in `block`) at one output position whose
    /// taps are `taps`: `(input index, filter index)` of channel 0 at each tap inside the input.
    /// Tap by tap, the block's row of inputs meets the same row of weights: four channels per
    /// step (`SXTB16`, `SMLABB`, `SMLATT`), the last `len % 4` one by one.
    #[inline(always)]
    fn depthwise_position(
        &self,
        input: &[i8],
        output: &mut [i8],
        block: &ChannelBlock,
        block_channels: Range<usize>,
        output_pixel: usize,
        taps: impl Iterator<Item = (usize, usize)>,
    ) {
        let len = block_channels.len();
        let offset_pair = pair(self.input_offset, self.input_offset);
        let mut acc: [i32; CHANNEL_BLOCK] = core::array::from_fn(|local| block.bias(local));
        let acc = &mut acc[..len.min(CHANNEL_BLOCK)];
        for (input_at, filter_at) in taps {
            let start = block_channels.start;
            let (Some(inputs), Some(weights)) = (
                input.get(input_at + start..input_at + start + len),
                self.filter.get(filter_at + start..filter_at + start + len),
            ) else {
                continue;
            };
            let mut lanes = acc.chunks_exact_mut(4);
            let mut input_quads = inputs.chunks_exact(4);
            let mut weight_quads = weights.chunks_exact(4);
            for ((lane, inputs), weights) in (&mut lanes).zip(&mut input_quads).zip(&mut weight_quads) {
                let (Some(inputs), Some(weights)) = (inputs.first_chunk::<4>(), weights.first_chunk::<4>())
                else {
                    continue;
                };
                let (inputs, weights) = (word(inputs), word(weights));
                let inputs_even = sadd16(sxtb16(inputs), offset_pair);
                let inputs_odd = sadd16(sxtb16_ror8(inputs), offset_pair);
                let (weights_even, weights_odd) = (sxtb16(weights), sxtb16_ror8(weights));
                lane[0] = smlabb(inputs_even, weights_even, lane[0]);
                lane[2] = smlatt(inputs_even, weights_even, lane[2]);
                lane[1] = smlabb(inputs_odd, weights_odd, lane[1]);
                lane[3] = smlatt(inputs_odd, weights_odd, lane[3]);
            }
            let rest =
                lanes.into_remainder().iter_mut().zip(input_quads.remainder()).zip(weight_quads.remainder());
            for ((lane, &value), &weight) in rest {
                let shifted_input = i32::from(value).wrapping_add(self.input_offset);
                *lane = lane.wrapping_add(shifted_input.wrapping_mul(i32::from(weight)));
            }
        }
        let first = output_pixel + block_channels.start;
        if let Some(out) = output.get_mut(first..first + len) {
            for (local, (slot, &value)) in out.iter_mut().zip(acc.iter()).enumerate() {
                *slot = block.output(local, value, self.output_offset, self.activation);
            }
        }
    }

    /// Multiply-accumulates one run performs: taps inside the input times `out_channels`,
    /// saturating. Takes `O(output height + width)` time.
    pub fn macs(&self) -> u64 {
        if self.output_shape.channels == 0 {
            return 0;
        }
        self.window
            .taps_inside_count(self.input_shape, self.output_shape)
            .saturating_mul(self.output_shape.channels as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::quant::multiply_by_quantized_multiplier;
    use crate::kernels::test_support::{
        OwnedRequant, QuantizedLinear, SENTINEL, SplitMix64, buffer_len, fuzz_size, le_bytes, le_view,
        plane_geometry,
    };
    use core::cell::Cell;
    use core::ops::{Add, Mul};
    use proptest::prelude::*;
    use proptest::test_runner::{TestCaseError, TestRunner};
    use std::vec;
    use std::vec::Vec;

    /// Input index `output_idx · stride + kernel_idx − pad` if it lies inside `0..input`.
    fn input_position(
        output_idx: usize,
        kernel_idx: usize,
        stride: usize,
        pad: usize,
        input: usize,
    ) -> Option<usize> {
        let position = (output_idx * stride + kernel_idx) as i64 - pad as i64;
        (0..input as i64).contains(&position).then_some(position as usize)
    }

    /// Naive convolution straight from the definition, for any number type.
    fn conv_naive<T: Copy + Add<Output = T> + Mul<Output = T>>(
        input: &[T],
        filter: &[T],
        bias: &[T],
        input_shape: Shape3,
        output_shape: Shape3,
        window: Window2d,
    ) -> Vec<T> {
        let mut output = Vec::new();
        for output_y in 0..output_shape.height {
            for output_x in 0..output_shape.width {
                for (out_channel, channel_bias) in bias.iter().enumerate().take(output_shape.channels) {
                    let mut acc = *channel_bias;
                    for kernel_y in 0..window.kernel_height {
                        for kernel_x in 0..window.kernel_width {
                            let y = input_position(
                                output_y,
                                kernel_y,
                                window.stride_height,
                                window.pad_top,
                                input_shape.height,
                            );
                            let x = input_position(
                                output_x,
                                kernel_x,
                                window.stride_width,
                                window.pad_left,
                                input_shape.width,
                            );
                            let (Some(y), Some(x)) = (y, x) else { continue };
                            for in_channel in 0..input_shape.channels {
                                let input_idx =
                                    (y * input_shape.width + x) * input_shape.channels + in_channel;
                                let filter_idx = ((out_channel * window.kernel_height + kernel_y)
                                    * window.kernel_width
                                    + kernel_x)
                                    * input_shape.channels
                                    + in_channel;
                                acc = acc + input[input_idx] * filter[filter_idx];
                            }
                        }
                    }
                    output.push(acc);
                }
            }
        }
        output
    }

    /// Naive depthwise convolution straight from the definition, for any number type.
    fn depthwise_naive<T: Copy + Add<Output = T> + Mul<Output = T>>(
        input: &[T],
        filter: &[T],
        bias: &[T],
        input_shape: Shape3,
        output_shape: Shape3,
        window: Window2d,
        depth_multiplier: usize,
    ) -> Vec<T> {
        let mut output = Vec::new();
        for output_y in 0..output_shape.height {
            for output_x in 0..output_shape.width {
                for (out_channel, channel_bias) in bias.iter().enumerate().take(output_shape.channels) {
                    let mut acc = *channel_bias;
                    for kernel_y in 0..window.kernel_height {
                        for kernel_x in 0..window.kernel_width {
                            let y = input_position(
                                output_y,
                                kernel_y,
                                window.stride_height,
                                window.pad_top,
                                input_shape.height,
                            );
                            let x = input_position(
                                output_x,
                                kernel_x,
                                window.stride_width,
                                window.pad_left,
                                input_shape.width,
                            );
                            let (Some(y), Some(x)) = (y, x) else { continue };
                            let input_idx = (y * input_shape.width + x) * input_shape.channels
                                + out_channel / depth_multiplier;
                            let filter_idx = (kernel_y * window.kernel_width + kernel_x)
                                * output_shape.channels
                                + out_channel;
                            acc = acc + input[input_idx] * filter[filter_idx];
                        }
                    }
                    output.push(acc);
                }
            }
        }
        output
    }

    /// Integer reference: i64 accumulators from `accumulate`, then the same requantization steps.
    fn requantize_reference(
        accumulators: &[i64],
        out_channels: usize,
        requant: &OwnedRequant,
        output_offset: i32,
        activation: ActivationRange,
    ) -> Vec<i8> {
        accumulators
            .iter()
            .enumerate()
            .map(|(out_idx, acc)| {
                let acc = i32::try_from(*acc).expect("small layers fit in i32");
                let channel = out_idx % out_channels;
                let (multiplier, shift) =
                    (requant.view().multipliers.get(channel), requant.view().shifts.get(channel));
                let value = multiply_by_quantized_multiplier(acc, multiplier, shift) + output_offset;
                value.max(activation.min).min(activation.max) as i8
            })
            .collect()
    }

    fn widen(values: &[i8], offset: i32) -> Vec<i64> {
        values.iter().map(|value| i64::from(*value) + i64::from(offset)).collect()
    }

    fn identity_requant(n_channels: usize) -> OwnedRequant {
        // (2^30, 1) is exactly 1.0.
        OwnedRequant::from_pairs(&vec![(1 << 30, 1); n_channels])
    }

    #[test]
    fn conv_output_len_golden_values() {
        assert_eq!(conv_output_len(5, 3, 1, 0, 0), Some(3));
        assert_eq!(conv_output_len(5, 3, 2, 0, 0), Some(2));
        assert_eq!(conv_output_len(5, 2, 2, 0, 0), Some(2)); // the last input is not covered
        assert_eq!(conv_output_len(5, 3, 1, 1, 1), Some(5));
        assert_eq!(conv_output_len(2, 3, 1, 0, 0), None);
        assert_eq!(conv_output_len(2, 3, 1, 0, 1), Some(1));
        assert_eq!(conv_output_len(5, 3, 0, 0, 0), None);
        assert_eq!(conv_output_len(5, 0, 1, 0, 0), None);
        assert_eq!(conv_output_len(usize::MAX, 1, 1, 1, 0), None);
        assert_eq!(conv_output_len(0, 1, 1, 1, 0), Some(1));
    }

    #[test]
    fn same_padding_golden_values() {
        // out = ceil(in/stride); total = max(0, (out − 1)·stride + kernel − in); before = total/2.
        assert_eq!(same_padding(3, 3, 1), (1, 1)); // out 3, total 2
        assert_eq!(same_padding(4, 3, 2), (0, 1)); // out 2, total 1: the odd pad goes after
        assert_eq!(same_padding(5, 3, 2), (1, 1)); // out 3, total 2
        assert_eq!(same_padding(4, 2, 1), (0, 1)); // out 4, total 1
        assert_eq!(same_padding(49, 10, 2), (4, 5)); // out 25, total 48 + 10 − 49 = 9
        assert_eq!(same_padding(6, 1, 3), (0, 0)); // out 2, total 3 + 1 − 6 < 0
        assert_eq!(same_padding(5, 5, 5), (0, 0));
        assert_eq!(same_padding(7, 3, 0), (0, 0));
        assert_eq!(same_padding(0, 3, 1), (1, 1)); // out 0, total (−1)·1 + 3 − 0 = 2
        // out = MAX, total = MAX − 1.
        assert_eq!(same_padding(usize::MAX, usize::MAX, 1), (usize::MAX / 2, usize::MAX / 2));
    }

    #[test]
    fn same_padding_keeps_the_ceil_output_length() {
        for input in 1..20 {
            for kernel in 1..6 {
                for stride in 1..5 {
                    let (before, after) = same_padding(input, kernel, stride);
                    assert_eq!(
                        conv_output_len(input, kernel, stride, before, after),
                        Some(input.div_ceil(stride))
                    );
                }
            }
        }
    }

    #[test]
    fn one_dimensional_conv_hand_computed() {
        // Input 1×4×1 with zero point −1 (input_offset 1): stored [3, −2, 5, 0] means [4, −1, 6, 1].
        // Kernel width 2, stride 1, no padding → 3 output steps, two filters:
        //   f0 = [1, 2], bias 2, real multiplier 0.5 = (2^30, 0)
        //   f1 = [−3, 1], bias −1, real multiplier 0.25 = (2^30, −1)
        // f0: 4·1 − 1·2 = 2 → 4 → 2;   −1 + 12 = 11 → 13 → 6.5 → 7;   6 + 2 = 8 → 10 → 5
        // f1: −12 − 1 = −13 → −14 → −7 exactly, then −3.5 → −4 (ties away from zero);
        //     3 + 6 = 9 → 8 → 2;   −18 + 1 = −17 → −18 → −9, then −4.5 → −5
        // Output offset 3, output [time][filter]: [5, −1], [10, 5], [8, −2].
        let filter = [1i8, 2, -3, 1];
        let bias = le_bytes(&[2, -1]);
        let requant = OwnedRequant::from_pairs(&[(1 << 30, 0), (1 << 30, -1)]);
        let conv = Conv2d {
            input_shape: Shape3 { height: 1, width: 4, channels: 1 },
            output_shape: Shape3 { height: 1, width: 3, channels: 2 },
            window: Window2d {
                kernel_height: 1,
                kernel_width: 2,
                stride_height: 1,
                stride_width: 1,
                pad_top: 0,
                pad_left: 0,
            },
            input_offset: 1,
            filter: &filter,
            bias: le_view(&bias),
            requant: requant.view(),
            output_offset: 3,
            activation: ActivationRange::NONE,
        };
        let mut output = [SENTINEL; 6];
        assert!(conv.run(&[3, -2, 5, 0], &mut output));
        assert_eq!(output, [5, -1, 10, 5, 8, -2]);
        assert_eq!(conv.macs(), 3 * 2 * 2);
    }

    /// 3×3×1 input holding 1..=9 (stored with zero point 1, so the raw bytes are 2..=10 and the
    /// offset is −1), an all-ones 3×3 filter and multiplier 1.0: each output is the sum of the
    /// neighbourhood that lies inside the input. If padding taps were read as raw 0 instead of the
    /// zero point, every padded tap would add −1 and the border outputs would differ.
    fn same_padded_box_filter(stride: usize, output_side: usize) -> ([i8; 9], Conv2d<'static>) {
        let (pad_before, _) = same_padding(3, 3, stride);
        let conv = Conv2d {
            input_shape: Shape3 { height: 3, width: 3, channels: 1 },
            output_shape: Shape3 { height: output_side, width: output_side, channels: 1 },
            window: Window2d {
                kernel_height: 3,
                kernel_width: 3,
                stride_height: stride,
                stride_width: stride,
                pad_top: pad_before,
                pad_left: pad_before,
            },
            input_offset: -1,
            filter: &[1; 9],
            bias: LeI32::new(&[]).unwrap(),
            requant: ChannelRequant {
                multipliers: LeI32::new(&[0, 0, 0, 0x40]).unwrap(), // 2^30
                shifts: LeI32::new(&[1, 0, 0, 0]).unwrap(),
            },
            output_offset: 0,
            activation: ActivationRange::NONE,
        };
        ([2, 3, 4, 5, 6, 7, 8, 9, 10], conv)
    }

    #[test]
    fn same_padding_conv_hand_computed() {
        // Input   1 2 3    SAME, stride 1, pad (1, 1):   1+2+4+5   1+…+6   2+3+5+6     12 21 16
        //         4 5 6                                  1+2+4+5+7+8  45  …         27 45 33
        //         7 8 9                                                              24 39 28
        let (input, conv) = same_padded_box_filter(1, 3);
        let mut output = [SENTINEL; 9];
        assert!(conv.run(&input, &mut output));
        assert_eq!(output, [12, 21, 16, 27, 45, 33, 24, 39, 28]);
        // Taps inside the input: rows 2+3+2 = 7 per column pass, 7·7 = 49 (not 81).
        assert_eq!(conv.macs(), 49);

        // Stride 2: out = ceil(3/2) = 2, total = 1·2 + 3 − 3 = 2, pad (1, 1): windows centred on
        // the corners.
        let (input, conv) = same_padded_box_filter(2, 2);
        let mut output = [SENTINEL; 4];
        assert!(conv.run(&input, &mut output));
        assert_eq!(output, [12, 16, 24, 28]);
    }

    #[test]
    fn depthwise_hand_computed() {
        // Input 1×3×2 with input_offset 1: stored [[0, 1], [2, −2], [−1, 3]] means
        // [[1, 2], [3, −1], [0, 4]]. Kernel 1×2, depth multiplier 2 → 4 output channels;
        // channels 0, 1 read input channel 0 and channels 2, 3 read input channel 1.
        // Filter [kx][oc]: kx0 = [1, −1, 2, 0], kx1 = [1, 1, −1, 3]; bias [0, 1, −1, 0]; multiplier 1.
        // x0 (inputs x0, x1): oc0 1+3 = 4; oc1 −1+3+1 = 3; oc2 4+1−1 = 4; oc3 0−3 = −3
        // x1 (inputs x1, x2): oc0 3+0 = 3; oc1 −3+0+1 = −2; oc2 −2−4−1 = −7; oc3 0+12 = 12
        let filter = [1i8, -1, 2, 0, 1, 1, -1, 3];
        let bias = le_bytes(&[0, 1, -1, 0]);
        let requant = identity_requant(4);
        let conv = DepthwiseConv2d {
            input_shape: Shape3 { height: 1, width: 3, channels: 2 },
            output_shape: Shape3 { height: 1, width: 2, channels: 4 },
            window: Window2d {
                kernel_height: 1,
                kernel_width: 2,
                stride_height: 1,
                stride_width: 1,
                pad_top: 0,
                pad_left: 0,
            },
            depth_multiplier: 2,
            input_offset: 1,
            filter: &filter,
            bias: le_view(&bias),
            requant: requant.view(),
            output_offset: 0,
            activation: ActivationRange::NONE,
        };
        let mut output = [SENTINEL; 8];
        assert!(conv.run(&[0, 1, 2, -2, -1, 3], &mut output));
        assert_eq!(output, [4, 3, 4, -3, 3, -2, -7, 12]);
        assert_eq!(conv.macs(), 2 * 2 * 4);
        // ReLU6-style clamp to [0, 5].
        let clamped = DepthwiseConv2d { activation: ActivationRange { min: 0, max: 5 }, ..conv };
        assert!(clamped.run(&[0, 1, 2, -2, -1, 3], &mut output));
        assert_eq!(output, [4, 3, 4, 0, 3, 0, 0, 5]);
    }

    #[test]
    fn conv_rejects_inconsistent_layers_without_writing() {
        let (input, conv) = same_padded_box_filter(1, 3);
        let two_channel_requant = identity_requant(2);
        let two_biases = le_bytes(&[0, 0]);
        let mut output = [SENTINEL; 9];
        let window = conv.window;
        let rejected = [
            // One output row would leave out windows that fit.
            Conv2d { output_shape: Shape3 { height: 1, width: 3, channels: 1 }, ..conv },
            // Five output rows need 3 rows of trailing padding: the last window is all padding.
            Conv2d { output_shape: Shape3 { height: 5, width: 3, channels: 1 }, ..conv },
            Conv2d { output_shape: Shape3 { height: 0, width: 3, channels: 1 }, ..conv },
            Conv2d { window: Window2d { stride_width: 0, ..window }, ..conv },
            Conv2d { window: Window2d { kernel_width: 0, ..window }, ..conv },
            Conv2d { window: Window2d { pad_left: 3, ..window }, ..conv },
            Conv2d { filter: &[1; 8], ..conv },
            Conv2d { requant: two_channel_requant.view(), ..conv },
            Conv2d { bias: le_view(&two_biases), ..conv },
            Conv2d { input_shape: Shape3 { height: 3, width: 3, channels: 2 }, ..conv },
        ];
        for (case_idx, layer) in rejected.iter().enumerate() {
            assert!(!layer.run(&input, &mut output), "case {case_idx}");
            assert!(!layer.run_packed(&input, &mut output), "case {case_idx}");
        }
        assert!(!conv.run(&input[..8], &mut output));
        assert!(!conv.run(&input, &mut output[..8]));
        assert_eq!(output, [SENTINEL; 9]);
        assert!(conv.run(&input, &mut output));
        // Explicit asymmetric padding is accepted: pad_left 0 with 2 columns of trailing padding.
        let shifted = Conv2d { window: Window2d { pad_left: 0, ..window }, ..conv };
        assert!(shifted.run(&input, &mut output));
        assert_eq!(output, [21, 16, 9, 45, 33, 18, 39, 28, 15]);
    }

    #[test]
    fn depthwise_rejects_inconsistent_layers_without_writing() {
        let filter = [1i8; 8];
        let requant = identity_requant(4);
        let conv = DepthwiseConv2d {
            input_shape: Shape3 { height: 1, width: 3, channels: 2 },
            output_shape: Shape3 { height: 1, width: 2, channels: 4 },
            window: Window2d {
                kernel_height: 1,
                kernel_width: 2,
                stride_height: 1,
                stride_width: 1,
                pad_top: 0,
                pad_left: 0,
            },
            depth_multiplier: 2,
            input_offset: 0,
            filter: &filter,
            bias: LeI32::new(&[]).unwrap(),
            requant: requant.view(),
            output_offset: 0,
            activation: ActivationRange::NONE,
        };
        let input = [1i8; 6];
        let mut output = [SENTINEL; 8];
        let three_requant = identity_requant(3);
        let rejected = [
            DepthwiseConv2d { depth_multiplier: 0, ..conv },
            DepthwiseConv2d { depth_multiplier: 1, ..conv },
            DepthwiseConv2d { filter: &filter[..7], ..conv },
            DepthwiseConv2d { requant: three_requant.view(), ..conv },
            DepthwiseConv2d { output_shape: Shape3 { height: 1, width: 1, channels: 8 }, ..conv },
            DepthwiseConv2d { window: Window2d { stride_height: 0, ..conv.window }, ..conv },
        ];
        for (case_idx, layer) in rejected.iter().enumerate() {
            assert!(!layer.run(&input, &mut output), "case {case_idx}");
            assert!(!layer.run_packed(&input, &mut output), "case {case_idx}");
        }
        assert!(!conv.run(&input[..5], &mut output));
        assert!(!conv.run(&input, &mut output[..7]));
        assert_eq!(output, [SENTINEL; 8]);
        assert!(conv.run(&input, &mut output));
    }

    #[test]
    fn window_consistency_rules() {
        // in 5, kernel 2, stride 2, no padding: 2 outputs (the last input is unused) is fine;
        // 3 outputs need 1 trailing pad, also fine; 1 output would leave a whole window out.
        assert!(axis_fits(5, 2, 2, 2, 0));
        assert!(axis_fits(5, 3, 2, 2, 0));
        assert!(!axis_fits(5, 1, 2, 2, 0));
        assert!(!axis_fits(5, 0, 2, 2, 0));
        assert!(!axis_fits(5, 4, 2, 0, 0));
        // 4 outputs would need 3 trailing pads with a kernel of 2: the last window is all padding.
        assert!(!axis_fits(5, 4, 2, 2, 0));
        // SAME: in 3, kernel 3, stride 1, pad (1, 1).
        assert!(axis_fits(3, 3, 3, 1, 1));
        // A leading pad as large as the kernel makes the first window all padding.
        assert!(!axis_fits(3, 2, 3, 1, 3));
        assert!(!axis_fits(0, 1, 1, 1, 0));
        assert!(!axis_fits(usize::MAX, 2, 1, usize::MAX, 0));
        assert!(!axis_fits(usize::MAX, usize::MAX, usize::MAX, 2, 0));
        assert_eq!(taps_inside(0, 3, 1, 1, 3), 1..3);
        assert_eq!(taps_inside(2, 3, 1, 1, 3), 0..2);
        assert_eq!(taps_inside(0, 3, 1, 5, 3), 3..3);
    }

    struct ConvCase {
        input: Vec<i8>,
        filter: Vec<i8>,
        bias: Vec<i32>,
        bias_bytes: Vec<u8>,
        requant: OwnedRequant,
        input_offset: i32,
        output_offset: i32,
        activation: ActivationRange,
    }

    impl ConvCase {
        fn random(
            seed: u64,
            input_len: usize,
            filter_len: usize,
            out_channels: usize,
            with_bias: bool,
        ) -> Self {
            let mut rng = SplitMix64::new(seed);
            let bias: Vec<i32> = if with_bias {
                (0..out_channels).map(|_| rng.int_in(-1 << 16, 1 << 16) as i32).collect()
            } else {
                vec![]
            };
            Self {
                input: rng.i8_vec(input_len),
                filter: rng.i8_vec(filter_len),
                bias_bytes: le_bytes(&bias),
                bias,
                requant: OwnedRequant::random(&mut rng, out_channels),
                input_offset: rng.int_in(-127, 128) as i32,
                output_offset: rng.int_in(-128, 127) as i32,
                activation: rng.activation(),
            }
        }

        fn wide_bias(&self, out_channels: usize) -> Vec<i64> {
            if self.bias.is_empty() {
                vec![0; out_channels]
            } else {
                self.bias.iter().map(|b| i64::from(*b)).collect()
            }
        }
    }

    fn float_conv_case(
        seed: u64,
        (input_shape, output_shape, window): (Shape3, Shape3, Window2d),
        multiplier_error: f64,
    ) -> f64 {
        let mut rng = SplitMix64::new(seed);
        let (in_channels, out_channels) = (input_shape.channels, output_shape.channels);
        let taps_per_channel = window.kernel_height * window.kernel_width * in_channels;
        let input_lo = rng.f64_in(-2.0, 0.5);
        let input_lo_hi = input_lo + rng.f64_in(0.5, 3.0);
        let input = rng.f64_vec(input_shape.len(), input_lo, input_lo_hi);
        let magnitudes = rng.f64_vec(out_channels, 0.05, 2.0);
        let filter: Vec<f64> = (0..out_channels * taps_per_channel)
            .map(|idx| magnitudes[idx / taps_per_channel] * rng.f64_in(-1.0, 1.0))
            .collect();
        let bias = rng.f64_vec(out_channels, -1.0, 1.0);
        let case = QuantizedLinear::build(
            &input,
            &filter,
            &bias,
            |weight_idx| weight_idx / taps_per_channel,
            |out_idx| out_idx % out_channels,
            |x, w, b| conv_naive(x, w, b, input_shape, output_shape, window),
            multiplier_error,
        );
        let conv = Conv2d {
            input_shape,
            output_shape,
            window,
            input_offset: case.input_offset(),
            filter: &case.weights,
            bias: le_view(&case.bias),
            requant: case.requant.view(),
            output_offset: case.output_quant.zero_point,
            activation: ActivationRange::NONE,
        };
        let mut output = vec![0i8; output_shape.len()];
        assert!(conv.run(&case.input, &mut output));
        case.worst_excess(&output)
    }

    fn float_depthwise_case(
        seed: u64,
        (input_shape, output_shape, window): (Shape3, Shape3, Window2d),
        depth_multiplier: usize,
        multiplier_error: f64,
    ) -> f64 {
        let mut rng = SplitMix64::new(seed);
        let out_channels = output_shape.channels;
        let input_lo = rng.f64_in(-2.0, 0.5);
        let input_lo_hi = input_lo + rng.f64_in(0.5, 3.0);
        let input = rng.f64_vec(input_shape.len(), input_lo, input_lo_hi);
        let magnitudes = rng.f64_vec(out_channels, 0.05, 2.0);
        let filter: Vec<f64> = (0..window.kernel_height * window.kernel_width * out_channels)
            .map(|idx| magnitudes[idx % out_channels] * rng.f64_in(-1.0, 1.0))
            .collect();
        let bias = rng.f64_vec(out_channels, -1.0, 1.0);
        let case = QuantizedLinear::build(
            &input,
            &filter,
            &bias,
            |weight_idx| weight_idx % out_channels,
            |out_idx| out_idx % out_channels,
            |x, w, b| depthwise_naive(x, w, b, input_shape, output_shape, window, depth_multiplier),
            multiplier_error,
        );
        let conv = DepthwiseConv2d {
            input_shape,
            output_shape,
            window,
            depth_multiplier,
            input_offset: case.input_offset(),
            filter: &case.weights,
            bias: le_view(&case.bias),
            requant: case.requant.view(),
            output_offset: case.output_quant.zero_point,
            activation: ActivationRange::NONE,
        };
        let mut output = vec![0i8; output_shape.len()];
        assert!(conv.run(&case.input, &mut output));
        case.worst_excess(&output)
    }

    fn fixed_geometry(channels_in: usize, channels_out: usize) -> (Shape3, Shape3, Window2d) {
        let (pad_top, _) = same_padding(6, 3, 1);
        (
            Shape3 { height: 6, width: 6, channels: channels_in },
            Shape3 { height: 6, width: 6, channels: channels_out },
            Window2d {
                kernel_height: 3,
                kernel_width: 3,
                stride_height: 1,
                stride_width: 1,
                pad_top,
                pad_left: pad_top,
            },
        )
    }

    #[test]
    fn float_checks_detect_a_wrong_multiplier() {
        for seed in 0..8 {
            assert!(float_conv_case(seed, fixed_geometry(3, 4), 1.0) <= 0.0);
            assert!(float_conv_case(seed, fixed_geometry(3, 4), 1.25) > 0.0, "conv seed {seed}");
            assert!(float_depthwise_case(seed, fixed_geometry(3, 6), 2, 1.0) <= 0.0);
            assert!(float_depthwise_case(seed, fixed_geometry(3, 6), 2, 1.25) > 0.0, "depthwise seed {seed}");
        }
    }

    /// Runs a conv and a depthwise layer built from fuzzed sizes (see [`fuzz_size`]) on buffers
    /// that mostly have the lengths the shapes ask for. Returns how many of the two accepted their
    /// arguments; a rejected run must leave the output untouched.
    fn fuzz_conv_and_depthwise(
        sizes: &[usize],
        use_exact: &[bool],
        fallback_lens: &[usize],
        seed: u64,
    ) -> Result<usize, TestCaseError> {
        let input_shape = Shape3 { height: sizes[0], width: sizes[1], channels: sizes[2] };
        // In "derive" mode (most cases) paddings are reduced below the kernel and the output plane
        // is computed from the window with arbitrary trailing padding, so the accepted path is
        // reached with odd geometries; otherwise every size is taken as fuzzed.
        let derive = use_exact[5];
        let pad = |pad: usize, kernel: usize| if derive { pad.checked_rem(kernel).unwrap_or(0) } else { pad };
        let window = Window2d {
            kernel_height: sizes[6],
            kernel_width: sizes[7],
            stride_height: sizes[8],
            stride_width: sizes[9],
            pad_top: pad(sizes[10], sizes[6]),
            pad_left: pad(sizes[11], sizes[7]),
        };
        let derived = |input: usize,
                       kernel: usize,
                       stride: usize,
                       pad_before: usize,
                       pad_after: usize,
                       fallback: usize| {
            let pad_after = pad(pad_after, kernel);
            if derive {
                conv_output_len(input, kernel, stride, pad_before, pad_after).unwrap_or(fallback)
            } else {
                fallback
            }
        };
        let output_height = derived(
            input_shape.height,
            window.kernel_height,
            window.stride_height,
            window.pad_top,
            sizes[12],
            sizes[3],
        );
        let output_width = derived(
            input_shape.width,
            window.kernel_width,
            window.stride_width,
            window.pad_left,
            sizes[13],
            sizes[4],
        );
        let depth_multiplier = sizes[14];
        let conv_output_shape = Shape3 { height: output_height, width: output_width, channels: sizes[5] };
        let depthwise_channels =
            if derive { input_shape.channels.saturating_mul(depth_multiplier) } else { sizes[5] };
        let depthwise_output_shape = Shape3 { channels: depthwise_channels, ..conv_output_shape };

        let mut rng = SplitMix64::new(seed);
        let mut random_i32s = |len: usize| -> Vec<i32> { (0..len).map(|_| rng.next_u64() as i32).collect() };
        let to_i8 = |values: Vec<i32>| -> Vec<i8> { values.iter().map(|value| *value as i8).collect() };
        let scalars = random_i32s(4);
        let (input_offset, output_offset) = (scalars[0], scalars[1]);
        let activation = ActivationRange { min: scalars[2], max: scalars[3] };
        let input = to_i8(random_i32s(buffer_len(input_shape.len(), fallback_lens[0], use_exact[0])));

        let mut accepted_runs = 0;
        for (is_depthwise, output_shape) in [(false, conv_output_shape), (true, depthwise_output_shape)] {
            let out_channels = output_shape.channels;
            let taps = window.kernel_height.saturating_mul(window.kernel_width).saturating_mul(out_channels);
            let filter_len = if is_depthwise { taps } else { taps.saturating_mul(input_shape.channels) };
            let filter = to_i8(random_i32s(buffer_len(filter_len, fallback_lens[1], use_exact[1])));
            let requant = OwnedRequant::from_pairs(
                &random_i32s(buffer_len(out_channels, fallback_lens[2], use_exact[2]))
                    .iter()
                    .map(|multiplier| (*multiplier, multiplier.rotate_left(7) % 40))
                    .collect::<Vec<_>>(),
            );
            let bias_bytes = le_bytes(&random_i32s(buffer_len(out_channels, fallback_lens[3], use_exact[3])));
            let mut output = vec![SENTINEL; buffer_len(output_shape.len(), fallback_lens[4], use_exact[4])];
            let accepted = if is_depthwise {
                let depthwise = DepthwiseConv2d {
                    input_shape,
                    output_shape,
                    window,
                    depth_multiplier,
                    input_offset,
                    filter: &filter,
                    bias: le_view(&bias_bytes),
                    requant: requant.view(),
                    output_offset,
                    activation,
                };
                let accepted = depthwise.run(&input, &mut output);
                assert_eq!(depthwise.run_packed(&input, &mut output), accepted);
                if accepted {
                    let _ = depthwise.macs();
                }
                accepted
            } else {
                let conv = Conv2d {
                    input_shape,
                    output_shape,
                    window,
                    input_offset,
                    filter: &filter,
                    bias: le_view(&bias_bytes),
                    requant: requant.view(),
                    output_offset,
                    activation,
                };
                let accepted = conv.run(&input, &mut output);
                assert_eq!(conv.run_packed(&input, &mut output), accepted);
                if accepted {
                    let _ = conv.macs();
                }
                accepted
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
    fn conv_and_depthwise_never_panic() {
        let cases = 1024;
        let mut runner = TestRunner::new(ProptestConfig { cases, ..ProptestConfig::default() });
        let accepted_runs = Cell::new(0);
        let strategy = (
            proptest::collection::vec(fuzz_size(), 15),
            proptest::collection::vec(proptest::bool::weighted(0.9), 6),
            proptest::collection::vec(0usize..48, 5),
            any::<u64>(),
        );
        runner
            .run(&strategy, |(sizes, use_exact, fallback_lens, seed)| {
                accepted_runs.set(
                    accepted_runs.get() + fuzz_conv_and_depthwise(&sizes, &use_exact, &fallback_lens, seed)?,
                );
                Ok(())
            })
            .unwrap();
        // The accepted path must be exercised too, not only the rejections.
        assert!(accepted_runs.get() > cases as usize / 20, "only {} accepted runs", accepted_runs.get());
    }

    proptest! {
        #[test]
        /// Both kernels — the reference loop and the Armv7E-M one (its instructions emulated on
        /// the host) — with odd and even positions and channels, padding on every side, more
        /// channels than one decode block, and receptive fields past the packed buffer's limit.
        fn conv_matches_the_naive_reference(
            (plane_input, plane_output, window) in plane_geometry(),
            in_channels in prop_oneof![6 => 0usize..12, 1 => 40usize..50],
            out_channels in prop_oneof![6 => 0usize..7, 1 => 31usize..35],
            with_bias in any::<bool>(),
            seed in any::<u64>(),
        ) {
            let input_shape = Shape3 { channels: in_channels, ..plane_input };
            let output_shape = Shape3 { channels: out_channels, ..plane_output };
            let filter_len = out_channels * window.kernel_height * window.kernel_width * in_channels;
            let case = ConvCase::random(seed, input_shape.len(), filter_len, out_channels, with_bias);
            let conv = Conv2d {
                input_shape,
                output_shape,
                window,
                input_offset: case.input_offset,
                filter: &case.filter,
                bias: le_view(&case.bias_bytes),
                requant: case.requant.view(),
                output_offset: case.output_offset,
                activation: case.activation,
            };
            let mut packed = vec![SENTINEL; output_shape.len()];
            prop_assert!(conv.run_packed(&case.input, &mut packed));
            let mut output = vec![SENTINEL; output_shape.len()];
            prop_assert!(conv.run_reference(&case.input, &mut output));
            prop_assert_eq!(&packed, &output);
            let accumulators = conv_naive(
                &widen(&case.input, case.input_offset),
                &widen(&case.filter, 0),
                &case.wide_bias(out_channels),
                input_shape,
                output_shape,
                window,
            );
            let expected = requantize_reference(&accumulators, out_channels.max(1), &case.requant, case.output_offset, case.activation);
            prop_assert_eq!(output, expected);
            // MACs: one per in-channel product the naive loop performs.
            let inside_taps = conv_naive(
                &vec![1u64; input_shape.len()],
                &vec![1u64; filter_len],
                &vec![0u64; out_channels],
                input_shape,
                output_shape,
                window,
            );
            prop_assert_eq!(conv.macs(), inside_taps.iter().sum::<u64>());
        }

        #[test]
        /// Both kernels, as for convolutions (the packed one takes four channels at a time with
        /// depth multiplier 1, in blocks of 32 channels).
        fn depthwise_matches_the_naive_reference(
            (plane_input, plane_output, window) in plane_geometry(),
            // Past 32 channels too: the packed kernel decodes them in blocks of CHANNEL_BLOCK.
            in_channels in prop_oneof![3 => 0usize..19, 1 => 30usize..40],
            depth_multiplier in prop_oneof![3 => Just(1usize), 1 => 2usize..4],
            with_bias in any::<bool>(),
            seed in any::<u64>(),
        ) {
            let out_channels = in_channels * depth_multiplier;
            let input_shape = Shape3 { channels: in_channels, ..plane_input };
            let output_shape = Shape3 { channels: out_channels, ..plane_output };
            let filter_len = window.kernel_height * window.kernel_width * out_channels;
            let case = ConvCase::random(seed, input_shape.len(), filter_len, out_channels, with_bias);
            let conv = DepthwiseConv2d {
                input_shape,
                output_shape,
                window,
                depth_multiplier,
                input_offset: case.input_offset,
                filter: &case.filter,
                bias: le_view(&case.bias_bytes),
                requant: case.requant.view(),
                output_offset: case.output_offset,
                activation: case.activation,
            };
            let mut packed = vec![SENTINEL; output_shape.len()];
            prop_assert!(conv.run_packed(&case.input, &mut packed));
            let mut output = vec![SENTINEL; output_shape.len()];
            prop_assert!(conv.run_reference(&case.input, &mut output));
            prop_assert_eq!(&packed, &output);
            let accumulators = depthwise_naive(
                &widen(&case.input, case.input_offset),
                &widen(&case.filter, 0),
                &case.wide_bias(out_channels),
                input_shape,
                output_shape,
                window,
                depth_multiplier,
            );
            let expected = requantize_reference(&accumulators, out_channels.max(1), &case.requant, case.output_offset, case.activation);
            prop_assert_eq!(output, expected);
            let inside_taps = depthwise_naive(
                &vec![1u64; input_shape.len()],
                &vec![1u64; filter_len],
                &vec![0u64; out_channels],
                input_shape,
                output_shape,
                window,
                depth_multiplier,
            );
            prop_assert_eq!(conv.macs(), inside_taps.iter().sum::<u64>());
        }

        #[test]
        fn conv_float_result_is_within_bounds(
            (plane_input, plane_output, window) in plane_geometry(),
            in_channels in 1usize..4,
            out_channels in 1usize..4,
            seed in any::<u64>(),
        ) {
            let geometry = (
                Shape3 { channels: in_channels, ..plane_input },
                Shape3 { channels: out_channels, ..plane_output },
                window,
            );
            let excess = float_conv_case(seed, geometry, 1.0);
            prop_assert!(excess <= 0.0, "excess {}", excess);
        }

        #[test]
        fn depthwise_float_result_is_within_bounds(
            (plane_input, plane_output, window) in plane_geometry(),
            in_channels in 1usize..4,
            depth_multiplier in 1usize..3,
            seed in any::<u64>(),
        ) {
            let geometry = (
                Shape3 { channels: in_channels, ..plane_input },
                Shape3 { channels: in_channels * depth_multiplier, ..plane_output },
                window,
            );
            let excess = float_depthwise_case(seed, geometry, depth_multiplier, 1.0);
            prop_assert!(excess <= 0.0, "excess {}", excess);
        }
    }
}
