//! A parsed model: every field of the blob checked once, then read in place.

use crate::BlobError;
use crate::format::{
    CRC, CRC_LEN, F32s, FORMAT_VERSION, HEADER_LEN, MAGIC, MAX_AXES, MAX_CLUSTERS, MAX_LABELS, MAX_OPS,
    MAX_TENSORS, Reader, TENSOR_RECORD_LEN,
};
use crate::kernels::Shape3;
use crate::op::{Op, OpKind, read_op};

/// One activation tensor: shape, quantization and place in the arena.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TensorInfo {
    pub shape: Shape3,
    pub scale: f32,
    pub zero_point: i32,
    /// Byte offset in the arena.
    pub offset: usize,
}

impl TensorInfo {
    /// Elements (= bytes, all activations are int8).
    pub fn len(&self) -> usize {
        self.shape.height * self.shape.width * self.shape.channels
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The tensor's bytes in the arena.
    pub fn range(&self) -> core::ops::Range<usize> {
        self.offset..self.offset + self.len()
    }
}

/// The k-means anomaly block: scores are the distance of the normalised features to the nearest
/// centroid divided by that cluster's radius.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnomalyBlock<'a> {
    pub n_clusters: usize,
    pub dims: usize,
    pub mean: F32s<'a>,
    pub std: F32s<'a>,
    pub centroids: F32s<'a>,
    pub radii: F32s<'a>,
}

/// A validated model, borrowing the blob.
#[derive(Debug, Clone, Copy)]
pub struct Model<'a> {
    pub(crate) blob: &'a [u8],
    name: &'a str,
    labels: &'a [u8],
    n_labels: usize,
    rate_hz: f32,
    window_samples: u32,
    stride_samples: u32,
    axes: &'a [u8],
    n_axes: usize,
    dsp: &'a [u8],
    pub(crate) feature_scale: F32s<'a>,
    pub(crate) feature_offset: F32s<'a>,
    n_features: usize,
    tensors: &'a [u8],
    n_tensors: usize,
    pub(crate) input: u8,
    pub(crate) output: u8,
    pub(crate) ops: &'a [u8],
    pub(crate) n_ops: usize,
    pub(crate) consts: &'a [u8],
    anomaly: Option<AnomalyBlock<'a>>,
    arena_len: usize,
}

impl<'a> Model<'a> {
    /// Checks a whole blob: header, CRC, every section's bounds, tensors, operators against their
    /// tensors, and the arena plan. Never panics and never reads out of bounds.
    pub fn parse(blob: &'a [u8]) -> Result<Model<'a>, BlobError> {
        Self::parse_checked(blob, true)
    }

    /// [`Model::parse`] without the CRC: for a blob already checked in full once (a board
    /// re-reading its active slot), still with every bounds and shape check.
    pub fn parse_trusted(blob: &'a [u8]) -> Result<Model<'a>, BlobError> {
        Self::parse_checked(blob, false)
    }

    fn parse_checked(blob: &'a [u8], check_crc: bool) -> Result<Model<'a>, BlobError> {
        if blob.len() < HEADER_LEN + CRC_LEN {
            return Err(BlobError::TooShort { len: blob.len() });
        }
        let mut reader = Reader::new(blob, "header");
        if reader.bytes(MAGIC.len())? != MAGIC {
            return Err(BlobError::BadMagic);
        }
        let version = reader.u16()?;
        if version != FORMAT_VERSION {
            return Err(BlobError::UnsupportedVersion { found: version });
        }
        let header_len = usize::from(reader.u16()?);
        let total_len = reader.u32()?;
        if total_len as usize != blob.len() {
            return Err(BlobError::LengthMismatch { header: total_len, actual: blob.len() });
        }
        let arena_len = reader.u32()? as usize;
        let _flags = reader.u32()?;
        if header_len != HEADER_LEN {
            return Err(BlobError::BadMetadata { why: "header length is not 24" });
        }
        let (body, trailer) = blob.split_at(blob.len() - CRC_LEN);
        let stored = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
        let computed = if check_crc { CRC.checksum(body) } else { stored };
        if check_crc && stored != computed {
            return Err(BlobError::Crc { stored, computed });
        }
        let mut reader = Reader::new(&body[HEADER_LEN..], "metadata");
        let name = reader.str16("model name")?;
        let n_labels = usize::from(reader.u8()?);
        if n_labels > MAX_LABELS {
            return Err(BlobError::TooMany { what: "labels", max: MAX_LABELS });
        }
        let labels_start = reader.position();
        for _ in 0..n_labels {
            reader.str8("label")?;
        }
        let labels = &body[HEADER_LEN + labels_start..HEADER_LEN + reader.position()];
        let rate_hz = reader.f32()?;
        if !(rate_hz.is_finite() && rate_hz > 0.0) {
            return Err(BlobError::BadMetadata { why: "sampling rate must be positive" });
        }
        let window_samples = reader.u32()?;
        let stride_samples = reader.u32()?;
        if window_samples == 0 || stride_samples == 0 {
            return Err(BlobError::BadMetadata { why: "window and stride must be at least one sample" });
        }
        let n_axes = usize::from(reader.u8()?);
        if n_axes == 0 || n_axes > MAX_AXES {
            return Err(BlobError::BadMetadata { why: "a model reads 1 to 8 axes" });
        }
        let axes_start = reader.position();
        for _ in 0..n_axes {
            reader.str8("axis name")?;
        }
        let axes = &body[HEADER_LEN + axes_start..HEADER_LEN + reader.position()];
        let dsp_len = usize::from(reader.u16()?);
        let dsp = reader.bytes(dsp_len)?;
        crate::dsp_config::decode(dsp).map_err(|error| match error {
            crate::dsp_config::DspDecodeError::NotBuilt(block) => BlobError::DspNotBuilt { block },
            crate::dsp_config::DspDecodeError::Malformed => BlobError::BadDsp,
        })?;
        let n_features = reader.u32()? as usize;
        if n_features == 0 {
            return Err(BlobError::BadMetadata { why: "the model takes no features" });
        }
        let feature_scale = reader.f32s(n_features)?;
        let feature_offset = reader.f32s(n_features)?;
        if feature_scale.iter().chain(feature_offset.iter()).any(|v| !v.is_finite()) {
            return Err(BlobError::BadMetadata { why: "input quantization is not finite" });
        }

        reader.section("tensor table");
        let n_tensors = usize::from(reader.u8()?);
        if n_tensors > MAX_TENSORS {
            return Err(BlobError::TooMany { what: "tensors", max: MAX_TENSORS });
        }
        let tensors = reader.bytes(n_tensors * TENSOR_RECORD_LEN)?;

        reader.section("graph");
        let input = reader.u8()?;
        let output = reader.u8()?;
        let n_ops = usize::from(reader.u8()?);
        if n_ops > MAX_OPS {
            return Err(BlobError::TooMany { what: "operators", max: MAX_OPS });
        }
        // Operators are checked against their tensors and constants once those are located; here
        // only their extent is found.
        let ops_start = reader.position();
        let mut skim = reader.clone();
        for index in 0..n_ops {
            skip_op(&mut skim, index as u8)?;
        }
        let ops_len = skim.position() - ops_start;
        reader = skim;
        let ops = &body[HEADER_LEN + ops_start..HEADER_LEN + ops_start + ops_len];

        reader.section("anomaly block");
        let anomaly = match reader.u8()? {
            0 => None,
            1 => {
                let n_clusters = usize::from(reader.u16()?);
                let dims = reader.u32()? as usize;
                if n_clusters == 0 || n_clusters > MAX_CLUSTERS {
                    return Err(BlobError::BadAnomaly { why: "cluster count must be 1..=256" });
                }
                if dims != n_features {
                    return Err(BlobError::BadAnomaly {
                        why: "anomaly block reads a different feature count",
                    });
                }
                let mean = reader.f32s(dims)?;
                let std = reader.f32s(dims)?;
                let centroids = reader.f32s(n_clusters * dims)?;
                let radii = reader.f32s(n_clusters)?;
                if std.iter().chain(radii.iter()).any(|v| !(v.is_finite() && v > 0.0)) {
                    return Err(BlobError::BadAnomaly {
                        why: "standard deviations and radii must be positive",
                    });
                }
                if mean.iter().chain(centroids.iter()).any(|v| !v.is_finite()) {
                    return Err(BlobError::BadAnomaly { why: "means and centroids must be finite" });
                }
                Some(AnomalyBlock { n_clusters, dims, mean, std, centroids, radii })
            }
            _ => return Err(BlobError::BadAnomaly { why: "presence flag must be 0 or 1" }),
        };

        reader.section("constant section");
        let consts_len = reader.u32()? as usize;
        let consts = reader.bytes(consts_len)?;
        if reader.remaining() != 0 {
            return Err(BlobError::TrailingBytes { count: reader.remaining() });
        }

        let model = Model {
            blob,
            name,
            labels,
            n_labels,
            rate_hz,
            window_samples,
            stride_samples,
            axes,
            n_axes,
            dsp,
            feature_scale,
            feature_offset,
            n_features,
            tensors,
            n_tensors,
            input,
            output,
            ops,
            n_ops,
            consts,
            anomaly,
            arena_len,
        };
        model.validate_tensors()?;
        model.validate_graph()?;
        Ok(model)
    }

    fn validate_tensors(&self) -> Result<(), BlobError> {
        for index in 0..self.n_tensors {
            let tensor = self.tensor_record(index);
            let bad = |why| Err(BlobError::BadTensor { index: index as u8, why });
            let shape = tensor.shape;
            if shape.height == 0 || shape.width == 0 || shape.channels == 0 {
                return bad("a tensor dimension is zero");
            }
            if !(tensor.scale.is_finite() && tensor.scale > 0.0) {
                return bad("quantization scale must be positive");
            }
            if tensor.offset.checked_add(tensor.len()).is_none_or(|end| end > self.arena_len) {
                return bad("tensor lies outside the arena");
            }
        }
        Ok(())
    }

    fn validate_graph(&self) -> Result<(), BlobError> {
        let n_tensors = self.n_tensors;
        let tensor_ok = |t: u8| usize::from(t) < n_tensors;
        if self.n_ops == 0 {
            if self.anomaly.is_none() {
                return Err(BlobError::BadMetadata {
                    why: "the model has neither operators nor an anomaly block",
                });
            }
            if self.n_labels != 0 {
                return Err(BlobError::BadMetadata { why: "labels without a classifier" });
            }
            return Ok(());
        }
        if !tensor_ok(self.input) || !tensor_ok(self.output) {
            return Err(BlobError::BadMetadata { why: "graph input or output is not a tensor" });
        }
        if self.tensor(self.input).len() != self.n_features {
            return Err(BlobError::BadMetadata { why: "input tensor size differs from the feature count" });
        }
        if self.tensor(self.output).len() != self.n_labels {
            return Err(BlobError::BadMetadata { why: "output tensor size differs from the label count" });
        }
        // Which op (or the graph input, `None`) last wrote each tensor.
        let mut producer: [Option<Option<usize>>; MAX_TENSORS] = [None; MAX_TENSORS];
        producer[usize::from(self.input)] = Some(None);
        let mut reader = Reader::new(self.ops, "graph");
        let mut outputs = [0u8; MAX_OPS];
        for index in 0..self.n_ops {
            let op = read_op(&mut reader, self.consts, index as u8)?;
            let bad = |why| Err(BlobError::BadOp { index: index as u8, why });
            if !op.inputs().iter().all(|&t| tensor_ok(t)) || !tensor_ok(op.output) {
                return bad("tensor index out of range");
            }
            if op.output == self.input {
                return bad("an operator overwrites the graph input");
            }
            let out = self.tensor(op.output);
            for &input in op.inputs() {
                let Some(written_by) = producer[usize::from(input)] else {
                    return bad("reads a tensor nothing has written yet");
                };
                let region = self.tensor(input).range();
                if overlaps(&region, &out.range()) {
                    return bad("output overlaps an input in the arena");
                }
                // Nothing between the producer and this op may have overwritten the input.
                let first = written_by.map_or(0, |p| p + 1);
                for &between in &outputs[first..index] {
                    if overlaps(&region, &self.tensor(between).range()) {
                        return bad("an input was overwritten before it was read (bad arena plan)");
                    }
                }
            }
            self.check_op_shapes(&op).map_err(|why| BlobError::BadOp { index: index as u8, why })?;
            producer[usize::from(op.output)] = Some(Some(index));
            outputs[index] = op.output;
        }
        let Some(Some(last)) = producer[usize::from(self.output)] else {
            return Err(BlobError::BadMetadata { why: "no operator writes the graph output" });
        };
        let output_region = self.tensor(self.output).range();
        for &later in &outputs[last + 1..self.n_ops] {
            if overlaps(&output_region, &self.tensor(later).range()) {
                return Err(BlobError::BadMetadata {
                    why: "the graph output is overwritten after it is written",
                });
            }
        }
        Ok(())
    }

    fn check_op_shapes(&self, op: &Op<'_>) -> Result<(), &'static str> {
        let input = self.tensor(op.inputs[0]);
        let output = self.tensor(op.output);
        let (in_shape, out_shape) = (input.shape, output.shape);
        let requant_ok =
            |bias: &crate::kernels::LeI32<'_>, requant: &crate::kernels::ChannelRequant<'_>, n: usize| {
                (bias.is_empty() || bias.len() == n)
                    && requant.multipliers.len() == n
                    && requant.shifts.len() == n
            };
        let spatial_ok = |window: &crate::kernels::Window2d| {
            use crate::kernels::axis_fits;
            axis_fits(
                in_shape.height,
                out_shape.height,
                window.kernel_height,
                window.stride_height,
                window.pad_top,
            ) && axis_fits(
                in_shape.width,
                out_shape.width,
                window.kernel_width,
                window.stride_width,
                window.pad_left,
            )
        };
        match op.kind {
            OpKind::FullyConnected { weights, bias, requant } => {
                let (n_in, n_out) = (input.len(), output.len());
                if Some(weights.len()) != n_in.checked_mul(n_out) {
                    return Err("fully connected weights do not match input × output");
                }
                if !requant_ok(&bias, &requant, n_out) {
                    return Err("fully connected bias or requantization has the wrong length");
                }
            }
            OpKind::Conv2d { window, filter, bias, requant } => {
                let taps = window.kernel_height * window.kernel_width * in_shape.channels;
                if Some(filter.len()) != taps.checked_mul(out_shape.channels) {
                    return Err("conv filter does not match its kernel and channels");
                }
                if !requant_ok(&bias, &requant, out_shape.channels) {
                    return Err("conv bias or requantization has the wrong length");
                }
                if !spatial_ok(&window) {
                    return Err("conv output size does not fit its input");
                }
            }
            OpKind::DepthwiseConv2d { window, depth_multiplier, filter, bias, requant } => {
                if in_shape.channels.checked_mul(depth_multiplier) != Some(out_shape.channels) {
                    return Err("depthwise output channels are not input channels × multiplier");
                }
                let taps = window.kernel_height * window.kernel_width;
                if Some(filter.len()) != taps.checked_mul(out_shape.channels) {
                    return Err("depthwise filter does not match its kernel and channels");
                }
                if !requant_ok(&bias, &requant, out_shape.channels) {
                    return Err("depthwise bias or requantization has the wrong length");
                }
                if !spatial_ok(&window) {
                    return Err("depthwise output size does not fit its input");
                }
            }
            OpKind::MaxPool2d { window } | OpKind::AveragePool2d { window } => {
                if in_shape.channels != out_shape.channels {
                    return Err("pooling changes the channel count");
                }
                if !spatial_ok(&window) {
                    return Err("pooling output size does not fit its input");
                }
                if input.scale != output.scale || input.zero_point != output.zero_point {
                    return Err("pooling input and output quantization differ");
                }
            }
            OpKind::Add { .. } => {
                if self.tensor(op.inputs[1]).shape != in_shape || out_shape != in_shape {
                    return Err("add operands and output differ in shape");
                }
            }
            OpKind::Softmax { .. } => {
                if out_shape != in_shape {
                    return Err("softmax changes the shape");
                }
                if output.zero_point != -128 {
                    return Err("softmax output zero point must be -128");
                }
            }
            OpKind::Reshape => {
                if output.len() != input.len() {
                    return Err("reshape changes the element count");
                }
            }
        }
        Ok(())
    }

    fn tensor_record(&self, index: usize) -> TensorInfo {
        let start = index * TENSOR_RECORD_LEN;
        let r = &self.tensors[start..start + TENSOR_RECORD_LEN];
        let u16_at = |i: usize| usize::from(u16::from_le_bytes([r[i], r[i + 1]]));
        TensorInfo {
            shape: Shape3 { height: u16_at(0), width: u16_at(2), channels: u16_at(4) },
            zero_point: i32::from(r[6] as i8),
            scale: f32::from_le_bytes([r[8], r[9], r[10], r[11]]),
            offset: u32::from_le_bytes([r[12], r[13], r[14], r[15]]) as usize,
        }
    }

    /// Tensor `index` (valid indices come from the graph, which parsing checked).
    pub fn tensor(&self, index: u8) -> TensorInfo {
        let index = usize::from(index).min(self.n_tensors.saturating_sub(1));
        self.tensor_record(index)
    }

    /// Number of tensors.
    pub fn n_tensors(&self) -> usize {
        self.n_tensors
    }

    /// The operators in execution order.
    pub fn ops(&self) -> impl Iterator<Item = Op<'a>> + '_ {
        let mut reader = Reader::new(self.ops, "graph");
        (0..self.n_ops).map_while(move |index| read_op(&mut reader, self.consts, index as u8).ok())
    }

    /// Model name (the project's).
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// Class names in score order.
    pub fn labels(&self) -> impl Iterator<Item = &'a str> + 'a {
        let mut reader = Reader::new(self.labels, "labels");
        (0..self.n_labels).map_while(move |_| reader.str8("label").ok())
    }

    /// Class name `index`.
    pub fn label(&self, index: usize) -> Option<&'a str> {
        self.labels().nth(index)
    }

    pub fn n_labels(&self) -> usize {
        self.n_labels
    }

    /// Axis names the model reads, in order (e.g. `accX`).
    pub fn axes(&self) -> impl Iterator<Item = &'a str> + 'a {
        let mut reader = Reader::new(self.axes, "axes");
        (0..self.n_axes).map_while(move |_| reader.str8("axis name").ok())
    }

    pub fn n_axes(&self) -> usize {
        self.n_axes
    }

    pub fn rate_hz(&self) -> f32 {
        self.rate_hz
    }

    pub fn window_samples(&self) -> usize {
        self.window_samples as usize
    }

    pub fn stride_samples(&self) -> usize {
        self.stride_samples as usize
    }

    /// The DSP block the features come from.
    pub fn dsp(&self) -> mote_dsp::DspConfig {
        // Checked in `parse`.
        crate::dsp_config::decode(self.dsp).unwrap_or(mote_dsp::DspConfig::Raw(mote_dsp::Raw::default()))
    }

    /// Features per window (the DSP block's output length).
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Bytes of working memory [`crate::Model::classify`] needs.
    pub fn arena_len(&self) -> usize {
        self.arena_len
    }

    pub fn anomaly(&self) -> Option<&AnomalyBlock<'a>> {
        self.anomaly.as_ref()
    }

    /// Whether the model classifies (it may be an anomaly detector only).
    pub fn has_classifier(&self) -> bool {
        self.n_ops > 0
    }

    /// The whole blob.
    pub fn bytes(&self) -> &'a [u8] {
        self.blob
    }

    /// Multiply-accumulates per inference (pooling comparisons and element-wise steps count one
    /// each; for latency estimates).
    pub fn macs(&self) -> u64 {
        self.ops().map(|op| crate::interpreter::op_macs(self, &op)).sum()
    }

    /// Output values of dense layers: a board pays a dot-product set-up and a requantization per
    /// value.
    pub fn dense_outputs(&self) -> u64 {
        use crate::op::OpKind;
        self.ops()
            .filter(|op| matches!(op.kind, OpKind::FullyConnected { .. }))
            .map(|op| self.tensor(op.output).range().len() as u64)
            .sum()
    }

    /// Output values of (full) convolutions (one requantization each).
    pub fn conv_outputs(&self) -> u64 {
        use crate::op::OpKind;
        self.ops()
            .filter(|op| matches!(op.kind, OpKind::Conv2d { .. }))
            .map(|op| self.tensor(op.output).range().len() as u64)
            .sum()
    }

    /// Output values of depthwise convolutions.
    pub fn depthwise_outputs(&self) -> u64 {
        use crate::op::OpKind;
        self.ops()
            .filter(|op| matches!(op.kind, OpKind::DepthwiseConv2d { .. }))
            .map(|op| self.tensor(op.output).range().len() as u64)
            .sum()
    }

    /// The part of [`Model::macs`] in depthwise convolutions.
    pub fn depthwise_macs(&self) -> u64 {
        self.ops()
            .filter(|op| matches!(op.kind, crate::op::OpKind::DepthwiseConv2d { .. }))
            .map(|op| crate::interpreter::op_macs(self, &op))
            .sum()
    }

    /// Output values of pooling operators.
    pub fn pooled_outputs(&self) -> u64 {
        use crate::op::OpKind;
        self.ops()
            .filter(|op| matches!(op.kind, OpKind::MaxPool2d { .. } | OpKind::AveragePool2d { .. }))
            .map(|op| self.tensor(op.output).range().len() as u64)
            .sum()
    }

    /// The part of [`Model::macs`] in (full) convolutions, which cost more per MAC than dense
    /// layers; depthwise ones are [`Model::depthwise_macs`].
    pub fn conv_macs(&self) -> u64 {
        self.ops()
            .filter(|op| matches!(op.kind, crate::op::OpKind::Conv2d { .. }))
            .map(|op| crate::interpreter::op_macs(self, &op))
            .sum()
    }
}

fn overlaps(a: &core::ops::Range<usize>, b: &core::ops::Range<usize>) -> bool {
    a.start < b.end && b.start < a.end
}

/// Advances past one operator without resolving constants (to find the section's end).
fn skip_op(reader: &mut Reader<'_>, index: u8) -> Result<(), BlobError> {
    use crate::op::code;
    let op_code = reader.u8()?;
    let fixed = match op_code {
        code::FULLY_CONNECTED => 2 + 2 + 4 * 8,
        code::CONV_2D => 2 + 2 + 12 + 4 * 8,
        code::DEPTHWISE_CONV_2D => 2 + 2 + 12 + 4 * 8 + 2,
        code::MAX_POOL_2D | code::AVERAGE_POOL_2D => 2 + 2 + 12,
        code::ADD => 3 + 2 + 7 * 4,
        code::SOFTMAX => 2 + 8,
        code::RESHAPE => 2,
        code => return Err(BlobError::UnknownOp { index, code }),
    };
    reader.bytes(fixed).map(|_| ())
}
