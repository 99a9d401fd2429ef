//! The classifier network in burn: optional conv blocks, then dense layers, then the output layer.
//!
//! Layout: a row is `n_features` normalised values. Conv blocks read it as `(time, channels)`
//! time-major, transpose it to burn's `[channels, time]`, and transpose back before the flatten,
//! so the flattened vector is time-major (`t * filters + f`) — channels-last throughout, as in
//! TFLite, which is what [`crate::export`] describes.
//!
//! Weights are initialised here from our own seeded RNG (He-uniform before a ReLU, Glorot-uniform
//! for the output layer, zero biases) and dropout masks come from our own RNG too, so a training
//! run does not depend on burn's process-global RNG, which concurrent trainings would share.

use burn::module::{Module, Param};
use burn::nn::conv::Conv1d;
use burn::nn::pool::{MaxPool1d, MaxPool1dConfig};
use burn::nn::{Linear, PaddingConfig1d};
use burn::tensor::{Device, Tensor, TensorData, activation};
use rand::Rng;
use rand::rngs::SmallRng;
use serde::{Deserialize, Serialize};

use crate::config::BlockConfig;
use crate::dataset::SampleShape;
use crate::error::TrainError;

/// The shape of a classifier network, derived from the block config and the data; stored in the
/// model's sidecar so a saved model can be rebuilt before its weights are loaded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Architecture {
    /// Input values per row.
    pub n_features: usize,
    /// `(time, channels)` of a row; `Some` exactly when there are conv blocks.
    pub shape: Option<SampleShape>,
    /// Filters of each conv block (empty for a dense classifier).
    pub conv_filters: Vec<usize>,
    /// Kernel length of every convolution (stride 1, valid padding).
    pub kernel_size: usize,
    /// Max-pool size and stride after each convolution (1 = none).
    pub pool: usize,
    /// Each conv block is a depthwise convolution (`kernel_size`, one filter per channel) and a
    /// pointwise one (width 1) to `conv_filters` channels. Absent in older sidecars: false.
    #[serde(default)]
    pub separable: bool,
    /// Neurons of each hidden dense layer.
    pub hidden: Vec<usize>,
    /// Dropout probability during training (after the flatten of a CNN and after each hidden layer).
    pub dropout: f32,
    /// Output classes.
    pub n_classes: usize,
}

impl Architecture {
    /// The architecture `block` gives for rows of `n_features` (with `shape`) and `n_classes`.
    pub fn new(
        block: &BlockConfig,
        n_features: usize,
        shape: Option<SampleShape>,
        n_classes: usize,
    ) -> Result<Self, TrainError> {
        let arch = match block {
            BlockConfig::Dense { hidden, dropout } => Architecture {
                n_features,
                shape: None,
                conv_filters: vec![],
                kernel_size: 1,
                pool: 1,
                separable: false,
                hidden: hidden.clone(),
                dropout: *dropout,
                n_classes,
            },
            BlockConfig::Conv1d { filters, kernel_size, pool, dense, dropout, separable } => {
                let shape = shape.ok_or_else(|| {
                    TrainError::Architecture(
                        "a conv1d block needs the (time, channels) shape of each row".into(),
                    )
                })?;
                Architecture {
                    n_features,
                    shape: Some(shape),
                    conv_filters: filters.clone(),
                    kernel_size: *kernel_size,
                    pool: *pool,
                    separable: *separable,
                    hidden: dense.clone(),
                    dropout: *dropout,
                    n_classes,
                }
            }
            BlockConfig::KMeans { .. } => {
                return Err(TrainError::Architecture("k-means is not a neural network".into()));
            }
        };
        arch.conv_shapes()?;
        Ok(arch)
    }

    /// `(time, channels)` after each conv block (convolution + pooling), starting with the input.
    pub fn conv_shapes(&self) -> Result<Vec<(usize, usize)>, TrainError> {
        let Some(shape) = self.shape else { return Ok(vec![]) };
        let mut shapes = vec![(shape.time, shape.channels)];
        for (block_idx, &filters) in self.conv_filters.iter().enumerate() {
            let (time, _) = *shapes.last().expect("starts with the input");
            if time < self.kernel_size {
                return Err(TrainError::Architecture(format!(
                    "conv block {} gets {time} time steps, fewer than kernel_size {}",
                    block_idx + 1,
                    self.kernel_size
                )));
            }
            let time = (time - self.kernel_size + 1) / self.pool;
            if time == 0 {
                return Err(TrainError::Architecture(format!(
                    "conv block {} leaves no time steps after pooling by {}",
                    block_idx + 1,
                    self.pool
                )));
            }
            shapes.push((time, filters));
        }
        Ok(shapes)
    }

    /// Multiply-accumulates of one inference (convolutions, dense layers, output layer).
    pub fn macs(&self) -> usize {
        let shapes = self.conv_shapes().unwrap_or_default();
        let conv: usize = shapes
            .windows(2)
            .map(|pair| {
                let ((time_in, channels_in), (_, filters)) = (pair[0], pair[1]);
                let time_out = time_in + 1 - self.kernel_size;
                if self.separable {
                    time_out * channels_in * (self.kernel_size + filters)
                } else {
                    time_out * filters * channels_in * self.kernel_size
                }
            })
            .sum();
        let dense: usize = self.dense_widths().windows(2).map(|pair| pair[0] * pair[1]).sum();
        conv + dense
    }

    /// Weights and biases.
    pub fn parameters(&self) -> usize {
        let shapes = self.conv_shapes().unwrap_or_default();
        let conv: usize = shapes
            .windows(2)
            .map(|pair| {
                let ((_, channels_in), (_, filters)) = (pair[0], pair[1]);
                if self.separable {
                    (channels_in * self.kernel_size + channels_in) + (filters * channels_in + filters)
                } else {
                    filters * channels_in * self.kernel_size + filters
                }
            })
            .sum();
        let dense: usize = self.dense_widths().windows(2).map(|pair| pair[0] * pair[1] + pair[1]).sum();
        conv + dense
    }

    /// Widths from the flatten through the hidden layers to the output.
    fn dense_widths(&self) -> Vec<usize> {
        let mut widths = vec![self.flat_features()];
        widths.extend(&self.hidden);
        widths.push(self.n_classes);
        widths
    }

    /// Values entering the first dense layer.
    pub fn flat_features(&self) -> usize {
        match self.conv_shapes().ok().and_then(|shapes| shapes.last().copied()) {
            Some((time, channels)) if self.shape.is_some() => time * channels,
            _ => self.n_features,
        }
    }
}

/// The burn module. Parameters only in `convs`, `hidden`, `output`; the architecture rides along.
#[derive(Module, Debug)]
pub struct Network {
    /// The depthwise convolution of each conv block of a separable network (else empty).
    pub(crate) depthwise: Vec<Conv1d>,
    /// Each conv block's convolution (the pointwise one, width 1, in a separable network).
    pub(crate) convs: Vec<Conv1d>,
    pub(crate) pools: Vec<MaxPool1d>,
    pub(crate) hidden: Vec<Linear>,
    pub(crate) output: Linear,
    #[module(skip)]
    pub(crate) arch: Architecture,
}

impl Network {
    /// A network on `device` with weights drawn from `rng`, or all zeros without one (a shell for
    /// loading a record into).
    pub fn new(arch: &Architecture, device: &Device, mut rng: Option<&mut SmallRng>) -> Self {
        let mut depthwise = Vec::new();
        let mut convs = Vec::new();
        let mut pools = Vec::new();
        let shapes = arch.conv_shapes().expect("checked by Architecture::new");
        for (&(_, channels_in), &filters) in shapes.iter().zip(&arch.conv_filters) {
            // A separable block: one kernel per channel (groups = channels), then width 1.
            let kernel = if arch.separable {
                let k = arch.kernel_size;
                // No activation between the two convolutions, so Glorot rather than He.
                let weight = init_values(channels_in * k, glorot_bound(k, k), rng.as_deref_mut());
                depthwise.push(Conv1d {
                    weight: param(weight, [channels_in, 1, k], device),
                    bias: Some(param(vec![0.0; channels_in], [channels_in], device)),
                    stride: 1,
                    kernel_size: k,
                    dilation: 1,
                    groups: channels_in,
                    padding: PaddingConfig1d::Valid,
                });
                1
            } else {
                arch.kernel_size
            };
            let fan_in = channels_in * kernel;
            let weight = init_values(filters * fan_in, he_bound(fan_in), rng.as_deref_mut());
            convs.push(Conv1d {
                weight: param(weight, [filters, channels_in, kernel], device),
                bias: Some(param(vec![0.0; filters], [filters], device)),
                stride: 1,
                kernel_size: kernel,
                dilation: 1,
                groups: 1,
                padding: PaddingConfig1d::Valid,
            });
            pools.push(MaxPool1dConfig::new(arch.pool).init());
        }
        let mut hidden = Vec::new();
        let mut d_input = arch.flat_features();
        for &d_output in &arch.hidden {
            hidden.push(linear(d_input, d_output, he_bound(d_input), device, rng.as_deref_mut()));
            d_input = d_output;
        }
        let output = linear(d_input, arch.n_classes, glorot_bound(d_input, arch.n_classes), device, rng);
        Network { depthwise, convs, pools, hidden, output, arch: arch.clone() }
    }

    /// Logits `[batch, n_classes]` for normalised rows `[batch, n_features]`. With `dropout`, masks
    /// are drawn from that RNG (training); without, dropout is off (validation, inference).
    pub fn forward(&self, input: Tensor<2>, mut dropout: Option<&mut SmallRng>) -> Tensor<2> {
        let [batch, _] = input.dims();
        let mut x = input;
        if let Some(shape) = self.arch.shape {
            let mut series: Tensor<3> = x.reshape([batch, shape.time, shape.channels]).swap_dims(1, 2);
            for (block, (conv, pool)) in self.convs.iter().zip(&self.pools).enumerate() {
                if let Some(depthwise) = self.depthwise.get(block) {
                    series = depthwise.forward(series);
                }
                series = activation::relu(conv.forward(series));
                if pool.kernel_size > 1 {
                    series = pool.forward(series);
                }
            }
            let [_, channels, time] = series.dims();
            x = series.swap_dims(1, 2).reshape([batch, time * channels]);
            if let Some(rng) = dropout.as_deref_mut() {
                x = apply_dropout(x, self.arch.dropout, rng);
            }
        }
        for layer in &self.hidden {
            x = activation::relu(layer.forward(x));
            if let Some(rng) = dropout.as_deref_mut() {
                x = apply_dropout(x, self.arch.dropout, rng);
            }
        }
        self.output.forward(x)
    }

    /// The architecture this network was built for.
    pub fn architecture(&self) -> &Architecture {
        &self.arch
    }
}

/// Zeroes each value with probability `p` and scales the rest by `1 / (1 - p)` (inverted dropout).
fn apply_dropout(x: Tensor<2>, p: f32, rng: &mut SmallRng) -> Tensor<2> {
    if p <= 0.0 {
        return x;
    }
    let [batch, width] = x.dims();
    let keep = 1.0 - p;
    let mask: Vec<f32> =
        (0..batch * width).map(|_| if rng.random::<f32>() < keep { 1.0 / keep } else { 0.0 }).collect();
    let mask = Tensor::<2>::from_data(TensorData::new(mask, [batch, width]), &x.device());
    x * mask
}

fn linear(
    d_input: usize,
    d_output: usize,
    bound: f32,
    device: &Device,
    rng: Option<&mut SmallRng>,
) -> Linear {
    // burn stores a Linear weight as [d_input, d_output].
    let weight = init_values(d_input * d_output, bound, rng);
    Linear {
        weight: param(weight, [d_input, d_output], device),
        bias: Some(param(vec![0.0; d_output], [d_output], device)),
    }
}

pub(crate) fn param<const D: usize>(
    values: Vec<f32>,
    shape: [usize; D],
    device: &Device,
) -> Param<Tensor<D>> {
    Param::from_tensor(Tensor::from_data(TensorData::new(values, shape), device))
}

fn init_values(n: usize, bound: f32, rng: Option<&mut SmallRng>) -> Vec<f32> {
    match rng {
        Some(rng) => (0..n).map(|_| rng.random_range(-bound..bound)).collect(),
        None => vec![0.0; n],
    }
}

/// He/Kaiming uniform bound for a layer followed by ReLU.
fn he_bound(fan_in: usize) -> f32 {
    (6.0 / fan_in as f32).sqrt()
}

/// Glorot/Xavier uniform bound for the (softmax) output layer.
fn glorot_bound(fan_in: usize, fan_out: usize) -> f32 {
    (6.0 / (fan_in + fan_out) as f32).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv_arch(time: usize) -> Result<Architecture, TrainError> {
        Architecture::new(
            &BlockConfig::default_conv1d(),
            time * 6,
            Some(SampleShape { time, channels: 6 }),
            4,
        )
    }

    #[test]
    fn conv_shapes_shrink_by_kernel_and_pool() {
        let arch = conv_arch(100).unwrap();
        assert_eq!(arch.conv_shapes().unwrap(), vec![(100, 6), (49, 8), (23, 16)]);
        assert_eq!(arch.flat_features(), 23 * 16);
        assert!(matches!(conv_arch(5), Err(TrainError::Architecture(_))));
        let dense = Architecture::new(&BlockConfig::default_dense(), 42, None, 4).unwrap();
        assert_eq!(dense.flat_features(), 42);
    }

    #[test]
    fn forward_gives_logits_per_class() {
        let device = Device::flex();
        let arch = conv_arch(20).unwrap();
        let network = Network::new(&arch, &device, Some(&mut rand::SeedableRng::seed_from_u64(3)));
        let input = Tensor::<2>::from_data(TensorData::new(vec![0.5f32; 3 * 120], [3, 120]), &device);
        assert_eq!(network.forward(input, None).dims(), [3, 4]);
    }
}
