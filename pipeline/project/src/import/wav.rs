//! WAV: 16-bit integer PCM, mono. Each PCM value is one time step of a single axis `audio`, in PCM
//! counts (unit `pcm`). The value −32768 is stored as −32767 (the store's raw range is symmetric; see
//! `quantize`), an error of one count on fully clipped negative samples only.

use std::io::Cursor;
use std::path::Path;

use crate::error::{ImportError, ImportErrorKind, Location};
use crate::import::{ParsedFile, ParsedValues};

pub(crate) fn parse(path: &Path, bytes: &[u8]) -> Result<ParsedFile, ImportError> {
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
    let mut values = Vec::with_capacity(expected_frames);
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
