//! Host latency of the int8 runtime per window, next to a plain f32 implementation of the same
//! networks in the same run (the peer), with MACs, blob and arena sizes and the memory a board
//! needs beyond the arena.
//!
//! Networks: the BasicMotions dense network (42 features → 30 → 16 → 4) and a 1-D CNN on a
//! 100 × 6 window (conv 8×5 → max pool 2 → conv 16×3 → max pool 2 → dense 4). Weights are fixed
//! pseudo-random values (latency does not depend on what was learned).
//!
//! `cargo bench -p mote-runtime --bench runtime` (optimised; the figures in docs/benchmarks.md);
//! `cargo test -p mote-runtime --bench runtime` runs it unoptimised as a smoke test.

use std::hint::black_box;
use std::time::{Duration, Instant};

use mote_dsp::{DspConfig, Flatten, Raw};
use mote_runtime::Model;
use mote_runtime::builder::{BlobBuilder, ChannelWeights, ModelMeta, OpSpec, TensorSpec, softmax_table};
use mote_runtime::kernels::{ActivationRange, Shape3, Window2d, quantize_multiplier};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

/// A float layer of the peer network.
enum Layer {
    /// weights [out][in]
    Dense {
        weights: Vec<f32>,
        bias: Vec<f32>,
        n_in: usize,
        relu: bool,
    },
    /// weights [filters][kernel][channels], input [time][channels]
    Conv {
        weights: Vec<f32>,
        bias: Vec<f32>,
        kernel: usize,
        channels: usize,
    },
    Pool {
        size: usize,
        channels: usize,
    },
}

fn forward(layers: &[Layer], input: &[f32]) -> Vec<f32> {
    let mut x = input.to_vec();
    for layer in layers {
        x = match layer {
            Layer::Dense { weights, bias, n_in, relu } => bias
                .iter()
                .enumerate()
                .map(|(o, b)| {
                    let v =
                        b + weights[o * n_in..(o + 1) * n_in].iter().zip(&x).map(|(w, v)| w * v).sum::<f32>();
                    if *relu { v.max(0.0) } else { v }
                })
                .collect(),
            Layer::Conv { weights, bias, kernel, channels } => {
                let time_out = x.len() / channels - kernel + 1;
                let filters = bias.len();
                let mut y = vec![0.0; time_out * filters];
                for t in 0..time_out {
                    for f in 0..filters {
                        let mut acc = bias[f];
                        for k in 0..*kernel {
                            for c in 0..*channels {
                                acc += weights[(f * kernel + k) * channels + c] * x[(t + k) * channels + c];
                            }
                        }
                        y[t * filters + f] = acc.max(0.0);
                    }
                }
                y
            }
            Layer::Pool { size, channels } => {
                let time_out = x.len() / channels / size;
                (0..time_out * channels)
                    .map(|i| {
                        let (t, c) = (i / channels, i % channels);
                        (0..*size).map(|j| x[(t * size + j) * channels + c]).fold(f32::MIN, f32::max)
                    })
                    .collect()
            }
        };
    }
    let max = x.iter().copied().fold(f32::MIN, f32::max);
    let exp: Vec<f32> = x.iter().map(|v| (v - max).exp()).collect();
    let sum: f32 = exp.iter().sum();
    exp.iter().map(|e| e / sum).collect()
}

fn channel_weights(weights: &[f32], bias: &[f32], in_scale: f32, out_scale: f32) -> ChannelWeights {
    let row_len = weights.len() / bias.len();
    let mut out = ChannelWeights::default();
    for (row, b) in weights.chunks(row_len).zip(bias) {
        let scale = row.iter().fold(0f32, |m, w| m.max(w.abs())) / 127.0;
        out.weights.extend(row.iter().map(|w| (w / scale).round() as i8));
        out.bias.push((b / (in_scale * scale)).round() as i32);
        let (m, s) = quantize_multiplier(f64::from(in_scale * scale / out_scale));
        out.multipliers.push(m);
        out.shifts.push(s);
    }
    out
}

/// Builds the blob and the float twin; `shapes` are the activation shapes in order.
fn model(name: &str, spec: &[(&str, usize, usize)], input: Shape3, rng: &mut Rng) -> (Vec<u8>, Vec<Layer>) {
    let n_features = input.height * input.width * input.channels;
    let mut builder = BlobBuilder::new(ModelMeta {
        name: name.into(),
        labels: (0..4).map(|i| format!("class{i}")).collect(),
        rate_hz: 100.0,
        window_samples: 100,
        stride_samples: 50,
        axes: ["accX", "accY", "accZ", "gyrX", "gyrY", "gyrZ"].map(String::from).to_vec(),
        dsp: if input.width > 1 {
            DspConfig::Raw(Raw::default())
        } else {
            DspConfig::Flatten(Flatten::default())
        },
        feature_scale: vec![32.0; n_features],
        feature_offset: vec![0.0; n_features],
    });
    let scale = 1.0 / 32.0;
    let mut current = builder.tensor(TensorSpec { shape: input, scale, zero_point: 0 });
    let input_tensor = current;
    let mut shape = input;
    let mut layers = Vec::new();
    for &(kind, a, b) in spec {
        match kind {
            "dense" | "logits" => {
                let n_in = shape.height * shape.width * shape.channels;
                let weights: Vec<f32> = (0..a * n_in).map(|_| rng.next() / (n_in as f32).sqrt()).collect();
                let bias: Vec<f32> = (0..a).map(|_| rng.next() * 0.1).collect();
                let relu = kind == "dense";
                shape = Shape3 { height: 1, width: 1, channels: a };
                let zero_point = if relu { -128 } else { 0 };
                let next = builder.tensor(TensorSpec { shape, scale: 0.05, zero_point });
                let activation =
                    if relu { ActivationRange { min: -128, max: 127 } } else { ActivationRange::NONE };
                builder.op(OpSpec::FullyConnected {
                    input: current,
                    output: next,
                    weights: channel_weights(&weights, &bias, scale, 0.05),
                    activation,
                });
                layers.push(Layer::Dense { weights, bias, n_in, relu });
                current = next;
            }
            "conv" => {
                let (filters, kernel) = (a, b);
                let channels = shape.channels;
                let weights: Vec<f32> = (0..filters * kernel * channels)
                    .map(|_| rng.next() / ((kernel * channels) as f32).sqrt())
                    .collect();
                let bias: Vec<f32> = (0..filters).map(|_| rng.next() * 0.1).collect();
                shape = Shape3 { height: 1, width: shape.width - kernel + 1, channels: filters };
                let next = builder.tensor(TensorSpec { shape, scale: 0.05, zero_point: -128 });
                let window = Window2d {
                    kernel_height: 1,
                    kernel_width: kernel,
                    stride_height: 1,
                    stride_width: 1,
                    pad_top: 0,
                    pad_left: 0,
                };
                builder.op(OpSpec::Conv2d {
                    input: current,
                    output: next,
                    window,
                    filter: channel_weights(&weights, &bias, scale, 0.05),
                    activation: ActivationRange { min: -128, max: 127 },
                });
                layers.push(Layer::Conv { weights, bias, kernel, channels });
                current = next;
            }
            _ => {
                let size = a;
                shape = Shape3 { height: 1, width: shape.width / size, channels: shape.channels };
                let next = builder.tensor(TensorSpec { shape, scale: 0.05, zero_point: -128 });
                let window = Window2d {
                    kernel_height: 1,
                    kernel_width: size,
                    stride_height: 1,
                    stride_width: size,
                    pad_top: 0,
                    pad_left: 0,
                };
                builder.op(OpSpec::MaxPool2d {
                    input: current,
                    output: next,
                    window,
                    activation: ActivationRange::NONE,
                });
                layers.push(Layer::Pool { size, channels: shape.channels });
                current = next;
            }
        }
    }
    let probs = builder.tensor(TensorSpec { shape, scale: 1.0 / 256.0, zero_point: -128 });
    builder.op(OpSpec::Softmax { input: current, output: probs, table: softmax_table(0.05) });
    builder.io(input_tensor, probs);
    (builder.build().expect("valid model"), layers)
}

/// Mean time per call over at least `budget`.
fn time(budget: Duration, mut f: impl FnMut()) -> Duration {
    let started = Instant::now();
    let mut calls = 0u32;
    while started.elapsed() < budget {
        f();
        calls += 1;
    }
    started.elapsed() / calls
}

fn main() {
    let smoke = std::env::args().any(|a| a == "--test") || cfg!(debug_assertions);
    let budget = if smoke { Duration::from_millis(50) } else { Duration::from_secs(2) };
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let cases = [
        (
            "BasicMotions dense 42→30→16→4",
            model(
                "dense",
                &[("dense", 30, 0), ("dense", 16, 0), ("logits", 4, 0)],
                Shape3 { height: 1, width: 1, channels: 42 },
                &mut rng,
            ),
        ),
        (
            "1-D CNN 100×6 (conv 8×5, pool 2, conv 16×3, pool 2, dense 4)",
            model(
                "cnn",
                &[("conv", 8, 5), ("pool", 2, 0), ("conv", 16, 3), ("pool", 2, 0), ("logits", 4, 0)],
                Shape3 { height: 1, width: 100, channels: 6 },
                &mut rng,
            ),
        ),
    ];
    println!(
        "{:<58} {:>7} {:>7} {:>6} {:>10} {:>10} {:>7}",
        "network", "MACs", "blob B", "arena", "int8 µs", "f32 µs", "f32/int8"
    );
    for (name, (blob, layers)) in &cases {
        let model = Model::parse(blob).unwrap();
        let features: Vec<f32> = (0..model.n_features()).map(|_| rng.next() * 3.0).collect();
        let mut arena = vec![0u8; model.arena_len()];
        let int8 = time(budget, || {
            black_box(model.classify(black_box(&features), &mut arena).unwrap().top);
        });
        let float = time(budget, || {
            black_box(forward(layers, black_box(&features)));
        });
        println!(
            "{:<58} {:>7} {:>7} {:>6} {:>10.2} {:>10.2} {:>7.2}",
            name,
            model.macs(),
            blob.len(),
            model.arena_len(),
            int8.as_secs_f64() * 1e6,
            float.as_secs_f64() * 1e6,
            float.as_secs_f64() / int8.as_secs_f64()
        );
    }
    println!(
        "\nRAM beyond the arena while classifying: a parsed Model is {} bytes (on the stack); the \
         features (4 B each), the window (2 B per value) and the DSP scratch are the caller's buffers.",
        std::mem::size_of::<Model<'_>>()
    );
}
