//! Fuzzes the parser of Mote's sample files (`data/<name>.csv` of a dataset). It must never panic;
//! a bad file is an `ImportError` value.
//!
//! Every file it accepts is checked by `mote_formats_fuzz::check_parsed`: written again with
//! `sample_file_text`, it reads back with the same raw values, scales, rate and (when plain) text.
//!
//! Seeds (`seeds/mote_sample`): files of the BasicMotions dataset (`datasets/basic-motions/data`)
//! and a small one with every header key. From `pipeline/formats/fuzz`:
//! `cargo +nightly fuzz run mote_sample corpus/mote_sample seeds/mote_sample -- -runs=10000000`

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use mote_formats::mote_dataset::parse_sample_file;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let path = Path::new("fuzz.csv");
    if let Ok(parsed) = parse_sample_file(path, text) {
        mote_formats_fuzz::check_parsed(path, &parsed);
    }
});
