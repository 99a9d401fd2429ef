//! WAV: 16-bit integer PCM, mono. Each PCM value is one time step of a single axis `audio`, in PCM
//! counts (unit `pcm`). The value −32768 is stored as −32767 (the store's raw range is symmetric; see
//! `quantize`), an error of one count on fully clipped negative samples only.

use std::io::Cursor;
use std::path::Path;

use crate::error::{ImportError, ImportErrorKind, Location};
use crate::import::{ParsedFile, ParsedValues};

/// Parses a WAV file. `path` only names the file in errors.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<ParsedFile, ImportError> {
    let error =
        |location: Location, message: String| ImportError::new(path, location, ImportErrorKind::Wav, message);
    let mut reader = hound::WavReader::new(Cursor::new(bytes))
        .map_err(|e| error(Location::File, format!("expected a RIFF/WAVE file: {e}")))?;
    let spec = reader.spec();
    let format = match spec.sample_format {
        hound::SampleFormat::Int => "PCM",
        hound::SampleFormat::Float => "float",
    };
    if spec.sample_format != hound::SampleFormat::Int || spec.bits_per_sample != 16 || spec.channels != 1 {
        return Err(error(
            Location::File,
            format!(
                "expected 16-bit PCM mono, found {}-bit {format} with {} channel{}",
                spec.bits_per_sample,
                spec.channels,
                if spec.channels == 1 { "" } else { "s" }
            ),
        ));
    }
    if spec.sample_rate == 0 {
        return Err(error(Location::File, "expected a sample rate > 0 Hz, found 0".into()));
    }
    let expected_frames = reader.duration() as usize;
    // The header's frame count is a claim: reserve no more than the bytes can hold (a 44-byte file
    // may claim 2^31 frames).
    let mut values = Vec::with_capacity(expected_frames.min(bytes.len() / 2));
    for (frame, sample) in reader.samples::<i16>().enumerate() {
        let sample = sample.map_err(|e| {
            error(
                Location::Frame(frame),
                format!("expected {expected_frames} frames as the header says, the data ends early ({e})"),
            )
        })?;
        values.push(f64::from(sample.max(-32767)));
    }
    if values.len() < expected_frames {
        return Err(error(
            Location::Frame(values.len()),
            format!("expected {expected_frames} frames as the header says, the data ends early"),
        ));
    }
    if values.is_empty() {
        return Err(ImportError::new(
            path,
            Location::File,
            ImportErrorKind::Empty,
            "expected audio frames, the WAV file holds none",
        ));
    }
    Ok(ParsedFile {
        axes: vec![("audio".into(), "pcm".into())],
        rate_hz: f64::from(spec.sample_rate),
        values: ParsedValues::Physical(values),
        sensor: None,
        device: None,
        created: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 16-bit mono header whose data chunk claims `data_len` bytes, followed by `frames`.
    fn wav(data_len: u32, frames: &[i16]) -> Vec<u8> {
        let mut bytes = b"RIFF\0\0\0\0WAVEfmt ".to_vec();
        bytes.extend(16u32.to_le_bytes());
        for field in [1u16, 1] {
            bytes.extend(field.to_le_bytes()); // PCM, mono
        }
        bytes.extend(16_000u32.to_le_bytes());
        bytes.extend(32_000u32.to_le_bytes());
        for field in [2u16, 16] {
            bytes.extend(field.to_le_bytes()); // block align, bits
        }
        bytes.extend(b"data");
        bytes.extend(data_len.to_le_bytes());
        bytes.extend(frames.iter().flat_map(|frame| frame.to_le_bytes()));
        let riff_len = (bytes.len() - 8) as u32;
        bytes[4..8].copy_from_slice(&riff_len.to_le_bytes());
        bytes
    }

    #[test]
    fn pcm_counts_are_the_values_and_minus_32768_is_clipped() {
        let parsed = parse(Path::new("a.wav"), &wav(8, &[0, -32768, 32767, 5])).unwrap();
        assert_eq!(parsed.values, ParsedValues::Physical(vec![0.0, -32767.0, 32767.0, 5.0]));
        assert_eq!((parsed.rate_hz, parsed.axes), (16_000.0, vec![("audio".into(), "pcm".into())]));
    }

    /// Found by the `wav` fuzz target: a header claiming 2^31 frames made the parser reserve 16 GiB
    /// before reading any of them.
    #[test]
    fn a_header_claiming_more_frames_than_the_file_holds_is_an_error() {
        let error = parse(Path::new("a.wav"), &wav(0xffff_fff0, &[1, 2])).unwrap_err();
        assert_eq!((error.kind, &error.location), (ImportErrorKind::Wav, &Location::Frame(2)));
        assert!(error.message.starts_with("expected 2147483640 frames as the header says"), "{error}");
    }
}
