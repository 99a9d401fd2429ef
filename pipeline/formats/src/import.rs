//! One sample file to import, whatever its format: which format a file name says, its bytes parsed
//! into a [`ParsedFile`], and that quantized into a [`Recording`].

use std::path::Path;

use crate::error::{ImportError, ImportErrorKind, Location};
use crate::mote_dataset::{self, SAMPLE_MAGIC};
use crate::raw_counts::to_raw_counts;
use crate::recording::{Axis, Recording};
use crate::{ei_csv, ei_json, wav};

/// A parsed file before quantization.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedFile {
    /// (name, unit) per axis.
    pub axes: Vec<(String, String)>,
    pub rate_hz: f64,
    pub values: ParsedValues,
    pub sensor: Option<String>,
    pub device: Option<String>,
    pub created: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ParsedValues {
    /// Interleaved physical values, quantized on import.
    Physical(Vec<f64>),
    /// Already quantized (Mote's format): stored exactly as given.
    Raw { raw: Vec<i16>, scales: Vec<f64> },
}

/// Rates derived from an interval (`1000 / interval_ms`) are rounded to 9 significant digits, so
/// a rate written as an interval and read back is the same number (and the content hash too).
pub fn canonical_rate(rate_hz: f64) -> f64 {
    format!("{rate_hz:.8e}").parse().unwrap_or(rate_hz)
}

/// The formats a sample file can have, told apart by its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// `.csv`: an Edge Impulse CSV, or a Mote sample file (it starts with [`SAMPLE_MAGIC`]).
    Csv,
    /// `.json`: Edge Impulse data-acquisition JSON.
    EiJson,
    /// `.wav`: 16-bit PCM mono.
    Wav,
}

impl FileFormat {
    /// The format `path`'s extension names (any case), or an `UnknownFormat` error.
    pub fn of_path(path: &Path) -> Result<FileFormat, ImportError> {
        let extension =
            path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
        match extension.as_str() {
            "csv" => Ok(FileFormat::Csv),
            "json" => Ok(FileFormat::EiJson),
            "wav" => Ok(FileFormat::Wav),
            _ => Err(ImportError::new(
                path,
                Location::File,
                ImportErrorKind::UnknownFormat,
                format!(
                    "expected a .csv (Edge Impulse or Mote), .json (Edge Impulse) or .wav file, found {}",
                    if extension.is_empty() { "no extension".to_string() } else { format!("`.{extension}`") }
                ),
            )),
        }
    }
}

/// Parses the bytes of one sample file. `path` only names the file in errors. With an `hmac_key`,
/// an Edge Impulse JSON file must be signed with it.
pub fn parse_bytes(
    path: &Path,
    format: FileFormat,
    bytes: &[u8],
    hmac_key: Option<&str>,
) -> Result<ParsedFile, ImportError> {
    if bytes.is_empty() {
        return Err(ImportError::new(
            path,
            Location::File,
            ImportErrorKind::Empty,
            "expected data, the file is empty",
        ));
    }
    match format {
        FileFormat::Wav => wav::parse(path, bytes),
        FileFormat::EiJson => ei_json::parse(path, bytes, hmac_key),
        FileFormat::Csv => {
            let text = std::str::from_utf8(bytes).map_err(|e| {
                let line = bytes[..e.valid_up_to()].iter().filter(|b| **b == b'\n').count() + 1;
                ImportError::new(
                    path,
                    Location::Line { line, column: None },
                    ImportErrorKind::Csv,
                    "expected UTF-8 text",
                )
            })?;
            let text = text.strip_prefix('\u{feff}').unwrap_or(text);
            if text.starts_with(SAMPLE_MAGIC) {
                mote_dataset::parse_sample_file(path, text)
            } else {
                ei_csv::parse(path, text)
            }
        }
    }
}

/// Quantizes a parsed file's values (unless they are raw already) into a recording. `path` only
/// names the file in errors.
pub fn to_recording(
    path: &Path,
    axes: Vec<(String, String)>,
    rate_hz: f64,
    values: ParsedValues,
) -> Result<Recording, ImportError> {
    let n_axes = axes.len();
    let (raw, scales) = match values {
        ParsedValues::Raw { raw, scales } => (raw, scales),
        ParsedValues::Physical(values) => to_raw_counts(&values, n_axes).map_err(|index| {
            ImportError::new(
                path,
                Location::Field(format!("values[{}][{}]", index / n_axes, index % n_axes)),
                ImportErrorKind::Value,
                "expected a finite number",
            )
        })?,
    };
    let axes = axes.into_iter().zip(scales).map(|((name, unit), scale)| Axis { name, unit, scale }).collect();
    Ok(Recording { axes, rate_hz, raw })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_rates_survive_interval_round_trips() {
        for rate in [10.0, 62.5, 100.0 / 3.0, 16000.0, 104.0, 1.0 / 7.0, 12.34567891] {
            let rate = canonical_rate(rate);
            assert_eq!(canonical_rate(1000.0 / (1000.0 / rate)), rate);
            let interval = (1000.0 / rate) * 99.0 / 99.0;
            assert_eq!(canonical_rate(1000.0 / interval), rate);
        }
    }

    #[test]
    fn formats_come_from_the_extension_in_any_case() {
        for (name, format) in
            [("a.csv", FileFormat::Csv), ("b.01.JSON", FileFormat::EiJson), ("c.Wav", FileFormat::Wav)]
        {
            assert_eq!(FileFormat::of_path(Path::new(name)).unwrap(), format);
        }
        for (name, found) in [("notes.txt", "found `.txt`"), ("README", "found no extension")] {
            let error = FileFormat::of_path(Path::new(name)).unwrap_err();
            assert_eq!(error.kind, ImportErrorKind::UnknownFormat);
            assert!(error.to_string().ends_with(found), "{error}");
        }
    }

    #[test]
    fn bad_text_is_an_error_on_the_line_it_starts() {
        let error =
            parse_bytes(Path::new("x.csv"), FileFormat::Csv, b"timestamp,a\n0,\xff\n", None).unwrap_err();
        assert_eq!(error.to_string(), "x.csv line 2: expected UTF-8 text");
        let error = parse_bytes(Path::new("x.wav"), FileFormat::Wav, b"", None).unwrap_err();
        assert_eq!(error.kind, ImportErrorKind::Empty);
    }
}
