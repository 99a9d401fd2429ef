//! Fuzzes the WAV import (hound's reader behind Mote's checks). It must never panic or allocate
//! for frames the bytes do not hold; a bad file is an `ImportError` value.
//!
//! Every file it accepts holds whole PCM counts in −32767..=32767 and is checked by
//! `mote_formats_fuzz::check_parsed`; written again with hound as 16-bit PCM mono at its rate, it
//! parses to the same values.
//!
//! Seeds (`seeds/wav`): small WAV files written byte by byte — 16-bit PCM mono in the layout hound
//! writes (as the project tests' `common.rs` `wav` makes them), the same as WAVE_FORMAT_EXTENSIBLE,
//! one with an extra `LIST` chunk, and 8-bit mono and 16-bit stereo files, which are refused. From
//! `pipeline/formats/fuzz`:
//! `cargo +nightly fuzz run wav corpus/wav seeds/wav -- -runs=10000000`

#![no_main]

use std::io::Cursor;
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use mote_formats::{FileFormat, ParsedValues, parse_bytes};

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.wav");
    let Ok(parsed) = parse_bytes(path, FileFormat::Wav, data, None) else { return };
    mote_formats_fuzz::check_parsed(path, &parsed);
    let ParsedValues::Physical(values) = &parsed.values else { panic!("WAV values are physical") };
    assert!(values.iter().all(|value| value.fract() == 0.0 && (-32767.0..=32767.0).contains(value)));

    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: parsed.rate_hz as u32,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut bytes = Cursor::new(Vec::new());
    let mut writer = hound::WavWriter::new(&mut bytes, spec).expect("a WAV writer");
    for value in values {
        writer.write_sample(*value as i16).expect("a sample");
    }
    writer.finalize().expect("a finished WAV");
    let again =
        parse_bytes(path, FileFormat::Wav, bytes.get_ref(), None).expect("the WAV written reads back");
    assert_eq!(again, parsed);
});
