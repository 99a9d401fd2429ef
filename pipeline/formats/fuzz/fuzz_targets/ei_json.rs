//! Fuzzes the Edge Impulse JSON import, with and without an HMAC key. It must never panic; a bad
//! file is an `ImportError` value.
//!
//! The first input byte is a mode. Bit 0: also parse with an HMAC key. Bit 1: sign the rest first —
//! the first 64 zeros (the placeholder Edge Impulse signs over) are replaced by the file's
//! HMAC-SHA256 — so the fuzzer reaches signed files that check out, as the blob target fixes up
//! its CRC. The key only adds a check: with it, a file parses to exactly what it parses to
//! without, or is refused with a `Signature` error; a file refused without a key is refused with
//! the same error with one. Every file it accepts is checked by `mote_formats_fuzz::check_parsed`.
//!
//! Seeds (`seeds/ei_json`): the files of the project tests (`pipeline/project/tests/project`:
//! `common.rs` `ei_json`, `malformed.rs`): unsigned, signed compact and with Python's spacing, one
//! axis with scalar rows. From `pipeline/formats/fuzz`:
//! `cargo +nightly fuzz run ei_json corpus/ei_json seeds/ei_json -- -runs=10000000`

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use mote_formats::ei_json::{EMPTY_SIGNATURE, sign};
use mote_formats::{FileFormat, ImportErrorKind, parse_bytes};

const KEY: &str = "fuzz-key";

fuzz_target!(|data: &[u8]| {
    let Some((&mode, bytes)) = data.split_first() else { return };
    let mut file = bytes.to_vec();
    if mode & 2 == 2 {
        let placeholder = EMPTY_SIGNATURE.as_bytes();
        if let Some(at) = file.windows(placeholder.len()).position(|window| window == placeholder) {
            let signature = sign(&file, KEY);
            file[at..at + placeholder.len()].copy_from_slice(signature.as_bytes());
        }
    }
    let path = Path::new("fuzz.json");
    let unchecked = parse_bytes(path, FileFormat::EiJson, &file, None);
    if mode & 1 == 1 {
        let checked = parse_bytes(path, FileFormat::EiJson, &file, Some(KEY));
        match (&unchecked, &checked) {
            (Ok(without), Ok(with)) => assert_eq!(without, with),
            (Ok(_), Err(error)) => assert_eq!(error.kind, ImportErrorKind::Signature, "{error}"),
            (Err(without), Err(with)) => assert_eq!(without, with),
            (Err(error), Ok(_)) => panic!("refused without a key ({error}), accepted with one"),
        }
    }
    if let Ok(parsed) = unchecked {
        mote_formats_fuzz::check_parsed(path, &parsed);
    }
});
