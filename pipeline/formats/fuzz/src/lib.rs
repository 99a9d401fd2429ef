//! Checks the fuzz targets share: what every sample file a parser accepts satisfies, and the oracle
//! that it survives Mote's own sample file format.

use std::path::Path;

use mote_formats::mote_dataset::{parse_sample_file, sample_file_text};
use mote_formats::recording::NewSample;
use mote_formats::{ParsedFile, ParsedValues, Split, to_recording};

/// Checks a file a parser accepted: at least one axis, a finite rate > 0, whole time steps of
/// values. Then the oracle: quantized (as an import does) and written as a Mote sample file (as an
/// export does), it reads back as the same recording — raw values, scales and rate exactly; names,
/// units, sensor, device and time too when they are [plain](is_plain).
pub fn check_parsed(path: &Path, parsed: &ParsedFile) {
    let n_axes = parsed.axes.len();
    assert!(n_axes > 0, "no axes");
    assert!(parsed.rate_hz.is_finite() && parsed.rate_hz > 0.0, "rate {} Hz", parsed.rate_hz);
    let n_values = match &parsed.values {
        ParsedValues::Physical(values) => values.len(),
        ParsedValues::Raw { raw, scales } => {
            assert_eq!(scales.len(), n_axes, "one scale per axis");
            assert!(scales.iter().all(|scale| scale.is_finite() && *scale > 0.0), "scales {scales:?}");
            raw.len()
        }
    };
    assert!(n_values > 0 && n_values.is_multiple_of(n_axes), "{n_values} values for {n_axes} axes");

    // A value that is not finite is refused here, as an error.
    let Ok(recording) = to_recording(path, parsed.axes.clone(), parsed.rate_hz, parsed.values.clone()) else {
        return;
    };
    let sample = NewSample {
        name: "fuzz".into(),
        label: "fuzz".into(),
        split: Split::Train,
        sensor: parsed.sensor.clone().unwrap_or_else(|| "fuzz".into()),
        device: parsed.device.clone().unwrap_or_else(|| "fuzz".into()),
        created: parsed.created.clone(),
        recording,
    };
    let text = sample_file_text(&sample);
    let again = parse_sample_file(path, &text)
        .unwrap_or_else(|error| panic!("{parsed:?} written as {text:?} does not read back: {error}"));
    let read_back = to_recording(path, again.axes.clone(), again.rate_hz, again.values.clone())
        .expect("raw values need no quantizing");
    let recording = &sample.recording;
    assert_eq!(read_back.raw, recording.raw, "{text:?}");
    assert_eq!(read_back.rate_hz, recording.rate_hz, "{text:?}");
    let scales = |r: &mote_formats::Recording| r.axes.iter().map(|axis| axis.scale).collect::<Vec<_>>();
    assert_eq!(scales(&read_back), scales(recording), "{text:?}");

    let texts = recording.axes.iter().flat_map(|axis| [&axis.name, &axis.unit]);
    let described = [Some(&sample.sensor), Some(&sample.device), sample.created.as_ref()];
    if texts.chain(described.into_iter().flatten()).all(|text| is_plain(text)) {
        assert_eq!(read_back.axes, recording.axes, "{text:?}");
        assert_eq!(again.sensor.as_ref(), Some(&sample.sensor), "{text:?}");
        assert_eq!(again.device.as_ref(), Some(&sample.device), "{text:?}");
        assert_eq!(again.created, sample.created, "{text:?}");
    }
}

/// Text that a line of a sample file keeps exactly: no control characters (a line break would
/// end the line) and no whitespace at either end (header values are trimmed).
pub fn is_plain(text: &str) -> bool {
    !text.chars().any(char::is_control) && text.trim() == text
}
