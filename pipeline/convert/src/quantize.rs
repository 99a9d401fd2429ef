//! Post-training int8 quantization of an exported classifier into a model blob.
//!
//! - Activations: asymmetric per-tensor int8. Each tensor's range is calibrated by running the
//!   float network over a representative set of rows (min/max, or a percentile to ignore
//!   outliers); the range always includes 0 so zero padding and ReLU are exact.
//! - Weights: symmetric per output channel (`scale = max|w| / 127`, zero point 0).
//! - Biases: int32 with `scale = input_scale · weight_scale[c]`.
//! - Requantization: `input_scale · weight_scale[c] / output_scale` as a fixed-point multiplier.
//! - Normalisation `(x − mean) / std` is folded into the input quantization, one multiply-add per
//!   feature. (Folding it into the first layer's weights instead would make the int8 input carry
//!   raw features of very different ranges with one scale, losing most of their precision.)
//! - Softmax: a lookup table for the logits' scale; output scale 1/256, zero point −128.

use mote_runtime::builder::{BlobBuilder, ChannelWeights, ModelMeta, OpSpec, TensorSpec, softmax_table};
use mote_runtime::kernels::{ActivationRange, Shape3, Window2d, quantize_multiplier};
use mote_train::{Activation, ExportedModel, LayerKind};
use serde::{Deserialize, Serialize};

/// How activation ranges are calibrated.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum Calibration {
    /// The smallest and largest value seen.
    MinMax,
    /// The `percentile`-th and `(100 − percentile)`-th percentiles (e.g. 99.99).
    Percentile { percentile: f32 },
    /// Per tensor, the range with the least quantization error: the min/max range (kept) or
    /// that range clipped towards 0 by a factor, whichever gives the smallest mean squared error
    /// of quantizing the calibration values — so a few extreme values (e.g. a wide-range feature)
    /// no longer cost every other value its resolution. The factor is recorded per tensor.
    Mse,
}

/// The clipping factors [`Calibration::Mse`] tries: 1 (min/max), then down to 0.2 in ~3 % steps.
fn clip_factors() -> impl Iterator<Item = f32> {
    (0..55).map(|step| 0.97f32.powi(step)).filter(|factor| *factor >= 0.2)
}

/// Values an MSE search scores at most (evenly spread over those seen).
const MSE_SAMPLE: usize = 200_000;

/// Quantization settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct QuantizeConfig {
    /// Rows of the representative set used at most (spread evenly over the rows given).
    pub calibration_rows: usize,
    pub calibration: Calibration,
}

impl Default for QuantizeConfig {
    fn default() -> Self {
        Self { calibration_rows: 1000, calibration: Calibration::Mse }
    }
}

/// What the blob's metadata says about the impulse (everything but the network).
#[derive(Debug, Clone, PartialEq)]
pub struct ImpulseMeta {
    pub name: String,
    pub rate_hz: f32,
    pub window_samples: u32,
    pub stride_samples: u32,
    pub axes: Vec<String>,
    pub dsp: mote_dsp::DspConfig,
}

/// The quantization of one activation tensor.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TensorQuant {
    /// Calibrated range (widened to include 0).
    pub min: f32,
    pub max: f32,
    pub scale: f32,
    pub zero_point: i8,
    /// The share of the min/max range kept (1 = min/max; below 1 = clipped by the MSE search).
    #[serde(default = "full_range")]
    pub clip: f32,
}

fn full_range() -> f32 {
    1.0
}

impl TensorQuant {
    /// Asymmetric int8 quantization covering `[min, max]` (widened to include 0).
    pub fn from_range(min: f32, max: f32) -> Self {
        let (min, max) = (min.min(0.0), max.max(0.0));
        let span = f64::from(max) - f64::from(min);
        let scale = if span > 0.0 { span / 255.0 } else { 1.0 / 255.0 };
        let zero_point = (-128.0 - f64::from(min) / scale).round().clamp(-128.0, 127.0) as i8;
        Self { min, max, scale: scale as f32, zero_point, clip: 1.0 }
    }

    /// Mean squared error of quantizing and dequantizing `values` with this quantization.
    fn squared_error(&self, values: &[f32]) -> f64 {
        let (scale, zero_point) = (f64::from(self.scale), f64::from(self.zero_point));
        let total: f64 = values
            .iter()
            .map(|&value| {
                let q = (f64::from(value) / scale + zero_point).round().clamp(-128.0, 127.0);
                let error = f64::from(value) - (q - zero_point) * scale;
                error * error
            })
            .sum();
        total / values.len().max(1) as f64
    }
}

/// A quantized model.
#[derive(Debug, Clone)]
pub struct QuantizedModel {
    pub blob: Vec<u8>,
    /// The input tensor's quantization, then every layer output's, in order.
    pub tensors: Vec<TensorQuant>,
    pub calibration_rows: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum QuantizeError {
    #[error("no calibration rows (the representative set is empty)")]
    NoCalibrationData,
    #[error("calibration rows have {found} values, the model takes {expected} per row")]
    RowLength { expected: usize, found: usize },
    #[error("the model has {0} classes; a board reports at most {max}", max = mote_runtime::MAX_LABELS)]
    TooManyClasses(usize),
    #[error("layer {layer} ({kind}) cannot be quantized: {why}")]
    Unsupported { layer: usize, kind: String, why: String },
    #[error(transparent)]
    Build(#[from] mote_runtime::builder::BuildError),
}

/// The float network split into one-layer models, to see every layer's output.
pub(crate) struct FloatLayers<'m> {
    model: &'m ExportedModel,
    layers: Vec<ExportedModel>,
}

impl<'m> FloatLayers<'m> {
    pub fn new(model: &'m ExportedModel) -> Self {
        let layers = model
            .layers
            .iter()
            .map(|layer| {
                let n_in: usize = layer.input_shape.iter().product();
                ExportedModel {
                    n_features: n_in,
                    input_shape: layer.input_shape.clone(),
                    normalisation: mote_train::Normalisation { mean: vec![0.0; n_in], std: vec![1.0; n_in] },
                    layers: vec![mote_train::ExportedLayer {
                        // Softmax is quantized separately; its input (the logits) is calibrated.
                        activation: match layer.activation {
                            Activation::Softmax => Activation::None,
                            other => other,
                        },
                        ..layer.clone()
                    }],
                    label_names: vec![],
                }
            })
            .collect();
        Self { model, layers }
    }

    /// The normalised input and every layer's output (pre-softmax for a softmax layer).
    pub fn outputs(&self, raw_row: &[f32]) -> (Vec<f32>, Vec<Vec<f32>>) {
        let mut x = vec![0.0; self.model.n_features];
        self.model.normalisation.apply_into(raw_row, &mut x);
        let input = x.clone();
        let mut outputs = Vec::with_capacity(self.layers.len());
        for layer in &self.layers {
            x = layer.predict_row(&x);
            outputs.push(x.clone());
        }
        (input, outputs)
    }
}

/// Rows `0, step, 2·step, …` so that at most `limit` rows are used, spread over the whole set.
fn calibration_indices(n_rows: usize, limit: usize) -> Vec<usize> {
    if n_rows <= limit.max(1) {
        return (0..n_rows).collect();
    }
    (0..limit.max(1)).map(|i| i * n_rows / limit.max(1)).collect()
}

/// The tensor's quantization from the values it took on the calibration rows.
fn calibrate(values: &mut [f32], calibration: Calibration) -> TensorQuant {
    match calibration {
        Calibration::Mse if !values.is_empty() => {
            let (min, max) = range_of(values, Calibration::MinMax);
            let step = values.len().div_ceil(MSE_SAMPLE).max(1);
            let sample: Vec<f32> = values.iter().step_by(step).copied().collect();
            let mut best = (TensorQuant::from_range(min, max), f64::INFINITY);
            for clip in clip_factors() {
                let candidate = TensorQuant { clip, ..TensorQuant::from_range(min * clip, max * clip) };
                let error = candidate.squared_error(&sample);
                if error < best.1 {
                    best = (candidate, error);
                }
            }
            best.0
        }
        _ => {
            let (min, max) = range_of(values, calibration);
            TensorQuant::from_range(min, max)
        }
    }
}

fn range_of(values: &mut [f32], calibration: Calibration) -> (f32, f32) {
    if values.is_empty() {
        return (0.0, 0.0);
    }
    match calibration {
        Calibration::MinMax | Calibration::Mse => {
            values.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)))
        }
        Calibration::Percentile { percentile } => {
            values.sort_by(f32::total_cmp);
            let p = f64::from(percentile.clamp(50.0, 100.0)) / 100.0;
            let last = values.len() - 1;
            let hi = ((last as f64) * p).round() as usize;
            let lo = ((last as f64) * (1.0 - p)).round() as usize;
            (values[lo], values[hi])
        }
    }
}

/// Per-output-channel symmetric int8 weights: `rows` rows of `row_len` weights each.
fn quantize_channels(
    weights: &[f32],
    biases: &[f32],
    row_len: usize,
    input_scale: f32,
    output_scale: f32,
) -> ChannelWeights {
    let mut out = ChannelWeights::default();
    for (row, &bias) in weights.chunks_exact(row_len).zip(biases) {
        let max_abs = row.iter().fold(0.0f32, |m, w| m.max(w.abs()));
        let weight_scale = if max_abs > 0.0 { f64::from(max_abs) / 127.0 } else { 1.0 };
        out.weights
            .extend(row.iter().map(|&w| (f64::from(w) / weight_scale).round().clamp(-127.0, 127.0) as i8));
        let bias_scale = f64::from(input_scale) * weight_scale;
        out.bias.push((f64::from(bias) / bias_scale).round().clamp(i32::MIN as f64, i32::MAX as f64) as i32);
        let (multiplier, shift) = quantize_multiplier(bias_scale / f64::from(output_scale));
        out.multipliers.push(multiplier);
        out.shifts.push(shift);
    }
    out
}

/// A window over time (a row of height 1): `kernel` steps, moving `stride`, no padding.
fn time_window(kernel: usize, stride: usize) -> Window2d {
    Window2d {
        kernel_height: 1,
        kernel_width: kernel,
        stride_height: 1,
        stride_width: stride,
        pad_top: 0,
        pad_left: 0,
    }
}

fn shape3(shape: &[usize]) -> Shape3 {
    match *shape {
        [n] => Shape3 { height: 1, width: 1, channels: n },
        [time, channels] => Shape3 { height: 1, width: time, channels },
        _ => Shape3 { height: 1, width: 1, channels: shape.iter().product() },
    }
}

/// Quantizes `model` with ranges calibrated on `calibration` (raw feature rows, row-major).
pub fn quantize(
    model: &ExportedModel,
    meta: &ImpulseMeta,
    calibration: &[f32],
    config: &QuantizeConfig,
) -> Result<QuantizedModel, QuantizeError> {
    let n_features = model.n_features;
    if calibration.is_empty() {
        return Err(QuantizeError::NoCalibrationData);
    }
    if !calibration.len().is_multiple_of(n_features) {
        return Err(QuantizeError::RowLength { expected: n_features, found: calibration.len() % n_features });
    }
    if model.label_names.len() > mote_runtime::MAX_LABELS {
        return Err(QuantizeError::TooManyClasses(model.label_names.len()));
    }
    let rows = calibration_indices(calibration.len() / n_features, config.calibration_rows);
    // Values seen per tensor: [input, layer 0 output, layer 1 output, …].
    let mut seen: Vec<Vec<f32>> = vec![Vec::new(); model.layers.len() + 1];
    let float_layers = FloatLayers::new(model);
    for &row in &rows {
        let (input, outputs) = float_layers.outputs(&calibration[row * n_features..(row + 1) * n_features]);
        seen[0].extend(input);
        for (values, output) in seen[1..].iter_mut().zip(outputs) {
            values.extend(output);
        }
    }
    let mut quants: Vec<TensorQuant> =
        seen.iter_mut().map(|values| calibrate(values, config.calibration)).collect();
    // Pooling and flatten keep their input's quantization (max pooling cannot leave its range).
    for (idx, layer) in model.layers.iter().enumerate() {
        if matches!(layer.kind, LayerKind::MaxPool1d { .. } | LayerKind::Flatten) {
            quants[idx + 1] = quants[idx];
        }
    }

    let input_quant = quants[0];
    let inv_scale = 1.0 / f64::from(input_quant.scale);
    let feature_scale: Vec<f32> =
        model.normalisation.std.iter().map(|&std| (inv_scale / f64::from(std)) as f32).collect();
    let feature_offset: Vec<f32> = model
        .normalisation
        .mean
        .iter()
        .zip(&model.normalisation.std)
        .map(|(&mean, &std)| {
            (f64::from(input_quant.zero_point) - f64::from(mean) / f64::from(std) * inv_scale) as f32
        })
        .collect();
    let mut builder = BlobBuilder::new(ModelMeta {
        name: meta.name.clone(),
        labels: model.label_names.clone(),
        rate_hz: meta.rate_hz,
        window_samples: meta.window_samples,
        stride_samples: meta.stride_samples,
        axes: meta.axes.clone(),
        dsp: meta.dsp.clone(),
        feature_scale,
        feature_offset,
    });
    let tensor = |builder: &mut BlobBuilder, shape: &[usize], quant: TensorQuant| {
        builder.tensor(TensorSpec { shape: shape3(shape), scale: quant.scale, zero_point: quant.zero_point })
    };
    let input = tensor(&mut builder, &model.input_shape, input_quant);
    let mut current = input;
    let mut output = input;
    for (idx, layer) in model.layers.iter().enumerate() {
        let (in_quant, out_quant) = (quants[idx], quants[idx + 1]);
        let activation = match layer.activation {
            Activation::Relu => ActivationRange { min: i32::from(out_quant.zero_point).max(-128), max: 127 },
            Activation::None | Activation::Softmax => ActivationRange::NONE,
        };
        let unsupported = |why: &str| QuantizeError::Unsupported {
            layer: idx,
            kind: format!("{:?}", layer.kind),
            why: why.to_string(),
        };
        match layer.kind {
            LayerKind::Flatten => continue,
            LayerKind::Dense => {
                let next = tensor(&mut builder, &layer.output_shape, out_quant);
                let weights = quantize_channels(
                    &layer.weights,
                    &layer.biases,
                    layer.weight_shape[1],
                    in_quant.scale,
                    out_quant.scale,
                );
                builder.op(OpSpec::FullyConnected { input: current, output: next, weights, activation });
                current = next;
            }
            LayerKind::Conv1d { kernel_size } => {
                let next = tensor(&mut builder, &layer.output_shape, out_quant);
                let row_len = kernel_size * layer.weight_shape[2];
                let filter = quantize_channels(
                    &layer.weights,
                    &layer.biases,
                    row_len,
                    in_quant.scale,
                    out_quant.scale,
                );
                let window = time_window(kernel_size, 1);
                builder.op(OpSpec::Conv2d { input: current, output: next, window, filter, activation });
                current = next;
            }
            LayerKind::DepthwiseConv1d { kernel_size } => {
                let next = tensor(&mut builder, &layer.output_shape, out_quant);
                // Per-channel scales along the last axis of `[kernel][channels]`: quantize the
                // channels' rows, then lay them out channel-innermost again (the runtime's order).
                let channels = layer.weight_shape[1];
                let by_channel: Vec<f32> = (0..channels)
                    .flat_map(|c| (0..kernel_size).map(move |k| (k, c)))
                    .map(|(k, c)| layer.weights[k * channels + c])
                    .collect();
                let mut filter = quantize_channels(
                    &by_channel,
                    &layer.biases,
                    kernel_size,
                    in_quant.scale,
                    out_quant.scale,
                );
                let rows = filter.weights.clone();
                for c in 0..channels {
                    for k in 0..kernel_size {
                        filter.weights[k * channels + c] = rows[c * kernel_size + k];
                    }
                }
                let window = time_window(kernel_size, 1);
                builder.op(OpSpec::DepthwiseConv2d {
                    input: current,
                    output: next,
                    window,
                    depth_multiplier: 1,
                    filter,
                    activation,
                });
                current = next;
            }
            LayerKind::MaxPool1d { size } => {
                if layer.input_shape.len() != 2 {
                    return Err(unsupported("pooling needs a [time, channels] input"));
                }
                let next = tensor(&mut builder, &layer.output_shape, out_quant);
                let window = time_window(size, size);
                builder.op(OpSpec::MaxPool2d { input: current, output: next, window, activation });
                current = next;
            }
        }
        if layer.activation == Activation::Softmax {
            if idx + 1 != model.layers.len() {
                return Err(unsupported("softmax is only supported on the last layer"));
            }
            let probabilities = builder.tensor(TensorSpec {
                shape: shape3(&layer.output_shape),
                scale: 1.0 / 256.0,
                zero_point: -128,
            });
            builder.op(OpSpec::Softmax {
                input: current,
                output: probabilities,
                table: softmax_table(out_quant.scale),
            });
            current = probabilities;
        }
        output = current;
    }
    builder.io(input, output);
    let blob = builder.build()?;
    Ok(QuantizedModel { blob, tensors: quants, calibration_rows: rows.len() })
}

/// An anomaly-only blob for a k-means model (no classifier; scores come from the anomaly block).
pub fn anomaly_blob(model: &mote_train::AnomalyModel, meta: &ImpulseMeta) -> Result<Vec<u8>, QuantizeError> {
    use mote_runtime::builder::AnomalySpec;
    let n_features = model.n_features();
    let mut builder = BlobBuilder::new(ModelMeta {
        name: meta.name.clone(),
        labels: Vec::new(),
        rate_hz: meta.rate_hz,
        window_samples: meta.window_samples,
        stride_samples: meta.stride_samples,
        axes: meta.axes.clone(),
        dsp: meta.dsp.clone(),
        feature_scale: vec![1.0; n_features],
        feature_offset: vec![0.0; n_features],
    });
    let normalisation = model.normalisation();
    builder.anomaly(AnomalySpec {
        mean: normalisation.mean.clone(),
        std: normalisation.std.clone(),
        centroids: model.centroids().to_vec(),
        radii: model.radii().iter().map(|&r| r.max(1e-6)).collect(),
    });
    Ok(builder.build()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Many values in ±1 and a few at ±2.5 (as a normalised feature with rare spikes): min/max
    /// spends half the int8 steps on the spikes, and the MSE search must clip them; without the
    /// spikes the range stays whole.
    #[test]
    fn the_mse_search_clips_rare_spikes_and_keeps_a_plain_range() {
        let n = 200_000;
        let mut plain: Vec<f32> = (0..n).map(|i| ((i * 7919) % 10_007) as f32 / 5003.5 - 1.0).collect();
        let mut spiky = plain.clone();
        spiky.extend([2.5, -2.5, 2.5, -2.5]);
        let min_max = calibrate(&mut spiky.clone(), Calibration::MinMax);
        let mse = calibrate(&mut spiky, Calibration::Mse);
        assert_eq!(min_max.clip, 1.0);
        assert!(mse.clip < 0.85, "rare spikes are clipped: {}", mse.clip);
        assert!(mse.squared_error(&spiky) < min_max.squared_error(&spiky));
        assert!(mse.scale < min_max.scale);

        let kept = calibrate(&mut plain, Calibration::Mse);
        assert!(kept.clip > 0.9, "a plain range stays (nearly) whole: {}", kept.clip);
        // An empty tensor and a constant one quantize without panicking.
        assert_eq!(calibrate(&mut [], Calibration::Mse).clip, 1.0);
        assert!(calibrate(&mut [0.0; 10], Calibration::Mse).scale > 0.0);
    }
}
