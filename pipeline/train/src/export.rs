//! A trained classifier as plain `f32` arrays, layer by layer — what the int8 quantizer reads.
//!
//! Conventions (channels-last, as TFLite):
//! - The input row is `n_features` raw values. Apply [`Normalisation`] first:
//!   `x[i] = (raw[i] - mean[i]) / std[i]`.
//! - A conv network reads the row as `[time][channels]` (time-major) and keeps activations as
//!   `[time][channels]` arrays; `Flatten` is therefore a no-op on memory.
//! - `Dense`: `weights` is `[out][in]` (one row per output neuron — per-channel quantization is
//!   per row); `y[o] = b[o] + Σ_i w[o][i] · x[i]`.
//! - `Conv1d`: `weights` is `[filters][kernel][in_channels]`, stride 1, no padding ("valid"):
//!   `y[t][f] = b[f] + Σ_k Σ_c w[f][k][c] · x[t + k][c]`, `t < time_in - kernel + 1`.
//! - `DepthwiseConv1d` (the first half of a separable block): `weights` is `[kernel][channels]`,
//!   one filter per channel, stride 1, valid: `y[t][c] = b[c] + Σ_k w[k][c] · x[t + k][c]`.
//! - `MaxPool1d`: `y[t][c] = max_{j < size} x[t · size + j][c]` (stride = size, floor).
//! - `activation` follows the layer; `Softmax` is on the last layer only, giving probabilities.
//!   Dropout is a training-only layer and does not appear.

use serde::{Deserialize, Serialize};

use burn::module::Param;
use burn::tensor::Tensor;

use crate::model::TrainedModel;
use crate::normalise::Normalisation;

/// A classifier as data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportedModel {
    /// Raw input values per row.
    pub n_features: usize,
    /// `[n_features]` for a dense network, `[time, channels]` for a conv network.
    pub input_shape: Vec<usize>,
    /// Applied to the raw row before the first layer.
    pub normalisation: Normalisation,
    /// Layers in order.
    pub layers: Vec<ExportedLayer>,
    /// Class names, in output order.
    pub label_names: Vec<String>,
}

/// One layer; see the module documentation for the exact arithmetic and layouts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportedLayer {
    /// What the layer computes.
    pub kind: LayerKind,
    /// Shape of the layer's input (`[n]` or `[time, channels]`).
    pub input_shape: Vec<usize>,
    /// Shape of the layer's output.
    pub output_shape: Vec<usize>,
    /// Weights, row-major in `weight_shape` (empty for pooling and flatten).
    pub weights: Vec<f32>,
    /// `[out, in]` for `Dense`, `[filters, kernel, in_channels]` for `Conv1d`, `[kernel, channels]`
    /// for `DepthwiseConv1d`, else empty.
    pub weight_shape: Vec<usize>,
    /// One bias per output neuron / filter (empty for pooling and flatten).
    pub biases: Vec<f32>,
    /// Applied to the layer's output.
    pub activation: Activation,
}

/// Layer types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LayerKind {
    /// Fully connected.
    Dense,
    /// 1-D convolution over time, stride 1, valid padding.
    Conv1d {
        /// Kernel length.
        kernel_size: usize,
    },
    /// Depthwise 1-D convolution over time (one filter per channel), stride 1, valid padding.
    DepthwiseConv1d {
        /// Kernel length.
        kernel_size: usize,
    },
    /// Max pooling over time with stride = size.
    MaxPool1d {
        /// Window and stride.
        size: usize,
    },
    /// `[time, channels]` → `[time · channels]` (no data movement).
    Flatten,
}

/// Activation after a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// Identity.
    None,
    /// `max(0, x)`.
    Relu,
    /// `exp(x_i) / Σ exp(x_j)`.
    Softmax,
}

impl TrainedModel {
    /// The weights as plain arrays in the documented layouts.
    pub fn export(&self) -> ExportedModel {
        let network = self.network();
        let arch = network.architecture();
        let mut layers = Vec::new();
        let mut shape = vec![arch.n_features];
        if let Some(sample_shape) = arch.shape {
            let conv_shapes = arch.conv_shapes().expect("checked when built");
            shape = vec![sample_shape.time, sample_shape.channels];
            for (block, ((conv, &filters), &(time_out, _))) in
                network.convs.iter().zip(&arch.conv_filters).zip(&conv_shapes[1..]).enumerate()
            {
                if let Some(depthwise) = network.depthwise.get(block) {
                    // burn: [channels][1][kernel] → export: [kernel][channels]
                    let [channels, _, kernel] = depthwise.weight.dims();
                    let burn_weights = values(&depthwise.weight);
                    let mut weights = vec![0.0; burn_weights.len()];
                    for c in 0..channels {
                        for k in 0..kernel {
                            weights[k * channels + c] = burn_weights[c * kernel + k];
                        }
                    }
                    let time = shape[0] - kernel + 1;
                    layers.push(ExportedLayer {
                        kind: LayerKind::DepthwiseConv1d { kernel_size: kernel },
                        input_shape: shape.clone(),
                        output_shape: vec![time, channels],
                        weights,
                        weight_shape: vec![kernel, channels],
                        biases: depthwise.bias.as_ref().map(values).unwrap_or_else(|| vec![0.0; channels]),
                        activation: Activation::None,
                    });
                    shape = vec![time, channels];
                }
                let [_, channels_in, kernel] = conv.weight.dims();
                // burn: [filters][in][kernel] → export: [filters][kernel][in]
                let burn_weights = values(&conv.weight);
                let mut weights = vec![0.0; burn_weights.len()];
                for f in 0..filters {
                    for c in 0..channels_in {
                        for k in 0..kernel {
                            weights[(f * kernel + k) * channels_in + c] =
                                burn_weights[(f * channels_in + c) * kernel + k];
                        }
                    }
                }
                let conv_time = shape[0] - kernel + 1;
                layers.push(ExportedLayer {
                    kind: LayerKind::Conv1d { kernel_size: kernel },
                    input_shape: shape.clone(),
                    output_shape: vec![conv_time, filters],
                    weights,
                    weight_shape: vec![filters, kernel, channels_in],
                    biases: conv.bias.as_ref().map(values).unwrap_or_else(|| vec![0.0; filters]),
                    activation: Activation::Relu,
                });
                shape = vec![conv_time, filters];
                if arch.pool > 1 {
                    layers.push(ExportedLayer {
                        kind: LayerKind::MaxPool1d { size: arch.pool },
                        input_shape: shape.clone(),
                        output_shape: vec![time_out, filters],
                        weights: vec![],
                        weight_shape: vec![],
                        biases: vec![],
                        activation: Activation::None,
                    });
                    shape = vec![time_out, filters];
                }
            }
            let flat = vec![shape.iter().product()];
            layers.push(ExportedLayer {
                kind: LayerKind::Flatten,
                input_shape: shape,
                output_shape: flat.clone(),
                weights: vec![],
                weight_shape: vec![],
                biases: vec![],
                activation: Activation::None,
            });
            shape = flat;
        }
        let dense_layers = network.hidden.iter().map(|layer| (layer, Activation::Relu));
        for (layer, activation) in dense_layers.chain([(&network.output, Activation::Softmax)]) {
            // burn: [in][out] → export: [out][in]
            let [d_input, d_output] = layer.weight.dims();
            let burn_weights = values(&layer.weight);
            let mut weights = vec![0.0; burn_weights.len()];
            for i in 0..d_input {
                for o in 0..d_output {
                    weights[o * d_input + i] = burn_weights[i * d_output + o];
                }
            }
            layers.push(ExportedLayer {
                kind: LayerKind::Dense,
                input_shape: shape.clone(),
                output_shape: vec![d_output],
                weights,
                weight_shape: vec![d_output, d_input],
                biases: layer.bias.as_ref().map(values).unwrap_or_else(|| vec![0.0; d_output]),
                activation,
            });
            shape = vec![d_output];
        }
        ExportedModel {
            n_features: arch.n_features,
            input_shape: match arch.shape {
                Some(sample_shape) => vec![sample_shape.time, sample_shape.channels],
                None => vec![arch.n_features],
            },
            normalisation: self.normalisation().clone(),
            layers,
            label_names: self.label_names().to_vec(),
        }
    }
}

impl ExportedModel {
    /// Reference float inference over the exported arrays for one raw row, exactly as documented
    /// above: the parity oracle for the quantized runtime.
    pub fn predict_row(&self, raw_row: &[f32]) -> Vec<f32> {
        let mut x = vec![0.0; self.n_features];
        self.normalisation.apply_into(raw_row, &mut x);
        for layer in &self.layers {
            x = match layer.kind {
                LayerKind::Dense => {
                    let d_input = layer.weight_shape[1];
                    (0..layer.weight_shape[0])
                        .map(|o| {
                            let row = &layer.weights[o * d_input..(o + 1) * d_input];
                            layer.biases[o] + row.iter().zip(&x).map(|(w, v)| w * v).sum::<f32>()
                        })
                        .collect()
                }
                LayerKind::Conv1d { kernel_size } => {
                    let [filters, _, channels] = [layer.weight_shape[0], kernel_size, layer.weight_shape[2]];
                    let time_out = layer.output_shape[0];
                    let mut y = vec![0.0; time_out * filters];
                    for t in 0..time_out {
                        for f in 0..filters {
                            let mut acc = layer.biases[f];
                            for k in 0..kernel_size {
                                for c in 0..channels {
                                    acc += layer.weights[(f * kernel_size + k) * channels + c]
                                        * x[(t + k) * channels + c];
                                }
                            }
                            y[t * filters + f] = acc;
                        }
                    }
                    y
                }
                LayerKind::DepthwiseConv1d { kernel_size } => {
                    let [time_out, channels] = [layer.output_shape[0], layer.output_shape[1]];
                    let mut y = vec![0.0; time_out * channels];
                    for t in 0..time_out {
                        for c in 0..channels {
                            let mut acc = layer.biases[c];
                            for k in 0..kernel_size {
                                acc += layer.weights[k * channels + c] * x[(t + k) * channels + c];
                            }
                            y[t * channels + c] = acc;
                        }
                    }
                    y
                }
                LayerKind::MaxPool1d { size } => {
                    let [time_out, channels] = [layer.output_shape[0], layer.output_shape[1]];
                    let mut y = vec![f32::NEG_INFINITY; time_out * channels];
                    for t in 0..time_out {
                        for j in 0..size {
                            for c in 0..channels {
                                y[t * channels + c] =
                                    y[t * channels + c].max(x[(t * size + j) * channels + c]);
                            }
                        }
                    }
                    y
                }
                LayerKind::Flatten => x,
            };
            match layer.activation {
                Activation::None => {}
                Activation::Relu => x.iter_mut().for_each(|v| *v = v.max(0.0)),
                Activation::Softmax => {
                    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    x.iter_mut().for_each(|v| *v = (*v - max).exp());
                    let sum: f32 = x.iter().sum();
                    x.iter_mut().for_each(|v| *v /= sum);
                }
            }
        }
        x
    }

    /// Every weight and bias of every layer, in order (for bit-for-bit comparisons).
    pub fn parameters(&self) -> impl Iterator<Item = f32> + '_ {
        self.layers.iter().flat_map(|layer| layer.weights.iter().chain(&layer.biases).copied())
    }
}

fn values<const D: usize>(param: &Param<Tensor<D>>) -> Vec<f32> {
    param.val().into_data().try_into_vec::<f32>().expect("weights are f32")
}
