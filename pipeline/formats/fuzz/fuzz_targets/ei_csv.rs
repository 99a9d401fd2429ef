//! Fuzzes the `.csv` import: UTF-8 and byte-order mark, then an Edge Impulse CSV (or a Mote sample
//! file, by its first line). It must never panic; a bad file is an `ImportError` value.
//!
//! Every file it accepts is checked by `mote_formats_fuzz::check_parsed`: at least one axis, a
//! finite rate > 0, whole time steps, and — quantized and written as a Mote sample file — the same
//! recording read back.
//!
//! Seeds (`seeds/ei_csv`): Edge Impulse CSV files shaped like the ones the project tests import
//! (`pipeline/project/tests/project/common.rs`: `ei_csv`), with CRLF, a byte-order mark, quoting.
//! From `pipeline/formats/fuzz`:
//! `cargo +nightly fuzz run ei_csv corpus/ei_csv seeds/ei_csv -- -runs=10000000`
//! (results in `docs/benchmarks.md`).

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use mote_formats::{FileFormat, parse_bytes};

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.csv");
    if let Ok(parsed) = parse_bytes(path, FileFormat::Csv, data, None) {
        mote_formats_fuzz::check_parsed(path, &parsed);
    }
});
