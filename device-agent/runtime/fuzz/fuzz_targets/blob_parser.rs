//! Fuzzes `Model::parse` with arbitrary bytes, and runs every blob it accepts.
//!
//! A blob's CRC makes random bytes fail early, so the input is treated as a blob whose CRC
//! trailer and length field are fixed up first (the first input byte chooses whether to): the
//! fuzzer then reaches the structural checks behind the CRC. Any blob that parses is classified
//! with zero and with extreme features in an arena of exactly `arena_len` bytes: parsing must have
//! ruled out every out-of-bounds access and panic.
//!
//! Seeds are real blobs (`seeds/blob_parser`, written by `cargo test -p mote-runtime` →
//! `tests/blob.rs`). From `device-agent/runtime/fuzz`:
//! `cargo +nightly fuzz run blob_parser corpus/blob_parser seeds/blob_parser -- -runs=1000000`

#![no_main]

use libfuzzer_sys::fuzz_target;
use mote_runtime::Model;

const CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

fuzz_target!(|data: &[u8]| {
    let Some((&mode, bytes)) = data.split_first() else { return };
    let mut blob = bytes.to_vec();
    if mode & 1 == 1 && blob.len() >= mote_runtime::HEADER_LEN + mote_runtime::CRC_LEN {
        let len = blob.len() as u32;
        blob[12..16].copy_from_slice(&len.to_le_bytes());
        let body = blob.len() - mote_runtime::CRC_LEN;
        let crc = CRC.checksum(&blob[..body]);
        blob[body..].copy_from_slice(&crc.to_le_bytes());
    }
    let Ok(model) = Model::parse(&blob) else { return };
    let mut arena = vec![0u8; model.arena_len()];
    for value in [0.0f32, f32::MAX, f32::MIN, f32::NAN] {
        let features = vec![value; model.n_features()];
        if model.has_classifier() {
            let result = model.classify(&features, &mut arena).expect("a parsed model runs");
            assert!(result.top < model.n_labels().max(1));
        }
        let _ = model.anomaly_score(&features);
    }
    let _ = model.dsp();
    let _ = model.labels().count();
    let _ = model.macs();
});
