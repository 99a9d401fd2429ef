//! The blob format end to end: written by `BlobBuilder`, read by `Model::parse`, run by
//! `Model::classify` — and every kind of damage refused with an error, never a panic.

use mote_dsp::{DspConfig, Flatten};
use mote_runtime::builder::{
    AnomalySpec, BlobBuilder, ChannelWeights, ModelMeta, OpSpec, TensorSpec, softmax_table,
};
use mote_runtime::kernels::{ActivationRange, Shape3, Window2d, quantize_multiplier};
use mote_runtime::{BlobError, Model, RunError};

const CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

fn meta(n_features: usize, labels: &[&str]) -> ModelMeta {
    ModelMeta {
        name: "test model".into(),
        labels: labels.iter().map(|l| l.to_string()).collect(),
        rate_hz: 100.0,
        window_samples: 200,
        stride_samples: 50,
        axes: vec!["accX".into(), "accY".into(), "accZ".into()],
        dsp: DspConfig::Flatten(Flatten::default()),
        feature_scale: vec![10.0; n_features],
        feature_offset: vec![0.0; n_features],
    }
}

fn shape(n: usize) -> Shape3 {
    Shape3 { height: 1, width: 1, channels: n }
}

/// Per-channel weights for `rows × row_len` float weights; input/output scales given.
fn channel_weights(
    weights: &[f32],
    row_len: usize,
    bias: &[f32],
    in_scale: f32,
    out_scale: f32,
) -> ChannelWeights {
    let mut out = ChannelWeights::default();
    for (row, &b) in weights.chunks(row_len).zip(bias) {
        let max = row.iter().fold(0f32, |m, w| m.max(w.abs())).max(1e-6);
        let w_scale = max / 127.0;
        out.weights.extend(row.iter().map(|w| (w / w_scale).round() as i8));
        out.bias.push((b / (in_scale * w_scale)).round() as i32);
        let (m, s) = quantize_multiplier(f64::from(in_scale * w_scale / out_scale));
        out.multipliers.push(m);
        out.shifts.push(s);
    }
    out
}

/// features (4) → dense 3 + ReLU → dense 2 → softmax. Input scale 0.1 (features × 10).
fn dense_model() -> Vec<u8> {
    let mut builder = BlobBuilder::new(meta(4, &["left", "right"]));
    let input = builder.tensor(TensorSpec { shape: shape(4), scale: 0.1, zero_point: 0 });
    let hidden = builder.tensor(TensorSpec { shape: shape(3), scale: 0.05, zero_point: -128 });
    let logits = builder.tensor(TensorSpec { shape: shape(2), scale: 0.1, zero_point: 0 });
    let probs = builder.tensor(TensorSpec { shape: shape(2), scale: 1.0 / 256.0, zero_point: -128 });
    let w1 = [1.0, -1.0, 0.5, 0.0, -1.0, 1.0, 0.0, 0.5, 0.3, 0.3, 0.3, 0.3];
    builder.op(OpSpec::FullyConnected {
        input,
        output: hidden,
        weights: channel_weights(&w1, 4, &[0.0, 0.0, 0.1], 0.1, 0.05),
        activation: ActivationRange { min: -128, max: 127 },
    });
    let w2 = [2.0, -2.0, 0.0, -2.0, 2.0, 0.0];
    builder.op(OpSpec::FullyConnected {
        input: hidden,
        output: logits,
        weights: channel_weights(&w2, 3, &[0.0, 0.0], 0.05, 0.1),
        activation: ActivationRange::NONE,
    });
    builder.op(OpSpec::Softmax { input: logits, output: probs, table: softmax_table(0.1) });
    builder.io(input, probs);
    builder.build().expect("a valid model")
}

/// A 1-D conv network on a [time 8, channels 2] input: conv (kernel 3, 4 filters, ReLU) →
/// max pool 2 → depthwise (kernel 1) + add with the pooled tensor → average pool → reshape →
/// dense 3 → softmax; with an anomaly block. Exercises every operator.
fn conv_model() -> Vec<u8> {
    let mut meta = meta(16, &["a", "b", "c"]);
    meta.dsp = DspConfig::Raw(mote_dsp::Raw::default());
    let mut builder = BlobBuilder::new(meta);
    let ts = |h, w, c| Shape3 { height: h, width: w, channels: c };
    let input = builder.tensor(TensorSpec { shape: ts(1, 8, 2), scale: 0.1, zero_point: 0 });
    let conv = builder.tensor(TensorSpec { shape: ts(1, 6, 4), scale: 0.1, zero_point: -128 });
    let pooled = builder.tensor(TensorSpec { shape: ts(1, 3, 4), scale: 0.1, zero_point: -128 });
    let depthwise = builder.tensor(TensorSpec { shape: ts(1, 3, 4), scale: 0.08, zero_point: -10 });
    let sum = builder.tensor(TensorSpec { shape: ts(1, 3, 4), scale: 0.15, zero_point: -100 });
    let averaged = builder.tensor(TensorSpec { shape: ts(1, 2, 4), scale: 0.15, zero_point: -100 });
    let flat = builder.tensor(TensorSpec { shape: shape(8), scale: 0.15, zero_point: -100 });
    let logits = builder.tensor(TensorSpec { shape: shape(3), scale: 0.2, zero_point: 5 });
    let probs = builder.tensor(TensorSpec { shape: shape(3), scale: 1.0 / 256.0, zero_point: -128 });
    let filter: Vec<f32> = (0..4 * 3 * 2).map(|i| ((i * 7 % 11) as f32 - 5.0) / 5.0).collect();
    let window = |k: usize, s: usize| Window2d {
        kernel_height: 1,
        kernel_width: k,
        stride_height: 1,
        stride_width: s,
        pad_top: 0,
        pad_left: 0,
    };
    builder.op(OpSpec::Conv2d {
        input,
        output: conv,
        window: window(3, 1),
        filter: channel_weights(&filter, 6, &[0.1, -0.1, 0.2, 0.0], 0.1, 0.1),
        activation: ActivationRange { min: -128, max: 127 },
    });
    builder.op(OpSpec::MaxPool2d {
        input: conv,
        output: pooled,
        window: window(2, 2),
        activation: ActivationRange::NONE,
    });
    builder.op(OpSpec::DepthwiseConv2d {
        input: pooled,
        output: depthwise,
        window: window(1, 1),
        depth_multiplier: 1,
        filter: channel_weights(&[0.5, -0.5, 1.0, 0.25], 1, &[0.0; 4], 0.1, 0.08),
        activation: ActivationRange::NONE,
    });
    let add = mote_runtime::kernels::Add::new(0.1, -128, 0.08, -10, 0.15, -100, ActivationRange::NONE);
    builder.op(OpSpec::Add {
        inputs: [pooled, depthwise],
        output: sum,
        left_shift: add.left_shift,
        multipliers: [add.input1_multiplier, add.input2_multiplier, add.output_multiplier],
        shifts: [add.input1_shift, add.input2_shift, add.output_shift],
        activation: ActivationRange::NONE,
    });
    builder.op(OpSpec::AveragePool2d {
        input: sum,
        output: averaged,
        window: window(2, 1),
        activation: ActivationRange::NONE,
    });
    builder.op(OpSpec::Reshape { input: averaged, output: flat });
    let dense: Vec<f32> = (0..3 * 8).map(|i| ((i * 5 % 9) as f32 - 4.0) / 4.0).collect();
    builder.op(OpSpec::FullyConnected {
        input: flat,
        output: logits,
        weights: channel_weights(&dense, 8, &[0.0, 0.1, -0.1], 0.15, 0.2),
        activation: ActivationRange::NONE,
    });
    builder.op(OpSpec::Softmax { input: logits, output: probs, table: softmax_table(0.2) });
    builder.io(input, probs);
    builder.anomaly(AnomalySpec {
        mean: vec![0.0; 16],
        std: vec![1.0; 16],
        centroids: (0..2 * 16).map(|i| (i % 3) as f32).collect(),
        radii: vec![1.5, 2.0],
    });
    builder.build().expect("a valid model")
}

fn refix(blob: &mut [u8]) {
    let len = blob.len() as u32;
    blob[12..16].copy_from_slice(&len.to_le_bytes());
    let body = blob.len() - 4;
    let crc = CRC.checksum(&blob[..body]);
    blob[body..].copy_from_slice(&crc.to_le_bytes());
}

#[test]
fn metadata_round_trips() {
    let blob = dense_model();
    let model = Model::parse(&blob).unwrap();
    assert_eq!(model.name(), "test model");
    assert_eq!(model.labels().collect::<Vec<_>>(), ["left", "right"]);
    assert_eq!(model.axes().collect::<Vec<_>>(), ["accX", "accY", "accZ"]);
    assert_eq!((model.rate_hz(), model.window_samples(), model.stride_samples()), (100.0, 200, 50));
    assert_eq!(model.dsp(), DspConfig::Flatten(Flatten::default()));
    assert_eq!(model.n_features(), 4);
    assert_eq!(model.macs(), 4 * 3 + 3 * 2 + 2);
    assert!(model.anomaly().is_none());
    // Input, hidden and logits can share bytes once dead: the plan is smaller than their sum.
    assert!(model.arena_len() < 4 + 3 + 2 + 2, "arena {}", model.arena_len());
}

#[test]
fn classifies_like_the_float_network() {
    let blob = dense_model();
    let model = Model::parse(&blob).unwrap();
    let mut arena = vec![0u8; model.arena_len()];
    // Float reference of the same network on features scaled by 10 (feature_scale = 10 = 1/0.1).
    let float = |x: [f32; 4]| {
        let w1 = [[1.0, -1.0, 0.5, 0.0], [-1.0, 1.0, 0.0, 0.5], [0.3, 0.3, 0.3, 0.3]];
        let h: Vec<f32> = w1
            .iter()
            .zip([0.0, 0.0, 0.1])
            .map(|(row, b)| (b + row.iter().zip(&x).map(|(w, v)| w * v).sum::<f32>()).max(0.0))
            .collect();
        let logits = [2.0 * h[0] - 2.0 * h[1], -2.0 * h[0] + 2.0 * h[1]];
        let e = [logits[0].exp(), logits[1].exp()];
        [e[0] / (e[0] + e[1]), e[1] / (e[0] + e[1])]
    };
    for x in [[1.0, -1.0, 0.5, 0.0], [-1.0, 1.0, 0.0, 0.5], [0.5, 0.2, -0.3, 0.1], [0.0, 0.9, 0.2, 0.4]] {
        let expected = float(x);
        let result = model.classify(&x, &mut arena).unwrap();
        for class in 0..2 {
            let got = result.probability(class);
            assert!(
                (got - expected[class]).abs() < 0.05,
                "x {x:?} class {class}: int8 {got}, float {}",
                expected[class]
            );
        }
        let float_top = usize::from(expected[1] > expected[0]);
        if (expected[0] - expected[1]).abs() > 0.1 {
            assert_eq!(result.top, float_top, "x {x:?}");
        }
    }
}

#[test]
fn every_operator_runs_and_probabilities_sum_to_one() {
    let blob = conv_model();
    let model = Model::parse(&blob).unwrap();
    let names: Vec<&str> = model.ops().map(|op| op.name()).collect();
    assert_eq!(
        names,
        [
            "conv_2d",
            "max_pool_2d",
            "depthwise_conv_2d",
            "add",
            "average_pool_2d",
            "reshape",
            "fully_connected",
            "softmax"
        ]
    );
    let mut arena = vec![0u8; model.arena_len()];
    let mut distinct = std::collections::BTreeSet::new();
    for seed in 0..50u32 {
        let features: Vec<f32> =
            (0..16).map(|i| (((seed * 31 + i * 17) % 23) as f32 - 11.0) / 10.0).collect();
        let result = model.classify(&features, &mut arena).unwrap();
        let total: f32 = (0..3).map(|c| result.probability(c)).sum();
        assert!((total - 1.0).abs() < 0.03, "probabilities sum to {total}");
        distinct.insert(result.scores.to_vec());
        // Same input, same output: nothing depends on what the arena held before.
        let again = model.classify(&features, &mut vec![0xAA; model.arena_len()]).unwrap().scores.to_vec();
        assert_eq!(again, result.scores);
        assert!(model.anomaly_score(&features).is_some_and(|s| s.is_finite() && s >= 0.0));
    }
    assert!(distinct.len() > 5, "the network reacts to its input ({} distinct outputs)", distinct.len());
}

#[test]
fn run_errors_are_values() {
    let blob = dense_model();
    let model = Model::parse(&blob).unwrap();
    let mut small = vec![0u8; model.arena_len() - 1];
    assert_eq!(
        model.classify(&[0.0; 4], &mut small).unwrap_err(),
        RunError::ArenaTooSmall { needed: model.arena_len(), given: model.arena_len() - 1 }
    );
    let mut arena = vec![0u8; model.arena_len()];
    assert_eq!(
        model.classify(&[0.0; 3], &mut arena).unwrap_err(),
        RunError::InputLength { expected: 4, given: 3 }
    );
}

#[test]
fn every_flipped_byte_is_caught_by_the_crc() {
    let blob = conv_model();
    for position in 0..blob.len() {
        let mut damaged = blob.clone();
        damaged[position] ^= 0x20;
        assert!(Model::parse(&damaged).is_err(), "byte {position} flipped went unnoticed");
    }
}

#[test]
fn damage_behind_a_valid_crc_never_panics() {
    // The CRC fixed up after damaging each byte: only the structural checks stand in the way,
    // and whatever they let through must run within bounds.
    let mut accepted = 0;
    for blob in [dense_model(), conv_model()] {
        for position in 0..blob.len() - 4 {
            for xor in [0x01u8, 0x80, 0xFF] {
                let mut damaged = blob.clone();
                damaged[position] ^= xor;
                refix(&mut damaged);
                if let Ok(model) = Model::parse(&damaged) {
                    accepted += 1;
                    let mut arena = vec![0u8; model.arena_len()];
                    let features = vec![1e30f32; model.n_features()];
                    if model.has_classifier() {
                        model.classify(&features, &mut arena).expect("a parsed model runs");
                    }
                    let _ = model.anomaly_score(&features);
                }
            }
        }
    }
    // Weights and scales may change freely, so some damage is a different valid model.
    assert!(accepted > 0);
}

#[test]
fn truncated_and_padded_blobs_are_refused() {
    let blob = dense_model();
    for len in 0..blob.len() {
        assert!(Model::parse(&blob[..len]).is_err(), "cut at {len}");
    }
    let mut padded = blob.clone();
    padded.push(0);
    assert_eq!(
        Model::parse(&padded).unwrap_err(),
        BlobError::LengthMismatch { header: blob.len() as u32, actual: blob.len() + 1 }
    );
}

#[test]
fn clear_errors_for_foreign_and_future_blobs() {
    let mut blob = dense_model();
    assert_eq!(Model::parse(b"this is not a model, it is text!").unwrap_err(), BlobError::BadMagic);
    blob[8..10].copy_from_slice(&2u16.to_le_bytes());
    refix(&mut blob);
    let error = Model::parse(&blob).unwrap_err();
    assert_eq!(error, BlobError::UnsupportedVersion { found: 2 });
    assert_eq!(error.to_string(), "model blob format version 2; this runtime reads version 1");
}

#[test]
fn an_arena_plan_that_overwrites_a_live_tensor_is_refused() {
    let blob = dense_model();
    let model = Model::parse(&blob).unwrap();
    // Move the hidden tensor (index 1) onto the input tensor's bytes: op 0 would write over the
    // input it reads.
    let input = model.tensor(0);
    let tensors_start = find_tensor_table(&blob, &model);
    let mut damaged = blob.clone();
    let record = tensors_start + 16;
    damaged[record + 12..record + 16].copy_from_slice(&(input.offset as u32).to_le_bytes());
    refix(&mut damaged);
    let error = Model::parse(&damaged).unwrap_err();
    assert!(matches!(error, BlobError::BadOp { index: 0, .. }), "{error}");
}

/// Offset of the first tensor record: found by matching the first record's bytes.
fn find_tensor_table(blob: &[u8], model: &Model<'_>) -> usize {
    let t = model.tensor(0);
    let mut record = Vec::new();
    for dim in [t.shape.height, t.shape.width, t.shape.channels] {
        record.extend((dim as u16).to_le_bytes());
    }
    record.push(t.zero_point as i8 as u8);
    record.push(0);
    record.extend(t.scale.to_le_bytes());
    record.extend((t.offset as u32).to_le_bytes());
    blob.windows(16).position(|w| w == record.as_slice()).expect("tensor record present")
}

#[test]
fn builds_are_deterministic_and_seeds_are_current() {
    assert_eq!(dense_model(), dense_model());
    // The fuzz target's seeds are these blobs; rewrite them when the format changes.
    let seeds = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/blob_parser");
    for (name, blob) in [("dense.blob", dense_model()), ("conv.blob", conv_model())] {
        let path = seeds.join(name);
        // Each seed is the fuzz input: a mode byte (0 = keep the CRC) then the blob.
        let mut seed = vec![0u8];
        seed.extend(&blob);
        if std::env::var_os("UPDATE_SEEDS").is_some() {
            std::fs::create_dir_all(&seeds).unwrap();
            std::fs::write(&path, &seed).unwrap();
        }
        let stored = std::fs::read(&path).expect("seed present (UPDATE_SEEDS=1 writes it)");
        assert_eq!(stored, seed, "{name} is stale: run with UPDATE_SEEDS=1");
    }
}
