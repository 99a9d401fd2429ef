//! Deploying to a board over a real PTY: an upload cut anywhere leaves the old model running, a
//! damaged or foreign blob is refused with a clear reason, and a restarted virtual board still
//! has its model.

use std::io::Write as _;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use mote_dsp::{DspConfig, FeatureBlock, Flatten};
use mote_e2e::SimProcess;
use mote_pipeline::link::types::SlotStatus;
use mote_pipeline::link::{Board, ConnectOptions, Event, LinkError, Reply};
use mote_runtime::builder::{BlobBuilder, ChannelWeights, ModelMeta, OpSpec, TensorSpec, softmax_table};
use mote_runtime::kernels::{ActivationRange, Shape3, quantize_multiplier};
use mote_wire::{CRC, ErrorCode, MAX_CHUNK_BYTES, Message, ModelBegin, ModelChunk, encode_frame_vec};

const AXES: [&str; 6] = ["accX", "accY", "accZ", "gyrX", "gyrY", "gyrZ"];
const WINDOW: u32 = 20;

/// A small valid model for the virtual board's IMU: flatten → dense 2 → softmax. `bias` makes
/// models that differ.
fn blob(bias: i32) -> Vec<u8> {
    let dsp = DspConfig::Flatten(Flatten::default());
    let n_features = dsp.output_shape(WINDOW as usize, AXES.len(), 100.0).unwrap().len();
    let mut builder = BlobBuilder::new(ModelMeta {
        name: format!("upload test {bias}"),
        labels: vec!["low".into(), "high".into()],
        rate_hz: 100.0,
        window_samples: WINDOW,
        stride_samples: 10,
        axes: AXES.iter().map(|a| a.to_string()).collect(),
        dsp,
        feature_scale: vec![1.0; n_features],
        feature_offset: vec![0.0; n_features],
    });
    let shape = |n| Shape3 { height: 1, width: 1, channels: n };
    let input = builder.tensor(TensorSpec { shape: shape(n_features), scale: 1.0, zero_point: 0 });
    let logits = builder.tensor(TensorSpec { shape: shape(2), scale: 0.5, zero_point: 0 });
    let probs = builder.tensor(TensorSpec { shape: shape(2), scale: 1.0 / 256.0, zero_point: -128 });
    let (multiplier, shift) = quantize_multiplier(1.0 / 127.0 / 0.5);
    let weights = ChannelWeights {
        weights: (0..2 * n_features).map(|i| ((i * 37) % 255) as i8).collect(),
        bias: vec![bias, -bias],
        multipliers: vec![multiplier; 2],
        shifts: vec![shift; 2],
    };
    builder.op(OpSpec::FullyConnected { input, output: logits, weights, activation: ActivationRange::NONE });
    builder.op(OpSpec::Softmax { input: logits, output: probs, table: softmax_table(0.5) });
    builder.io(input, probs);
    builder.build().unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

async fn active_crc(board: &mut Board) -> Option<u32> {
    board.query_slots().await.unwrap().into_iter().find(|s| s.active).and_then(|s| match s.state {
        SlotStatus::Valid { crc, .. } => Some(crc),
        _ => None,
    })
}

/// Starts inference and waits for one result (the board runs a model).
async fn one_result(board: &mut Board) -> Vec<i8> {
    board.start_inference(false).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let scores = loop {
        assert!(std::time::Instant::now() < deadline, "no inference result");
        if let Some(Event::Reply(Reply::Inference(result))) =
            board.next_event(Duration::from_millis(100)).await
        {
            break result.scores;
        }
    };
    board.stop_inference().await.unwrap();
    scores
}

/// Every frame of an upload of `blob` into `slot`, as one byte stream.
fn upload_stream(blob: &[u8], slot: u8) -> Vec<u8> {
    let mut bytes = encode_frame_vec(&Message::ModelBegin(ModelBegin {
        slot,
        size: blob.len() as u32,
        crc: CRC.checksum(blob),
    }))
    .unwrap();
    for (idx, chunk) in blob.chunks(MAX_CHUNK_BYTES).enumerate() {
        let offset = (idx * MAX_CHUNK_BYTES) as u32;
        bytes.extend(
            encode_frame_vec(&Message::ModelChunk(ModelChunk { slot, offset, bytes: chunk })).unwrap(),
        );
    }
    bytes.extend(encode_frame_vec(&Message::ModelCommit { slot }).unwrap());
    bytes
}

#[test]
fn an_upload_cut_anywhere_leaves_the_old_model_running() {
    let rt = runtime();
    let sim = SimProcess::start(&["--script", "wave", "--time-scale", "10"]);
    let port = sim.path();
    let old = blob(3);
    let new = blob(-40);
    let mut board = rt.block_on(Board::connect(&port, &ConnectOptions::default())).unwrap();
    let cancel = AtomicBool::new(false);
    rt.block_on(board.upload_model(&old, &cancel, |_, _| {})).unwrap();
    let old_scores = rt.block_on(one_result(&mut board));
    let inactive = rt.block_on(board.query_slots()).unwrap().iter().find(|s| !s.active).unwrap().slot;
    drop(board);

    let stream = upload_stream(&new, inactive);
    // The commit's frame ends the stream; a cut before its last byte must change nothing.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for cut_idx in 0..100 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let cut = (state % (stream.len() as u64 - 1)) as usize;
        {
            let mut raw =
                serialport::new(&port, 115_200).timeout(Duration::from_secs(2)).open_native().unwrap();
            raw.write_all(&stream[..cut]).unwrap();
            raw.flush().unwrap();
        } // the cable is pulled: the port closes mid-upload
        let mut board = rt.block_on(Board::connect(&port, &ConnectOptions::default())).unwrap();
        assert_eq!(
            rt.block_on(active_crc(&mut board)),
            Some(CRC.checksum(&old)),
            "cut {cut_idx} at byte {cut} of {}: the old model must stay active",
            stream.len()
        );
        if cut_idx % 10 == 0 {
            assert_eq!(
                rt.block_on(one_result(&mut board)).len(),
                old_scores.len(),
                "cut {cut_idx}: still classifies"
            );
        }
    }
    // The same upload, whole, does switch models (the cuts above were not a no-op).
    let mut board = rt.block_on(Board::connect(&port, &ConnectOptions::default())).unwrap();
    rt.block_on(board.upload_model(&new, &cancel, |_, _| {})).unwrap();
    assert_eq!(rt.block_on(active_crc(&mut board)), Some(CRC.checksum(&new)));
}

#[test]
fn damaged_and_foreign_blobs_are_refused_with_the_reason() {
    let rt = runtime();
    let sim = SimProcess::start(&["--script", "idle"]);
    let mut board = rt.block_on(Board::connect(&sim.path(), &ConnectOptions::default())).unwrap();
    let cancel = AtomicBool::new(false);
    let good = blob(1);
    rt.block_on(board.upload_model(&good, &cancel, |_, _| {})).unwrap();

    let refused =
        |board: &mut Board, bytes: &[u8]| match rt.block_on(board.upload_model(bytes, &cancel, |_, _| {})) {
            Err(LinkError::Refused { code, detail, .. }) => (code, detail),
            other => panic!("expected a refusal, got {other:?}"),
        };
    // A byte flipped on the host side (the wire CRC covers the damaged bytes, so only the blob's
    // own checks can catch it).
    let mut damaged = blob(2);
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0x10;
    let (code, detail) = refused(&mut board, &damaged);
    assert_eq!(code, ErrorCode::MODEL_INVALID);
    assert_eq!(detail, "model blob CRC mismatch");
    // Not a model at all.
    let (code, detail) = refused(&mut board, b"#!/bin/sh\n");
    assert_eq!((code, detail.as_str()), (ErrorCode::MODEL_INVALID, "model blob too short"));
    let (code, detail) = refused(&mut board, b"#!/bin/sh\necho this script is not a model\n");
    assert_eq!((code, detail.as_str()), (ErrorCode::MODEL_INVALID, "not a Mote model blob (bad magic)"));
    // From a newer converter.
    let mut future = blob(2);
    future[8..10].copy_from_slice(&9u16.to_le_bytes());
    let body = future.len() - 4;
    let crc = CRC.checksum(&future[..body]);
    future[body..].copy_from_slice(&crc.to_le_bytes());
    let (_, detail) = refused(&mut board, &future);
    assert_eq!(detail, "model blob format version not supported by this firmware");
    // Through all of it the good model stayed active.
    assert_eq!(rt.block_on(active_crc(&mut board)), Some(CRC.checksum(&good)));
    assert_eq!(rt.block_on(one_result(&mut board)).len(), 2);
}

#[test]
fn a_restarted_virtual_board_keeps_its_model() {
    let rt = runtime();
    let board_dir = tempfile::tempdir().unwrap();
    let flash = board_dir.path().join("flash.bin");
    let model = blob(5);
    let scores = {
        let sim = SimProcess::start_in(tempfile::tempdir().unwrap(), &flash, &["--ramp"]);
        let mut board = rt.block_on(Board::connect(&sim.path(), &ConnectOptions::default())).unwrap();
        rt.block_on(board.upload_model(&model, &AtomicBool::new(false), |_, _| {})).unwrap();
        rt.block_on(one_result(&mut board))
    };
    let sim = SimProcess::start_in(tempfile::tempdir().unwrap(), &flash, &["--ramp"]);
    let mut board = rt.block_on(Board::connect(&sim.path(), &ConnectOptions::default())).unwrap();
    assert_eq!(rt.block_on(active_crc(&mut board)), Some(CRC.checksum(&model)));
    assert_eq!(rt.block_on(one_result(&mut board)).len(), scores.len());
}
